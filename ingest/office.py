"""Extraction of Office files: Word .docx, Excel .xlsx/.xlsm/.xls, .csv and PowerPoint .pptx.

Everything is turned into the line format ``ingest/chunking.py`` reads:

* Word headings (Heading 1..6, Title, and styles based on them or with an outline level) become
  '#' lines, so the chunker sets the section; list paragraphs become '- ' lines.
* A table row becomes one '- ' line; when the first row is a header, each cell carries its
  column header: ``- Grease point: 4 | Interval: 50 h | Grease: EP2``. The '- ' makes every
  row a record of its own for the chunker (never glued to the next row).
* A worksheet is one page (``label="sheet <name>"``) that starts with a '# <name>' heading; its
  header row is the first non-empty row (title rows above a wider header are kept as text),
  and every following non-empty row is one line ``- Row 5: Grease point: 4 | Interval: 50 h``
  with the row number the spreadsheet program shows. ``locate_rows`` turns those markers into
  the chunk's citation ("sheet Lubrication, rows 5–9").
* A slide is one page (``number`` = slide number, ``label="slide <n>"``): its title as a '#'
  line, then its text frames and tables in reading order, then its speaker notes.

Bad input (empty, not really that format, encrypted, no text) raises ``FileProblem``.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import struct
import warnings as warnings_module
import zipfile
import zlib
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from core.errors import FileProblem
from index.types import Chunk

from .extracted import Extracted, Page

MAX_SHEET_ROWS = 20_000  # rows read per sheet; a bigger sheet is an export, not a manual
SPREADSHEET_KINDS = ("xlsx", "xls", "csv")

_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # Compound File: .doc/.xls/.ppt, and encrypted Office files
_ZIP = b"PK\x03\x04"
# What a broken container or part raises inside python-docx, openpyxl, python-pptx and xlrd
# (lxml's and ElementTree's parse errors are SyntaxErrors).
_DAMAGED = (zipfile.BadZipFile, zlib.error, KeyError, ValueError, IndexError, EOFError, SyntaxError)

_ROW_MARK = re.compile(r"^- Row (\d+):", re.M)
_MD_HEADING = re.compile(r"^#{1,6}\s")


def _clean(text: str) -> str:
    """One line: every run of whitespace (newlines, tabs, no-break spaces, \\v) becomes one space."""
    return " ".join(text.split())


def _plain(line: str) -> str:
    """A content line that would read as a Markdown heading ('# 2 pumps') is not one."""
    return "\\" + line if _MD_HEADING.match(line) else line


def _stem_title(path: Path) -> str:
    return re.sub(r"_+", " ", path.stem).strip() or path.stem


def _column_letter(i: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA (as Excel names columns)."""
    s = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        s = chr(65 + r) + s
    return s


# ---------------------------------------------------------------------------------- containers
_ZIP_KINDS = {"word/": "a Word document", "xl/": "an Excel workbook", "ppt/": "a PowerPoint presentation"}


def _sniff(path: Path) -> str:
    """'zip', 'ole' or 'other' from the first bytes; empty and encrypted files are a FileProblem."""
    with path.open("rb") as fh:
        head = fh.read(8)
    if not head:
        raise FileProblem(str(path), "empty file")
    if head.startswith(_OLE):
        # An encrypted .docx/.xlsx/.pptx is an OLE container holding "EncryptionInfo" and
        # "EncryptedPackage" streams (directory names are UTF-16).
        if "EncryptedPackage".encode("utf-16-le") in path.read_bytes():
            raise FileProblem(str(path), "encrypted or password-protected; save an unprotected copy")
        return "ole"
    return "zip" if head.startswith(_ZIP) else "other"


def _check_zip(path: Path, part: str, what: str) -> None:
    """The zip must hold the parts of ``what`` (a .docx renamed from an .xlsx is named as such)."""
    try:
        with zipfile.ZipFile(path) as z:
            names = z.namelist()
    except (zipfile.BadZipFile, zlib.error, EOFError):
        raise FileProblem(str(path), "damaged file (broken zip container)") from None
    if not any(n.startswith(part) for n in names):
        holds = next((k for p, k in _ZIP_KINDS.items() if any(n.startswith(p) for n in names)), None)
        raise FileProblem(
            str(path), f"not {what} ({'it is ' + holds if holds else 'a zip file, not an Office file'})"
        )


