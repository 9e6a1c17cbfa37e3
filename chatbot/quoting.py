"""Extractive quotes: the manual's own lines that answer the question.

The quote leads the embedded default's answers and is highlighted in the source panel. It is
chosen among the passage's *units* (``core/units.py``: a table row, a numbered step, a safety
note, a paragraph; found at ingest), ranked by what the models we have can say about them:

* dense similarity of the question to the unit (the embedding model the index uses),
* lexical coverage of the question's terms, each weighed by its rarity in the index (idf), terms
  that only say which manual (its title, "HP-200") weighing nothing,
* the unit's structure: a row that starts with the code the question names is that code's entry.

The best unit is quoted whole: a row with its cause and remedy, a step with the whole procedure
it belongs to (every step, with the line that introduces them, read on into the next chunk of the
same section and page), a question line with the answer that follows it. Never a window that
starts inside a neighbouring row. Long prose is cut to its best sentences (``best_quote``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from core.grammar import codes_in, starts_family_row, starts_row_of
from core.units import Unit, procedure_span, step_number, units_of
from index.types import Chunk

from .lexical import STOPWORDS, tokenize
from .quote_window import LEADS_ON, best_quote

MAX_QUOTE = 480  # characters of prose or a row: readable at a machine
MAX_PROCEDURE = 1100  # a procedure is quoted with all its steps up to this length
MIN_PROSE = 200  # a prose quote shorter than this reads on to the next sentence of the same text
SHORT_QUOTE = 80  # a paragraph or item this short rarely says enough alone: it reads on to the units after it

Embed = Callable[[Sequence[str]], np.ndarray]


@dataclass(frozen=True)
class Quote:
    text: str
    kind: str  # the unit kind quoted: row, procedure, step, safety, paragraph, item, lines
    score: float = 0.0


@dataclass(frozen=True)
class QuoteWeights:
    """How units are ranked (fitted with ``scripts``-free grid search in docs/decisions.md)."""

    dense: float = 1.0
    lexical: float = 1.0
    code_row: float = 1.0


def _terms(question: str, context: str, idf: Callable[[str], float] | None) -> dict[str, float]:
    located = set(tokenize(context))
    return {
        t: (0.0 if t in located else (idf(t) if idf else 3.0 if re.search(r"\d|[:$_.-]", t) else 1.0))
        for t in tokenize(question)
        if t not in STOPWORDS
    }


def _coverage(terms: dict[str, float], text: str) -> float:
    total = sum(terms.values())
    if total <= 0:
        return 0.0
    toks = set(tokenize(text))
    return sum(w for t, w in terms.items() if t in toks) / total


def choose_quote(
    question: str,
    chunk: Chunk,
    *,
    codes: Sequence[str] = (),
    embed: Embed | None = None,
    qvec: np.ndarray | None = None,
    idf: Callable[[str], float] | None = None,
    next_chunk: Chunk | None = None,
    weights: QuoteWeights = QuoteWeights(),
) -> Quote:
    """The unit of ``chunk`` that best answers ``question``, quoted whole (see the module doc).

    ``embed``/``qvec``: the index's embedding model and the question's vector (dense similarity);
    ``idf``: the lexical index's term rarity; ``next_chunk``: the chunk that follows on the same
    page and section (a procedure read on into it). Without them the ranking is lexical only."""
    text = chunk.text
    units = [u for u in units_of(text, chunk.section, chunk.units) if u.text(text).strip()]
    if not units:
        return Quote("", "")
    context = f"{chunk.title} {chunk.source}"
    terms = _terms(question, context, idf)
    low_context = context.lower()
    codes = [c for c in (codes or codes_in(question)) if c not in low_context]
    cand, spans = _candidates(units, text)
    texts = [_flat(text[x:y]) for x, y in spans]
    lex = np.array([_coverage(terms, t) for t in texts])
    dense = np.zeros(len(cand))
    if embed is not None and qvec is not None:
        section = chunk.section.split(" > ")[-1]
        vecs = embed([f"{section}\n{t}" if section else t for t in texts])
        dense = vecs @ qvec
    own = np.array(
        [
            1.0
            if any(units[j].code and units[j].code in codes for j in range(a, b))
            or any(starts_row_of(c, texts[k].lower()) for c in codes)
            or any(starts_family_row(c, texts[k], chunk.section) for c in codes)
            else 0.0
            for k, (a, b) in enumerate(cand)
        ]
    )
    score = weights.dense * dense + weights.lexical * lex + weights.code_row * own
    k = int(np.argmax(score))
    a, b = cand[k]
    if (spans[k][0], spans[k][1]) != (units[a].start, units[b - 1].end):  # sentences within prose
        quoted, kind = texts[k], "lines"
        if LEADS_ON.search(quoted) and spans[k][1] >= units[b - 1].end:
            quoted, kind = _whole(units, a, b, text, question, next_chunk)
        elif len(quoted) < MIN_PROSE:
            quoted = _read_on(
                text,
                spans[k],
                units[b - 1].end
                if b == len(units) or units[b].kind not in ("paragraph", "item")
                else _prose_end(units, b),
            )
    else:
        quoted, kind = _whole(units, a, b, text, question, next_chunk)
    # "… do the following:" with nothing after it: what it leads to is the answer (some of it at least);
    # a paragraph or item this short rarely says enough alone: the units after it, up to MIN_PROSE
    leads = bool(_ENDS_LEADING.search(quoted))
    if leads or (len(quoted) < SHORT_QUOTE and kind in ("paragraph", "item", "lines")):
        room = max(MAX_QUOTE - len(quoted), MIN_PROSE)
        wanted = room if leads else MIN_PROSE - len(quoted)
        more, steps = _continuation(units, text, _end_of(text, quoted), next_chunk, wanted)
        if more:
            more_text = _capped(more, MAX_PROCEDURE if steps else room)
            quoted, kind = f"{quoted}\n{more_text}", "procedure" if steps else kind
    # the heading prose stands under says what it is about ("$11 - Junction deviation, mm"): quoted with
    # it when it shares a term with the question or names a code (the setting asked for); a row, step
    # or note only takes the heading right above it
    head = _heading_above(units, a, text, chunk.section)
    about = bool(head) and (
        any(w > 0 and t in set(tokenize(head)) for t, w in terms.items()) or codes_in(head)
    )
    prose = kind in ("paragraph", "lines", "item")  # a row, step or note carries its own code or label
    right_above = a > 0 and units[a - 1].kind == "heading"
    fits = head not in quoted and len(head) + len(quoted) < MAX_QUOTE * 2
    if about and fits and kind != "procedure" and (prose or right_above):
        quoted = f"{head}\n{quoted}"
    return Quote(quoted, kind, float(score[k]))


def _heading_above(units: Sequence[Unit], a: int, text: str, section: str) -> str:
    """The nearest heading above unit ``a`` in the chunk, or the chunk's own section title."""
    for j in range(a - 1, -1, -1):
        if units[j].kind == "heading":
            return _flat(units[j].text(text))
    return section.split(" > ")[-1].strip()


