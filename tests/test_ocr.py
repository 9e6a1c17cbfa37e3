"""OCR of scanned PDF pages (ingest/ocr.py) with the real Tesseract binary.

The scans are made from the project's own sample manual: a page rendered by pdfium and saved
as an image-only PDF, which is what a scanner produces (no text layer). CI installs Debian
tesseract-ocr (make ocr); without it these tests are skipped with that reason.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Sequence
from pathlib import Path

import pypdf
import pypdfium2 as pdfium
import pytest
from conftest import MANUALS, app_settings, make_settings

from core.errors import FileProblem
from index import IndexStore
from ingest import ocr
from ingest.extract import extract
from ingest.pipeline import run_ingest

pytestmark = pytest.mark.skipif(
    shutil.which("tesseract") is None,
    reason="Debian tesseract-ocr is not installed (make ocr installs it; CI does)",
)

HP200 = MANUALS / "HP-200_Hydraulic_Press_Manual.pdf"
REAL_READ_PAGE = ocr.OcrEngine.read_page


def scanned_pdf(src: Path, pages: list[int], dst: Path, dpi: int = 300) -> Path:
    """An image-only PDF of some pages of a text PDF (rendered, grayscale, no text layer)."""
    pdf = pdfium.PdfDocument(str(src))
    try:
        images = [pdf[n - 1].render(scale=dpi / 72).to_pil().convert("L") for n in pages]
    finally:
        pdf.close()
    dst.parent.mkdir(parents=True, exist_ok=True)
    images[0].save(dst, format="PDF", resolution=dpi, save_all=True, append_images=images[1:])
    return dst


def _words(text: str) -> str:
    return re.sub(r"\s+", " ", text)


@pytest.fixture(scope="module")
def e107(sample_facts: list[dict]) -> dict:
    """The sample fact whose page holds the E-107 row of the fault table."""
    return next(f for f in sample_facts if "E-107" in f["must_contain"])


class Calls:
    """Counts the pages the OCR engine really reads (cache hits never reach it)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, fail_on: int | None = None) -> None:
        self.pages: list[int] = []
        calls = self

        def read_page(
            engine: ocr.OcrEngine, pdf_path: Path, page_index: int, languages: Sequence[str] | None = None
        ) -> tuple[str, float]:
            calls.pages.append(page_index + 1)
            if page_index + 1 == fail_on:
                raise KeyboardInterrupt  # the run is killed while this page is read
            return REAL_READ_PAGE(engine, pdf_path, page_index, languages)

        monkeypatch.setattr(ocr.OcrEngine, "read_page", read_page)


# ------------------------------------------------------------------ (a) one scanned page
def test_scanned_fault_table_page_is_read_by_ocr(tmp_path: Path, e107: dict) -> None:
    scan = scanned_pdf(MANUALS / e107["source"], [e107["page"]], tmp_path / "scan.pdf")
    with pytest.raises(FileProblem, match="no text layer"):
        extract(scan)  # really a scan: no text layer at all

    ctx = ocr.context(make_settings(tmp_path).ingest, tmp_path / "index")
    assert ctx is not None
    doc = extract(scan, ocr=ctx)
    page = doc.pages[0]
    assert page.extractor == "ocr" and doc.extractor_counts() == {"ocr": 1}
    assert doc.ocr_confidence[1] > 80, doc.ocr_confidence
    assert doc.pages_without_text == [] and doc.warnings == []
    # the row, one line as in the text layer, with what the fact needs
    assert re.search(r"^E-107 Main pump motor\b", page.text, re.M), page.text[:800]
    for s in e107["must_contain"]:
        assert s in _words(page.text), s
    # cached at once, keyed by the file's SHA-256, page, dpi and languages
    assert len(list((tmp_path / "index" / ocr.CACHE_DIR).glob("*/p00001-*.json"))) == 1


