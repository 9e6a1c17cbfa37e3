"""The manual's structure found at ingest (core/units.py), the quote chosen among its units
(chatbot/quoting.py) and the grounding check judged per unit (chatbot/support.py), on the
project's own sample manuals ingested with the real model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chatbot.grounding import ground
from chatbot.measures import measures
from chatbot.quoting import Quoter, choose_quote
from core.units import find_units, procedure_span, units_of
from index.types import Chunk


def _chunks(index: Path) -> list[Chunk]:
    version = (index / "CURRENT").read_text().strip()
    lines = (index / "versions" / version / "chunks.jsonl").read_text().splitlines()
    return [Chunk.from_dict(json.loads(x)) for x in lines]


def _chunk_with(chunks: list[Chunk], text: str) -> Chunk:
    return next(c for c in chunks if text in c.text)


def test_units_are_stored_at_ingest_and_found_again_from_the_text(sample_index: Path) -> None:
    chunks = _chunks(sample_index)
    assert all(c.units for c in chunks), "every chunk carries its units"
    for c in chunks:
        stored = units_of(c.text, c.section, c.units)
        assert stored == find_units(c.text, c.section)  # the same function at ingest and at query time
        for u in stored:
            assert c.text[u.start : u.end].strip(), "a span never covers only blanks"
    rows = _chunk_with(chunks, "E-107 Main pump motor")
    kinds = {u.code: u.kind for u in units_of(rows.text, rows.section, rows.units) if u.code}
    assert kinds["e-107"] == "row" and kinds["e-106"] == "row"
    e107 = next(u for u in units_of(rows.text, rows.section, rows.units) if u.code == "e-107")
    # the row keeps its wrapped cause and remedy cells, up to the next row
    assert "Reset Q1 in the electrical cabinet" in e107.text(rows.text)
    assert "E-108" not in e107.text(rows.text)


def test_a_step_belongs_to_the_procedure_with_its_intro_line(sample_index: Path) -> None:
    c = _chunk_with(_chunks(sample_index), "Reset the fault as follows:")
    units = units_of(c.text, c.section, c.units)
    i = next(k for k, u in enumerate(units) if u.kind == "step" and "Insert the key" in u.text(c.text))
    a, b = procedure_span(units, i, c.text)
    span = c.text[units[a].start : units[b - 1].end]
    assert span.rstrip().endswith("returns to top dead centre.")
    assert "as follows:" in span and all(f"{n}. " in span for n in range(1, 7))


def test_units_of_a_spec_table_a_markdown_table_and_a_german_manual() -> None:
    spec = "Table 2-1 Technical data CV-50\nParameter Value\nBelt width 500 mm\nBelt speed 0.1–1.5 m/s, adjustable"
    kinds = [(u.kind, u.text(spec)) for u in find_units(spec)]
    assert ("row", "Belt width 500 mm") in kinds and kinds[0][0] == "heading"
    md = "| Alarm | Meaning |\n|---|---|\n| AL-01 | Belt slip |\n| AL-02 | Tracking |\nFor any other alarm, call 4417."
    units = find_units(md)
    assert [u.code for u in units if u.kind == "row"][-2:] == ["al-01", "al-02"]
    assert units[-1].kind == "paragraph"
    de = "3 Inbetriebnahme\n1. Füllstand prüfen.\n2. Konzentration messen.\nWARNUNG: Hauptschalter Q1 ausschalten."
    assert [u.kind for u in find_units(de, "Anleitung > 3 Inbetriebnahme")] == [
        "heading",
        "step",
        "step",
        "safety",
    ]


@pytest.mark.parametrize(
    ("question", "needle", "kind"),
    [
        ("How do I reset E-104?", "5. Press the blue RESET button", "procedure"),
        ("What does E-107 mean?", "Reset Q1 in the electrical cabinet, then press RESET.", "row"),
        ("What is the belt width of the CV-50?", "Belt width 500 mm", "row"),
        # the meaning ends on "Reset the fault as follows:": quoted with the steps it leads to
        ("What does E-104 mean?", "as follows:\n1. Do not reach into the die area", "procedure"),
        # one short checklist item reads on to the items after it
        ("What must I hand over at shift change?", "S2 of the HP-200.\n- Report open faults", "item"),
    ],
)
def test_the_quote_is_the_best_unit_whole(
    sample_index: Path, real_embedder, question: str, needle: str, kind: str
) -> None:
    from chatbot.query import Query
    from chatbot.retrieval import IndexHandle, Retriever
    from core.settings import load_settings

    handle = IndexHandle(sample_index, expected_model=real_embedder.name, expected_dim=real_embedder.dim)
    retriever = Retriever(handle, real_embedder, load_settings(None).retrieval)
    r = retriever.retrieve(Query.parse(question))
    quoter = Quoter(real_embedder, handle.get)
    p = r.passages[0]
    q = quoter(r.query.standalone, r.query.search_text, p.row, p.chunk, r.query.codes)
    assert needle in q.text and q.kind == kind
    if kind == "row":  # never reads into the neighbouring row
        assert "E-108" not in q.text and "E-106" not in q.text


def test_the_quote_without_models_is_lexical_and_never_starts_inside_a_row() -> None:
    text = (
        "E-106 Two-hand control timing\nerror\nThe two buttons were not pressed within\n0.5 s of each other.\n"
        "E-107 Main pump motor\noverload\nMotor protection relay Q1 has tripped.\nLet the motor cool for 15 minutes."
    )
    c = Chunk("m.pdf", "HP-200 Manual", 7, 7, "7", "5 Fault codes", text, "pdfium", "0" * 64, 0)
    q = choose_quote("What does E-107 mean?", c)
    assert q.text.startswith("E-107 Main pump motor overload") and "15 minutes" in q.text


def test_a_bare_number_row_under_alarm_codes_is_the_quote_for_alarm_n() -> None:
    text = (
        "8 Homing fail Pull off travel failed to clear limit switch. Try increasing pull-off setting.\n"
        "9 Homing fail Could not find limit switch within search distances. Try increasing max\n"
        "travel, decreasing pull-off distance, or check wiring.\n"
        "10 Homing fail Second dual axis limit switch failed to trigger."
    )
    c = Chunk("codes.pdf", "Grbl codes", 1, 1, "1", "Alarm codes", text, "pdfium", "0" * 64, 0)
    q = choose_quote("Grbl threw ALARM:9 during homing, what should I check?", c)
    # the row whole, under the table's heading ("Alarm codes": what the number is)
    assert q.text.split("\n")[-1].startswith("9 Homing fail Could not find") and "check wiring" in q.text, (
        q.text
    )
    assert "Second dual axis" not in q.text and "Pull off travel" not in q.text
    from core.grammar import starts_family_row

    assert starts_family_row("alarm:9", "9 Homing fail Could not find", "Alarm codes")
    assert not starts_family_row("alarm:9", "9 Homing fail Could not find", "Error codes")  # another table
    assert not starts_family_row("alarm:9", "9. Press the homing button", "Alarm codes")  # a step


def test_numbered_rows_under_error_codes_stay_rows_after_a_line_that_looks_coded() -> None:
    """A table header "v1.1+ Error Message …" reads as a coded row (v1.1); the numbered rows below it
    are rows of their own, not wrapped lines of it (the whole table was one "row" before)."""
    text = (
        "Error codes\nv1.1+ Error Message in v1.0- Error Description\n"
        "1 Expected command letter G-code words consist of a letter and a value.\n"
        "2 Bad number format Missing the expected G-code word value.\n"
        "E-110 Accumulator pressure low Check the precharge\n"
        "60 s with the valves closed."
    )
    rows = [(u.kind, text[u.start : u.end].split("\n")[0][:14]) for u in find_units(text, "Error codes")]
    assert ("row", "1 Expected com") in rows and ("row", "2 Bad number f") in rows, rows
    # a coded row still takes its wrapped continuation ("60 s with …" is not row 60)
    assert not any(t.startswith("60 s") for _, t in rows), rows
    # outside a table that names a code family, the wrap rule is as before
    plain = find_units("E-110 Accumulator pressure low Check\n60 s with the valves closed.", "Hydraulics")
    assert len(plain) == 1


def test_a_page_is_shown_by_its_chunk_with_the_named_codes_row() -> None:
    """A fault table cut into two chunks of one page: the page keeps its place in the ranking and
    is represented by the chunk that holds ALARM:9's row."""
    from chatbot.ranking import code_rows_first

    def chunk(page: int, ordinal: int, text: str) -> Chunk:
        return Chunk(
            "codes.pdf", "Grbl codes", page, page, str(page), "Alarm codes", text, "pdfium", "0" * 64, ordinal
        )

    chunks = [chunk(1, 0, "1 Hard limit …"), chunk(1, 1, "9 Homing fail …"), chunk(2, 2, "Error codes …")]
    assert code_rows_first([0, 2, 1], {1: 1}, chunks) == [1, 0, 2]
    assert code_rows_first([2, 0, 1], {1: 1}, chunks) == [2, 1, 0]
    assert code_rows_first([1, 0, 2], {1: 1}, chunks) == [1, 0, 2]  # already first on its page
    assert code_rows_first([0, 2], {}, chunks) == [0, 2]


