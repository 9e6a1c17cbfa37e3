"""The answer logic's branches, table-driven, with a scripted model (``FunctionLLM``).

Fast: a small manual written here, the deterministic 'hash' embedder, real FAISS and BM25, the
real ``build_app`` wiring with the double where a served model goes. The same paths run against
a real llama.cpp server in test_answer.py (the OpenAI API contract: streaming, timeouts, broken
streams); here the model's text is chosen, so every branch of what the operator is shown is
reached on purpose.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from conftest import make_settings

from chatbot.confidence import FEATURES, Calibration
from chatbot.llm import LLMError
from chatbot.result import AnswerResult
from chatbot.scripted_llm import FunctionLLM, ModelCall
from chatbot.wiring import build_app
from core.settings import Settings, load_settings

MANUAL = """# Press HX-1 Operator Manual

## Fault codes

E-201 Oil pressure low. Check the pump coupling and the suction filter.

E-202 Guard door open. Close the guard door and press RESET.

## Relieving pressure

WARNING: Release the pressure before opening any fitting. Oil under pressure can penetrate skin.

Open valve V4 to relieve the accumulator. Wait until gauge P1 shows 0 bar.

## Belt tension

Adjust the belt tension with screw T3 until the belt deflects 12 mm at a force of 50 N.
"""


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    from ingest.pipeline import run_ingest

    root = tmp_path_factory.mktemp("logic")
    docs = root / "docs"
    docs.mkdir()
    (docs / "HX-1_Manual.md").write_text(MANUAL)
    settings = make_settings(root, "hash")
    run_ingest([docs], settings)
    return settings


def fixed_confidence(folder: Path, p: float) -> Path:
    """A calibration whose confidence is ``p`` whatever was found (answer at 0.9, decline below 0.1)."""
    f = folder / f"calibration-{p}.json"
    z = math.log(p / (1 - p))
    n = len(FEATURES)
    Calibration([0.0] * n, [1.0] * n, [0.0] * n, z, answer_at=0.9, decline_below=0.1).save(f)
    return f


def _settings(index: Settings, style: str, confidence: float = 0.999) -> Settings:
    """Retrieval is always confident unless a case asks otherwise: the branches under test are the model's."""
    return load_settings(
        None,
        index={"path": str(index.index.path)},
        embedding={"backend": "hash", "model": "hash-384"},
        retrieval={"calibration_file": str(fixed_confidence(Path(index.index.path).parent, confidence))},
        llm={"answer_style": style},
    )


def ask(index: Settings, question: str, reply: object, style: str = "generate", **kw: object) -> tuple:
    llm = FunctionLLM(reply)  # type: ignore[arg-type]
    confidence = float(kw.pop("confidence", 0.999))  # type: ignore[arg-type]
    with build_app(_settings(index, style, confidence), llm=llm) as deps:
        result = deps.answerer.answer(question, **kw)
    return result, llm


@dataclass
class Case:
    name: str
    question: str
    reply: object
    check: Callable[[AnswerResult, FunctionLLM], None]
    style: str = "generate"
    kw: dict = field(default_factory=dict)


def _gives_up_on_code(r: AnswerResult, llm: FunctionLLM) -> None:
    # "not in the manuals" would be false: the row of the very code asked about is quoted
    assert r.outcome == "answer" and not r.abstained
    assert "E-201 Oil pressure low" in r.answer and r.citations
    assert r.grounding["reason"].startswith("the model gave no supported answer")


def _gives_up(r: AnswerResult, llm: FunctionLLM) -> None:
    assert r.abstained and r.outcome == "not_in_manuals" and not r.citations
    assert r.grounding["model_said_not_covered"] is True


def _foreign_citation(r: AnswerResult, llm: FunctionLLM) -> None:
    assert r.grounding["removed_citations"] == [7]
    assert "[7]" not in r.answer and "screw T3" in r.answer
    assert [c.n for c in r.citations] and all(c.n <= len(llm.calls[0].sources) for c in r.citations)


