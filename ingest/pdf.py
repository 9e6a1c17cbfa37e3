"""PDF extraction: pdfium serves every page, pypdf is the per-page fallback.

Measured on ../shared (see bench/ and docs/decisions.md): pypdf glues words together on the
LinuxCNC manuals (13% of words on the 1,335-page one) and reads about 44 pages/s; pdfium
extracts the same pages correctly at several hundred pages/s. So in ``auto`` mode pdfium
serves every page and pypdf is asked only for pages whose pdfium text is missing or looks
implausible; the better of the two wins and the page records which extractor served it.
Outline (bookmarks) and page labels come from pdfium too (0.1 s vs 6 s for pypdf's outline
on the big manual). Also here: the text-quality checks that choose between the two, and the
removal of running headers/footers from PDF pages. Pages left without text by both (scans) are
read by Tesseract when an ``OcrContext`` is given (``ocr.py``); their extractor is "ocr".
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.errors import FileProblem

from .extracted import SPACES, Extracted, Heading, Page

if TYPE_CHECKING:
    from .ocr import OcrContext

log = logging.getLogger("ingest.extract")  # the name these log lines have always carried


# --------------------------------------------------------------------------- quality checks
_ALPHA_WORD = re.compile(r"[A-Za-z]+")
_BAD_CHARS = re.compile(r"[\ufffd\x00-\x08\x0b\x0c\x0e-\x1f]")


def text_badness(text: str) -> float:
    """0 for plausible text, larger for glued words, garbage glyphs or no text at all."""
    stripped = text.strip()
    if len(stripped) < 3:
        return 10.0
    words = _ALPHA_WORD.findall(stripped)
    if not words:
        return 0.5  # numbers/symbols only (a drawing page): poor but not broken
    glued = sum(len(w) > 18 for w in words) / len(words)
    bad = len(_BAD_CHARS.findall(stripped)) / len(stripped)
    return glued * 10 + bad * 20


def is_plausible(text: str) -> bool:
    return text_badness(text) < 0.3


def glued_word_rate(text: str) -> float:
    """Share of alphabetic tokens longer than 18 letters (a symptom of lost spaces)."""
    words = _ALPHA_WORD.findall(text)
    return sum(len(w) > 18 for w in words) / len(words) if words else 0.0


# --------------------------------------------------------------------------- text normalisation
_SOFT_HYPHEN = re.compile(r"(?<=[a-z])\x02(?:\r?\n)?(?=[a-z])")


def normalize_pdf_text(text: str) -> str:
    # pdfium marks a hyphen it inserted at a line break as \x02.
    # Between lowercase letters it is a hyphenation ("communi\x02cation"): join the word.
    text = _SOFT_HYPHEN.sub("", text).replace("\x02", "-")
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\ufeff", "")
    text = text.replace("\u2010", "-").replace("\u2011", "-")
    lines = [SPACES.sub(" ", ln).strip() for ln in text.split("\n")]
    return "\n".join(ln for ln in lines if ln)


# --------------------------------------------------------------------------- running headers
_DIGITS = re.compile(r"\d+")
_ROMAN_END = re.compile(r"\s[ivxlcdm]{1,6}$")
_PAGE_NO = re.compile(r"^(?:page\s*)?\d{1,4}(?:\s*(?:/|of)\s*\d{1,5})?$", re.I)
_PAGE_NO_TAIL = re.compile(r"\s\d{1,4}\s*/\s*\d{1,5}$|\bpage\s+\d{1,4}\s+of\s+\d{1,5}$", re.I)
# A contents entry: a dot leader, then a page number, range or roman numeral ("..... 96",
# ". . . . . 12", "..... $4-5$": some extractors wrap numbers in TeX dollars).
_PAGE_REF = r"\$?\s*[0-9ivxlcdm]{1,6}(?:\s*[-–]\s*[0-9ivxlcdm]{1,6})?\s*\$?"
_DOT_LEADER = re.compile(rf"\s*(?:\.\s?){{4,}}\s*({_PAGE_REF})\s*$", re.I)
EDGE_LINES = 2


def _edge_key(line: str) -> str:
    key = _DIGITS.sub("#", line.lower())
    return _ROMAN_END.sub(" #", key)


def strip_running_lines(pages: list[Page]) -> int:
    """Remove running headers/footers in place, and move table-of-contents entries (dot leaders)
    to ``page.contents`` as "entry … page".

    A line in the first or last two lines of a page is removed when, with digits masked, it
    recurs at a page edge on at least 3 pages and 30% of them (or on every page of a 2-page
    file), or when it is a bare page number ("12", "Page 3 of 96", "... 180 / 1279").
    Returns the number of lines removed.
    """
    split = [p.text.split("\n") if p.text else [] for p in pages]
    counts: Counter[str] = Counter()
    for lines in split:
        edge = set(lines[:EDGE_LINES] + lines[-EDGE_LINES:])
        counts.update(_edge_key(ln) for ln in edge)
    n_pages = sum(1 for lines in split if lines)
    need = max(3, int(0.3 * n_pages + 0.999)) if n_pages >= 3 else max(2, n_pages)
    removed = 0
    for page, lines in zip(pages, split, strict=True):
        if not lines:
            continue
        keep: list[str] = []
        last = len(lines) - 1
        for i, ln in enumerate(lines):
            at_edge = i < EDGE_LINES or i > last - EDGE_LINES
            leader = _DOT_LEADER.search(ln)
            drop = leader is not None
            if leader is not None and ln[: leader.start()].strip():
                ref = leader.group(1).replace("$", "").replace(" ", "")
                page.contents.append(f"{ln[: leader.start()].strip()} … {ref}")
            if at_edge and not drop:
                drop = (
                    (n_pages >= 2 and counts[_edge_key(ln)] >= need)
                    or _PAGE_NO.match(ln) is not None
                    or (len(ln) < 120 and _PAGE_NO_TAIL.search(ln) is not None)
                )
            if drop:
                removed += 1
            else:
                keep.append(ln)
        page.text = "\n".join(keep)
    return removed


# --------------------------------------------------------------------------- PDF
def _check_pdf_bytes(path: Path) -> None:
    size = path.stat().st_size
    if size == 0:
        raise FileProblem(str(path), "empty file (0 bytes)")
    with open(path, "rb") as fh:
        head = fh.read(1024)
    if b"%PDF-" not in head:
        sample = head[:40]
        try:
            preview = sample.decode("utf-8")
            what = f"it starts with text {preview.strip()[:30]!r}; is it a text file named .pdf?"
        except UnicodeDecodeError:
            what = "no %PDF- header; the file is not a PDF"
        raise FileProblem(str(path), f"not a PDF: {what}")


def _title_from(meta_title: str | None, path: Path) -> str:
    t = (meta_title or "").strip()
    if len(t) < 3 or t.lower().endswith((".doc", ".docx", ".pdf", ".tex", ".dvi")) or t.lower() == "untitled":
        t = re.sub(r"[_]+", " ", path.stem).strip()
    return t


class _PypdfPages:
    """Lazily opened pypdf reader: only pages pdfium could not serve pay for it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._reader: Any = None
        self.failed: str | None = None

    def reader(self) -> Any:
        if self._reader is None and self.failed is None:
            try:
                import pypdf

                r = pypdf.PdfReader(str(self.path), strict=False)
                if r.is_encrypted:
                    r.decrypt("")
                self._reader = r
            except Exception as exc:
                self.failed = f"{type(exc).__name__}: {exc}"
        return self._reader

    def page_count(self) -> int:
        r = self.reader()
        try:
            return len(r.pages) if r is not None else 0
        except Exception as exc:
            self.failed = f"{type(exc).__name__}: {exc}"
            return 0

    def text(self, index: int) -> str:
        r = self.reader()
        if r is None:
            return ""
        try:
            return normalize_pdf_text(r.pages[index].extract_text() or "")
        except Exception as exc:
            log.info("pypdf failed on %s page %d: %s", self.path, index + 1, exc)
            return ""


