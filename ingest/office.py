"""Office files: Word .docx (``word.py``), Excel .xlsx/.xlsm/.xls and .csv (``sheets.py``), PowerPoint
.pptx (``slides.py``); here what they share: the container checks, the table-row format, text helpers.

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

import re
import zipfile
import zlib
from collections.abc import Sequence
from pathlib import Path

from core.errors import FileProblem

SPREADSHEET_KINDS = ("xlsx", "xls", "csv")

_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # Compound File: .doc/.xls/.ppt, and encrypted Office files
_ZIP = b"PK\x03\x04"
# What a broken container or part raises inside python-docx, openpyxl, python-pptx and xlrd
# (lxml's and ElementTree's parse errors are SyntaxErrors).
_DAMAGED = (zipfile.BadZipFile, zlib.error, KeyError, ValueError, IndexError, EOFError, SyntaxError)

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
