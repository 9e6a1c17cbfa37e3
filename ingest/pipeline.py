"""Incremental, crash-safe ingestion of manual folders into an index.

One run: scan the folders, hash every file, compare with the live index's manifest, then
extract + chunk + embed only what is new or changed, and commit a complete new index
version atomically. Unchanged files keep their chunks and vectors; a renamed or copied file
reuses the chunks of the identical content; a changed file reuses the vectors of chunks whose
text did not change. Each embedded file is staged on disk at once, so a run that is killed
loses at most the file it was working on.

This module is the run itself (``run_ingest``); its steps live beside it:

* ``scan.py``: the files in the folders, and their SHA-256
* ``plan.py``: what the live index holds, and what to keep / reuse / process / remove / keep stale
* ``process.py``: extract + chunk + embed of new and changed files, staged per file
* ``assemble.py``: the new version's documents, chunks and vectors
* ``summary.py``: what a run reports (``Summary``, ``Failure``), progress callbacks, stage timings
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from core.errors import UserError
from index.embeddings import Embedder, load_embedder
from index.store import IndexStore
from index.types import Chunk

from .assemble import ann_for, assemble
from .exclude import Rules
from .ocr import available as ocr_engine
from .plan import (
    IndexIdentity,
    Plan,
    Previous,
    chunker_fingerprint,
    plan_changes,
    read_previous,
    refuse_mass_delete,
    tag_kept,
)
from .process import EMBED_SLICE, FileProcessor, Processed, VectorCache, count_pages
from .scan import FileEntry, ScanOptions, Unreadable, hash_files, scan, sha256_file
from .summary import Failure, NoProgress, Progress, Summary, Timer

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from core.settings import Settings

__all__ = [
    "EMBED_SLICE",
    "Failure",
    "FileEntry",
    "Progress",
    "RunOptions",
    "Summary",
    "Unreadable",
    "chunker_fingerprint",
    "run_ingest",
    "scan",
    "sha256_file",
]


@dataclass(frozen=True)
class RunOptions:
    """How a run may change the index (the keyword arguments of ``run_ingest``)."""

    rebuild: bool = False  # ignore the live version: extract, chunk and embed every file again
    allow_delete: bool = False  # allow removing more than ingest.max_delete_fraction of a folder
    progress: Progress = field(default_factory=NoProgress)
    embedder: Embedder | None = None  # a loaded model; otherwise the settings' model is loaded
    include_all: bool = False  # drop the default exclusions (licence files, archive/, ...)


@dataclass
class _Run:
    """One run under the writer lock: where it writes, what it reads, what it reports."""

    store: IndexStore
    roots: list[tuple[Path, str]]  # (absolute folder, the folder as the user typed it)
    settings: Settings
    options: RunOptions
    identity: IndexIdentity = field(init=False)
    summary: Summary = field(init=False)
    timer: Timer = field(init=False)

    def __post_init__(self) -> None:
        self.identity = IndexIdentity.from_settings(self.settings)
        self.summary = Summary(index=str(self.store.path))
        self.timer = Timer(self.summary.seconds)


def run_ingest(
    folders: list[str | Path],
    settings: Settings,
    *,
    rebuild: bool = False,
    allow_delete: bool = False,
    wait_seconds: float = 0.0,
    progress: Progress | None = None,
    embedder: Embedder | None = None,
    include_all: bool = False,
) -> Summary:
    """Bring the index at ``settings.index.path`` in line with ``folders``."""
    t_start = time.perf_counter()
    options = RunOptions(
        rebuild=rebuild,
        allow_delete=allow_delete,
        progress=progress or NoProgress(),
        embedder=embedder,
        include_all=include_all,
    )
    store = IndexStore(settings.index.path)
    run = _Run(store, _check_folders(folders), settings, options)
    run.timer.add("scan", time.perf_counter() - t_start)  # the folders' first look
    try:
        lock = store.writer_lock(wait_seconds)
        with run.timer.stage("lock"):
            lock.__enter__()
    except PermissionError:
        raise UserError(f"index folder {store.path}: permission denied (cannot write there)") from None
    try:
        _run_locked(run)
        run.summary.seconds["total"] = time.perf_counter() - t_start  # the stages add up to it
        return run.summary
    finally:
        lock.__exit__(None, None, None)


def _check_folders(folders: list[str | Path]) -> list[tuple[Path, str]]:
    """Each folder as (absolute path, as the user typed it); a clear error for a bad one."""
    roots: list[tuple[Path, str]] = []
    for f in folders:
        p = Path(f)
        try:
            if not p.exists():
                raise UserError(f"{f}: no such folder")
            if not p.is_dir():
                raise UserError(f"{f}: not a folder (give the folder that holds the manuals)")
            os.listdir(p)
        except PermissionError:
            raise UserError(f"{f}: cannot open folder (permission denied)") from None
        roots.append((p.resolve(), str(f)))
    return roots


def _run_locked(run: _Run) -> None:
    """The steps of a run, in order (the lock is held); each one timed as a stage of the run."""
    with run.timer.stage("previous"):
        prev = read_previous(run.store, run.identity, run.options.rebuild)
    files, unreadable = _scan_and_hash(run)
    with run.timer.stage("plan"):
        plan = _plan_changes(run, prev, files, unreadable)
    if plan.changes_nothing(prev):
        _report_unchanged(run, prev)
    else:
        processed, dim = _process_new_and_changed(run, prev, plan)
        with run.timer.stage("plan"):
            for p in processed:
                p.record.equipment = list(p.entry.equipment)
            _record_outcomes(run, prev, plan, processed)
        if plan.unchanged_after(prev, len(processed)):
            _report_unchanged(run, prev)  # only files that failed before failed again
        elif _something_to_write(prev, plan, processed):
            _commit_new_version(run, prev, plan, processed, dim)
        else:
            _refuse_if_no_manuals(run)  # or, when every file failed, commit nothing


def _scan_and_hash(run: _Run) -> tuple[dict[str, FileEntry], list[Unreadable]]:
    """The files to ingest by source, and the folders that could not be listed."""
    summary, ing = run.summary, run.settings.ingest
    with run.timer.stage("scan"):
        rules = Rules.for_run(ing.default_excludes, ing.exclude, ing.ignore_file, run.options.include_all)
        options = ScanOptions(frozenset(e.lower() for e in ing.extensions), rules, ing.equipment_from_folders)
        found = scan(run.roots, options)
        summary.failed.extend(found.failures)
        summary.excluded, summary.unsupported = found.excluded, found.unsupported
        unreadable = found.unreadable
        if run.options.rebuild and unreadable:
            raise UserError(
                f"cannot rebuild while a folder cannot be read ({unreadable[0].rel or unreadable[0].root}: "
                f"{unreadable[0].reason}): its documents would be lost. Nothing was changed."
            )
    with run.timer.stage("hash"):
        files = hash_files(found.entries, summary.failed)
    summary.files_seen = len(files) + len(summary.failed)
    return files, unreadable


def _plan_changes(
    run: _Run, prev: Previous, files: dict[str, FileEntry], unreadable: list[Unreadable]
) -> Plan:
    # OCR available: scans indexed before it was are read again (ingest/ocr.py, plan._sort_files)
    ocr_ready = ocr_engine(run.settings.ingest) is not None
    plan = plan_changes(prev, files, unreadable, run.roots, run.summary, ocr_available=ocr_ready)
    tag_kept(plan, files)
    refuse_mass_delete(
        plan, prev, run.roots, run.settings.ingest.max_delete_fraction, run.options.allow_delete
    )
    return plan


def _report_unchanged(run: _Run, prev: Previous) -> None:
    """Nothing to write, including which documents are stale: the live version stays."""
    run.summary.version = prev.version
    run.summary.documents_total = len(prev.docs)
    run.summary.chunks_total = prev.meta.chunk_count if prev.meta else 0
    if run.settings.retrieval.multilingual and prev.version is not None:
        # the setting was switched on since the live version was written: complete it now
        from index.multilingual import complete_for, mark_complete, side_model_name

        name = side_model_name(run.settings)
        if complete_for(run.store.path, name) != prev.version:  # else known complete: nothing to read
            with run.timer.stage("previous"):
                chunks = run.store.read_chunks(prev.version)
            _multilingual_vectors(run, chunks)
            with run.timer.stage("multilingual"):
                mark_complete(run.store.path, name, prev.version)
    # leftovers of a killed run whose files are all indexed now (after the side pass: it reads its own)
    with run.timer.stage("staging"):
        run.store.clear_staging()


def _process_new_and_changed(run: _Run, prev: Previous, plan: Plan) -> tuple[list[Processed], int]:
    """Extract, chunk and embed the files to process; returns them and the vector dimension."""
    processed: list[Processed] = []
    dim = prev.meta.dim if prev.meta is not None else 0
    if plan.todo:
        with run.timer.stage("model"):
            emb = run.options.embedder or load_embedder(run.identity.spec)
        dim = emb.dim
        with run.timer.stage("previous"):  # the live vectors of changed files' unchanged chunks
            cache = VectorCache(run.store, prev.version, [e.source for e in plan.todo], prev.by_source)
        progress = run.options.progress
        with run.timer.stage("plan"):
            pages = count_pages(plan.todo)
        progress.start(len(plan.todo), pages)
        try:
            processor = FileProcessor(
                settings=run.settings.ingest,
                store=run.store,
                embedder=emb,
                staging_key=run.identity.staging_key,
                cache=cache,
                summary=run.summary,
                timer=run.timer,
                progress=progress,
            )
            processed = processor.run(plan.todo)
        finally:
            progress.stop()
    return processed, dim


def _record_outcomes(run: _Run, prev: Previous, plan: Plan, processed: list[Processed]) -> None:
    """Report processed files as added or changed; a changed file that failed keeps its previous
    version, marked stale."""
    summary = run.summary
    done = {p.entry.source for p in processed}
    for e in plan.todo:
        old = prev.by_source.get(e.source)
        if e.source in done:
            (summary.changed if old is not None else summary.added).append(e.display)
        elif old is not None and old.root == str(e.root):
            problem = next((f.problem for f in summary.failed if f.source == e.source), "could not be read")
            plan.keep[e.source] = replace(old, stale=problem)
            summary.mark_kept(e.source)
            summary.stale.append(e.display)


def _something_to_write(prev: Previous, plan: Plan, processed: list[Processed]) -> bool:
    """A live version to replace, or documents for the first one."""
    return prev.version is not None or bool(processed or plan.reuse or plan.keep)


def _refuse_if_no_manuals(run: _Run) -> None:
    if not run.summary.failed:
        exts = ", ".join(run.settings.ingest.extensions)
        folders = ", ".join(shown for _, shown in run.roots)
        raise UserError(f"no manuals found in {folders} (looked for {exts})")


def _multilingual_vectors(run: _Run, chunks: Sequence[Chunk]) -> None:
    """The cross-lingual side vectors of every chunk the cache beside the index lacks. Each batch is
    staged at once: a run killed here leaves what it computed to the next run, which embeds only the
    rest (``multilingual_embedded`` counts what this run computed)."""
    from index.multilingual import complete_cache, load_multilingual_embedder, side_model_name

    progress = run.options.progress
    started = False

    def start(todo: int) -> None:
        nonlocal started
        progress.start(1, todo, unit="chunks (cross-lingual)")
        progress.file("multilingual-e5 side vectors")
        started = True

    with run.timer.stage("multilingual"):
        try:
            run.summary.multilingual_embedded += complete_cache(
                run.store.path,
                chunks,
                side_model_name(run.settings),
                lambda: load_multilingual_embedder(run.settings),
                run.store.staging_folder("multilingual"),
                on_missing=start,
                on_batch=lambda n: progress.advance(n, n),
            )
        finally:
            if started:
                progress.stop()


def _commit_new_version(run: _Run, prev: Previous, plan: Plan, processed: list[Processed], dim: int) -> None:
    """Write the complete new version aside and swap it in; then staging is no longer needed."""
    summary = run.summary
    with run.timer.stage("write"):
        docs, chunks, vectors, origin = assemble(run.store, prev.version, plan, processed, dim)
        if run.settings.retrieval.multilingual:
            # before the swap: the new version is complete when it goes live. assemble streams the
            # chunks; the side pass reads them first.
            chunks = iter(listed := list(chunks))
            _multilingual_vectors(run, listed)
        summary.chunks_total = len(vectors)
        summary.documents_total = len(docs)
        with run.timer.stage("ann"):
            ann = ann_for(vectors, run.settings.index, run.store, prev.version, origin)
        meta = run.store.write_version(
            {
                "embedding_backend": run.identity.backend,
                "embedding_model": run.identity.model,
                "dim": int(dim),
                "normalized": True,
                "metric": "cosine",
                "chunker": run.identity.chunker,
                "ann": ann.kind,
            },
            docs,
            chunks,
            vectors,
            ann=ann,
            keep_versions=run.settings.index.keep_versions,
        )
        run.store.clear_staging()
    if ann.kind != "flat":
        summary.ann = f"{ann.kind} {'carried' if ann.carried else 'built'} ({ann.reason})"
        log.info("approximate index %s", summary.ann)
    summary.version = meta.version
    summary.committed = True
    if run.settings.retrieval.multilingual:
        from index.multilingual import mark_complete, side_model_name

        with run.timer.stage("multilingual"):
            mark_complete(run.store.path, side_model_name(run.settings), meta.version)
