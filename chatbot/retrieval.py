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
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from core.errors import UserError
from core.grammar import topic_of
from core.settings import RetrievalSettings
from index import IndexStore, LoadedIndex, open_index
from index.embeddings import Embedder
from index.types import Chunk

from .equipment import sources_for
from .lexical import LexicalIndex, TokenMemo, tokenize
from .lexical_segments import SegmentedLexical, carry_lexical
from .query import Query
from .ranking import code_rows_first, one_per_page, ranked, rrf, without_rows
from .text_indexes import PageIndex, chunk_lexical

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
    qvec: np.ndarray | None = None  # the question's dense vector (the quote ranks units with it)

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
    lexical: LexicalIndex | SegmentedLexical
    pages: PageIndex
    keys: list[tuple[str, str]] = field(default_factory=list)  # (source, chunk id) of each row
    ml_vectors: np.ndarray | None = None  # cross-lingual vectors (same rows), when built
    ml_usable: np.ndarray | None = None  # rows the cross-lingual channel may return (index.multilingual)
    # table-of-contents rows (chunk role "contents"), as an array and as a set
    contents: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    contents_set: frozenset[int] = frozenset()


class IndexHandle:
    """Holds the live index version and swaps to a newer one when ingest commits it."""

    def __init__(
        self,
        path: str | Path,
        expected_model: str | None,
        expected_dim: int | None,
        check_seconds: float = 2.0,
        on_load: Callable[[IndexState], None] | None = None,
        carry_fraction: float = 0.1,
    ) -> None:
        self.path = Path(path)
        self.expected_model, self.expected_dim = expected_model, expected_dim
        self.check_seconds = check_seconds
        self.on_load = on_load
        self.carry_fraction = carry_fraction  # BM25 carried until this share of the rows changed
        self._lock = threading.Lock()
        self._state: IndexState | None = None
        self._memo: TokenMemo | None = None  # the tokens of the loaded version's text
        self._checked = 0.0
        self.rejected: tuple[str, str] | None = None  # (version, why) of a version that cannot be served

    def _load(self) -> IndexState:
        t0 = time.perf_counter()
        before = self._state.index if self._state is not None else None
        idx = open_index(self.path, self.expected_model, self.expected_dim, loaded=before)
        memo = TokenMemo(self._memo)  # only text the version before did not hold is tokenized
        # BM25 of the version before is carried where its rows are unchanged (lexical_segments)
        prev = self._state
        if prev is not None and prev.index.meta.chunker != idx.meta.chunker:
            prev = None  # the same file cut differently: nothing to carry
        keys = [(c.source, c.chunk_id) for c in idx.chunks]
        lexical = carry_lexical(
            prev.lexical if prev is not None else None,
            prev.keys if prev is not None else None,
            keys,
            lambda rows: chunk_lexical([idx.chunks[r] for r in rows], memo),
            self.carry_fraction,
        )
        pages = PageIndex(idx.chunks, memo, prev.pages if prev is not None else None, self.carry_fraction)
        toc = [r for r, c in enumerate(idx.chunks) if c.role == "contents"]
        state = IndexState(
            idx,
            lexical,
            pages,
            keys=keys,
            contents=np.asarray(toc, dtype=np.int64),
            contents_set=frozenset(toc),
        )
        carried = isinstance(lexical, SegmentedLexical) or isinstance(pages.lexical, SegmentedLexical)
        memo.done(keep_previous=carried)
        self._memo = memo
        if self.on_load is not None:
            self.on_load(state)
        log.info(
            "loaded index",
            extra={
                "version": idx.version,
                "chunks": len(idx.chunks),
                "lexical": "carried" if isinstance(lexical, SegmentedLexical) else "built",
                "seconds": round(time.perf_counter() - t0, 3),
            },
        )
        return state

    def get(self) -> IndexState:
        now = time.monotonic()
        state = self._state
        if state is not None and now - self._checked < self.check_seconds:
            return state
        # One request loads a new version; the others keep being answered from the old one meanwhile
        # instead of queueing behind the load (seconds on a large index).
        if not self._lock.acquire(blocking=state is None):
            return state  # type: ignore[return-value]  # not None: blocking when it is
        try:
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
        finally:
            self._lock.release()


