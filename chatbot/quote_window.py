"""The window rule: a run of up to four sentences or rows of a passage that covers most of the
question's terms, read on while it only leads up to the answer. ``chatbot.quoting`` uses it to cut a
long paragraph to its best sentences; ``bench/quote_bench.py`` compares it with the unit ranking."""

from __future__ import annotations

import re
from collections.abc import Sequence

from core.grammar import ROW_HEAD, codes_in, starts_row_of, starts_safety_note

from .lexical import STOPWORDS, tokenize

# a line that leads up to what follows ("… as follows:", "The display shows 'Min temp'?")
LEADS_ON = re.compile(r"(\?|:|\bfollowing\b.*|\bas follows\b.*)$", re.I)


def best_quote(question: str, text: str, max_chars: int = 480, context: str = "") -> str:
    """The run of up to four sentences/rows of a passage that covers most of the question's terms.

    Coverage, not a sum: a window earns each question term once, codes and identifiers weigh 3x,
    so the window that holds both "what it is" and "what to do" beats one repeating the topic.
    ``context`` is the passage's document title and file name: question terms found there (the
    machine's name, "HP-200") say which manual, not which line, so they weigh nothing and never
    anchor the quote.
    """
    flat = re.sub(r"(?<![.:;!?])\n(?=[a-z(])", " ", text)  # join wrapped lines
    sentences: list[str] = []
    for piece in re.split(r"(?<=[.!?])\s+|\n", flat):
        piece = piece.strip()
        if piece and sentences and re.fullmatch(r"(\d{1,2}|[a-z])[.)]", sentences[-1]):
            sentences[-1] += " " + piece  # "1." + "Thermistor port ..." is one list item
        elif piece:
            sentences.append(piece)
    if not sentences:
        return ""
    located = set(tokenize(context))
    weights = {
        t: (0.0 if t in located else 3.0 if re.search(r"\d|[:$_.-]", t) else 1.0)
        for t in tokenize(question)
        if t not in STOPWORDS
    }
    toks = [set(tokenize(s)) for s in sentences]
    low_context = context.lower()
    codes = [c for c in codes_in(question) if c not in low_context]
    # A row that starts with the code the question names (E-107, $32, AL-01): quote that whole
    # row/entry, up to the next row.
    rows = [i for i, s in enumerate(sentences) if any(starts_row_of(c, s) for c in codes)]
    if rows:
        return _extend(sentences, toks, rows[0], rows[0] + 1, max_chars, set(weights), whole_row=True)
    # Else the window must hold a mention of the code, where there is one.
    mentions = {i for i, s in enumerate(sentences) if any(c in s.lower() for c in codes)}
    best: tuple[float, int, int] = (-1.0, 0, 1)
    for i in range(len(sentences)):
        if best[0] >= 0 and not any(t in weights for t in toks[i]):
            continue  # a window starts with a sentence that matches the question
        covered: set[str] = set()
        length = 0
        for j in range(i, min(len(sentences), i + 4)):
            length += len(sentences[j]) + 1
            if length > max_chars and j > i:
                break
            if j > i and starts_safety_note(sentences[j]):
                break
            covered |= toks[j]
            if mentions and not mentions.intersection(range(i, j + 1)):
                continue
            score = sum(weights.get(t, 0.0) for t in covered)
            # prefer more coverage, then fewer sentences, then earlier text
            if score > best[0] + 1e-9 or (abs(score - best[0]) < 1e-9 and j + 1 - i < best[2] - best[1]):
                best = (score, i, j + 1)
    _, i, j = best
    return _extend(sentences, toks, i, j, max_chars, set(weights))


def _heading(line: str) -> bool:
    """A short title line such as "Bed Leveling" or "4. Bed Leveling" (not a table row: no digits)."""
    bare = re.sub(r"^[\d.]+\s*", "", line.rstrip())
    return len(bare.split()) <= 6 and not re.search(r"\d|[.!)]$", bare)


_MIN_QUOTE = 200  # characters: a shorter prose quote rarely holds both "what" and "what to do"


def _extend(
    sentences: Sequence[str],
    toks: Sequence[set[str]],
    i: int,
    j: int,
    max_chars: int,
    asked: set[str],
    whole_row: bool = False,
) -> str:
    """sentences[i:j], carried on while it only leads up to the answer: a question or heading
    the manual answers next ("The display shows "Min temp"?", "Bed Leveling"), a line ending in
    ":" or announcing "the following", words that only repeat the question (``asked``), or prose
    shorter than ``_MIN_QUOTE``. A table row is carried on to the next row. Never past a
    DANGER/WARNING/CAUTION (shown on its own) or ``max_chars``. ``toks``: each sentence's tokens."""
    out = " ".join(sentences[i:j])
    while j < len(sentences) and j - i < 8:
        nxt = sentences[j]
        if starts_safety_note(nxt) or len(out) + len(nxt) + 1 > max_chars:
            break
        if whole_row:
            if ROW_HEAD.match(nxt):
                break
        else:
            last = sentences[j - 1].rstrip()
            heading = _heading(last)
            wrapped = len(last.split()) > 6 and bool(re.search(r"[a-z,]$", last))  # mid-sentence
            prose = bool(re.search(r"[.!?;][)\"'”]*$", last))  # not a table row: read on to ~2 sentences
            words = toks[j - 1] - STOPWORDS
            echo = len(words & asked) >= 0.6 * max(1, len(words))  # only repeats the question
            if not (LEADS_ON.search(last) or heading or wrapped or echo):
                # only too short: read on, but not into the next entry, question or heading
                new_topic = ROW_HEAD.match(nxt) or nxt.rstrip().endswith("?") or _heading(nxt)
                if not prose or len(out) >= _MIN_QUOTE or new_topic:
                    break
        out += " " + nxt
        j += 1
    return out[:max_chars].rstrip()
