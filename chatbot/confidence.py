"""One calibrated retrieval confidence and the three outcomes an operator can get.

``features`` describes what retrieval found for a question (how close the best passages are,
how much of the question's wording the top passage holds, whether the channels agree, whether
a named code or quoted phrase was found verbatim). A logistic regression fitted by
``python -m chatbot.calibrate`` on the tune halves of the QA sets (plus questions about other
manuals, which are unanswerable here) turns them into the probability that the top passage
answers the question. Two thresholds from the same fit give the outcome:

* ``answer``          p >= answer_at (answer_at_other_language when the top passage is in another
  language than the question: the features mean less there, and the level is fitted on such
  questions alone, so a handful of cross-lingual questions does not set the level for all others)
* ``low_confidence``  decline_below <= p < answer_at: the closest passages, shown as such
* ``not_in_manuals``  p < decline_below: only when confident that nothing relevant exists,
  and never for a question in another language than the passages it found: there the words
  cannot match word for word (the dictionary rendering is partial), so their absence is weak
  evidence, and the closest passages are shown instead

The fitted model is a small JSON file shipped with the package (``calibration.json``); it names
the fusion weights and embedding model it was fitted with, and the app warns when they differ.
"""

from __future__ import annotations

import functools
import json
import logging
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from core.grammar import WHERE_WORDS
from core.language import passage_language

from .lexical import LexicalIndex, tokenize
from .lexical_segments import SegmentedLexical
from .query import Query

log = logging.getLogger(__name__)

DEFAULT_FILE = Path(__file__).with_name("calibration.json")
FEATURES = (
    "cos_top1",
    "cos_top3_max",
    "coverage_top1",
    "coverage_top3_max",
    "unknown_terms",
    "exact_in_top1",
    "dense_lexical_agree",
    "page_rank_top1",
    "same_language",
)


@dataclass
class Evidence:
    """What retrieval found, as numbers (the calibrated model's input)."""

    values: dict[str, float]

    def vector(self) -> np.ndarray:
        return np.array([self.values[f] for f in FEATURES], dtype=np.float64)


def _coverage(query_tokens: dict[str, float], passage: str) -> float:
    """IDF-weighted share of the question's terms that occur in the passage."""
    if not query_tokens:
        return 0.0
    have = set(tokenize(passage))
    total = sum(query_tokens.values())
    return sum(w for t, w in query_tokens.items() if t in have) / total if total else 0.0


@functools.cache
def _where_tokens() -> frozenset[str]:
    return frozenset(tokenize(" ".join(WHERE_WORDS)))


def contents_list(query: Query, passages: Sequence[Any], lexical: LexicalIndex | SegmentedLexical) -> bool:
    """A where-question whose topic a table-of-contents passage lists (at least half of the topic's
    idf weight in one entry line): the manual has the topic, whatever the other features say."""
    if not query.where:
        return False
    terms = {t: lexical.idf(t) for t in tokenize(query.search_text) if t not in _where_tokens()}
    return any(
        _coverage(terms, line) >= 0.5
        for p in passages
        if p.chunk.role == "contents"
        for line in p.chunk.text.splitlines()
    )


def evidence(
    query: Query, passages: Sequence[Any], lexical: LexicalIndex | SegmentedLexical, exact: bool
) -> Evidence:
    """Features of a retrieval result (``passages``: the fused top, best first; ``exact``: the top
    passage holds a specific code the question names, or a phrase it quotes, verbatim)."""
    toks = dict.fromkeys(tokenize(query.search_text))
    if query.where:  # "which page describes …": the page and the describing are not the topic
        toks = {t: None for t in toks if t not in _where_tokens()}
    weights = {t: lexical.idf(t) for t in toks}
    unknown = sum(1 for t in toks if not lexical.known(t)) / len(toks) if toks else 1.0
    # A table-of-contents entry points at the manual's text; whether the manual covers the
    # question is judged on that text (a where-question's contents entry adds no evidence).
    top = [p for p in passages if p.chunk.role != "contents"][:3]
    covs = [_coverage(weights, f"{p.chunk.section}\n{p.chunk.text}") for p in top]
    first = top[0] if top else None
    ranks = first.ranks if first is not None else {}
    return Evidence(
        {
            "cos_top1": first.dense if first is not None else 0.0,
            "cos_top3_max": max((p.dense for p in top), default=0.0),
            "coverage_top1": covs[0] if covs else 0.0,
            "coverage_top3_max": max(covs, default=0.0),
            "unknown_terms": unknown,
            "exact_in_top1": 1.0 if exact else 0.0,
            "dense_lexical_agree": 1.0
            if ranks.get("dense", 99) <= 5 and min(ranks.get("lexical", 99), ranks.get("page", 99)) <= 5
            else 0.0,
            "page_rank_top1": 1.0 / ranks["page"] if "page" in ranks else 0.0,
            # a question in the language of the passage it found: words can match word for word
            "same_language": 1.0
            if first is not None and passage_language(first.chunk.text) == query.lang
            else 0.0,
        }
    )


