"""The chat UI in a real headless Chromium (Debian's, driven by Playwright), plus HTTP-level checks.

Screenshots go to artifacts/screenshots/ (kept by CI as test artifacts).
"""

from __future__ import annotations

import csv
import http.server
import json
import shutil
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from conftest import MANUALS, REPO, SAMPLE_DOCS, SHOTS, UIProcess, free_port

_free_port = free_port


class _Static(threading.Thread):
    """An HMI page on its own origin that frames the app."""

    def __init__(self, app_url: str) -> None:
        super().__init__(daemon=True)
        self.port = _free_port()
        page = (
            f'<html><body style="margin:0"><h3 id="hmi">HMI press line 2</h3>'
            f'<iframe id="assistant" src="{app_url}/?embed=1&equipment=press" width="800" height="440" '
            'style="border:0"></iframe></body></html>'
        ).encode()

        class H(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(page)))
                self.end_headers()
                self.wfile.write(page)

            def log_message(self, *a: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), H)

    def run(self) -> None:
        self.server.serve_forever()

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@pytest.fixture(scope="module")
def hmi_pages():
    pages = {"allowed": None, "blocked": None}
    yield pages
    for p in pages.values():
        if p is not None:
            p.server.shutdown()


@pytest.fixture(scope="module")
def ui(tmp_path_factory: pytest.TempPathFactory, llm_server, real_embedder, hmi_pages):
    """`python -m ui` as a real process on its own index copy."""
    from conftest import make_settings

    from ingest.pipeline import run_ingest

    root = tmp_path_factory.mktemp("ui")
    docs = root / "manuals"
    shutil.copytree(MANUALS, docs)
    settings = make_settings(root, "sentence-transformers")
    run_ingest([docs], settings, embedder=real_embedder)
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    allowed = _Static(url)
    blocked = _Static(url)
    hmi_pages["allowed"], hmi_pages["blocked"] = allowed, blocked
    allowed.start()
    blocked.start()
    env = {
        "OPASSIST_LLM__BASE_URL": llm_server.base_url,
        "OPASSIST_LLM__ANSWER_STYLE": "quote-first",
        "OPASSIST_LLM__MAX_TOKENS": "64",
        "OPASSIST_UI__FRAME_ANCESTORS": json.dumps(["'self'", allowed.origin]),
        "OPASSIST_UI__FEEDBACK_DB": str(root / "feedback.sqlite"),
        "OPASSIST_UI__CACHE_DIR": str(root / "cache"),
        "OPASSIST_UI__CONCURRENCY": "4",
        # the tests stand in for a reverse proxy: each "operator" sends its own X-Forwarded-For
        "OPASSIST_UI__TRUSTED_PROXIES": json.dumps(["127.0.0.1"]),
        "OPASSIST_RETRIEVAL__RELOAD_SECONDS": "0.5",
    }
    proc = UIProcess(settings.index.path, env, root / "ui.log", port=port)
    yield {"url": proc.url, "root": root, "docs": docs, "settings": settings, "env": env}
    proc.stop()


def _ask(page, question: str, timeout: float = 120_000) -> None:
    page.fill("#question textarea", question)
    page.click("#send")
    page.wait_for_function(
        "() => { const m = document.querySelectorAll('#chat .message'); return m.length && "
        "m[m.length-1].querySelector('.chips, .abstain'); }",
        timeout=timeout,
    )