_SENTENCE = re.compile(r"[^.!?。！？]+(?:[.!?。！？]+[\"')\]”]*|$)")


def _candidates(units: Sequence[Unit], text: str) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """What can be quoted: every unit that is not a heading, whole (a row, a step, a note), and in
    prose (paragraphs and bullet items that follow each other) every run of one to three sentences
    up to ``MAX_QUOTE``. Returns (unit range [a, b), character span) per candidate."""
    cand: list[tuple[int, int]] = []
    spans: list[tuple[int, int]] = []
    for i, u in enumerate(units):
        if u.kind != "heading":
            cand.append((i, i + 1))
            spans.append((u.start, u.end))
    prose = ("paragraph", "item")
    i = 0
    while i < len(units):
        if units[i].kind not in prose:
            i += 1
            continue
        j = i
        while j < len(units) and units[j].kind in prose:
            j += 1
        sents: list[tuple[int, int, int]] = []  # (start, end, unit index)
        for k in range(i, j):
            u = units[k]
            for m in _SENTENCE.finditer(text, u.start, u.end):
                if m.group(0).strip():
                    lead = len(m.group(0)) - len(m.group(0).lstrip())
                    sents.append((m.start() + lead, m.end(), k))
        for x in range(len(sents)):
            for y in range(x, min(len(sents), x + 3)):
                start, end = sents[x][0], sents[y][1]
                if end - start > MAX_QUOTE and y > x:
                    break
                if (start, end) not in spans:
                    cand.append((sents[x][2], sents[y][2] + 1))
                    spans.append((start, end))
        i = j
    if not cand:
        cand, spans = [(0, len(units))], [(units[0].start, units[-1].end)]
    return cand, spans


