"""Equipment tags without hand configuration: which machines a manual belongs to.

A manual's tag is the first folder under the ingested folder (``manuals/press-2/HP-200.pdf`` ->
``press-2``), so a share organised by machine needs no configuration. A sidecar file
``equipment.toml`` in any folder overrides that for the folder and everything below it::

    # manuals/equipment.toml
    tags = ["press-line-2"]            # every manual here and below (may be [] for "no machine")

    [files]                            # per file, gitignore-style globs relative to this folder
    "HP-200*" = ["press"]
    "Lubrication_Notes.txt" = ["press", "conveyor"]

The deepest sidecar wins; within one, a ``[files]`` match beats ``tags``. Tags are lower-case
(``Press 2`` -> ``press-2``). The HMI's ``equipment=TAG`` then searches only the manuals carrying
that tag; a tag no manual carries is reported, never widened to every manual.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pathspec

from core.errors import FileProblem

SIDECAR = "equipment.toml"
_TAG = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")


def normalize_tag(tag: str) -> str:
    return re.sub(r"[\s/]+", "-", str(tag).strip().lower())


def valid_tag(tag: str) -> bool:
    return _TAG.match(tag) is not None


@dataclass(frozen=True)
class Sidecar:
    base: str  # folder relative to the ingested folder ('' for the folder itself)
    tags: tuple[str, ...] | None  # None: the sidecar sets no folder-wide tags
    files: tuple[tuple[pathspec.PathSpec, tuple[str, ...]], ...]

    @classmethod
    def read(cls, path: Path, base: str, shown: str) -> Sidecar:
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8-sig"))
        except (OSError, UnicodeDecodeError) as exc:
            raise FileProblem(shown, f"cannot read the equipment sidecar ({exc})") from None
        except tomllib.TOMLDecodeError as exc:
            raise FileProblem(shown, f"not valid TOML ({exc})") from None
        unknown = set(data) - {"tags", "files"}
        if unknown:
            raise FileProblem(
                shown, f"unknown key(s) {', '.join(sorted(unknown))}; expected 'tags' and [files]"
            )
        tags = _tag_list(data["tags"], shown, "tags") if "tags" in data else None
        files_raw = data.get("files", {})
        if not isinstance(files_raw, dict):
            raise FileProblem(shown, '[files] must be a table of "pattern" = ["tag", ...]')
        files = tuple(
            (pathspec.GitIgnoreSpec.from_lines([pattern]), _tag_list(v, shown, f"files.{pattern}"))
            for pattern, v in files_raw.items()
        )
        return cls(base, tags, files)

    def tags_for(self, rel: str) -> tuple[str, ...] | None:
        """Tags this sidecar gives ``rel`` (relative to the ingested folder), or None."""
        local = rel[len(self.base) + 1 :] if self.base else rel
        for spec, tags in reversed(self.files):
            if spec.match_file(local):
                return tags
        return self.tags


def _tag_list(value: object, shown: str, key: str) -> tuple[str, ...]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(t, str) for t in items):
        raise FileProblem(shown, f'{key} must be a list of tag names, e.g. ["press-2"]')
    tags = tuple(dict.fromkeys(normalize_tag(t) for t in items))
    bad = [t for t in tags if not valid_tag(t)]
    if bad:
        raise FileProblem(
            shown, f"{key}: {bad[0]!r} is not a tag (letters, digits, '.', '_', '-'; at most 64)"
        )
    return tags


def tags_for(rel: str, sidecars: list[Sidecar], from_folders: bool) -> list[str]:
    """The equipment tags of the file at ``rel``; ``sidecars`` ordered from the ingested folder down."""
    for sc in reversed(sidecars):
        if sc.base and not rel.startswith(sc.base + "/"):
            continue
        got = sc.tags_for(rel)
        if got is not None:
            return list(got)
    if from_folders and "/" in rel:
        tag = normalize_tag(rel.split("/", 1)[0])
        return [tag] if valid_tag(tag) else []
    return []
