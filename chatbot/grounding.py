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

from .lexical import STOPWORDS, codes_in, tokenize
from .prompt import NOT_COVERED

_CITE = re.compile(r"\[\s*(?:sources?\s*)?(\d{1,2}(?:\s*[,;–-]\s*\d{1,2})*)\s*\]", re.I)
_SENT = re.compile(r"(?<=[.!?。！？])\s+|\n+")
_NUMBER = re.compile(r"(?<![\w.])[-+]?\d+(?:[.,]\d+)?(?![\w])")
_LIST_MARK = re.compile(r"^\s*(?:\d{1,2}[.)]|[-*•])\s+")
_ABSTAIN_EN = re.compile(
    r"(do(es)? not|don't|doesn't) (cover|contain|mention|say|include)|not (covered|mentioned|found) in|"
    r"no information|cannot find|can't find|not in the (manuals|sources)",
    re.I,
)
_ROW = re.compile(r"^(\$\w+|[A-Za-z]{1,6}[-:]\d+(?:\.\d+)?|[A-Z]{1,3}\d+(?:\.\d+)?)\b")  # the next table row
SAFETY = re.compile(r"^\s*(DANGER|WARNING|CAUTION)\b[:\s]", re.M)


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
    answer: str, passage_texts: Sequence[str], same_language: bool = True, min_support: float = 0.5
) -> Grounded:
    """Check ``answer`` against the numbered passages (1-based, in the order given)."""
    allowed = set(range(1, len(passage_texts) + 1))
    if says_not_covered(answer):
        return Grounded("", [], says_not_covered=True)
    p_tokens = [_content(tokenize(t)) for t in passage_texts]
    p_numbers = [_numbers(t) for t in passage_texts]
    kept_sentences: list[str] = []
    cited: list[int] = []
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
        pool = sorted(set(nums)) or sorted(allowed)
        sent_tokens = _content(tokenize(body))
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
        cited.extend(nums)
    text = (
        "\n".join(kept_sentences)
        if any(_LIST_MARK.match(s) for s in kept_sentences)
        else " ".join(kept_sentences)
    )
    return Grounded(text, sorted(set(cited)), dropped, sorted(set(removed)))


def best_quote(question: str, text: str, max_chars: int = 480, context: str = "") -> str:
    """The run of up to four sentences/rows of a passage that covers most of the question's terms.

    Coverage, not a sum: a window earns each question term once, codes and identifiers weigh 3x,
    so the window that holds both "what it is" and "what to do" beats one repeating the topic.
    ``context`` is the passage's document title and file name: question terms found there (the
    machine's name, "HP-200") say which manual, not which line, so they weigh little and never
    anchor the quote.
    """
    flat = re.sub(r"(?<![.:;!?])\n(?=[a-z(])", " ", text)  # join wrapped lines
    sentences = [s.strip() for s in re.split(r"(?<=[.!?])\s+|\n", flat) if s.strip()]
    if not sentences:
        return ""
    located = set(tokenize(context))
    weights = {
        t: (0.25 if t in located else 3.0 if re.search(r"\d|[:$_.-]", t) else 1.0)
        for t in tokenize(question)
        if t not in STOPWORDS
    }
    toks = [set(tokenize(s)) for s in sentences]
    # When the question names a code (E-107, $32, AL-01), the quote starts where that code does:
    # at the row that begins with it if there is one, else at a sentence that mentions it.
    low_context = context.lower()
    codes = [c for c in codes_in(question) if c not in low_context]
    starts = [i for i, s in enumerate(sentences) if any(s.lower().startswith(c) for c in codes)]
    starts = starts or [i for i, s in enumerate(sentences) if any(c in s.lower() for c in codes)]
    if starts:  # the whole row/entry of that code, up to the next one
        i = starts[0]
        out = sentences[i]
        for j in range(i + 1, min(len(sentences), i + 6)):
            if (
                _ROW.match(sentences[j])
                or SAFETY.match(sentences[j])
                or len(out) + len(sentences[j]) + 1 > max_chars
            ):
                break
            out += " " + sentences[j]
        return out[:max_chars].rstrip()
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
            score = sum(weights.get(t, 0.0) for t in covered)
            # prefer more coverage, then fewer sentences, then earlier text
            if score > best[0] + 1e-9 or (abs(score - best[0]) < 1e-9 and j + 1 - i < best[2] - best[1]):
                best = (score, i, j + 1)
    _, i, j = best
    return " ".join(sentences[i:j])[:max_chars].rstrip()


def safety_notes(text: str) -> list[tuple[str, str]]:
    """(level, note) for each DANGER/WARNING/CAUTION paragraph in a passage."""
    notes: list[tuple[str, str]] = []
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        m = SAFETY.match(lines[i])
        if not m:
            i += 1
            continue
        note = [lines[i].strip()]
        i += 1
        while (
            i < len(lines)
            and not SAFETY.match(lines[i])
            and not re.match(r"^(\d{1,2}[.)]|[-•*])\s", lines[i])
        ):
            if re.match(r"^[A-Z0-9][\w .]{0,60}$", lines[i]) and lines[i].rstrip().endswith((":",)):
                break
            note.append(lines[i].strip())
            if note[-1].endswith((".", "!")) and len(" ".join(note)) > 60:
                break
            i += 1
        notes.append((m.group(1).upper(), " ".join(note)))
    return notes
