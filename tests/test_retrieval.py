"""Hybrid retrieval with the real models over the sample manuals."""

from __future__ import annotations

import re
import shutil
import time
from pathlib import Path

import pytest
from conftest import MANUALS, app_settings

from chatbot.equipment import UnknownEquipment
from chatbot.lexical import tokenize
from chatbot.ranking import ranked, rrf
from chatbot.wiring import build_app


@pytest.fixture(scope="module")
def deps(sample_index: Path):
    settings = app_settings(sample_index)
    # the sample manuals are tagged by manuals/equipment.toml; a setting can add tags of its own
    settings.retrieval.equipment = {"line-2": ["HP-200*", "CV-50*"]}
    assert settings.retrieval.multilingual is True  # the cross-lingual channel is on by default
    d = build_app(settings, with_llm=False)
    yield d
    d.close()


def test_tokenizer_keeps_codes_whole_and_in_parts() -> None:
    toks = tokenize("Grbl error:24 and ALARM:8, $32=0, E-107, P9.01, HOME_OFFSET")
    for t in ("error:24", "error", "24", "alarm:8", "$32", "32", "e-107", "107", "p9.01", "home_offset"):
        assert t in toks, t


def test_rrf_prefers_agreement() -> None:
    fused = rrf({"dense": ranked([1, 2, 3]), "lexical": ranked([3, 9])}, {"dense": 1.0, "lexical": 1.0}, k=60)
    assert max(fused, key=lambda r: fused[r]) == 3


@pytest.mark.parametrize(
    ("question", "code", "page"),
    [
        ("What does fault E-107 mean?", "E-107", 7),
        ("E-112", "E-112", 8),
        ("HMI shows E-114, what now?", "E-114", 8),
        ("conveyor alarm AL-09", "AL-09", 5),
    ],
)
def test_fault_code_question_returns_its_row_first(deps, question: str, code: str, page: int) -> None:
    r = deps.retriever.retrieve(question)
    top = r.passages[0].chunk
    # the row itself (a PDF table row, or a Markdown table row of the quick reference card)
    assert re.search(rf"^(\|\s*)?{re.escape(code)}\b", top.text, re.M), top.text[:200]
    if top.source.endswith(".pdf"):
        assert top.page_start == page


def test_english_sample_facts_hit_at_5(deps, sample_facts) -> None:
    facts = [f for f in sample_facts if f["lang"] == "en"]
    hits = 0
    for f in facts:
        r = deps.retriever.retrieve(f["question"])
        hits += any(p.chunk.source == f["source"] and p.chunk.page_start == f["page"] for p in r.passages)
    assert hits / len(facts) >= 0.9, hits


def test_other_language_questions_find_the_english_page(deps, sample_facts) -> None:
    """German and Spanish questions over the English sample manuals (multilingual side index on)."""
    facts = [f for f in sample_facts if f["lang"] != "en"]
    assert len(facts) >= 5
    found_all = []
    for f in facts:
        r = deps.retriever.retrieve(f["question"])
        assert r.lang == f["lang"]
        assert any("multilingual" in p.ranks for p in r.passages)
        found_all.append(
            (f["source"], f["page"]) in [(p.chunk.source, p.chunk.page_start) for p in r.passages]
        )
    # Measured limit: a question sharing no token with the page ("Gurt ... gespannt" vs "belt tension")
    # is not found by the 4-bit multilingual-e5-small; see docs/decisions.md.
    assert sum(found_all) >= 4, found_all


def test_german_question_finds_english_fault_row_with_default_settings(sample_index: Path) -> None:
    settings = app_settings(sample_index)
    assert settings.retrieval.multilingual is True
    d = build_app(settings, with_llm=False)
    r = d.retriever.retrieve("Was bedeutet der Fehlercode E-101 an der Presse?")
    assert r.lang == "de"
    assert "E-101" in r.passages[0].chunk.text  # the spec line "(fault E-101)" or the table row
    assert any(p.chunk.page_start == 7 and "E-101" in p.chunk.text for p in r.passages)


