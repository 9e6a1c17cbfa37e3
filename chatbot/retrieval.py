"""Hybrid retrieval: dense FAISS + BM25 (+ cross-lingual dense for non-English questions), fused.

Reciprocal-rank fusion (RRF) combines the rankings; an optional cross-encoder reranks the
fused top. Results are structured ``Passage`` objects (chunk + scores), never text.
The live index is re-read when ingest swaps in a new version (``IndexHandle``).
"""

from __future__ import annotations

import fnmatch
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from core.errors import UserError
from core.settings import RetrievalSettings
from index import IndexStore, LoadedIndex, open_index
from index.embeddings import Embedder
from index.types import Chunk

from .lexical import LexicalIndex
from .query import Query

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk with how it was found."""

    row: int
    chunk: Chunk
    score: float  # fused score (higher is better)
    dense: float  # cosine similarity of the question to the chunk (English model)
    ranks: dict[str, int] = field(default_factory=dict)  # retriever -> 1-based rank

    def to_dict(self) -> dict[str, Any]:
        c = self.chunk
        return {
            "chunk_id": c.chunk_id,
            "source": c.source,
            "title": c.title,
            "page": c.page_start,
            "page_label": c.page_label,
            "section": c.section,
            "text": c.text,
            "score": round(self.score, 5),
            "dense": round(self.dense, 4),
            "ranks": self.ranks,
        }


@dataclass
class RetrievalResult:
    query: Query
    passages: list[Passage]
    timings: dict[str, float]
    index_version: str

    @property
    def lang(self) -> str:
        return self.query.lang

    @property
    def top_dense(self) -> float:
        return max((p.dense for p in self.passages), default=0.0)


@dataclass
class IndexState:
    """One index version with everything derived from it for retrieval."""

    index: LoadedIndex
    lexical: LexicalIndex
    ml_vectors: np.ndarray | None = None  # cross-lingual vectors (same rows), when built


class IndexHandle:
    """Holds the live index version and swaps to a newer one when ingest commits it."""

    def __init__(
        self,
        path: str | Path,
        expected_model: str | None,
        expected_dim: int | None,
        check_seconds: float = 2.0,
        on_load: Callable[[IndexState], None] | None = None,
    ) -> None:
        self.path = Path(path)
        self.expected_model, self.expected_dim = expected_model, expected_dim
        self.check_seconds = check_seconds
        self.on_load = on_load
        self._lock = threading.Lock()
        self._state: IndexState | None = None
        self._checked = 0.0
        self.rejected: tuple[str, str] | None = None  # (version, why) of a version that cannot be served

    def _load(self) -> IndexState:
        t0 = time.perf_counter()
        idx = open_index(self.path, self.expected_model, self.expected_dim)
        state = IndexState(idx, LexicalIndex([lexical_text(c) for c in idx.chunks]))
        if self.on_load is not None:
            self.on_load(state)
        log.info(
            "loaded index",
            extra={
                "version": idx.version,
                "chunks": len(idx.chunks),
                "seconds": round(time.perf_counter() - t0, 3),
            },
        )
        return state

    def get(self) -> IndexState:
        now = time.monotonic()
        state = self._state
        if state is not None and now - self._checked < self.check_seconds:
            return state
        with self._lock:
            self._checked = now
            current = IndexStore(self.path).current_version()
            if self._state is None:
                self._state = self._load()  # at start-up a bad index is the caller's error
            elif (
                current is not None
                and current != self._state.index.version
                and (self.rejected is None or self.rejected[0] != current)
            ):
                try:
                    self._state = self._load()  # the old state serves requests until this returns
                    self.rejected = None
                except UserError as exc:
                    # Refused once, logged once; the version already loaded keeps serving.
                    self.rejected = (current, str(exc))
                    log.error(
                        "new index version refused; still serving %s: %s",
                        self._state.index.version,
                        exc,
                        extra={"refused": current},
                    )
            return self._state


def lexical_text(c: Chunk) -> str:
    return f"{c.title}\n{c.section}\n{c.text}"


def rrf(rankings: dict[str, list[int]], weights: dict[str, float], k: int = 60) -> dict[int, float]:
    scores: dict[int, float] = {}
    for name, rows in rankings.items():
        w = weights.get(name, 1.0)
        for rank, row in enumerate(rows, 1):
            scores[row] = scores.get(row, 0.0) + w / (k + rank)
    return scores


class Retriever:
    """Hybrid retrieval over the live index. Thread-safe; one per application."""

    def __init__(
        self,
        handle: IndexHandle,
        embedder: Embedder,
        settings: RetrievalSettings,
        ml_embedder: Embedder | None = None,
        reranker: Any | None = None,
    ) -> None:
        self.handle = handle
        self.embedder = embedder
        self.settings = settings
        self.ml_embedder = ml_embedder
        self.reranker = reranker

    def rows_for(
        self, state: IndexState, sources: Sequence[str] | None, equipment: str | None
    ) -> np.ndarray | None:
        patterns: list[str] = list(sources or [])
        if equipment:
            mapped = self.settings.equipment.get(equipment)
            if mapped is None:
                raise UserError(
                    f"unknown equipment tag {equipment!r}; known: {', '.join(sorted(self.settings.equipment)) or 'none'}"
                )
            patterns += mapped
        if not patterns:
            return None
        names = [d.source for d in state.index.documents]
        chosen = [n for n in names if any(fnmatch.fnmatchcase(n, p) for p in patterns)]
        return state.index.rows_for_sources(chosen)

    def retrieve(
        self,
        query: Query | str,
        k: int | None = None,
        sources: Sequence[str] | None = None,
        equipment: str | None = None,
    ) -> RetrievalResult:
        """The best ``k`` passages for a question (a ``Query``, or plain text parsed as one);
        ``sources`` (file patterns) and the query's or the given ``equipment`` tag limit the search."""
        if isinstance(query, str):
            query = Query.parse(query, equipment=equipment)
        s = self.settings
        k = k or s.k
        timings: dict[str, float] = {}
        t0 = time.perf_counter()
        state = self.handle.get()
        idx = state.index
        rows = self.rows_for(state, sources, equipment or query.equipment)
        text = query.search_text
        n = s.candidates

        t = time.perf_counter()
        qvec = self.embedder.embed_query(text)
        dense = idx.search(qvec, n, rows)
        timings["dense_ms"] = (time.perf_counter() - t) * 1000
        t = time.perf_counter()
        lexical = state.lexical.search(text, n, rows)
        timings["lexical_ms"] = (time.perf_counter() - t) * 1000
        rankings = {"dense": [r for r, _ in dense], "lexical": [r for r, _ in lexical]}
        phrase = state.lexical.phrase_rows(query.phrases, text, rows)[:n]
        if phrase:  # text the question quotes, found verbatim (a pasted error message)
            rankings["phrase"] = phrase
        code_rows = state.lexical.code_rows(query.codes, text, rows)[:n]
        if code_rows:  # a row that begins with the fault code / parameter the question names
            rankings["code_row"] = code_rows
        weights = {
            "dense": s.dense_weight,
            "lexical": s.lexical_weight,
            "multilingual": s.multilingual_weight,
            "phrase": s.phrase_weight,
            "code_row": s.code_row_weight,
        }
        if query.lang != "en" and self.ml_embedder is not None and state.ml_vectors is not None:
            t = time.perf_counter()
            mq = self.ml_embedder.embed_query(text)
            mv = state.ml_vectors if rows is None else state.ml_vectors[rows]
            sc = mv @ mq
            top = np.argsort(-sc)[:n]
            base = np.arange(len(state.ml_vectors)) if rows is None else rows
            rankings["multilingual"] = [int(base[i]) for i in top]
            timings["multilingual_ms"] = (time.perf_counter() - t) * 1000
        fused = rrf(rankings, weights, s.rrf_k)
        order = sorted(fused, key=lambda r: -fused[r])
        if self.reranker is not None and order:
            t = time.perf_counter()
            head = order[: s.rerank_top]
            scores = self.reranker.predict([(text, idx.chunks[r].text) for r in head])
            head = [r for _, r in sorted(zip(scores, head, strict=True), key=lambda x: -x[0])]
            order = head + order[s.rerank_top :]
            timings["rerank_ms"] = (time.perf_counter() - t) * 1000
        cos = {r: c for r, c in dense}
        need = [r for r in order[:k] if r not in cos]
        if need:  # cosine for passages found only lexically (used by the abstain decision)
            sims = np.asarray(idx.vectors[need]) @ qvec
            cos.update({r: float(v) for r, v in zip(need, sims, strict=True)})
        rank_of = {name: {r: i for i, r in enumerate(rs, 1)} for name, rs in rankings.items()}
        passages = [
            Passage(r, idx.chunks[r], fused[r], cos[r], {nm: m[r] for nm, m in rank_of.items() if r in m})
            for r in order[:k]
        ]
        timings["total_ms"] = (time.perf_counter() - t0) * 1000
        return RetrievalResult(query, passages, timings, idx.version)