# ------------------------------------------------------------------ the chat in a browser
def test_ask_see_streamed_answer_click_citation_see_page(ui, browser) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 860})
    page.goto(ui["url"] + "/", wait_until="load")
    page.wait_for_selector("#question textarea", timeout=60_000)
    seen: list[str] = []
    page.fill("#question textarea", "What does fault E-107 mean on the press?")
    page.click("#send")
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # watch the answer arrive in stages
        txt = page.evaluate(
            "() => { const m = document.querySelectorAll('#chat .message'); "
            "return m.length ? m[m.length-1].innerText : ''; }"
        )
        if txt and (not seen or seen[-1] != txt):
            seen.append(txt)
        if page.query_selector("#chat .chips"):
            break
        time.sleep(0.05)
    final = page.inner_text("#chat")
    assert "E-107" in final and "Sources:" in final
    assert len(seen) >= 2, seen  # intermediate states were shown before the final answer
    page.screenshot(path=str(SHOTS / "chat.png"))
    page.click("#chat .answer a.cite >> nth=0")
    page.wait_for_function(
        "() => document.querySelector('#source-info')?.innerText.includes('page 7')", timeout=30_000
    )
    page.wait_for_selector("#page-image img", timeout=30_000)
    info = page.inner_text("#source-info")
    assert "HP-200_Hydraulic_Press_Manual.pdf" in info and "page 7" in info
    assert page.query_selector("#source-info mark") is not None  # the cited text is highlighted
    img = page.query_selector("#page-image img")
    assert img is not None and img.bounding_box()["height"] > 100
    link = page.get_attribute("#source-info a.open-pdf", "href")
    assert link and link.startswith("/files/") and link.endswith("#page=7")
    r = httpx.get(ui["url"] + link.split("#")[0])
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    page.screenshot(path=str(SHOTS / "chat_with_source.png"))
    page.close()


def test_safety_notes_are_shown_distinctly(ui, browser) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 860})
    page.goto(ui["url"] + "/", wait_until="load")
    page.wait_for_selector("#question textarea", timeout=60_000)
    _ask(page, "How do I change the die on the HP-200 press?")
    box = page.query_selector("#chat .safety-danger")
    assert box is not None and "DANGER" in box.inner_text()
    bg = page.evaluate("(el) => getComputedStyle(el).backgroundColor", box)
    assert bg == "rgb(176, 0, 32)"
    page.screenshot(path=str(SHOTS / "safety.png"))
    page.close()


@pytest.mark.parametrize(("w", "h"), [(800, 480), (1024, 600)])
def test_embed_mode_on_panel_sizes(ui, browser, w: int, h: int) -> None:
    page = browser.new_page(viewport={"width": w, "height": h})
    page.goto(ui["url"] + "/?embed=1&equipment=conveyor", wait_until="load")
    page.wait_for_selector("#question textarea", timeout=60_000)
    page.wait_for_function("() => document.body.classList.contains('embed')")
    assert not page.is_visible("#header")
    assert page.query_selector("footer") is None or not page.is_visible("footer")
    for sel in ("#send", "#question textarea"):
        bb = page.query_selector(sel).bounding_box()
        assert bb["height"] >= 44, (sel, bb)
    scroll_w = page.evaluate("() => document.documentElement.scrollWidth")
    assert scroll_w <= w + 1  # nothing wider than the panel
    _ask(page, "How do I test the emergency stop pull cord?")
    text = page.inner_text("#chat")
    assert "CV-50" in text  # equipment=conveyor limited retrieval to the conveyor's documents
    assert "HP-200" not in text
    cite = page.query_selector("#chat a.cite")
    assert cite is not None and cite.bounding_box()["height"] >= 44
    page.screenshot(path=str(SHOTS / f"embed_{w}x{h}.png"))
    page.close()


def test_iframe_from_allowed_origin_shows_app_and_other_origin_is_blocked(ui, browser, hmi_pages) -> None:
    csp = httpx.get(ui["url"] + "/").headers["content-security-policy"]
    assert csp == f"frame-ancestors 'self' {hmi_pages['allowed'].origin}"
    results = {}
    for name in ("allowed", "blocked"):
        page = browser.new_page(viewport={"width": 820, "height": 520})
        page.goto(hmi_pages[name].origin + "/", wait_until="load")
        page.wait_for_selector("#hmi")
        frame = None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            frame = next((f for f in page.frames if f != page.main_frame), None)
            if frame is not None and frame.url.startswith("http") and name == "allowed":
                try:
                    frame.wait_for_selector("#question textarea", timeout=2000)
                    break
                except Exception:
                    pass
            elif frame is not None and name == "blocked":
                time.sleep(3)
                break
            time.sleep(0.25)
        assert frame is not None
        has_app = False
        try:
            has_app = frame.query_selector("#question textarea") is not None
        except Exception:
            has_app = False
        results[name] = has_app
        page.screenshot(path=str(SHOTS / f"iframe_{name}.png"))
        page.close()
    assert results == {"allowed": True, "blocked": False}


