"""Planning a run: what the live index holds, and what to keep, reuse, process, remove or keep stale.

Files are keyed by SHA-256. An unchanged file keeps its chunks and vectors (keep); a renamed or
copied file takes the chunks of the identical content (reuse); a new or changed file is
extracted, chunked and embedded (todo); a file gone from a readable folder is removed; a file or
folder that cannot be read keeps what was indexed from it, marked stale.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from core.errors import UserError
from index.embeddings import EmbedderSpec, backend_identity, model_identity, spec_from_settings
from index.errors import IndexMismatchError
from index.store import IndexStore
from index.types import DocumentRecord, IndexMeta

from .chunking import CHUNKER_VERSION
from .extract import EXTRACTOR_VERSION
from .ocr import needs_ocr
from .scan import FileEntry, Unreadable
from .summary import Summary

if TYPE_CHECKING:
    from core.settings import Settings


def chunker_fingerprint(settings: Settings) -> str:
    ing = settings.ingest
    return (
        f"{CHUNKER_VERSION}/{EXTRACTOR_VERSION}/pdf={ing.pdf_extractor}/tok={ing.chunk_tokens}"
        f"/ov={ing.overlap_tokens}/strip={int(ing.strip_headers)}"
    )


@dataclass(frozen=True)
class IndexIdentity:
    """What the settings ask the index to be built with; the live version is compared with it."""

    spec: EmbedderSpec
    model: str  # recorded as embedding_model; another model needs --rebuild
    backend: str  # recorded as embedding_backend
    chunker: str  # recorded as chunker; another chunker re-chunks every file

    @classmethod
    def from_settings(cls, settings: Settings) -> IndexIdentity:
        spec = spec_from_settings(settings.embedding)
        return cls(spec, model_identity(spec), backend_identity(spec), chunker_fingerprint(settings))

    @property
    def staging_key(self) -> str:
        """Vectors staged by an interrupted run are reused only under the same key."""
        return f"{self.model}|{self.backend}|{self.chunker}"


@dataclass
class Previous:
    """The live index version a run starts from (none on a first run or with --rebuild)."""

    version: str | None
    meta: IndexMeta | None
    docs: list[DocumentRecord]
    rechunk: bool  # the chunker changed: every file is chunked again
    by_source: dict[str, DocumentRecord] = field(init=False)
    by_sha: dict[str, DocumentRecord] = field(init=False)

    def __post_init__(self) -> None:
        self.by_source = {d.source: d for d in self.docs}
        self.by_sha = {d.sha256: d for d in self.docs}


def read_previous(store: IndexStore, identity: IndexIdentity, rebuild: bool) -> Previous:
    """The live version's metadata and documents; refuses an index built with another model."""
    version = None if rebuild else store.current_version()
    meta = store.read_meta(version) if version else None
    docs = store.read_documents(version) if version else []
    if meta is not None and meta.embedding_model != identity.model:
        raise IndexMismatchError(
            f"index {store.path} was built with embedding model {meta.embedding_model!r}; the settings "
            f"ask for {identity.model!r}. Pass --rebuild to re-embed everything with the new model "
            "(the current index stays live until the rebuild completes)."
        )
    rechunk = meta is not None and meta.chunker != identity.chunker
    return Previous(version, meta, docs, rechunk)


@dataclass
class Plan:
    """What a run does with each file and each indexed document."""

    # source -> record carried over with its chunks and vectors from the live version
    keep: dict[str, DocumentRecord] = field(default_factory=dict)
    # new source -> (entry, live record with the same sha256): a rename or copy, chunks reused
    reuse: dict[str, tuple[FileEntry, DocumentRecord]] = field(default_factory=dict)
    # new or changed files: extract, chunk and embed
    todo: list[FileEntry] = field(default_factory=list)
    # indexed documents whose file is gone from a readable folder
    removed: list[DocumentRecord] = field(default_factory=list)

    def changes_nothing(self, prev: Previous) -> bool:
        """Nothing to write: no file to process, reuse or remove, and the same documents (stale or
        not, equipment tags)."""
        return not self.todo and self.unchanged_after(prev, processed=0)

    def unchanged_after(self, prev: Previous, processed: int) -> bool:
        """After processing: nothing processed, reused or removed, and every document as it was. A run
        where only files that failed before fail again writes no new version."""
        before = {d.source: (d.stale, d.equipment) for d in prev.docs}
        same = set(before) == set(self.keep) and all(
            before[src] == (d.stale, d.equipment) for src, d in self.keep.items()
        )
        return not processed and not self.reuse and not self.removed and prev.version is not None and same


def tag_kept(plan: Plan, files: dict[str, FileEntry]) -> None:
    """Kept and reused documents carry the equipment tags their files have now (a sidecar may have
    changed without the file changing)."""
    for src, rec in list(plan.keep.items()):
        e = files.get(src)
        if e is not None and rec.equipment != e.equipment:
            plan.keep[src] = replace(rec, equipment=list(e.equipment))


