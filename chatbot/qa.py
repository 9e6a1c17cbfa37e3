"""QA files and retrieval metrics, shared by ``python -m chatbot.eval`` and the benchmarks.

A retrieved passage is a *hit* when its source equals the question's ``source`` and one of
its pages is in ``pages`` (a passage spanning pages counts if any page matches). For
non-paged files (Markdown, HTML, text) ``pages`` is empty and the source alone decides.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Question:
    id: str
    question: str
    answer: str
    source: str
    pages: tuple[int, ...]
    must_contain: tuple[str, ...]
    answerable: bool
    kind: str
    lang: str


@dataclass(frozen=True)
class Retrieved:
    source: str
    pages: tuple[int, ...]  # empty for non-paged files


@dataclass
class LoadReport:
    questions: list[Question]
    errors: list[str] = field(default_factory=list)


def load_qa(path: str | Path) -> LoadReport:
    """Read a QA JSON Lines file; malformed lines are reported with their line number and skipped."""
    out: list[Question] = []
    errors: list[str] = []
    for n, d in read_objects(path, errors):
        try:
            out.append(_question(d, str(d.get("id") or f"line-{n}")))
        except (ValueError, TypeError) as exc:
            errors.append(f"{path}:{n}: skipped malformed line ({exc})")
    return LoadReport(out, errors)


def load_conversations(path: str | Path) -> LoadReport:
    """Read a conversations file: one JSON object per line, ``{"id": ..., "turns": [{question, source,
    pages, must_contain, answerable, lang}, ...]}``. Each turn becomes a Question with id
    ``<conversation id>/<turn number>`` (1-based) and kind ``first turn`` or ``follow-up`` (unless the
    turn names its own kind); a malformed conversation is reported and skipped whole."""
    out: list[Question] = []
    errors: list[str] = []
    for n, d in read_objects(path, errors):
        try:
            conv = _required_str(d, "id")
            turns = d.get("turns")
            if not isinstance(turns, list) or not turns:
                raise ValueError("'turns' must be a non-empty list")
            qs = []
            for i, t in enumerate(turns, 1):
                if not isinstance(t, dict):
                    raise ValueError(f"turn {i} is not a JSON object")
                kind = "first turn" if i == 1 else "follow-up"
                if not bool(t.get("answerable", bool(t.get("source")))):
                    kind = "unanswerable"
                qs.append(_question({"kind": kind, **t}, f"{conv}/{i}"))
            out.extend(qs)
        except (ValueError, TypeError) as exc:
            errors.append(f"{path}:{n}: skipped malformed conversation ({exc})")
    return LoadReport(out, errors)


def conversation_of(question_id: str) -> str:
    """The conversation a turn belongs to ("conv-7/3" -> "conv-7"); "" for a lone question."""
    return question_id.rsplit("/", 1)[0] if "/" in question_id else ""


def read_objects(path: str | Path, errors: list[str]) -> Iterable[tuple[int, dict[str, Any]]]:
    with open(path, encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                d = json.loads(line)
            except ValueError as exc:
                errors.append(f"{path}:{n}: skipped malformed line ({exc})")
                continue
            if not isinstance(d, dict):
                errors.append(f"{path}:{n}: skipped malformed line (not a JSON object)")
                continue
            yield n, d


def _question(d: dict[str, Any], qid: str) -> Question:
    answerable = bool(d.get("answerable", bool(d.get("source"))))
    q = Question(
        id=qid,
        question=_required_str(d, "question"),
        answer=str(d.get("answer", "")),
        source=str(d.get("source") or ""),
        pages=tuple(int(p) for p in d.get("pages") or ()),
        must_contain=tuple(str(s) for s in d.get("must_contain") or ()),
        answerable=answerable,
        kind=str(d.get("kind") or ("unanswerable" if not answerable else "other")),
        lang=str(d.get("lang") or "en"),
    )
    if q.answerable and not q.source:
        raise ValueError("answerable question without 'source'")
    return q


def _required_str(d: dict[str, Any], key: str) -> str:
    v = d.get(key)
    if not isinstance(v, str) or not v.strip():
        raise ValueError(f"missing '{key}'")
    return v


def is_hit(q: Question, r: Retrieved) -> bool:
    if r.source != q.source:
        return False
    if not q.pages or not r.pages:
        return not q.pages
    return any(p in q.pages for p in r.pages)


def first_hit_rank(q: Question, results: Sequence[Retrieved]) -> int | None:
    """1-based rank of the first hit, or None."""
    for i, r in enumerate(results, 1):
        if is_hit(q, r):
            return i
    return None


@dataclass
class RetrievalScores:
    n: int
    hit_at_1: float
    hit_at_k: float
    mrr: float


def score(ranks: Iterable[int | None], k: int) -> RetrievalScores:
    ranks = list(ranks)
    n = len(ranks)
    if not n:
        return RetrievalScores(0, 0.0, 0.0, 0.0)
    h1 = sum(1 for r in ranks if r == 1) / n
    hk = sum(1 for r in ranks if r is not None and r <= k) / n
    mrr = sum(1.0 / r for r in ranks if r is not None and r <= k) / n
    return RetrievalScores(n, h1, hk, mrr)


def grouped(
    questions: Sequence[Question], ranks: Sequence[int | None], k: int, attr: str
) -> dict[str, dict[str, float]]:
    groups: dict[str, list[int | None]] = defaultdict(list)
    for q, r in zip(questions, ranks, strict=True):
        groups[getattr(q, attr)].append(r)
    return {
        key: {"n": s.n, "hit_at_1": s.hit_at_1, "hit_at_k": s.hit_at_k, "mrr": s.mrr}
        for key, s in ((key, score(v, k)) for key, v in sorted(groups.items()))
    }


def split_of(question_id: str) -> str:
    """The stable half a question belongs to: ``tune`` (fit on it) or ``check`` (report on it).
    A hash of the id, so adding questions never moves the others; the turns of a conversation
    go to the half of their conversation."""
    import hashlib

    question_id = conversation_of(question_id) or question_id
    return "tune" if hashlib.blake2b(question_id.encode(), digest_size=8).digest()[0] % 2 == 0 else "check"
