"""PowerPoint .pptx: one page per slide, title, text frames, tables, speaker notes (see office.py)."""

from __future__ import annotations

import re
import zipfile
import zlib
from pathlib import Path
from typing import Any

from core.errors import FileProblem

from .extracted import Extracted, Page
from .office import _DAMAGED, _check_zip, _clean, _damaged, _plain, _sniff, _stem_title, _table_lines


# ---------------------------------------------------------------------------------- PowerPoint .pptx
def _shape_top_left(shape: Any) -> tuple[int, int]:
    return (shape.top or 0, shape.left or 0)


def _pptx_shape_lines(shape: Any) -> list[str]:
    from pptx.enum.shapes import MSO_SHAPE_TYPE

    if shape.shape_type == MSO_SHAPE_TYPE.GROUP:
        return [ln for s in sorted(shape.shapes, key=_shape_top_left) for ln in _pptx_shape_lines(s)]
    if getattr(shape, "has_table", False) and shape.has_table:
        table = shape.table
        rows = [[("" if c.is_spanned else _clean(c.text)) for c in r.cells] for r in table.rows]
        return _table_lines(rows, bool(table.first_row))
    if not getattr(shape, "has_text_frame", False) or not shape.has_text_frame:
        return []
    bullet = "- " if shape.is_placeholder else ""
    lines = []
    for p in shape.text_frame.paragraphs:
        text = _clean(p.text)
        if text:
            lines.append(bullet + text if bullet and not text.startswith("- ") else _plain(text))
    return lines


def extract_pptx(path: Path) -> Extracted:
    kind = _sniff(path)
    if kind == "ole":
        raise FileProblem(
            str(path), "an old PowerPoint .ppt file, not .pptx; open it in PowerPoint and save it as .pptx"
        )
    if kind != "zip":
        raise FileProblem(str(path), "not a PowerPoint .pptx file (no Office zip container)")
    _check_zip(path, "ppt/", "a PowerPoint .pptx file")
    import pptx

    pages: list[Page] = []
    first_title = ""
    try:
        prs = pptx.Presentation(str(path))
        for n, slide in enumerate(prs.slides, start=1):
            title_shape = slide.shapes.title
            title = _clean(title_shape.text_frame.text) if title_shape is not None else ""
            first_title = first_title or title
            lines: list[str] = []
            for shape in sorted(slide.shapes, key=_shape_top_left):
                if title_shape is not None and shape.shape_id == title_shape.shape_id:
                    continue
                lines.extend(_pptx_shape_lines(shape))
            if slide.has_notes_slide and slide.notes_slide.notes_text_frame is not None:
                notes = _clean(slide.notes_slide.notes_text_frame.text)
                if notes:
                    lines.append(f"Notes: {notes}")
            if title or lines:
                lines.insert(0, f"# {title or f'Slide {n}'}")
            pages.append(Page(n, "\n".join(lines), "pptx", label=f"slide {n}"))
        core_title = _clean(prs.core_properties.title or "")
    except FileProblem:
        raise
    except _DAMAGED as exc:
        raise _damaged(path, "PowerPoint file", exc) from None
    if not any(p.text for p in pages):
        raise FileProblem(str(path), "no text found (the slides hold no text)")
    return Extracted("pptx", core_title or first_title or _stem_title(path), pages)


def count_slides(path: Path) -> int:
    """Slides in a .pptx from its zip directory (no parsing); 1 when it cannot be read."""
    try:
        with zipfile.ZipFile(path) as z:
            n = sum(1 for name in z.namelist() if re.fullmatch(r"ppt/slides/slide\d+\.xml", name))
    except (OSError, zipfile.BadZipFile, zlib.error, EOFError):
        return 1
    return max(1, n)