def plan_changes(
    prev: Previous,
    files: dict[str, FileEntry],
    unreadable: list[Unreadable],
    roots: list[tuple[Path, str]],
    summary: Summary,
    ocr_available: bool = False,
) -> Plan:
    """Compare the hashed files with the live version; reports unchanged, stale, renamed, removed.
    ``ocr_available``: OCR can read scanned pages in this run (see _sort_files)."""
    plan = _sort_files(prev, files, summary, ocr_available)
    removed = _carry_over_missing(prev, files, unreadable, roots, plan, summary)
    plan.removed = _split_renames(removed, plan.reuse, roots, summary)
    summary.removed = [os.path.join(_shown_for(d.root, roots), d.source) for d in plan.removed]
    return plan


def _sort_files(
    prev: Previous, files: dict[str, FileEntry], summary: Summary, ocr_available: bool = False
) -> Plan:
    """Each file found: unchanged (keep), same content as an indexed file (reuse), or to process."""
    plan = Plan()
    for src, e in sorted(files.items()):
        prev_doc = prev.by_source.get(src)
        # A scan indexed while OCR was unavailable (pages without text, none read by OCR, OCR never
        # tried on it) is processed again once OCR is available, like a changed file; so is a copy.
        same = prev.by_sha.get(e.sha256)
        if ocr_available and same is not None and needs_ocr(same):
            plan.todo.append(e)
        elif prev_doc is not None and prev_doc.sha256 == e.sha256 and not prev.rechunk:
            plan.keep[src] = replace(prev_doc, root=str(e.root), stale="")
            summary.unchanged += 1
        elif e.sha256 in prev.by_sha and not prev.rechunk:
            plan.reuse[src] = (e, prev.by_sha[e.sha256])
        else:
            plan.todo.append(e)
    return plan


def _carry_over_missing(
    prev: Previous,
    files: dict[str, FileEntry],
    unreadable: list[Unreadable],
    roots: list[tuple[Path, str]],
    plan: Plan,
    summary: Summary,
) -> list[DocumentRecord]:
    """Indexed documents not found now: kept (other folder, or unreadable: stale) or removed."""
    root_strs = {str(r) for r, _ in roots}
    failed = {f.source: f.problem for f in summary.failed if f.source}
    removed: list[DocumentRecord] = []
    for d in prev.docs:
        if d.source in files or d.source in plan.keep:
            continue
        if d.root not in root_strs:
            plan.keep[d.source] = d  # belongs to a folder not part of this run
            continue
        # A file or folder that could not be read keeps what was indexed from it, like an
        # unmounted share; only a readable folder without the file removes it.
        folder = next((u for u in unreadable if u.holds(d)), None)
        if d.source in failed or folder is not None:
            why = failed.get(d.source) or f"folder {folder.rel or '.'} could not be read ({folder.reason})"  # type: ignore[union-attr]
            plan.keep[d.source] = replace(d, stale=why)
            summary.mark_kept(d.source)
            if folder is not None:  # the folder's failure has no source: mark_kept cannot find it
                folder.failure.kept_previous = True
            summary.stale.append(os.path.join(_shown_for(d.root, roots), d.source))
        else:
            removed.append(d)
    return removed


def _split_renames(
    removed: list[DocumentRecord],
    reuse: dict[str, tuple[FileEntry, DocumentRecord]],
    roots: list[tuple[Path, str]],
    summary: Summary,
) -> list[DocumentRecord]:
    """A removed path whose content reappears under another name is a rename, not a deletion."""
    moved_from = {old.source: src for src, (_, old) in reuse.items()}
    renames = [d for d in removed if d.source in moved_from]
    removed = [d for d in removed if d.source not in moved_from]
    summary.renamed = [
        f"{os.path.join(_shown_for(d.root, roots), d.source)} -> {moved_from[d.source]}" for d in renames
    ] + [e.display for src, (e, old) in reuse.items() if old.source not in {d.source for d in renames}]
    return removed


def refuse_mass_delete(
    plan: Plan, prev: Previous, roots: list[tuple[Path, str]], max_fraction: float, allow_delete: bool
) -> None:
    """Refuse a run that would remove most of a folder's documents (an unmounted share?)."""
    for r, shown in roots:
        before = [d for d in prev.docs if d.root == str(r)]
        gone = [d for d in plan.removed if d.root == str(r)]
        if gone and not allow_delete and len(gone) > max_fraction * len(before):
            raise UserError(
                f"{shown}: {len(gone)} of the {len(before)} indexed documents from this folder are gone "
                "(unmounted share? wrong folder?). Nothing was changed. Pass --allow-delete to remove them."
            )


def _shown_for(root: str, roots: list[tuple[Path, str]]) -> str:
    for r, shown in roots:
        if str(r) == root:
            return shown
    return root