def extract_pdf(path: Path, mode: str = "auto", ocr: OcrContext | None = None) -> Extracted:
    """Pages of a PDF. ``ocr``: read the pages without a text layer with Tesseract (ingest/ocr.py);
    None leaves them unread (reported)."""
    import pypdfium2 as pdfium

    _check_pdf_bytes(path)
    fallback = _PypdfPages(path)
    warnings: list[str] = []
    try:
        pdf = pdfium.PdfDocument(str(path))
    except pdfium.PdfiumError as exc:
        msg = str(exc)
        if "password" in msg.lower():
            raise FileProblem(
                str(path), "encrypted: the PDF needs a password to open; ingest an unprotected copy"
            ) from None
        n = fallback.page_count()
        if n == 0:
            raise FileProblem(str(path), f"damaged or truncated PDF, no page could be read ({msg})") from None
        recovered = [Page(i + 1, fallback.text(i), "pypdf") for i in range(n)]
        if not any(p.text for p in recovered):
            raise FileProblem(str(path), f"damaged or truncated PDF, no text could be read ({msg})") from None
        warnings.append(f"damaged PDF ({msg}); {n} pages recovered with pypdf")
        return _finish_pdf(path, recovered, [], None, warnings)

    try:
        meta_title = pdf.get_metadata_dict().get("Title")
        outline: list[Heading] = []
        try:
            for bm in pdf.get_toc(max_depth=8):
                dest = bm.get_dest()
                idx = dest.get_index() if dest is not None else None
                title = (bm.get_title() or "").strip()
                if title:
                    outline.append(Heading(bm.level, title, idx + 1 if idx is not None else None))
        except Exception as exc:  # a broken outline must not cost the text
            warnings.append(f"outline unreadable ({exc})")
        pages: list[Page] = []
        for i in range(len(pdf)):
            label = None
            try:
                label = pdf.get_page_label(i) or None
            except Exception:
                label = None
            text, used = "", "pdfium"
            if mode != "pypdf":
                try:
                    page = pdf[i]
                    tp = page.get_textpage()
                    text = normalize_pdf_text(tp.get_text_bounded())
                    tp.close()
                    page.close()
                except pdfium.PdfiumError as exc:
                    log.info("pdfium failed on %s page %d: %s", path, i + 1, exc)
            if mode == "pypdf" or (mode == "auto" and not is_plausible(text)):
                alt = fallback.text(i)
                if mode == "pypdf" or text_badness(alt) < text_badness(text):
                    text, used = alt, "pypdf"
            pages.append(Page(i + 1, text, used, label))
    finally:
        pdf.close()
    return _finish_pdf(path, pages, outline, meta_title, warnings, ocr)