def _prose_end(units: Sequence[Unit], b: int) -> int:
    """Where the run of prose that unit ``b`` continues ends."""
    while b < len(units) and units[b].kind in ("paragraph", "item"):
        b += 1
    return units[b - 1].end


def _read_on(text: str, span: tuple[int, int], limit: int) -> str:
    """A short prose quote with the sentences that follow it in the same prose, up to
    ``MIN_PROSE`` characters (one statement rarely holds both what and why)."""
    start, end = span
    for m in _SENTENCE.finditer(text, end, limit):
        if len(_flat(text[start:end])) >= MIN_PROSE or m.end() - start > MAX_QUOTE:
            break
        if m.group(0).strip():
            end = m.end()
    return _flat(text[start:end])


def _flat(s: str) -> str:
    """Wrapped lines joined (a PDF row's cells and a paragraph's lines read as one text)."""
    return re.sub(r"\s*\n\s*", " ", s).strip()


def _whole(
    units: Sequence[Unit], a: int, b: int, text: str, question: str, next_chunk: Chunk | None
) -> tuple[str, str]:
    """Units [a, b) as they are quoted: whole, with what they need around them."""
    u = units[a]
    if u.kind == "step":
        pa, pb = procedure_span(units, a, text)
        whole = "\n".join(_procedure_lines(units, pa, pb, text, next_chunk))
        if len(whole) <= MAX_PROCEDURE:
            return whole, "procedure"
        # too long to read at a machine: the best step with its neighbours
        window = [_flat(units[j].text(text)) for j in range(max(pa, a - 1), min(pb, a + 3))]
        return "\n".join(window)[:MAX_PROCEDURE], "step"
    parts = [_flat(x.text(text)) for x in units[a:b]]
    kind = u.kind if b - a == 1 else "lines"
    # a line that leads up to what follows ("… as follows:", "The display shows 'Min temp'?"): read on
    if LEADS_ON.search(parts[-1]) and b < len(units):  # at the chunk's end, choose_quote reads on
        first = "\n".join(parts)
        more, steps = _continuation(units, text, units[b - 1].end, next_chunk, MAX_QUOTE - len(first))
        if steps:
            return f"{first}\n{_capped(more, MAX_PROCEDURE)}", "procedure"
        return "\n".join([first, *more])[: MAX_QUOTE * 2], "lines"
    quoted = " ".join(parts) if kind == "lines" else parts[0]
    if len(quoted) > MAX_QUOTE and u.kind in ("paragraph", "item"):
        return best_quote(question, text[u.start : units[b - 1].end], max_chars=MAX_QUOTE), "lines"
    if len(quoted) > MAX_QUOTE * 2:
        return quoted[: MAX_QUOTE * 2].rsplit(" ", 1)[0] + " …", kind
    return quoted, kind


# The quote's own end leads on (stricter than LEADS_ON, which takes any line that mentions "the
# following"): reading on here costs a whole unit or the next chunk.
_ENDS_LEADING = re.compile(r"(?::|\?|\bas follows|\bthe following(?:\s+[\w-]+){0,3})[\s\"'”)]*$", re.I)


def _end_of(text: str, quoted: str) -> int:
    """Where the quote's last words end in the chunk text (-1: not found)."""
    words = quoted.split()[-8:]
    if not words:
        return -1
    found = list(re.finditer(r"\s+".join(map(re.escape, words)), text))
    return found[-1].end() if found else -1


