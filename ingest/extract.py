"""Text extraction: PDF (pdfium with per-page pypdf fallback), Markdown, HTML, plain text and Office files.

``extract`` picks the extractor by file suffix. The extractors live beside this module:

* ``pdf.py``: PDFs (pdfium, pypdf per page where pdfium's text is missing or implausible),
  the text-quality checks, and the removal of running headers/footers
* ``textformats.py``: Markdown, HTML and plain text
* ``word.py``, ``sheets.py``, ``slides.py`` (shared parts in ``office.py``): Word .docx, Excel .xlsx/.xlsm/.xls, .csv, PowerPoint .pptx
* ``extracted.py``: what they all return (``Extracted`` with its ``Page``s and ``Heading``s)
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from core.errors import FileProblem

from .extracted import Extracted, Heading, Page
from .pdf import (
    EDGE_LINES,
    extract_pdf,
    glued_word_rate,
    is_plausible,
    normalize_pdf_text,
    strip_running_lines,
    text_badness,
)
from .sheets import extract_csv, extract_xls, extract_xlsx
from .slides import extract_pptx
from .textformats import extract_html, extract_markdown, extract_text
from .word import extract_docx

if TYPE_CHECKING:
    from .ocr import OcrContext

__all__ = [
    "EDGE_LINES",
    "EXTRACTOR_VERSION",
    "LOADERS",
    "Extracted",
    "Heading",
    "Page",
    "extract",
    "extract_html",
    "extract_markdown",
    "extract_pdf",
    "extract_text",
    "glued_word_rate",
    "is_plausible",
    "normalize_pdf_text",
    "strip_running_lines",
    "text_badness",
]

EXTRACTOR_VERSION = "x1"  # part of the index's chunker fingerprint: a change re-chunks every file

LOADERS = {
    ".pdf": "pdf",
    ".md": "markdown",
    ".markdown": "markdown",
    ".txt": "text",
    ".html": "html",
    ".htm": "html",
    ".docx": "docx",
    ".xlsx": "xlsx",
    ".xlsm": "xlsx",
    ".xls": "xls",
    ".csv": "csv",
    ".pptx": "pptx",
}


def extract(path: Path, pdf_mode: str = "auto", ocr: OcrContext | None = None) -> Extracted:
    """Extract one file; raises FileProblem with a clear message for bad input. ``ocr``: read PDF
    pages without a text layer with Tesseract (ingest/ocr.py); None leaves them unread."""
    kind = LOADERS.get(path.suffix.lower())
    try:
        if kind == "pdf":
            return extract_pdf(path, pdf_mode, ocr)
        if kind == "markdown":
            return extract_markdown(path)
        if kind == "html":
            return extract_html(path)
        if kind == "text":
            return extract_text(path)
        if kind == "docx":
            return extract_docx(path)
        if kind == "xlsx":
            return extract_xlsx(path)
        if kind == "xls":
            return extract_xls(path)
        if kind == "csv":
            return extract_csv(path)
        if kind == "pptx":
            return extract_pptx(path)
    except PermissionError:
        raise FileProblem(str(path), "permission denied (cannot read the file)") from None
    except IsADirectoryError:
        raise FileProblem(str(path), "is a directory") from None
    raise FileProblem(str(path), f"unsupported file type {path.suffix!r}")
