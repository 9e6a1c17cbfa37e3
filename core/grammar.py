"""One grammar for what operators type and manuals print: codes and safety notes.

Used by ingest (where a record starts), retrieval (a question naming a code, the table row
that defines it) and answers (quotes that follow a code's row, safety notes shown apart).

**Codes**: fault codes, alarms, parameters and identifiers: ``E-107``, ``error:24``,
``ALARM:9``, ``AL-05``, ``$32``, ``P9.01``, ``G53``, ``HOME_OFFSET``. Matching is
case-insensitive and codes are compared in lower case.

**Where-questions**: a question that asks where something is in the manual ("which page covers
cleaning?", "In welchem Kapitel …", "哪一页"): its table of contents answers it.

**Safety notes**: the signal words of ANSI Z535 / ISO 3864 style notes and their usual
German, French, Spanish, Italian, Portuguese and Chinese forms, each mapped to one canonical
level: DANGER, WARNING, CAUTION, NOTICE (property damage), NOTE, IMPORTANT. A label counts at
the start of a line (``WARNING: ...``, ``WARNUNG ...``, ``警告：...``) or, in the middle of a
line, only as a marker (``... closed. WARNING: Hot oil``; never "the WARNING lamp").
"""

from __future__ import annotations

import re

# ---------------------------------------------------------------------------------- codes
# $32 | E-107, error:24, ALARM:9 | E107, P9.01, G53 | HOME_OFFSET
CODE = (
    r"\$\w+"
    r"|[A-Za-z]{1,6}[-:]\d+(?:\.\d+)?"
    r"|[A-Za-z]{1,3}\d+(?:\.\d+)?"
    r"|(?-i:[A-Z][A-Z0-9]*_[A-Z0-9_]+)"
)
# codes written with a space, as tables print them: "error 22", "ALARM 9"
SPOKEN_CODE = r"(?:error|alarm|err|fault|al|e|f|p|pr)\s\d{1,4}(?:[.:]\d+)?"

_CODE_IN_TEXT = re.compile(rf"(?<![\w$])(?:{CODE})\b")
ROW_HEAD = re.compile(rf"^\|?\s*({CODE})\b", re.M)
"""A line that begins a table row or entry with its code ("E-107 …", "$32=0", "| ALARM:8 |")."""


# A code table often prints the bare number under a heading that names the family
# ("Alarm codes" / "9  Homing fail ..."): the question's "ALARM:9" is that row.
FAMILIES = {
    "alarm": "alarm",
    "alarms": "alarm",
    "alm": "alarm",
    "al": "alarm",
    "error": "error",
    "errors": "error",
    "err": "error",
    "fault": "fault",
    "faults": "fault",
    "flt": "fault",
}
_FAMILY_CODE = re.compile(r"([a-z]+)\s*[-:\s]\s*(\d{1,4})")
_FAMILY_WORD = re.compile(r"\b(alarms?|errors?|faults?)\b", re.I)
NUMBER_ROW = re.compile(r"^\|?\s*(\d{1,4})\s*\|?\s+(?=[A-Z])", re.M)
"""A line that begins a table row with a bare number and then a capitalised cell ("9 Homing fail")."""


def family_key(code: str) -> str | None:
    """ "alarm:9" for ALARM:9, AL-9, alm 9; "error:22" for error:22, ERR-22; None for other codes."""
    m = _FAMILY_CODE.fullmatch(code.lower())
    if m is None or m.group(1) not in FAMILIES:
        return None
    return f"{FAMILIES[m.group(1)]}:{int(m.group(2))}"


def families_named(heading: str) -> set[str]:
    """The code families a heading names ("Alarm codes" -> {"alarm"})."""
    return {FAMILIES[m.group(1).lower()] for m in _FAMILY_WORD.finditer(heading)}


def starts_family_row(code: str, line: str, heading: str) -> bool:
    """Does ``line`` begin ``code``'s row in a table that prints bare numbers under a heading naming
    the family ("9 Homing fail ..." under "Alarm codes" for ALARM:9)?"""
    key = family_key(code)
    if key is None:
        return False
    family, number = key.split(":")
    m = NUMBER_ROW.match(line)
    return m is not None and int(m.group(1)) == int(number) and family in families_named(heading)


def codes_in(text: str) -> list[str]:
    """The codes a text names, lower case, in order, without repeats."""
    return list(dict.fromkeys(m.group(0).lower() for m in _CODE_IN_TEXT.finditer(text)))