def _inverted_warning(r: AnswerResult, llm: FunctionLLM) -> None:
    assert "Do not release" not in r.answer
    assert any("Do not release" in s for s in r.grounding["dropped_sentences"])


def _invented_value(r: AnswerResult, llm: FunctionLLM) -> None:
    assert "5 bar" not in r.answer and "valve V4" in r.answer
    assert any("5 bar" in s for s in r.grounding["dropped_sentences"])


def _other_language(r: AnswerResult, llm: FunctionLLM) -> None:
    assert r.lang == "de" and not r.abstained
    assert "Schraube T3" in r.answer and "[1]" in r.answer  # a translation cannot be word-checked ...
    assert "99 mm" not in r.answer  # ... but its numbers and citations still are
    assert "Deutsch" in llm.calls[-1].system or "German" in llm.calls[-1].system


def _empty(r: AnswerResult, llm: FunctionLLM) -> None:
    assert r.outcome == "answer" and "E-202 Guard door open" in r.answer


def _stalls(r: AnswerResult, llm: FunctionLLM) -> None:
    # the manual's lines, cited, with the model's failure as a note; never a half sentence
    assert r.llm_error and "did not answer" in r.llm_error
    assert r.answer.startswith("“") and "valve V4" in r.answer and "Open valve" not in r.answer.split("”")[1]
    assert r.citations and not r.abstained


def _unreachable(r: AnswerResult, llm: FunctionLLM) -> None:
    assert r.llm_error == "the language model server at x is not reachable"
    assert "E-201" in r.answer and r.citations


def _bypass(r: AnswerResult, llm: FunctionLLM) -> None:
    assert "wedge" not in r.answer.lower()


def _quote_first_keeps_supported(r: AnswerResult, llm: FunctionLLM) -> None:
    m = re.match(r"“(.*?)” \[\d+\]\n?(.*)", r.answer, re.S)  # the quote may span lines (heading, rows)
    assert m is not None and "screw T3" in m.group(1)
    model_part = m.group(2)
    assert model_part == "" or "[" in model_part  # any model wording kept is cited
    assert "the belt is made of kevlar" not in r.answer.lower()


def _not_asked_in_other_language(r: AnswerResult, llm: FunctionLLM) -> None:
    assert llm.calls == [] and r.grounding["model_asked"] is False
    assert "E-202" in r.answer and r.citations


def _low_confidence(r: AnswerResult, llm: FunctionLLM) -> None:
    assert r.outcome == "low_confidence" and r.abstained and llm.calls == []
    assert r.passages  # the closest passages are still shown, said to be only the closest
    caveat, _, quote = r.answer.partition("\n")
    assert "closest passages" in caveat and "do not cover" not in r.answer
    assert quote.startswith("“") and quote.endswith("]")  # the closest lines, quoted and numbered


def _not_in_manuals(r: AnswerResult, llm: FunctionLLM) -> None:
    assert r.outcome == "not_in_manuals" and r.abstained and llm.calls == [] and r.citations == []
    assert r.answer == "The manuals I have do not cover this."


def _other_language_gets_the_closest_passages(r: AnswerResult, llm: FunctionLLM) -> None:
    # the words of a German question cannot match the English manual word for word: their absence
    # is no evidence that the manual does not cover it
    assert r.outcome == "low_confidence" and r.passages
    assert [c for c in llm.calls if not c.system.startswith("Translate")] == []  # only asked to translate
    assert "nächstliegenden Stellen" in r.answer


def _named_code_is_never_not_in_manuals(r: AnswerResult, llm: FunctionLLM) -> None:
    assert r.outcome == "low_confidence" and "E-201" in r.passages[0].text


