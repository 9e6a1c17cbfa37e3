"""Chunking with the real model's tokenizer on the sample manuals."""

from __future__ import annotations

import re

import pytest
from conftest import MANUALS, SAMPLE_DOCS

from ingest.chunking import _group_units, chunk_document, embedding_text
from ingest.extract import extract, strip_running_lines


def _chunks(name: str, count, tokens: int = 200):
    doc = extract(MANUALS / name)
    strip_running_lines(doc.pages)
    return chunk_document(doc, name, "ab" * 32, count, chunk_tokens=tokens, overlap_tokens=40)


def test_embedded_text_fits_the_model_window(real_embedder) -> None:
    count = real_embedder.count_tokens
    for name in [p.name for p in SAMPLE_DOCS]:
        for c in _chunks(name, count):
            n = count([embedding_text(c)])[0]
            assert n <= 200, (name, c.page_start, n)
            assert n <= real_embedder.max_tokens


def test_fault_code_row_stays_with_its_meaning(real_embedder) -> None:
    chunks = _chunks("HP-200_Hydraulic_Press_Manual.pdf", real_embedder.count_tokens)
    for code, remedy in [("E-107", "rated 42 A"), ("E-101", "Check the oil"), ("E-112", "connector X12")]:
        holding = [c for c in chunks if re.search(rf"^{code}\b", c.text, re.M)]
        assert holding, code
        assert any(remedy in c.text for c in holding), f"{code} row split from its remedy"
    # and the section tells what table the row belongs to
    e107 = next(c for c in chunks if "E-107" in c.text and "rated 42 A" in c.text)
    assert "Fault code" in e107.section
    assert e107.page_start == 7


def test_pages_and_sections_match_the_sample_facts(real_embedder, sample_facts) -> None:
    by_doc: dict[str, list] = {}
    for fact in sample_facts:
        if fact["source"] not in by_doc:
            by_doc[fact["source"]] = _chunks(fact["source"], real_embedder.count_tokens)
        chunks = by_doc[fact["source"]]
        flat = [re.sub(r"\s+", " ", c.text) for c in chunks]
        holders = [c for c, t in zip(chunks, flat, strict=True) if all(s in t for s in fact["must_contain"])]
        if not holders:  # facts whose strings span two neighbouring chunks: each string on the right page
            for s in fact["must_contain"]:
                pages = {c.page_start for c, t in zip(chunks, flat, strict=True) if s in t}
                assert fact["page"] in pages, (fact["question"], s, pages)
            continue
        assert {c.page_start for c in holders} == {fact["page"]}, fact["question"]


def test_units_keep_wrapped_rows_together() -> None:
    lines = [
        "9 Homing fail Homing fail. Could not find limit switch within search distances. Try increasing max",
        "travel, decreasing pull-off distance, or check wiring.",
        "10 Homing fail Homing fail. Second dual axis limit switch failed to trigger.",
        "WARNING: Release hydraulic pressure before you open any fitting.",
        "Oil under pressure can",
        "penetrate skin.",
    ]
    units = _group_units(lines)
    assert [u[0].split("\n")[0][:10] for u in units] == ["9 Homing f", "10 Homing ", "WARNING: R"]
    assert "check wiring" in units[0][0]
    assert units[2][0].endswith("penetrate skin.")
    assert all(rec for _, rec in units)


@pytest.mark.parametrize("tokens", [96, 120, 400])
def test_chunk_size_setting_is_honoured(real_embedder, tokens: int) -> None:
    count = real_embedder.count_tokens
    chunks = _chunks("CV-50_Conveyor_Manual.pdf", count, tokens)
    sizes = count([embedding_text(c) for c in chunks])
    assert max(sizes) <= tokens
    assert len(chunks) >= 3


def test_markdown_sections(real_embedder) -> None:
    chunks = _chunks("CV-50_Quick_Reference.md", real_embedder.count_tokens)
    assert all(c.page_start is None for c in chunks)
    assert any(c.section.endswith("Common alarms") and "AL-0" in c.text for c in chunks)
    stopping = next(c for c in chunks if "Press STOP" in c.text)
    assert stopping.section.endswith("Stopping")
    assert not any(line.startswith("#") for c in chunks for line in c.text.split("\n"))
