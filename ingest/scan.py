"""Scanning the manual folders: which files there are (and which are excluded or of a type ingest
cannot read, each named), their equipment tags, and the SHA-256 of each."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

from core.errors import FileProblem
from index.types import DocumentRecord

from .exclude import Rules, count_files
from .summary import Failure, Skipped
from .tags import SIDECAR, Sidecar, tags_for


@dataclass
class FileEntry:
    root: Path  # absolute folder given on the command line
    display_root: str  # the folder as the user typed it (for messages)
    path: Path
    source: str  # relative to root, '/' separated
    size: int
    sha256: str = ""
    equipment: list[str] = field(default_factory=list)  # tags (ingest/tags.py)

    @property
    def display(self) -> str:
        return os.path.join(self.display_root, self.source)


@dataclass
class Unreadable:
    """A folder under a root that could not be listed: what was indexed from it is kept (stale)."""

    root: str  # absolute root folder
    rel: str  # folder relative to root, '/' separated ("" for the root itself)
    reason: str
    failure: Failure  # the run's failure for this folder: says whether anything indexed under it is kept

    def holds(self, doc: DocumentRecord) -> bool:
        return doc.root == self.root and (not self.rel or doc.source.startswith(self.rel + "/"))


@dataclass(frozen=True)
class ScanOptions:
    extensions: frozenset[str]
    rules: Rules  # the run's exclusion rules (ignore files are added as the walk meets them)
    equipment_from_folders: bool = True


@dataclass
class Scanned:
    """Everything a walk found: the files to ingest, and everything it did not take, with why."""

    entries: list[FileEntry] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    unreadable: list[Unreadable] = field(default_factory=list)
    excluded: list[Skipped] = field(default_factory=list)
    unsupported: list[Skipped] = field(default_factory=list)


# Files of the folder's own configuration: read by ingest, never reported as unsupported.
CONFIG_FILES = (SIDECAR,)


def scan(roots: list[tuple[Path, str]], options: ScanOptions) -> Scanned:
    """Walk folders (following symlinks, guarding against loops); nothing is skipped unreported."""
    out = Scanned()
    for root, shown in roots:
        _scan_root(root, shown, options, out)
    return out


def _scan_root(root: Path, shown: str, options: ScanOptions, out: Scanned) -> None:
    seen_dirs: set[str] = set()
    rules_at: dict[str, Rules] = {}
    sidecars_at: dict[str, list[Sidecar]] = {}

    def on_error(err: OSError) -> None:
        where = err.filename or str(root)
        rel = os.path.relpath(where, root)
        disp = os.path.join(shown, rel) if rel != "." else shown
        reason = "permission denied" if isinstance(err, PermissionError) else (err.strerror or str(err))
        failure = Failure(disp, f"cannot list folder ({reason})", folder=True)
        out.failures.append(failure)
        out.unreadable.append(
            Unreadable(str(root), "" if rel == "." else Path(rel).as_posix(), reason, failure)
        )

    for dirpath, dirnames, filenames in os.walk(root, onerror=on_error, followlinks=True):
        real = os.path.realpath(dirpath)
        if real in seen_dirs:
            dirnames[:] = []
            continue
        seen_dirs.add(real)
        rel_dir = Path(dirpath).relative_to(root).as_posix()
        rel_dir = "" if rel_dir == "." else rel_dir
        parent = rel_dir.rsplit("/", 1)[0] if "/" in rel_dir else ""
        rules = rules_at.get(parent, options.rules) if rel_dir else options.rules
        sidecars = list(sidecars_at.get(parent, [])) if rel_dir else []

        def shown_path(name: str, rel_dir: str = rel_dir) -> str:
            return os.path.join(shown, rel_dir, name) if rel_dir else os.path.join(shown, name)

        try:
            rules = rules.with_ignore_file(Path(dirpath), rel_dir, shown_path(options.rules.ignore_file))
        except FileProblem as exc:
            out.failures.append(Failure(exc.path, exc.problem))
        if SIDECAR in filenames:
            try:
                sidecars.append(Sidecar.read(Path(dirpath) / SIDECAR, rel_dir, shown_path(SIDECAR)))
            except FileProblem as exc:
                out.failures.append(Failure(exc.path, exc.problem))
        rules_at[rel_dir], sidecars_at[rel_dir] = rules, sidecars

        keep_dirs = []
        for d in sorted(dirnames):
            rel = f"{rel_dir}/{d}" if rel_dir else d
            why = "hidden folder" if d.startswith(".") else rules.excluded(rel + "/")
            if why is None:
                keep_dirs.append(d)
            else:
                n = count_files(os.path.join(dirpath, d))
                out.excluded.append(Skipped(shown_path(d) + "/", f"{why} ({n} file{'s' * (n != 1)})"))
        dirnames[:] = keep_dirs

        for name in sorted(filenames):
            rel = f"{rel_dir}/{name}" if rel_dir else name
            if name in CONFIG_FILES or name == options.rules.ignore_file:
                continue
            why = "hidden file" if name.startswith(".") else rules.excluded(rel)
            if why is not None:
                out.excluded.append(Skipped(shown_path(name), why))
                continue
            path = Path(dirpath) / name
            suffix = path.suffix.lower()
            if suffix not in options.extensions:
                out.unsupported.append(Skipped(shown_path(name), suffix or "(no extension)"))
                continue
            try:
                size = path.stat().st_size
            except OSError as exc:
                out.failures.append(Failure(shown_path(name), f"cannot read ({exc.strerror})", rel))
                continue
            tags = tags_for(rel, sidecars, options.equipment_from_folders)
            out.entries.append(FileEntry(root, shown, path, rel, size, equipment=tags))


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def hash_files(entries: list[FileEntry], failed: list[Failure]) -> dict[str, FileEntry]:
    """Fill in each entry's SHA-256; returns the hashed entries by source.

    A file that cannot be read, or whose relative path another folder of the run already
    holds, is appended to ``failed`` instead.
    """
    by_source: dict[str, FileEntry] = {}
    for e in entries:
        other = by_source.get(e.source)
        if other is not None and other.root != e.root:
            failed.append(
                Failure(e.display, f"same relative path as {other.display}; rename one of them", e.source)
            )
            continue
        try:
            e.sha256 = sha256_file(e.path)
        except OSError as exc:
            reason = "permission denied" if isinstance(exc, PermissionError) else exc.strerror
            failed.append(Failure(e.display, f"cannot read ({reason})", e.source))
            continue
        by_source[e.source] = e
    return by_source
