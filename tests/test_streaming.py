"""Nothing unchecked on screen: the model's text streams sentence by sentence, each one only after
the grounding check passed it, and the final answer is exactly the sentences that were streamed.

The answer logic with the scripted double ``FunctionLLM`` against the sample manuals (the real
embedder, FAISS and BM25, the real ``build_app`` wiring), then the same path against the real
llama.cpp server process. What the browser shows while it streams is in test_ui.py.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import SHOTS, app_settings, confident_calibration, free_port

from chatbot.grounding import ground
from chatbot.llm import LLMError, StreamStats
from chatbot.result import AnswerResult, Event
from chatbot.scripted_llm import FunctionLLM, ModelCall
from chatbot.sentences import join_sentences, split_sentences
from chatbot.wiring import AppDeps, build_app
from core.settings import load_settings

KINDS = {"retrieved", "lead", "sentence", "done"}  # no raw model text ("token") ever
INVENTED = "Press the blue RESET button on the HMI [1]."  # the blue RESET button is on the control panel
SUPPORTED = "Check the status LED on the light curtain receiver [1]."
FLIPPED = "Reach into the die area until the ram has stopped completely [1]."  # step 1 says "Do not reach"
# the subject is what is shown, not the timeouts (tests/test_answer.py): patient on a loaded machine
PATIENT = {"first_token_timeout_seconds": 90, "answer_budget_seconds": 150}
REPLY = f"E-104 means the light curtain was interrupted [1]. {INVENTED} {SUPPORTED} {FLIPPED}"


class CutOff(FunctionLLM):
    """Stops like a server whose max_tokens or answer budget ran out (finish_reason length/budget)."""

    def __init__(self, reply: object, reason: str) -> None:
        super().__init__(reply)  # type: ignore[arg-type]
        self.reason = reason

    def stream(self, system: str, user: str, stats: StreamStats | None = None) -> Iterator[str]:
        stats = stats or StreamStats()
        yield from super().stream(system, user, stats)
        stats.finish_reason = self.reason


@pytest.fixture(scope="module")
def scripted(sample_index: Path):
    """``build_app`` with a scripted model whose reply each test sets; confident retrieval (the
    subject here is what happens to the model's text)."""
    script: dict[str, object] = {"reply": ""}

    def reply(call: ModelCall) -> object:
        return script["reply"]

    apps = {
        style: build_app(
            app_settings(sample_index, confident=True, answer_style=style), llm=FunctionLLM(reply)
        )
        for style in ("quote-first", "generate")
    }
    yield script, apps
    for d in apps.values():
        d.close()


def run(scripted: tuple, reply: object, question: str = "What does E-104 mean?", style: str = "quote-first"):
    script, apps = scripted
    script["reply"] = reply
    events = list(apps[style].answerer.stream(question))
    result = events[-1].result
    assert events[-1].kind == "done" and isinstance(result, AnswerResult)
    return events, result


def shown(events: list[Event]) -> list[str]:
    return [e.text for e in events if e.kind == "sentence"]


def generated_part(r: AnswerResult) -> str:
    """The answer without the quoted lead: what the model's sentences became."""
    lead = f"“{r.quote}” [{r.quote_n}]" if r.quote else ""
    return r.answer.replace(lead, "").strip() if lead else r.answer.strip()


def assert_consistent(events: list[Event], r: AnswerResult) -> None:
    assert {e.kind for e in events} <= KINDS
    assert generated_part(r) == join_sentences(shown(events))  # exactly what was streamed, in order
    for s in shown(events):
        assert s in r.answer and s not in r.grounding["dropped_sentences"]


# ------------------------------------------------------------------ the sentence splitter
@pytest.mark.parametrize(
    "text, final, sentences, rest",
    [
        ("Reset Q1. ", False, [], "Reset Q1. "),  # a citation may still follow
        ("Reset Q1. [3] Then", False, ["Reset Q1. [3]"], " Then"),
        ("Reset Q1 [3]. Then", False, ["Reset Q1 [3]."], " Then"),
        ("Reset Q1. [3", False, [], "Reset Q1. [3"),
        ("Steps:\n1. Turn S2 [1].\n2. Press", False, ["Steps:", "1. Turn S2 [1]."], "2. Press"),
        ("Use oil, e.g. ISO VG 46. Then", False, ["Use oil, e.g. ISO VG 46."], " Then"),
        ("Reset Q1 [3].", True, ["Reset Q1 [3]."], ""),
        ("Reset Q1. Open valve", True, ["Reset Q1."], " Open valve"),  # unfinished: the caller decides
        ("按下复位键。然后", False, ["按下复位键。"], "然后"),
    ],
)
def test_split_sentences(text: str, final: bool, sentences: list[str], rest: str) -> None:
    assert split_sentences(text, final) == (sentences, rest)


def test_join_puts_list_items_and_what_follows_a_lead_in_on_their_own_line() -> None:
    assert join_sentences(["A b [1].", "C d [1]."]) == "A b [1]. C d [1]."
    assert join_sentences(["Do this: [1]", "1. Turn S2 [1].", "2. Press RESET [1]."]) == (
        "Do this: [1]\n1. Turn S2 [1].\n2. Press RESET [1]."
    )


# ------------------------------------------------------------------ the answer logic, scripted model
def test_only_sentences_that_pass_are_streamed_and_the_answer_is_exactly_them(scripted) -> None:
    events, r = run(scripted, REPLY)
    assert_consistent(events, r)
    text = " ".join(e.text for e in events if e.text) + r.answer
    assert "on the HMI" not in text and INVENTED in r.grounding["dropped_sentences"]
    # a supported sentence does stream (unless the quote already said it)
    assert any("status LED" in s for s in shown(events)) or "status LED" in r.quote
    assert "Reach into" not in text  # the negation flip of step 1 is never shown
    assert any(s.startswith("Reach into") for s in r.grounding["dropped_sentences"])
    assert r.grounding["generated"].startswith("E-104 means")  # the raw text is recorded, not shown
    # the quote came first, at once, before the model's first sentence
    kinds = [e.kind for e in events]
    assert kinds[:2] == ["retrieved", "lead"] and kinds[-1] == "done"


def test_streaming_piece_by_piece_decides_as_word_by_word(scripted) -> None:
    words, r1 = run(scripted, REPLY)
    chars, r2 = run(scripted, list(REPLY))  # one character per chunk: ends, citations split up
    assert shown(words) == shown(chars) and r1.answer == r2.answer


def test_a_negation_flip_is_never_shown(scripted) -> None:
    for style in ("quote-first", "generate"):
        events, r = run(scripted, f"{SUPPORTED} {FLIPPED}", "How do I reset E-104?", style)
        assert_consistent(events, r)
        assert all("Reach into" not in s for s in shown(events)) and "Reach into" not in r.answer


def test_a_lead_in_is_held_until_a_sentence_passes_and_never_shown_alone(scripted) -> None:
    q = "How do I reset E-104?"
    events, r = run(scripted, f"Reset the fault as follows:\n1. {SUPPORTED}", q, "generate")
    assert_consistent(events, r)
    assert shown(events) == ["Reset the fault as follows: [1]", f"1. {SUPPORTED}"]
    events, r = run(scripted, f"{SUPPORTED}\nReset the fault as follows:", q, "generate")
    assert_consistent(events, r)
    assert all("follows" not in s for s in shown(events)) and "follows" not in r.answer
    assert any("follows" in s for s in r.grounding["dropped_sentences"])


@pytest.mark.parametrize("style", ["quote-first", "generate"])
def test_a_model_that_fails_mid_sentence_leaves_no_half_sentence(scripted, style: str) -> None:
    stall = LLMError("the language model at x did not answer within 20 s")
    events, r = run(scripted, [f"{SUPPORTED} ", "Insert the key into ", stall], style=style)
    assert_consistent(events, r)
    assert r.llm_error and "did not answer" in r.llm_error
    # the supported sentence streams, unless the quote already said it (quote-first quotes E-104's
    # meaning with the reset procedure its lead-in "Reset the fault as follows:" opens)
    said = style == "quote-first" and "status LED" in r.quote
    assert shown(events) == ([] if said else [SUPPORTED])
    half = "Insert the key into"  # the model's unfinished sentence: never shown, never in the answer
    assert r.answer.count(half) == r.quote.count(half), r.answer
    assert not r.abstained and r.citations


@pytest.mark.parametrize("reason", ["length", "budget"])
def test_a_model_cut_off_leaves_no_half_sentence(sample_index: Path, reason: str) -> None:
    llm = CutOff(f"{SUPPORTED} Insert the key into key switch S2", reason)
    with build_app(app_settings(sample_index, confident=True, answer_style="generate"), llm=llm) as d:
        events = list(d.answerer.stream("How do I reset E-104?"))
    r = events[-1].result
    assert r is not None and r.grounding["finish_reason"] == reason
    assert_consistent(events, r)
    assert shown(events) == [SUPPORTED] and "Insert the key" not in r.answer


def test_a_refusal_is_not_streamed_and_the_outcome_stays_a_refusal(scripted) -> None:
    events, r = run(scripted, "The manuals I have do not cover this.", "How do I reset E-104?", "generate")
    assert shown(events) == [] and r.grounding["model_said_not_covered"] is True
    assert r.abstained or r.grounding["reason"].startswith("the model gave no supported answer")
    # a refusal next to a supported sentence: the sentence was shown, so it stays
    events, r = run(
        scripted, f"The manual does not say more. {SUPPORTED}", "How do I reset E-104?", "generate"
    )
    assert_consistent(events, r)
    assert shown(events) == [SUPPORTED] and not r.abstained and r.answer == SUPPORTED


# ------------------------------------------------------------------ the same path, real llama.cpp server
@pytest.mark.parametrize("style", ["generate", "quote-first"])
def test_real_model_streams_only_checked_sentences(sample_index: Path, llm_server, style: str) -> None:
    settings = app_settings(
        sample_index,
        base_url=llm_server.base_url,
        confident=True,
        answer_style=style,
        max_tokens=96,
        **PATIENT,
    )
    with build_app(settings) as d:
        events = list(d.answerer.stream("How do I reset E-104 on the press?"))
        passages = d.retriever.retrieve("How do I reset E-104 on the press?").passages
    r = events[-1].result
    assert r is not None and r.grounding["model_asked"] is True and r.llm_error is None
    assert_consistent(events, r)
    texts = [p.chunk.text for p in passages[: len(r.passages)]]
    min_support = 0.9 if style == "quote-first" else 0.5
    for s in shown(events):  # each streamed sentence passes the check on its own, as shown
        # a lead-in ("follow these steps: [1]") is checked as the statement it makes, as SentenceCheck
        # does, and only shown with the sentence after it
        statement = re.sub(r":((?:\s*\[[^\]]*\])*\s*)$", r".\1", s)
        assert ground(statement, texts, min_support=min_support).text.strip(), s
    assert not shown(events) or not re.search(r":(\s*\[\d+\])*\s*$", shown(events)[-1])
    raw = r.grounding["generated"]
    for d_ in r.grounding["dropped_sentences"]:
        body = re.sub(r"\s*\[\d+\]", "", d_).strip()
        assert all(body not in s for s in shown(events)), (body, raw)


# ------------------------------------------------------------------ what the browser shows while it streams
class Paced(FunctionLLM):
    """The scripted reply, with a pause before each piece: a slow or stalled model."""

    def __init__(self, script: dict[str, Any]) -> None:
        super().__init__(lambda call: script["reply"])
        self.script = script

    def stream(self, system: str, user: str, stats: StreamStats | None = None) -> Iterator[str]:
        for piece in super().stream(system, user, stats):
            time.sleep(float(self.script["delay"]))
            yield piece


def serve(deps: AppDeps) -> Iterator[str]:
    """The chat app (ui.app.build_ui) on a real uvicorn server in this process: the model is the
    one ``deps`` was built with."""
    import uvicorn

    from ui.app import build_ui

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(build_ui(deps), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.2)
    yield url
    server.should_exit = True
    thread.join(20)
    deps.close()


def ui_settings(index: Path, root: Path, **llm: object) -> Any:
    return load_settings(
        None,
        index={"path": str(index)},
        llm={"answer_style": "quote-first", **llm},
        retrieval={"calibration_file": str(confident_calibration(root))},
        ui={
            "cache_dir": str(root / "cache"),
            "feedback_db": str(root / "feedback.sqlite"),
            "rate_per_minute": 600,
            "rate_burst": 50,
        },
    )


@pytest.fixture(scope="module")
def scripted_ui(sample_index: Path, tmp_path_factory: pytest.TempPathFactory):
    script: dict[str, Any] = {"reply": "", "delay": 0.0}
    deps = build_app(ui_settings(sample_index, tmp_path_factory.mktemp("scripted-ui")), llm=Paced(script))
    for url in serve(deps):
        yield url, script, deps


@pytest.fixture(scope="module")
def real_ui(sample_index: Path, llm_server, tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("real-ui")
    deps = build_app(ui_settings(sample_index, root, base_url=llm_server.base_url, max_tokens=64, **PATIENT))
    yield from serve(deps)


# Records the last assistant message on every change of the chat, and when "Ask" was clicked.
RECORD = """() => {
  window.__frames = [];
  document.addEventListener('click', (e) => {
    if (e.target.closest('#send')) window.__t0 = performance.now();
  }, true);
  new MutationObserver(() => {
    const rows = document.querySelectorAll('#chat .message-row.bot-row');
    const m = rows[rows.length - 1];
    if (!m) return;
    const g = m.querySelector('.generated');
    const label = g && g.querySelector('.frame');
    window.__frames.push({
      t: performance.now(), html: m.innerHTML, text: m.innerText,
      quote: !!m.querySelector('blockquote.quote'),
      generated: g ? g.innerText.replace(label ? label.innerText : '', '') : null,
      final: !!m.querySelector('.chips, .abstain'),
    });
  }).observe(document.querySelector('#chat'), {childList: true, subtree: true, characterData: true});
}"""


def record_answer(browser: Any, url: str, question: str) -> tuple[list[dict[str, Any]], float, Any]:
    """(every frame of the streamed answer, the click time, the page)."""
    page = browser.new_page(viewport={"width": 1280, "height": 860})
    page.goto(url + "/", wait_until="load")
    page.wait_for_selector("#question textarea", timeout=60_000)
    page.evaluate(RECORD)
    page.fill("#question textarea", question)
    page.click("#send")
    page.wait_for_function(
        "() => { const r = document.querySelectorAll('#chat .message-row.bot-row'); "
        "return r.length && r[r.length-1].querySelector('.chips, .abstain'); }",
        timeout=120_000,
    )
    page.wait_for_timeout(300)
    frames, t0 = page.evaluate("() => [window.__frames, window.__t0]")
    assert frames and frames[-1]["final"], frames[-1:]
    return frames, float(t0), page


def _words(text: str | None) -> str:
    return " ".join((text or "").split())


def _body(sentence: str) -> str:
    return re.sub(r"\s*\[\d+\]", "", sentence).strip().rstrip(".:")


def assert_no_unchecked_frame(frames: list[dict[str, Any]], r: AnswerResult) -> None:
    """No frame holds raw model text or a sentence the check dropped; every frame's generated
    text is the start of the final one."""
    final = _words(frames[-1]["generated"])
    # (a dropped sentence that only repeats the manual's words is on screen as the manual's words)
    dropped = [_body(d) for d in r.grounding["dropped_sentences"] if _body(d) not in frames[-1]["text"]]
    for f in frames:
        assert 'class="streaming"' not in f["html"]
        assert final.startswith(_words(f["generated"])), (f["generated"], final)
        for d in dropped:
            assert d not in f["text"], (d, f["text"])


def test_browser_shows_only_checked_sentences_while_streaming(scripted_ui, browser) -> None:
    url, script, deps = scripted_ui
    q = "What does E-104 mean?"
    script.update(reply=f"{REPLY} Reset the fault as follows:", delay=0.0)
    expected = deps.answerer.answer(q)  # the same question, the same decisions
    assert INVENTED in expected.grounding["dropped_sentences"]
    script["delay"] = 0.08
    frames, _, page = record_answer(browser, url, q)
    assert_no_unchecked_frame(frames, expected)
    assert all("on the HMI" not in f["text"] for f in frames)
    assert any(f["quote"] and not f["final"] for f in frames)  # the quote came first
    if generated_part(expected):  # what passed was on screen, framed as generated, before the end
        assert any(f["generated"] and not f["final"] for f in frames)
        assert _words(frames[-1]["generated"]) == _words(generated_part(expected).replace("\n", " "))
    page.close()


def test_a_stalled_model_shows_the_quote_within_a_second_and_nothing_unchecked(scripted_ui, browser) -> None:
    url, script, _ = scripted_ui
    script.update(
        reply=f"{INVENTED} Then call the night shift plumber", delay=0.6
    )  # ~5 s of a crawling model
    frames, t0, page = record_answer(browser, url, "How do I reset E-104?")
    first_quote = next(f for f in frames if f["quote"])
    assert first_quote["t"] - t0 < 1000, first_quote["t"] - t0
    assert frames[-1]["t"] - first_quote["t"] > 3000  # the quote was there while the model crawled
    for f in frames:
        assert "on the HMI" not in f["text"] and "plumber" not in f["text"], f["text"]
        assert 'class="streaming"' not in f["html"]
    page.close()


def test_how_do_i_reset_e104_quotes_the_whole_procedure_cited(scripted_ui, browser) -> None:
    url, script, _ = scripted_ui
    script.update(reply="", delay=0.0)
    _, _, page = record_answer(browser, url, "How do I reset E-104?")
    quote = page.query_selector_all("#chat .message-row.bot-row")[-1].query_selector("blockquote.quote")
    assert quote is not None
    text = _words(quote.inner_text())
    steps = [
        "1. Do not reach into the die area until the ram has stopped completely.",
        "2. Find out why the light curtain was interrupted.",
        "3. Check the status LED on the light curtain receiver.",
        "4. Insert the key into key switch S2 and turn it to RESET.",
        "5. Press the blue RESET button, then release the key switch.",
        "6. Start the next stroke with the two-hand control.",
    ]
    for step in steps:
        assert step in text, (step, text)
    cite = quote.query_selector("a.cite")
    assert cite is not None and cite.inner_text() == "[1]"
    assert "HP-200" in page.inner_text("#chat .chips")
    # one step per line, as the manual prints them
    lines = [x.strip() for x in quote.inner_text().splitlines() if x.strip()]
    assert sum(1 for x in lines if re.match(r"^\d\. ", x)) >= 6, lines
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "e104_procedure.png"))
    page.close()


def test_real_model_frames_never_hold_text_absent_from_the_final_answer(real_ui, browser) -> None:
    frames, _, page = record_answer(browser, real_ui, "How do I reset E-104 on the press?")
    final = _words(frames[-1]["generated"])
    assert any(f["quote"] and not f["final"] for f in frames)
    for f in frames:
        assert 'class="streaming"' not in f["html"]
        assert final.startswith(_words(f["generated"])), (f["generated"], final)
    page.close()