def _finish_pdf(
    path: Path,
    pages: list[Page],
    outline: list[Heading],
    meta_title: str | None,
    warnings: list[str],
    ocr: OcrContext | None = None,
) -> Extracted:
    empty = [p.number for p in pages if p.number is not None and len(p.text.strip()) < 3]
    confidence: dict[int, float] = {}
    failed: dict[int, str] = {}
    if empty and ocr is not None:  # only pages without a text layer pay for OCR
        confidence, failed = _ocr_pages(path, pages, empty, ocr, warnings)
        empty = [p.number for p in pages if p.number is not None and len(p.text.strip()) < 3]
    if pages and len(empty) == len(pages):
        if ocr is None:
            raise FileProblem(
                str(path),
                f"no text layer on any of its {len(pages)} pages (scanned?); run OCR on it first, or "
                "install Debian tesseract-ocr (make ocr) so ingest reads scans itself (setting ingest.ocr "
                '= "auto")',
            )
        why = f"OCR failed ({next(iter(failed.values()))})" if failed else NOTHING_FOUND_MSG
        raise FileProblem(str(path), f"no text on any of its {len(pages)} pages: no text layer, and {why}")
    blank = [n for n in empty if n not in failed]
    if blank:
        shown = ", ".join(map(str, blank[:12])) + (" ..." if len(blank) > 12 else "")
        if ocr is None:
            warnings.append(
                f"{len(blank)} page(s) without a text layer (scanned or image-only): {shown}; "
                "not read: install Debian tesseract-ocr (make ocr) to OCR them"
            )
        else:
            warnings.append(f"{len(blank)} page(s) without a text layer where {NOTHING_FOUND_MSG}: {shown}")
    tried = ocr is not None and bool(confidence or failed or blank)
    return Extracted("pdf", _title_from(meta_title, path), pages, outline, empty, warnings, confidence, tried)


NOTHING_FOUND = "OCR found no text"
NOTHING_FOUND_MSG = f"{NOTHING_FOUND} either (blank, or a drawing?)"
LOW_CONFIDENCE_PAGES_SHOWN = 5


def _ocr_pages(
    path: Path, pages: list[Page], empty: list[int], ocr: OcrContext, warnings: list[str]
) -> tuple[dict[int, float], dict[int, str]]:
    """Read the empty pages with OCR, in place; returns page -> confidence of the pages it read
    and page -> why for the pages it could not read."""
    todo = set(empty)
    hint = "\n".join(p.text for p in pages if p.number not in todo)
    done, failed = ocr.read_pages(path, empty, hint)
    by_number = {p.number: p for p in pages}
    confidence: dict[int, float] = {}
    for n, got in done.items():
        if len(got.text.strip()) < 3:
            continue
        page = by_number[n]
        page.text, page.extractor = got.text, "ocr"
        confidence[n] = round(got.confidence, 1)
    low = [n for n, c in confidence.items() if c < ocr.min_confidence]
    if len(low) <= LOW_CONFIDENCE_PAGES_SHOWN:
        for n in low:
            warnings.append(
                f"OCR page {n}: low confidence {confidence[n]:.0f}%; check the citations against the scan"
            )
    else:
        shown = ", ".join(map(str, low[:12])) + (" ..." if len(low) > 12 else "")
        lo, hi = min(confidence[n] for n in low), max(confidence[n] for n in low)
        warnings.append(
            f"OCR: {len(low)} pages with low confidence ({lo:.0f}-{hi:.0f}%): {shown}; "
            "check the citations against the scan"
        )
    for n, why in failed.items():
        warnings.append(f"OCR page {n} failed ({why}); the page is not indexed")
    return confidence, failed