@dataclass
class Calibration:
    """A fitted logistic regression over ``FEATURES`` and the two outcome thresholds."""

    mean: list[float]
    scale: list[float]
    coef: list[float]
    intercept: float
    answer_at: float
    decline_below: float
    features: list[str] = field(default_factory=lambda: list(FEATURES))
    answer_at_other_language: float | None = None  # None: answer_at for every question
    fitted: dict[str, Any] = field(default_factory=dict)  # what it was fitted on and with

    def probability(self, ev: Evidence) -> float:
        x = (ev.vector() - np.array(self.mean)) / np.array(self.scale)
        z = float(x @ np.array(self.coef)) + self.intercept
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))

    def answer_level(self, ev: Evidence | None) -> float:
        if ev is None or ev.values["same_language"] or self.answer_at_other_language is None:
            return self.answer_at
        return self.answer_at_other_language

    def outcome(self, p: float, ev: Evidence | None = None) -> str:
        if p >= self.answer_level(ev):
            return "answer"
        if p >= self.decline_below or (ev is not None and not ev.values["same_language"]):
            return "low_confidence"
        return "not_in_manuals"

    @classmethod
    def neutral(cls) -> Calibration:
        """Confidence 0.5 whatever was found: what ``python -m chatbot.calibrate`` runs the app
        with while it fits the real one (so a stale or damaged file cannot stop a re-fit)."""
        n = len(FEATURES)
        return cls([0.0] * n, [1.0] * n, [0.0] * n, 0.0, answer_at=0.5, decline_below=0.0)

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(asdict(self), indent=1, sort_keys=True) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> Calibration:
        from core.errors import UserError

        try:
            d = json.loads(Path(path).read_text(encoding="utf-8"))
            cal = cls(**d)
        except (OSError, ValueError, TypeError) as exc:
            raise UserError(
                f"calibration file {path} is unreadable ({exc}); re-create it with python -m chatbot.calibrate"
            ) from exc
        if list(cal.features) != list(FEATURES) or not (
            len(cal.coef) == len(cal.mean) == len(cal.scale) == len(FEATURES)
        ):
            raise UserError(
                f"calibration file {path} was fitted on other features ({', '.join(cal.features)}); "
                "re-create it with python -m chatbot.calibrate"
            )
        return cal


def fit_logistic(
    x: np.ndarray, y: np.ndarray, l2: float = 1.0, iterations: int = 50
) -> tuple[np.ndarray, float, np.ndarray, np.ndarray]:
    """L2-regularised logistic regression by Newton's method: deterministic, numpy only.
    Returns (coef, intercept, mean, scale) for standardised features."""
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale < 1e-9] = 1.0
    z = (x - mean) / scale
    a = np.hstack([z, np.ones((len(z), 1))])
    w = np.zeros(a.shape[1])
    reg = np.full(a.shape[1], l2)
    reg[-1] = 0.0  # the intercept is not shrunk
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-np.clip(a @ w, -30, 30)))
        grad = a.T @ (p - y) + reg * w
        h = (a * (p * (1 - p))[:, None]).T @ a + np.diag(reg) + 1e-9 * np.eye(len(w))
        step = np.linalg.solve(h, grad)
        w -= step
        if np.abs(step).max() < 1e-10:
            break
    return w[:-1], float(w[-1]), mean, scale