# ------------------------------------------------------------------ HTTP, API, feedback, limits
def test_healthz_and_hot_reload_of_a_new_index_version(ui, real_embedder) -> None:
    from ingest.pipeline import run_ingest

    h1 = httpx.get(ui["url"] + "/healthz").json()
    assert h1["status"] == "ok" and h1["llm"]["reachable"] is True
    assert h1["index"]["documents"] == len(SAMPLE_DOCS) and h1["index"]["chunks"] > 40
    (ui["docs"] / "mixer.md").write_text(
        "# Mixer MX-7\n\nFault M-42 means the agitator shear pin is broken.\n"
    )
    run_ingest([ui["docs"]], ui["settings"], embedder=real_embedder)
    time.sleep(1.0)
    h2 = httpx.get(ui["url"] + "/healthz").json()
    assert (
        h2["index"]["version"] != h1["index"]["version"] and h2["index"]["documents"] == len(SAMPLE_DOCS) + 1
    )


def test_only_indexed_files_are_served(ui) -> None:
    for path in (
        "/files/../../etc/passwd",
        "/files/%2e%2e%2fetc%2fpasswd",
        "/files/" + "0" * 64,
        "/files/notahash",
        "/files/..%2F..%2Fpyproject.toml",
    ):
        r = httpx.get(ui["url"] + path)
        assert r.status_code == 404, path
        assert b"root:" not in r.content


def test_feedback_is_stored_and_exported(ui, browser, tmp_path: Path) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 860})
    page.goto(ui["url"] + "/", wait_until="load")
    page.wait_for_selector("#question textarea", timeout=60_000)
    _ask(page, "What is the rated force of the HP-200?")
    page.click("#chat button[aria-label='Dislike'] >> nth=-1")
    page.fill("#comment textarea", "Please also give the force in tonnes.")
    page.click("#send-comment")
    db = ui["root"] / "feedback.sqlite"
    deadline = time.monotonic() + 20
    rows: list[dict] = []
    while time.monotonic() < deadline:
        out = tmp_path / "fb.csv"
        r = subprocess.run(
            [sys.executable, "-m", "ui.feedback", "export", "--db", str(db), "--out", str(out)],
            cwd=REPO,
            capture_output=True,
            text=True,
        )
        if r.returncode == 0:
            rows = list(csv.DictReader(out.open()))
            if rows and rows[-1]["comment"]:
                break
        time.sleep(0.5)
    assert rows, "no feedback stored"
    last = rows[-1]
    assert last["rating"] == "-1" and "tonnes" in last["comment"]
    assert "rated force" in last["question"] and last["index_version"].startswith("v")
    assert json.loads(last["citations"])[0]["page"] == 3
    page.close()


def _operator(url: str, address: str):
    """A gradio client standing for one operator's panel behind the (trusted) proxy."""
    from gradio_client import Client

    return Client(url + "/", verbose=False, headers={"X-Forwarded-For": address})


def test_twenty_parallel_sessions_each_get_their_own_answer(ui) -> None:
    codes = [f"E-{n}" for n in range(101, 116)] + [f"AL-{n:02d}" for n in range(1, 6)]

    def one(i_code: tuple[int, str]) -> tuple[str, dict]:
        i, code = i_code
        c = _operator(ui["url"], f"10.1.0.{i + 1}")  # twenty panels, twenty addresses
        return code, c.predict(f"What does fault {code} mean?", "", "", api_name="/ask")

    with ThreadPoolExecutor(20) as pool:
        results = list(pool.map(one, enumerate(codes)))
    assert len(results) == 20
    for code, out in results:
        assert out["outcome"] != "not_in_manuals", code  # an answer, or the closest lines quoted
        assert code in out["answer"] or any(code in c["text"] for c in out["citations"]), (
            code,
            out["answer"][:200],
        )


