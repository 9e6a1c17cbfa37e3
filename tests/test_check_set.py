"""The grounding check set (qa/grounding_check.jsonl): its provenance, its make-up, the script that
writes it, and the report of ``chatbot.check_set`` (with a fake check, then the real one)."""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path
from types import ModuleType

import pytest
from conftest import REPO, SAMPLE_DOCS

from chatbot import check_set
from chatbot.check_set import ALTERED, DEFAULT_FILE, KINDS, Item, load, run
from chatbot.grounding import Grounded
from core.language import detect

SCRIPT = REPO / "scripts" / "make_check_set.py"
SAMPLE_INDEX = REPO / "data" / "sample-index"


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_check_set", SCRIPT)
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def items() -> list[Item]:
    return load(DEFAULT_FILE)


def test_the_check_set_loads_with_its_kinds_and_counts(items: list[Item]) -> None:
    assert len({i.id for i in items}) == len(items)
    counts = Counter(i.kind for i in items)
    assert set(counts) == set(KINDS)
    assert counts["faithful"] >= 50
    for kind in ALTERED:
        assert counts[kind] >= 20, kind
    assert sum(counts[k] for k in ALTERED) >= 100
    for i in items:
        assert i.expect == ("accept" if i.kind == "faithful" else "reject")
        cited = [int(n) for n in re.findall(r"\[(\d+)\]", i.sentence)]
        assert cited and all(1 <= n <= len(i.passages) for n in cited), i.id
    # faithful sentences over every sample manual, German ones against the German manual
    faithful = [i for i in items if i.kind == "faithful"]
    assert {i.source for i in faithful} == {p.name for p in SAMPLE_DOCS}
    german = [i for i in faithful if i.source.startswith("KS-10")]
    assert len(german) >= 10 and all(detect(i.sentence) == "de" for i in german)
    # an altered sentence is never a faithful one, and its passages are those of what it alters
    by_id = {i.id: i for i in items}
    texts = {i.sentence for i in faithful}
    raw = [json.loads(x) for x in DEFAULT_FILE.read_text(encoding="utf-8").splitlines()]
    for d in raw:
        if d["kind"] != "faithful":
            assert d["sentence"] not in texts, d["id"]
            if d.get("of"):
                assert by_id[d["of"]].passages == by_id[d["id"]].passages, d["id"]


def _extracted_lines() -> dict[str, set[str]]:
    """Each sample manual's lines as a fresh extraction reads them (Markdown heading marks off)."""
    from ingest.extract import extract

    out: dict[str, set[str]] = {}
    for doc in SAMPLE_DOCS:
        text = "\n".join(p.text for p in extract(doc).pages)
        out[doc.name] = {re.sub(r"^#+\s*", "", ln).strip() for ln in text.splitlines()}
    return out


def _index_chunks() -> set[str]:
    current = SAMPLE_INDEX / "CURRENT"
    if not current.is_file():
        return set()
    chunks = SAMPLE_INDEX / "versions" / current.read_text().strip() / "chunks.jsonl"
    if not chunks.is_file():
        return set()
    return {json.loads(x)["text"] for x in chunks.read_text(encoding="utf-8").splitlines()}


def test_every_passage_is_text_of_the_sample_manuals(items: list[Item]) -> None:
    """Each passage is a chunk of the sample index, or every line of it is a line of one sample
    manual as a fresh extraction reads it."""
    lines = _extracted_lines()
    chunks = _index_chunks()
    from_index = 0
    for i in items:
        for p in i.passages:
            if p in chunks:
                from_index += 1
                continue
            want = [ln.strip() for ln in p.splitlines() if ln.strip()]
            assert any(all(ln in have for ln in want) for have in lines.values()), (i.id, p[:80])
    print(f"\n{from_index} passages are chunks of the sample index as they stand")


def test_make_check_set_is_deterministic_and_wrote_the_committed_file(tmp_path: Path) -> None:
    outs = []
    for n in (1, 2):
        out = tmp_path / f"check{n}.jsonl"
        p = subprocess.run(
            [sys.executable, str(SCRIPT), "--out", str(out)], cwd=REPO, capture_output=True, text=True
        )
        assert p.returncode == 0, p.stderr
        outs.append(out.read_bytes())
    assert outs[0] == outs[1] == DEFAULT_FILE.read_bytes()


def test_the_alteration_rules() -> None:
    m = _script()
    assert m.negate("Do not mix oils [1].") == "Mix oils [1]."
    assert m.negate("The pump must not start [1].") == "The pump must start [1]."
    assert m.negate("Release the pressure first [1].") == "Do not release the pressure first [1]."
    assert m.negate("Den Tank nie leer betreiben [1].") == "Den Tank leer betreiben [1]."
    assert m.negate("Check it and never run it [1].", "never") == "Check it and run it [1]."
    with pytest.raises(ValueError):
        m.negate("E-107 means overload [1].")
    assert m.change_number("cool for 15 minutes [1].", True) == "cool for 51 minutes [1]."
    assert m.change_number("within 0.5 s [1].", True) == "within 1.5 s [1]."
    assert m.change_number("E-107: wait 5 min [1].", ["5", "15"]) == "E-107: wait 15 min [1]."
    assert m.change_unit("tighten to 40 N·m [1].", True) == "tighten to 40 bar [1]."
    assert m.change_unit("a 15-minute overlap [1].", True) == "a 15-second overlap [1]."
    assert m.change_unit("3 bar and 5 s [1].", ["s", "min"]) == "3 bar and 5 min [1]."
    with pytest.raises(ValueError):
        m.change_unit("E-107 and Q1 [1].", True)


