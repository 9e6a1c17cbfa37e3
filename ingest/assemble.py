"""Assembling the new index version: documents, chunks and vectors of kept, reused and processed files."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from index.search import build_ann, choose_ann, serialize_ann
from index.segments import AnnPlan, carry
from index.store import IndexStore, now_iso
from index.types import Chunk, DocumentRecord

from .plan import Plan
from .process import Processed

if TYPE_CHECKING:
    from core.settings import IndexSettings


def assemble(
    store: IndexStore, prev_version: str | None, plan: Plan, processed: list[Processed], dim: int
) -> tuple[list[DocumentRecord], Iterator[Chunk], np.ndarray, np.ndarray]:
    """Collect chunks and vectors of the new version, ordered by source; and each new row's row in
    the previous version (-1: a vector embedded by this run)."""
    keep, reuse = plan.keep, plan.reuse
    prev_rows: dict[str, list[int]] = {}
    prev_chunks: list[Chunk] = []
    prev_vectors: np.ndarray | None = None
    wanted = set(keep) | {d.source for _, d in reuse.values()}
    if prev_version is not None and wanted:
        prev_chunks = store.read_chunks(prev_version)
        prev_vectors = store.read_vectors(prev_version, mmap=True)
        for row, c in enumerate(prev_chunks):
            if c.source in wanted:
                prev_rows.setdefault(c.source, []).append(row)

    parts: list[tuple[DocumentRecord, list[Chunk], np.ndarray, list[int]]] = []
    empty = np.zeros((0, dim), dtype=np.float32)
    for src, rec in keep.items():
        rows = prev_rows.get(src, [])
        vecs = np.asarray(prev_vectors[rows]) if prev_vectors is not None and rows else empty
        parts.append((rec, [prev_chunks[r] for r in rows], vecs, rows))
    for src, (entry, old) in reuse.items():
        rows = prev_rows.get(old.source, [])
        vecs = np.asarray(prev_vectors[rows]) if prev_vectors is not None and rows else empty
        rec = replace(
            old,
            source=src,
            root=str(entry.root),
            size=entry.size,
            ingested_at=now_iso(),
            equipment=list(entry.equipment),
        )
        parts.append((rec, [replace(prev_chunks[r], source=src) for r in rows], vecs, rows))
    for p in processed:
        parts.append((p.record, p.chunks, p.vectors, [-1] * len(p.chunks)))
    parts.sort(key=lambda t: t[0].source)
    docs = [p[0] for p in parts]
    vectors = np.concatenate([p[2].reshape(-1, dim) for p in parts]) if parts else empty
    chunks = (c for p in parts for c in p[1])
    origin = np.fromiter((r for p in parts for r in p[3]), dtype=np.int64)
    return docs, chunks, vectors.astype(np.float32, copy=False), origin


def ann_for(
    vectors: np.ndarray,
    settings: IndexSettings,
    store: IndexStore | None = None,
    prev_version: str | None = None,
    origin: np.ndarray | None = None,
) -> AnnPlan:
    """The new version's approximate index: none (exact search), the previous version's graph carried
    with tombstones and an exact delta (index/segments.py), or a graph built now."""
    kind = choose_ann(len(vectors), settings.ann, settings.ann_threshold)
    if kind == "flat" or not len(vectors):
        return AnnPlan(kind)
    reason = "no previous graph"
    if store is not None and prev_version is not None and origin is not None and kind == "hnsw":
        prev_file = store.ann_path(prev_version)
        prev_meta = store.read_meta(prev_version)
        if prev_file.exists() and prev_meta.ann == "hnsw":
            prev_rows = store.read_ann_rows(prev_version)
            if prev_rows is None:  # a graph built over every row of the previous version
                prev_rows = np.arange(prev_meta.chunk_count, dtype=np.int64)
            rows, dead, delta = carry(prev_rows, origin)
            if dead + delta <= settings.ann_rebuild_fraction * len(vectors):
                return AnnPlan(
                    kind,
                    link_from=prev_file,
                    ann_rows=rows,
                    reason=f"{dead} tombstones, {delta} rows beside it",
                )
            reason = f"{dead} tombstones + {delta} rows beside it > {settings.ann_rebuild_fraction:.0%} of {len(vectors)}"
    return AnnPlan(kind, ann_bytes=serialize_ann(build_ann(vectors, kind)), reason=reason)