def test_a_lead_in_at_the_end_of_a_chunk_is_quoted_with_what_it_leads_to() -> None:
    """ "… do the following:" closes a chunk and the steps open the next chunk of the same page and
    section: the quote reads on into them, not stopping at the colon."""

    def chunk(ordinal: int, text: str) -> Chunk:
        return Chunk(
            "cv.pdf", "CV-50", 12, 12, "12", "6 Belt > 6.3 Tension", text, "pdfium", "0" * 64, ordinal
        )

    first = chunk(
        0,
        "The belt stretches during its first weeks of service. Check the tension weekly.\n"
        "To set the belt tension, do the following:",
    )
    second = chunk(
        1,
        "1. Loosen the four take-up bolts.\n2. Turn both tension screws until the belt deflects 8 mm.\n"
        "3. Tighten the take-up bolts to 45 Nm.",
    )
    q = choose_quote("How do I set the belt tension?", first, next_chunk=second)
    assert q.text.split("\n")[0].endswith("do the following:"), q.text
    assert "1. Loosen the four take-up bolts." in q.text and "45 Nm" in q.text, q.text
    assert q.kind == "procedure"
    # without the next chunk (another page or section) the quote is what the chunk holds
    assert choose_quote("How do I set the belt tension?", first).text.endswith("do the following:")


