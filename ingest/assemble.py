"""Assembling the new index version: documents, chunks and vectors of kept, reused and processed files."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from index.search import build_ann, choose_ann, serialize_ann
from index.store import IndexStore, now_iso
from index.types import Chunk, DocumentRecord

from .plan import Plan
from .process import Processed

if TYPE_CHECKING:
    from core.settings import IndexSettings


def assemble(
    store: IndexStore, prev_version: str | None, plan: Plan, processed: list[Processed], dim: int
) -> tuple[list[DocumentRecord], Iterator[Chunk], np.ndarray]:
    """Collect chunks and vectors of the new version, ordered by source."""
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

    parts: list[tuple[DocumentRecord, list[Chunk], np.ndarray]] = []
    empty = np.zeros((0, dim), dtype=np.float32)
    for src, rec in keep.items():
        rows = prev_rows.get(src, [])
        vecs = np.asarray(prev_vectors[rows]) if prev_vectors is not None and rows else empty
        parts.append((rec, [prev_chunks[r] for r in rows], vecs))
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
        parts.append((rec, [replace(prev_chunks[r], source=src) for r in rows], vecs))
    for p in processed:
        parts.append((p.record, p.chunks, p.vectors))
    parts.sort(key=lambda t: t[0].source)
    docs = [p[0] for p in parts]
    vectors = np.concatenate([p[2].reshape(-1, dim) for p in parts]) if parts else empty
    chunks = (c for p in parts for c in p[1])
    return docs, chunks, vectors.astype(np.float32, copy=False)


def ann_for(vectors: np.ndarray, settings: IndexSettings) -> tuple[str, bytes | None]:
    """The FAISS index type for this many vectors, and the built index (None for exact search)."""
    ann_kind = choose_ann(len(vectors), settings.ann, settings.ann_threshold)
    ann_bytes = serialize_ann(build_ann(vectors, ann_kind)) if ann_kind != "flat" and len(vectors) else None
    return ann_kind, ann_bytes