def test_equipment_tags_limit_the_search_and_an_unknown_tag_is_refused(deps) -> None:
    press = {"HP-200_Hydraulic_Press_Manual.pdf", "Lubrication_Notes.txt", "Shift_Handover_Checklist.html"}
    r = deps.retriever.retrieve("belt tension deflection", equipment="press")
    assert r.passages and {p.chunk.source for p in r.passages} <= press
    r = deps.retriever.retrieve("belt tension deflection", equipment="conveyor")
    assert r.passages[0].chunk.source.startswith("CV-50")
    assert not any(p.chunk.source.startswith(("HP-200", "KS-10")) for p in r.passages)
    r = deps.retriever.retrieve("belt tension deflection", equipment="Line-2")  # a tag of the settings
    assert {p.chunk.source[:6] for p in r.passages} <= {"HP-200", "CV-50_"}
    # a mistyped tag is refused with the reason, never widened to every manual
    with pytest.raises(UnknownEquipment, match=r"belongs to machine 'conveyer'.*conveyor"):
        deps.retriever.retrieve("belt tension deflection", equipment="conveyer")


def test_source_filter(deps) -> None:
    r = deps.retriever.retrieve("E-107", sources=["CV-50_Conveyor_Manual.pdf"])
    assert {p.chunk.source for p in r.passages} == {"CV-50_Conveyor_Manual.pdf"}


def test_langchain_retriever_interface(deps) -> None:
    from chatbot.langchain_retriever import ManualRetriever

    docs = ManualRetriever(retriever=deps.retriever, k=3).invoke("E-107 main pump motor overload")
    assert len(docs) == 3
    assert docs[0].metadata["source"] == "HP-200_Hydraulic_Press_Manual.pdf"
    assert docs[0].metadata["page"] == 7 and "E-107" in docs[0].page_content
    assert docs[0].metadata["n"] == 1


def test_retrieval_latency_is_reported(deps) -> None:
    r = deps.retriever.retrieve("How do I change the hydraulic oil filter?")
    assert {"dense_ms", "lexical_ms", "total_ms"} <= set(r.timings)


def test_new_index_version_is_picked_up_without_restart(tmp_path: Path, real_embedder) -> None:
    from ingest.pipeline import run_ingest

    docs = tmp_path / "docs"
    shutil.copytree(MANUALS, docs)
    settings = app_settings(tmp_path / "idx")
    settings.retrieval.reload_seconds = 0.1
    settings.retrieval.multilingual = False
    run_ingest([docs], settings, embedder=real_embedder)
    d = build_app(settings, with_llm=False)
    v1 = d.handle.get().index.version
    (docs / "mixer.md").write_text("# Mixer MX-7\n\nFault M-42 means the agitator shear pin is broken.\n")
    run_ingest([docs], settings, embedder=real_embedder)
    time.sleep(0.2)
    r = d.retriever.retrieve("What does fault M-42 mean on the mixer?")
    assert r.index_version != v1
    assert r.passages[0].chunk.source == "mixer.md"


def test_while_one_request_loads_a_new_version_the_others_are_answered_from_the_old(
    tmp_path: Path, real_embedder
) -> None:
    import threading

    from chatbot.retrieval import IndexHandle
    from ingest.pipeline import run_ingest

    docs = tmp_path / "docs"
    shutil.copytree(MANUALS, docs)
    settings = app_settings(tmp_path / "idx")
    settings.retrieval.multilingual = False
    run_ingest([docs], settings, embedder=real_embedder)
    release, loading = threading.Event(), threading.Event()

    def slow(_state) -> None:  # a large index: the load takes a while
        if handle._state is not None:
            loading.set()
            assert release.wait(60)

    handle = IndexHandle(settings.index.path, None, None, check_seconds=0.0, on_load=slow)
    v1 = handle.get().index.version
    (docs / "mixer.md").write_text("# Mixer MX-7\n\nFault M-42 means the agitator shear pin is broken.\n")
    run_ingest([docs], settings, embedder=real_embedder)
    loader = threading.Thread(target=handle.get)
    loader.start()
    assert loading.wait(60)
    assert handle.get().index.version == v1  # not queued behind the load
    release.set()
    loader.join(60)
    assert handle.get().index.version != v1