CASES = [
    Case(
        "gives up on a named code",
        "What does E-201 mean?",
        "The manuals I have do not cover this.",
        _gives_up_on_code,
    ),
    Case("gives up", "How do I adjust the belt tension?", "The manuals I have do not cover this.", _gives_up),
    Case(
        "cites a source it was not given",
        "How do I adjust the belt tension?",
        "Adjust the belt tension with screw T3 until the belt deflects 12 mm at 50 N [7].",
        _foreign_citation,
    ),
    Case(
        "inverts a warning",
        "How do I relieve the pressure?",
        "Do not release the pressure before opening any fitting [1]. Open valve V4 to relieve the accumulator [1].",
        _inverted_warning,
    ),
    Case(
        "invents a value",
        "How do I relieve the pressure?",
        "Open valve V4 to relieve the accumulator [1]. Wait until gauge P1 shows 5 bar [1].",
        _invented_value,
    ),
    Case(
        "answers in the operator's language",
        "Wie stelle ich die Riemenspannung ein?",
        "Stellen Sie die Riemenspannung mit der Schraube T3 ein, bis der Riemen 12 mm durchhängt [1]. "
        "Der Riemen darf höchstens 99 mm durchhängen [1].",
        _other_language,
    ),
    Case("returns nothing", "What does E-202 mean?", "", _empty),
    Case(
        "stalls mid-answer",
        "How do I relieve the pressure?",
        ["Open valve ", LLMError("the language model at x did not answer within 20 s")],
        _stalls,
    ),
    Case(
        "is unreachable",
        "What does E-201 mean?",
        LLMError("the language model server at x is not reachable"),
        _unreachable,
    ),
    Case(
        "advises defeating a safety device",
        "What does E-202 mean?",
        "Close the guard door and press RESET [1]. You can also wedge the guard door switch closed [1].",
        _bypass,
    ),
    Case(
        "quote-first: only supported wording follows the quote",
        "How do I adjust the belt tension?",
        "The belt is made of kevlar and lasts ten years. Adjust the tension with screw T3 [1].",
        _quote_first_keeps_supported,
        style="quote-first",
    ),
    Case(
        "quote-first: the small model is not asked in another language",
        "Was bedeutet Fehler E-202?",
        "anything",
        _not_asked_in_other_language,
        style="quote-first",
    ),
    Case(
        "low retrieval confidence: the model is never asked",
        "How long is the warranty on this machine?",
        "anything",
        _low_confidence,
        kw={"confidence": 0.5},
    ),
    Case(
        "confident that nothing relevant exists: not in the manuals",
        "How long is the warranty on this machine?",
        "anything",
        _not_in_manuals,
        kw={"confidence": 0.01},
    ),
    Case(
        "a question in another language than the manual: the closest passages, not a refusal",
        "Wie lange gilt die Garantie für diese Maschine?",
        "anything",
        _other_language_gets_the_closest_passages,
        kw={"confidence": 0.01},
    ),
    Case(
        "a named code found verbatim is never 'not in the manuals'",
        "E-201?",
        "anything",
        _named_code_is_never_not_in_manuals,
        kw={"confidence": 0.01},
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_answer_branch(index: Settings, case: Case) -> None:
    result, llm = ask(index, case.question, case.reply, style=case.style, **case.kw)
    case.check(result, llm)


def test_the_model_sees_numbered_sources_and_the_question(index: Settings) -> None:
    seen: list[ModelCall] = []

    def reply(call: ModelCall) -> str:
        seen.append(call)
        first = call.sources[1].splitlines()[0]
        return f"{first} [1]"

    r, _ = ask(index, "What does E-202 mean?", reply)
    assert seen and "E-202" in seen[0].user
    assert 1 in seen[0].sources and "E-202" in " ".join(seen[0].sources.values())
    assert r.citations and r.citations[0].n == 1 and not r.abstained


def test_function_llm_streams_and_counts(index: Settings) -> None:
    from chatbot.llm import StreamStats

    stats = StreamStats()
    llm = FunctionLLM("one two three")
    assert list(llm.stream("s", "u", stats)) == ["one ", "two ", "three"]
    assert stats.finish_reason == "stop" and stats.ttft_ms is not None and len(llm.calls) == 1
    assert Path(index.index.path).is_dir()
