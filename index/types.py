"""Records stored in the index: chunks, documents and the index metadata."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field, fields
from typing import Any

FORMAT_VERSION = 1


def short_title(title: str) -> str:
    """Document title without boilerplate ("Grbl v1.1 - settings.md" -> "Grbl settings")."""
    t = re.sub(r"\.(md|pdf|txt|html?)\b", "", title, flags=re.I)
    t = re.sub(r"\bv?\d+(?:\.\d+)+\b|\bDocumentation\b|\bManual\b", " ", t)
    t = re.sub(r"\s+[-–—|:]\s+|[_]+", " ", t)
    return " ".join(t.split()[:8])


@dataclass(frozen=True)
class Chunk:
    """One retrievable passage with everything needed to cite it."""

    source: str  # path relative to the folder that was ingested, with '/' separators
    title: str  # document title
    page_start: int | None  # 1-based physical page (as a PDF viewer counts); None for non-paged files
    page_end: int | None
    page_label: str | None  # printed page label where the PDF defines one ("iv", "180")
    section: str  # heading path, most specific last ("4.5 Homing Configuration > 4.5.6 HOME")
    text: str
    extractor: str  # what produced the text: pdfium, pypdf, markdown, html, text
    doc_sha: str  # sha256 of the source file's bytes
    ordinal: int  # position of the chunk within its document
    # The passage's structure, found at ingest (core/units.py): (kind, start, end, code) per unit,
    # kind one of heading/row/step/item/safety/paragraph, the span in ``text``. Empty in an index
    # built before units were stored: ``core.units.units_of`` finds them from the text then.
    units: tuple[tuple[str, int, int, str], ...] = ()
    # "contents": table-of-contents entries ("B.8 Rack Mount Warnings … 96"), searched only for a
    # question that asks where something is in the manual; "" for the manual's own text.
    role: str = ""

    @property
    def chunk_id(self) -> str:
        """Stable id: the same file content always yields the same ids."""
        return f"{self.doc_sha[:16]}:{self.ordinal}"

    @property
    def pages(self) -> range:
        if self.page_start is None:
            return range(0)
        return range(self.page_start, (self.page_end or self.page_start) + 1)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Chunk:
        names = {f.name for f in fields(cls)}
        kw = {k: v for k, v in d.items() if k in names}
        if "units" in kw:
            kw["units"] = tuple((str(u[0]), int(u[1]), int(u[2]), str(u[3])) for u in kw["units"])
        return cls(**kw)


@dataclass
class DocumentRecord:
    """One ingested file, as recorded in the index manifest."""

    source: str
    root: str  # absolute folder the file was found under (the ingest argument)
    sha256: str
    size: int
    kind: str  # pdf, markdown, html, text, docx, xlsx, xls, csv, pptx
    title: str
    pages: int
    chunks: int
    extractors: dict[str, int] = field(default_factory=dict)  # pages served by each extractor
    pages_without_text: list[int] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    ingested_at: str = ""
    # Why the indexed content may be out of date ("" when current): the file or its folder could
    # not be read on the last run, so the previous version was kept.
    stale: str = ""
    # Equipment tags of the machines this manual belongs to: the first folder under the ingested
    # folder, or what an equipment.toml sidecar says (ingest/tags.py). Empty: no machine.
    equipment: list[str] = field(default_factory=list)
    # Pages read by OCR (scans): page number as text -> mean Tesseract word confidence, 0-100.
    ocr_confidence: dict[str, float] = field(default_factory=dict)
    # OCR ran on its pages without a text layer (so a later run does not try again).
    ocr_tried: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> DocumentRecord:
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})


@dataclass(frozen=True)
class IndexMeta:
    """Written beside the vectors; checked on load so a mismatched model is a clear error."""

    version: str
    created_at: str
    embedding_backend: str
    embedding_model: str
    dim: int
    normalized: bool
    metric: str  # "cosine" (inner product of normalised vectors)
    chunker: str  # chunker/extractor version string; a change means re-chunking
    ann: str  # FAISS index type used for search
    chunk_count: int
    document_count: int
    format_version: int = FORMAT_VERSION

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> IndexMeta:
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})