def _damaged(path: Path, what: str, exc: BaseException) -> FileProblem:
    return FileProblem(str(path), f"damaged or unreadable {what} ({type(exc).__name__}: {exc})"[:300])


# ---------------------------------------------------------------------------------- tables
def _looks_like_header(rows: Sequence[Sequence[str]], marked: bool) -> bool:
    """Is the first row of a table its column headers? ``marked``: the file says so (a repeated
    header row, a bold first row, a table style's header row)."""
    if len(rows) < 2:
        return False
    head = rows[0]
    filled = [h for h in head if h]
    if len(filled) < 2:
        return False
    if marked:
        return True
    # unmarked: only tables of 3+ columns whose first row is short, distinct labels without numbers
    # (a 2-column table is usually "name | value" and its first row is data)
    return (
        len(head) >= 3
        and len(filled) == len(head)
        and len(set(filled)) == len(filled)
        and all(len(h) <= 40 and not re.search(r"\d", h) for h in filled)
    )


def _labelled(labels: Sequence[str], cells: Sequence[str]) -> str:
    """'Grease point: 4 | Interval: 50 h': non-empty cells, each after its column's label."""
    parts = []
    for i, v in enumerate(cells):
        if not v:
            continue
        label = labels[i] if i < len(labels) else ""
        parts.append(f"{label}: {v}" if label and label != v else v)
    return " | ".join(parts)


def _table_lines(rows: list[list[str]], marked: bool) -> list[str]:
    """Rows of a Word or PowerPoint table as '- ' record lines (header-prefixed when it has one)."""
    rows = [r for r in rows if any(r)]
    if not rows:
        return []
    if _looks_like_header(rows, marked):
        header = rows[0]
        return [f"- {_labelled(header, r)}" for r in rows[1:] if r != header]
    return ["- " + " | ".join(c for c in r if c) for r in rows]


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


# ---------------------------------------------------------------------------------- spreadsheets
Row = tuple[int, list[str]]  # (row number as the spreadsheet program shows it, cell texts; '' = empty)


def _number(v: float) -> str:
    if v != v or v in (float("inf"), float("-inf")):
        return str(v)
    if float(v).is_integer() and abs(v) < 1e15:
        return str(int(v))
    return format(v, ".10g")


def _cell_text(v: Any, number_format: str = "General") -> str:
    """A cell value as an operator reads it: 4 not 4.0, dates ISO, 5% not 0.05, one line."""
    if v is None:
        return ""
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    if isinstance(v, dt.datetime):
        if v.time() == dt.time(0):
            return v.date().isoformat()
        return v.isoformat(sep=" ", timespec="seconds" if v.second else "minutes")
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, dt.time):
        return v.isoformat(timespec="seconds" if v.second else "minutes")
    if isinstance(v, int | float):
        if "%" in (number_format or ""):
            return _number(round(v * 100, 10)) + "%"
        return _number(v)
    return _clean(str(v))


class _MergeFill:
    """Gives the cells below the top of a merged range the range's value ("Hydraulic unit" merged
    over rows 5-9 names the unit in each of those rows). Only down its first column: a range
    merged across columns (a centred title) is read once. Rows arrive in order."""

    def __init__(self, ranges: Iterable[tuple[int, int, int, int]]) -> None:
        # (first row, first col, last row, last col), 1-based inclusive
        self.starting: dict[int, list[tuple[int, int, int, int]]] = {}
        for r in ranges:
            if r[2] > r[0]:
                self.starting.setdefault(r[0], []).append(r)
        self.active: list[tuple[int, int, str]] = []  # (last row, column, value)

    def __call__(self, num: int, cells: list[str]) -> list[str]:
        if not self.starting and not self.active:
            return cells
        self.active = [a for a in self.active if a[0] >= num]
        for _, c1, r2, _ in self.starting.pop(num, ()):
            if c1 - 1 < len(cells) and cells[c1 - 1]:
                self.active.append((r2, c1, cells[c1 - 1]))
        for _, c, v in self.active:
            if len(cells) < c:
                cells = cells + [""] * (c - len(cells))
            cells[c - 1] = cells[c - 1] or v
        return cells