@dataclass
class Channels:
    """Every ranking of one question before fusion (what ``retrieve`` fuses, and what
    ``python -m chatbot.calibrate`` fits the fusion weights on)."""

    rankings: dict[str, dict[int, int]]  # channel -> row -> 1-based rank
    cos: dict[int, float]  # dense cosine of the candidate rows
    qvec: np.ndarray
    timings: dict[str, float]


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
        """Rows of the documents the search is limited to (None: every document). An equipment tag no
        manual carries raises UnknownEquipment (never widened to every manual)."""
        docs = state.index.documents
        names = [d.source for d in docs]
        chosen: set[str] | None = None
        if sources:
            chosen = {n for n in names if any(fnmatch.fnmatchcase(n, p) for p in sources)}
        if equipment:
            of_machine = set(sources_for(equipment, docs, self.settings.equipment))
            chosen = of_machine if chosen is None else chosen & of_machine
        if chosen is None:
            return None
        return state.index.rows_for_sources(sorted(chosen))

    def prepare(self, query: Query) -> Query:
        """A question in another language gets an English dictionary rendering (unless a served model
        already gave one), so English pages match its words too."""
        if query.lang == "en" or query.english or not self.settings.translate_with_dictionary:
            return query
        from .dictionary import to_english

        lexical = self.handle.get().lexical

        def used_in_manuals(gloss: str) -> bool:
            toks = tokenize(gloss)
            return bool(toks) and all(lexical.known(t) for t in toks)

        try:
            english = to_english(query.standalone, query.lang, self.settings.dictionary_dir, used_in_manuals)
        except Exception:  # a damaged dictionary file costs the rendering, never the question
            log.exception("dictionary rendering failed for a %s question", query.lang)
            return query
        return query.with_english(english) if english else query

    def weights(self) -> dict[str, float]:
        s = self.settings
        return {
            "dense": s.dense_weight,
            "lexical": s.lexical_weight,
            "page": s.page_weight,
            "multilingual": s.multilingual_weight if self.ml_embedder is not None else 0.0,  # channel off: 0
            "phrase": s.phrase_weight,
            "code_row": s.code_row_weight,
            "contents": s.contents_weight,
            "rrf_k": s.rrf_k,  # not a channel: the fusion constant, fitted with the weights
        }

    def channels(self, state: IndexState, query: Query, rows: np.ndarray | None = None) -> Channels:
        """Each ranking of the candidates for ``query`` (limited to ``rows``)."""
        idx = state.index
        text = query.search_text
        n = self.settings.candidates
        timings: dict[str, float] = {}
        t = time.perf_counter()
        qvec = self.embedder.embed_query(text)
        dense = idx.search(qvec, n, rows)
        timings["dense_ms"] = (time.perf_counter() - t) * 1000
        t = time.perf_counter()
        if query.where:  # "on which page is … described": the words match every page, not the topic
            text = topic_of(text)
        lexical = state.lexical.search(text, n, rows)
        rankings = {"dense": ranked([r for r, _ in dense]), "lexical": ranked([r for r, _ in lexical])}
        rankings["page"] = state.pages.ranks(text, max(5, n // 3), rows)
        timings["lexical_ms"] = (time.perf_counter() - t) * 1000
        phrase = state.lexical.phrase_rows(query.phrases, text, rows)[:n]
        if phrase:  # text the question quotes, found verbatim (a pasted error message)
            rankings["phrase"] = ranked(phrase)
        code_rows = state.lexical.code_rows(query.codes, text, rows)[:n]
        if code_rows:  # a row that begins with the fault code / parameter the question names
            rankings["code_row"] = ranked(code_rows)
        if query.lang != "en" and self.ml_embedder is not None and state.ml_vectors is not None:
            t = time.perf_counter()
            mq = self.ml_embedder.embed_query(text)
            base = np.arange(len(state.ml_vectors)) if rows is None else rows
            if state.ml_usable is not None:
                base = base[state.ml_usable[base]]
            sc = state.ml_vectors[base] @ mq
            top = np.argsort(-sc)[:n]
            rankings["multilingual"] = ranked([int(base[i]) for i in top])
            timings["multilingual_ms"] = (time.perf_counter() - t) * 1000
        if len(state.contents):
            toc = state.contents if rows is None else np.intersect1d(state.contents, rows)
            if query.where and len(toc):  # "which page covers …?": the table of contents answers
                rankings["contents"] = ranked([r for r, _ in state.lexical.search(text, n, toc)])
            elif not query.where:  # any other question: contents entries are no answer
                out = state.contents_set
                rankings = {nm: without_rows(m, out) for nm, m in rankings.items()}
                dense = [(r, c) for r, c in dense if r not in out]
        return Channels(rankings, {r: c for r, c in dense}, qvec, timings)

    def fuse(
        self,
        state: IndexState,
        ch: Channels,
        k: int,
        weights: dict[str, float] | None = None,
        text: str = "",
        timings: dict[str, float] | None = None,
    ) -> list[Passage]:
        """The best ``k`` passages of the fused channels (the reranker, if any, re-orders the head)."""
        s = self.settings
        idx = state.index
        rankings = ch.rankings
        weights = weights or self.weights()
        fused = rrf(rankings, weights, int(weights.get("rrf_k", s.rrf_k)))
        order = sorted(fused, key=lambda r: (-fused[r], r))
        if self.reranker is not None and order and text:
            t = time.perf_counter()
            head = order[: s.rerank_top]
            scores = self.reranker.predict([(text, idx.chunks[r].text) for r in head])
            head = [r for _, r in sorted(zip(scores, head, strict=True), key=lambda x: -x[0])]
            order = head + order[s.rerank_top :]
            if timings is not None:
                timings["rerank_ms"] = (time.perf_counter() - t) * 1000
        if "code_row" in rankings:
            code_rows = {r: v for r, v in rankings["code_row"].items() if r in fused}  # weight 0: none
            order = code_rows_first(order, code_rows, idx.chunks)
        if s.one_per_page:
            order = one_per_page(order, idx.chunks, k)
        cos = dict(ch.cos)
        need = [r for r in order[:k] if r not in cos]
        if need:  # cosine for passages found only lexically (a confidence feature)
            sims = np.asarray(idx.vectors[need]) @ ch.qvec
            cos.update({r: float(v) for r, v in zip(need, sims, strict=True)})
        return [
            Passage(r, idx.chunks[r], fused[r], cos[r], {nm: m[r] for nm, m in rankings.items() if r in m})
            for r in order[:k]
        ]

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
        t_translate = time.perf_counter()
        query = self.prepare(query)
        s = self.settings
        k = k or s.k
        timings: dict[str, float] = {"translate_ms": (time.perf_counter() - t_translate) * 1000}
        t0 = t_translate
        state = self.handle.get()
        idx = state.index
        rows = self.rows_for(state, sources, equipment or query.equipment)
        text = query.search_text
        ch = self.channels(state, query, rows)
        timings.update(ch.timings)
        passages = self.fuse(state, ch, k, text=text, timings=timings)
        if query.in_context:
            # A short question in a conversation: searched alone and with the conversation's context,
            # the two lists fused by rank (a new topic wins alone, the same machine wins in context).
            alt = self.prepare(replace(query, standalone=query.in_context, in_context="", english=""))
            other = self.fuse(state, self.channels(state, alt, rows), k, text=alt.search_text)
            passages = _fuse_lists([passages, other], k, self.settings.rrf_k)
        timings["total_ms"] = (time.perf_counter() - t0) * 1000
        return RetrievalResult(query, passages, timings, idx.version, ch.qvec)


def _fuse_lists(lists: Sequence[Sequence[Passage]], k: int, rrf_k: int) -> list[Passage]:
    """Passage lists of the same question asked two ways, fused by rank (the first list's passage
    object is kept where both found it)."""
    scores = rrf({str(i): ranked([p.row for p in ps]) for i, ps in enumerate(lists)}, {}, k=rrf_k)
    by_row: dict[int, Passage] = {}
    for ps in reversed(lists):
        by_row.update({p.row: p for p in ps})
    order = sorted(scores, key=lambda r: -scores[r])[:k]
    return [by_row[r] for r in order]