def starts_row_of(code: str, line: str) -> bool:
    """Does ``line`` start the row/entry of ``code`` ("E-112 Ram position…", "$32=0", "AL-01: …"),
    rather than being a wrapped line that happens to start with it ("PV1 and ground.")? The code
    must be followed by the end, a separator or a capitalised word."""
    if not line.lower().startswith(code):
        return False
    rest = line[len(code) :].lstrip()
    return not rest or not rest[0].islower()


# ---------------------------------------------------------------------------- safety notes
LEVELS = ("DANGER", "WARNING", "CAUTION", "NOTICE", "NOTE", "IMPORTANT")
HAZARDS = ("DANGER", "WARNING", "CAUTION", "NOTICE")
"""Levels shown as a safety box with an answer: harm to people, or to the machine (NOTICE)."""

SIGNAL_WORDS: dict[str, str] = {
    # English
    "DANGER": "DANGER",
    "WARNING": "WARNING",
    "CAUTION": "CAUTION",
    "NOTICE": "NOTICE",
    "ATTENTION": "CAUTION",
    "NOTE": "NOTE",
    "IMPORTANT": "IMPORTANT",
    # German
    "GEFAHR": "DANGER",
    "WARNUNG": "WARNING",
    "VORSICHT": "CAUTION",
    "ACHTUNG": "CAUTION",
    "HINWEIS": "NOTE",
    "WICHTIG": "IMPORTANT",
    # French (DANGER, ATTENTION, IMPORTANT as in English)
    "AVERTISSEMENT": "WARNING",
    "AVIS": "NOTICE",
    "REMARQUE": "NOTE",
    # Spanish
    "PELIGRO": "DANGER",
    "ADVERTENCIA": "WARNING",
    "PRECAUCIÓN": "CAUTION",
    "ATENCIÓN": "CAUTION",
    "AVISO": "NOTICE",
    "NOTA": "NOTE",
    "IMPORTANTE": "IMPORTANT",
    # Italian (NOTA, IMPORTANTE as in Spanish)
    "PERICOLO": "DANGER",
    "AVVERTENZA": "WARNING",
    "ATTENZIONE": "CAUTION",
    "AVVISO": "NOTICE",
    # Portuguese (AVISO, NOTA, IMPORTANTE as in Spanish)
    "PERIGO": "DANGER",
    "ADVERTÊNCIA": "WARNING",
    "CUIDADO": "CAUTION",
    "ATENÇÃO": "CAUTION",
    # Chinese
    "危险": "DANGER",
    "警告": "WARNING",
    "小心": "CAUTION",
    "注意": "CAUTION",
    "须知": "NOTICE",
    "提示": "NOTE",
    "说明": "NOTE",
    "重要": "IMPORTANT",
}
_LATIN = sorted((w for w in SIGNAL_WORDS if w.isascii() or not re.search(r"[\u4e00-\u9fff]", w)), key=len)[
    ::-1
]
_CJK = sorted((w for w in SIGNAL_WORDS if re.search(r"[\u4e00-\u9fff]", w)), key=len)[::-1]
_UPPER = "|".join(map(re.escape, _LATIN))
_TITLE = "|".join(re.escape(w.capitalize()) for w in _LATIN)
_HAN = "|".join(map(re.escape, _CJK))

# At the start of a line: "WARNING: ...", "WARNING ...", "Warnung: ...", "警告：..." / "警告 ..."
_LABEL_AT_START = re.compile(
    rf"^\s*(?:⚠\s*)?(?:(?P<up>{_UPPER})(?![\w-])(?=[:!\s]|$)|(?P<title>{_TITLE})\s*[:!]|(?P<han>{_HAN})\s*(?:[:：]|\s|$))"
)
# In the middle of a line only as a marker: upper case followed by ":" / "!" or a capitalised word.
_LABEL_MID = re.compile(rf"(?<![\w-])(?P<up>{_UPPER})(?:\s*[:!]|\s+(?=[A-ZÄÖÜÉÈÀ]))|(?P<han>{_HAN})\s*[:：]")
SAFETY_RECORD_START = rf"(?:⚠\s*)?(?:{_UPPER})\b|(?:{_HAN})\s*[:：]"
"""For the chunker: a line that starts a safety note starts a record."""


def _level(m: re.Match[str]) -> str:
    word = next(g for g in m.groups() if g)
    return SIGNAL_WORDS[word.upper() if word.upper() in SIGNAL_WORDS else word]


