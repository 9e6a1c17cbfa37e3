"""Is one generated sentence supported by the one unit of the manual it is about?

A sentence is judged against a *unit* of its cited passage (``core/units.py``: a table row, a
step, a safety note, a paragraph; or a whole procedure, for a sentence that sums up several of
its steps), never against the passage as a bag of words: "E-104 means the main pump motor is
overloaded" takes its words from the E-107 row next to E-104's, and is false.

The unit that supports a sentence is the one sharing most of its content words. Then, against
that unit (and against the sentence of it the generated one draws on):

* every code the sentence names (E-104, AL-05, $32) is in the unit, or, for a step or a
  paragraph, in the passage that holds it (the procedure's heading names the fault);
* every number is in the unit, and a number with a unit of measure keeps its unit
  (40 N·m is not 40 bar; 15 minutes is not 15 seconds);
* polarity agrees (not, no, never, without, cannot, do not, must not ...);
* modal and scope words agree: "only", "must" against "may"/"can", "always"/"sometimes",
  "before" against "after";
* steps named in one sentence keep the manual's order ("press RESET before turning S2" when
  the manual says turn S2, then press RESET, is rejected).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass

from core.grammar import codes_in
from core.units import Unit, find_units, procedure_span

from .lexical import STOPWORDS, tokenize
from .measures import intervals, measures, numbers, spellings

_SENT = re.compile(r"(?<=[.!?。！？;])\s+|\n+")
_NEGATION = re.compile(
    r"\b(?:not|no|never|none|neither|nor|without|cannot|nobody|nothing|nowhere|nicht|kein\w*|nie|niemals|niemand|"
    r"nichts|ohne|pas|jamais|personne|rien|sans|nunca|nadie|nada|sin|non|mai|nessuno|senza|não|nenhum|sem)\b"
    r"|n't\b",
    re.I,
)
# modal and scope words, by what they mean; a sentence and its source must agree on each class
_MODALS: dict[str, re.Pattern[str]] = {
    "only": re.compile(
        r"⟨only⟩|"
        r"\b(?:only|solely|exclusively|nur|ausschließlich|seulement|uniquement|solo|solamente|apenas)\b",
        re.I,
    ),
    "permission": re.compile(
        r"\b(?:may|can|could|optional(?:ly)?|allowed|permitted|darf|dürfen|kann|können)\b", re.I
    ),
    "obligation": re.compile(
        r"\b(?:must|shall|required|has to|have to|need to|needs to|muss|müssen|always|immer)\b", re.I
    ),
    "sometimes": re.compile(r"\b(?:sometimes|occasionally|manchmal|usually|often)\b", re.I),
    "before": re.compile(r"\b(?:before|prior to|until|vor|bevor|avant|antes)\b", re.I),
    "after": re.compile(r"\b(?:after|once|nach|nachdem|après|después)\b", re.I),
}
# function words of the plant languages (English ones are chatbot.lexical.STOPWORDS): they carry no
# statement of the manual, and German sentences would otherwise share few "content" words with it
_FUNCTION_WORDS = frozenset(
    """der die das den dem des ein eine einer eines einem einen und oder wird werden wurde ist sind
    zu zum zur mit von vom im in am an auf für bei aus als auch dass wenn sich sie er es man
    le la les un une des du de et ou est sont au aux en dans pour par sur avec que qui se
    el los las unos unas del al y o es son en con por para que se lo
    il lo gli una della delle dei di da e è sono con per che si
    os as um uma do da dos das e ou é são em com por para que se""".split()  # noqa: SIM905
)


def content(text: str) -> set[str]:
    return {
        t
        for t in tokenize(text.replace(" ⟨not⟩", "").replace(" ⟨only⟩", ""))
        if t not in STOPWORDS and t not in _FUNCTION_WORDS and len(t) > 1
    }


def _words(text: str) -> set[str]:
    """Content words other than numbers with their units of measure and codes: what a sentence is
    about ("The stroke of the press is 400 mm" -> stroke, press)."""
    plain = _without_codes(text)
    units = {u for _, u in measures(plain)}
    unit_words = set(tokenize(" ".join(spellings(units))))
    return {t for t in content(plain) if not any(ch.isdigit() for ch in t) and t not in unit_words}


def _without_codes(text: str) -> str:
    for c in codes_in(text):
        text = re.sub(re.escape(c), " ", text, flags=re.I)
    return text


@dataclass(frozen=True)
class Scope:
    """A stretch of a passage a sentence can draw on: one unit, or a whole procedure."""

    text: str  # what the sentence's words and numbers must come from
    codes_from: str  # where the codes it names may be (the unit and the headings, or the passage)
    order_text: str = ""  # where the order of actions is read: the unit, or a step's whole procedure


def scopes(passage: str) -> list[Scope]:
    units = find_units(passage)
    headings = "\n".join(u.text(passage) for u in units if u.kind == "heading")
    out: list[Scope] = []
    seen_proc: set[tuple[int, int]] = set()
    for i, u in enumerate(units):
        t = u.text(passage)
        if u.kind == "heading":
            continue
        wide = u.kind in ("step", "paragraph", "item", "safety")
        if u.kind == "step":
            a, b = procedure_span(units, i, passage)
            procedure = "\n".join(x.text(passage) for x in units[a:b])
            out.append(Scope(t, passage, procedure))
            if (a, b) not in seen_proc and b - a > 1:
                seen_proc.add((a, b))
                out.append(Scope(procedure, passage, procedure))
        else:
            out.append(Scope(t, passage if wide else f"{t}\n{headings}", t))
    if not out:
        out.append(Scope(passage, passage, passage))
    return out


def _sentences(text: str) -> list[str]:
    """Sentences of a manual text, wrapped lines joined (a PDF breaks lines mid-sentence)."""
    return [
        x for x in _SENT.split(re.sub(r"(?<![.!?:;])\n(?!\s*(?:\d{1,2}[.)]|[-•*]))", " ", text)) if x.strip()
    ]


def _best_sentence(tokens: set[str], text: str, sents: Sequence[str] | None = None) -> str:
    """The sentence (or ";"-clause) of ``text`` sharing most words with ``tokens``; on a tie the one
    that is most about them (fewest other words)."""
    best: tuple[int, float, str] = (0, 0.0, "")
    for sent in sents if sents is not None else _sentences(text):
        own = content(sent)
        overlap = len(tokens & own)
        focus = overlap / max(1, len(own))
        if (overlap, focus) > best[:2]:
            best = (overlap, focus, sent)
    return best[2]


def disagrees(body: str, scope: Scope) -> str:
    """Why the sentence says something else than the scope it draws on ("" when it agrees)."""
    names = set(codes_in(body))
    if names - set(codes_in(scope.codes_from)):
        return "names a code the unit is not about"
    plain = _without_codes(body)
    if numbers(plain) - numbers(_without_codes(scope.text)):
        return "a number that is not in the unit"
    source_measures = measures(scope.text)
    source_numbers = {n for n, _ in source_measures}
    for n, unit in measures(plain):
        if n in source_numbers and (n, unit) not in source_measures:
            return f"{n} with another unit of measure"
    said, meant = intervals(plain), intervals(scope.text)
    if said and meant and not said & meant:
        return "another interval than the manual's"
    src_clauses = _source_clauses(scope.text)
    for clause in _own_clauses(body):
        toks = content(clause)
        if len(toks) < 2:
            continue
        why = _number_elsewhere(clause, src_clauses)
        if why:
            return why
        src = _best_sentence(toks, scope.text, src_clauses)
        if len(toks & content(src)) < max(2, 0.5 * len(toks)):
            continue  # nothing in the unit is about this clause: its words were judged above
        why = _meaning_differs(clause, src)
        if why:
            return why
    return ""


def _source_clauses(text: str) -> list[str]:
    """The unit's clauses, and each two neighbouring clauses of one sentence joined: a manual's
    "the fault can be reset | when the oil is below 55 °C" is one statement to a generated
    "E-101 cannot be reset once the oil is below 55 °C"."""
    out: list[str] = []
    for sent in _sentences(text) or [text]:
        parts = _own_clauses(sent)
        out += parts
        # a list part's inherited mark (" ⟨not⟩") is already said by the part before it
        out += [f"{a} {b.replace(' ⟨not⟩', '').replace(' ⟨only⟩', '')}" for a, b in itertools.pairwise(parts)]
    return out


def _number_elsewhere(clause: str, src_clauses: Sequence[str]) -> str:
    """A clause's numbers must be in the manual clause its words are about, when that clause gives
    numbers of its own: "E-101 can be reset below 65 °C" against "… can be reset when the oil is
    below 55 °C" (65 °C is the unit's alarm limit, another statement)."""
    said = numbers(_without_codes(clause))
    words = _words(clause)
    if not said or len(words) < 2:
        return ""
    best = max(src_clauses, key=lambda c: (len(words & _words(c)), -len(_words(c))), default="")
    if len(words & _words(best)) < max(2, 0.5 * len(words)):
        return ""
    given = numbers(_without_codes(best))
    return "a number the manual gives for something else" if given and not said & given else ""


