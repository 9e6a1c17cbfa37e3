"""The embedding kernels ingest could use, side by side on the same chunk texts (issue 15's levers).

    python bench/embed_kernels.py [--index data/corpus-index] [--sample 1000]

Reads the chunks of an existing index (``python ingest.py ../shared/corpus --index
data/corpus-index`` makes the default one) and embeds their texts, exactly as ingest would
(``ingest.chunking.embedding_text``), with:

* all-MiniLM-L6-v2 int8 in onnxruntime, two 1-thread sessions, one text per call (the default);
* the same with length-sorted batches of 4 and 16 (less padding than unsorted batches);
* torch fp32 and torch bf16 (AVX512-BF16 kernels on CPUs that have them), batches of 16;
* the cross-lingual side vectors (multilingual-e5-small int8, the first 64 tokens: the default).

Also prints what the texts hold that a faster pipeline could skip: the heading prefix's share of
the tokens and the texts that occur more than once. Throughput is model tokens per second;
"min cos" compares each row's vectors with the default's (1.000 = the same vectors).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def cpu_flags() -> str:
    try:
        flags = set(Path("/proc/cpuinfo").read_text().split())
    except OSError:
        return "?"
    return " ".join(
        f for f in ("avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16", "amx_tile") if f in flags
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--index", default=str(ROOT / "data" / "corpus-index"))
    ap.add_argument("--sample", type=int, default=1000, help="texts for the slow torch rows")
    args = ap.parse_args(argv)

    from core.settings import load_settings
    from index.embeddings import load_embedder, spec_from_settings
    from index.store import IndexStore
    from ingest.chunking import embedding_text

    store = IndexStore(args.index)
    if store.current_version() is None:
        print(f"error: {args.index}: no index there (python ingest.py ../shared/corpus --index {args.index})")
        return 2
    settings = load_settings(None)
    emb = load_embedder(spec_from_settings(settings.embedding))
    chunks = store.read_chunks()
    texts = [embedding_text(c) for c in chunks]
    lens = np.minimum(np.asarray(emb.count_tokens(texts)) + 2, 256)
    body = np.minimum(np.asarray(emb.count_tokens([c.text for c in chunks])) + 2, 256)
    repeated = sum(n - 1 for n in Counter(texts).values() if n > 1)
    print(f"CPU flags: {cpu_flags()}; {len(texts)} chunk texts, {int(lens.sum()):,} model tokens")
    print(f"heading prefix: {1 - body.sum() / lens.sum():.1%} of the tokens; texts repeated: {repeated}")
    rows: list[tuple[str, float, int, float]] = []  # (kernel, seconds, tokens, min cos)

    t = time.perf_counter()
    ref = emb.embed_documents(texts)
    rows.append(
        (
            "MiniLM int8 ORT, 2 x 1 thread, one text per call (default)",
            time.perf_counter() - t,
            int(lens.sum()),
            1.0,
        )
    )

    order = np.argsort(lens)
    sessions = emb._sessions  # type: ignore[attr-defined]
    for size in (4, 16):
        batches = [order[i : i + size] for i in range(0, len(order), size)]
        out = np.zeros_like(ref)

        def work(w: int, batches: list[np.ndarray] = batches, out: np.ndarray = out) -> None:
            for j in range(w, len(batches), len(sessions)):
                out[batches[j]] = emb._run([texts[i] for i in batches[j]], sessions[w])  # type: ignore[attr-defined]

        t = time.perf_counter()
        with ThreadPoolExecutor(len(sessions)) as ex:
            list(ex.map(work, range(len(sessions))))
        cos = float((out * ref).sum(1).min())
        rows.append(
            (
                f"MiniLM int8 ORT, 2 x 1 thread, length-sorted batches of {size}",
                time.perf_counter() - t,
                int(lens.sum()),
                cos,
            )
        )

    import torch
    from sentence_transformers import SentenceTransformer

    from index.embedding_backends import _resolve_st_model

    torch.set_num_threads(2)
    sample = texts[: args.sample]
    n_sample = int(lens[: args.sample].sum())
    model = SentenceTransformer(_resolve_st_model(settings.embedding.model), device="cpu")
    for dtype, name in ((torch.float32, "fp32"), (torch.bfloat16, "bf16")):
        m = model.to(dtype)
        m.encode(sample[:16], batch_size=16)
        t = time.perf_counter()
        vec = np.asarray(m.encode(sample, batch_size=16, normalize_embeddings=True), dtype=np.float32)
        cos = float((vec * ref[: len(sample)]).sum(1).min())
        rows.append(
            (f"MiniLM torch {name}, 2 threads, batches of 16", time.perf_counter() - t, n_sample, cos)
        )

    if settings.retrieval.multilingual:
        from index.multilingual import load_multilingual_embedder, ml_key

        ml = load_multilingual_embedder(settings)
        heads = [ml_key(c) for c in chunks]  # the embedder reads the first 64 tokens of each
        t = time.perf_counter()
        ml.embed_documents(heads)
        cap = settings.retrieval.multilingual_passage_tokens
        n_ml = int(sum(min(n, cap) + 2 for n in ml.count_tokens(heads)))
        rows.append(
            (
                "e5-small int8 ORT, first 64 tokens (the cross-lingual side vectors)",
                time.perf_counter() - t,
                n_ml,
                float("nan"),
            )
        )

    print()
    print("| kernel | texts | s | model tokens/s | min cos to the default |")
    print("|---|---|---|---|---|")
    for name, sec, tok, cos in rows:
        n = len(sample) if "torch" in name else len(texts)
        c = "-" if cos != cos else f"{cos:.3f}"
        print(f"| {name} | {n} | {sec:.2f} | {tok / sec:,.0f} | {c} |")
    best = max(tok / sec for name, sec, tok, _ in rows if name.startswith("MiniLM"))
    floor = lens.sum() / best
    ml_s = next((sec for name, sec, _, _ in rows if name.startswith("e5")), 0.0)
    print(
        f"\nfloor of the default's model work on these texts: MiniLM {floor:.1f} s + side vectors {ml_s:.1f} s"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