def safety_label(line: str) -> tuple[str, int] | None:
    """(canonical level, where the note starts) for a line that starts or carries a safety note."""
    m = _LABEL_AT_START.match(line) or _LABEL_MID.search(line)
    if m is None:
        return None
    start = m.start() if m.re is _LABEL_MID else len(line) - len(line.lstrip())
    return _level(m), start


def starts_safety_note(line: str, levels: tuple[str, ...] = HAZARDS) -> bool:
    """A line that opens a safety note of these levels (a quote never reads on into a hazard
    note: it is shown on its own)."""
    m = _LABEL_AT_START.match(line)
    return m is not None and _level(m) in levels


def has_label(text: str) -> bool:
    """Does the note text already begin with a signal word (in any of the languages)?"""
    return _LABEL_AT_START.match(text) is not None


_LIST_ITEM = re.compile(r"^(\d{1,2}[.)]|[-•*])\s")
_SUBHEAD = re.compile(r"^[A-Z0-9][\w .]{0,60}:\s*$")


def safety_notes(text: str, levels: tuple[str, ...] = HAZARDS) -> list[tuple[str, str]]:
    """(level, note) for each safety note of the given levels in a passage, wherever in a line it
    starts. A note runs on over wrapped lines until a list item, a sub-heading, another note, or
    the end of a sentence once it holds more than 60 characters."""
    notes: list[tuple[str, str]] = []
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        found = safety_label(lines[i])
        if found is None:
            i += 1
            continue
        level, start = found
        note = [lines[i][start:].strip()]
        i += 1
        while (
            i < len(lines)
            and safety_label(lines[i]) is None
            and not _LIST_ITEM.match(lines[i])
            and not (note[-1].endswith((".", "!", "。", "！")) and len(" ".join(note)) > 60)
            and not _SUBHEAD.match(lines[i])
        ):
            note.append(lines[i].strip())
            i += 1
        if level in levels:
            notes.append((level, " ".join(note)))
    return notes


# ------------------------------------------------------------------------ where-questions
_WHERE = re.compile(
    r"\b(?:which|what)\s+(?:pages?|sections?|chapters?|appendix|appendices|part of the (?:manual|document|guide))\b"
    r"|\bpage numbers?\b|\b(?:on|in)\s+pages?\s+\d+|\bwhere in the (?:manual|document|guide|handbook)\b|\btable of contents\b"
    r"|\b(?:welche[rnms]?)\s+(?:seiten?|kapitel|abschnitt)\b|\bseitenzahl\b|\binhaltsverzeichnis\b"
    r"|\b(?:qu[ée]|cu[aá]l(?:es)?)\s+(?:p[aá]ginas?|secci[oó]n|cap[ií]tulo|apartado)\b"
    r"|\bquel(?:le)?s?\s+(?:pages?|section|chapitre|annexe)\b|\btable des mati[eè]res\b"
    r"|\b(?:quale|quali|che)\s+(?:pagin[ae]|sezion[ei]|capitol[oi])\b"
    r"|\b(?:qual|quais|que)\s+(?:p[aá]ginas?|se[cç][aã]o|cap[ií]tulo)\b|\bsum[aá]rio\b"
    r"|哪一?页|第几页|页码|哪个?章节|哪一?章|哪一?节|目录",
    re.I,
)


def asks_where(text: str) -> bool:
    """Whether a question asks where something is in the manual (a page, section, chapter)."""
    return _WHERE.search(text) is not None


# What a where-question says about the manual itself rather than its topic ("On which *page* is the
# oil change *described*?"): not evidence that the manuals cover the topic.
_WHERE_TEXT = """
page pages section sections chapter chapters appendix appendices part manual manuals document
documentation guide handbook describe described describes cover covers covered covering find found
information number numbers where located contents table topic topics
seite seiten kapitel abschnitt anhang handbuch anleitung betriebsanleitung beschrieben beschreibt
steht finde finden inhaltsverzeichnis
página páginas sección capítulo apartado documento encuentra
chapitre annexe manuel décrit trouve
pagina pagine sezione capitolo manuale descritto trova
seção descrito encontra sumário
"""
WHERE_WORDS = tuple(_WHERE_TEXT.split())

_WHERE_WORD = re.compile(
    r"(?<!\w)(?:" + "|".join(map(re.escape, sorted(WHERE_WORDS, key=len)[::-1])) + r")(?!\w)", re.I
)


def topic_of(question: str) -> str:
    """A where-question without its words about the manual itself: what it asks to be located."""
    return " ".join(_WHERE_WORD.sub(" ", question).split())
