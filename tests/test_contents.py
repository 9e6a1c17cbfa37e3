"""A manual's table of contents: kept at ingest as chunks of their own, found by a question that asks
where something is in the manual, and never given as the answer to any other question."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import make_settings

from core.grammar import asks_where, topic_of
from ingest.chunking import chunk_document
from ingest.extract import Extracted, Page, strip_running_lines


@pytest.mark.parametrize(
    "question",
    [
        "Which page covers replacing the drive motor?",
        "What section in the document covers the rack mount warnings?",
        "On which pages can I find the cleaning instructions?",
        "What are the topics covered on pages 26 and 27?",
        "Auf welcher Seite steht die Reinigung des Bandes?",
        "In welchem Kapitel wird der Motorwechsel beschrieben?",
        "¿En qué página se explica la limpieza de la banda?",
        "Dans quelle section se trouve le remplacement du moteur ?",
        "In quale capitolo si trova la pulizia?",
        "Em que página está a limpeza da correia?",
        "更换电机在哪一页？",
    ],
)
def test_a_question_that_asks_where_in_the_manual(question: str) -> None:
    assert asks_where(question)


@pytest.mark.parametrize(
    "question",
    [
        "How do I replace the drive motor?",
        "What does E-104 mean?",
        "What is the section modulus of the frame?",
        "Wie reinige ich das Band?",
        "¿Cómo se limpia la banda?",
    ],
)
def test_other_questions_do_not_ask_where(question: str) -> None:
    assert not asks_where(question)


def test_a_where_question_searches_its_topic() -> None:
    assert (
        topic_of("On which page is the hydraulic oil change described?")
        == "On which is the hydraulic oil change ?"
    )
    assert topic_of("Auf welcher Seite steht der Ölwechsel?") == "Auf welcher der Ölwechsel?"


def test_a_where_question_is_judged_on_its_topic_not_on_its_page_words(sample_index: Path) -> None:
    """ "On which page is the oil change described?" is about the oil change: the words about pages
    and describing match no manual text and must not make the manual look silent on it."""
    from conftest import app_settings

    from chatbot.wiring import build_app

    with build_app(app_settings(sample_index), with_llm=False) as deps:
        r = deps.answerer.answer("On which page is the hydraulic oil change described?")
        assert not r.abstained, r.answer
        assert r.passages[0].page == 7 and "Changing the hydraulic oil" in r.answer
        # a machine that is not in the index is still declined
        r = deps.answerer.answer("Which page covers descaling the espresso machine?")
        assert r.abstained, r.answer


def test_contents_entries_leave_the_page_text_and_are_kept_apart() -> None:
    page = Page(
        2,
        "Contents\nParts and Features ..... $4-5$\nCleaning the belt . . . . . . . . 12\n"
        "Appendix C. Compliance ..... 100\nThe belt must be cleaned weekly.",
        "pdfium",
    )
    strip_running_lines([page])
    assert page.contents == [
        "Parts and Features … 4-5",
        "Cleaning the belt … 12",
        "Appendix C. Compliance … 100",
    ]
    assert "....." not in page.text and "Cleaning the belt" not in page.text
    assert "The belt must be cleaned weekly." in page.text


def test_contents_become_chunks_of_their_own() -> None:
    doc = Extracted(
        kind="pdf",
        title="CV-50 Belt Conveyor",
        pages=[
            Page(
                1, "Safety\nStop the belt before cleaning.", "pdfium", contents=["Cleaning … 2", "Motor … 3"]
            ),
            Page(2, "Cleaning\nWipe the belt with a damp cloth.", "pdfium"),
        ],
    )
    chunks = chunk_document(doc, "cv50.pdf", "0" * 64, lambda texts: [len(t.split()) for t in texts])
    toc = [c for c in chunks if c.role == "contents"]
    assert [(c.page_start, c.text) for c in toc] == [(1, "Cleaning … 2\nMotor … 3")]
    assert all("…" not in c.text for c in chunks if c.role == "")


def _manual_with_contents(folder: Path) -> None:
    from reportlab.pdfgen import canvas

    folder.mkdir(parents=True, exist_ok=True)
    c = canvas.Canvas(str(folder / "WX-9_Winder_Manual.pdf"), invariant=1)
    pages = [
        [
            "WX-9 Coil Winder Operator Manual",
            "Contents",
            "1 Safety instructions ........................ 1",
            "2 Threading the wire guide ........................ 2",
            "3 Replacing the tension spring ........................ 3",
            "4 Fault codes ........................ 3",
            "Read this manual before operating the winder.",
        ],
        [
            "2 Threading the wire guide",
            "Open the guard door and stop the spindle.",
            "Lead the wire through the ceramic eyelet and the guide rollers.",
            "Close the guard door before starting the spindle.",
        ],
        [
            "3 Replacing the tension spring",
            "Release the brake, remove the two M5 screws of the tension arm",
            "and hook the new spring into the lower slot.",
            "4 Fault codes",
            "W-12 Wire break detected. Re-thread the wire guide and press RESET.",
        ],
    ]
    for lines in pages:
        y = 800
        for line in lines:
            c.drawString(40, y, line)
            y -= 20
        c.showPage()
    c.save()


def test_a_where_question_finds_the_contents_entry_and_other_questions_never_do(
    tmp_path: Path, real_embedder
) -> None:
    from chatbot.wiring import build_app
    from ingest.pipeline import run_ingest

    docs = tmp_path / "docs"
    _manual_with_contents(docs)
    settings = make_settings(tmp_path, "sentence-transformers")
    settings.retrieval.multilingual = False  # the cross-lingual side is not what this tests
    run_ingest([docs], settings, embedder=real_embedder)
    deps = build_app(settings, with_llm=False)
    try:
        chunks = deps.handle.get().index.chunks
        toc = [c for c in chunks if c.role == "contents"]
        assert len(toc) == 1 and toc[0].page_start == 1
        assert "3 Replacing the tension spring … 3" in toc[0].text
        # the body of page 1 is indexed as before, without the entries
        assert any(c.page_start == 1 and "Read this manual" in c.text and c.role == "" for c in chunks)

        r = deps.retriever.retrieve("Which page covers replacing the tension spring?")
        assert any(p.chunk.role == "contents" for p in r.passages), [p.chunk.text for p in r.passages]
        assert any(p.chunk.page_start == 3 and p.chunk.role == "" for p in r.passages)
        # the contents list the topic: at worst "the closest passages", never "not in the manuals"
        assert deps.answerer.assess(r)[1] != "not_in_manuals"
        r = deps.retriever.retrieve("Auf welcher Seite steht der Wechsel der Spannfeder?")
        assert any(p.chunk.role == "contents" for p in r.passages)
        for question in (
            "How do I replace the tension spring?",
            "What are the fault codes of the winder?",
            "threading the wire guide",
        ):
            r = deps.retriever.retrieve(question)
            assert r.passages and all(p.chunk.role == "" for p in r.passages), question
    finally:
        deps.close()
