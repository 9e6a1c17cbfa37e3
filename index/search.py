"""Loading an index version and dense search over it.

Used by the chatbot; imports nothing from the ingest package.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import faiss
import numpy as np

from .errors import IndexCorruptError, IndexMismatchError
from .segments import ANN_ROWS, CarriedAnn
from .store import IndexStore
from .types import Chunk, DocumentRecord, IndexMeta

log = logging.getLogger(__name__)

HNSW_M = 32
HNSW_EF_SEARCH = 96


def choose_ann(n: int, kind: str = "auto", threshold: int = 200_000) -> str:
    if kind != "auto":
        return kind
    return "flat" if n < threshold else "hnsw"


def build_ann(vectors: np.ndarray, kind: str) -> faiss.Index:
    """Build a FAISS index for inner-product search over normalised vectors."""
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    n, dim = vectors.shape
    index: faiss.Index
    if kind == "flat":
        index = faiss.IndexFlatIP(dim)
    elif kind == "hnsw":
        index = faiss.IndexHNSWFlat(dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = 80
        index.hnsw.efSearch = HNSW_EF_SEARCH
    elif kind == "ivf":
        nlist = max(1, int(4 * math.sqrt(n)))
        quantizer = faiss.IndexFlatIP(dim)
        index = faiss.IndexIVFFlat(quantizer, dim, nlist, faiss.METRIC_INNER_PRODUCT)
        train = (
            vectors
            if n <= 50 * nlist
            else vectors[np.random.default_rng(0).choice(n, 50 * nlist, replace=False)]
        )
        index.train(train)
        index.nprobe = min(nlist, 32)
    else:
        raise ValueError(f"unknown ann type {kind!r}")
    if n:
        index.add(vectors)
    return index


def serialize_ann(index: faiss.Index) -> bytes:
    return bytes(faiss.serialize_index(index))


@dataclass
class LoadedIndex:
    """One immutable index version in memory."""

    path: Path
    meta: IndexMeta
    documents: list[DocumentRecord]
    chunks: list[Chunk]
    vectors: np.ndarray
    ann: faiss.Index
    carried: CarriedAnn | None = None  # a graph carried from an older version, with its exact delta
    ann_file: tuple[int, int] | None = None  # (device, inode) of the graph file read, when one was
    _rows_by_source: dict[str, np.ndarray] = field(default_factory=dict, repr=False)

    @property
    def version(self) -> str:
        return self.meta.version

    def rows_for_sources(self, sources: Sequence[str]) -> np.ndarray:
        if not self._rows_by_source:
            by: dict[str, list[int]] = {}
            for i, c in enumerate(self.chunks):
                by.setdefault(c.source, []).append(i)
            self._rows_by_source = {k: np.asarray(v, dtype=np.int64) for k, v in by.items()}
        parts = [self._rows_by_source[s] for s in sources if s in self._rows_by_source]
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)

    def search(self, query: np.ndarray, k: int, rows: np.ndarray | None = None) -> list[tuple[int, float]]:
        """Top-k (row, cosine) for one normalised query vector, optionally within ``rows``."""
        if not len(self.chunks) or k <= 0:
            return []
        q = np.ascontiguousarray(query, dtype=np.float32).reshape(1, -1)
        if rows is not None:
            if not len(rows):
                return []
            scores = np.asarray(self.vectors[rows] @ q[0])
            top = np.argsort(-scores)[:k]
            return [(int(rows[i]), float(scores[i])) for i in top]
        k = min(k, len(self.chunks))
        if self.carried is not None:
            return self.carried.search(q, k)
        scores, ids = self.ann.search(q, k)
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0]


def open_index(
    path: str | Path,
    expected_model: str | None = None,
    expected_dim: int | None = None,
    version: str | None = None,
    loaded: LoadedIndex | None = None,
) -> LoadedIndex:
    """Load the live version (or ``version``), checking it matches the configured model. A graph
    file that ``loaded`` (the version a replica serves) already read, carried by hard link into the
    new version, is taken from it instead of being read again (seconds at a million chunks)."""
    store = IndexStore(path)
    # A writer may garbage-collect an old version between reading CURRENT and opening it; retry.
    for attempt in range(3):
        v = version or store.current_version()
        try:
            meta = store.read_meta(v)
            check_compatible(meta, path, expected_model, expected_dim)
            documents = store.read_documents(v)
            chunks = store.read_chunks(v)
            vectors = store.read_vectors(v, mmap=False)
            ann_file = store.ann_path(v)
            ann_rows = store.read_ann_rows(v)
            break
        except IndexCorruptError:
            if version is not None or attempt == 2 or store.current_version() == v:
                raise
    if len(chunks) != len(vectors) or (len(vectors) and vectors.shape[1] != meta.dim):
        raise IndexCorruptError(
            f"index {path} version {meta.version}: {len(chunks)} chunks but vectors of shape {vectors.shape}"
        )
    file_id = None
    if ann_file.exists():
        st = ann_file.stat()
        file_id = (st.st_dev, st.st_ino)
        if loaded is not None and loaded.ann_file == file_id:
            ann = loaded.ann  # the same graph file: searches only read it, so it can be shared
        else:
            ann = faiss.read_index(str(ann_file))
        if isinstance(ann, faiss.IndexHNSW):
            ann.hnsw.efSearch = HNSW_EF_SEARCH
    else:
        ann = build_ann(vectors, "flat") if len(vectors) else faiss.IndexFlatIP(meta.dim)
    carried = None
    if ann_file.exists() and ann_rows is not None:
        if ann.ntotal != len(ann_rows) or ann_rows.max(initial=-1) >= len(vectors):
            raise IndexCorruptError(
                f"index {path} version {meta.version}: the carried graph holds {ann.ntotal} vectors but "
                f"{ANN_ROWS} maps {len(ann_rows)}; re-run ingest with --rebuild"
            )
        carried = CarriedAnn(ann, ann_rows, vectors)
    return LoadedIndex(Path(path), meta, documents, chunks, vectors, ann, carried, file_id)


def check_compatible(
    meta: IndexMeta, path: str | Path, expected_model: str | None, expected_dim: int | None
) -> None:
    if expected_model is not None and meta.embedding_model != expected_model:
        raise IndexMismatchError(
            f"index {path} was built with embedding model {meta.embedding_model!r} ({meta.dim}-d) but the "
            f"settings ask for {expected_model!r}. Set OPASSIST_EMBEDDING__MODEL={meta.embedding_model!r} "
            "to use this index, or rebuild it with `python ingest.py <folder> --rebuild`."
        )
    if expected_dim is not None and meta.dim != expected_dim:
        raise IndexMismatchError(
            f"index {path} holds {meta.dim}-d vectors but the embedding model produces {expected_dim}-d"
        )
    if not meta.normalized or meta.metric != "cosine":
        raise IndexMismatchError(f"index {path} uses metric {meta.metric!r}; this version expects cosine")
