"""Incremental, crash-safe ingestion of manual folders into an index.

One run: scan the folders, hash every file, compare with the live index's manifest, then
extract + chunk + embed only what is new or changed, and commit a complete new index
version atomically. Unchanged files keep their chunks and vectors; a renamed or copied file
reuses the chunks of the identical content; a changed file reuses the vectors of chunks whose
text did not change. Each embedded file is staged on disk at once, so a run that is killed
loses at most the file it was working on.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from index.embeddings import Embedder, backend_identity, load_embedder, model_identity, spec_from_settings
from index.errors import FileProblem, IndexMismatchError, UserError
from index.search import build_ann, choose_ann, serialize_ann
from index.store import IndexStore, now_iso
from index.types import Chunk, DocumentRecord, IndexMeta

from .chunking import CHUNKER_VERSION, chunk_document, embedding_text
from .extract import EXTRACTOR_VERSION, extract, strip_running_lines

log = logging.getLogger(__name__)

EMBED_SLICE = 64  # chunks per embedding call (progress granularity)


class Progress(Protocol):
    def start(self, files: int, pages: int) -> None: ...
    def file(self, name: str) -> None: ...
    def advance(self, pages: float, chunks: int) -> None: ...
    def stop(self) -> None: ...


class _NoProgress:
    def start(self, files: int, pages: int) -> None:
        pass

    def file(self, name: str) -> None:
        pass

    def advance(self, pages: float, chunks: int) -> None:
        pass

    def stop(self) -> None:
        pass


@dataclass
class FileEntry:
    root: Path  # absolute folder given on the command line
    display_root: str  # the folder as the user typed it (for messages)
    path: Path
    source: str  # relative to root, '/' separated
    size: int
    sha256: str = ""

    @property
    def display(self) -> str:
        return os.path.join(self.display_root, self.source)


@dataclass
class Failure:
    path: str  # as the user would type it (folder argument + relative path)
    problem: str
    source: str | None = None  # index source path when the failure is about one file
    kept_previous: bool = False

    def line(self) -> str:
        tail = " (previous version of this file stays in the index)" if self.kept_previous else ""
        return f"{self.path}: {self.problem}{tail}"


@dataclass
class Summary:
    index: str
    version: str | None = None
    committed: bool = False
    files_seen: int = 0
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    renamed: list[str] = field(default_factory=list)
    unchanged: int = 0
    removed: list[str] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)  # kept from the previous version: unreadable now
    failed: list[Failure] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    pages_processed: int = 0
    chunks_total: int = 0
    chunks_embedded: int = 0
    chunks_reused: int = 0
    documents_total: int = 0
    seconds: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "version": self.version,
            "committed": self.committed,
            "files_seen": self.files_seen,
            "added": self.added,
            "changed": self.changed,
            "renamed": self.renamed,
            "unchanged": self.unchanged,
            "removed": self.removed,
            "stale": self.stale,
            "failed": [
                {"path": f.path, "problem": f.problem, "kept_previous": f.kept_previous} for f in self.failed
            ],
            "warnings": self.warnings,
            "pages_processed": self.pages_processed,
            "chunks_total": self.chunks_total,
            "chunks_embedded": self.chunks_embedded,
            "chunks_reused": self.chunks_reused,
            "documents_total": self.documents_total,
            "seconds": {k: round(v, 3) for k, v in self.seconds.items()},
        }


class _Timer:
    def __init__(self, seconds: dict[str, float]) -> None:
        self.seconds = seconds

    def add(self, stage: str, dt: float) -> None:
        self.seconds[stage] = self.seconds.get(stage, 0.0) + dt

    def stage(self, name: str) -> _Stage:
        return _Stage(self, name)


class _Stage:
    def __init__(self, timer: _Timer, name: str) -> None:
        self.timer, self.name = timer, name

    def __enter__(self) -> None:
        self.t0 = time.perf_counter()

    def __exit__(self, *exc: object) -> None:
        self.timer.add(self.name, time.perf_counter() - self.t0)


# ------------------------------------------------------------------------------------ scanning
@dataclass
class Unreadable:
    """A folder under a root that could not be listed: what was indexed from it is kept (stale)."""

    root: str  # absolute root folder
    rel: str  # folder relative to root, '/' separated ("" for the root itself)
    reason: str

    def holds(self, doc: DocumentRecord) -> bool:
        return doc.root == self.root and (not self.rel or doc.source.startswith(self.rel + "/"))


def scan(
    roots: list[tuple[Path, str]], extensions: set[str]
) -> tuple[list[FileEntry], list[Failure], list[Unreadable]]:
    """Walk folders (following symlinks, guarding against loops)."""
    entries: list[FileEntry] = []
    failures: list[Failure] = []
    unreadable: list[Unreadable] = []
    for root, shown in roots:
        seen_dirs: set[str] = set()

        def on_error(err: OSError, shown: str = shown, root: Path = root) -> None:
            where = err.filename or str(root)
            rel = os.path.relpath(where, root)
            disp = os.path.join(shown, rel) if rel != "." else shown
            reason = "permission denied" if isinstance(err, PermissionError) else (err.strerror or str(err))
            failures.append(Failure(disp, f"cannot list folder ({reason})"))
            unreadable.append(Unreadable(str(root), "" if rel == "." else Path(rel).as_posix(), reason))

        for dirpath, dirnames, filenames in os.walk(root, onerror=on_error, followlinks=True):
            real = os.path.realpath(dirpath)
            if real in seen_dirs:
                dirnames[:] = []
                continue
            seen_dirs.add(real)
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            for name in sorted(filenames):
                if name.startswith((".", "~$")):
                    continue
                path = Path(dirpath) / name
                if path.suffix.lower() not in extensions:
                    continue
                source = path.relative_to(root).as_posix()
                try:
                    size = path.stat().st_size
                except OSError as exc:
                    failures.append(
                        Failure(os.path.join(shown, source), f"cannot read ({exc.strerror})", source)
                    )
                    continue
                entries.append(FileEntry(root, shown, path, source, size))
    return entries, failures, unreadable


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _text_key(text: str) -> bytes:
    return hashlib.blake2b(text.encode(), digest_size=16).digest()


def _pdf_pages(path: Path) -> int:
    try:
        import pypdfium2 as pdfium

        pdf = pdfium.PdfDocument(str(path))
        try:
            return len(pdf)
        finally:
            pdf.close()
    except Exception:
        return 1


# ------------------------------------------------------------------------------------ the run
@dataclass
class _Processed:
    entry: FileEntry
    record: DocumentRecord
    chunks: list[Chunk]
    vectors: np.ndarray


def chunker_fingerprint(settings: Any) -> str:
    ing = settings.ingest
    return (
        f"{CHUNKER_VERSION}/{EXTRACTOR_VERSION}/pdf={ing.pdf_extractor}/tok={ing.chunk_tokens}"
        f"/ov={ing.overlap_tokens}/strip={int(ing.strip_headers)}"
    )


def run_ingest(
    folders: list[str | Path],
    settings: Any,
    *,
    rebuild: bool = False,
    allow_delete: bool = False,
    wait_seconds: float = 0.0,
    progress: Progress | None = None,
    embedder: Embedder | None = None,
) -> Summary:
    """Bring the index at ``settings.index.path`` in line with ``folders``."""
    progress = progress or _NoProgress()
    store = IndexStore(settings.index.path)
    summary = Summary(index=str(store.path))
    timer = _Timer(summary.seconds)
    spec = spec_from_settings(settings.embedding)
    want_model = model_identity(spec)
    chunker = chunker_fingerprint(settings)
    fingerprint = f"{want_model}|{backend_identity(spec)}|{chunker}"

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

    try:
        lock = store.writer_lock(wait_seconds)
        lock.__enter__()
    except PermissionError:
        raise UserError(f"index folder {store.path}: permission denied (cannot write there)") from None
    try:
        return _run_locked(
            store,
            roots,
            folders,
            settings,
            summary,
            timer,
            spec,
            want_model,
            chunker,
            fingerprint,
            rebuild,
            allow_delete,
            progress,
            embedder,
        )
    finally:
        lock.__exit__(None, None, None)


def _run_locked(
    store: IndexStore,
    roots: list[tuple[Path, str]],
    folders: list[str | Path],
    settings: Any,
    summary: Summary,
    timer: _Timer,
    spec: Any,
    want_model: str,
    chunker: str,
    fingerprint: str,
    rebuild: bool,
    allow_delete: bool,
    progress: Progress,
    embedder: Embedder | None,
) -> Summary:
    t_start = time.perf_counter()
    # ---- previous state
    prev_version = None if rebuild else store.current_version()
    prev_meta: IndexMeta | None = store.read_meta(prev_version) if prev_version else None
    prev_docs = store.read_documents(prev_version) if prev_version else []
    if prev_meta is not None and prev_meta.embedding_model != want_model:
        raise IndexMismatchError(
            f"index {store.path} was built with embedding model {prev_meta.embedding_model!r}; the settings "
            f"ask for {want_model!r}. Pass --rebuild to re-embed everything with the new model "
            "(the current index stays live until the rebuild completes)."
        )
    rechunk = prev_meta is not None and prev_meta.chunker != chunker

    # ---- scan and hash
    with timer.stage("scan"):
        entries, failures, unreadable = scan(roots, {e.lower() for e in settings.ingest.extensions})
        summary.failed.extend(failures)
        if rebuild and unreadable:
            raise UserError(
                f"cannot rebuild while a folder cannot be read ({unreadable[0].rel or unreadable[0].root}: "
                f"{unreadable[0].reason}): its documents would be lost. Nothing was changed."
            )
        by_source: dict[str, FileEntry] = {}
        for e in entries:
            other = by_source.get(e.source)
            if other is not None and other.root != e.root:
                summary.failed.append(
                    Failure(e.display, f"same relative path as {other.display}; rename one of them", e.source)
                )
                continue
            try:
                e.sha256 = sha256_file(e.path)
            except OSError as exc:
                reason = "permission denied" if isinstance(exc, PermissionError) else exc.strerror
                summary.failed.append(Failure(e.display, f"cannot read ({reason})", e.source))
                continue
            by_source[e.source] = e
    summary.files_seen = len(by_source) + len(summary.failed)

    # ---- plan
    prev_by_source = {d.source: d for d in prev_docs}
    prev_by_sha = {d.sha256: d for d in prev_docs}
    root_strs = {str(r) for r, _ in roots}
    keep: dict[str, DocumentRecord] = {}  # source -> record carried over (chunks from prev version)
    reuse: dict[
        str, tuple[FileEntry, DocumentRecord]
    ] = {}  # new source -> (entry, prev record with same sha)
    todo: list[FileEntry] = []
    for src, e in sorted(by_source.items()):
        prev_doc = prev_by_source.get(src)
        if prev_doc is not None and prev_doc.sha256 == e.sha256 and not rechunk:
            keep[src] = replace(prev_doc, root=str(e.root), stale="")
            summary.unchanged += 1
        elif e.sha256 in prev_by_sha and not rechunk:
            reuse[src] = (e, prev_by_sha[e.sha256])
        else:
            todo.append(e)
    failed = {f.source: f.problem for f in summary.failed if f.source}
    removed: list[DocumentRecord] = []
    for d in prev_docs:
        if d.source in by_source or d.source in keep:
            continue
        if d.root not in root_strs:
            keep[d.source] = d  # belongs to a folder not part of this run
            continue
        # A file or folder that could not be read keeps what was indexed from it, like an
        # unmounted share; only a readable folder without the file removes it.
        folder = next((u for u in unreadable if u.holds(d)), None)
        if d.source in failed or folder is not None:
            why = failed.get(d.source) or f"folder {folder.rel or '.'} could not be read ({folder.reason})"  # type: ignore[union-attr]
            keep[d.source] = replace(d, stale=why)
            _mark_kept(summary, d.source)
            summary.stale.append(os.path.join(_shown_for(d.root, roots), d.source))
        else:
            removed.append(d)
    # A removed path whose content reappears under another name is a rename, not a deletion.
    moved_from = {old.source: src for src, (_, old) in reuse.items()}
    renames = [d for d in removed if d.source in moved_from]
    removed = [d for d in removed if d.source not in moved_from]
    summary.renamed = [
        f"{os.path.join(_shown_for(d.root, roots), d.source)} -> {moved_from[d.source]}" for d in renames
    ] + [e.display for src, (e, old) in reuse.items() if old.source not in {d.source for d in renames}]
    for r, shown in roots:
        before = [d for d in prev_docs if d.root == str(r)]
        gone = [d for d in removed if d.root == str(r)]
        if gone and not allow_delete and len(gone) > settings.ingest.max_delete_fraction * len(before):
            raise UserError(
                f"{shown}: {len(gone)} of the {len(before)} indexed documents from this folder are gone "
                "(unmounted share? wrong folder?). Nothing was changed. Pass --allow-delete to remove them."
            )
    summary.removed = [os.path.join(_shown_for(d.root, roots), d.source) for d in removed]

    # Nothing to write when nothing changed, including which documents are stale.
    stale_now = {src: d.stale for src, d in keep.items()}
    stale_before = {d.source: d.stale for d in prev_docs}
    same_stale = all(stale_before.get(src, "") == why for src, why in stale_now.items())
    if not todo and not reuse and not removed and prev_version is not None and same_stale:
        store.clear_staging()  # leftovers of a killed run whose files are all indexed now
        summary.version = prev_version
        summary.documents_total = len(prev_docs)
        summary.chunks_total = prev_meta.chunk_count if prev_meta else 0
        summary.seconds["total"] = time.perf_counter() - t_start
        return summary

    # ---- process new and changed files
    processed: list[_Processed] = []
    dim = prev_meta.dim if prev_meta is not None else 0
    if todo:
        emb = embedder or load_embedder(spec)
        dim = emb.dim
        cache = _VectorCache(store, prev_version, [e.source for e in todo], prev_by_source)
        pages_total = sum(_pdf_pages(e.path) if e.path.suffix.lower() == ".pdf" else 1 for e in todo)
        progress.start(len(todo), pages_total)
        try:
            processed = _process(todo, settings, store, emb, fingerprint, cache, summary, timer, progress)
        finally:
            progress.stop()
    done = {p.entry.source for p in processed}
    for e in todo:
        prev = prev_by_source.get(e.source)
        if e.source in done:
            (summary.changed if prev is not None else summary.added).append(e.display)
        elif prev is not None and prev.root == str(e.root):
            # failed to re-ingest: keep what we had, marked as out of date
            problem = next((f.problem for f in summary.failed if f.source == e.source), "could not be read")
            keep[e.source] = replace(prev, stale=problem)
            _mark_kept(summary, e.source)
            summary.stale.append(e.display)
    if prev_version is None and not processed and not reuse and not keep:
        if not summary.failed:
            exts = ", ".join(settings.ingest.extensions)
            raise UserError(f"no manuals found in {', '.join(str(f) for f in folders)} (looked for {exts})")
        summary.seconds["total"] = time.perf_counter() - t_start
        return summary  # every file failed: nothing to commit

    # ---- assemble and commit the new version
    with timer.stage("write"):
        docs, chunks, vectors = _assemble(store, prev_version, keep, reuse, processed, dim)
        summary.chunks_total = len(vectors)
        summary.documents_total = len(docs)
        ann_kind = choose_ann(len(vectors), settings.index.ann, settings.index.ann_threshold)
        ann_bytes = (
            serialize_ann(build_ann(vectors, ann_kind)) if ann_kind != "flat" and len(vectors) else None
        )
        meta = store.write_version(
            {
                "embedding_backend": backend_identity(spec),
                "embedding_model": want_model,
                "dim": int(dim),
                "normalized": True,
                "metric": "cosine",
                "chunker": chunker,
                "ann": ann_kind,
            },
            docs,
            chunks,
            vectors,
            ann_bytes=ann_bytes,
            keep_versions=settings.index.keep_versions,
        )
        store.clear_staging()
    summary.version = meta.version
    summary.committed = True
    summary.seconds["total"] = time.perf_counter() - t_start
    return summary


def _mark_kept(summary: Summary, source: str) -> None:
    for f in summary.failed:
        if f.source == source:
            f.kept_previous = True


def _shown_for(root: str, roots: list[tuple[Path, str]]) -> str:
    for r, shown in roots:
        if str(r) == root:
            return shown
    return root


class _VectorCache:
    """Vectors of chunk texts already embedded: in the previous version of changed files, or in this run."""

    def __init__(
        self, store: IndexStore, prev_version: str | None, sources: list[str], prev_by_source: dict[str, Any]
    ) -> None:
        self.map: dict[bytes, np.ndarray] = {}
        wanted = {s for s in sources if s in prev_by_source}
        if prev_version is None or not wanted:
            return
        vectors = store.read_vectors(prev_version, mmap=True)
        for row, c in enumerate(store.read_chunks(prev_version)):
            if c.source in wanted:
                self.map[_text_key(embedding_text(c))] = np.array(vectors[row])

    def get(self, text: str) -> np.ndarray | None:
        return self.map.get(_text_key(text))

    def put(self, text: str, vec: np.ndarray) -> None:
        self.map[_text_key(text)] = vec


def _extract_and_chunk(
    entry: FileEntry, settings: Any, count_tokens: Callable[[Any], list[int]], timer: _Timer
) -> tuple[DocumentRecord, list[Chunk]]:
    t0 = time.perf_counter()
    doc = extract(entry.path, settings.ingest.pdf_extractor)
    if settings.ingest.strip_headers and doc.kind == "pdf":
        strip_running_lines(doc.pages)
    t1 = time.perf_counter()
    chunks = chunk_document(
        doc,
        entry.source,
        entry.sha256,
        count_tokens,
        chunk_tokens=settings.ingest.chunk_tokens,
        overlap_tokens=settings.ingest.overlap_tokens,
    )
    t2 = time.perf_counter()
    timer.add("extract", t1 - t0)
    timer.add("chunk", t2 - t1)
    if not chunks:
        raise FileProblem(entry.display, "no text found to index")
    record = DocumentRecord(
        source=entry.source,
        root=str(entry.root),
        sha256=entry.sha256,
        size=entry.size,
        kind=doc.kind,
        title=doc.title,
        pages=doc.page_count,
        chunks=len(chunks),
        extractors=doc.extractor_counts(),
        pages_without_text=doc.pages_without_text,
        warnings=doc.warnings,
        ingested_at=now_iso(),
    )
    return record, chunks


def _process(
    todo: list[FileEntry],
    settings: Any,
    store: IndexStore,
    emb: Embedder,
    fingerprint: str,
    cache: _VectorCache,
    summary: Summary,
    timer: _Timer,
    progress: Progress,
) -> list[_Processed]:
    """Extract+chunk the next file in a worker thread while the current one is embedded."""
    out: list[_Processed] = []
    done_by_sha: dict[str, _Processed] = {}

    def staged_or_none(e: FileEntry) -> tuple[list[Chunk], np.ndarray] | None:
        return store.get_staged(e.sha256, fingerprint)

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="extract") as pool:
        futures: dict[int, Future[tuple[DocumentRecord, list[Chunk]]]] = {}

        def submit(i: int) -> None:
            if i < len(todo) and i not in futures:
                futures[i] = pool.submit(_extract_and_chunk, todo[i], settings, emb.count_tokens, timer)

        submit(0)
        for i, e in enumerate(todo):
            submit(i + 1)
            progress.file(e.display)
            doc_pages = 1
            try:
                record, chunks = futures.pop(i).result()
                doc_pages = max(1, record.pages)
                summary.pages_processed += record.pages
                for w in record.warnings:
                    summary.warnings.append(f"{e.display}: {w}")
                # 1) identical content embedded earlier in this run (a copy under another name)
                twin = done_by_sha.get(e.sha256)
                staged = staged_or_none(e) if twin is None else None
                if twin is not None:
                    vectors = twin.vectors
                    summary.chunks_reused += len(chunks)
                    progress.advance(doc_pages, len(chunks))
                # 2) staged by an earlier, interrupted run
                elif staged is not None and len(staged[0]) == len(chunks):
                    vectors = staged[1]
                    summary.chunks_reused += len(chunks)
                    progress.advance(doc_pages, len(chunks))
                else:
                    vectors = _embed(chunks, emb, cache, summary, timer, progress, doc_pages)
                    store.put_staged(e.sha256, fingerprint, chunks, vectors)
                p = _Processed(e, record, chunks, vectors)
                done_by_sha[e.sha256] = p
                out.append(p)
            except FileProblem as exc:
                summary.failed.append(Failure(e.display, exc.problem, e.source))
                progress.advance(doc_pages, 0)
            except UserError:
                raise
            except Exception as exc:  # a bug or an unexpected library error on this file
                log.exception("failed to ingest %s", e.display)
                summary.failed.append(
                    Failure(e.display, f"unexpected error: {type(exc).__name__}: {exc}", e.source)
                )
                progress.advance(doc_pages, 0)
    return out


def _embed(
    chunks: list[Chunk],
    emb: Embedder,
    cache: _VectorCache,
    summary: Summary,
    timer: _Timer,
    progress: Progress,
    doc_pages: int,
) -> np.ndarray:
    texts = [embedding_text(c) for c in chunks]
    vectors = np.zeros((len(texts), emb.dim), dtype=np.float32)
    missing: list[int] = []
    for i, t in enumerate(texts):
        v = cache.get(t)
        if v is None:
            missing.append(i)
        else:
            vectors[i] = v
    summary.chunks_reused += len(texts) - len(missing)
    per_chunk = doc_pages / max(1, len(texts))
    progress.advance(per_chunk * (len(texts) - len(missing)), len(texts) - len(missing))
    # Sort by length so each slice holds similar lengths (less padding), then embed in slices.
    missing.sort(key=lambda i: len(texts[i]))
    for s in range(0, len(missing), EMBED_SLICE):
        idx = missing[s : s + EMBED_SLICE]
        t0 = time.perf_counter()
        vecs = emb.embed_documents([texts[i] for i in idx])
        timer.add("embed", time.perf_counter() - t0)
        for j, i in enumerate(idx):
            vectors[i] = vecs[j]
            cache.put(texts[i], vecs[j])
        summary.chunks_embedded += len(idx)
        progress.advance(per_chunk * len(idx), len(idx))
    return vectors


def _assemble(
    store: IndexStore,
    prev_version: str | None,
    keep: dict[str, DocumentRecord],
    reuse: dict[str, tuple[FileEntry, DocumentRecord]],
    processed: list[_Processed],
    dim: int,
) -> tuple[list[DocumentRecord], Iterator[Chunk], np.ndarray]:
    """Collect chunks and vectors of the new version, ordered by source."""
    prev_rows: dict[str, list[int]] = {}
    prev_chunks: list[Chunk] = []
    prev_vectors: np.ndarray | None = None
    wanted = set(keep) | {d.source for _, d in reuse.values()}
    if prev_version is not None and wanted:
        prev_chunks = store.read_chunks(prev_version)
        prev_vectors = store.read_vectors(prev_version, mmap=True)
        for row, c in enumerate(prev_chunks):
            if c.source in wanted:
                prev_rows.setdefault(c.source, []).append(row)

    parts: list[tuple[DocumentRecord, list[Chunk], np.ndarray]] = []
    empty = np.zeros((0, dim), dtype=np.float32)
    for src, rec in keep.items():
        rows = prev_rows.get(src, [])
        vecs = np.asarray(prev_vectors[rows]) if prev_vectors is not None and rows else empty
        parts.append((rec, [prev_chunks[r] for r in rows], vecs))
    for src, (entry, old) in reuse.items():
        rows = prev_rows.get(old.source, [])
        vecs = np.asarray(prev_vectors[rows]) if prev_vectors is not None and rows else empty
        rec = replace(old, source=src, root=str(entry.root), size=entry.size, ingested_at=now_iso())
        parts.append((rec, [replace(prev_chunks[r], source=src) for r in rows], vecs))
    for p in processed:
        parts.append((p.record, p.chunks, p.vectors))
    parts.sort(key=lambda t: t[0].source)
    docs = [p[0] for p in parts]
    vectors = np.concatenate([p[2].reshape(-1, dim) for p in parts]) if parts else empty
    chunks = (c for p in parts for c in p[1])
    return docs, chunks, vectors.astype(np.float32, copy=False)
