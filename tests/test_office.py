"""Office files (Word, Excel, CSV, PowerPoint): real files written with python-docx, openpyxl and
python-pptx, extracted, chunked, ingested and retrieved."""

from __future__ import annotations

import datetime as dt
import re
import shutil
import zipfile
from pathlib import Path

import pytest
from conftest import MANUALS, app_settings, make_settings

from core.errors import FileProblem
from index import open_index
from ingest import office, sheets
from ingest.chunking import _group_units, chunk_document
from ingest.extract import extract
from ingest.pipeline import run_ingest
from ingest.process import count_pages
from ingest.scan import FileEntry
from ingest.sheets import locate_rows


def _count(texts):  # whitespace tokens, as tests/test_chunking.py measures without the model
    return [len(t.split()) for t in texts]


def _chunks(path: Path, tokens: int = 200):
    doc = extract(path)
    chunks = chunk_document(doc, path.name, "ab" * 32, _count, chunk_tokens=tokens, overlap_tokens=20)
    return locate_rows(chunks) if doc.kind in office.SPREADSHEET_KINDS else chunks


LUBE = [
    ["Grease point", "Interval", "Grease"],
    ["4", "50 h", "EP2"],
    ["5", "100 h", "EP2"],
]


# ------------------------------------------------------------------ files the tests write
def make_docx(path: Path) -> Path:
    import docx

    d = docx.Document()
    d.add_heading("HP-200 maintenance plan", 0)  # the Title style
    d.add_heading("Lubrication", 1)
    d.add_paragraph("Grease every point with the press stopped and locked out.")
    d.add_paragraph("Wipe old grease off the nipple first", style="List Bullet")
    t = d.add_table(rows=3, cols=3)
    for i, row in enumerate(LUBE):
        for j, v in enumerate(row):
            t.cell(i, j).text = v
    d.add_heading("Hydraulic oil", 2)
    d.add_paragraph("Change the return filter every 500 h.")
    kv = d.add_table(rows=2, cols=2)  # a name | value table: its first row is data
    for i, (k, v) in enumerate([("Oil", "ISO VG 46"), ("Tank volume", "120 l")]):
        kv.cell(i, 0).text, kv.cell(i, 1).text = k, v
    d.add_paragraph("Check the level daily.")
    d.save(str(path))
    return path


def make_xlsx(path: Path, points: int = 3) -> Path:
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Lubrication"
    ws.append(["Grease point", "Interval", None, "Grease", "Last done"])  # column C stays empty
    for p in range(4, 4 + points):
        ws.append(
            [
                p,
                f"{50 * (p - 3)} h",
                None,
                "EP2" if p % 2 == 0 else "EP0",
                dt.datetime(2024, 3, 1) + dt.timedelta(days=p - 1),
            ]
        )
        if p == 4:
            ws.append([])  # an empty row between rows 2 and 4
    ws.append([99.0, 0.25, None, "EP2", dt.date(2024, 4, 1)])
    ws.cell(ws.max_row, 2).number_format = "0%"
    spares = wb.create_sheet("Spares")
    spares["A1"] = "Spare parts HP-200"  # a title row above the header, centred over the table
    spares.merge_cells("A1:C1")
    spares.append([])
    spares.append(["Part no", "Description", "Qty"])
    spares.append(["HP-4711", "Seal kit main cylinder", 2])
    spares.append(["HP-9000", "Valve block", 1])
    spares.append([None, "Valve coil 24 V", 2])
    spares.merge_cells("A5:A6")  # one part number for two rows
    wb.create_sheet("Empty")
    wb.save(str(path))
    return path


def make_pptx(path: Path) -> Path:
    import pptx
    from pptx.util import Inches

    p = pptx.Presentation()
    s1 = p.slides.add_slide(p.slide_layouts[1])
    s1.shapes.title.text = "Greasing the press"
    s1.placeholders[1].text_frame.text = "Stop the press\nLock out the main switch"
    s1.notes_slide.notes_text_frame.text = "Show the grease gun\nto the trainees."
    s2 = p.slides.add_slide(p.slide_layouts[5])
    s2.shapes.title.text = "Intervals"
    table = s2.shapes.add_table(3, 3, Inches(1), Inches(2), Inches(6), Inches(2)).table
    for i, row in enumerate(LUBE):
        for j, v in enumerate(row):
            table.cell(i, j).text = v
    p.slides.add_slide(p.slide_layouts[6])  # blank: a slide without text
    s4 = p.slides.add_slide(p.slide_layouts[6])
    box = s4.shapes.add_textbox(Inches(1), Inches(1), Inches(4), Inches(1))
    box.text_frame.text = "Questions?"
    p.save(str(path))
    return path


