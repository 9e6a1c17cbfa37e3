"""Checks a generated answer against the passages it was given.

* Citations to sources that were not given are removed.
* Each sentence must be supported by the passages it cites (or, uncited, by any given passage):
  most of its content words appear there, and every number in it appears there. Unsupported
  sentences are dropped and reported. (For answers in another language than the manuals,
  word overlap cannot work; there only citations and numbers are checked.)
* An answer that says the manuals do not cover the question, or has nothing left, abstains.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from .injection import bypass_advice
from .lexical import STOPWORDS, tokenize
from .prompt import NOT_COVERED
from .support import best_support

_CITE = re.compile(r"\[\s*(?:sources?\s*)?(\d{1,2}(?:\s*[,;–-]\s*\d{1,2})*)\s*\]", re.I)
_SENT = re.compile(r"(?<=[.!?。！？])\s+|\n+")
_NUMBER = re.compile(r"(?<![\w.])[-+]?\d+(?:[.,]\d+)?(?!\d)")  # "1.25Gb/s" holds 1.25
_LIST_MARK = re.compile(r"^\s*(?:\d{1,2}[.)]|[-*•])\s+")
_ABSTAIN_EN = re.compile(
    r"(do(es)? not|don't|doesn't) (cover|contain|mention|say|include)|not (covered|mentioned|found) in|"
    r"no information|cannot find|can't find|not in the (manuals|sources)",
    re.I,
)


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
    why: list[str] = field(default_factory=list)  # for each dropped sentence, why it was dropped

    @property
    def empty(self) -> bool:
        return not self.text.strip()


# Where an answer's clauses part: "The manual does not mention a torque value, but tighten to 40 Nm [1]."
_CLAUSE = re.compile(
    r"(?<=[.!?。;])\s+|,?\s+\b(?:but|however|although|though|yet|aber|jedoch|pero|mais|ma|mas)\b\s*", re.I
)


def says_not_covered(text: str) -> bool:
    """The model says the sources do not answer, and says nothing else. An answer that also gives
    content ("does not mention a torque value, but tighten to 40 Nm") is not a refusal: its
    sentences are judged by the grounding check like any others."""
    t = text.strip()
    low = t.lower()
    phrases = [phrase.lower().rstrip(".。") for phrase in NOT_COVERED.values()]
    refuses = any(p in low for p in phrases) or (len(low) < 200 and _ABSTAIN_EN.search(low) is not None)
    if not refuses:
        return False
    for clause in _CLAUSE.split(t):
        c = _CITE.sub("", clause).strip().lower()
        if not c or _ABSTAIN_EN.search(c) or any(p in c for p in phrases):
            continue
        if _NUMBER.search(c) or len(_content(tokenize(c))) >= 3:
            return False  # a clause with content of its own
    return True


def _without_refusal(sentence: str) -> str:
    """A sentence that refuses in one clause and answers in another keeps the answering clause:
    "The manual does not mention a torque value, but tighten to 40 Nm [1]." -> "tighten to 40 Nm [1]."."""
    if not _ABSTAIN_EN.search(sentence):
        return sentence
    kept = [c for c in _CLAUSE.split(sentence) if c.strip() and not _ABSTAIN_EN.search(c)]
    return " ".join(kept).strip() if kept else sentence


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
    kept_sentences: list[str] = []
    dropped: list[str] = []
    why: list[str] = []
    removed: list[int] = []
    for raw in _SENT.split(answer.strip()):
        sentence = _without_refusal(raw.strip())
        if not sentence:
            continue
        fixed, nums, bad = _fix_citations(sentence, allowed)
        removed.extend(bad)
        body = _LIST_MARK.sub("", _CITE.sub("", fixed)).strip()
        if len(_content(tokenize(body))) < 2:  # list numbers, "See above.", stray fragments
            if re.search(r"[^\W\d_]{3}", body):
                dropped.append(sentence)
                why.append("a fragment")
            continue
        sent_tokens = _content(tokenize(body))
        if bypass_advice(body):  # never the assistant's own advice, whatever a source says
            dropped.append(sentence)
            why.append("advice to bypass a safety device")
            continue
        if (said and sent_tokens <= said) or frozenset(sent_tokens) in seen:
            dropped.append(sentence)  # echoes the question or what was shown, or repeats itself
            why.append("repeats the question or what was shown")
            continue
        seen.add(frozenset(sent_tokens))
        pool = sorted(set(nums)) or sorted(allowed)
        best, best_n, reason = 0.0, None, "no passage given"
        for n in pool:
            if not same_language:
                # word overlap cannot judge a translation; numbers and citations still do
                if _numbers(body) <= _numbers(passage_texts[n - 1]):
                    best, best_n, reason = 1.0, n, ""
                    break
                reason = "a number that is not in the passage"
                continue
            support, not_ok = best_support(body, passage_texts[n - 1], min_support)
            if not not_ok and support >= min_support and support > best:
                best, best_n, reason = support, n, ""
            elif best_n is None:
                reason = not_ok or "too few of its words in any one unit"
        if best_n is None:
            dropped.append(sentence)
            why.append(reason)
            continue
        if not nums:  # supported but uncited: cite the passage that supports it
            fixed = fixed.rstrip() + f" [{best_n}]"
            nums = [best_n]
        kept_sentences.append(fixed)
    while kept_sentences and _CITE.sub("", kept_sentences[-1]).rstrip().endswith(":"):
        dropped.append(kept_sentences.pop())
        why.append("a lead-in with nothing after it")  # a lead-in ("Follow these steps:") with nothing after
    text = (
        "\n".join(kept_sentences)
        if any(_LIST_MARK.match(s) for s in kept_sentences)
        else " ".join(kept_sentences)
    )
    cited = {n for k in kept_sentences for n in citations_in(k)}
    return Grounded(text, sorted(cited), dropped, sorted(set(removed)), why=why)
