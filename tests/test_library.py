"""The manual library as an admin meets it: a real share with every kind of file, exclusions, equipment
tags from folders and sidecars, named changes, and no new version when nothing changed."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from conftest import HASH_ENV, MANUALS, make_settings, run_cli

from index import IndexStore, open_index
from ingest.pipeline import run_ingest

HP200 = MANUALS / "HP-200_Hydraulic_Press_Manual.pdf"


def scanned_pdf(src: Path, page: int, dst: Path) -> Path:
    """An image-only PDF of one page of a text PDF (what a scanner produces: no text layer)."""
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(str(src))
    try:
        img = pdf[page - 1].render(scale=300 / 72).to_pil().convert("L")
    finally:
        pdf.close()
    img.save(dst, format="PDF", resolution=300)
    return dst


def _docx(path: Path) -> None:
    import docx

    d = docx.Document()
    d.add_heading("Mixer MX-7 maintenance plan", level=1)
    d.add_paragraph("Replace the agitator shear pin every 2,000 operating hours.")
    d.save(str(path))


def _xlsx(path: Path) -> None:
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Lubrication"
    ws.append(["Grease point", "Location", "Interval", "Grease"])
    ws.append([1, "Column guide bushing, front left", "50 h", "EP2"])
    ws.append([4, "Tail pulley bearing", "200 h", "EP2"])
    wb.save(str(path))


@pytest.fixture
def share(tmp_path: Path) -> Path:
    """A copy of a plant's manuals share: manuals per machine, plus what every share also holds."""
    root = tmp_path / "share"
    (root / "press-2").mkdir(parents=True)
    (root / "mixer").mkdir()
    (root / "press-2" / "archive").mkdir()
    shutil.copy(HP200, root / "press-2" / HP200.name)
    shutil.copy(HP200, root / "press-2" / "archive" / "HP-200_old_edition.pdf")  # an archive copy
    scanned_pdf(HP200, 7, root / "press-2" / "HP-200_fault_table_scan.pdf")
    _docx(root / "mixer" / "MX-7_Maintenance_Plan.docx")
    _xlsx(root / "press-2" / "Lubrication_Chart.xlsx")
    shutil.copy(MANUALS / "CV-50_Quick_Reference.md", root / "CV-50_Quick_Reference.md")
    shutil.copy(MANUALS / "Lubrication_Notes.txt", root / "press-2" / "Lubrication_Notes.txt")
    shutil.copy(MANUALS / "Shift_Handover_Checklist.html", root / "Shift_Handover_Checklist.html")
    (root / "COPYING.txt").write_text("GNU GENERAL PUBLIC LICENSE\nVersion 3, 29 June 2007\n" * 20)
    (root / "README.md").write_text("# Manuals share\nAsk IT before you move folders.\n")
    (root / "mixer" / "MX-7_drawing.dwg").write_bytes(b"AC1032" + b"\0" * 100)
    (root / "press-2" / "~$Lubrication_Chart.xlsx").write_bytes(b"lock")
    (root / ".DS_Store").write_bytes(b"\0\0\0\1Bud1")
    (root / "mixer" / "drafts").mkdir()
    (root / "mixer" / "drafts" / "MX-7_draft.md").write_text("# Draft\nNot released.\n")
    (root / "mixer" / ".opassistignore").write_text("# not released yet\ndrafts/\n")
    return root