# ------------------------------------------------------------------ Word
def test_docx_headings_lists_and_header_prefixed_rows_in_body_order(tmp_path: Path) -> None:
    doc = extract(make_docx(tmp_path / "plan.docx"))
    assert doc.kind == "docx" and doc.title == "HP-200 maintenance plan"
    assert len(doc.pages) == 1 and doc.pages[0].number is None and doc.pages[0].extractor == "docx"
    assert doc.pages[0].text.split("\n") == [
        "# HP-200 maintenance plan",
        "## Lubrication",
        "Grease every point with the press stopped and locked out.",
        "- Wipe old grease off the nipple first",
        "- Grease point: 4 | Interval: 50 h | Grease: EP2",
        "- Grease point: 5 | Interval: 100 h | Grease: EP2",
        "### Hydraulic oil",
        "Change the return filter every 500 h.",
        "- Oil | ISO VG 46",
        "- Tank volume | 120 l",
        "Check the level daily.",
    ]
    chunks = _chunks(tmp_path / "plan.docx")
    row = next(c for c in chunks if "Grease point: 4" in c.text)
    assert row.section.endswith("Lubrication") and row.page_label is None and row.page_start is None
    oil = next(c for c in chunks if "ISO VG 46" in c.text)
    assert oil.section.endswith("Lubrication > Hydraulic oil")


def test_docx_bold_two_column_header_and_merged_cells(tmp_path: Path) -> None:
    import docx

    d = docx.Document()
    t = d.add_table(rows=3, cols=2)
    for j, v in enumerate(["Part", "Location"]):
        t.cell(0, j).paragraphs[0].add_run(v).bold = True
    t.cell(1, 0).merge(t.cell(2, 0)).text = "Filter"  # merged down: each row names it
    t.cell(1, 1).text, t.cell(2, 1).text = "Tank lid", "Return line"
    wide = d.add_table(rows=2, cols=3)
    wide.cell(0, 0).merge(wide.cell(0, 2)).text = "Torque values"  # merged across: read once
    for j, v in enumerate(["M8", "25 Nm", "dry"]):
        wide.cell(1, j).text = v
    d.save(str(tmp_path / "t.docx"))
    lines = extract(tmp_path / "t.docx").pages[0].text.split("\n")
    assert lines == [
        "- Part: Filter | Location: Tank lid",
        "- Part: Filter | Location: Return line",
        "- Torque values",
        "- M8 | 25 Nm | dry",
    ]


# ------------------------------------------------------------------ Excel, CSV
def test_xlsx_sheets_rows_and_values(tmp_path: Path) -> None:
    doc = extract(make_xlsx(tmp_path / "lube.xlsx"))
    assert doc.kind == "xlsx" and doc.title == "lube"
    assert [(p.number, p.label, p.extractor) for p in doc.pages] == [
        (None, "sheet Lubrication", "xlsx"),
        (None, "sheet Spares", "xlsx"),  # the empty sheet has no page
    ]
    assert doc.pages[0].text.split("\n") == [
        "# Lubrication",
        "- Row 2: Grease point: 4 | Interval: 50 h | Grease: EP2 | Last done: 2024-03-04",
        "- Row 4: Grease point: 5 | Interval: 100 h | Grease: EP0 | Last done: 2024-03-05",
        "- Row 5: Grease point: 6 | Interval: 150 h | Grease: EP2 | Last done: 2024-03-06",
        "- Row 6: Grease point: 99 | Interval: 25% | Grease: EP2 | Last done: 2024-04-01",
    ]
    assert doc.pages[1].text.split("\n") == [
        "# Spares",
        "Spare parts HP-200",
        "- Row 4: Part no: HP-4711 | Description: Seal kit main cylinder | Qty: 2",
        "- Row 5: Part no: HP-9000 | Description: Valve block | Qty: 1",
        "- Row 6: Part no: HP-9000 | Description: Valve coil 24 V | Qty: 2",
    ]


def test_header_prefixed_rows_stay_one_unit_each(tmp_path: Path) -> None:
    doc = extract(make_xlsx(tmp_path / "lube.xlsx", points=60))
    lines = doc.pages[0].text.split("\n")[1:]
    units = _group_units(lines)
    assert [u for u, _ in units] == lines and all(rec for _, rec in units)  # one record per row
    chunks = _chunks(tmp_path / "lube.xlsx", tokens=60)
    sheet = [c for c in chunks if c.section == "Lubrication"]
    assert len(sheet) > 5
    for line in lines:  # every row whole in exactly one chunk, never split or glued mid-row
        assert sum(line in c.text.split("\n") for c in sheet) == 1, line
    for c in sheet:
        nums = [int(n) for n in re.findall(r"^- Row (\d+):", c.text, re.M)]
        want = f"rows {min(nums)}–{max(nums)}" if len(nums) > 1 else f"row {nums[0]}"
        assert c.page_label == f"sheet Lubrication, {want}"
        assert c.section == "Lubrication" and c.page_start is None


