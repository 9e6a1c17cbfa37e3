"""The plant setup, for real: two ``python -m ui`` replicas behind nginx running the shipped
deploy/nginx.conf, one PostgreSQL server for the answer log, one llama.cpp server shared by both.

No timing assertions here (bench/plant_load.py measures load and failover)."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from conftest import MANUALS, REPO, SHOTS, UIProcess, confident_calibration, make_settings
from services import Nginx, Postgres, replica_env

QUESTIONS = [
    "What does E-107 mean?",
    "What does E-104 mean?",
    "How do I reset fault E-104?",
    "What is the rated force of the HP-200?",
]


def _htpasswd(path: Path, users: dict[str, str]) -> Path:
    lines = [
        f"{u}:{{SHA}}{base64.b64encode(hashlib.sha1(p.encode()).digest()).decode()}" for u, p in users.items()
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="module")
def plant(tmp_path_factory: pytest.TempPathFactory, llm_server, real_embedder):
    from ingest.pipeline import run_ingest

    root = tmp_path_factory.mktemp("plant")
    docs = root / "manuals"
    shutil.copytree(MANUALS, docs)
    settings = make_settings(root, "sentence-transformers")
    run_ingest([docs], settings, embedder=real_embedder)
    started: list = []  # stopped in reverse order, also when a later one fails to start
    pg = Postgres(root / "pg")
    started.append(pg)
    env = {
        **replica_env(llm_server.base_url, pg.url, root / "cache", max_tokens=48),
        "OPASSIST_UI__ADMINS": json.dumps(["alice"]),
        "OPASSIST_UI__MANUALS_DIR": str(docs),
        "OPASSIST_RETRIEVAL__RELOAD_SECONDS": "0.5",
        # the subject is the plant setup, not the fitted confidence: every question is answered
        "OPASSIST_RETRIEVAL__CALIBRATION_FILE": str(confident_calibration(root)),
    }
    try:
        with ThreadPoolExecutor(2) as ex:  # both replicas load their models at once
            futs = [
                ex.submit(
                    UIProcess,
                    settings.index.path,
                    {**env, "OPASSIST_UI__REPLICA_NAME": f"replica-{i + 1}"},
                    root / f"ui{i + 1}.log",
                )
                for i in range(2)
            ]
            for f in futs:
                if f.exception() is None:
                    started.append(f.result())
            replicas = [f.result() for f in futs]
        ports = [r.port for r in replicas]
        proxy = Nginx(root / "nginx", ports, _htpasswd(root / "htpasswd", {"alice": "a-pw", "bob": "b-pw"}))
        started.append(proxy)
        yield {"replicas": replicas, "proxy": proxy, "pg": pg, "docs": docs, "ports": ports, "root": root}
    finally:
        for service in reversed(started):
            service.stop()


def _metric(url: str, name: str) -> float:
    text = httpx.get(url + "/metrics", timeout=10).text
    return sum(float(m.group(1)) for m in re.finditer(rf"^{name}(?:{{[^}}]*}})? ([0-9.e+]+)$", text, re.M))


def _log_rows(pg: Postgres) -> list[dict]:
    import psycopg
    from psycopg.rows import dict_row

    with psycopg.connect(pg.url_for("opassist", driver=False), row_factory=dict_row) as c:
        return list(c.execute("SELECT * FROM answers ORDER BY id"))


def _operator(url: str):
    from gradio_client import Client

    return Client(url + "/", verbose=False)


def test_two_replicas_behind_nginx_each_answer_and_every_question_is_counted_and_logged(plant) -> None:
    proxy, pg = plant["proxy"], plant["pg"]
    before_rows = len(_log_rows(pg))
    before = [_metric(r.url, "opassist_questions_total") for r in plant["replicas"]]

    def session(i: int) -> tuple[str, list[dict]]:
        c = _operator(proxy.url)  # one browser: its cookie pins it to one replica
        route = c.cookies.get("opassist_route", "")
        out = [c.predict(QUESTIONS[(i + k) % len(QUESTIONS)], "", "", api_name="/ask") for k in range(2)]
        return route, out

    with ThreadPoolExecutor(4) as ex:
        sessions = list(ex.map(session, range(16)))
    sent = 2 * len(sessions)
    for route, answers in sessions:
        assert route, "nginx set no affinity cookie"
        for a in answers:
            assert a["outcome"] == "answer" and a["citations"], a
    # every request of one browser went to one replica; the browsers were spread over both
    upstream_of: dict[str, set[str]] = {}
    for line in proxy.access_log().splitlines():
        m = re.search(r"upstream=(\S+) .*route=(\S+)", line)
        if m and m.group(1) != "-":
            upstream_of.setdefault(m.group(2), set()).add(m.group(1))
    routes = [r for r, _ in sessions]
    assert all(len(upstream_of.get(r, ())) == 1 for r in routes), upstream_of
    used = set().union(*(upstream_of[r] for r in routes))
    assert used == {f"127.0.0.1:{p}" for p in plant["ports"]}

    after = [_metric(r.url, "opassist_questions_total") for r in plant["replicas"]]
    assert sum(after) - sum(before) == sent
    assert all(a > b for a, b in zip(after, before, strict=True)), "a replica answered nothing"
    rows = _log_rows(pg)[before_rows:]
    assert len(rows) == sent
    assert {r["replica"] for r in rows} == {"replica-1", "replica-2"}
    assert {r["question"] for r in rows} <= set(QUESTIONS)
    assert all(json.loads(r["citations"]) and r["index_version"].startswith("v") for r in rows)
    # the metrics a dashboard reads
    text = httpx.get(plant["replicas"][0].url + "/metrics").text
    for name in (
        "opassist_first_answer_text_seconds_bucket",
        "opassist_index_chunks",
        "opassist_model_circuit",
    ):
        assert name in text
    dashboard = (REPO / "deploy" / "grafana-dashboard.json").read_text()
    for name in set(re.findall(r"opassist_[a-z_]+", dashboard)):  # every series the dashboard plots
        assert re.search(rf"^{name}[{{ ]", text, re.M), name
    assert httpx.get(proxy.url + "/metrics").status_code == 404  # scraped per replica, not through the proxy


def test_admin_routes_are_refused_to_everyone_but_an_admin_through_the_proxy(plant) -> None:
    proxy, replica = plant["proxy"], plant["replicas"][0]
    assert httpx.get(proxy.url + "/admin").status_code == 401  # the proxy asks who you are
    # a client's own identity header is overwritten by the proxy
    forged = httpx.get(proxy.url + "/admin", headers={"X-Forwarded-User": "alice"})
    assert forged.status_code == 401
    assert httpx.get(proxy.url + "/admin", auth=("bob", "b-pw")).status_code == 403  # not in ui.admins
    ok = httpx.get(proxy.url + "/admin", auth=("alice", "a-pw"))
    assert ok.status_code == 200 and "HP-200" in ok.text and "Signed in as <b>alice</b>" in ok.text
    assert "frame-ancestors 'none'" in ok.headers["content-security-policy"]  # never framed by an HMI page
    # the header is believed only from the proxy's address, not from another local client
    direct = httpx.Client(transport=httpx.HTTPTransport(local_address="127.0.0.2"))
    assert direct.get(replica.url + "/admin", headers={"X-Forwarded-User": "alice"}).status_code == 403
    assert (
        direct.get(replica.url + "/admin/log.jsonl", headers={"X-Forwarded-User": "alice"}).status_code == 403
    )
    # an admin's browser driven by another site cannot post
    evil = httpx.post(
        proxy.url + "/admin/manuals", auth=("alice", "a-pw"), headers={"Origin": "http://evil.example"}
    )
    assert evil.status_code == 403
    # the answer log export, for an admin
    log = httpx.get(proxy.url + "/admin/log.jsonl", params={"since": "1d"}, auth=("alice", "a-pw"))
    assert log.status_code == 200
    assert all("question" in json.loads(line) for line in log.text.splitlines())


def test_a_manual_uploaded_by_an_admin_is_served_by_every_replica_then_removed(plant) -> None:
    proxy, replicas = plant["proxy"], plant["replicas"]
    auth = ("alice", "a-pw")
    before = {r.url: httpx.get(r.url + "/healthz").json()["index"]["version"] for r in replicas}
    manual = (
        "# Tape sealer TS-9 manual\n\n## Fault codes\n\n"
        "| Code | Meaning | Remedy |\n|---|---|---|\n"
        "| TS-41 | Tape roll empty | Load a new 48 mm tape roll and press RESET. |\n"
    )
    admin = httpx.Client(auth=auth, headers={"Origin": proxy.url})  # the admin's browser, on the admin page
    form = re.search(r'name="csrf" value="([^"]+)"', admin.get(proxy.url + "/admin").text)
    assert form, "the admin page has no CSRF token"
    token = form.group(1)
    r = admin.post(
        proxy.url + "/admin/manuals",
        files={"file": ("tape-sealer-TS9.md", manual.encode(), "text/markdown")},
        # into the machine's folder: the manual gets its equipment tag
        data={"machine": "sealer", "csrf": token},
    )
    assert r.status_code == 303 and "ingest+started" in r.headers["location"].replace("%20", "+")
    assert (plant["docs"] / "sealer" / "tape-sealer-TS9.md").read_text() == manual

    def served_by_all(check) -> dict:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            bodies = {rep.url: httpx.get(rep.url + "/healthz").json() for rep in replicas}
            if all(check(b) for b in bodies.values()):
                return bodies
            job = httpx.get(proxy.url + "/admin/job", auth=auth).json()
            assert job["state"] != "failed", job
            time.sleep(0.5)
        raise AssertionError(f"not served by every replica: {bodies}, job {job}")

    bodies = served_by_all(lambda b: b["index"]["version"] not in before.values())
    assert len({b["index"]["version"] for b in bodies.values()}) == 1
    assert all(b["equipment"].get("sealer") == 1 for b in bodies.values())
    c = _operator(replicas[1].url)
    a = c.predict("What does TS-41 mean?", "", "", api_name="/ask")
    assert a["citations"][0]["source"] == "sealer/tape-sealer-TS9.md"

    page = httpx.get(proxy.url + "/admin", auth=auth).text
    version = next(iter(bodies.values()))["index"]["version"]
    doc_sha = _sha_of(page, "sealer/tape-sealer-TS9.md")
    r = admin.post(proxy.url + f"/admin/documents/{doc_sha}/remove", data={"csrf": token})
    assert r.status_code == 303 and "removed" in r.headers["location"]
    assert not (plant["docs"] / "sealer" / "tape-sealer-TS9.md").exists()
    assert list((plant["docs"] / ".removed").glob("*/tape-sealer-TS9.md"))  # kept, out of ingest's sight
    served_by_all(lambda b: b["index"]["version"] != version)
    docs = httpx.get(proxy.url + "/admin", auth=auth).text
    assert (
        "<td>sealer/tape-sealer-TS9.md</td>" not in docs
        and "<td>HP-200_Hydraulic_Press_Manual.pdf</td>" in docs
    )


def _sha_of(page: str, source: str) -> str:
    for row in re.findall(r"<tr>(.*?)</tr>", page, re.S):
        if f"<td>{source}</td>" in row:
            m = re.search(r"/admin/documents/([0-9a-f]{64})/remove", row)
            assert m, row
            return m.group(1)
    raise AssertionError(f"{source} not listed")


def test_a_replica_that_dies_mid_answer_leaves_try_again_and_the_retry_lands_on_the_other(
    plant, browser
) -> None:
    """Last in this module: it kills a replica (SIGKILL, like a crash) while it streams an answer."""
    proxy, pg, replicas = plant["proxy"], plant["pg"], plant["replicas"]
    page = browser.new_page(viewport={"width": 1280, "height": 860})
    page.goto(proxy.url + "/", wait_until="load")
    page.wait_for_selector("#question textarea", timeout=60_000)
    question = "How do I reset fault E-104 on the press?"
    page.fill("#question textarea", question)
    page.click("#send")
    last_bot = "() => [...document.querySelectorAll('#chat .message-row.bot-row')].pop()"
    # the quote is on screen and the model is still writing
    page.wait_for_function(
        f"() => {{ const m = ({last_bot})(); return m && m.querySelector('blockquote.quote') "
        "&& m.querySelector('.writing'); }",
        polling=50,
        timeout=120_000,
    )
    quoted = [r for r in _log_rows(pg) if r["question"] == question]
    assert len(quoted) == 1 and quoted[0]["answer"], quoted  # the quote shown is logged before the model ends
    victim = next(r for i, r in enumerate(replicas) if quoted[0]["replica"] == f"replica-{i + 1}")
    victim.proc.kill()
    victim.proc.wait()
    assert page.evaluate(f"() => !({last_bot})().querySelector('.chips')"), "answered before the kill"
    # the broken answer says so and offers to ask again; the quote already shown stays
    page.wait_for_selector("#chat .note.lost a.retry", timeout=60_000)
    cut = page.evaluate(f"() => ({last_bot})().innerText")
    assert "connection to the assistant was lost" in cut and "E-104" in cut, cut
    # Gradio reloads the page once it reaches a live replica (a new session there); the question
    # whose answer broke is offered again above the question box, asked again only on a tap
    page.wait_for_selector("#retry-banner a.retry", timeout=60_000)
    assert question in page.inner_text("#retry-banner")
    page.screenshot(path=str(SHOTS / "plant_replica_lost.png"))
    page.click("#retry-banner a.retry")
    page.wait_for_function(
        f"() => {{ const m = ({last_bot})(); return m && m.querySelector('.chips, .abstain'); }}",
        timeout=120_000,
    )
    assert page.query_selector("#retry-banner") is None
    assert "E-104" in page.evaluate(f"() => ({last_bot})().innerText")
    rows = [r for r in _log_rows(pg) if r["question"] == question]
    survivor = next(f"replica-{i + 1}" for i, r in enumerate(replicas) if r is not victim)
    assert [r["replica"] for r in rows] == [quoted[0]["replica"], survivor], rows
    assert rows[-1]["total_ms"] is not None and json.loads(rows[-1]["citations"])
    page.close()
