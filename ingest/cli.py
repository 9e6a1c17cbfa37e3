"""``python ingest.py DIR [DIR ...] [--index PATH]``: build or update the manuals index."""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import time
from collections.abc import Sequence
from typing import Any

from core.errors import UserError
from core.logs import setup_logging
from core.settings import load_settings

from .pipeline import Summary, run_ingest

log = logging.getLogger("ingest")

EXIT_OK, EXIT_FILES_FAILED, EXIT_ERROR, EXIT_INTERRUPTED = 0, 1, 2, 130


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="ingest.py",
        description="Index equipment manuals (PDF, Word, Excel/CSV, PowerPoint, Markdown, text, HTML) for the "
        "operator assistant. "
        "Re-running is incremental: only new or changed files are processed.",
    )
    p.add_argument(
        "folders", nargs="+", help="folders holding manuals (walked recursively, symlinks followed)"
    )
    p.add_argument("--index", help="index folder (default: setting index.path, data/index)")
    p.add_argument("--config", help="TOML settings file (default: $OPASSIST_CONFIG)")
    p.add_argument(
        "--rebuild", action="store_true", help="re-embed everything (e.g. after changing the model)"
    )
    p.add_argument("--allow-delete", action="store_true", help="allow removing many documents at once")
    p.add_argument(
        "--include-all",
        action="store_true",
        help="ignore the default exclusions (licence files, READMEs, archive/, old/, temp files); the "
        "ignore file and the setting ingest.exclude still apply",
    )
    p.add_argument(
        "--wait",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="if another ingest holds the index, wait up to this long instead of refusing",
    )
    p.add_argument("--json", action="store_true", help="print the summary as JSON on stdout")
    p.add_argument("--no-progress", action="store_true", help="no progress bar even on a terminal")
    p.add_argument("-v", "--verbose", action="count", default=0, help="more log output (-v info, -vv debug)")
    return p