def test_locate_rows_cites_the_rest_of_a_split_row(tmp_path: Path) -> None:
    from index.types import Chunk

    def chunk(text: str, ordinal: int) -> Chunk:
        return Chunk("a.xlsx", "a", None, None, "sheet S", "S", text, "xlsx", "0" * 64, ordinal)

    out = locate_rows([chunk("S\nTitle row", 0), chunk("- Row 9: A: x", 1), chunk("y y y", 2)])
    assert [c.page_label for c in out] == ["sheet S", "sheet S, row 9", "sheet S, row 9"]


def test_csv_semicolons_windows_1252_and_blank_lines(tmp_path: Path) -> None:
    path = tmp_path / "Ersatzteile_Presse.csv"
    path.write_bytes(
        "Teil;Beschreibung;Menge\r\nHP-1;Dichtung, groß;2\r\n\r\nHP-2;Filter;1,5\r\n".encode("cp1252")
    )
    doc = extract(path)
    assert doc.kind == "csv" and doc.title == "Ersatzteile Presse"
    assert doc.warnings == ["not UTF-8; read as Windows-1252"]
    assert doc.pages[0].label == "sheet Ersatzteile Presse"
    assert doc.pages[0].text.split("\n")[1:] == [
        "- Row 2: Teil: HP-1 | Beschreibung: Dichtung, groß | Menge: 2",
        "- Row 4: Teil: HP-2 | Beschreibung: Filter | Menge: 1,5",
    ]
    comma = tmp_path / "c.csv"
    comma.write_text('part,description,qty\nA-1,"Seal; large",2\n', encoding="utf-8-sig")
    assert extract(comma).pages[0].text.endswith("- Row 2: part: A-1 | description: Seal; large | qty: 2")
    tab = tmp_path / "t.csv"
    tab.write_text("part\tqty\nA-1\t2\n")
    assert extract(tab).pages[0].text.endswith("- Row 2: part: A-1 | qty: 2")
    hinted = tmp_path / "h.csv"  # Excel's "sep=" line names the delimiter and is not a row
    hinted.write_text("sep=,\npart;no,qty\nA;1,2\n")
    assert extract(hinted).pages[0].text.split("\n")[1:] == ["- Row 2: part;no: A;1 | qty: 2"]


def test_huge_sheet_is_capped_with_a_warning(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sheets, "MAX_SHEET_ROWS", 10)
    path = tmp_path / "big.csv"
    path.write_text("n,v\n" + "".join(f"{i},x\n" for i in range(50)))
    doc = extract(path)
    assert doc.pages[0].text.count("- Row ") == 10
    assert any("only the first 10 rows" in w for w in doc.warnings)


def test_formula_without_saved_result_is_named(tmp_path: Path) -> None:
    import openpyxl

    wb = openpyxl.Workbook()
    wb.active.append(["Point", "Hours", "Doubled"])
    wb.active.append([4, 50, "=B2*2"])  # openpyxl writes no result: Excel has not calculated it
    wb.save(str(tmp_path / "f.xlsx"))
    doc = extract(tmp_path / "f.xlsx")
    assert doc.pages[0].text.endswith("- Row 2: Point: 4 | Hours: 50")
    assert any("1 formula cell(s) have no saved result" in w for w in doc.warnings)


def test_real_xls_if_xlwt_is_installed(tmp_path: Path) -> None:
    xlwt = pytest.importorskip("xlwt")  # not a dependency: only to write a real .xls here
    wb = xlwt.Workbook()
    ws = wb.add_sheet("Lube")
    for i, row in enumerate([["Grease point", "Interval", "Since"], [4, "50 h", None], [5.0, "100 h", None]]):
        for j, v in enumerate(row):
            if v is not None:
                ws.write(i, j, v)
    ws.write(1, 2, dt.date(2024, 1, 2), xlwt.easyxf(num_format_str="YYYY-MM-DD"))
    ws.write_merge(3, 4, 0, 0, 6)  # grease point 6 merged over two rows
    ws.write(3, 1, "200 h")
    ws.write(4, 1, "400 h")
    wb.save(str(tmp_path / "old.xls"))
    doc = extract(tmp_path / "old.xls")
    assert doc.kind == "xls" and doc.pages[0].label == "sheet Lube"
    assert doc.pages[0].text.split("\n") == [
        "# Lube",
        "- Row 2: Grease point: 4 | Interval: 50 h | Since: 2024-01-02",
        "- Row 3: Grease point: 5 | Interval: 100 h",
        "- Row 4: Grease point: 6 | Interval: 200 h",
        "- Row 5: Grease point: 6 | Interval: 400 h",
    ]


