"""Index update benchmark: what one changed file costs on a large share, and what every replica
pays to serve the new version.

    python bench/update_bench.py                  # ../shared/corpus copied to a ~10,000-page share
    python bench/update_bench.py --pages 3000     # smaller share

The share is ../shared/corpus (704 pages) plus copies of it under other folder names until it
holds ``--pages`` pages: the first run embeds the corpus once, the copies take its chunks (same
content, nothing embedded again). Then, each as ``python ingest.py`` in a fresh process (model load
included, as an admin or a cron job runs it):

* unchanged re-run: nothing changed on the share;
* one new file: a two-page Markdown manual added;
* one changed file: that manual edited;
* one removed file: that manual deleted.

``serve s`` is what a running replica does after each commit before it answers from the new
version: read the version, build BM25 over chunks and pages (chatbot.retrieval.IndexHandle); on
the "copies added" row, what a replica pays at start-up.
Targets (issue 15): one-file change < 10 s end to end, unchanged re-run < 1 s.

    python bench/update_bench.py --ann hnsw       # the same steps with an HNSW graph on the share,
                                                  # side by side: rebuilt every run vs carried
    python bench/update_bench.py --graph-scale 1000000 --pages 0   # only the graph at 1M vectors

With ``--ann hnsw`` every step runs twice on the same share: into an index that builds its graph
on every run (``index.ann_rebuild_fraction=0``, the naive way) and into one that carries the
previous version's graph (the default, index/segments.py). ``--graph-scale N`` times the graph
alone at N synthetic vectors (the share cannot be made that large here): a first build, then a
one-file change (30 chunks removed, 30 added) rebuilt vs carried, the version written each time,
and recall@10 of the carried search against exact search.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SHARED = Path(os.environ.get("OPASSIST_SHARED", ROOT.parent / "shared"))

MANUAL = """# Strapping machine SM-{n} manual

## Fault codes

| Code | Meaning | Remedy |
|---|---|---|
| SM-{n}1 | Strap not fed | Check the strap coil and the feed wheels; clean them and press RESET. |
| SM-{n}2 | Sealing head too hot | Let it cool for 10 minutes; check the heater thermostat. |

## Daily checks