_OWN_CLAUSE = re.compile(
    r"\s*(?:[,;:]\s*(?:and|but|because|so|weil|denn|und|aber|da)?"
    r"|\s(?:and|but|because|weil|denn|aber|und|if|when|unless|wenn|falls|si|se))\s+",
    re.I,
)


_LEADING_NOT = re.compile(
    r"\s*(?:(?:WARNING|CAUTION|DANGER|NOTE|WARNUNG|VORSICHT|ACHTUNG)\s*:\s*)?"
    r"(?:do not|don't|never|nobody|no one|must not|nicht|nie|niemals|ne\b|n'|no\b|nunca|non)",
    re.I,
)
_LIST_COMMA = re.compile(r"^\s*,\s*$")


def _own_clauses(body: str) -> list[str]:
    """A sentence's clauses ("If E-108 appears, do not operate the press and contact service" ->
    three). Generated and manual sentences are cut the same way, and each generated clause is
    compared with the manual clause it draws on. A "not"/"never"/"only" reaches on over a list
    ("never tie down, wedge or bridge …"): a clause after a bare comma inherits it, marked as
    " ⟨not⟩" / " ⟨only⟩" at its end."""
    pieces = re.split(f"({_OWN_CLAUSE.pattern})", body, flags=re.I)
    out: list[str] = []
    carry = ""
    for k in range(0, len(pieces), 2):
        part = pieces[k]
        sep = pieces[k - 1] if k else ""
        if not part or not part.strip():
            continue
        inherited = carry if out and _LIST_COMMA.match(sep) else ""
        out.append(part + inherited)
        marks = ""
        if _NEGATION.search(part + inherited):
            marks += " ⟨not⟩"
        if _MODALS["only"].search(part) or "⟨only⟩" in inherited:
            marks += " ⟨only⟩"
        # a condition ("If the belt does not stop, …") lends its "not" to nothing after it
        carry = (
            "" if re.match(r"\s*(?:if|when|unless|while|wenn|falls|während|si|se)\b", part, re.I) else marks
        )
    return out if len(out) > 1 else [body]


