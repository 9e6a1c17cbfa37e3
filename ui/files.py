"""Indexed files for the UI: page images (rendered by pdfium, cached) and the original PDFs.

Only files recorded in the live index manifest can be served: a request names a document by
the SHA-256 of its content, which is looked up in the manifest; there is no path in the
request, so nothing outside the indexed files can be reached.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import uuid
from pathlib import Path
from typing import Any

from index.types import DocumentRecord

log = logging.getLogger(__name__)


def indexed_path(doc: DocumentRecord) -> Path:
    return Path(doc.root) / doc.source


class PageImages:
    """Renders PDF pages to PNG once and keeps them in a cache folder."""

    def __init__(self, cache_dir: Path, scale: float = 1.6) -> None:
        self.cache_dir = Path(cache_dir) / "pages"
        self.scale = scale
        self._lock = threading.Lock()

    def image(self, doc: DocumentRecord, page: int, quote: str = "") -> Path | None:
        """PNG of a 1-based page of an indexed PDF, or None when it cannot be rendered.

        With ``quote``, the cited lines are marked on the page and the image is cropped around
        them, so the operator sees the row or step as printed without scrolling.
        """
        if doc.kind != "pdf" or page < 1 or page > doc.pages:
            return None
        tag = hashlib.sha1(quote.encode()).hexdigest()[:10] if quote else "full"
        target = self.cache_dir / doc.sha256[:32] / f"p{page:05d}@{self.scale:g}-{tag}.png"
        if target.exists():
            return target
        path = indexed_path(doc)
        try:
            import pypdfium2 as pdfium

            with self._lock:  # pdfium is not thread-safe
                pdf = pdfium.PdfDocument(str(path))
                try:
                    pg = pdf[page - 1]
                    bitmap = pg.render(scale=self.scale)
                    img = bitmap.to_pil()
                    band = _quote_band(pg, quote) if quote else None
                    height = pg.get_height()
                finally:
                    pdf.close()
            if band is not None:
                img = _mark_and_crop(img, band, height, self.scale)
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_suffix(f".{uuid.uuid4().hex}.tmp")
            img.save(tmp, format="PNG", optimize=True)
            os.replace(tmp, target)
            return target
        except Exception as exc:
            log.warning("cannot render %s page %d: %s", path, page, exc)
            return None


def _find(textpage: Any, words: list[str]) -> list[tuple[float, float, float, float]]:
    for n in (6, 4, 3):
        probe = " ".join(words[:n])
        if len(probe) < 6:
            continue
        searcher = textpage.search(probe, match_case=False)
        hit = searcher.get_next()
        if hit:
            i, count = hit
            return [textpage.get_rect(k) for k in range(textpage.count_rects(i, count))]
    return []


def _quote_band(page: Any, quote: str) -> tuple[float, float] | None:
    """Vertical span (PDF units, y up) of the quoted text on the page, found by pdfium's text search."""
    words = quote.strip('“”" ').split()
    if not words:
        return None
    tp = page.get_textpage()
    try:
        first = _find(tp, words)
        if not first:
            return None
        top = max(r[3] for r in first)
        last = _find(tp, words[-6:]) if len(words) > 6 else first
        bottom = min(r[1] for r in (last or first))
        if bottom > top:  # the end was found above the start: keep the start line only
            bottom = min(r[1] for r in first)
        return bottom, top
    finally:
        tp.close()


def _mark_and_crop(img: Any, band: tuple[float, float], page_height: float, scale: float) -> Any:
    from PIL import Image, ImageDraw

    bottom, top = band
    y0, y1 = (page_height - top) * scale - 4, (page_height - bottom) * scale + 4
    overlay = Image.new("RGBA", img.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    draw.rectangle([0, y0, img.width, y1], fill=(255, 225, 0, 90))
    draw.rectangle([0, y0, 10, y1], fill=(176, 0, 32, 255))  # a bar in the margin, visible at a glance
    out = Image.alpha_composite(img.convert("RGBA"), overlay).convert("RGB")
    span = img.height * 0.45  # show the cited lines with context above and below
    c0 = max(0.0, min(y0 - span * 0.3, img.height - span))
    c1 = min(float(img.height), max(y1 + span * 0.5, c0 + span))
    return out.crop((0, int(c0), img.width, int(c1)))