1. Check the strap tension setting: {tension} N for PP strap.
2. Clean the sealing head with the brass brush.
3. Check the emergency stop before the first cycle.
"""


def ingest(share: Path, index: Path, env: dict[str, str] | None = None) -> dict:
    t = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "ingest.py", str(share), "--index", str(index), "--json", "--no-progress"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **(env or {})},
    )
    wall = time.perf_counter() - t
    if out.returncode != 0:
        raise SystemExit(f"ingest failed ({out.returncode}): {out.stderr[-2000:]}")
    summary = json.loads(out.stdout)
    return {"wall": wall, "summary": summary}


class Replica:
    """A replica's index handle in its own process: loads the live version at start, then picks up
    each new one on request (as ``python -m ui`` does after a commit), timing the load."""

    CODE = (
        "import sys, time, json; sys.path.insert(0, {root!r})\n"
        "from chatbot.retrieval import IndexHandle\n"
        "h = IndexHandle({index!r}, None, None, check_seconds=0)\n"
        "t = time.perf_counter(); s = h.get(); print(json.dumps(time.perf_counter() - t), flush=True)\n"
        "for line in sys.stdin:\n"
        "    t = time.perf_counter(); s = h.get(); print(json.dumps(time.perf_counter() - t), flush=True)\n"
    )

    def __init__(self, index: Path) -> None:
        code = self.CODE.format(root=str(ROOT), index=str(index))
        self.proc = subprocess.Popen(
            [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        self.start_s = self._read()

    def _read(self) -> float:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise SystemExit("the replica process ended")
        return float(json.loads(line))

    def reload(self) -> float:
        assert self.proc.stdin is not None
        self.proc.stdin.write("\n")
        self.proc.stdin.flush()
        return self._read()

    def stop(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        self.proc.wait(30)


STEPS = (
    ("unchanged re-run", None),
    (
        "one new file (2-page Markdown)",
        lambda share: (share / "sm-7.md").write_text(MANUAL.format(n=7, tension=900)),
    ),
    ("one changed file", lambda share: (share / "sm-7.md").write_text(MANUAL.format(n=7, tension=1100))),
    ("one removed file", lambda share: (share / "sm-7.md").unlink()),
)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--pages", type=int, default=10_000, help="pages on the share (corpus copies); 0: no share"
    )
    ap.add_argument("--ann", choices=("auto", "hnsw"), default="auto", help="the share's FAISS index type")
    ap.add_argument("--graph-scale", type=int, default=0, help="also time the graph alone at N vectors")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    rows: list[dict] = []
    if args.pages:
        corpus = SHARED / "corpus"
        if not corpus.is_dir():
            print(f"error: {corpus} not found (../shared beside the repo)", file=sys.stderr)
            return 2
        rows = share_steps(corpus, args.pages, args.ann)
    graph = graph_steps(args.graph_scale) if args.graph_scale else []
    if args.json:
        print(json.dumps({"share": rows, "graph": graph}, indent=2))
        return 0
    if rows:
        compare = args.ann == "hnsw"
        head = "| step | pages on the share | chunks | ingest wall s | inside ingest s | serve s |"
        if compare:
            head += " graph | rebuilt every run: ingest wall s | inside s |"
        print(head)
        print("|" + "---|" * (head.count("|") - 1))
        for r in rows:
            serve = "-" if r.get("serve_s") is None else f"{r['serve_s']:.2f}"
            line = f"| {r['step']} | {r['pages']:,} | {r['chunks']:,} | {r['wall']:.2f} | {r['inside']:.2f} | {serve} |"
            if compare:
                b = r.get("rebuild") or {}
                line += f" {r['ann'] or '-'} | {b.get('wall', 0):.2f} | {b.get('inside', 0):.2f} |"
            print(line)
        print(
            "\ningest wall s: the whole `python ingest.py` process (imports, model load when something is "
            "embedded). serve s: a running replica's load of the new version (read + BM25 over chunks and "
            "pages); on the copies row, a replica's start-up load."
        )
    if graph:
        print(
            f"\n| graph at {args.graph_scale:,} vectors | graph + version written s | loaded s | recall@10 vs exact |"
        )
        print("|---|---|---|---|")
        for g in graph:
            rec = "-" if g.get("recall") is None else f"{g['recall']:.3f}"
            load = "-" if g.get("load_s") is None else f"{g['load_s']:.2f}"
            print(f"| {g['step']} | {g['seconds']:.2f} | {load} | {rec} |")
    return 0


def share_steps(corpus: Path, target_pages: int, ann: str) -> list[dict]:
    work = Path(tempfile.mkdtemp(prefix="update-bench-"))
    share, index, naive = work / "share", work / "index", work / "index-rebuilt"
    env = {"OPASSIST_INDEX__ANN": ann}
    rebuild_env = {**env, "OPASSIST_INDEX__ANN_REBUILD_FRACTION": "0"}
    rows: list[dict] = []
    try:
        shutil.copytree(corpus, share / "copy00")
        first = ingest(share, index, env)
        pages = first["summary"]["pages_processed"]
        rows.append(_row("first run: the corpus (embedded)", first, pages))
        n = 1
        while pages * (n + 1) <= target_pages:
            shutil.copytree(corpus, share / f"copy{n:02d}")
            n += 1
        grown = ingest(share, index, env)
        total_pages = pages * n
        rows.append(_row(f"{n - 1} copies added (chunks reused)", grown, total_pages))
        if ann == "hnsw":
            shutil.copytree(index, naive)  # the same version, from here on rebuilt at every run
        replica = Replica(index)  # a running replica, serving the version before each change
        rows[-1]["serve_s"] = replica.start_s  # what a replica pays at start-up
        for label, change in STEPS:
            if change is not None:
                change(share)
            r = _row(label, ingest(share, index, env), total_pages)
            r["serve_s"] = replica.reload()
            if ann == "hnsw":
                r["rebuild"] = _row(label, ingest(share, naive, rebuild_env), total_pages)
            rows.append(r)
        replica.stop()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return rows


def graph_steps(n: int, changed: int = 30, dim: int = 384) -> list[dict]:
    """The graph alone at ``n`` synthetic vectors: built, then a one-file change rebuilt vs carried
    (through ingest's own ann_for and IndexStore.write_version), then the carried search's recall."""
    import numpy as np

    from core.settings import IndexSettings
    from index.search import open_index
    from index.store import IndexStore
    from ingest.assemble import ann_for

    rng = np.random.default_rng(0)
    # clustered vectors (a real index is not uniform): 2,000 topics, each chunk near one
    centers = rng.standard_normal((2000, dim)).astype(np.float32)
    vectors = centers[rng.integers(0, 2000, n)] + 0.6 * rng.standard_normal((n, dim)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    settings = IndexSettings(ann="hnsw")
    work = Path(tempfile.mkdtemp(prefix="graph-bench-"))
    out: list[dict] = []
    meta = {
        "embedding_backend": "bench",
        "embedding_model": "bench",
        "dim": dim,
        "normalized": True,
        "metric": "cosine",
        "chunker": "bench",
        "ann": "hnsw",
    }
    try:
        store = IndexStore(work / "index")
        chunks = [_chunk(i) for i in range(n)]
        t = time.perf_counter()
        plan = ann_for(vectors, settings)
        store.write_version(meta, [], chunks, vectors, ann=plan)
        first = {"step": "first build + write", "seconds": time.perf_counter() - t}
        out.append(first)
        prev = store.current_version()
        # one changed file: its 30 chunks replaced by 30 new ones at the end of the order
        keep = np.r_[0 : n // 2, n // 2 + changed : n]
        new = vectors[rng.integers(0, n, changed)] + 0.05 * rng.standard_normal((changed, dim)).astype(
            np.float32
        )
        new /= np.linalg.norm(new, axis=1, keepdims=True)
        v2 = np.concatenate([vectors[keep], new.astype(np.float32)])
        origin = np.r_[keep, np.full(changed, -1)].astype(np.int64)
        c2 = [chunks[i] for i in keep] + [_chunk(n + i) for i in range(changed)]
        # questions drawn like the chunks (around the topics), as bench/query_bench.py does
        queries = centers[rng.integers(0, 2000, 200)] + 0.6 * rng.standard_normal((200, dim)).astype(
            np.float32
        )
        queries /= np.linalg.norm(queries, axis=1, keepdims=True)
        exact = [set(np.argsort(-(v2 @ q))[:10].tolist()) for q in queries]
        t = time.perf_counter()
        idx = open_index(work / "index")  # the first version, its own graph: the graph's own recall
        first["load_s"] = time.perf_counter() - t
        got = 0
        for q in queries:
            got += len(set(np.argsort(-(vectors @ q))[:10].tolist()) & {r for r, _ in idx.search(q, 10)})
        first["recall"] = got / (10 * len(queries))
        del idx
        for label, fraction in (
            ("one-file change, rebuilt (naive)", 0.0),
            ("one-file change, carried", 0.05),
        ):
            t = time.perf_counter()
            plan = ann_for(v2, IndexSettings(ann="hnsw", ann_rebuild_fraction=fraction), store, prev, origin)
            store.write_version(meta, [], c2, v2, ann=plan, keep_versions=4)
            seconds = time.perf_counter() - t
            t = time.perf_counter()
            idx = open_index(work / "index")
            load = time.perf_counter() - t
            got = sum(len(e & {r for r, _ in idx.search(q, 10)}) for e, q in zip(exact, queries, strict=True))
            out.append(
                {"step": label, "seconds": seconds, "load_s": load, "recall": got / (10 * len(queries))}
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return out


def _chunk(i: int):
    from index.types import Chunk

    page = 1 + i // 5
    return Chunk("bench.pdf", "bench", page, page, None, "", f"chunk {i}", "bench", "0" * 64, i)


def _row(step: str, run: dict, pages: int) -> dict:
    s = run["summary"]
    return {
        "step": step,
        "ann": s.get("ann", ""),
        "pages": pages,
        "chunks": s.get("chunks_total", 0),
        "wall": run["wall"],
        "inside": (s.get("seconds") or {}).get("total", 0.0),
        "serve_s": None,
    }


if __name__ == "__main__":
    raise SystemExit(main())
