"""BM25 carried from one index version to the next by a running replica (chatbot/lexical_segments.py):
only the new chunks are indexed, the rest is the previous version's BM25 with its rows mapped; the
results match a replica that builds everything from scratch."""

from __future__ import annotations

import shutil
from pathlib import Path

from conftest import MANUALS, app_settings

from chatbot.lexical import LexicalIndex
from chatbot.lexical_segments import SegmentedLexical
from chatbot.retrieval import IndexHandle
from ingest.pipeline import run_ingest

QUESTIONS = [
    "What does fault M-42 mean on the mixer?",  # only in the new file
    "How often is the tail pulley bearing greased?",  # only in the changed file
    "What does fault E-107 mean?",
    "How do I tension the conveyor belt?",
    "hydraulic oil change interval",
    "Wie oft muss das Filtervlies gewechselt werden?",
]


def _change(docs: Path, n: int) -> None:
    notes = docs / "Lubrication_Notes.txt"
    notes.write_text(notes.read_text() + f"\nGrease the tail pulley bearing every {250 * n} hours.\n")
    (docs / f"mixer{n}.md").write_text(
        f"# Mixer MX-{n}\n\n## Faults\n\nM-42 Agitator shear pin broken. Replace the pin ({n} spare pins in the box).\n"
    )


def test_a_replica_carries_bm25_and_finds_what_a_fresh_build_finds(tmp_path: Path, real_embedder) -> None:
    docs = tmp_path / "docs"
    shutil.copytree(MANUALS, docs)
    settings = app_settings(tmp_path / "idx")
    settings.retrieval.multilingual = False
    run_ingest([docs], settings, embedder=real_embedder)
    replica = IndexHandle(settings.index.path, None, None, check_seconds=0, carry_fraction=0.9)
    first = replica.get()
    assert isinstance(first.lexical, LexicalIndex)

    for n in (1, 2):  # a second change carries the same base again
        _change(docs, n)
        run_ingest([docs], settings, embedder=real_embedder)
        state = replica.get()
        assert isinstance(state.lexical, SegmentedLexical) and isinstance(
            state.pages.lexical, SegmentedLexical
        )
        assert state.lexical.base is first.lexical  # nothing rebuilt: the first version's BM25
        assert state.lexical.dead >= 1 and 1 <= len(state.lexical.delta_rows) <= 6

        fresh = IndexHandle(settings.index.path, None, None, check_seconds=0).get()
        assert isinstance(fresh.lexical, LexicalIndex) and fresh.index.version == state.index.version
        chunks = state.index.chunks
        for q in QUESTIONS:
            carried = [r for r, _ in state.lexical.search(q, 5)]
            built = [r for r, _ in fresh.lexical.search(q, 5)]
            assert carried[0] == built[0], (q, chunks[carried[0]].text[:80], chunks[built[0]].text[:80])
            assert len(set(carried) & set(built)) >= min(4, len(built)), q
            assert [u for u, _ in state.pages.lexical.search(q, 3)][:1] == [
                u for u, _ in fresh.pages.lexical.search(q, 3)
            ][:1]
        top = chunks[state.lexical.search(QUESTIONS[0], 1)[0][0]]
        assert top.source == f"mixer{n}.md"  # a new chunk, from the delta, first
        assert chunks[state.lexical.search(QUESTIONS[1], 1)[0][0]].source == "Lubrication_Notes.txt"
        # exact matches, statistics and code rows read through both segments
        for codes in (["e-107"], ["m-42"]):
            assert state.lexical.code_rows(codes, "fault") and set(state.lexical.code_rows(codes, "")) == set(
                fresh.lexical.code_rows(codes, "")
            )
        phrase = ["agitator shear pin"]
        assert set(state.lexical.phrase_rows(phrase, "")) == set(fresh.lexical.phrase_rows(phrase, ""))
        assert state.lexical.known("agitator") and not state.lexical.known("zzzunknown")
        assert state.lexical.is_specific("m-42") == fresh.lexical.is_specific("m-42")
        e107 = state.lexical.code_rows(["e-107"], "")[0]
        assert state.lexical.is_row_of("e-107", e107) and fresh.lexical.is_row_of("e-107", e107)

    # past the rebuild share (here: any change), everything is built again
    rebuilding = IndexHandle(settings.index.path, None, None, check_seconds=0, carry_fraction=0.0)
    rebuilding.get()
    _change(docs, 3)
    run_ingest([docs], settings, embedder=real_embedder)
    assert isinstance(rebuilding.get().lexical, LexicalIndex)
