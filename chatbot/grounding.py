"""Checks a generated answer against the passages it was given.

* Citations to sources that were not given are removed.
* Each sentence must be supported by the passages it cites (or, uncited, by any given passage):
  most of its content words appear there, and every number in it appears there. Unsupported
  sentences are dropped and reported. (For answers in another language than the manuals,
  word overlap cannot work; there only citations and numbers are checked.)
* An answer that says the manuals do not cover the question, or has nothing left, abstains.

Also: extractive quotes (the lines of a passage that best answer the question) and the
DANGER/WARNING/CAUTION notes attached to what is cited.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from .injection import bypass_advice
from .lexical import ROW_HEAD, STOPWORDS, codes_in, tokenize
from .prompt import NOT_COVERED

_CITE = re.compile(r"\[\s*(?:sources?\s*)?(\d{1,2}(?:\s*[,;–-]\s*\d{1,2})*)\s*\]", re.I)
_SENT = re.compile(r"(?<=[.!?。！？])\s+|\n+")
_NUMBER = re.compile(r"(?<![\w.])[-+]?\d+(?:[.,]\d+)?(?!\d)")  # "1.25Gb/s" holds 1.25
_LIST_MARK = re.compile(r"^\s*(?:\d{1,2}[.)]|[-*•])\s+")
_ABSTAIN_EN = re.compile(
    r"(do(es)? not|don't|doesn't) (cover|contain|mention|say|include)|not (covered|mentioned|found) in|"
    r"no information|cannot find|can't find|not in the (manuals|sources)",
    re.I,
)
SAFETY = re.compile(r"^\s*(DANGER|WARNING|CAUTION)\b[:\s]", re.M)
# In the middle of a line only as a marker: "... closed. WARNING: Hot oil", not "the WARNING lamp".
_SAFETY_MID = re.compile(r"(?<![A-Za-z])(DANGER|WARNING|CAUTION)(?:\s*[:!]|\s+(?=[A-Z]))")


def _safety_start(line: str) -> re.Match[str] | None:
    return SAFETY.match(line) or _SAFETY_MID.search(line)


def citations_in(text: str) -> list[int]:
    out: list[int] = []
    for m in _CITE.finditer(text):
        for part in re.split(r"\s*[,;]\s*", m.group(1)):
            if re.fullmatch(r"\d+\s*[–-]\s*\d+", part):
                a, b = (int(x) for x in re.split(r"\s*[–-]\s*", part))
                out.extend(range(a, min(b, a + 9) + 1))
            elif part.strip().isdigit():
                out.append(int(part))
    return out


def _fix_citations(sentence: str, allowed: set[int]) -> tuple[str, list[int], list[int]]:
    kept: list[int] = []
    removed: list[int] = []

    def sub(m: re.Match[str]) -> str:
        nums = citations_in(m.group(0))
        good = [n for n in nums if n in allowed]
        removed.extend(n for n in nums if n not in allowed)
        kept.extend(good)
        return "".join(f"[{n}]" for n in dict.fromkeys(good))

    return _CITE.sub(sub, sentence), kept, removed


def _content(tokens: list[str]) -> set[str]:
    return {t for t in tokens if t not in STOPWORDS and len(t) > 1}


def _numbers(text: str) -> set[str]:
    return {n.replace(",", ".").lstrip("+") for n in _NUMBER.findall(text)}


@dataclass
class Grounded:
    text: str
    cited: list[int]
    dropped: list[str] = field(default_factory=list)
    removed_citations: list[int] = field(default_factory=list)
    says_not_covered: bool = False

    @property
    def empty(self) -> bool:
        return not self.text.strip()


def says_not_covered(text: str) -> bool:
    t = text.strip().lower()
    if any(phrase.lower().rstrip(".。") in t for phrase in NOT_COVERED.values()):
        return True
    return len(t) < 200 and _ABSTAIN_EN.search(t) is not None


def ground(
    answer: str,
    passage_texts: Sequence[str],
    same_language: bool = True,
    min_support: float = 0.5,
    already_said: str = "",
) -> Grounded:
    """Check ``answer`` against the numbered passages (1-based, in the order given).

    ``already_said``: the question and any text already shown (the quoted lead); a sentence made
    only of its words adds nothing (small models echo the question) and is dropped."""
    said = _content(tokenize(already_said))
    seen: set[frozenset[str]] = set()
    allowed = set(range(1, len(passage_texts) + 1))
    if says_not_covered(answer):
        return Grounded("", [], says_not_covered=True)
    p_tokens = [_content(tokenize(t)) for t in passage_texts]
    p_numbers = [_numbers(t) for t in passage_texts]
    kept_sentences: list[str] = []
    dropped: list[str] = []
    removed: list[int] = []
    for raw in _SENT.split(answer.strip()):
        sentence = raw.strip()
        if not sentence:
            continue
        fixed, nums, bad = _fix_citations(sentence, allowed)
        removed.extend(bad)
        body = _LIST_MARK.sub("", _CITE.sub("", fixed)).strip()
        if len(_content(tokenize(body))) < 2:  # list numbers, "See above.", stray fragments
            if re.search(r"[^\W\d_]{3}", body):
                dropped.append(sentence)
            continue
        sent_tokens = _content(tokenize(body))
        if bypass_advice(body):  # never the assistant's own advice, whatever a source says
            dropped.append(sentence)
            continue
        if (said and sent_tokens <= said) or frozenset(sent_tokens) in seen:
            dropped.append(sentence)  # echoes the question or what was shown, or repeats itself
            continue
        seen.add(frozenset(sent_tokens))
        pool = sorted(set(nums)) or sorted(allowed)
        sent_numbers = _numbers(body)
        best, best_n = 0.0, None
        for n in pool:
            if sent_numbers - p_numbers[n - 1]:
                continue  # a number that is not in this passage: never supported by it
            support = 1.0 if not sent_tokens else len(sent_tokens & p_tokens[n - 1]) / len(sent_tokens)
            if not same_language:
                support = 1.0  # word overlap cannot judge a translation; numbers and citations still do
            if support > best:
                best, best_n = support, n
        if best_n is None or best < min_support:
            dropped.append(sentence)
            continue
        if not nums:  # supported but uncited: cite the passage that supports it
            fixed = fixed.rstrip() + f" [{best_n}]"
            nums = [best_n]
        kept_sentences.append(fixed)
    while kept_sentences and _CITE.sub("", kept_sentences[-1]).rstrip().endswith(":"):
        dropped.append(kept_sentences.pop())  # a lead-in ("Follow these steps:") with nothing after
    text = (
        "\n".join(kept_sentences)
        if any(_LIST_MARK.match(s) for s in kept_sentences)
        else " ".join(kept_sentences)
    )
    cited = {n for k in kept_sentences for n in citations_in(k)}
    return Grounded(text, sorted(cited), dropped, sorted(set(removed)))


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
    rows = [i for i, s in enumerate(sentences) if any(_row_of(c, s) for c in codes)]
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
            if j > i and SAFETY.match(sentences[j]):
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


def _row_of(code: str, sentence: str) -> bool:
    """Does the sentence start a row/entry for ``code`` ("E-112 Ram position…", "$32=0",
    "AL-01: …"), rather than being a wrapped line that happens to start with it ("PV1 and
    ground.")? The code must be followed by the end, a separator or a capitalised word."""
    if not sentence.lower().startswith(code):
        return False
    rest = sentence[len(code) :].lstrip()
    return not rest or not rest[0].islower()


def _heading(line: str) -> bool:
    """A short title line such as "Bed Leveling" or "4. Bed Leveling" (not a table row: no digits)."""
    bare = re.sub(r"^[\d.]+\s*", "", line.rstrip())
    return len(bare.split()) <= 6 and not re.search(r"\d|[.!)]$", bare)


_MIN_QUOTE = 200  # characters: a shorter prose quote rarely holds both "what" and "what to do"
_LEADS_ON = re.compile(r"(\?|:|\bfollowing\b.*|\bas follows\b.*)$", re.I)


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
        if SAFETY.match(nxt) or len(out) + len(nxt) + 1 > max_chars:
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
            if not (_LEADS_ON.search(last) or heading or wrapped or echo):
                # only too short: read on, but not into the next entry, question or heading
                new_topic = ROW_HEAD.match(nxt) or nxt.rstrip().endswith("?") or _heading(nxt)
                if not prose or len(out) >= _MIN_QUOTE or new_topic:
                    break
        out += " " + nxt
        j += 1
    return out[:max_chars].rstrip()


def safety_notes(text: str) -> list[tuple[str, str]]:
    """(level, note) for each DANGER/WARNING/CAUTION paragraph in a passage, wherever in a line it starts."""
    notes: list[tuple[str, str]] = []
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        m = _safety_start(lines[i])
        if not m:
            i += 1
            continue
        note = [lines[i][m.start() :].strip()]
        i += 1
        while (
            i < len(lines)
            and not _safety_start(lines[i])
            and not re.match(r"^(\d{1,2}[.)]|[-•*])\s", lines[i])
            and not (note[-1].endswith((".", "!")) and len(" ".join(note)) > 60)
        ):
            if re.match(r"^[A-Z0-9][\w .]{0,60}$", lines[i]) and lines[i].rstrip().endswith((":",)):
                break
            note.append(lines[i].strip())
            i += 1
        notes.append((m.group(1).upper(), " ".join(note)))
    return notes
