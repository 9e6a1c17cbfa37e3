"""Processing new and changed files: extract + chunk (in a worker thread) + embed, staged per file.

The next file is extracted and chunked while the current one is embedded. A file's vectors come
from, in this order: an identical file embedded earlier in this run (a copy), the staging area of
an interrupted run, or the model, which embeds only chunk texts not already embedded (in the live
version of a changed file, or in this run). Each embedded file is staged on disk at once, so a
run that is killed loses at most the file it was working on.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from core.errors import FileProblem, UserError
from index.embeddings import Embedder
from index.store import IndexStore, now_iso
from index.types import Chunk, DocumentRecord

from . import ocr as ocr_module
from .chunking import chunk_document, embedding_text
from .extract import extract, strip_running_lines
from .office import SPREADSHEET_KINDS
from .scan import FileEntry
from .sheets import locate_rows
from .slides import count_slides
from .summary import Failure, Progress, Summary, Timer

if TYPE_CHECKING:
    from core.settings import IngestSettings

log = logging.getLogger("ingest.pipeline")  # the name the CLI's log lines have always carried

EMBED_SLICE = 64  # chunks per embedding call (progress granularity)


@dataclass
class Processed:
    entry: FileEntry
    record: DocumentRecord
    chunks: list[Chunk]
    vectors: np.ndarray


def _text_key(text: str) -> bytes:
    return hashlib.blake2b(text.encode(), digest_size=16).digest()


class VectorCache:
    """Vectors of chunk texts already embedded: in the previous version of changed files, or in this run."""

    def __init__(
        self,
        store: IndexStore,
        prev_version: str | None,
        sources: list[str],
        prev_by_source: dict[str, DocumentRecord],
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


def _pages(path: Path) -> int:
    suffix = path.suffix.lower()
    if suffix == ".pdf":
        return _pdf_pages(path)
    if suffix == ".pptx":
        return count_slides(path)
    return 1


def count_pages(todo: list[FileEntry]) -> int:
    """Pages the progress bar counts: a PDF's pages, a presentation's slides, 1 for any other file."""
    return sum(_pages(e.path) for e in todo)


def extract_and_chunk(
    entry: FileEntry,
    settings: IngestSettings,
    count_tokens: Callable[[Sequence[str]], list[int]],
    timer: Timer,
    ocr: ocr_module.OcrContext | None = None,
) -> tuple[DocumentRecord, list[Chunk]]:
    """``ocr``: the run's OCR context (None: pages without a text layer stay unread). ``timer``: the
    file's own (this runs in the extract thread, beside the run's stages)."""
    t0 = time.perf_counter()
    doc = extract(entry.path, settings.pdf_extractor, ocr.for_file(entry.sha256) if ocr is not None else None)
    if settings.strip_headers and doc.kind == "pdf":
        strip_running_lines(doc.pages)
    t1 = time.perf_counter()
    chunks = chunk_document(
        doc,
        entry.source,
        entry.sha256,
        count_tokens,
        chunk_tokens=settings.chunk_tokens,
        overlap_tokens=settings.overlap_tokens,
    )
    if doc.kind in SPREADSHEET_KINDS:  # cite the sheet and its rows
        chunks = locate_rows(chunks)
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
        ocr_confidence={str(n): c for n, c in doc.ocr_confidence.items()},
        ocr_tried=doc.ocr_tried,
    )
    return record, chunks


@dataclass
class FileProcessor:
    """Turns the files of a run into records, chunks and vectors; failures go into the summary."""

    settings: IngestSettings
    store: IndexStore
    embedder: Embedder
    staging_key: str  # staged vectors from another model or chunker are not reused
    cache: VectorCache
    summary: Summary
    timer: Timer
    progress: Progress

    def run(self, todo: list[FileEntry]) -> list[Processed]:
        """Extract+chunk the next file in a worker thread while the current one is embedded."""
        out: list[Processed] = []
        done_by_sha: dict[str, Processed] = {}
        summary, progress = self.summary, self.progress

        # OCR for pages without a text layer, once per run (None: off or tesseract not installed);
        # its page cache lives under the index folder.
        with self.timer.stage("extract"):
            ocr = ocr_module.context(self.settings, self.store.path)

        with (
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="extract") as pool,
            ocr_module.stop_on_error(ocr),
        ):
            futures: dict[int, Future[tuple[DocumentRecord, list[Chunk]]]] = {}
            work: dict[int, dict[str, float]] = {}  # the extract thread's seconds per file and stage

            def submit(i: int) -> None:
                if i < len(todo) and i not in futures:
                    work[i] = {}
                    futures[i] = pool.submit(
                        extract_and_chunk,
                        todo[i],
                        self.settings,
                        self.embedder.count_tokens,
                        Timer(work[i]),
                        ocr,
                    )

            submit(0)
            for i, e in enumerate(todo):
                submit(i + 1)
                progress.file(e.display)
                doc_pages = 1
                try:
                    record, chunks = self._result(futures.pop(i), work.pop(i))
                    doc_pages = max(1, record.pages)
                    summary.pages_processed += record.pages
                    for w in record.warnings:
                        summary.warnings.append(f"{e.display}: {w}")
                    if record.ocr_confidence:
                        summary.ocr[e.display] = dict(record.ocr_confidence)
                    vectors = self._vectors_for(e, chunks, doc_pages, done_by_sha)
                    p = Processed(e, record, chunks, vectors)
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

    def _result(
        self, future: Future[tuple[DocumentRecord, list[Chunk]]], work: dict[str, float]
    ) -> tuple[DocumentRecord, list[Chunk]]:
        """One file's record and chunks from the extract thread. The thread works while the previous
        file is embedded, so its own seconds would count twice in the run's stages; the run's stages
        get the time the run waited for it (as extract and chunk, in the proportion the thread spent on
        each), worker_seconds the thread's own."""
        t0 = time.perf_counter()
        try:
            return future.result()
        finally:
            waited = time.perf_counter() - t0
            busy = sum(work.values())
            for stage, dt in work.items():
                self.summary.worker_seconds[stage] = self.summary.worker_seconds.get(stage, 0.0) + dt
                self.timer.add(stage, waited * dt / busy if busy > 0 else 0.0)
            if busy <= 0:  # extraction failed before its time was recorded
                self.timer.add("extract", waited)

    def _vectors_for(
        self, e: FileEntry, chunks: list[Chunk], doc_pages: int, done_by_sha: dict[str, Processed]
    ) -> np.ndarray:
        # 1) identical content embedded earlier in this run (a copy under another name)
        twin = done_by_sha.get(e.sha256)
        if twin is not None:
            self._count_reused(chunks, doc_pages)
            return twin.vectors
        # 2) staged by an earlier, interrupted run
        with self.timer.stage("staging"):
            staged = self.store.get_staged(e.sha256, self.staging_key)
        if staged is not None and len(staged[0]) == len(chunks):
            self._count_reused(chunks, doc_pages)
            return staged[1]
        # 3) embedded now, and staged at once
        with self.timer.stage("embed"):
            vectors = self._embed(chunks, doc_pages)
        with self.timer.stage("staging"):
            self.store.put_staged(e.sha256, self.staging_key, chunks, vectors)
        return vectors

    def _count_reused(self, chunks: list[Chunk], doc_pages: int) -> None:
        self.summary.chunks_reused += len(chunks)
        self.progress.advance(doc_pages, len(chunks))

    def _embed(self, chunks: list[Chunk], doc_pages: int) -> np.ndarray:
        emb, cache, summary, progress = self.embedder, self.cache, self.summary, self.progress
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
            vecs = emb.embed_documents([texts[i] for i in idx])
            for j, i in enumerate(idx):
                vectors[i] = vecs[j]
                cache.put(texts[i], vecs[j])
            summary.chunks_embedded += len(idx)
            progress.advance(per_chunk * len(idx), len(idx))
        return vectors
