"""What an ingest run reports: its Summary, the Failures in it, progress callbacks, stage timings."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass
class Failure:
    path: str  # as the user would type it (folder argument + relative path)
    problem: str
    source: str | None = None  # index source path when the failure is about one file
    kept_previous: bool = False
    folder: bool = False  # a folder that could not be listed (kept_previous: documents indexed under it)

    def line(self) -> str:
        kept = "what was indexed from this folder" if self.folder else "previous version of this file"
        tail = f" ({kept} stays in the index)" if self.kept_previous else ""
        return f"{self.path}: {self.problem}{tail}"


@dataclass(frozen=True)
class Skipped:
    """A file or folder the run did not read, and why (an exclusion rule, or a type it cannot read)."""

    path: str  # as the user would type it; a folder ends with '/'
    why: str


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
    excluded: list[Skipped] = field(default_factory=list)  # by an exclusion rule (ingest/exclude.py)
    unsupported: list[Skipped] = field(default_factory=list)  # why = the file's extension
    ocr: dict[str, dict[str, float]] = field(default_factory=dict)  # file -> page -> OCR confidence
    pages_processed: int = 0
    chunks_total: int = 0
    chunks_embedded: int = 0
    chunks_reused: int = 0
    multilingual_embedded: int = 0  # cross-lingual side vectors computed (retrieval.multilingual)
    documents_total: int = 0
    ann: str = ""  # the approximate index of the new version: built, or carried from the previous one
    seconds: dict[str, float] = field(default_factory=dict)  # per stage (Timer); they add up to "total"
    # extract + chunk work of the extract thread, done while the run embedded the file before
    # (only the part the run waited for is in ``seconds``)
    worker_seconds: dict[str, float] = field(default_factory=dict)

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
            "excluded": [{"path": x.path, "why": x.why} for x in self.excluded],
            "unsupported": {
                ext: [x.path for x in self.unsupported if x.why == ext] for ext in self.unsupported_counts()
            },
            "ocr": {path: {"pages": pages} for path, pages in self.ocr.items()},
            "pages_processed": self.pages_processed,
            "chunks_total": self.chunks_total,
            "chunks_embedded": self.chunks_embedded,
            "chunks_reused": self.chunks_reused,
            "multilingual_embedded": self.multilingual_embedded,
            "documents_total": self.documents_total,
            "ann": self.ann,
            "seconds": {k: round(v, 3) for k, v in self.seconds.items()},
            "worker_seconds": {k: round(v, 3) for k, v in self.worker_seconds.items()},
        }

    def unsupported_counts(self) -> dict[str, int]:
        """Files of each type ingest cannot read, most frequent first."""
        counts: dict[str, int] = {}
        for x in self.unsupported:
            counts[x.why] = counts.get(x.why, 0) + 1
        return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))

    def mark_kept(self, source: str) -> None:
        """The failures about ``source`` keep its previous version in the index."""
        for f in self.failed:
            if f.source == source:
                f.kept_previous = True


class Progress(Protocol):
    def start(self, files: int, pages: int, unit: str = "pages") -> None: ...
    def file(self, name: str) -> None: ...
    def advance(self, pages: float, chunks: int) -> None: ...
    def stop(self) -> None: ...


class NoProgress:
    def start(self, files: int, pages: int, unit: str = "pages") -> None:
        pass

    def file(self, name: str) -> None:
        pass

    def advance(self, pages: float, chunks: int) -> None:
        pass

    def stop(self) -> None:
        pass


class Timer:
    """Adds up the wall time of a run per stage into a Summary's seconds, so that the stages add up
    to the run's wall time (``total``) and a slow run shows where its time went.

    Stages: ``scan`` (the folders walked), ``lock`` (waiting for another writer), ``previous`` (the
    live version read), ``hash``, ``plan`` (compared with the live version, pages counted),
    ``model`` (the embedding model loaded), ``extract`` and ``chunk`` (what the run waited for; the
    extract thread's own time is in worker_seconds), ``staging`` (vectors staged per file, read or
    written), ``embed``, ``multilingual`` (the cross-lingual side vectors: model, cache, embedding),
    ``write`` (the new version assembled and written), ``ann`` (the approximate index).

    Stages may nest: an inner stage's time is taken out of the outer one's, so no second is counted
    twice whatever calls what. Used by the run's own thread only.
    """

    def __init__(self, seconds: dict[str, float]) -> None:
        self.seconds = seconds
        self._open: list[_Stage] = []  # entered and not left yet, innermost last

    def add(self, stage: str, dt: float) -> None:
        """Time measured by the caller, outside any open stage (else that stage counts it too)."""
        self.seconds[stage] = self.seconds.get(stage, 0.0) + dt

    def stage(self, name: str) -> _Stage:
        return _Stage(self, name)


class _Stage:
    def __init__(self, timer: Timer, name: str) -> None:
        self.timer, self.name = timer, name
        self.since = 0.0  # when this stage last started counting (entered, or an inner stage left)

    def __enter__(self) -> None:
        now = time.perf_counter()
        if self.timer._open:  # the outer stage stops counting while this one runs
            outer = self.timer._open[-1]
            self.timer.add(outer.name, now - outer.since)
        self.since = now
        self.timer._open.append(self)

    def __exit__(self, *exc: object) -> None:
        now = time.perf_counter()
        self.timer.add(self.name, now - self.since)
        self.timer._open.pop()
        if self.timer._open:
            self.timer._open[-1].since = now
