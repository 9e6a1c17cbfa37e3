"""Conversations: follow-ups carry what the conversation established (codes, the topic of the last
answer), never the previous question; questions with their own code or topic stand alone. The
multi-turn eval runs conversations with the real model and index over the sample manuals."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO, app_settings

from chatbot.qa import load_conversations, split_of
from chatbot.query import Turn, in_context, is_follow_up, standalone_question
from chatbot.wiring import build_app

E107 = Turn("What does E-107 mean?", "…", ("e-107",), "HP-200 Hydraulic Press · 6 Fault codes")


@pytest.mark.parametrize(
    "question",
    [
        "and what about E-112?",  # names its own code
        "How tight should the conveyor belt be and how do I adjust it?",  # its own topic, despite "it"
        "What does alarm 1047 on the mill mean?",
        "Wie hoch ist der Öldruck im Betrieb?",
        "传送带张力怎么调整？",
    ],
)
def test_a_question_with_its_own_code_or_topic_stands_alone(question: str) -> None:
    assert standalone_question(question, [E107]) == question


@pytest.mark.parametrize(
    "question",
    [
        "How do I reset it?",
        "and how do I reset it?",
        "what torque for that?",
        "und wie setze ich das zurück?",
        "¿y cómo lo reinicio?",
        "et pour ça ?",
        "怎么复位？",
        "and the pressure?",
    ],
)
def test_a_follow_up_carries_the_code_and_topic_never_the_previous_question(question: str) -> None:
    assert is_follow_up(question)
    s = standalone_question(question, [E107])
    assert s.startswith(question) and "E-107" in s and "HP-200 Hydraulic Press" in s
    assert "What does" not in s  # the previous question's words are not carried


def test_a_short_question_that_stands_alone_is_also_searched_in_context() -> None:
    q = "what clamp pressure after closing the clamps?"
    assert standalone_question(q, [E107]) == q  # its own topic: searched as asked ...
    assert in_context(q, [E107]).startswith(q) and "HP-200" in in_context(q, [E107])  # ... and in context
    long_q = "How tight should the conveyor belt be and how do I adjust it on the tail pulley?"
    assert in_context(long_q, [E107]) == ""
    assert in_context("how do I reset it?", [E107]) == ""  # a follow-up already carries the context
    assert in_context("and what about E-112?", [E107]) == ""  # its own code
    assert in_context(q, []) == ""


def test_history_as_plain_pairs_still_works() -> None:
    s = standalone_question(
        "and how do I reset it?", [("What does E-104 mean on the press?", "Light curtain [1]")]
    )
    assert "E-104" in s and "mean on the press" not in s


def test_the_most_recent_code_wins() -> None:
    h = [E107, Turn("What does E-101 mean?", "…", ("e-101",), "HP-200 Hydraulic Press · 6 Fault codes")]
    assert "E-101" in standalone_question("how do I reset it?", h)
    assert "E-107" not in standalone_question("how do I reset it?", h)


def test_a_follow_up_after_a_real_answer_finds_its_page(sample_index: Path) -> None:
    with build_app(app_settings(sample_index), with_llm=False) as deps:
        first = deps.answerer.answer("What does E-104 mean on the press?")
        turn = first.turn()
        assert turn.codes == ("e-104",) and turn.topic.startswith("HP-200")
        second = deps.answerer.answer("and how do I reset it?", history=[turn])
    assert "E-104" in second.standalone_question
    assert any(c.page == 8 and "S2" in c.text for c in second.citations + second.passages[:3])


def test_conversation_files_load_with_turn_ids_kinds_and_one_half_per_conversation(tmp_path: Path) -> None:
    f = tmp_path / "conv.jsonl"
    f.write_text(
        json.dumps(
            {
                "id": "c1",
                "turns": [
                    {
                        "question": "What does E-107 mean?",
                        "source": "a.pdf",
                        "pages": [7],
                        "answerable": True,
                    },
                    {"question": "and how do I reset it?", "source": "a.pdf", "pages": [8]},
                    {"question": "What is the warranty?", "source": "", "pages": [], "answerable": False},
                ],
            }
        )
        + '\n{"id": "bad", "turns": []}\nnot json\n'
    )
    rep = load_conversations(f)
    assert [q.id for q in rep.questions] == ["c1/1", "c1/2", "c1/3"]
    assert [q.kind for q in rep.questions] == ["first turn", "follow-up", "unanswerable"]
    assert len(rep.errors) == 2 and ":2:" in rep.errors[0] and ":3:" in rep.errors[1]
    assert len({split_of(q.id) for q in rep.questions}) == 1  # a conversation is in one half


def test_eval_runs_conversations_with_their_history(sample_index: Path, tmp_path: Path) -> None:
    f = tmp_path / "conv.jsonl"
    turns = [
        {
            "question": "What does E-104 mean on the press?",
            "source": "HP-200_Hydraulic_Press_Manual.pdf",
            "pages": [7],
        },
        {"question": "and how do I reset it?", "source": "HP-200_Hydraulic_Press_Manual.pdf", "pages": [8]},
        {"question": "and what about E-112?", "source": "HP-200_Hydraulic_Press_Manual.pdf", "pages": [7, 8]},
    ]
    f.write_text(json.dumps({"id": "press", "turns": turns}) + "\n")
    out = tmp_path / "rows.jsonl"
    p = subprocess.run(
        [
            sys.executable,
            "-m",
            "chatbot.eval",
            "--index",
            str(sample_index),
            "--conversations",
            str(f),
            "--out",
            str(out),
            "--json",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert p.returncode == 0, p.stderr
    d = json.loads(p.stdout)
    assert d["questions"] == 3 and set(d["by_kind"]) == {"first turn", "follow-up"}
    rows = [json.loads(x) for x in out.read_text().splitlines()]
    assert [r["id"] for r in rows] == ["press/1", "press/2", "press/3"]
    assert rows[1]["rank"] is not None and rows[1]["rank"] <= 3  # the reset page, found through the history
    assert rows[2]["retrieved"][0]["page"] in (7, 8)


SETS = sorted((REPO / "qa").glob("conversations_samples.jsonl"))


@pytest.mark.parametrize("path", SETS, ids=[p.name for p in SETS])
def test_the_shipped_conversation_sets_load_cleanly(path: Path) -> None:
    rep = load_conversations(path)
    assert not rep.errors, rep.errors
    convs = {q.id.split("/")[0] for q in rep.questions}
    assert len(convs) >= 16
    assert sum(not q.answerable for q in rep.questions) >= 3
    assert len({q.lang for q in rep.questions}) >= 3
