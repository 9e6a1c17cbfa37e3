"""Word .docx: paragraphs and tables in body order, headings as the section path (see office.py)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from core.errors import FileProblem

from .extracted import Extracted, Page
from .office import _DAMAGED, _check_zip, _clean, _damaged, _plain, _sniff, _stem_title, _table_lines

# ---------------------------------------------------------------------------------- Word .docx
_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_W_P, _W_TBL, _W_TR, _W_TC, _W_T = _W + "p", _W + "tbl", _W + "tr", _W + "tc", _W + "t"
_W_VAL = _W + "val"
_MC_FALLBACK = "{http://schemas.openxmlformats.org/markup-compatibility/2006}Fallback"
_SPACE_TAGS = {_W + "tab", _W + "br", _W + "cr", _W_P, _W_TC}
_SKIP_TAGS = {
    _MC_FALLBACK,  # the same text box again, for old Word versions
    _W + "pPr",
    _W + "rPr",
    _W + "tblPr",
    _W + "trPr",
    _W + "tcPr",
    _W + "sectPr",
    _W + "del",
}
_OFF = ("0", "false", "off")
_TITLE = -1  # heading level of the Title style: above Heading 1


def _xml_text(el: Any) -> str:
    """The visible text under a Word element: runs, hyperlinks, content controls, tracked
    insertions, fields' results and text boxes (python-docx's ``text`` reads runs and links only)."""
    parts: list[str] = []

    def walk(node: Any) -> None:
        for child in node:
            tag = child.tag
            if tag == _W_T:
                parts.append(child.text or "")
            elif tag == _W + "noBreakHyphen":
                parts.append("-")
            elif tag in _SKIP_TAGS or not isinstance(tag, str):
                continue
            else:
                if tag in _SPACE_TAGS:
                    parts.append(" ")
                walk(child)

    walk(el)
    return _clean("".join(parts))


def _blocks(container: Any) -> Iterator[Any]:
    """Paragraphs and tables of the body in document order, also inside block content controls."""
    for child in container:
        if child.tag in (_W_P, _W_TBL):
            yield child
        elif child.tag == _W + "sdt":
            content = child.find(_W + "sdtContent")
            if content is not None:
                yield from _blocks(content)
        elif child.tag == _W + "customXml":
            yield from _blocks(child)


class _WordStyles:
    """Paragraph style id -> (heading level or 0, is a list style, is a TOC style), following basedOn."""

    def __init__(self, styles_el: Any) -> None:
        self.raw: dict[str, Any] = {}
        self.default = ""
        self.table_header_styles: set[str] = set()
        for s in styles_el.iter(_W + "style"):
            sid = s.get(_W + "styleId") or ""
            kind = s.get(_W + "type")
            if kind == "paragraph":
                self.raw[sid] = s
                if s.get(_W + "default") in ("1", "true"):
                    self.default = sid
            elif kind == "table" and any(p.get(_W + "type") == "firstRow" for p in s.iter(_W + "tblStylePr")):
                self.table_header_styles.add(sid)
        self.memo: dict[str, tuple[int, bool, bool]] = {}

    def info(self, sid: str, depth: int = 0) -> tuple[int, bool, bool]:
        if sid in self.memo:
            return self.memo[sid]
        s = self.raw.get(sid)
        if s is None or depth > 10:
            return 0, False, False
        name_el = s.find(_W + "name")
        name = (name_el.get(_W_VAL) if name_el is not None else sid or "").lower()
        level, is_list, toc = 0, name.startswith("list"), name.startswith("toc")
        if m := re.fullmatch(r"heading\s*([1-9])", name):
            level = min(int(m.group(1)), 6)
        elif name == "title":
            level = _TITLE
        else:
            lvl = s.find(f"{_W}pPr/{_W}outlineLvl")
            if lvl is not None and (v := lvl.get(_W_VAL, "9")).isdigit() and int(v) < 6:
                level = int(v) + 1
        if s.find(f"{_W}pPr/{_W}numPr") is not None:
            is_list = True
        based = s.find(_W + "basedOn")
        if based is not None and not level:
            b_level, b_list, b_toc = self.info(based.get(_W_VAL, ""), depth + 1)
            level, is_list, toc = b_level, is_list or b_list, toc or b_toc
        self.memo[sid] = (level, is_list, toc)
        return self.memo[sid]


def _paragraph_line(p: Any, styles: _WordStyles) -> tuple[int, str]:
    """(heading level, text) of a heading (``_TITLE`` for the Title style), else (0, line)."""
    text = _xml_text(p)
    if not text:
        return 0, ""
    ppr = p.find(_W + "pPr")
    sid = styles.default
    own_level, own_list = 0, False
    if ppr is not None:
        ps = ppr.find(_W + "pStyle")
        if ps is not None:
            sid = ps.get(_W_VAL, "")
        lvl = ppr.find(_W + "outlineLvl")
        if lvl is not None and (v := lvl.get(_W_VAL, "9")).isdigit() and int(v) < 6:
            own_level = int(v) + 1
        num = ppr.find(_W + "numPr")
        if num is not None:
            num_id = num.find(_W + "numId")
            own_list = num_id is None or num_id.get(_W_VAL) != "0"
    level, is_list, toc = styles.info(sid)
    if toc:
        return 0, ""  # a table of contents repeats the headings with page numbers
    level = own_level or level
    if level and len(text) <= 200:
        return level, text
    if own_list or is_list:
        return 0, "- " + text
    return 0, _plain(text)


def _docx_header_marked(tbl: Any, styles: _WordStyles) -> bool:
    tr = tbl.find(_W_TR)
    if tr is None:
        return False
    flag = tr.find(f"{_W}trPr/{_W}tblHeader")
    if flag is not None and flag.get(_W_VAL, "1") not in _OFF:
        return True  # "repeat as header row"
    runs = [r for r in tr.iter(_W + "r") if any((t.text or "").strip() for t in r.iter(_W_T))]
    if runs and all(
        (b := r.find(f"{_W}rPr/{_W}b")) is not None and b.get(_W_VAL, "1") not in _OFF for r in runs
    ):
        return True  # bold first row
    tbl_pr = tbl.find(_W + "tblPr")
    if tbl_pr is None:
        return False
    style, look = tbl_pr.find(_W + "tblStyle"), tbl_pr.find(_W + "tblLook")
    if style is None or style.get(_W_VAL) not in styles.table_header_styles or look is None:
        return False
    first = look.get(_W + "firstRow")
    if first is not None:
        return first not in _OFF
    try:
        return bool(int(look.get(_W_VAL, "0"), 16) & 0x20)
    except ValueError:
        return False


def _docx_table(tbl: Any, doc: Any, styles: _WordStyles) -> list[str]:
    from docx.table import Table

    rows: list[list[str]] = []
    for row in Table(tbl, doc).rows:
        cells: list[str] = []
        prev = None
        for cell in row.cells:
            tc = cell._tc
            if tc is prev:  # a cell spanning several columns is read once
                cells.append("")
                continue
            prev = tc
            cells.append(_xml_text(tc))  # a cell merged down repeats in each row it covers
        rows.append(cells)
    return _table_lines(rows, _docx_header_marked(tbl, styles))


def extract_docx(path: Path) -> Extracted:
    kind = _sniff(path)
    if kind == "ole":
        raise FileProblem(str(path), "an old Word .doc file, not .docx; open it in Word and save it as .docx")
    if kind != "zip":
        raise FileProblem(str(path), "not a Word .docx file (no Office zip container)")
    _check_zip(path, "word/", "a Word .docx file")
    import docx

    try:
        doc = docx.Document(str(path))
        styles = _WordStyles(doc.styles.element)
        items: list[tuple[int, str]] = []
        for block in _blocks(doc.element.body):
            if block.tag == _W_TBL:
                items.extend((0, line) for line in _docx_table(block, doc, styles))
            elif (item := _paragraph_line(block, styles))[1]:
                items.append(item)
        core_title = _clean(doc.core_properties.title or "")
    except FileProblem:
        raise
    except _DAMAGED as exc:
        raise _damaged(path, "Word file", exc) from None
    if not items:
        raise FileProblem(str(path), "no text found (the document is empty or holds only pictures)")
    # As in Markdown ('# Title', '## Chapter'): a document with a Title puts its headings below it,
    # so the title's short text joins the first chapter's chunk instead of standing alone.
    shift = 1 if any(level == _TITLE for level, _ in items) else 0
    lines = [
        ("#" * (1 if level == _TITLE else min(6, level + shift)) + " " + text) if level else text
        for level, text in items
    ]
    first_heading = next((ln.lstrip("#").strip() for ln in lines if ln.startswith("#")), "")
    title = core_title or first_heading or _stem_title(path)
    return Extracted("docx", title, [Page(None, "\n".join(lines), "docx")])