def test_question_length_cap_and_per_client_rate_limit(ui) -> None:
    """The limit counts per client address: a flood from one panel is cut off, opening new
    browser sessions from that panel does not reset it, and another panel is not affected."""
    flood = _operator(ui["url"], "10.2.0.1")
    with pytest.raises(Exception, match="too long"):
        flood.predict("x" * 600, "", "", api_name="/ask")
    jobs = [flood.submit("What does E-101 mean?", "", "", api_name="/ask") for _ in range(10)]  # all at once
    errors = 0
    for job in jobs:
        try:
            job.result(timeout=300)
        except Exception as exc:
            assert "Too many questions" in str(exc)
            errors += 1
    assert errors >= 3  # the burst (5) was used up by one client
    fresh_session = _operator(ui["url"], "10.2.0.1")  # same panel, new session: still limited
    again = [fresh_session.submit("What does E-103 mean?", "", "", api_name="/ask") for _ in range(3)]
    refused = 0
    for job in again:  # at most one token (one per 6 s) came back since the flood
        try:
            job.result(timeout=300)
        except Exception as exc:
            assert "Too many questions" in str(exc)
            refused += 1
    assert refused >= 2
    other = _operator(ui["url"], "10.2.0.2")  # another operator is not affected
    out = other.predict("What does E-102 mean?", "", "", api_name="/ask")
    assert "E-102" in out["answer"] or any("E-102" in c["text"] for c in out["citations"])


# ------------------------------------------------------------------ the library and equipment tags
def test_library_lists_the_manuals_with_their_machines_and_opens_a_page(ui, browser) -> None:
    docs = httpx.get(ui["url"] + "/healthz").json()["index"]["documents"]  # another test may add one
    page = browser.new_page(viewport={"width": 1280, "height": 860})
    page.goto(ui["url"] + "/library", wait_until="load")
    rows = page.query_selector_all("tr.doc")
    assert len(rows) == docs >= len(SAMPLE_DOCS)
    by_file = {r.query_selector(".muted").inner_text(): r.inner_text() for r in rows}
    assert "press" in by_file["HP-200_Hydraulic_Press_Manual.pdf"]
    assert (
        "conveyor" in by_file["CV-50_Conveyor_Manual.pdf"]
        and "press" not in by_file["CV-50_Conveyor_Manual.pdf"]
    )
    assert "coolant" in by_file["KS-10_Kuehlschmierstoffanlage_Betriebsanleitung.md"]
    page.screenshot(path=str(SHOTS / "library.png"), full_page=True)
    # search by machine
    page.fill("input[name=q]", "conveyor")
    page.click("form.search button")
    page.wait_for_load_state("load")
    found = [r.query_selector(".muted").inner_text() for r in page.query_selector_all("tr.doc")]
    assert "CV-50_Conveyor_Manual.pdf" in found and "HP-200_Hydraulic_Press_Manual.pdf" not in found
    # open any page of a manual: page 7 of the press manual, as printed, with its indexed text
    page.goto(ui["url"] + "/library", wait_until="load")
    href = page.get_attribute("tr.doc:has-text('HP-200_Hydraulic_Press_Manual.pdf') a", "href")
    page.goto(ui["url"] + href.replace("page=1", "page=7"), wait_until="load")
    page.wait_for_function(
        "() => { const i = document.querySelector('#page-image'); return i && i.naturalWidth > 0; }"
    )
    assert "E-107" in page.inner_text("body")
    page.screenshot(path=str(SHOTS / "library_page.png"))
    # the Library tab of the full chat view
    page.goto(ui["url"] + "/", wait_until="load")
    page.get_by_role("tab", name="Library").click()
    page.wait_for_selector("#library table.library", timeout=30_000)
    assert len(page.query_selector_all("#library tr.doc")) == docs
    page.screenshot(path=str(SHOTS / "library_tab.png"))
    page.close()


def test_hmi_with_an_unknown_machine_tag_says_so_and_answers_nothing(ui, browser) -> None:
    page = browser.new_page(viewport={"width": 800, "height": 480})
    page.goto(ui["url"] + "/?embed=1&equipment=conveyer", wait_until="load")  # mistyped tag
    page.wait_for_selector(".unknown-machine", timeout=60_000)
    banner = page.inner_text(".unknown-machine")
    assert "conveyer" in banner and "conveyor" in banner and page.is_visible(".unknown-machine")
    assert not page.is_visible("[role=tablist]")  # no tabs on the HMI panel
    page.fill("#question textarea", "How do I test the emergency stop pull cord?")
    page.click("#send")
    page.wait_for_function(
        "() => { const m = document.querySelectorAll('#chat .message'); return m.length && "
        "m[m.length-1].querySelector('.note'); }",
        timeout=60_000,
    )
    text = page.inner_text("#chat")
    assert "belongs to machine 'conveyer'" in text and "CV-50" not in text
    page.screenshot(path=str(SHOTS / "embed_unknown_machine.png"))
    page.close()
    assert httpx.get(ui["url"] + "/healthz", params={"equipment": "conveyer"}).status_code == 404
    ok = httpx.get(ui["url"] + "/healthz", params={"equipment": "conveyor"})
    assert ok.status_code == 200 and ok.json()["equipment_check"]["manuals"] == 4
    assert ok.json()["equipment"]["press"] == 3


