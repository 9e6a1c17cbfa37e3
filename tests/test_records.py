"""The answer log and feedback store (ui/records.py) on SQLite and on a real PostgreSQL server, the
export CLIs, and feedback turned into QA lines that the eval reads."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from conftest import REPO
from services import Postgres, pg_bin

from chatbot.qa import load_qa
from core.errors import UserError
from ui.feedback import qa_lines
from ui.records import Records, database_url, parse_time


def _row(q: str, equipment: str = "press", outcome: str = "answer") -> dict:
    return {
        "session": "s1",
        "question": q,
        "answer": "“Main pump motor overload.” [1]",
        "outcome": outcome,
        "confidence": 0.91,
        "citations": [{"n": 1, "source": "press/HP-200.pdf", "page": 3, "section": "Fault codes"}],
        "model": "embedded",
        "index_version": "v000003",
        "equipment": equipment,
        "lang": "en",
        "retrieval_ms": 4.2,
        "first_text_ms": 30.0,
        "total_ms": 900.0,
    }


@pytest.fixture(scope="module")
def postgres(tmp_path_factory: pytest.TempPathFactory):
    if pg_bin("initdb") is None:
        pytest.fail("PostgreSQL is not installed: make system-deps installs it")
    pg = Postgres(tmp_path_factory.mktemp("pg"))
    yield pg
    pg.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path):
    if request.param == "sqlite":
        url = database_url("", tmp_path / "log.sqlite")
    else:
        pg = request.getfixturevalue("postgres")
        import psycopg

        db = f"t{abs(hash(tmp_path)) % 10**8}"
        with psycopg.connect(pg.url_for("postgres", driver=False), autocommit=True) as c:
            c.execute(f'CREATE DATABASE "{db}"')
        url = pg.url_for(db)
    s = Records(url, answer_log_days=30, feedback_days=365, replica="r1")
    yield s
    s.close()


def test_each_question_is_one_row_with_what_was_shown(store: Records) -> None:
    a = store.log_answer(**_row("What does E-107 mean?"))
    b = store.log_answer(**_row("Belt runs off", equipment="conveyor", outcome="low_confidence"))
    assert a and b and b > a
    rows = list(store.answer_rows())
    assert [r["question"] for r in rows] == ["What does E-107 mean?", "Belt runs off"]
    first = rows[0]
    assert first["replica"] == "r1" and first["outcome"] == "answer" and first["index_version"] == "v000003"
    assert json.loads(first["citations"])[0]["page"] == 3
    assert first["created_at"].endswith("+00:00")
    assert [r["question"] for r in store.answer_rows(equipment="CONVEYOR")] == ["Belt runs off"]
    hour = datetime.now(UTC) + timedelta(hours=1)
    assert list(store.answer_rows(since=hour)) == []
    assert len(list(store.answer_rows(until=hour))) == 2


def test_a_quote_logged_when_shown_is_completed_in_the_same_row(store: Records) -> None:
    # the chat logs the quote the moment it is on screen (a replica may die while the model writes)
    # and completes that row with the whole answer: one row per question either way
    before = store.count()
    rid = store.log_answer(
        question="How do I reset E-104?", answer="“Turn S2 to RESET.” [1]", outcome="answer"
    )
    first = next(r for r in store.answer_rows() if r["id"] == rid)
    assert first["total_ms"] is None and first["answer"].startswith("“Turn S2")
    again = store.log_answer(rid, **_row("How do I reset E-104?"))
    assert again == rid and store.count() == before + 1
    done = next(r for r in store.answer_rows() if r["id"] == rid)
    assert done["index_version"] == "v000003" and done["created_at"] == first["created_at"]
    assert done["answer"] == _row("x")["answer"]


def test_feedback_points_at_its_answer_row(store: Records) -> None:
    aid = store.log_answer(**_row("What does E-107 mean?"))
    fid = store.record(
        session="s1",
        rating=-1,
        question="What does E-107 mean?",
        answer="“Main pump motor overload.” [1]",
        abstained=False,
        citations=[{"n": 1, "source": "press/HP-200.pdf", "page": 3, "section": ""}],
        index_version="v000003",
        equipment="press",
        lang="en",
        answer_id=aid,
    )
    store.add_comment(fid, "The reset steps are missing.")
    (row,) = store.rows()
    assert (
        row["answer_id"] == aid and row["comment"] == "The reset steps are missing." and row["rating"] == -1
    )


def test_retention_deletes_old_rows_only(store: Records) -> None:
    store.log_answer(**_row("old"))
    store.record(
        session="s", rating=1, question="q", answer="a", abstained=False, citations=[], index_version="v1"
    )
    later = datetime.now(UTC) + timedelta(days=31)  # the answer row is 31 days old then, feedback is not
    assert store.purge(now=later) == (1, 0)
    assert store.count("answers") == 0 and store.count("feedback") == 1
    assert store.purge(now=datetime.now(UTC) + timedelta(days=366)) == (0, 1)


def test_two_replicas_write_concurrently_without_losing_a_row(store: Records) -> None:
    other = Records(store.url, replica="r2")
    errors: list[BaseException] = []

    def write(s: Records, n: int) -> None:
        try:
            for i in range(n):
                s.log_answer(**_row(f"{s.replica} question {i}"))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(s, 40)) for s in (store, other, store, other)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    other.close()
    assert not errors
    rows = list(store.answer_rows())
    assert len(rows) == 160 and {r["replica"] for r in rows} == {"r1", "r2"}


def test_answer_log_off_writes_nothing(tmp_path: Path) -> None:
    s = Records(database_url("", tmp_path / "x.sqlite"), answer_log_days=0)
    assert s.log_answer(**_row("q")) is None and s.count("answers") == 0


def test_unreachable_database_is_one_clear_error() -> None:
    with pytest.raises(UserError, match=r"database postgresql\+psycopg://opassist:\*\*\*@127\.0\.0\.1:1/x"):
        Records("postgresql+psycopg://opassist:secret@127.0.0.1:1/x")
    with pytest.raises(UserError, match="not a database URL"):
        Records("not a url")


def test_feedback_file_of_an_earlier_release_is_upgraded_in_place(tmp_path: Path) -> None:
    db = tmp_path / "feedback.sqlite"
    con = sqlite3.connect(db)
    con.executescript(
        "CREATE TABLE feedback (id INTEGER PRIMARY KEY AUTOINCREMENT, created_at TEXT NOT NULL,"
        " session TEXT NOT NULL, rating INTEGER NOT NULL, comment TEXT NOT NULL DEFAULT '',"
        " question TEXT NOT NULL, answer TEXT NOT NULL, abstained INTEGER NOT NULL, citations TEXT NOT NULL,"
        " index_version TEXT NOT NULL, equipment TEXT NOT NULL DEFAULT '');"
        "INSERT INTO feedback (created_at, session, rating, comment, question, answer, abstained, citations,"
        " index_version) VALUES ('2026-11-30T08:15:00+00:00', 's', -1, 'wrong page', 'q', 'a', 0, '[]', 'v1');"
    )
    con.commit()
    con.close()
    s = Records(database_url("", db), feedback_days=36500)
    (row,) = s.rows()
    assert row["comment"] == "wrong page" and row["created_at"] == "2026-11-30T08:15:00+00:00"
    assert row["answer_id"] is None and row["lang"] == ""


def test_thumbs_down_becomes_a_qa_line_the_eval_reads(tmp_path: Path) -> None:
    s = Records(database_url("", tmp_path / "fb.sqlite"))
    common = {"session": "s", "abstained": False, "index_version": "v1", "lang": "de"}
    cites = [
        {"n": 1, "source": "press/HP-200.pdf", "page": 3, "section": ""},
        {"n": 2, "source": "press/HP-200.pdf", "page": 4, "section": ""},
    ]
    s.record(rating=1, question="liked", answer="a", citations=cites, **common)  # not a test case
    s.record(rating=-1, question="Was bedeutet E-107?", answer="a", citations=cites, **common)
    s.record(
        rating=0, comment="Drehmoment fehlt", question="Anzugsmoment?", answer="n", citations=[], **common
    )
    lines = qa_lines(s.rows())
    assert [q["question"] for q in lines] == ["Was bedeutet E-107?", "Anzugsmoment?"]
    f = tmp_path / "draft.jsonl"
    r = subprocess.run(
        [sys.executable, "-m", "ui.feedback", "export", "--db", str(tmp_path / "fb.sqlite"), "--qa", str(f)],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0, r.stderr
    assert "wrote 2 draft QA lines" in r.stderr
    report = load_qa(f)
    assert not report.errors
    first, second = report.questions
    assert (
        first.source == "press/HP-200.pdf"
        and first.pages == (3, 4)
        and first.answerable
        and first.lang == "de"
    )
    assert (
        second.answer == "Drehmoment fehlt" and not second.answerable
    )  # nothing cited: the engineer names the page


def test_page_references_in_a_comment_in_the_operators_languages() -> None:
    from ui.feedback import page_hint

    assert page_hint("manual p.4 says every 1000 h") == [4]
    assert page_hint("see page 12, not p. 3; page 12 again") == [12, 3]
    assert page_hint("steht im Handbuch auf Seite 7 (S. 9)") == [7, 9]
    assert page_hint("está en la página 5") == [5] and page_hint("è a pagina 6") == [6]
    assert page_hint("手册第 8 页写着每1000小时") == [8] and page_hint("见第3页") == [3]
    # codes, intervals and steps are not pages
    assert page_hint("E-104 after step 4, every 1000 h, 5 bar") == []


def test_a_thumbs_down_naming_a_page_becomes_an_answerable_draft(tmp_path: Path) -> None:
    """The operator said the manual answers it on page 4: the draft says so, never "unanswerable"."""
    s = Records(database_url("", tmp_path / "fb.sqlite"))
    common = {
        "session": "s",
        "abstained": True,
        "index_version": "v000003",
        "equipment": "press",
        "lang": "en",
    }
    s.record(
        rating=-1,
        comment="manual p.4 says every 1000 h",
        question="How often do I change the hydraulic oil?",
        answer="The manuals I have do not cover this.",
        citations=[],
        **common,
    )
    s.record(
        rating=-1, question="Wie oft Öl wechseln?", answer="Nicht in den Handbüchern.", citations=[], **common
    )
    cites = [{"n": 1, "source": "press/HP-200.pdf", "page": 7}]
    s.record(
        rating=-1,
        comment="wrong row, it is on Seite 9",
        question="Was bedeutet E-112?",
        answer="a",
        citations=cites,
        **{**common, "abstained": False},
    )
    oil, german, wrong_row = qa_lines(s.rows())
    assert oil["answerable"] is True and oil["pages"] == [4] and oil["page_hint"] == [4]
    assert oil["source"] == "" and "page 4" in oil["review"] and "name the source" in oil["review"]
    assert oil["answer"] == "manual p.4 says every 1000 h"
    # a thumbs-down on "not in the manuals": the operator says the manuals do answer it
    assert german["answerable"] is True and german["pages"] == []
    # a wrong page cited: the operator's page is the draft's, the cited one is named for the review
    assert wrong_row["source"] == "press/HP-200.pdf" and wrong_row["pages"] == [9]
    assert "cited press/HP-200.pdf p. 7" in wrong_row["review"]
    f = tmp_path / "draft.jsonl"
    f.write_text("".join(json.dumps(q) + "\n" for q in (oil, german, wrong_row)))
    report = load_qa(f)
    # a draft without its source is named for the engineer, not silently taken as unanswerable
    assert [q.id for q in report.questions] == [wrong_row["id"]]
    assert len(report.errors) == 2 and all("without 'source'" in e for e in report.errors)


def test_log_export_cli_filters_by_time_and_machine(tmp_path: Path) -> None:
    db = tmp_path / "log.sqlite"
    s = Records(database_url("", db))
    s.log_answer(**_row("press question"))
    s.log_answer(**_row("conveyor question", equipment="conveyor"))
    out = tmp_path / "log.jsonl"
    cmd = [
        sys.executable,
        "-m",
        "ui.log",
        "--db",
        str(db),
        "export",
        "--since",
        "1h",
        "--equipment",
        "conveyor",
    ]
    r = subprocess.run([*cmd, "--out", str(out)], cwd=REPO, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [x["question"] for x in rows] == ["conveyor question"]
    bad = subprocess.run([*cmd[:-4], "--since", "yesterday"], cwd=REPO, capture_output=True, text=True)
    assert bad.returncode == 2 and "'yesterday': not a time" in bad.stderr
    missing = subprocess.run(
        [sys.executable, "-m", "ui.log", "--db", str(tmp_path / "none.sqlite"), "export"],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert missing.returncode == 2 and "none.sqlite: no such database file" in missing.stderr


def test_parse_time() -> None:
    assert parse_time("2026-12-01") == datetime(2026, 12, 1, tzinfo=UTC)
    assert parse_time("2026-12-01T09:00+01:00") == datetime(2026, 12, 1, 8, tzinfo=UTC)
    assert datetime.now(UTC) - parse_time("7d") > timedelta(days=6.9)
