"""On-disk layout of an index, written crash-safely.

::

    <index>/
      CURRENT               name of the live version (replaced atomically with os.replace)
      .lock                 held (flock) by the one process allowed to write
      versions/<version>/   one complete, immutable index version
          meta.json         model, dimension, normalisation, chunker version, counts
          documents.json    manifest: one record per file (path, sha256, pages, extractors)
          chunks.jsonl      chunk text and citation metadata; line i is vector row i
          vectors.npy       float32 [chunks x dim], L2-normalised
          ann.faiss         approximate index, only when the index is large (may be a hard link
                            to the previous version's graph, then with ann_rows.npy: index/segments.py)
          ann_rows.npy      graph id -> row of this version, -1 for a removed chunk
      staging/<sha>.npz     chunks+vectors of files embedded by a run that has not committed yet
      staging/multilingual/ the cross-lingual side vectors of that run, one file per batch
      ocr-cache/<sha>/...   each page read by OCR, written at once (a killed run continues from it)

A new version is built in ``versions/.tmp-*``, fsynced, renamed into place, and only then
named in CURRENT. Killing the writer at any moment leaves CURRENT pointing at a complete
version. Work finished before a crash survives in ``staging/`` and the next run reuses it.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import logging
import os
import shutil
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

import numpy as np

from .errors import IndexCorruptError, IndexLockedError, IndexMissingError
from .segments import ANN_ROWS, AnnPlan
from .types import Chunk, DocumentRecord, IndexMeta

log = logging.getLogger(__name__)

CURRENT = "CURRENT"
LOCK = ".lock"
VERSIONS = "versions"
STAGING = "staging"


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_synced(path: Path, write: Callable[[IO[bytes]], object]) -> None:
    with open(path, "wb") as fh:
        write(fh)
        fh.flush()
        os.fsync(fh.fileno())


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class IndexStore:
    """Reads and writes index versions under one folder."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    # ------------------------------------------------------------------ reading
    def current_version(self) -> str | None:
        try:
            name = (self.path / CURRENT).read_text().strip()
        except FileNotFoundError:
            return None
        return name or None

    def version_dir(self, version: str | None = None) -> Path:
        version = version or self.current_version()
        if version is None:
            raise IndexMissingError(
                f"no index at {self.path}: build one first with `python ingest.py <manuals folder> "
                f"--index {self.path}`"
            )
        return self.path / VERSIONS / version

    def read_meta(self, version: str | None = None) -> IndexMeta:
        path = self.version_dir(version) / "meta.json"
        try:
            return IndexMeta.from_dict(json.loads(path.read_text()))
        except FileNotFoundError:
            raise IndexCorruptError(f"{path}: missing; the index folder is damaged, re-run ingest") from None
        except (ValueError, TypeError) as exc:
            raise IndexCorruptError(f"{path}: unreadable ({exc})") from exc

    def read_documents(self, version: str | None = None) -> list[DocumentRecord]:
        path = self.version_dir(version) / "documents.json"
        try:
            return [DocumentRecord.from_dict(d) for d in json.loads(path.read_text())]
        except FileNotFoundError:
            raise IndexCorruptError(f"{path}: missing; the index folder is damaged, re-run ingest") from None

    def read_chunks(self, version: str | None = None) -> list[Chunk]:
        path = self.version_dir(version) / "chunks.jsonl"
        try:
            with open(path, encoding="utf-8") as fh:
                return [Chunk.from_dict(json.loads(line)) for line in fh]
        except FileNotFoundError:
            raise IndexCorruptError(f"{path}: missing; the index folder is damaged, re-run ingest") from None

    def read_vectors(self, version: str | None = None, mmap: bool = True) -> np.ndarray:
        path = self.version_dir(version) / "vectors.npy"
        try:
            arr = np.load(path, mmap_mode="r" if mmap else None)
        except FileNotFoundError:
            raise IndexCorruptError(f"{path}: missing; the index folder is damaged, re-run ingest") from None
        except ValueError as exc:
            raise IndexCorruptError(f"{path}: unreadable ({exc})") from exc
        return arr

    def ann_path(self, version: str | None = None) -> Path:
        return self.version_dir(version) / "ann.faiss"

    def read_ann_rows(self, version: str | None = None) -> np.ndarray | None:
        """Graph id -> row of a version that carries an older graph (None: its graph is its own)."""
        path = self.version_dir(version) / ANN_ROWS
        if not path.exists():
            return None
        try:
            return np.asarray(np.load(path), dtype=np.int64)
        except ValueError as exc:
            raise IndexCorruptError(f"{path}: unreadable ({exc}); re-run ingest with --rebuild") from None

    # ------------------------------------------------------------------ locking
    @contextlib.contextmanager
    def writer_lock(self, wait_seconds: float = 0.0) -> Iterator[None]:
        """Exclusive writer lock; released by the OS if the process dies."""
        self.path.mkdir(parents=True, exist_ok=True)
        fh = open(self.path / LOCK, "a+")  # noqa: SIM115 - held for the whole block
        deadline = time.monotonic() + wait_seconds
        try:
            while True:
                try:
                    fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except OSError as exc:
                    if exc.errno not in (errno.EAGAIN, errno.EACCES):
                        raise
                    if time.monotonic() >= deadline:
                        fh.seek(0)
                        holder = fh.read().strip() or "another process"
                        raise IndexLockedError(
                            f"index {self.path} is being written by {holder}; wait for it to finish "
                            "or pass --wait SECONDS"
                        ) from None
                    time.sleep(0.2)
            fh.seek(0)
            fh.truncate()
            fh.write(f"pid {os.getpid()} since {now_iso()}")
            fh.flush()
            yield
        finally:
            with contextlib.suppress(OSError):
                fh.seek(0)
                fh.truncate()
            fh.close()  # closing releases the flock

    # ------------------------------------------------------------------ staging
    def _staging_file(self, sha: str) -> Path:
        return self.path / STAGING / f"{sha}.npz"

    def put_staged(self, sha: str, fingerprint: str, chunks: list[Chunk], vectors: np.ndarray) -> None:
        """Keep one embedded file so an interrupted run does not redo it."""
        target = self._staging_file(sha)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(f".{uuid.uuid4().hex}.tmp")
        payload = json.dumps([c.to_dict() for c in chunks]).encode()

        def write(fh: IO[bytes]) -> None:
            np.savez(
                fh,
                vectors=np.asarray(vectors, dtype=np.float32),
                chunks=np.frombuffer(payload, dtype=np.uint8),
                fingerprint=np.frombuffer(fingerprint.encode(), dtype=np.uint8),
            )

        _write_synced(tmp, write)
        os.replace(tmp, target)

    def get_staged(self, sha: str, fingerprint: str) -> tuple[list[Chunk], np.ndarray] | None:
        path = self._staging_file(sha)
        if not path.exists():
            return None
        try:
            with np.load(path) as z:
                if bytes(z["fingerprint"]).decode() != fingerprint:
                    return None
                chunks = [Chunk.from_dict(d) for d in json.loads(bytes(z["chunks"]).decode())]
                vectors = np.array(z["vectors"], dtype=np.float32)
        except Exception as exc:  # a torn or foreign file: ignore it, the work is redone
            log.warning("ignoring unreadable staged file %s: %s", path, exc)
            return None
        if len(chunks) != len(vectors):
            return None
        return chunks, vectors

    def staging_folder(self, name: str) -> Path:
        """A folder in the staging area for other work of a run that has not committed yet (the
        cross-lingual side vectors: index/multilingual.py); cleared with the staged files."""
        return self.path / STAGING / name

    def clear_staging(self) -> None:
        shutil.rmtree(self.path / STAGING, ignore_errors=True)

    # ------------------------------------------------------------------ writing
    def _next_version_name(self) -> str:
        existing = self.list_versions()
        n = int(existing[-1].split("-")[0][1:]) + 1 if existing else 1
        return f"v{n:06d}-{datetime.now(UTC).strftime('%Y%m%dT%H%M%S')}"

    def list_versions(self) -> list[str]:
        vdir = self.path / VERSIONS
        if not vdir.exists():
            return []
        return sorted(p.name for p in vdir.iterdir() if p.is_dir() and p.name.startswith("v"))

    def write_version(
        self,
        meta_fields: dict[str, object],
        documents: list[DocumentRecord],
        chunks: Iterable[Chunk],
        vectors: np.ndarray,
        ann: AnnPlan | None = None,
        keep_versions: int = 3,
    ) -> IndexMeta:
        """Write a complete version aside, then swap it in atomically. Caller holds the lock. A carried
        graph is hard-linked from the previous version (that version's file is never written)."""
        vroot = self.path / VERSIONS
        vroot.mkdir(parents=True, exist_ok=True)
        version = self._next_version_name()
        tmp = vroot / f".tmp-{version}-{uuid.uuid4().hex[:8]}"
        tmp.mkdir()
        try:
            n = 0

            def write_chunks(fh: IO[bytes]) -> None:
                nonlocal n
                for c in chunks:
                    fh.write(json.dumps(c.to_dict(), ensure_ascii=False).encode() + b"\n")
                    n += 1

            _write_synced(tmp / "chunks.jsonl", write_chunks)
            if n != len(vectors):
                raise IndexCorruptError(f"internal error: {n} chunks but {len(vectors)} vectors")
            _write_synced(tmp / "vectors.npy", lambda fh: np.save(fh, np.asarray(vectors, dtype=np.float32)))
            if ann is not None and ann.ann_bytes is not None:
                data = ann.ann_bytes
                _write_synced(tmp / "ann.faiss", lambda fh: fh.write(data))
            elif ann is not None and ann.link_from is not None and ann.ann_rows is not None:
                try:
                    os.link(ann.link_from, tmp / "ann.faiss")
                except OSError:  # a file system without hard links: a copy
                    shutil.copyfile(ann.link_from, tmp / "ann.faiss")
                rows = ann.ann_rows
                _write_synced(tmp / ANN_ROWS, lambda fh: np.save(fh, np.asarray(rows, dtype=np.int64)))
            docs_json = json.dumps([d.to_dict() for d in documents], ensure_ascii=False, indent=1).encode()
            _write_synced(tmp / "documents.json", lambda fh: fh.write(docs_json))
            meta = IndexMeta.from_dict(
                {
                    **meta_fields,
                    "version": version,
                    "created_at": now_iso(),
                    "chunk_count": n,
                    "document_count": len(documents),
                }
            )
            meta_json = json.dumps(meta.to_dict(), indent=1).encode()
            _write_synced(tmp / "meta.json", lambda fh: fh.write(meta_json))
            _fsync_dir(tmp)
            os.rename(tmp, vroot / version)
            _fsync_dir(vroot)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        # The swap: readers see either the old or the new version, never a mix.
        cur_tmp = self.path / f"{CURRENT}.tmp"
        _write_synced(cur_tmp, lambda fh: fh.write(version.encode()))
        os.replace(cur_tmp, self.path / CURRENT)
        _fsync_dir(self.path)
        self._collect_garbage(keep_versions)
        return meta

    def _collect_garbage(self, keep_versions: int) -> None:
        versions = self.list_versions()
        current = self.current_version()
        for old in versions[: max(0, len(versions) - keep_versions)]:
            if old != current:
                shutil.rmtree(self.path / VERSIONS / old, ignore_errors=True)
        vroot = self.path / VERSIONS
        for leftover in vroot.glob(".tmp-*"):  # from writers that were killed
            shutil.rmtree(leftover, ignore_errors=True)