# ------------------------------------------------------------------ conversations in the operator's language
def _last_message(page) -> str:
    return page.evaluate(
        "() => { const m = document.querySelectorAll('#chat .message'); return m.length ? m[m.length-1].innerText : ''; }"
    )


def _ask_next(page, question: str) -> None:
    """Ask in a conversation that already has answers: wait for the new answer, not the last one."""
    before = len(page.query_selector_all("#chat .message"))
    page.fill("#question textarea", question)
    page.click("#send")
    page.wait_for_function(
        f"() => {{ const m = document.querySelectorAll('#chat .message'); return m.length > {before} && "
        "m[m.length-1].querySelector('.chips, .abstain'); }",
        timeout=120_000,
    )


def test_a_follow_up_naming_its_own_code_gets_that_code(ui, browser) -> None:
    # each conversation test is its own panel (address) for the per-panel rate limit
    page = browser.new_page(
        viewport={"width": 1280, "height": 860}, extra_http_headers={"X-Forwarded-For": "10.3.0.1"}
    )
    page.goto(ui["url"] + "/", wait_until="load")
    page.wait_for_selector("#question textarea", timeout=60_000)
    _ask(page, "What does E-107 mean?")
    assert "E-107" in _last_message(page)
    _ask_next(page, "and what about E-112?")
    last = _last_message(page)
    assert "E-112" in last and "E-107" not in last.split("Sources")[0], last
    page.screenshot(path=str(SHOTS / "follow_up_e112.png"))
    page.close()


def test_a_topic_switch_after_three_turns_answers_the_new_topic(ui, browser) -> None:
    page = browser.new_page(
        viewport={"width": 1280, "height": 860}, extra_http_headers={"X-Forwarded-For": "10.3.0.2"}
    )
    page.goto(ui["url"] + "/", wait_until="load")
    page.wait_for_selector("#question textarea", timeout=60_000)
    for q in ("What does E-104 mean on the press?", "How do I reset it?", "What does E-101 mean?"):
        _ask(page, q)
        page.wait_for_timeout(300)
    _ask_next(page, "How tight should the conveyor belt be and how do I adjust it?")
    last = _last_message(page)
    assert "CV-50" in last and "HP-200" not in last, last
    page.close()


def test_a_german_question_in_the_hmi_gets_german_framing_around_the_english_quote(ui, browser) -> None:
    page = browser.new_page(
        viewport={"width": 800, "height": 480}, extra_http_headers={"X-Forwarded-For": "10.3.0.3"}
    )
    page.goto(ui["url"] + "/?embed=1&equipment=conveyor&lang=de", wait_until="load")
    page.wait_for_selector("#question textarea", timeout=60_000)
    page.wait_for_function(  # the UI strings in the operator's language (set when the page has loaded)
        "() => (document.querySelector('#question textarea')?.placeholder || '').startsWith('Ihre Frage')",
        timeout=30_000,
    )
    assert page.inner_text("#send").strip() == "Fragen"
    _ask(page, "Was bedeutet Alarm AL-05?")
    msg = page.query_selector_all("#chat .message")[-1]
    text = msg.inner_text()
    assert "Aus dem Handbuch" in text and "Handbuchtext auf Englisch" in text, text
    assert "Quellen:" in text or "Nächstliegende Stellen" in text, text
    quote = msg.query_selector("blockquote.quote")
    assert quote is not None and quote.get_attribute("lang") == "en"
    assert "AL-05" in quote.inner_text() and "Pull-cord" in quote.inner_text()  # the English text, verbatim
    # the citation is on screen without scrolling the page
    box = msg.query_selector("a[href^='#cite-']").bounding_box()
    assert box is not None and box["y"] >= 0 and box["y"] + box["height"] <= 480, box
    assert page.evaluate("() => document.scrollingElement.scrollTop") == 0
    page.screenshot(path=str(SHOTS / "hmi_de_800x480.png"))
    page.close()