# ------------------------------------------------------------------ (b) asked through the app
@pytest.mark.slow
def test_scanned_manual_answers_like_the_text_version(tmp_path: Path, e107: dict, real_embedder) -> None:
    """The whole sample manual as a scan, alone in its folder, and the text original, alone in
    another: the E-107 question finds the same page first and the answer cites it.

    The answer is checked with an always-answering calibration: the shipped one is fitted on whole
    libraries, and over one manual alone it declines "What does E-107 mean?" for the text original
    too (measured: text 0.36, scan 0.58). That the scan is no less answerable is checked with it."""
    from chatbot.wiring import build_app

    src = MANUALS / e107["source"]
    n_pages = len(pypdf.PdfReader(str(src)).pages)
    scanned_pdf(src, list(range(1, n_pages + 1)), tmp_path / "scans" / "HP-200_scan.pdf")
    (tmp_path / "text").mkdir()
    shutil.copy(src, tmp_path / "text" / src.name)
    question = "What does E-107 mean?"
    found = {}
    for kind in ("scans", "text"):
        settings = make_settings(tmp_path / kind, "sentence-transformers")
        s = run_ingest([tmp_path / kind], settings, embedder=real_embedder)
        assert not s.failed and s.committed
        (doc,) = IndexStore(settings.index.path).read_documents()
        if kind == "scans":
            assert doc.extractors == {"ocr": n_pages} and doc.pages_without_text == []
            assert len(doc.ocr_confidence) == n_pages and min(doc.ocr_confidence.values()) > 80
        index = Path(settings.index.path)
        with build_app(app_settings(index), with_llm=False) as deps:
            top = deps.retriever.retrieve(question).passages[0].chunk
            calibrated = deps.answerer.answer(question).confidence
        assert top.page_start == e107["page"], (kind, top.page_start, top.text[:300])
        assert re.search(r"^E-107 Main pump motor\b", top.text, re.M), (kind, top.text[:600])
        with build_app(app_settings(index, confident=True), with_llm=False) as deps:
            r = deps.answerer.answer(question)
        assert not r.abstained and "E-107" in r.answer, (kind, r.answer)
        assert r.citations[0].page == e107["page"] and "Main pump motor" in r.citations[0].text
        found[kind] = calibrated
    assert found["scans"] >= found["text"] - 0.05, found


