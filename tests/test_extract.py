"""Extraction on real PDFs: page numbers, extractor choice and fallback, headers, bad files."""

from __future__ import annotations

import re
from pathlib import Path

import pypdfium2 as pdfium
import pytest
from conftest import BENCH_PDF, CORPUS, MANUALS, need_corpus

from core.errors import FileProblem
from ingest.chunking import chunk_document
from ingest.extract import (
    extract,
    extract_pdf,
    glued_word_rate,
    is_plausible,
    strip_running_lines,
    text_badness,
)

HP200 = MANUALS / "HP-200_Hydraulic_Press_Manual.pdf"


def _words(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def test_pdf_pages_are_physical_and_record_extractor() -> None:
    doc = extract(HP200)
    assert doc.kind == "pdf"
    assert [p.number for p in doc.pages] == list(range(1, len(pdfium.PdfDocument(str(HP200))) + 1))
    assert {p.extractor for p in doc.pages} == {"pdfium"}
    assert doc.extractor_counts()["pdfium"] == len(doc.pages)
    assert doc.title.startswith("HP-200")
    assert any(h.title.startswith("5 Fault Codes") for h in doc.outline)


def test_running_headers_and_page_footers_are_stripped() -> None:
    doc = extract(HP200)
    before = [p.text for p in doc.pages]
    assert sum("Page " in t and " of " in t for t in before) >= len(before) - 1
    removed = strip_running_lines(doc.pages)
    assert removed >= 2 * (len(doc.pages) - 1)
    for p in doc.pages:
        assert not re.search(r"Page \d+ of \d+", p.text)
        assert "Operator and Maintenance Manual Rev. C" not in p.text.replace("\n", " ")
    # real content survives
    assert "E-107" in doc.pages[6].text


def test_forced_pypdf_is_recorded_per_page() -> None:
    doc = extract_pdf(HP200, mode="pypdf")
    assert {p.extractor for p in doc.pages} == {"pypdf"}
    assert "E-107" in doc.pages[6].text


def test_plausibility_flags_glued_words() -> None:
    glued = "Thisexampleshowsminimumconfigurationforthemachine andtheaxesaremovedbythestepgenerators " * 5
    assert not is_plausible(glued)
    assert glued_word_rate(glued) > 0.5
    assert is_plausible("This example shows the minimum configuration for the machine.")
    assert text_badness("") > text_badness("a few words here")


def test_image_only_page_is_reported_by_page(tmp_path: Path) -> None:
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    path = tmp_path / "scan.pdf"
    c = canvas.Canvas(str(path), pagesize=A4, invariant=1)
    c.drawString(72, 750, "Page one has a real text layer with several words.")
    c.showPage()
    c.rect(72, 72, 300, 300, fill=1)  # no text: stands for a scanned page
    c.showPage()
    c.drawString(72, 750, "Page three has text again.")
    c.showPage()
    c.save()
    doc = extract(path)
    assert doc.pages_without_text == [2]
    assert any("2" in w and "without a text layer" in w for w in doc.warnings)


def test_pdf_with_no_text_at_all_is_a_clear_error(tmp_path: Path) -> None:
    from reportlab.pdfgen import canvas

    path = tmp_path / "allscan.pdf"
    c = canvas.Canvas(str(path), invariant=1)
    c.rect(72, 72, 300, 300, fill=1)
    c.showPage()
    c.save()
    with pytest.raises(FileProblem, match="no text layer"):
        extract(path)


@pytest.mark.parametrize(
    ("name", "content", "problem"),
    [
        ("empty.pdf", b"", "empty file"),
        ("notes.pdf", b"These are plain text notes, saved with the wrong name.\n", "text file named .pdf"),
        ("junk.pdf", bytes(range(256)) * 4, "not a PDF"),
    ],
)
def test_bad_pdf_bytes(tmp_path: Path, name: str, content: bytes, problem: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(FileProblem, match=problem) as err:
        extract(path)
    assert str(path) in str(err.value)


def test_truncated_pdf(tmp_path: Path) -> None:
    data = HP200.read_bytes()
    path = tmp_path / "truncated.pdf"
    path.write_bytes(data[: len(data) // 3])
    try:
        doc = extract(path)
    except FileProblem as exc:
        assert "damaged or truncated" in exc.problem
    else:  # pypdf may recover some pages; then it must say so
        assert any("damaged PDF" in w for w in doc.warnings)


def test_encrypted_pdf(tmp_path: Path) -> None:
    import pypdf

    w = pypdf.PdfWriter(clone_from=str(HP200))
    w.encrypt(user_password="s3cret", owner_password="owner")
    path = tmp_path / "locked.pdf"
    with open(path, "wb") as fh:
        w.write(fh)
    with pytest.raises(FileProblem, match="encrypted"):
        extract(path)


def test_markdown_html_text() -> None:
    md = extract(MANUALS / "CV-50_Quick_Reference.md")
    assert md.kind == "markdown" and md.pages[0].number is None
    html = extract(MANUALS / "Shift_Handover_Checklist.html")
    assert html.kind == "html"
    assert "<" not in html.pages[0].text
    assert re.search(r"^# ", html.pages[0].text, re.M)
    assert " | " in html.pages[0].text  # table rows kept as rows
    txt = extract(MANUALS / "Lubrication_Notes.txt")
    assert txt.kind == "text" and "green band" in txt.pages[0].text


# ------------------------------------------------------------------ real corpus (../shared)
@pytest.mark.corpus
def test_corpus_chunks_sit_on_the_page_they_cite() -> None:
    """Every chunk's text is on the page it cites (checked against pdfium's own page text)."""
    need_corpus()
    pdfs = sorted(CORPUS.rglob("*.pdf"))
    assert len(pdfs) >= 50
    checked = 0
    for path in pdfs:
        doc = extract(path)
        strip_running_lines(doc.pages)
        chunks = chunk_document(doc, path.name, "0" * 64, lambda ts: [len(t.split()) for t in ts], 180, 30)
        pdf = pdfium.PdfDocument(str(path))
        page_text = {i + 1: _words(pdf[i].get_textpage().get_text_bounded()) for i in range(len(pdf))}
        squash = {k: re.sub(r"[\W_]+", "", v) for k, v in page_text.items()}
        for c in chunks[:: max(1, len(chunks) // 6)]:
            # the chunk's longest line, on letters/digits only (hyphenation joins and spaces differ)
            probe = re.sub(r"[\W_]+", "", max(c.text.split("\n"), key=len))[:80]
            assert probe in squash[c.page_start], f"{path.name} p{c.page_start}: {c.text[:80]!r}"
            checked += 1
    assert checked > 300


@pytest.mark.corpus
def test_pdfium_fixes_glued_words_where_pypdf_fails() -> None:
    """The measurement behind the extractor choice, on a LinuxCNC chapter."""
    need_corpus()
    path = CORPUS / "linuxcnc" / "020_Homing_Configuration.pdf"
    pdfium_doc = extract_pdf(path, mode="pdfium")
    pypdf_doc = extract_pdf(path, mode="pypdf")
    pdfium_rate = glued_word_rate(" ".join(p.text for p in pdfium_doc.pages))
    pypdf_rate = glued_word_rate(" ".join(p.text for p in pypdf_doc.pages))
    assert pdfium_rate < 0.01
    assert pypdf_rate > 3 * pdfium_rate


@pytest.mark.corpus
def test_big_manual_headers_stripped() -> None:
    if not BENCH_PDF.exists():
        pytest.skip("../shared/bench not present")
    from ingest.extract import Page

    pdf = pdfium.PdfDocument(str(BENCH_PDF))
    pages = [
        Page(i + 1, _normalize(pdf[i].get_textpage().get_text_bounded()), "pdfium") for i in range(170, 230)
    ]
    strip_running_lines(pages)
    assert not any("LinuxCNC V2.9.0~pre1" in p.text for p in pages)


def _normalize(text: str) -> str:
    from ingest.extract import normalize_pdf_text

    return normalize_pdf_text(text)