def test_a_short_quote_reads_on_to_the_units_after_it_up_to_the_next_heading() -> None:
    """A one-line paragraph rarely says enough alone ("First, connect with the serial terminal"):
    the units after it are quoted with it while the quote is short, never past a heading."""
    text = (
        "First, connect with the serial terminal of your choice.\n"
        "Set the baud rate to 115200, 8 data bits, no parity, 1 stop bit.\n"
        "Firmware update\nThe flasher tool writes the firmware image over the same serial port."
    )
    c = Chunk(
        "m.pdf",
        "XY Controller",
        9,
        9,
        "9",
        "4 Connecting > 4.2 Serial connection",
        text,
        "pdfium",
        "0" * 64,
        0,
    )
    q = choose_quote("How do I connect a serial terminal?", c)
    assert "First, connect with the serial terminal" in q.text and "115200" in q.text, q.text
    assert "flasher" not in q.text and "Firmware update" not in q.text, q.text


def test_a_lead_in_after_a_step_starts_the_next_procedure() -> None:
    """ "To replace door bins:" after step 2 of the removal is the replacement's lead, not a wrapped
    line of step 2; and a short line right after a lead ending ":" is what it introduces, not a
    heading."""
    text = (
        "To remove door bins:\n1. Lift bin up.\n2. Pull bin straight out.\nTo replace door bins:\n"
        "1. Slide bin in above desired support button.\n2. Push down until it stops."
    )
    units = find_units(text, "Door bins")
    kinds = [(u.kind, u.text(text)) for u in units]
    assert ("step", "2. Pull bin straight out.") in kinds and ("paragraph", "To replace door bins:") in kinds
    i = next(k for k, u in enumerate(units) if u.text(text).startswith("1. Slide"))
    a, b = procedure_span(units, i, text)
    assert text[units[a].start : units[b - 1].end].startswith("To replace door bins:\n1. Slide")
    listing = "You can do these when you view the contact card:\nMake a call\nSend a message"
    assert [u.kind for u in find_units(listing, "Contacts")] == ["paragraph"] * 3