# ------------------------------------------------------------------ (c) a killed run continues
def test_killed_ocr_run_keeps_finished_pages_and_continues(
    tmp_path: Path, e107: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "manuals"
    scanned_pdf(HP200, [e107["page"], e107["page"] + 1], folder / "scan.pdf", dpi=150)
    settings = make_settings(tmp_path, "hash", ocr_dpi=150)
    index = Path(settings.index.path)
    cache = index / ocr.CACHE_DIR

    calls = Calls(monkeypatch, fail_on=2)
    with pytest.raises(KeyboardInterrupt):
        run_ingest([folder], settings)
    assert sorted(calls.pages) == [1, 2]
    assert [p.name[:6] for p in cache.glob("*/p*.json")] == ["p00001"]  # page 1 was kept at once
    assert IndexStore(index).current_version() is None  # nothing was committed

    calls = Calls(monkeypatch)
    s = run_ingest([folder], settings)
    assert calls.pages == [2]  # page 1 came from the cache
    assert not s.failed and s.committed
    (doc,) = IndexStore(index).read_documents()
    assert doc.extractors == {"ocr": 2} and set(doc.ocr_confidence) == {"1", "2"}

    # the index deleted, its OCR cache kept: nothing is read again
    for p in index.iterdir():
        if p.name != ocr.CACHE_DIR:
            shutil.rmtree(p) if p.is_dir() else p.unlink()
    calls = Calls(monkeypatch)
    s = run_ingest([folder], settings)
    assert calls.pages == [] and s.committed


# ------------------------------------------------------------------ (d) text pages never pay
def test_text_pdfs_never_reach_the_ocr_engine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = Calls(monkeypatch)
    settings = make_settings(tmp_path, "hash")
    assert ocr.available(settings.ingest) is not None  # OCR is on: the text layer alone keeps it away
    s = run_ingest([MANUALS], settings)
    assert s.committed and not s.failed
    assert calls.pages == []
    assert not (Path(settings.index.path) / ocr.CACHE_DIR).exists()
    assert all(not d.ocr_confidence for d in IndexStore(settings.index.path).read_documents())


# ------------------------------------------------------------------ (e) OCR off
def test_ocr_off_keeps_the_old_behaviour_and_says_how_to_enable_it(
    tmp_path: Path, e107: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = Calls(monkeypatch)
    folder = tmp_path / "manuals"
    scanned_pdf(HP200, [e107["page"]], folder / "scan.pdf", dpi=100)
    settings = make_settings(tmp_path, "hash", ocr="off")
    assert ocr.available(settings.ingest) is None and ocr.context(settings.ingest, tmp_path) is None
    (folder / "note.md").write_text("# Note\n\nThe press is greased weekly.\n")
    s = run_ingest([folder], settings)
    (failure,) = s.failed
    assert "no text layer on any of its 1 pages (scanned?); run OCR on it first" in failure.problem
    assert "install Debian tesseract-ocr (make ocr)" in failure.problem
    assert calls.pages == []


# ------------------------------------------------------------------ scans indexed before OCR
def _text_plus_scan(tmp_path: Path, folder: Path, scan_page: Path) -> Path:
    """Page 1 of the text manual, then a scanned page: a manual with one page left unread without OCR."""
    w = pypdf.PdfWriter()
    w.add_page(pypdf.PdfReader(str(HP200)).pages[0])
    w.add_page(pypdf.PdfReader(str(scan_page)).pages[0])
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "HP-200_part_scanned.pdf"
    with open(path, "wb") as fh:
        w.write(fh)
    return path


def test_manual_indexed_without_ocr_is_read_again_once_ocr_is_available(
    tmp_path: Path, e107: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "manuals"
    scan = scanned_pdf(HP200, [e107["page"]], tmp_path / "scan.pdf", dpi=150)
    _text_plus_scan(tmp_path, folder, scan)
    off = make_settings(tmp_path, "hash", ocr="off", ocr_dpi=150)
    s = run_ingest([folder], off)
    (doc,) = IndexStore(off.index.path).read_documents()
    assert doc.pages_without_text == [2] and not doc.ocr_confidence
    assert any("without a text layer" in w and "make ocr" in w for w in s.warnings)
    assert ocr.needs_ocr(doc)

    on = make_settings(tmp_path, "hash", ocr_dpi=150)
    s = run_ingest([folder], on)
    assert [Path(c).name for c in s.changed] == ["HP-200_part_scanned.pdf"], s
    (doc,) = IndexStore(on.index.path).read_documents()
    assert doc.pages_without_text == [] and set(doc.ocr_confidence) == {"2"}
    assert doc.extractors == {"pdfium": 1, "ocr": 1} and not ocr.needs_ocr(doc)

    s = run_ingest([folder], on)  # read once: the next run keeps it
    assert s.unchanged == 1 and not s.changed and not s.committed


def test_blank_page_is_tried_once_not_on_every_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A page with no text layer where OCR finds nothing either (a blank page) is reported, and the
    manual is not processed again on each run for it."""
    from PIL import Image

    blank = tmp_path / "blank.pdf"
    Image.new("L", (850, 1100), 255).save(blank, format="PDF", resolution=100)
    folder = tmp_path / "manuals"
    _text_plus_scan(tmp_path, folder, blank)
    settings = make_settings(tmp_path, "hash")
    calls = Calls(monkeypatch)
    s = run_ingest([folder], settings)
    assert calls.pages == [2]
    (doc,) = IndexStore(settings.index.path).read_documents()
    assert doc.pages_without_text == [2] and not doc.ocr_confidence
    assert any("OCR found no text" in w for w in doc.warnings), doc.warnings
    assert not ocr.needs_ocr(doc)
    s = run_ingest([folder], settings)
    assert s.unchanged == 1 and not s.committed


# ------------------------------------------------------------------ languages and confidence
def _german_scan(path: Path) -> Path:
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    lines = [
        "Störungsbeseitigung an der hydraulischen Presse",
        "Wenn der Öldruck über 280 bar steigt, schaltet die Steuerung die Hauptpumpe ab.",
        "Prüfen Sie den Ölfilter und das Überdruckventil, bevor Sie die Presse neu starten.",
        "Die Schutztür muss geschlossen sein; öffnen Sie sie nur bei Stillstand des Stößels.",
        "Lassen Sie den Motor abkühlen und prüfen Sie die Stromaufnahme (Nennstrom 42 A).",
        "Täglich: Ölstand prüfen, Lichtgitter reinigen, Not-Aus-Taster testen.",
    ]
    text_pdf = path.with_suffix(".text.pdf")
    c = canvas.Canvas(str(text_pdf), pagesize=A4, invariant=1)
    y = 780
    for _ in range(2):
        for ln in lines:
            c.drawString(60, y, ln)
            y -= 18
    c.showPage()
    c.save()
    return scanned_pdf(text_pdf, [1], path)


def test_german_scan_is_read_with_german(tmp_path: Path) -> None:
    """No text layer tells the language: the first page is read with 'eng', recognised as German,
    and read again with eng+deu, so the umlauts survive."""
    settings = make_settings(tmp_path, "hash")
    ctx = ocr.context(settings.ingest, tmp_path / "index")
    assert ctx is not None
    if "deu" not in ctx.engine.languages:
        pytest.skip("tesseract-ocr-deu is not installed")
    doc = extract(_german_scan(tmp_path / "de.pdf"), ocr=ctx)
    text = doc.pages[0].text
    assert "Öldruck über 280 bar" in text and "Überdruckventil" in text, text
    cached = sorted(p.name.split("-")[1] for p in (tmp_path / "index" / ocr.CACHE_DIR).glob("*/*.json"))
    assert len(cached) == 2  # read with eng, then with eng+deu


def test_language_choice_from_the_text_layer(tmp_path: Path) -> None:
    engine = ocr.OcrEngine("tesseract", ("eng", "deu", "fra", "spa", "ita", "por"), 300)
    english = extract(HP200)
    assert ocr.choose_languages("\n".join(p.text for p in english.pages), engine) == ("eng",)
    german = "\n".join(
        ["Prüfen Sie den Ölstand täglich und füllen Sie bei Bedarf Hydrauliköl nach."] * 5
        + ["Die Schutztür darf nur bei Stillstand der Maschine geöffnet werden, sonst stoppt sie."] * 5
    )
    assert ocr.choose_languages(german, engine) == ("eng", "deu")
    assert ocr.choose_languages("E-107 42 A", engine) is None  # too little text to tell


def test_low_confidence_page_is_named_in_the_warnings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "manuals"
    scanned_pdf(HP200, [3], folder / "scan.pdf", dpi=100)
    settings = make_settings(tmp_path, "hash", ocr_dpi=100, ocr_min_confidence=99.5)
    s = run_ingest([folder], settings)
    (doc,) = IndexStore(settings.index.path).read_documents()
    conf = doc.ocr_confidence["1"]
    assert conf < 99.5
    want = f"OCR page 1: low confidence {conf:.0f}%; check the citations against the scan"
    assert want in doc.warnings and any(want in w for w in s.warnings)


def test_tsv_lines_are_rebuilt_and_table_rules_dropped() -> None:
    head = "level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight\tconf\ttext"
    rows = [
        "4\t1\t1\t1\t1\t0\t0\t0\t9\t9\t-1\t",
        "5\t1\t1\t1\t1\t1\t0\t0\t9\t9\t96\tE-107",
        "5\t1\t1\t1\t1\t2\t0\t0\t9\t9\t90\tMain",
        "5\t1\t1\t1\t1\t3\t0\t0\t9\t9\t95\t|",
        "5\t1\t1\t1\t1\t4\t0\t0\t9\t9\t84\tpump",
        "5\t1\t1\t1\t2\t1\t0\t0\t9\t9\t70\tsecond",
        "5\t1\t2\t1\t1\t1\t0\t0\t9\t9\t-1\t ",
    ]
    text, conf = ocr.text_and_confidence("\n".join([head, *rows]))
    assert text == "E-107 Main pump\nsecond"
    assert conf == pytest.approx((96 + 90 + 84 + 70) / 4)
