"""Query benchmark: retrieval latency (1 and 8 concurrent callers) and index RAM.

    python bench/query_bench.py                       # real corpus, hybrid and synthetic at 100k and 1M chunks
    python bench/query_bench.py --scales 100000 --hybrid-scales 100000   # smaller run

* Real size: the hybrid retriever (query embedding + FAISS + BM25 + fusion) over an index of
  ../shared/corpus (built first if missing), with the dev.jsonl questions as queries.
* Synthetic scale: unit vectors of the model's dimension (384), scattered around 2,000 topic
  centres by default (``--synthetic random`` for uniformly random ones). The FAISS index type is
  chosen as the app chooses it (exact flat below index.ann_threshold, HNSW above); its
  recall@10 against exact search is reported, and flat is timed beside it for comparison.
  Uniformly random vectors are a pathological case for approximate search (no structure: every
  neighbour is about as far as any other); HNSW recall on them says little about real chunks.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SHARED = Path(os.environ.get("OPASSIST_SHARED", ROOT.parent / "shared"))


def rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def pct(xs: list[float], q: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, round(q / 100 * (len(s) - 1)))]


def timed_calls(fn, queries: list, workers: int, repeat: int) -> tuple[list[float], float]:
    work = [q for _ in range(repeat) for q in queries]

    def one(q):
        t = time.perf_counter()
        fn(q)
        return (time.perf_counter() - t) * 1000

    t0 = time.perf_counter()
    if workers == 1:
        lat = [one(q) for q in work]
    else:
        with ThreadPoolExecutor(workers) as pool:
            lat = list(pool.map(one, work))
    return lat, len(work) / (time.perf_counter() - t0)


def warm_dictionaries(settings: object) -> None:
    """As the app does at start-up (chatbot.wiring): not timed as part of a question."""
    from chatbot.dictionary import LANGUAGES, glossary

    for lang in LANGUAGES:
        glossary(lang, settings.retrieval.dictionary_dir)  # type: ignore[attr-defined]


def real_corpus(index: Path, repeat: int) -> list[dict]:
    from chatbot.qa import load_qa
    from chatbot.retrieval import IndexHandle, Retriever
    from core.settings import load_settings
    from index.embeddings import load_embedder, spec_from_settings

    if not (index / "CURRENT").exists():
        from ingest.cli import main as ingest_main

        ingest_main([str(SHARED / "corpus"), "--index", str(index), "--no-progress", "--json"])
    settings = load_settings(None, index={"path": str(index)})
    emb = load_embedder(spec_from_settings(settings.embedding))
    before = rss_mb()
    handle = IndexHandle(index, emb.name, emb.dim)
    state = handle.get()
    ram = rss_mb() - before
    retriever = Retriever(handle, emb, settings.retrieval)
    warm_dictionaries(settings)
    queries = [q.question for q in load_qa(SHARED / "qa" / "dev.jsonl").questions]
    case = f"real corpus, hybrid ({len(state.index.chunks)} chunks)"
    return retriever_rows(case, state.index.meta.ann, retriever, queries, repeat, ram)


def retriever_rows(
    case: str, ann: str, retriever: object, queries: list[str], repeat: int, ram: float
) -> list[dict]:
    """The retriever timed with 1 and 8 concurrent callers."""
    rows = []
    for workers in (1, 8):
        lat, qps = timed_calls(lambda q: retriever.retrieve(q), queries, workers, repeat)  # type: ignore[attr-defined]
        rows.append(
            {
                "case": case,
                "index": ann,
                "callers": workers,
                "p50": pct(lat, 50),
                "p95": pct(lat, 95),
                "qps": qps,
                "ram_mb": ram,
                "recall": None,
            }
        )
    return rows


def hybrid_scaled(index: Path, n: int, repeat: int, threshold: int) -> list[dict]:
    """The whole hybrid retriever (query embedding, dictionary rendering, FAISS, chunk BM25, page
    BM25, fusion) over ``n`` chunks: the real corpus's chunks copied under other file names until
    there are ``n`` (BM25 statistics and page structure stay realistic), their vectors perturbed.
    The FAISS index is the one the app would choose for ``n`` (HNSW above index.ann_threshold);
    then the same retriever over exact search is the reference for recall@10 of the passages."""
    import dataclasses

    from chatbot.lexical import TokenMemo
    from chatbot.qa import load_qa
    from chatbot.retrieval import IndexState, Retriever
    from chatbot.text_indexes import PageIndex, chunk_lexical
    from core.settings import load_settings
    from index.embeddings import load_embedder, spec_from_settings
    from index.search import build_ann, choose_ann, open_index

    settings = load_settings(None, index={"path": str(index)})
    emb = load_embedder(spec_from_settings(settings.embedding))
    base = open_index(index, emb.name, emb.dim)
    rng = np.random.default_rng(7)
    chunks, vecs = [], []
    copy = 0
    while len(chunks) < n:
        take = base.chunks[: n - len(chunks)]
        chunks += [dataclasses.replace(c, source=f"copy{copy}/{c.source}") for c in take]
        v = base.vectors[: len(take)] + rng.normal(0, 0.02, (len(take), base.vectors.shape[1])).astype(
            np.float32
        )
        vecs.append(v / np.linalg.norm(v, axis=1, keepdims=True))
        copy += 1
    vectors = np.ascontiguousarray(np.concatenate(vecs), dtype=np.float32)
    del vecs
    kind = choose_ann(n, "auto", threshold)
    before = rss_mb()
    t0 = time.perf_counter()
    memo = TokenMemo()  # as the app loads a version (chatbot.retrieval.IndexHandle)
    lexical = chunk_lexical(chunks, memo)
    pages = PageIndex(chunks, memo)
    del memo
    lexical_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    ann = build_ann(vectors, kind)
    ann_s = time.perf_counter() - t1
    state = IndexState(
        dataclasses.replace(base, chunks=chunks, vectors=vectors, ann=ann, _rows_by_source={}), lexical, pages
    )
    ram = rss_mb() - before

    class Fixed:  # the handle the retriever reads (no index folder behind this one)
        def __init__(self, s: IndexState) -> None:
            self.s = s

        def get(self) -> IndexState:
            return self.s

    retriever = Retriever(Fixed(state), emb, settings.retrieval)  # type: ignore[arg-type]
    warm_dictionaries(settings)
    queries = [q.question for q in load_qa(SHARED / "qa" / "dev.jsonl").questions]
    built = f"BM25 {lexical_s:.0f} s, {kind} {ann_s:.0f} s"
    rows = retriever_rows(
        f"hybrid over {n:,} chunks (corpus copied)", f"{kind}; {built}", retriever, queries, repeat, ram
    )
    if kind != "flat":
        exact_state = IndexState(
            dataclasses.replace(state.index, ann=build_ann(vectors, "flat"), _rows_by_source={}),
            lexical,
            pages,
        )
        exact = Retriever(Fixed(exact_state), emb, settings.retrieval)  # type: ignore[arg-type]
        got = [{p.row for p in retriever.retrieve(q).passages[:10]} for q in queries]
        ref = [{p.row for p in exact.retrieve(q).passages[:10]} for q in queries]
        recall = float(np.mean([len(g & r) / max(1, len(r)) for g, r in zip(got, ref, strict=True)]))
        for r in rows:
            r["recall"] = recall
    return rows


def unit_vectors(rng: np.random.Generator, n: int, dim: int, centres: np.ndarray | None) -> np.ndarray:
    """Random unit vectors; with ``centres``, scattered around them (topics, like real chunks)."""
    if centres is None:
        v = rng.standard_normal((n, dim), dtype=np.float32)
    else:
        v = centres[rng.integers(0, len(centres), n)]
        v = v + 0.6 * rng.standard_normal((n, dim), dtype=np.float32)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    return v


def synthetic(n: int, dim: int, threshold: int, repeat: int, data: str) -> list[dict]:
    import faiss

    from index.search import build_ann, choose_ann

    rng = np.random.default_rng(0)
    base_rss = rss_mb()
    centres = rng.standard_normal((2000, dim), dtype=np.float32) if data == "clustered" else None
    vecs = unit_vectors(rng, n, dim, centres)
    queries = unit_vectors(rng, 200, dim, centres)
    kind = choose_ann(n, "auto", threshold)
    rows = []
    flat = build_ann(vecs, "flat")
    _, exact = flat.search(queries, 10)
    candidates = [("flat", flat)]
    if kind != "flat":
        t = time.perf_counter()
        ann = build_ann(vecs, kind)
        build_s = time.perf_counter() - t
        candidates.append((kind, ann))
    for name, index in candidates:
        ram = (
            (index.ntotal * dim * 4 / 2**20)
            if name == "flat"
            else (rss_mb() - base_rss - n * dim * 8 / 2**20)
        )
        _, got = index.search(queries, 10)
        recall = float(np.mean([len(set(g) & set(e)) / 10 for g, e in zip(got, exact, strict=True)]))
        qs = list(queries)
        for workers in (1, 8):
            lat, qps = timed_calls(lambda q, idx=index: idx.search(q.reshape(1, -1), 10), qs, workers, repeat)
            rows.append(
                {
                    "case": f"{data} {n:,} x {dim}"
                    + (" (auto choice)" if name == kind else " (exact, for comparison)"),
                    "index": name + (f", built in {build_s:.0f} s" if name != "flat" else ""),
                    "callers": workers,
                    "p50": pct(lat, 50),
                    "p95": pct(lat, 95),
                    "qps": qps,
                    "ram_mb": max(ram, 0.0),
                    "recall": recall,
                }
            )
    del vecs, flat
    faiss.omp_set_num_threads(os.cpu_count() or 1)
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--index", default=str(ROOT / "data" / "corpus-index"), help="index of ../shared/corpus")
    ap.add_argument("--scales", default="100000,1000000")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument(
        "--hybrid-scales",
        default="100000,1000000",
        help="also time the whole hybrid retriever over these many chunks (the corpus copied; '': skip)",
    )
    ap.add_argument(
        "--synthetic",
        choices=("clustered", "random"),
        default="clustered",
        help="synthetic vectors: scattered around 2,000 topic centres (like real chunks) or uniformly "
        "random (a pathological case for approximate search: every neighbour is about equally far)",
    )
    args = ap.parse_args(argv)
    from core.settings import load_settings

    threshold = load_settings(None).index.ann_threshold
    rows = real_corpus(Path(args.index), args.repeat) if (SHARED / "corpus").is_dir() else []
    for n in [int(x) for x in args.hybrid_scales.split(",") if x] if rows else []:
        print(f"building hybrid {n:,} ...", file=sys.stderr, flush=True)
        rows += hybrid_scaled(Path(args.index), n, max(1, args.repeat // 2), threshold)
    for n in [int(x) for x in args.scales.split(",") if x]:
        print(f"building synthetic {n:,} ...", file=sys.stderr, flush=True)
        rows += synthetic(n, 384, threshold, max(1, args.repeat // 2), args.synthetic)
    hdr = f"{'case':<44} {'index':<34} {'callers':>7} {'p50 ms':>8} {'p95 ms':>8} {'queries/s':>10} {'RAM MB':>8} {'recall@10':>9}"
    print(hdr)
    print("-" * len(hdr))
    for r in rows:
        rec = "-" if r["recall"] is None else f"{r['recall']:.3f}"
        print(
            f"{r['case']:<44} {r['index']:<34} {r['callers']:>7} {r['p50']:>8.2f} {r['p95']:>8.2f} "
            f"{r['qps']:>10.0f} {r['ram_mb']:>8.0f} {rec:>9}"
        )
    print(
        f"\nRAM MB: index in memory (real corpus: vectors + FAISS + BM25 + chunk texts; synthetic: FAISS only)."
        f" Index type by size: flat below {threshold:,} chunks, HNSW (M=32, efSearch=96) above."
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