def _sheet_lines(name: str, rows: Iterable[Row], warnings: list[str]) -> list[str]:
    """A sheet as a heading line and one '- Row n:' record per non-empty row below its header."""
    kept: list[Row] = []
    for num, cells in rows:
        if any(cells):
            if len(kept) > MAX_SHEET_ROWS:
                warnings.append(
                    f"sheet {name}: only the first {MAX_SHEET_ROWS:,} rows were read (row {num} and below are not)"
                )
                break
            kept.append((num, cells))
    if not kept:
        return []
    # Title rows above the header ("Lubrication chart HP-200" alone in A1) stay text: the header
    # is the first row with two or more filled cells, if one comes within the first ten rows.
    start = next((i for i, (_, c) in enumerate(kept[:10]) if len({x for x in c if x}) >= 2), 0)
    lines = [f"# {name}"] + [_plain(" ".join(x for x in c if x)) for _, c in kept[:start]]
    head_num, header = kept[start]
    body = kept[start + 1 :]
    if not body:  # a single row: nothing to label
        return [*lines, f"- Row {head_num}: " + " | ".join(x for x in header if x)]
    width = max(len(c) for _, c in kept[start:])
    labels = [h or f"Column {_column_letter(i)}" for i, h in enumerate(header + [""] * (width - len(header)))]
    for num, cells in body:
        if cells[: len(header)] == header and not any(cells[len(header) :]):
            continue  # the header repeated (a printed list's page header)
        lines.append(f"- Row {num}: {_labelled(labels, cells)}")
    return lines


def _workbook(
    path: Path, sheets: Iterable[tuple[str, Iterable[Row]]], extractor: str, title: str, warnings: list[str]
) -> Extracted:
    pages = []
    for name, rows in sheets:
        lines = _sheet_lines(name, rows, warnings)
        if lines:
            pages.append(Page(None, "\n".join(lines), extractor, label=f"sheet {name}"))
    if not pages:
        raise FileProblem(str(path), "no text found (no sheet has a non-empty cell)")
    return Extracted(extractor, title or _stem_title(path), pages, [], [], warnings)


_FORMULA_WITHOUT_VALUE = re.compile(rb"(?:</f>|<f\b[^>]*/>)\s*(?:<v\s*/>|<v>\s*</v>)?\s*</c>")
_MERGE_REF = re.compile(rb'<mergeCell\s+ref="([A-Z]+)(\d+):([A-Z]+)(\d+)"')


def _col_index(letters: bytes) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ch - 64
    return n


def _sheet_xml_facts(z: zipfile.ZipFile, part: str | None) -> tuple[list[tuple[int, int, int, int]], int]:
    """Merged ranges and the number of formulas without a saved result, from the sheet's XML
    (openpyxl's read-only mode gives neither)."""
    if not part:
        return [], 0
    try:
        xml = z.read(part.lstrip("/"))
    except KeyError:
        return [], 0
    merges = [
        (int(r1), _col_index(c1), int(r2), _col_index(c2)) for c1, r1, c2, r2 in _MERGE_REF.findall(xml)
    ]
    return merges, len(_FORMULA_WITHOUT_VALUE.findall(xml))


def _openpyxl_rows(ws: Any, fill: _MergeFill) -> Iterator[Row]:
    ws.reset_dimensions()  # some writers store a wrong size ("A1"); read the cells that are there
    for num, row in enumerate(ws.iter_rows(min_row=1, min_col=1), start=1):
        cells = [_cell_text(c.value, getattr(c, "number_format", "General")) for c in row]
        yield num, fill(num, cells)


