"""Indexed files for the UI: page images (rendered by pdfium, cached) and the original PDFs.

Only files recorded in the live index manifest can be served: a request names a document by
the SHA-256 of its content, which is looked up in the manifest; there is no path in the
request, so nothing outside the indexed files can be reached.
"""

from __future__ import annotations

import logging
import os
import threading
import uuid
from pathlib import Path

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

    def image(self, doc: DocumentRecord, page: int) -> Path | None:
        """PNG of a 1-based page of an indexed PDF, or None when it cannot be rendered."""
        if doc.kind != "pdf" or page < 1 or page > doc.pages:
            return None
        target = self.cache_dir / doc.sha256[:32] / f"p{page:05d}@{self.scale:g}.png"
        if target.exists():
            return target
        path = indexed_path(doc)
        try:
            import pypdfium2 as pdfium

            with self._lock:  # pdfium is not thread-safe
                pdf = pdfium.PdfDocument(str(path))
                try:
                    bitmap = pdf[page - 1].render(scale=self.scale)
                    img = bitmap.to_pil()
                finally:
                    pdf.close()
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_suffix(f".{uuid.uuid4().hex}.tmp")
            img.save(tmp, format="PNG", optimize=True)
            os.replace(tmp, target)
            return target
        except Exception as exc:
            log.warning("cannot render %s page %d: %s", path, page, exc)
            return None