def _meaning_differs(body: str, src: str, polarity: bool = True) -> str:
    if polarity and (
        bool(_NEGATION.search(body)) != bool(_NEGATION.search(src))
        or bool(_LEADING_NOT.match(body)) != bool(_LEADING_NOT.match(src))
        or len(_NEGATION.findall(body)) % 2 != len(_NEGATION.findall(src)) % 2
    ):
        return "polarity differs"  # "do not operate … if it does not stop" is not "operate … if it does not stop"
    for name, pat in _MODALS.items():
        if name in ("before", "after", "obligation", "permission"):
            continue
        if bool(pat.search(body)) != bool(pat.search(src)):
            return f"'{name}' differs"
    if (
        _MODALS["permission"].search(body)
        and not _MODALS["permission"].search(src)
        and _MODALS["obligation"].search(src)
    ):
        return "'may' where the manual says 'must'"
    if (
        _MODALS["obligation"].search(body)
        and not _MODALS["obligation"].search(src)
        and _MODALS["permission"].search(src)
    ):
        return "'must' where the manual says 'may'"
    said = intervals(body)
    meant = intervals(src)
    if said and meant and not said & meant:
        return "another interval than the manual's"
    for a, b in (("before", "after"), ("after", "before")):
        if _MODALS[a].search(body) and not _MODALS[a].search(src) and _MODALS[b].search(src):
            return f"'{a}' where the manual says '{b}'"
    return ""