def _continuation(
    units: Sequence[Unit], text: str, end: int, next_chunk: Chunk | None, prose: int
) -> tuple[list[str], bool]:
    """What a quote ending at ``end`` that only leads up to something ("To remove a shelf:", "do the
    following:") leads to: the rest of its unit, then the units after it up to the next heading, read
    on into the next chunk of the same page and section when the chunk ends first. Prose units are
    added while under ``prose`` characters; a procedure comes whole, its steps numbered on into the
    next chunk (too long to read at a machine: its first four steps). Returns (lines, whether they
    are steps)."""
    if end < 0:
        return [], False
    parts: list[str] = []
    for j, u in enumerate(units):
        if u.end <= end:
            continue
        if u.start < end:  # the lead ends inside this unit
            parts.append(_flat(text[end : u.end]))
            continue
        if u.kind == "heading" or (u.kind != "step" and len("\n".join(parts)) >= prose):
            break
        if u.kind == "step":
            listed = _procedure_lines(units, j, procedure_span(units, j, text)[1], text, next_chunk)
            if len("\n".join(listed)) > MAX_PROCEDURE:
                listed = listed[:4]
            return parts + listed, not parts
        parts.append(_flat(u.text(text)))
    else:
        if next_chunk is not None and not any(parts):
            nxt = units_of(next_chunk.text, next_chunk.section, next_chunk.units)
            return _continuation(nxt, next_chunk.text, 0, None, prose)
    return [p for p in parts if p], False


def _capped(parts: Sequence[str], limit: int) -> str:
    joined = "\n".join(p for p in parts if p)
    return joined if len(joined) <= limit else joined[:limit].rsplit(" ", 1)[0] + " …"


def _procedure_lines(
    units: Sequence[Unit], start: int, end: int, text: str, next_chunk: Chunk | None
) -> list[str]:
    """Units [start, end) of a procedure, one line each, with the steps that number on at the start
    of ``next_chunk`` when the procedure runs to the chunk's end."""
    lines = [_flat(x.text(text)) for x in units[start:end]]
    last = step_number(units[end - 1], text) if units[end - 1].kind == "step" else None
    if end == len(units) and next_chunk is not None and last is not None:
        lines += _steps_after(next_chunk, last)
    return lines


def _steps_after(chunk: Chunk, last: int) -> list[str]:
    """The steps that continue a procedure at the start of the next chunk (numbers go on)."""
    units = units_of(chunk.text, chunk.section, chunk.units)
    out: list[str] = []
    for u in units:
        n = step_number(u, chunk.text) if u.kind == "step" else None
        if n is None or n != last + 1:
            break
        out.append(_flat(u.text(chunk.text)))
        last = n
    return out


class Quoter:
    """Chooses quotes with the live index's models: its embedder (dense similarity of units), its
    lexical index (term rarity) and its chunks (the next chunk of a procedure)."""

    def __init__(
        self, embedder: object | None, state_of: Callable[[], object], weights: QuoteWeights = QuoteWeights()
    ) -> None:
        self.embedder = embedder
        self.state_of = state_of  # () -> IndexState of the live version
        self.weights = weights

    def __call__(
        self,
        question: str,
        search_text: str,
        row: int,
        chunk: Chunk,
        codes: Sequence[str] = (),
        qvec: np.ndarray | None = None,
    ) -> Quote:
        state: Any = self.state_of()
        chunks = state.index.chunks
        nxt = chunks[row + 1] if 0 <= row + 1 < len(chunks) else None
        if nxt is not None and not (
            nxt.doc_sha == chunk.doc_sha
            and nxt.ordinal == chunk.ordinal + 1
            and nxt.page_start == chunk.page_start
            and nxt.section == chunk.section
        ):
            nxt = None
        embed = None
        if self.embedder is not None:
            emb: Any = self.embedder
            embed = emb.embed_documents
            if qvec is None:  # retrieval computed it already when the caller passes it
                qvec = emb.embed_query(search_text)
        return choose_quote(
            search_text,
            chunk,
            codes=codes,
            embed=embed,
            qvec=qvec,
            idf=state.lexical.idf,
            next_chunk=nxt,
            weights=self.weights,
        )
