"""Scanning the manual folders: which files there are, and the SHA-256 of each."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from index.types import DocumentRecord

from .summary import Failure


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