class RichProgress:
    """Progress bar on stderr: pages with rate and ETA, files, chunks."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self._progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[unit]}"),
            TextColumn("{task.fields[rate]}"),
            TextColumn("files {task.fields[files]}"),
            TextColumn("chunks {task.fields[chunks]}"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            TextColumn("{task.fields[name]}"),
            console=Console(stderr=True),
            transient=False,
        )
        self._task: Any = None
        self._files = 0
        self._total_files = 0
        self._chunks = 0
        self._t0 = time.monotonic()
        self._pages = 0.0
        self._unit = "p/s"

    def start(self, files: int, pages: int, unit: str = "pages") -> None:
        self._total_files, self._files, self._pages, self._chunks = files, 0, 0.0, 0
        self._unit = "p/s" if unit == "pages" else "/s"
        self._t0 = time.monotonic()
        self._progress.start()
        self._task = self._progress.add_task(
            "ingest", total=pages, rate="", files=f"0/{files}", chunks=0, name="", unit=unit
        )

    def file(self, name: str) -> None:
        from rich.markup import escape

        self._files += 1
        name = shown(name)
        short = name if len(name) <= 40 else "…" + name[-39:]
        self._update(name=escape(short))

    def advance(self, pages: float, chunks: int) -> None:
        self._pages += pages
        self._chunks += chunks
        if self._task is not None:
            self._progress.advance(self._task, pages)
        self._update()

    def _update(self, **fields: Any) -> None:
        if self._task is None:
            return
        dt = max(1e-6, time.monotonic() - self._t0)
        self._progress.update(
            self._task,
            rate=f"{self._pages / dt:5.1f} {self._unit}",
            files=f"{self._files}/{self._total_files}",
            chunks=self._chunks,
            **fields,
        )

    def stop(self) -> None:
        if self._task is not None:
            self._progress.update(self._task, name="")
        self._progress.stop()


def shown(text: str) -> str:
    """A file name as one safe line: control characters escaped (a newline in a name cannot forge
    a line of output), everything else as is (CJK and umlauts stay readable)."""
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)


def print_summary(s: Summary) -> None:
    from rich.console import Console
    from rich.table import Table

    # markup off: "[bold red]" in a file name is printed, not interpreted; soft_wrap: a long path
    # stays on one line (logs and pipes are not 80 columns wide)
    console = Console(stderr=False, markup=False, highlight=False, emoji=False, soft_wrap=True)
    if not s.committed:
        state = "unchanged" if s.version else "not written"
        console.print(f"Index {shown(s.index)}: {state}" + (f" (version {s.version})" if s.version else ""))
    else:
        console.print(f"Index {shown(s.index)}: wrote version {s.version}")
    t = Table(show_header=False, box=None, padding=(0, 2))
    t.add_column("what")
    t.add_column("count", justify="right")
    t.add_column("what")
    t.add_column("count", justify="right")
    rows: list[tuple[str, int | str]] = [
        ("files added", len(s.added)),
        ("pages processed", s.pages_processed),
        ("files changed", len(s.changed)),
        ("chunks embedded", s.chunks_embedded),
        ("files renamed", len(s.renamed)),
        ("chunks reused", s.chunks_reused),
        ("files unchanged", s.unchanged),
        ("chunks in index", s.chunks_total),
        ("files removed", len(s.removed)),
        ("documents in index", s.documents_total),
        ("files failed", len(s.failed)),
        ("files kept stale", len(s.stale)),
        ("files excluded", len(s.excluded)),
        ("files not supported", len(s.unsupported)),
    ]
    if s.multilingual_embedded:
        rows += [("cross-lingual vectors", s.multilingual_embedded), ("", "")]
    for i in range(0, len(rows), 2):
        t.add_row(*(str(x) for x in (*rows[i], *rows[i + 1])))
    console.print(t)
    if s.seconds:  # every stage of the run, in the order the run met them; they add up to total
        console.print("seconds: " + "  ".join(f"{k} {v:.2f}" for k, v in s.seconds.items() if v >= 0.005))
    for label, names in (
        ("added", s.added),
        ("changed", s.changed),
        ("removed", s.removed),
        ("renamed", s.renamed),
    ):
        _named(console, label, names)
    for name, pages in s.ocr.items():
        conf = sorted(pages.items(), key=lambda kv: kv[1])
        low_page, low = conf[0]
        mean = sum(pages.values()) / len(pages)
        console.print(
            f"ocr       {shown(name)}: {len(pages)} page(s) read by OCR, mean confidence {mean:.0f}% "
            f"(lowest {low:.0f}% on page {low_page})"
        )
    for name in s.stale:
        console.print(f"stale     {shown(name)} (could not be read; the indexed version is kept)")
    if s.excluded:
        _named(console, "excluded", [f"{x.path}  ({x.why})" for x in s.excluded])
    counts = s.unsupported_counts()
    if counts:
        kinds = ", ".join(f"{ext} {n}" for ext, n in counts.items())
        console.print(f"not read (type not supported): {sum(counts.values())} file(s): {kinds}")
        _named(console, "unsupported", [x.path for x in s.unsupported])


SHOWN_PER_LIST = 40  # longer lists are cut in the text summary (--json has them whole)


def _named(console: Any, label: str, names: list[str]) -> None:
    for name in names[:SHOWN_PER_LIST]:
        console.print(f"{label:<9} {shown(name)}")
    if len(names) > SHOWN_PER_LIST:
        console.print(f"{label:<9} ... and {len(names) - SHOWN_PER_LIST} more (--json lists all)")


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings(args.config, index={"path": args.index} if args.index else None)
    except UserError as exc:
        print(f"error: {shown(str(exc))}", file=sys.stderr)
        return EXIT_ERROR
    level = {0: settings.log_level, 1: "INFO"}.get(args.verbose, "DEBUG")
    setup_logging(level, settings.log_format)
    # SIGTERM (systemd, docker stop) ends the run like Ctrl-C: the lock is released, staging kept.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    show_progress = sys.stderr.isatty() and not args.no_progress
    progress = RichProgress() if show_progress else None
    try:
        summary = run_ingest(
            args.folders,
            settings,
            rebuild=args.rebuild,
            allow_delete=args.allow_delete,
            wait_seconds=args.wait,
            progress=progress,
            include_all=args.include_all,
        )
    except UserError as exc:
        print(f"error: {shown(str(exc))}", file=sys.stderr)
        return EXIT_ERROR
    except Exception:
        log.exception("ingest failed")
        print(
            "error: ingest failed unexpectedly (traceback above); the previous index is still live",
            file=sys.stderr,
        )
        return EXIT_ERROR
    except KeyboardInterrupt:
        print(
            "interrupted: the previous index version is still live; files finished so far are kept in "
            "staging and the next run continues from there",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    for w in summary.warnings:
        print(f"warning: {shown(w)}", file=sys.stderr)
    for f in summary.failed:
        print(f"FAILED {shown(f.line())}", file=sys.stderr)
    if args.json:
        print(json.dumps(summary.to_dict(), indent=2))
    else:
        print_summary(summary)
    return EXIT_FILES_FAILED if summary.failed else EXIT_OK
