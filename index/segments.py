"""The approximate (HNSW) index carried from one version to the next instead of rebuilt.

Building HNSW over every vector takes about a minute at a million chunks; a one-file change
should not pay it. A version may therefore reuse the previous version's graph file as it is
(a hard link: nothing is rewritten, the previous version stays loadable) with

* ``ann_rows.npy``: for each vector of the graph, its row in this version, or -1 when that chunk
  is gone (a removed or changed file: a tombstone, skipped by the search);
* the **delta**: rows of this version that are not in the graph (new and changed files), searched
  exactly beside it and merged by score.

When tombstones and delta together pass ``index.ann_rebuild_fraction`` of the rows, the next
ingest builds a fresh graph over all rows (the compaction) and the version has no ``ann_rows.npy``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import faiss
import numpy as np

ANN_ROWS = "ann_rows.npy"


@dataclass(frozen=True)
class AnnPlan:
    """What the new version's approximate index is."""

    kind: str  # "flat" | "hnsw" | "ivf"
    ann_bytes: bytes | None = None  # a graph built now (written into the version)
    link_from: Path | None = None  # the previous version's graph, reused as it is
    ann_rows: np.ndarray | None = None  # graph id -> row of the new version, -1 for a removed chunk
    reason: str = ""  # why it was built or carried (for the log and the summary)

    @property
    def carried(self) -> bool:
        return self.link_from is not None


def carry(prev_ann_rows: np.ndarray, origin: np.ndarray) -> tuple[np.ndarray, int, int]:
    """The graph's rows in the new version.

    ``prev_ann_rows``: graph id -> row of the previous version (-1: already removed);
    ``origin``: row of the new version -> its row in the previous version (-1: a new vector).
    Returns (graph id -> new row or -1, tombstones, delta rows)."""
    n_prev = int(max(prev_ann_rows.max(initial=-1), origin.max(initial=-1))) + 1
    prev_to_new = np.full(n_prev, -1, dtype=np.int64)
    from_prev = np.flatnonzero(origin >= 0)
    prev_to_new[origin[from_prev]] = from_prev
    live = prev_ann_rows >= 0
    rows = np.full(len(prev_ann_rows), -1, dtype=np.int64)
    rows[live] = prev_to_new[prev_ann_rows[live]]
    return rows, int((rows < 0).sum()), len(delta_rows(rows, len(origin)))


def delta_rows(ann_rows: np.ndarray, n_rows: int) -> np.ndarray:
    """Rows of a version that its graph does not hold (searched exactly)."""
    in_graph = np.zeros(n_rows, dtype=bool)
    in_graph[ann_rows[ann_rows >= 0]] = True
    return np.flatnonzero(~in_graph)


class CarriedAnn:
    """Search over a reused graph (tombstones skipped) plus the exact delta, merged by score."""

    def __init__(self, graph: faiss.Index, ann_rows: np.ndarray, vectors: np.ndarray) -> None:
        self.graph = graph
        self.ann_rows = ann_rows
        self.vectors = vectors
        self.delta = delta_rows(ann_rows, len(vectors))
        dead = ann_rows < 0
        self.dead = int(dead.sum())
        self._params = None
        if self.dead:
            # a bitmap of the graph ids the search may return; kept alive as long as the selector
            self._bitmap = np.packbits(~dead, bitorder="little")
            self._selector = faiss.IDSelectorBitmap(len(ann_rows), faiss.swig_ptr(self._bitmap))
            # only HNSW graphs are carried (assemble.ann_for); the stubs lack these classes
            self._params = faiss.SearchParametersHNSW(  # type: ignore[attr-defined]
                sel=self._selector,
                efSearch=graph.hnsw.efSearch,  # type: ignore[attr-defined]
            )

    def search(self, q: np.ndarray, k: int) -> list[tuple[int, float]]:
        live = len(self.ann_rows) - self.dead
        hits: list[tuple[int, float]] = []
        if live:
            scores, ids = self.graph.search(q, min(k, live), params=self._params)
            hits = [
                (int(self.ann_rows[i]), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0
            ]
        if len(self.delta):
            ds = np.asarray(self.vectors[self.delta] @ q[0])
            top = np.argpartition(-ds, min(k, len(ds)) - 1)[:k] if len(ds) > k else np.arange(len(ds))
            hits += [(int(self.delta[i]), float(ds[i])) for i in top]
        hits.sort(key=lambda h: -h[1])
        return hits[:k]