def test_measures_read_units_of_measure() -> None:
    assert measures("tighten to 40 N·m") == {("40", "N·m")}
    assert measures("every 500 operating hours") == {("500", "h")}
    assert measures("80 l/min bei 6 bar") == {("80", "l/min"), ("6", "bar")}
    assert measures("15-minute overlap") == {("15", "min")}


ROWS = (
    "E-106 Two-hand control timing\nerror\nThe two buttons were not pressed within\n0.5 s of each other.\n"
    "E-107 Main pump motor\noverload\nMotor protection relay Q1 has tripped.\nLet the motor cool for at least 15 minutes.\n"
    "Check the motor current (rated 42 A).\nReset Q1 in the electrical cabinet, then\npress RESET."
)
STEPS = (
    "Reset the fault as follows:\n1. Do not reach into the die area until the ram has stopped completely.\n"
    "4. Insert the key into key switch S2 and turn it to RESET. Hold it in this position.\n"
    "5. Press the blue RESET button, then release the key switch. E-104 disappears from the HMI."
)

COOLANT = (
    "A-12 Coolant too hot\nThe coolant is above the limit of 40 °C. Let the chiller run; the fault can\n"
    "be cleared when the coolant is below 35 °C."
)
SPECS = "Table 2 Data\nSpindle stroke 120 mm\nTable height 250 mm\nWeight 900 kg"


@pytest.mark.parametrize(
    ("sentence", "passage", "kept", "why"),
    [
        ("E-107 means the main pump motor is overloaded [1].", ROWS, True, ""),
        ("Let the motor cool for at least 15 minutes [1].", ROWS, True, ""),
        ("E-106 means the main pump motor is overloaded [1].", ROWS, False, "code"),
        ("Let the motor cool for at least 5 minutes [1].", ROWS, False, "number"),
        ("Let the motor cool for at least 15 seconds [1].", ROWS, False, "unit of measure"),
        ("Do not let the motor cool for 15 minutes [1].", ROWS, False, "polarity"),
        ("Press RESET, then reset Q1 in the electrical cabinet [1].", ROWS, False, "order"),
        ("Reset Q1 in the electrical cabinet, then press RESET [1].", ROWS, True, ""),
        ("Turn key switch S2 to RESET, then press the blue RESET button [1].", STEPS, True, ""),
        ("Press the blue RESET button before you turn key switch S2 to RESET [1].", STEPS, False, "order"),
        ("Reach into the die area before the ram has stopped completely [1].", STEPS, False, "polarity"),
        # a step's own number ("4.") is not a quantity the manual gives
        ("Turn key switch S2 to RESET and hold it for 4 s [1].", STEPS, False, "number"),
        # a number must be in the clause its words are about, not elsewhere in the unit
        ("The fault can be cleared when the coolant is below 40 °C [1].", COOLANT, False, "something else"),
        ("The fault can be cleared when the coolant is below 35 °C [1].", COOLANT, True, ""),
        ("The fault cannot be cleared once the coolant is below 35 °C [1].", COOLANT, False, "polarity"),
        # a row sharing only the number and its unit with the sentence is not about it
        ("The stroke is 250 mm [1].", SPECS, False, "number"),
        ("The spindle stroke is 120 mm [1].", SPECS, True, ""),
    ],
)
def test_grounding_judges_each_sentence_against_its_unit(
    sentence: str, passage: str, kept: bool, why: str
) -> None:
    g = ground(sentence, [passage])
    assert bool(g.text) is kept, g.why
    if not kept:
        assert why in " ".join(g.why)


def test_words_gathered_from_all_over_a_step_are_not_a_statement_of_the_manual() -> None:
    # every word is in step 5, but "on the HMI" belongs to another sentence of it
    g = ground("Press the blue RESET button on the HMI [1].", [STEPS], min_support=0.9)
    assert not g.text