# ------------------------------------------------------------------ default settings
@pytest.fixture(scope="module")
def default_deps(sample_index: Path):
    settings = app_settings(sample_index)
    assert settings.retrieval.multilingual is True  # the defaults an admin gets
    d = build_app(settings, with_llm=False)
    yield d
    d.close()


@pytest.mark.parametrize(
    ("question", "lang", "source", "page"),
    [
        # no code to anchor on: the words must cross the language gap
        ("Wie stark muss der Gurt des Förderbands gespannt werden?", "de", "CV-50_Conveyor_Manual.pdf", 3),
        (
            "¿Cuántos litros de aceite caben en el depósito hidráulico de la prensa?",
            "es",
            "HP-200_Hydraulic_Press_Manual.pdf",
            3,
        ),
        ("压力机液压油箱的容量是多少升？", "zh", "HP-200_Hydraulic_Press_Manual.pdf", 3),
    ],
)
def test_other_languages_find_the_english_page_with_default_settings(
    default_deps, question: str, lang: str, source: str, page: int
) -> None:
    r = default_deps.retriever.retrieve(question)
    assert r.lang == lang and r.query.english  # the dictionary rendering is part of what was searched
    assert (source, page) in [(p.chunk.source, p.chunk.page_start) for p in r.passages], r.query.english


def test_a_german_question_finds_the_german_manual(default_deps) -> None:
    r = default_deps.retriever.retrieve(
        "Wie oft muss das Filtervlies der Kühlschmierstoffanlage gewechselt werden?"
    )
    assert r.passages[0].chunk.source.startswith("KS-10_")
    assert "500 Betriebsstunden" in r.passages[0].chunk.text


def test_a_machine_that_is_not_in_the_index_is_declined(default_deps) -> None:
    result = default_deps.answerer.answer("How do I descale the milk frother of the espresso machine?")
    assert result.outcome == "not_in_manuals" and result.citations == []


def test_a_weak_match_gets_the_closest_passages_not_a_refusal(default_deps) -> None:
    """Related words but no page that answers it: shown as the closest passages. (Until the re-fit of
    2026-12-06 the question was "Can the conveyor belt run in reverse for cleaning?": its confidence
    0.104 is now under the fitted "not in the manuals" level 0.14; docs/decisions.md.)"""
    result = default_deps.answerer.answer("Can the press run on 110 V?")
    assert result.outcome in ("low_confidence", "answer")
    assert result.passages and result.outcome != "not_in_manuals"


def test_a_page_of_translated_notices_is_left_out_of_the_cross_lingual_channel(
    tmp_path: Path, real_embedder
) -> None:
    """An English manual's section in Portuguese (translated notices) is not what a Portuguese
    question is about: the cross-lingual channel skips chunks written in another language than
    their document's main one; the other channels still find them."""
    from ingest.pipeline import run_ingest

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "mixer.md").write_text(
        "# Mixer MX-7 operating manual\n\n## Cleaning\n\n"
        "Switch off the mixer and lock out the main switch before cleaning. Remove the agitator, wash "
        "the bowl with warm water and a mild detergent, and dry all parts before you fit them again.\n\n"
        "## Faults\n\nFault M-42 means the agitator shear pin is broken. Replace the shear pin with the "
        "spare pin stored in the door pocket, then press RESET.\n\n"
        "## Avisos legais\n\nEste equipamento está em conformidade com as diretivas europeias aplicáveis. "
        "A declaração de conformidade pode ser solicitada ao fabricante. Não elimine este equipamento "
        "com o lixo doméstico; entregue-o num ponto de recolha para reciclagem.\n",
        encoding="utf-8",
    )
    settings = app_settings(tmp_path / "idx")
    run_ingest([docs], settings, embedder=real_embedder)  # the side vectors are computed here
    with build_app(settings, with_llm=False) as d:
        state = d.handle.get()
        notice = [i for i, c in enumerate(state.index.chunks) if "conformidade" in c.text]
        english = [i for i, c in enumerate(state.index.chunks) if "shear pin" in c.text]
        assert notice and english and not set(notice) & set(english)
        assert state.ml_usable is not None
        assert not state.ml_usable[notice].any() and state.ml_usable[english].all()
        r = d.retriever.retrieve("Como limpo a taça da misturadora?")
        assert r.lang == "pt"
        ranked_ml = [p.row for p in r.passages if "multilingual" in p.ranks]
        assert ranked_ml and not set(ranked_ml) & set(notice)
        r = d.retriever.retrieve("declaração de conformidade diretivas europeias")
        assert r.passages[0].row in notice  # still found, by its words


