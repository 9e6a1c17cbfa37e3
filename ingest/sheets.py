"""Spreadsheets: .xlsx/.xlsm (openpyxl), .xls (xlrd) and .csv; one unit per row with its header (see office.py)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import struct
import warnings as warnings_module
import zipfile
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from core.errors import FileProblem
from index.types import Chunk

from .extracted import Extracted, Page
from .office import (
    _DAMAGED,
    _check_zip,
    _clean,
    _column_letter,
    _damaged,
    _labelled,
    _plain,
    _sniff,
    _stem_title,
)

MAX_SHEET_ROWS = 20_000  # rows read per sheet; a bigger sheet is an export, not a manual
_ROW_MARK = re.compile(r"^- Row (\d+):", re.M)

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