def _read_xlsx(path: Path, warnings: list[str]) -> Extracted:
    import openpyxl

    with path.open("rb") as fh, zipfile.ZipFile(path) as z:
        try:
            with warnings_module.catch_warnings():  # "Data Validation extension is not supported" etc.
                warnings_module.simplefilter("ignore", UserWarning)
                wb = openpyxl.load_workbook(fh, read_only=True, data_only=True)
        except _DAMAGED as exc:
            raise _damaged(path, "Excel workbook", exc) from None
        try:
            title = _clean(wb.properties.title or "")
            no_value = 0
            sheets = []
            for ws in wb.worksheets:
                merges, missing = _sheet_xml_facts(z, getattr(ws, "_worksheet_path", None))
                no_value += missing
                sheets.append((ws.title, _openpyxl_rows(ws, _MergeFill(merges))))
            if no_value:
                warnings.append(
                    f"{no_value} formula cell(s) have no saved result (the file was written by a program "
                    "that does not calculate); open and save it in Excel to include their values"
                )
            return _workbook(path, sheets, "xlsx", title, warnings)
        except FileProblem:
            raise
        except _DAMAGED as exc:
            raise _damaged(path, "Excel workbook", exc) from None
        finally:
            wb.close()


def _read_xls(path: Path, warnings: list[str]) -> Extracted:
    import xlrd

    data = path.read_bytes()
    try:
        try:
            book = xlrd.open_workbook(file_contents=data, formatting_info=True, on_demand=True)
        except NotImplementedError:
            book = xlrd.open_workbook(file_contents=data, on_demand=True)
    except xlrd.XLRDError as exc:
        if "encrypted" in str(exc).lower():
            raise FileProblem(
                str(path), "encrypted or password-protected; save an unprotected copy"
            ) from None
        raise FileProblem(str(path), f"not a readable Excel .xls file ({exc})") from None
    except (*_DAMAGED, AssertionError, struct.error) as exc:
        raise _damaged(path, "Excel .xls workbook", exc) from None

    def percent(sheet: Any, r: int, c: int) -> str:
        if not book.formatting_info:
            return "General"
        try:
            fmt = book.format_map.get(book.xf_list[sheet.cell_xf_index(r, c)].format_key)
        except (IndexError, KeyError):
            return "General"
        return fmt.format_str if fmt is not None else "General"

    def value(sheet: Any, r: int, c: int) -> str:
        ctype, v = sheet.cell_type(r, c), sheet.cell_value(r, c)
        if ctype in (xlrd.XL_CELL_EMPTY, xlrd.XL_CELL_BLANK):
            return ""
        if ctype == xlrd.XL_CELL_DATE:
            try:
                d = xlrd.xldate_as_datetime(v, book.datemode)
            except (ValueError, OverflowError, xlrd.xldate.XLDateError):
                return _number(v)
            return _cell_text(d.time() if v < 1 else d)
        if ctype == xlrd.XL_CELL_BOOLEAN:
            return _cell_text(bool(v))
        if ctype == xlrd.XL_CELL_ERROR:
            return str(xlrd.error_text_from_code.get(v, "#ERR"))
        if ctype == xlrd.XL_CELL_NUMBER:
            return _cell_text(v, percent(sheet, r, c))
        return _cell_text(v)

    def rows(sheet: Any) -> Iterator[Row]:
        fill = _MergeFill((r1 + 1, c1 + 1, r2, c2) for r1, r2, c1, c2 in sheet.merged_cells)
        for r in range(sheet.nrows):
            yield r + 1, fill(r + 1, [value(sheet, r, c) for c in range(sheet.row_len(r))])

    try:
        title = ""
        sheets = [(book.sheet_by_index(i).name, rows(book.sheet_by_index(i))) for i in range(book.nsheets)]
        return _workbook(path, sheets, "xls", title, warnings)
    except FileProblem:
        raise
    except (*_DAMAGED, AssertionError, struct.error) as exc:
        raise _damaged(path, "Excel .xls workbook", exc) from None
    finally:
        book.release_resources()


