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


def ingest(share: Path, index: Path) -> dict:
    t = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "ingest.py", str(share), "--index", str(index), "--json", "--no-progress"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
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


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pages", type=int, default=10_000, help="pages on the share (corpus copies)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    corpus = SHARED / "corpus"
    if not corpus.is_dir():
        print(f"error: {corpus} not found (../shared beside the repo)", file=sys.stderr)
        return 2
    work = Path(tempfile.mkdtemp(prefix="update-bench-"))
    share, index = work / "share", work / "index"
    rows: list[dict] = []
    try:
        shutil.copytree(corpus, share / "copy00")
        first = ingest(share, index)
        pages = first["summary"]["pages_processed"]
        rows.append(_row("first run: the corpus (embedded)", first, pages))
        n = 1
        while pages * (n + 1) <= args.pages:
            shutil.copytree(corpus, share / f"copy{n:02d}")
            n += 1
        grown = ingest(share, index)
        total_pages = pages * n
        rows.append(_row(f"{n - 1} copies added (chunks reused)", grown, total_pages))
        replica = Replica(index)  # a running replica, serving the version before each change
        rows[-1]["serve_s"] = replica.start_s  # what a replica pays at start-up
        for label, change in (
            ("unchanged re-run", None),
            (
                "one new file (2-page Markdown)",
                lambda: (share / "sm-7.md").write_text(MANUAL.format(n=7, tension=900)),
            ),
            ("one changed file", lambda: (share / "sm-7.md").write_text(MANUAL.format(n=7, tension=1100))),
            ("one removed file", lambda: (share / "sm-7.md").unlink()),
        ):
            if change is not None:
                change()
            r = _row(label, ingest(share, index), total_pages)
            r["serve_s"] = replica.reload()
            rows.append(r)
        replica.stop()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    print("| step | pages on the share | chunks | ingest wall s | inside ingest s | serve s |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        serve = "-" if r.get("serve_s") is None else f"{r['serve_s']:.2f}"
        print(
            f"| {r['step']} | {r['pages']:,} | {r['chunks']:,} | {r['wall']:.2f} | {r['inside']:.2f} | {serve} |"
        )
    print(
        "\ningest wall s: the whole `python ingest.py` process (imports, model load when something is "
        "embedded). serve s: a running replica's load of the new version (read + BM25 over chunks and "
        "pages); on the copies row, a replica's start-up load."
    )
    return 0


def _row(step: str, run: dict, pages: int) -> dict:
    s = run["summary"]
    return {
        "step": step,
        "pages": pages,
        "chunks": s.get("chunks_total", 0),
        "wall": run["wall"],
        "inside": (s.get("seconds") or {}).get("total", 0.0),
        "serve_s": None,
    }


if __name__ == "__main__":
    raise SystemExit(main())
