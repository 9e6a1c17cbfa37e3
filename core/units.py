"""The structure of a passage: the units a manual is made of, found once at ingest.

A chunk's text is a run of *units*, each with its kind and character span:

* ``heading``: a short title line ("5.2 Resetting a fault after E-104", "Table 5-1 Fault codes").
* ``row``: a table or alarm-list row with its wrapped continuation lines, up to the next row
  ("E-107 Main pump motor overload … Reset Q1 …, then press RESET."); ``code`` is the code it
  starts with (``e-107``, ``$32``, ``error:24``), if any.
* ``step``: a numbered step with its continuation lines ("4. Insert the key …").
* ``item``: a bullet item.
* ``safety``: a DANGER/WARNING/CAUTION/NOTE… note (``core.grammar`` signal words).
* ``paragraph``: prose, up to the end of a sentence at a line end.

Consecutive numbered steps (with the line that introduces them, "Reset the fault as follows:")
form a *procedure*: ``procedure_span`` gives the whole of it, so an answer quotes every step.

The same function runs at ingest (the chunker stores the units with each chunk) and on text
from an index built before units were stored, so both always agree.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from .grammar import CODE, NUMBER_ROW, SAFETY_RECORD_START, SPOKEN_CODE, families_named, safety_label

KINDS = ("heading", "row", "step", "item", "safety", "paragraph")

RECORD_START = re.compile(
    r"""^(?:
        [-•*▪●◦–]\s+                                  # bullet
      | \(?\d{1,3}[.)](?:\s+|$)                        # numbered step "1." "2)" (alone on its line too)
      | {safety}                                      # safety notes (core.grammar)
      | \|?\s*(?:{code})\b | {spoken}\b               # codes (core.grammar): E-107 $32 P9.01 error 22
      | (?-i:[A-Z][A-Z0-9_]*_[A-Z0-9_]+|[A-Z]{3,})(?:\s*[=:(\[]|\s*$)  # INI/HAL keys: HOME_OFFSET = ...
      | \d{1,4}\s+[A-Za-z]                            # table row "9 Homing fail ..."
      | \d{1,4}$                                     # row number alone on its line
      | \|                                           # Markdown table row
    )""".replace("{safety}", SAFETY_RECORD_START)
    .replace("{code}", CODE)
    .replace("{spoken}", SPOKEN_CODE),
    re.X | re.I,
)
"""A line that starts a record (row, step, item, safety note) rather than continuing one."""

_SENTENCE_END = re.compile(r"[.!?:;。！？：]\"?$")
_STEP = re.compile(r"^\(?(\d{1,3})[.)](?:\s+|$)")
_BULLET = re.compile(r"^[-•*▪●◦–]\s+")
_ROW_CODE = re.compile(rf"^\|?\s*((?:{CODE})|(?i:{SPOKEN_CODE}))(?![\w-])", re.I)
_TABLE_RULE = re.compile(r"^\|?[\s:|-]+\|?$")
# "To replace door bins:": two words at least, one colon, at the end
_LEAD_IN = re.compile(r"^[A-Z][^:]*\s[^:]*:$")


@dataclass(frozen=True)
class Unit:
    kind: str
    start: int  # character span in the chunk text
    end: int
    code: str = ""  # lower case; rows only

    def text(self, chunk_text: str) -> str:
        return chunk_text[self.start : self.end]

    def to_list(self) -> list[str | int]:
        return [self.kind, self.start, self.end, self.code]

    @classmethod
    def from_list(cls, x: Sequence[str | int]) -> Unit:
        return cls(str(x[0]), int(x[1]), int(x[2]), str(x[3]) if len(x) > 3 else "")


_CAPTION = re.compile(r"^(?:Table|Figure|Fig\.|Tabelle|Abbildung|Bild|Tableau|Tabla|Tabella|Tabela)\s", re.I)


def _is_spec_row(line: str) -> bool:
    """A short line of a table without codes: a name and a value ("Belt width 500 mm")."""
    s = line.strip()
    return (
        len(s) <= 90
        and not _SENTENCE_END.search(s)
        and not _CAPTION.match(s)
        and re.search(r"[^\W\d_]{2}.*\d|\d.*[^\W\d_]{2}", s) is not None
        and not re.match(
            r"^\d{1,2}(?:\.\d{1,2})*\.?\s+[A-Z][^\d]*$", s
        )  # "4.2 Emergency-stop pull-cord test"
    )


def _is_heading(line: str) -> bool:
    """A short title line: few words, no sentence punctuation at its end ("4.2 Emergency-stop
    pull-cord test", "Table 5-1 Fault codes", "Common alarms")."""
    s = line.strip().lstrip("#").strip()
    if not s or len(s) > 80 or _SENTENCE_END.search(s) or s.endswith(","):
        return False
    if _CAPTION.match(s):
        return True
    if _is_spec_row(s):
        return False
    words = s.split()
    return (1 <= len(words) <= 9 and s[:1].isupper()) or bool(
        re.match(r"^\d{1,2}(?:\.\d{1,2})*\.?\s+[A-Z]", s)
    )


def _kind(first: str) -> tuple[str, str]:
    """(kind, code) of a unit from its first line."""
    s = first.strip()
    if safety_label(s) is not None and safety_label(s)[1] == 0:  # type: ignore[index]
        return "safety", ""
    if _STEP.match(s):
        return "step", ""
    if _BULLET.match(s):
        return "item", ""
    m = _ROW_CODE.match(s)
    if m:
        rest = s[m.end() :].lstrip(" |")
        if not rest or not rest[:1].islower():  # "PV1 and ground." is a wrapped line, not a row
            return "row", re.sub(r"\s+", " ", m.group(1).lower())
    if s.startswith("|") or re.match(r"^\d{1,4}(\s+[A-Za-z]|$)", s):
        return "row", ""
    return "paragraph", ""


def _norm(s: str) -> str:
    return re.sub(r"[^a-z0-9]+", "", s.lower())


def find_units(text: str, section: str = "") -> list[Unit]:
    """The units of a passage, in order, covering every non-blank line once. ``section`` is the
    chunk's heading path: a line that is one of its headings is a heading ("5 Alarms" would
    otherwise read as a numbered table row)."""
    titles = {_norm(t) for t in section.split(" > ") if _norm(t)}
    # under "Error codes", "9 Homing fail …" is a row of its own, even after a line that looked coded
    numbered_rows = bool(families_named(section))
    out: list[Unit] = []
    cur: tuple[int, int, str, str] | None = None  # start, end, kind, code
    listed: set[int] = set()  # starts of the short lines a lead ending ":" lists
    pos = 0
    for line in text.split("\n"):
        start, end = pos, pos + len(line)
        pos = end + 1
        s = line.strip()
        if not s or (_TABLE_RULE.match(s) and "-" in s):
            if cur and not s:
                out.append(Unit(cur[2], cur[0], cur[1], cur[3]))
                cur = None
            continue
        titled = _norm(s) in titles
        record = RECORD_START.match(s) is not None and not titled
        if (
            record
            and cur is not None
            and cur[2] == "row"
            and cur[3]
            and _kind(s) == ("row", "")
            and not (numbered_rows and NUMBER_ROW.match(s))
        ):
            record = False  # "60 s with the valves closed." wraps a coded row ("E-110 … 2 mm in")
        if (
            record
            and cur is not None
            and re.fullmatch(r"\(?\d{1,3}[.)]", s)
            and not _SENTENCE_END.search(text[cur[0] : cur[1]].rstrip())
        ):
            record = False  # "… the rotation distance is" + "40.": a wrapped sentence end, not step 40
        if record and cur is not None and _kind(s) == ("paragraph", ""):
            record = False  # "HP-200 press infeed) is missing." wraps the line above: a code, then lower case
        if cur is not None:
            prev_kind = cur[2]
            prev_line = text[cur[0] : cur[1]].rsplit("\n", 1)[-1]
            continues = not record and (
                (
                    prev_kind in ("row", "step", "item", "safety")
                    and not (
                        prev_kind == "safety"
                        and _SENTENCE_END.search(prev_line)
                        and len(text[cur[0] : cur[1]]) > 60
                    )
                )
                or (
                    prev_kind == "paragraph"
                    and not (_SENTENCE_END.search(prev_line) and (s[:1].isupper() or not s[:1].isalnum()))
                )
            )
            if prev_kind == "heading" or (prev_kind == "row" and text[cur[0]] == "|"):
                continues = False  # a Markdown row is one line
            if prev_kind == "row" and not cur[3] and _is_spec_row(prev_line) and not s[:1].islower():
                continues = False  # "Belt width 500 mm" / "Belt speed 0.1–1.5 m/s": one row per line
            if titled:
                continues = False
            # "2. Pull bin straight out." + "To replace door bins:": the next procedure's lead-in
            if prev_kind in ("step", "item") and _LEAD_IN.match(s) and re.search(r"[.!?]\"?$", prev_line):
                continues = False
            if continues and not (prev_kind == "paragraph" and _is_heading(s) and _is_heading(prev_line)):
                cur = (cur[0], end, cur[2], cur[3])
                continue
            out.append(Unit(cur[2], cur[0], cur[1], cur[3]))
        kind, code = _kind(s) if record else ("paragraph", "")
        lead = len(line) - len(line.lstrip())
        # the short lines a lead ending ":" introduces ("… when you view the contact card:" / "Make a
        # call" / "Send a message") are its list, not headings
        after_lead = (
            bool(out)
            and out[-1].kind == "paragraph"
            and (text[out[-1].start : out[-1].end].rstrip().endswith(":") or out[-1].start in listed)
        )
        if titled or (kind == "paragraph" and _is_heading(s) and not after_lead):
            kind = "heading"
        elif kind == "paragraph" and after_lead and _is_heading(s):
            listed.add(start + lead)
        elif kind == "paragraph" and _is_spec_row(s):
            kind = "row"
        cur = (start + lead, end, kind, code)
    if cur is not None:
        out.append(Unit(cur[2], cur[0], cur[1], cur[3]))
    return [u for u in out if text[u.start : u.end].strip()]


def procedure_span(units: Sequence[Unit], i: int, text: str) -> tuple[int, int]:
    """The indices [a, b) of the procedure unit ``i`` belongs to: the run of numbered steps around it
    (numbers ascending), with the line that introduces them ("… as follows:") when there is one.
    A unit that is not a step is its own span."""
    if units[i].kind != "step":
        return i, i + 1

    def number(j: int) -> int:
        m = _STEP.match(units[j].text(text).strip())
        return int(m.group(1)) if m else -1

    a = i
    while a > 0 and units[a - 1].kind == "step" and 0 <= number(a - 1) < number(a):
        a -= 1
    b = i + 1
    while b < len(units) and units[b].kind == "step" and number(b) > number(b - 1):
        b += 1
    if a > 0 and units[a - 1].kind == "paragraph" and units[a - 1].text(text).rstrip().endswith(":"):
        a -= 1
    return a, b


def step_number(unit: Unit, text: str) -> int | None:
    m = _STEP.match(unit.text(text).strip())
    return int(m.group(1)) if m else None


def units_of(text: str, section: str, stored: Sequence[Sequence[str | int]] = ()) -> list[Unit]:
    """A chunk's units: as stored at ingest, or found now for an index built before they were."""
    return [Unit.from_list(u) for u in stored] if stored else find_units(text, section)
