"""What every extractor returns: the pages of one file, its outline and what went wrong."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

# Runs of spaces, tabs and no-break spaces; every extractor collapses them to one space.
SPACES = re.compile(r"[ \t\u00a0]+")


@dataclass
class Page:
    number: int | None  # 1-based physical page; None for non-paged files
    text: str
    extractor: str
    label: str | None = None
    # Table-of-contents entries found on the page ("B.8 Rack Mount Warnings … 96"), kept apart
    # from its text: they answer "which page covers …?" and nothing else (ingest.pdf).
    contents: list[str] = field(default_factory=list)


@dataclass
class Heading:
    level: int
    title: str
    page: int | None  # 1-based page the heading points to


@dataclass
class Extracted:
    kind: str  # pdf, markdown, html, text, docx, xlsx, xls, csv, pptx
    title: str
    pages: list[Page]
    outline: list[Heading] = field(default_factory=list)
    pages_without_text: list[int] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    ocr_confidence: dict[int, float] = field(default_factory=dict)  # page read by OCR -> mean word confidence
    ocr_tried: bool = False  # OCR ran on the pages without a text layer (even if it found nothing)

    @property
    def page_count(self) -> int:
        return len(self.pages)

    def extractor_counts(self) -> dict[str, int]:
        return dict(Counter(p.extractor for p in self.pages if p.text.strip()))