def test_token_memo_gives_the_joined_texts_tokens_and_tokenizes_only_new_text(
    sample_index, monkeypatch
) -> None:
    from chatbot import lexical
    from chatbot.lexical import TokenMemo
    from chatbot.text_indexes import lexical_text
    from index.search import open_index

    chunks = open_index(sample_index, None, None).chunks
    memo = TokenMemo()
    for c in chunks:  # pieces joined by a newline: the same tokens as the joined text
        assert memo(f"{c.title}\n{c.section}", c.text) == tokenize(lexical_text(c))
    assert len(memo) < 2 * len(chunks)  # headings shared by many chunks are tokenized once
    seen: list[str] = []
    real = lexical.tokenize
    monkeypatch.setattr(lexical, "tokenize", lambda t: seen.append(t) or real(t))
    nxt = TokenMemo(memo)  # the next index version: one chunk kept, one new
    assert nxt(chunks[0].text) == real(chunks[0].text)
    assert nxt("Fault M-42: the agitator shear pin is broken.") == [
        "fault",
        "m-42",
        "m",
        "42",
        "agitator",
        "shear",
        "pin",
        "broken",
    ]
    assert seen == ["Fault M-42: the agitator shear pin is broken."]
    nxt.done()
    assert len(nxt) == 2


def test_the_passages_come_from_different_pages(deps) -> None:
    """Five passages show the operator five places in the manuals, not one page cut in three."""
    from chatbot.ranking import one_per_page

    r = deps.retriever.retrieve("How do I change the hydraulic oil of the press?")
    pages = [(p.chunk.source, p.chunk.page_start or p.chunk.section) for p in r.passages]
    assert len(pages) == deps.settings.retrieval.k and len(set(pages)) == len(pages), pages
    chunks = deps.handle.get().index.chunks
    by_page: dict[tuple[str, object], list[int]] = {}
    for row, c in enumerate(chunks):
        by_page.setdefault((c.source, c.page_start), []).append(row)
    a, b = [rows for rows in by_page.values() if len(rows) >= 2][:2]
    # a page's second chunk waits behind the best chunk of the other page, and is kept after it
    assert one_per_page([a[0], a[1], b[0]], chunks, 2) == [a[0], b[0], a[1]]
    # fewer pages than k: the head is what there is, nothing is dropped
    assert one_per_page([a[0], a[1]], chunks, 2) == [a[0], a[1]]


def test_a_code_table_row_printed_with_its_bare_number_is_the_codes_row() -> None:
    """ "ALARM:9" is row "9 Homing fail" of a table headed "Alarm codes"; a numbered step or a row
    of another family's table is not."""
    from chatbot.lexical import LexicalIndex
    from core.grammar import family_key

    assert [family_key(c) for c in ("alarm:9", "al-09", "error:22", "err 22", "e-107", "p9.01")] == [
        "alarm:9",
        "alarm:9",
        "error:22",
        "error:22",
        None,
        None,
    ]
    texts = [
        "Alarm codes\n8 Homing fail Pull off travel failed.\n9 Homing fail Could not find limit switch.",
        "Error codes\n9 Setting disabled Homing is not enabled.",
        "Homing procedure\n9. Press the homing button.\n9 Homing starts",
    ]
    headings = ["Machine manual\nAlarm codes", "Machine manual\nError codes", "Machine manual\nHoming"]
    lex = LexicalIndex(texts, headings=headings)
    assert lex.code_rows(["alarm:9"], "homing fail") == [0]
    assert lex.code_rows(["error:9"], "homing") == [1]
    assert lex.code_rows(["alarm:11"], "homing") == []
    assert lex.is_row_of("ALARM:9".lower(), 0) and not lex.is_row_of("alarm:9", 1)
    assert not lex.is_row_of("alarm:9", 2)  # "9. Press ..." is a step, "9 Homing starts" no code table