def _all_files(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


def test_a_real_share_every_document_indexed_every_skip_named(share: Path, tmp_path: Path) -> None:
    r = run_cli(str(share), "--index", str(tmp_path / "idx"), "--json", env=HASH_ENV)
    assert r.returncode == 0, r.stderr
    s = json.loads(r.stdout)
    added = {Path(a).relative_to(share).as_posix() for a in s["added"]}
    assert added == {
        "press-2/HP-200_Hydraulic_Press_Manual.pdf",
        "press-2/HP-200_fault_table_scan.pdf",
        "press-2/Lubrication_Chart.xlsx",
        "press-2/Lubrication_Notes.txt",
        "mixer/MX-7_Maintenance_Plan.docx",
        "CV-50_Quick_Reference.md",
        "Shift_Handover_Checklist.html",
    }
    excluded = {
        Path(x["path"]).relative_to(share).as_posix() + ("/" if x["path"].endswith("/") else ""): x["why"]
        for x in s["excluded"]
    }
    assert (
        "default rule 'archive/'" in excluded["press-2/archive/"] and "1 file" in excluded["press-2/archive/"]
    )
    assert excluded["COPYING.txt"] == "default rule 'COPYING*'"
    assert excluded["README.md"] == "default rule 'README*'"
    assert excluded["press-2/~$Lubrication_Chart.xlsx"] == "default rule '~$*'"
    assert excluded[".DS_Store"] == "hidden file"
    assert excluded["mixer/drafts/"].startswith(
        os.path.join(str(share), "mixer", ".opassistignore") + " rule 'drafts/'"
    )
    assert s["unsupported"] == {".dwg": [str(share / "mixer" / "MX-7_drawing.dwg")]}
    assert s["failed"] == []
    # zero silent skips: every file of the share is indexed, excluded (itself or its folder) or unsupported
    accounted = set(added) | {".opassistignore"}
    for path in _all_files(share):
        if path in accounted or path in excluded or path.endswith(".opassistignore"):
            continue
        if any(path.startswith(x) for x in excluded if x.endswith("/")):
            continue
        assert path == "mixer/MX-7_drawing.dwg", f"{path} was skipped without a word"

    idx = open_index(tmp_path / "idx")
    tags = {d.source: d.equipment for d in idx.documents}
    assert tags["press-2/HP-200_Hydraulic_Press_Manual.pdf"] == ["press-2"]
    assert tags["mixer/MX-7_Maintenance_Plan.docx"] == ["mixer"]
    assert tags["CV-50_Quick_Reference.md"] == []  # at the top of the share: no machine
    scan = next(d for d in idx.documents if d.source.endswith("_scan.pdf"))
    if shutil.which("tesseract"):
        assert scan.extractors == {"ocr": 1} and scan.ocr_confidence["1"] > 80
        assert any("E-107" in c.text for c in idx.chunks if c.source == scan.source)

    # the text summary names what was added, excluded and not read
    r2 = run_cli(str(share), "--index", str(tmp_path / "idx2"), env=HASH_ENV)
    out = r2.stdout
    assert "added     " + os.path.join(str(share), "mixer", "MX-7_Maintenance_Plan.docx") in out
    assert "excluded  " + os.path.join(str(share), "COPYING.txt") + "  (default rule 'COPYING*')" in out
    assert "not read (type not supported): 1 file(s): .dwg 1" in out
    if shutil.which("tesseract"):
        scan_line = next(ln for ln in out.splitlines() if ln.startswith("ocr "))
        assert "HP-200_fault_table_scan.pdf: 1 page(s) read by OCR, mean confidence" in scan_line
        assert s["ocr"][str(share / "press-2" / "HP-200_fault_table_scan.pdf")]["pages"]["1"] > 80


def test_include_all_and_an_ignore_file_that_takes_a_file_back(share: Path, tmp_path: Path) -> None:
    settings = make_settings(tmp_path, "hash")
    s = run_ingest([share], settings, include_all=True)
    names = {Path(a).name for a in s.added}
    assert {"COPYING.txt", "README.md", "HP-200_old_edition.pdf"} <= names
    assert "MX-7_draft.md" not in names  # the admin's own ignore file still applies

    (share / ".opassistignore").write_text("!README.md\n")
    s2 = run_ingest([share], settings)
    assert {Path(a).name for a in s2.removed} == {"COPYING.txt", "HP-200_old_edition.pdf"}
    assert "README.md" in {d.source for d in open_index(settings.index.path).documents}


def test_a_run_where_the_same_files_fail_again_writes_no_new_version(share: Path, tmp_path: Path) -> None:
    settings = make_settings(tmp_path, "hash")
    (share / "press-2" / "broken.pdf").write_bytes(b"%PDF-1.4\n" + b"\0" * 50)  # truncated
    s1 = run_ingest([share], settings)
    assert [Path(f.path).name for f in s1.failed] == ["broken.pdf"] and s1.committed
    s2 = run_ingest([share], settings)
    assert [Path(f.path).name for f in s2.failed] == ["broken.pdf"]
    assert not s2.committed and s2.version == s1.version
    assert len(IndexStore(settings.index.path).list_versions()) == 1


def test_equipment_tags_from_folders_and_sidecars(share: Path, tmp_path: Path) -> None:
    settings = make_settings(tmp_path, "hash")
    run_ingest([share], settings)
    v1 = IndexStore(settings.index.path).current_version()
    # a sidecar retags without any manual changing: a new version with the new tags, nothing re-embedded
    (share / "equipment.toml").write_text(
        '[files]\n"CV-50_*" = ["conveyor"]\n"Shift_Handover_Checklist.html" = ["Press 2", "conveyor"]\n'
    )
    (share / "press-2" / "equipment.toml").write_text(
        'tags = ["press-2"]\n[files]\n"Lubrication_*" = ["press-2", "conveyor"]\n'
    )
    s = run_ingest([share], settings)
    assert s.committed and s.version != v1 and s.chunks_embedded == 0
    tags = {d.source: d.equipment for d in open_index(settings.index.path).documents}
    assert tags["CV-50_Quick_Reference.md"] == ["conveyor"]
    assert tags["Shift_Handover_Checklist.html"] == ["press-2", "conveyor"]
    assert tags["press-2/Lubrication_Chart.xlsx"] == ["press-2", "conveyor"]
    assert tags["press-2/HP-200_Hydraulic_Press_Manual.pdf"] == ["press-2"]
    # unchanged again: no new version
    assert not run_ingest([share], settings).committed
    # a broken sidecar is named with its problem
    (share / "mixer" / "equipment.toml").write_text("tags = [mixer\n")
    s = run_ingest([share], settings)
    bad = [f for f in s.failed if f.path.endswith("equipment.toml")]
    assert bad and "not valid TOML" in bad[0].problem