# "A, then B", "first A, then B", "A before B", "B after A", "after A, B", "before B, A" -> (A, B): A comes first
_SEQUENCES = [
    re.compile(r"^(?:after|once|nachdem|sobald|après|después de)\s+(?P<a>[^,]+),\s*(?P<b>.+)$", re.I),
    re.compile(r"^(?:before|bevor|avant de|antes de)\s+(?P<b>[^,]+),\s*(?P<a>.+)$", re.I),
    re.compile(
        r"(?P<a>[^,;]+?)(?:\s+first)?,?\s+(?:and\s+|und\s+)?(?:then|afterwards|dann|danach|anschließend|puis|luego)\s+(?P<b>.+)$",
        re.I,
    ),
    re.compile(r"(?P<a>.+?),?\s+(?:before|bevor|avant|antes)\s+(?P<b>.+)$", re.I),
    re.compile(r"(?P<b>.+?),?\s+(?:after|nachdem|après|después)\s+(?P<a>.+)$", re.I),
]
_CLAUSE = re.compile(
    r"(?<=[.!?;:])\s+|,?\s+(?:and\s+|und\s+)?(?:then|dann|danach|anschließend)\s+|,?\s+(?:and|und)\s+|,\s+"
    r"|\n(?=\s*\d{1,2}[.)])",
    re.I,
)
_FIRST_WORDS = re.compile(r"^(?:first|erst|zuerst|d'abord|primero)\s+|\s+(?:first|zuerst)\b", re.I)


def _clauses(passage: str) -> list[tuple[int, set[str]]]:
    """(position, content words) of each clause of the passage, wrapped lines joined."""
    flat = re.sub(r"(?<![.!?:;])\n(?!\s*\d{1,2}[.)])", " ", passage)
    out: list[tuple[int, set[str]]] = []
    pos = 0
    for m in [*_CLAUSE.finditer(flat), None]:
        end = m.start() if m else len(flat)
        piece = flat[pos:end]
        if piece.strip() and not re.match(r"^\s*(?:before|bevor|avant|antes)\b", piece, re.I):
            out.append((pos, content(piece)))
        pos = m.end() if m else len(flat)
    return out


def out_of_order(body: str, passage: str) -> bool:
    """Does the sentence put two actions in another order than the manual does? Each part is
    located in the clause of the passage that holds most of its words; a part too short to
    locate is not judged."""
    clauses = _clauses(passage)

    def where(part: str) -> int | None:
        toks = content(_FIRST_WORDS.sub(" ", part))
        if len(toks) < 2 or not clauses:
            return None
        best = max(clauses, key=lambda c: len(toks & c[1]))
        hits = len(toks & best[1])
        return best[0] if hits >= 2 and hits >= 0.5 * len(toks) else None

    for pat in _SEQUENCES:
        m = pat.search(body.strip().rstrip("."))
        if not m:
            continue
        a, b = where(m.group("a")), where(m.group("b"))
        if a is not None and b is not None and a > b:
            return True
    return False


def _support(tokens: set[str], text: str) -> float:
    """Share of the sentence's content words found in one sentence of ``text``, or in two
    consecutive ones when each gives at least two of them (words gathered from all over a unit,
    "press the blue RESET button" + "… from the HMI", are not a statement the manual makes)."""
    sents = [content(x) for x in _sentences(text)]
    best = 0
    for i, a in enumerate(sents):
        best = max(best, len(tokens & a))
        if i + 1 < len(sents):
            b = sents[i + 1]
            ga, gb = tokens & a, (tokens & b) - a
            if len(ga) >= 2 and len(gb) >= 2:
                best = max(best, len(ga | gb))
    return best / len(tokens)


def best_support(body: str, passage: str, min_support: float) -> tuple[float, str]:
    """(support, why not) of the sentence by the best unit of ``passage``: support is the share of
    its content words in one or two consecutive sentences of that unit (``_support``); "why not"
    is "" when the unit supports it."""
    tokens = content(body)
    if not tokens:
        return 1.0, ""
    ranked = sorted(
        ((_support(tokens, s.text), k, s) for k, s in enumerate(scopes(passage))),
        key=lambda x: (-x[0], x[1]),
    )
    best = ranked[0][0]
    why = "too few of its words in any one unit"
    words = _words(body)
    for support, _, scope in ranked:
        if support < max(min_support, best - 0.05):
            break
        if words and not words & _words(scope.text):
            continue  # "The stroke is 800 mm" against "Daylight … 800 mm": only the number is shared
        why = disagrees(body, scope)
        if not why and out_of_order(body, scope.order_text or scope.text):
            why = "steps out of order"
        if not why:
            return support, ""
    return best, why


__all__ = ["Unit", "best_support", "content", "disagrees", "scopes"]
