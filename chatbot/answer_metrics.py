"""What the operator reads, scored: must_contain on whole tokens, answer recall, answer length and
text shown on screen that the grounding check never saw. Used by ``python -m chatbot.eval``.

* ``must_contain`` on whole tokens: a string counts as found when its token sequence appears as a
  contiguous token sequence in the answer ("25" is not found in "250"). Tokens are runs of word
  characters with the inner punctuation of codes and numbers (``error:24``, ``E-107``, ``$32``,
  ``0.5``, ``1,5``), case-folded. A string holding CJK characters (no spaces between words) is
  matched as a substring. The old substring figure is kept beside it (``*_substring``).
* Answer recall: the share of the gold answer's content words (``chatbot.lexical.tokenize``,
  stopwords removed, lightly stemmed) found in the answer text.
* Answer length: characters of the answer text (median and p90 over answered questions), so
  recall is never bought with length.
* Unchecked text shown: a streamed ``sentence`` whose text is not in the final answer (the
  operator saw it, the answer withdrew it), plus every raw ``token`` event (model text shown
  before any check).
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Sequence
from typing import Any, Protocol

from .lexical import STOPWORDS, tokenize
from .qa import Question

# a word, with the inner punctuation codes and numbers use: error:24, E-107, $32, 0.5, P9.01, 1,5
_WORD = re.compile(r"\$?\w+(?:(?:[:\-./]|(?<=\d),(?=\d))\w+)*", re.UNICODE)
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]")
_WS = re.compile(r"\s+")


def pct(values: Sequence[float], q: float) -> float | None:
    if not values:
        return None
    s = sorted(values)
    i = min(len(s) - 1, max(0, round(q / 100 * (len(s) - 1))))
    return s[i]


def words(text: str) -> list[str]:
    """Whole tokens, case-folded: ``"E-107: 0.5 s"`` -> ``["e-107", "0.5", "s"]``."""
    return _WORD.findall(text.casefold())


def _squash(text: str) -> str:
    return _WS.sub(" ", text.casefold()).strip()


def contains(answer: str, needle: str) -> bool:
    """``needle`` is in ``answer`` as whole tokens (CJK, or text without word characters: as a
    substring, whitespace collapsed)."""
    want = words(needle)
    if _CJK.search(needle) or not want:
        return _squash(needle) in _squash(answer)
    have = words(answer)
    n = len(want)
    return any(have[i : i + n] == want for i in range(len(have) - n + 1))


def must_contain_recall(answer: str, must: Sequence[str]) -> float | None:
    return sum(contains(answer, s) for s in must) / len(must) if must else None


def must_contain_recall_substring(answer: str, must: Sequence[str]) -> float | None:
    """The figure eval reported before whole tokens: case-insensitive substring."""
    low = answer.lower()
    return sum(s.lower() in low for s in must) / len(must) if must else None


def content_words(text: str) -> set[str]:
    return {t for t in tokenize(text) if t not in STOPWORDS}


def answer_recall(gold: str, answer: str) -> float | None:
    """Share of the gold answer's content words found in the answer; None without a gold answer."""
    want = content_words(gold)
    if not want:
        return None
    return len(want & content_words(answer)) / len(want)


class ShownText:
    """Counts text the operator saw that the grounding check did not let through. Works with both
    streams: the old one ("token" events of raw model text) and the sentence-by-sentence one
    ("sentence" events, each already checked)."""

    def __init__(self) -> None:
        self.sentences: list[str] = []
        self.token_events = 0

    def observe(self, ev: Any) -> None:
        if ev.kind == "sentence":
            self.sentences.append(str(ev.text))
        elif ev.kind == "token":
            self.token_events += 1

    def unchecked(self, final_answer: str) -> int:
        final = _WS.sub(" ", final_answer).strip()
        gone = sum(1 for s in self.sentences if _WS.sub(" ", s).strip() not in final)
        return gone + self.token_events


class Scored(Protocol):
    """What ``figures`` needs of eval's per-question rows."""

    @property
    def q(self) -> Question: ...
    @property
    def outcome(self) -> str: ...
    @property
    def answer(self) -> str: ...
    @property
    def must_recall(self) -> float | None: ...
    @property
    def must_recall_substring(self) -> float | None: ...
    @property
    def answer_recall(self) -> float | None: ...
    @property
    def unchecked_shown(self) -> int: ...


def _mean(values: Sequence[float | None]) -> float | None:
    v = [x for x in values if x is not None]
    return statistics.fmean(v) if v else None


def figures(rows: Sequence[Scored]) -> dict[str, Any]:
    """The answer figures of a set of rows (a whole run, one QA file or one of its halves).
    Recall figures are over answerable questions; ``*_when_answered`` over those answered; the
    length is over every answered question."""
    ans = [r for r in rows if r.q.answerable]
    answered = [r for r in ans if r.outcome == "answer"]
    chars = [float(len(r.answer)) for r in rows if r.outcome == "answer"]
    return {
        "must_contain_recall": _mean([r.must_recall for r in ans]),
        "must_contain_recall_when_answered": _mean([r.must_recall for r in answered]),
        "must_contain_recall_substring": _mean([r.must_recall_substring for r in ans]),
        "must_contain_recall_substring_when_answered": _mean([r.must_recall_substring for r in answered]),
        "answer_recall": _mean([r.answer_recall for r in ans]),
        "answer_recall_when_answered": _mean([r.answer_recall for r in answered]),
        "answer_chars_median": statistics.median(chars) if chars else None,
        "answer_chars_p90": pct(chars, 90),
        "unchecked_shown": sum(r.unchecked_shown for r in rows),
    }


TABLE_KEYS = (
    ("must_contain_recall", "must_contain recall"),
    ("must_contain_recall_substring", "(substring)"),
    ("answer_recall", "answer recall"),
    ("answer_recall_when_answered", "answer recall when answered"),
    ("answer_chars_median", "answer chars median"),
    ("answer_chars_p90", "p90"),
    ("unchecked_shown", "unchecked shown"),
)


def print_sets(sets: dict[str, dict[str, Any]], fmt: Any) -> None:
    """The answer figures per QA file and half, as a Markdown table."""
    rows = [
        (name, half, v["answers"])
        for name, halves in sets.items()
        for half, v in halves.items()
        if v.get("answers")
    ]
    if not rows:
        return
    print("\n| QA file | half | " + " | ".join(t for _, t in TABLE_KEYS) + " |")
    print("|---|---|" + "---|" * len(TABLE_KEYS))
    for name, half, a in rows:
        print(f"| {name} | {half} | " + " | ".join(fmt(a[k]) for k, _ in TABLE_KEYS) + " |")
