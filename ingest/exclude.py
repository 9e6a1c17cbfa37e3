"""Which files of a manuals folder are not manuals: the exclusion rules, in gitignore syntax.

Three layers, later ones win (so ``!README-press.pdf`` in an ignore file takes one file back):

1. the built-in defaults (setting ``ingest.default_excludes``: licence texts, the share's READMEs
   and source lists, ``archive/`` and ``old/`` copies, editor and Office temp files), dropped by
   ``ingest.py --include-all``;
2. the setting ``ingest.exclude`` (applies to every folder);
3. the ignore file (setting ``ingest.ignore_file``, ``.opassistignore``) of the folder and of each
   folder above it up to the ingested one; its patterns are relative to the folder it sits in,
   as in git.

Every excluded file or folder is named in the ingest summary with the rule that excluded it:
nothing is skipped silently.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import pathspec

from core.errors import FileProblem


@dataclass(frozen=True)
class Layer:
    """One set of patterns and where it comes from (for the summary's "excluded by ...")."""

    origin: str  # "default", "setting ingest.exclude" or the ignore file's path as shown
    base: str  # folder the patterns are relative to ('' = the ingested folder), '/' separated
    patterns: tuple[str, ...]
    spec: pathspec.PathSpec = field(compare=False, repr=False)

    @classmethod
    def of(cls, origin: str, base: str, patterns: list[str]) -> Layer:
        lines = tuple(p for p in (ln.rstrip("\n") for ln in patterns) if p.strip())
        return cls(origin, base, lines, pathspec.GitIgnoreSpec.from_lines(lines))

    def decide(self, rel: str) -> tuple[bool, str] | None:
        """(excluded?, pattern) for a path relative to the ingested folder; None when no pattern matches.
        A folder's path ends with '/'."""
        if self.base:
            if not rel.startswith(self.base + "/"):
                return None
            rel = rel[len(self.base) + 1 :]
        res = self.spec.check_file(rel)
        if res.include is None or res.index is None:
            return None
        return bool(res.include), self.patterns[res.index]


@dataclass
class Rules:
    """The exclusion layers of one ingested folder; ignore files are read as the walk meets them."""

    layers: list[Layer]
    ignore_file: str

    @classmethod
    def for_run(cls, defaults: list[str], extra: list[str], ignore_file: str, include_all: bool) -> Rules:
        layers = []
        if defaults and not include_all:
            layers.append(Layer.of("default", "", defaults))
        if extra:
            layers.append(Layer.of("setting ingest.exclude", "", extra))
        return cls(layers, ignore_file)

    def with_ignore_file(self, folder: Path, rel_folder: str, shown: str) -> Rules:
        """These rules plus the folder's ignore file, if it has one (a bad one is a FileProblem)."""
        path = folder / self.ignore_file
        if not self.ignore_file or not path.is_file():
            return self
        try:
            lines = path.read_text(encoding="utf-8-sig").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise FileProblem(shown, f"cannot read the ignore file ({exc})") from None
        try:
            layer = Layer.of(shown, rel_folder, lines)
        except Exception as exc:  # pathspec's GitWildMatchPatternError and friends
            raise FileProblem(shown, f"bad pattern in the ignore file: {exc}") from None
        return Rules([*self.layers, layer], self.ignore_file)

    def excluded(self, rel: str) -> str | None:
        """Why ``rel`` (relative to the ingested folder; folders end with '/') is excluded, or None."""
        verdict: tuple[bool, str, str] | None = None
        for layer in self.layers:
            d = layer.decide(rel)
            if d is not None:
                verdict = (d[0], d[1], layer.origin)
        if verdict is None or not verdict[0]:
            return None
        _, pattern, origin = verdict
        return f"{origin} rule {pattern!r}" if origin != "default" else f"default rule {pattern!r}"


def count_files(folder: str) -> int:
    """Files below an excluded folder (the summary says how many were left out)."""
    return sum(len(files) for _, _, files in os.walk(folder))