def test_xls_that_is_really_something_else(tmp_path: Path) -> None:
    sap = tmp_path / "export.xls"  # SAP-style export: tab-separated text with the .xls name
    sap.write_text("Material\tQty\nHP-1\t2\n")
    doc = extract(sap)
    assert doc.pages[0].text.endswith("- Row 2: Material: HP-1 | Qty: 2")
    assert "tab-separated text named .xls; read as text" in doc.warnings
    renamed = tmp_path / "renamed.xls"  # an .xlsx saved under the old name
    shutil.copy(make_xlsx(tmp_path / "lube.xlsx"), renamed)
    assert "Grease point: 4" in extract(renamed).pages[0].text


# ------------------------------------------------------------------ PowerPoint
def test_pptx_slides_are_pages(tmp_path: Path) -> None:
    path = make_pptx(tmp_path / "training.pptx")
    doc = extract(path)
    assert doc.kind == "pptx" and doc.title == "Greasing the press"
    assert [(p.number, p.label, p.extractor) for p in doc.pages] == [
        (n, f"slide {n}", "pptx") for n in (1, 2, 3, 4)
    ]
    assert doc.pages[0].text.split("\n") == [
        "# Greasing the press",
        "- Stop the press",
        "- Lock out the main switch",
        "Notes: Show the grease gun to the trainees.",
    ]
    assert doc.pages[1].text.split("\n")[1:] == [
        "- Grease point: 4 | Interval: 50 h | Grease: EP2",
        "- Grease point: 5 | Interval: 100 h | Grease: EP2",
    ]
    assert doc.pages[2].text == ""
    assert doc.pages[3].text == "# Slide 4\nQuestions?"
    chunks = _chunks(path)
    assert [(c.page_start, c.section) for c in chunks] == [
        (1, "Greasing the press"),
        (2, "Intervals"),
        (4, "Slide 4"),
    ]
    entries = [FileEntry(root=tmp_path, display_root=str(tmp_path), path=path, source=path.name, size=0)]
    assert count_pages(entries) == 4


# ------------------------------------------------------------------ bad input
def _ole(encrypted: bool) -> bytes:
    """A Compound File header and directory names: what an encrypted Office file (or an old
    .doc/.xls/.ppt) starts with."""
    names = ["EncryptionInfo", "EncryptedPackage"] if encrypted else ["WordDocument", "1Table"]
    return b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504) + b"".join(n.encode("utf-16-le") for n in names)


def _zip(path: Path, names: list[str]) -> None:
    with zipfile.ZipFile(path, "w") as z:
        for n in names:
            z.writestr(n, "<x/>")