def _fake_ground(
    answer: str, passages: list[str], same_language: bool = True, min_support: float = 0.5
) -> Grounded:
    """Keeps a sentence holding OK, keeps half of one holding HALF, drops the rest."""
    if "HALF" in answer:
        return Grounded("kept part", [1], dropped=["dropped part"])
    if "OK" in answer:
        return Grounded(answer, [1])
    return Grounded("", [], dropped=[answer])


def test_run_reports_shares_per_kind_and_the_failures() -> None:
    def item(i: str, kind: str, sentence: str) -> Item:
        return Item(i, kind, "accept" if kind == "faithful" else "reject", sentence, ("p",), "a.pdf", 1)

    items = [
        item("f1", "faithful", "OK [1]."),
        item("f2", "faithful", "OK too [1]."),
        item("f3", "faithful", "OK three [1]."),
        item("f4", "faithful", "wrongly dropped [1]."),
        item("n1", "negation", "dropped [1]."),
        item("n2", "negation", "OK but wrong [1]."),
        item("u1", "unit", "dropped [1]."),
        item("u2", "unit", "HALF kept [1]."),
    ]
    r = run(items, ground=_fake_ground)
    assert (r.n, r.faithful, r.altered) == (8, 4, 4)
    assert r.faithful_accepted == 0.75
    assert r.altered_rejected == 0.75  # a sentence kept only in part is not accepted
    assert r.by_kind["faithful"] == {
        "n": 4,
        "expect": "accept",
        "accepted": 0.75,
        "rejected": 0.25,
        "partial": 0,
        "as_expected": 0.75,
    }
    assert r.by_kind["negation"]["as_expected"] == 0.5
    assert r.by_kind["unit"]["partial"] == 1 and r.by_kind["unit"]["rejected"] == 1.0
    assert [(f["id"], f["kind"]) for f in r.failures] == [("f4", "faithful"), ("n2", "negation")]
    assert r.failures[1]["sentence"] == "OK but wrong [1]."
    d = r.to_dict("tiny")
    assert d["file"] == "tiny" and d["targets"] == {"faithful_accepted": 0.90, "altered_rejected": 0.95}


def test_load_refuses_malformed_files(tmp_path: Path) -> None:
    good = {"id": "a", "kind": "faithful", "expect": "accept", "sentence": "S [1].", "passages": ["p"]}
    f = tmp_path / "c.jsonl"
    for bad in (
        {**good, "kind": "other"},
        {**good, "expect": "reject"},
        {**good, "passages": []},
        {k: v for k, v in good.items() if k != "sentence"},
    ):
        f.write_text(json.dumps(good) + "\n" + json.dumps({**bad, "id": "b"}) + "\n")
        with pytest.raises(ValueError, match=":2:"):
            load(f)
    f.write_text(json.dumps(good) + "\n" + json.dumps(good) + "\n")
    with pytest.raises(ValueError, match="duplicate"):
        load(f)


def test_the_real_check_on_the_check_set(items: list[Item], capsys: pytest.CaptureFixture[str]) -> None:
    """Today's ``grounding.ground`` on the whole set: the figures are printed (the lead reports them
    against the targets); only the report's structure is asserted here."""
    r = run(items)
    counts = Counter(i.kind for i in items)
    assert r.n == len(items) and r.faithful == counts["faithful"]
    assert r.altered == sum(counts[k] for k in ALTERED)
    assert set(r.by_kind) == set(KINDS)
    for kind, v in r.by_kind.items():
        assert v["n"] == counts[kind]
        assert 0.0 <= v["accepted"] <= 1.0 and v["accepted"] + v["rejected"] == pytest.approx(1.0)
    assert r.faithful_accepted is not None and r.altered_rejected is not None
    wrong = round((1 - r.faithful_accepted) * r.faithful) + round((1 - r.altered_rejected) * r.altered)
    assert len(r.failures) == wrong
    with capsys.disabled():
        print()
        check_set.print_report(r.to_dict(str(DEFAULT_FILE.relative_to(REPO))))


def test_the_cli_and_eval_report_the_check_set_without_an_index(tmp_path: Path) -> None:
    p = subprocess.run(
        [sys.executable, "-m", "chatbot.check_set", "--json"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert p.returncode == 0, p.stderr
    d = json.loads(p.stdout)
    assert d["n"] == len(load(DEFAULT_FILE)) and "by_kind" in d
    p = subprocess.run(
        [
            sys.executable,
            "-m",
            "chatbot.eval",
            "--index",
            str(tmp_path / "none"),
            "--check-set",
            str(DEFAULT_FILE),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert p.returncode == 0, p.stderr
    assert "| faithful |" in p.stdout and "altered rejected" in p.stdout
    p = subprocess.run(
        [sys.executable, "-m", "chatbot.eval", "--check-set", str(tmp_path / "missing.jsonl")],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert p.returncode == 2 and "missing.jsonl" in p.stderr
