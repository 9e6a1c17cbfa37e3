"""The calibration command: deterministic, its output loads, and the app uses it.

Real components: the sample manuals indexed with the real model, a second small index (a
mixer manual written here) whose questions are unanswerable against the first, and back.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import make_settings

from chatbot.calibrate import main as calibrate
from chatbot.confidence import FEATURES, Calibration, Evidence
from chatbot.wiring import build_app
from core.settings import load_settings

MIXER = """# Mixer MX-7 Operator Manual

## Faults

M-42 Agitator shear pin broken. Replace the shear pin (part 7-220) after locking out the drive.

M-43 Lid switch open. Close the lid until the switch clicks; the mixer will not start with the lid open.

## Cleaning

Clean the bowl after every batch with warm water at 40 °C. Never use a pressure washer on the gearbox.
"""


@pytest.fixture(scope="module")
def sets(
    sample_index: Path, sample_facts, tmp_path_factory: pytest.TempPathFactory, real_embedder
) -> list[str]:
    from ingest.pipeline import run_ingest

    root = tmp_path_factory.mktemp("calibrate")
    docs = root / "mixer-docs"
    docs.mkdir()
    (docs / "MX-7.md").write_text(MIXER)
    settings = make_settings(root, "sentence-transformers")
    run_ingest([docs], settings, embedder=real_embedder)
    mixer_qa = root / "mixer.jsonl"
    rows = [
        ("m1", "What does fault M-42 mean on the mixer?"),
        ("m2", "The mixer will not start, M-43 is shown. What now?"),
        ("m3", "How warm should the cleaning water for the bowl be?"),
    ]
    mixer_qa.write_text(
        "".join(
            json.dumps({"id": i, "question": q, "source": "MX-7.md", "pages": [], "lang": "en"}) + "\n"
            for i, q in rows
        )
    )
    sample_qa = root / "sample.jsonl"
    sample_qa.write_text(
        "".join(
            json.dumps(
                {
                    "id": f"s{i}",
                    "question": f["question"],
                    "source": f["source"],
                    "pages": [f["page"]] if f["page"] else [],
                    "lang": f["lang"],
                }
            )
            + "\n"
            for i, f in enumerate(sample_facts)
        )
    )
    return [f"samples={sample_index}:{sample_qa}", f"mixer={settings.index.path}:{mixer_qa}"]


def test_calibration_is_deterministic_and_loads(sets: list[str], tmp_path: Path, capsys) -> None:
    args = [x for s in sets for x in ("--set", s)]
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    assert calibrate([*args, "--out", str(a)]) == 0
    assert calibrate([*args, "--out", str(b)]) == 0
    assert a.read_bytes() == b.read_bytes()
    cal = Calibration.load(a)
    assert cal.features == list(FEATURES) and 0.0 <= cal.decline_below <= cal.answer_at <= 1.0
    out = capsys.readouterr().out
    assert "| samples: " in out and "foreign:mixer" in out and "| tune |" in out and "| check |" in out

    # the app loads the written file and decides with it
    index = sets[0].split("=", 1)[1].split(":", 1)[0]
    settings = load_settings(None, index={"path": index}, retrieval={"calibration_file": str(a)})
    with build_app(settings, with_llm=False) as deps:
        assert deps.answerer.calibration == cal
        r = deps.answerer.answer("What does fault code E-107 mean on the HP-200 press?")
        assert 0.0 <= r.confidence <= 1.0 and r.passages


def test_fitting_the_weights_prints_them(sets: list[str], tmp_path: Path, capsys) -> None:
    assert (
        calibrate(
            [*[x for s in sets for x in ("--set", s)], "--fit-weights", "--out", str(tmp_path / "c.json")]
        )
        == 0
    )
    assert "fitted fusion weights" in capsys.readouterr().out
    assert Calibration.load(tmp_path / "c.json").fitted["weights"]["rrf_k"] in (5, 15, 30, 60)


def test_a_damaged_calibration_file_is_a_clear_error(tmp_path: Path, sample_index: Path) -> None:
    from core.errors import UserError

    bad = tmp_path / "bad.json"
    bad.write_text('{"mean": [1, 2]}')
    settings = load_settings(
        None, index={"path": str(sample_index)}, retrieval={"calibration_file": str(bad)}
    )
    with pytest.raises(UserError, match=r"bad\.json.*python -m chatbot\.calibrate"):
        build_app(settings, with_llm=False)


def test_the_answer_level_for_cross_lingual_results_is_fitted_on_them_alone() -> None:
    """Two wrong cross-lingual answers at p 0.8 must not lift the level of same-language questions."""
    from chatbot.calibrate import answer_level_other_language, thresholds

    p = np.array([0.9, 0.8, 0.7, 0.6, 0.85, 0.8, 0.8, 0.3])
    y = np.array([1, 1, 1, 0, 1, 0, 0, 0], dtype=float)  # top passage on a gold page
    answerable = np.ones(8, dtype=bool)
    group = ["en"] * 4 + ["de"] * 4
    same = np.array([True] * 4 + [False] * 4)
    answer_at, decline_below = thresholds(p, y, answerable, group, same)
    other = answer_level_other_language(p, y, answerable, group, same)
    assert 0.6 < answer_at <= 0.7  # only the same-language questions: 0.6 would answer the wrong one
    assert other is not None and 0.8 < other <= 0.85  # cross-lingual: 0.8 answers two wrong ones
    assert decline_below <= answer_at
    assert answer_level_other_language(p, y, answerable, group, np.ones(8, dtype=bool)) is None

    n = len(FEATURES)
    cal = Calibration([0.0] * n, [1.0] * n, [0.0] * n, 0.0, answer_at=0.7, decline_below=0.0)
    cal.answer_at_other_language = 0.85
    same_ev = Evidence(dict.fromkeys(FEATURES, 1.0))
    other_ev = Evidence({**dict.fromkeys(FEATURES, 1.0), "same_language": 0.0})
    assert cal.outcome(0.8, same_ev) == "answer" and cal.outcome(0.8, other_ev) == "low_confidence"
