"""Hardening, probed as an attacker and as a bad day on the plant network would.

One real ``python -m ui`` process on the embedded default (it starts and supervises its own
llama.cpp server), driven over HTTP and in Debian's Chromium. Each test here reproduces one
finding of the hardening issue; they run in file order because the later ones stop, kill and
finally swap the index under that process.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import unquote

import httpx
import pytest
from conftest import HASH_ENV, MANUALS, REPO, SHOTS, UIProcess, confident_calibration, make_settings

from ui.security import ClientAddress, SecurityHeaders, content_disposition, merge_csp

XSS_HTML = """<!doctype html>
<html><head><title>Mixer MX-9 service sheet</title></head><body>
<h1>Mixer MX-9 service sheet</h1>
<p>Fault X-9 means the mixer agitator shear pin is broken; replace pin 44-120.</p>
<script>
  alert(document.domain);
  document.body.setAttribute("data-ran", "1");
  fetch("/healthz").then(r => r.text()).then(t => { document.title = "LEAK " + t.slice(0, 40); });
</script>
<img src="x" onerror="document.body.setAttribute('data-onerror', '1')">
</body></html>
"""

# Real file names from real plants (and two hostile ones), each with its own content.
NAMES = {
    "设备手册.md": "# 设备手册\n\nThe spindle chiller CH-3 holds 12 L of coolant.\n",
    "Schweiß–Handbuch.md": "# Schweiß-Handbuch\n\nDer Schweißroboter SR-4 braucht 6 bar Druckluft.\n",
    'Quote"d; name.md': "# Quoted\n\nThe palletiser PL-2 stacks 8 layers.\n",
    "new\nline.md": "# Newline\n\nThe bander BD-1 uses 19 mm strap.\n",
}


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory, real_embedder):
    from ingest.pipeline import run_ingest

    root = tmp_path_factory.mktemp("security")
    docs = root / "manuals"
    docs.mkdir()
    for f in MANUALS.iterdir():
        (docs / f.name).write_bytes(f.read_bytes())
    (docs / "Mixer_Service_Sheet.html").write_text(XSS_HTML)
    for name, text in NAMES.items():
        (docs / name).write_text(text)
    settings = make_settings(root, "sentence-transformers")
    run_ingest([docs], settings, embedder=real_embedder)
    tmp = root / "tmp"
    tmp.mkdir()
    env = {
        "TMPDIR": str(tmp),  # the app must leave nothing of its own here
        "OPASSIST_LLM__BASE_URL": "",  # the embedded default: the app runs its own model server
        "OPASSIST_LLM__FIRST_TOKEN_TIMEOUT_SECONDS": "6",
        "OPASSIST_LLM__PROBE_INTERVAL_SECONDS": "2",
        "OPASSIST_LLM__PROBE_TIMEOUT_SECONDS": "3",
        "OPASSIST_LLM__EMBEDDED_RESTART_AFTER_SECONDS": "15",
        "OPASSIST_UI__FEEDBACK_DB": str(root / "feedback.sqlite"),
        "OPASSIST_UI__CACHE_DIR": str(root / "cache"),
        "OPASSIST_UI__RATE_BURST": "100",
        "OPASSIST_RETRIEVAL__RELOAD_SECONDS": "0.5",
        # the subject here is what happens after retrieval: every question is answered
        "OPASSIST_RETRIEVAL__CALIBRATION_FILE": str(confident_calibration(root)),
    }
    proc = UIProcess(settings.index.path, env, root / "ui.log")
    yield {"url": proc.url, "proc": proc, "root": root, "docs": docs, "settings": settings, "tmp": tmp}
    proc.stop()


def _doc_sha(app: dict, name: str) -> str:
    from index import open_index

    for d in open_index(app["settings"].index.path).documents:
        if d.source == name:
            return d.sha256
    raise AssertionError(f"{name!r} is not indexed")


def _health(app: dict) -> dict:
    return httpx.get(app["url"] + "/healthz", timeout=15).json()


# ------------------------------------------------------------------ 1. stored XSS
def test_an_html_manual_cannot_run_script_in_the_app_origin(app, browser) -> None:
    url = f"{app['url']}/files/{_doc_sha(app, 'Mixer_Service_Sheet.html')}"
    r = httpx.get(url)
    assert r.status_code == 200
    csp = r.headers["content-security-policy"]
    assert "sandbox" in csp and "default-src 'none'" in csp and "frame-ancestors" in csp
    assert r.headers["x-content-type-options"] == "nosniff"

    page = browser.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(url, wait_until="load")
    time.sleep(1.0)
    assert "Fault X-9" in page.inner_text("body")  # the manual itself is readable
    assert dialogs == []
    assert page.get_attribute("body", "data-ran") is None
    assert page.get_attribute("body", "data-onerror") is None
    assert not page.title().startswith("LEAK")
    # Even code injected by the test itself cannot reach the app: the document has an opaque
    # origin and may not connect anywhere.
    assert page.evaluate("() => window.origin") == "null"
    outcome = page.evaluate(
        "() => fetch('/healthz').then(r => 'status ' + r.status).catch(e => 'blocked: ' + e)"
    )
    assert outcome.startswith("blocked"), outcome
    page.screenshot(path=str(SHOTS / "original_html_sandboxed.png"))
    page.close()


# ------------------------------------------------------------------ 5. /files/ with real names
@pytest.mark.parametrize("name", list(NAMES))
def test_originals_with_any_file_name_are_served_with_headers(app, name: str) -> None:
    url = f"{app['url']}/files/{_doc_sha(app, name)}"
    r = httpx.get(url)
    assert r.status_code == 200, r.text
    assert r.content == (app["docs"] / name).read_bytes()
    assert r.headers["content-type"].startswith("text/plain")  # Markdown is never rendered as HTML
    assert "sandbox" in r.headers["content-security-policy"]
    assert r.headers["x-content-type-options"] == "nosniff"
    disposition = r.headers["content-disposition"]
    assert "\n" not in disposition and "\r" not in disposition
    m = re.fullmatch(r'inline; filename="([^"\\]*)"; filename\*=UTF-8\'\'([A-Za-z0-9%._~-]+)', disposition)
    assert m, disposition  # RFC 6266: an ASCII fallback and the exact name, percent-encoded
    assert m.group(1).isascii() and unquote(m.group(2)) == name.replace("\n", "")
    head = httpx.head(url)
    assert head.status_code == 200 and head.headers["content-disposition"] == disposition


def test_content_disposition_units() -> None:
    assert content_disposition("a.pdf") == "inline; filename=\"a.pdf\"; filename*=UTF-8''a.pdf"
    h = content_disposition('x"\\;\r\ny.pdf', inline=False)
    assert h.startswith('attachment; filename="x___y.pdf"') and "\r" not in h and "\n" not in h
    assert merge_csp("sandbox; default-src 'none'", "frame-ancestors 'self'") == (
        "sandbox; default-src 'none'; frame-ancestors 'self'"
    )
    assert merge_csp(None, "frame-ancestors 'self'") == "frame-ancestors 'self'"


def test_error_responses_carry_the_security_headers(app) -> None:
    for path in ("/files/" + "0" * 64, "/no/such/page", "/files/..%2F..%2Fetc%2Fpasswd"):
        r = httpx.get(app["url"] + path)
        assert r.status_code == 404, path
        assert "frame-ancestors" in r.headers["content-security-policy"], path
        assert r.headers["x-content-type-options"] == "nosniff", path


def test_an_unhandled_error_is_a_500_with_headers_and_no_traceback() -> None:
    """A route that crashes (not causable from outside on the real app): the middleware still
    answers with its headers and a safe message."""
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    api = FastAPI()
    api.add_middleware(SecurityHeaders, framing="frame-ancestors 'self'")

    @api.get("/boom")
    def boom() -> None:
        raise RuntimeError("secret detail")

    with TestClient(api, raise_server_exceptions=False) as client:
        r = client.get("/boom")
    assert r.status_code == 500
    assert r.headers["content-security-policy"] == "frame-ancestors 'self'"
    assert r.headers["x-content-type-options"] == "nosniff"
    assert "secret detail" not in r.text


# ------------------------------------------------------------------ 7. uploads, client address
def test_anonymous_uploads_are_refused(app) -> None:
    blob = b"x" * (5 * 1024 * 1024)
    for path in ("/gradio_api/upload", "/upload", "/gradio_api/upload/"):
        r = httpx.post(app["url"] + path, files={"files": ("big.bin", blob)})
        assert r.status_code == 403, (path, r.status_code)
        assert "content-security-policy" in r.headers
    assert not any((app["root"] / "tmp").rglob("big.bin"))


def test_client_address_behind_a_trusted_proxy_only() -> None:
    direct = ClientAddress([])
    assert direct("10.0.0.7", {"x-forwarded-for": "1.2.3.4"}) == "10.0.0.7"  # not trusted: ignored
    proxied = ClientAddress(["127.0.0.1", "10.9.0.0/16"])
    assert proxied("127.0.0.1", {"x-forwarded-for": "10.5.5.5"}) == "10.5.5.5"
    # forged left-most entries are ignored: the last hop that is not a trusted proxy counts
    assert proxied("127.0.0.1", {"x-forwarded-for": "6.6.6.6, 10.5.5.5, 10.9.1.1"}) == "10.5.5.5"
    assert proxied("127.0.0.1", {"x-forwarded-for": "not-an-ip"}) == "127.0.0.1"
    assert proxied("10.0.0.7", {"x-forwarded-for": "10.5.5.5"}) == "10.0.0.7"


# ------------------------------------------------------------------ 6. /healthz tells the truth
def test_healthz_stays_ok_while_the_model_is_busy(app) -> None:
    """The old 2 s probe said 'degraded' while every answer succeeded."""
    from gradio_client import Client

    def ask(i: int) -> dict:
        c = Client(app["url"] + "/", verbose=False)
        return c.predict(
            f"How do I adjust the belt tension on the CV-50 conveyor? ({i})", "", "", api_name="/ask"
        )

    with ThreadPoolExecutor(4) as pool:
        futures = [pool.submit(ask, i) for i in range(4)]
        states = []
        while not all(f.done() for f in futures):
            states.append(_health(app)["status"])
            time.sleep(0.5)
        answers = [f.result() for f in futures]
    # One model slot (llama.cpp answers one at a time): a question that finds no free slot within
    # llm.queue_timeout_seconds gets the quoted passages; a busy model is not a broken model.
    errors = [a["llm_error"] for a in answers]
    assert errors.count(None) >= 1 and all(e is None or "busy" in e for e in errors), errors
    assert all(not a["abstained"] and a["citations"] for a in answers)
    assert states and set(states) == {"ok"}, states


# ------------------------------------------------------------------ 3. a hung, then a killed model
def _final_or_found(page) -> str:
    return page.evaluate(
        "() => { const m = document.querySelectorAll('#chat .message'); if (!m.length) return '';"
        " const last = m[m.length-1]; if (last.querySelector('.chips, .abstain')) return 'final';"
        " if (last.querySelector('.found, .answer')) return 'passages'; return ''; }"
    )


def test_a_hung_then_killed_model_never_holds_operators(app, browser) -> None:
    pid = _health(app)["llm"]["embedded"]["pid"]
    assert pid
    pages = []
    try:
        questions = [
            "How do I reset fault E-104 on the press?",
            "How do I adjust the belt tension on the CV-50?",
            "What is the maximum system pressure of the HP-200?",
            "How do I test the emergency stop pull cord?",
            "What oil does the HP-200 hydraulic system use?",
            "How often must the conveyor drive chain be lubricated?",
        ]
        for _ in range(7):
            page = browser.new_page(viewport={"width": 1280, "height": 860})
            page.goto(app["url"] + "/", wait_until="load")
            page.wait_for_selector("#question textarea", timeout=60_000)
            pages.append(page)
        os.kill(pid, signal.SIGSTOP)  # the model server hangs: it accepts connections, answers nothing
        asked: dict[int, float] = {}
        for i, (page, q) in enumerate(zip(pages, questions, strict=False)):
            page.fill("#question textarea", q)
            page.click("#send")
            asked[i] = time.monotonic()
        # A question the embedded setup answers without the model (not English: quote only),
        # asked while six questions wait for the hung model.
        pages[6].fill("#question textarea", "Was bedeutet Fehler E-107 an der Presse?")
        pages[6].click("#send")
        asked[6] = time.monotonic()
        seen: dict[int, dict[str, float]] = {i: {} for i in range(7)}
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not all("final" in s for s in seen.values()):
            for i, page in enumerate(pages):
                state = _final_or_found(page)
                if state and state not in seen[i]:
                    seen[i][state] = time.monotonic() - asked[i]
                    if state == "final":
                        seen[i].setdefault("passages", seen[i]["final"])
            time.sleep(0.05)
        for i in range(7):
            assert seen[i].get("passages", 99) < 5.0, (i, seen[i])  # the manual at once
            assert "final" in seen[i], (i, seen[i])
        assert seen[6]["final"] < 5.0, seen[6]  # needs no model: never queued behind it
        # one question pays the first-token timeout (6 s here); the breaker answers the rest
        assert max(s["final"] for s in seen.values()) < 6 + 8, seen
        for page in pages[:6]:
            text = page.inner_text("#chat")
            assert "language model is unavailable" in text and "Sources:" in text
        pages[0].screenshot(path=str(SHOTS / "model_hung.png"))
        h = _health(app)
        assert h["status"] == "degraded" and h["llm"]["state"] in ("open", "half-open")
    finally:
        for page in pages:
            page.close()
    # The hung server is noticed (calls and probes failing for 15 s here) and replaced.
    hung_back = _wait_for_new_server(app, pid)
    assert not Path(f"/proc/{pid}").exists()  # killed and reaped, not left stopped or defunct
    assert "has not answered for" in app["proc"].log()  # the app found it hung, nobody else
    # ------------------------------------------------------------------ then the new one dies
    pid2 = _health(app)["llm"]["embedded"]["pid"]
    os.kill(pid2, signal.SIGKILL)
    killed_back = _wait_for_new_server(app, pid2)
    assert not Path(f"/proc/{pid2}").exists()
    h = _health(app)
    assert h["status"] == "ok" and h["llm"]["embedded"]["restarts"] >= 2, (hung_back, killed_back, h)
    print(f"hung server replaced and answering after {hung_back:.1f} s; killed one after {killed_back:.1f} s")


def _wait_for_new_server(app: dict, old_pid: int, within: float = 30) -> float:
    """Seconds until another embedded server process runs and really answers a model call."""
    from gradio_client import Client

    t0 = time.monotonic()
    h: dict = {}
    out: dict = {}
    while time.monotonic() - t0 < within:
        h = _health(app)
        pid = h["llm"]["embedded"]["pid"]
        if pid and pid != old_pid:
            out = Client(app["url"] + "/", verbose=False).predict(
                "What is the maximum system pressure of the HP-200?", "", "", api_name="/ask"
            )
            if out["llm_error"] is None and out["grounding"]["model_asked"]:
                return time.monotonic() - t0
        time.sleep(0.5)
    raise AssertionError(f"embedded server not back within {within} s: {h} {out.get('llm_error')}")


# ------------------------------------------------------------------ 6. a mismatched index version
def test_an_index_of_another_model_is_refused_once_and_the_old_one_serves(app) -> None:
    before = _health(app)["index"]["version"]
    r = subprocess.run(
        [
            sys.executable,
            str(REPO / "ingest.py"),
            str(app["docs"]),
            "--index",
            str(app["settings"].index.path),
            "--rebuild",
        ],
        cwd=REPO,
        env={**os.environ, **HASH_ENV},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr
    time.sleep(1.5)
    for _ in range(5):
        h = httpx.get(app["url"] + "/healthz")
        assert h.status_code == 200
        body = h.json()
        assert body["index"]["version"] == before  # still serving the version it had
        assert body["index"]["rejected"]["version"] != before
        assert "model" in body["index"]["rejected"]["error"]
        assert body["status"] == "degraded"
        time.sleep(0.6)
    from gradio_client import Client

    out = Client(app["url"] + "/", verbose=False).predict("What does E-107 mean?", "", "", api_name="/ask")
    assert not out["abstained"] and out["index_version"] == before
    assert app["proc"].log().count("new index version refused") == 1


# ------------------------------------------------------------------ 7. SIGTERM leaves nothing behind
def test_sigterm_stops_the_model_server_and_leaves_no_temp_files(app) -> None:
    pid = _health(app)["llm"]["embedded"]["pid"]
    app["proc"].proc.send_signal(signal.SIGTERM)
    app["proc"].proc.wait(timeout=30)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and Path(f"/proc/{pid}").exists():
        time.sleep(0.2)
    assert not Path(f"/proc/{pid}").exists()
    assert not list(app["tmp"].glob("opassist-*")), list(app["tmp"].iterdir())