@pytest.mark.parametrize(
    ("name", "content", "problem"),
    [
        ("empty.docx", b"", "empty file"),
        ("empty.xlsx", b"", "empty file"),
        ("empty.pptx", b"", "empty file"),
        ("empty.csv", b"", "empty file"),
        (
            "notes.docx",
            b"Plain notes saved with the wrong name.\n",
            r"not a Word \.docx file \(no Office zip",
        ),
        ("notes.xlsx", b"Plain notes.\n", r"not an Excel \.xlsx file \(no Office zip container\)"),
        ("notes.pptx", b"Plain notes.\n", r"not a PowerPoint \.pptx file \(no Office zip container\)"),
        ("notes.xls", b"Plain notes, not a workbook.\n", r"not an Excel \.xls file"),
        ("page.xls", b"<html><table><tr><td>1</td></tr></table></html>", "a web page or XML file named .xls"),
        ("binary.csv", bytes(range(256)), r"not a text \.csv file"),
        ("locked.docx", _ole(True), "encrypted or password-protected; save an unprotected copy"),
        ("locked.xlsx", _ole(True), "encrypted or password-protected; save an unprotected copy"),
        ("locked.pptx", _ole(True), "encrypted or password-protected; save an unprotected copy"),
        ("old.docx", _ole(False), r"an old Word \.doc file, not \.docx"),
        ("old.pptx", _ole(False), r"an old PowerPoint \.ppt file"),
    ],
)
def test_bad_office_bytes(tmp_path: Path, name: str, content: bytes, problem: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(FileProblem, match=problem) as err:
        extract(path)
    assert str(path) in str(err.value)


def test_wrong_container_and_no_text(tmp_path: Path) -> None:
    import docx
    import openpyxl
    import pptx

    shutil.copy(make_xlsx(tmp_path / "lube.xlsx"), tmp_path / "renamed.docx")
    with pytest.raises(FileProblem, match=r"not a Word \.docx file \(it is an Excel workbook\)"):
        extract(tmp_path / "renamed.docx")
    _zip(tmp_path / "archive.pptx", ["readme.txt"])
    with pytest.raises(FileProblem, match=r"not a PowerPoint \.pptx file \(a zip file, not an Office file\)"):
        extract(tmp_path / "archive.pptx")
    _zip(tmp_path / "broken.xlsx", ["xl/workbook.xml"])
    with pytest.raises(FileProblem, match="damaged or unreadable Excel workbook"):
        extract(tmp_path / "broken.xlsx")
    (tmp_path / "cut.docx").write_bytes(make_docx(tmp_path / "plan.docx").read_bytes()[:2000])
    with pytest.raises(FileProblem, match="damaged"):
        extract(tmp_path / "cut.docx")

    wb = openpyxl.Workbook()
    wb.create_sheet("Second")
    wb.save(str(tmp_path / "blank.xlsx"))
    with pytest.raises(FileProblem, match="no text found"):
        extract(tmp_path / "blank.xlsx")
    docx.Document().save(str(tmp_path / "blank.docx"))
    with pytest.raises(FileProblem, match="no text found"):
        extract(tmp_path / "blank.docx")
    p = pptx.Presentation()
    p.slides.add_slide(p.slide_layouts[6])
    p.save(str(tmp_path / "blank.pptx"))
    with pytest.raises(FileProblem, match="no text found"):
        extract(tmp_path / "blank.pptx")
    (tmp_path / "header-only.csv").write_text("\n\n")
    with pytest.raises(FileProblem, match="whitespace"):
        extract(tmp_path / "header-only.csv")


# ------------------------------------------------------------------ ingest and retrieval
def _office_folder(root: Path, points: int = 3) -> Path:
    folder = root / "plant"
    folder.mkdir()
    make_docx(folder / "HP-200 maintenance plan.docx")
    make_xlsx(folder / "HP-200 lubrication chart.xlsx", points=points)
    (folder / "spare_parts.csv").write_text("Part no;Description;Qty\nHP-4711;Seal kit;2\nHP-4712;Wiper;4\n")
    return folder


def test_ingest_a_folder_of_office_files(tmp_path: Path) -> None:
    folder = _office_folder(tmp_path)
    settings = make_settings(tmp_path, "hash")
    s = run_ingest([folder], settings)
    assert sorted(Path(a).name for a in s.added) == [
        "HP-200 lubrication chart.xlsx",
        "HP-200 maintenance plan.docx",
        "spare_parts.csv",
    ]
    assert not s.failed and s.committed
    idx = open_index(settings.index.path)
    labels = {c.source: set() for c in idx.chunks}
    for c in idx.chunks:
        labels[c.source].add(c.page_label)
    assert labels["HP-200 lubrication chart.xlsx"] == {
        "sheet Lubrication, rows 2–6",
        "sheet Spares, rows 4–6",
    }
    assert labels["spare_parts.csv"] == {"sheet spare parts, rows 2–3"}
    assert labels["HP-200 maintenance plan.docx"] == {None}
    assert sorted(d.kind for d in idx.documents) == ["csv", "docx", "xlsx"]
    # a second run has nothing to do
    s2 = run_ingest([folder], settings)
    assert s2.unchanged == 3 and s2.chunks_embedded == 0


@pytest.mark.slow
def test_real_model_finds_the_grease_interval_row(tmp_path: Path, real_embedder) -> None:
    """Over the sample manuals and the office files: the lubrication chart's row is the top passage."""
    from chatbot.wiring import build_app

    folder = _office_folder(tmp_path, points=40)  # a chart of 40 grease points: many row chunks
    for f in MANUALS.iterdir():
        shutil.copy(f, folder / f.name)
    settings = app_settings(tmp_path / "idx")
    run_ingest([folder], settings, embedder=real_embedder)
    d = build_app(settings, with_llm=False)
    try:
        r = d.retriever.retrieve("grease interval for grease point 4")
        top = r.passages[0].chunk
        assert top.source == "HP-200 lubrication chart.xlsx", (top.source, top.text[:200])
        assert "- Row 2: Grease point: 4 | Interval: 50 h" in top.text
        assert top.page_label is not None and top.page_label.startswith("sheet Lubrication, rows 2–")
    finally:
        d.close()