def _decode(path: Path, what: str) -> tuple[str, list[str]]:
    data = path.read_bytes()
    if not data.strip():
        raise FileProblem(str(path), "empty file" if not data else "file holds only whitespace")
    if b"\x00" in data[:4096]:
        raise FileProblem(str(path), f"not {what} (binary data)")
    try:
        return data.decode("utf-8-sig"), []
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace"), ["not UTF-8; read as Windows-1252"]


def _delimiter(text: str) -> str:
    """';', ',' or tab: the one that splits the first lines into the same number (2+) of fields."""
    sample = [ln for ln in text.splitlines()[:50] if ln.strip()]
    best, best_key = ",", (0.0, 0)
    for d in (";", ",", "\t"):
        try:
            widths = [len(r) for r in csv.reader(sample, delimiter=d)]
        except csv.Error:
            continue
        if not widths:
            continue
        width, n = Counter(widths).most_common(1)[0]
        key = (n / len(widths), width)
        if width >= 2 and key > best_key:
            best, best_key = d, key
    return best


def _delimited(path: Path, text: str, warnings: list[str]) -> Extracted:
    # Excel writes (and reads) a first line "sep=;" naming the delimiter; it is not a row.
    hint = re.match(r"sep=(.)\r?\n", text)
    if hint:
        text = text[hint.end() :]
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=hint.group(1) if hint else _delimiter(text))

    def rows() -> Iterator[Row]:
        for num, row in enumerate(reader, start=1):
            yield num, [_clean(c) for c in row]

    try:
        return _workbook(path, [(_stem_title(path), rows())], "csv", "", warnings)
    except csv.Error as exc:
        raise FileProblem(str(path), f"unreadable CSV ({exc})") from None


def extract_csv(path: Path) -> Extracted:
    text, warnings = _decode(path, "a text .csv file")
    return _delimited(path, text, warnings)


def extract_xlsx(path: Path) -> Extracted:
    kind = _sniff(path)
    if kind == "ole":  # not encrypted: an Excel 97-2003 workbook with the new extension
        return _read_xls(path, [f"an Excel 97-2003 .xls workbook named {path.suffix}"])
    if kind != "zip":
        raise FileProblem(str(path), f"not an Excel {path.suffix} file (no Office zip container)")
    _check_zip(path, "xl/", f"an Excel {path.suffix} file")
    return _read_xlsx(path, [])


def extract_xls(path: Path) -> Extracted:
    kind = _sniff(path)
    if kind == "ole":
        return _read_xls(path, [])
    if kind == "zip":
        _check_zip(path, "xl/", "an Excel .xls file")
        return _read_xlsx(path, ["an Excel .xlsx workbook named .xls"])
    # Some programs (SAP among them) export tab-separated text or HTML with the .xls extension.
    head = path.read_bytes()[:2048]
    if b"\t" in head and b"\x00" not in head and b"<" not in head[:64]:
        text, warnings = _decode(path, "an Excel .xls file")
        return _delimited(path, text, ["tab-separated text named .xls; read as text", *warnings])
    if re.search(rb"<(?:html|table|\?xml)", head, re.I):
        raise FileProblem(
            str(path),
            "a web page or XML file named .xls, not an Excel workbook; open it in Excel and save as .xlsx",
        )
    raise FileProblem(str(path), "not an Excel .xls file (no Excel workbook inside)")


def locate_rows(chunks: list[Chunk]) -> list[Chunk]:
    """The citation of a spreadsheet chunk: its sheet and the rows it holds ("sheet Lubrication,
    rows 5–9"), from the '- Row n:' markers. A chunk without a marker is the rest of a long row
    split over chunks and cites that row."""
    out: list[Chunk] = []
    last: dict[tuple[str, str], int] = {}
    for c in chunks:
        base = c.page_label or ""
        nums = [int(n) for n in _ROW_MARK.findall(c.text)]
        if nums:
            lo, hi = min(nums), max(nums)
            last[(c.source, base)] = hi
        elif (c.source, base) in last:
            lo = hi = last[(c.source, base)]
        else:
            out.append(c)  # the sheet's heading and title rows
            continue
        where = f"row {lo}" if lo == hi else f"rows {lo}–{hi}"
        out.append(replace(c, page_label=f"{base}, {where}" if base else where))
    return out


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
