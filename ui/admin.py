"""Admin pages behind the plant's reverse proxy: ``/admin`` (upload or remove a manual, then an ingest
run), ``/admin/log.jsonl`` (the answer log), ``/admin/feedback.csv`` and ``/admin/feedback-qa.jsonl``.

Identity comes from the proxy: it authenticates the user and sets ``ui.admin_header``
(``X-Forwarded-User``). The app believes that header only when the TCP peer is one of
``ui.trusted_proxies``, and lets in only the names in ``ui.admins``; everyone else gets 403 and
operators see no admin link. A POST whose ``Origin`` is another site is refused (an HMI page framing
the app cannot drive the admin's browser). Also ``GET /metrics`` (Prometheus), open like
``/healthz``: restrict it at the proxy.
"""

from __future__ import annotations

import hmac
import html
import io
import json
import logging
import os
import re
import secrets
import subprocess
import sys
import threading
import unicodedata
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from fastapi import FastAPI, Request
from fastapi.responses import (
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from starlette.datastructures import UploadFile

from chatbot.wiring import AppDeps
from core.errors import UserError

from .feedback import qa_lines, write_csv
from .files import indexed_path
from .metrics import CONTENT_TYPE
from .records import parse_time
from .security import ClientAddress

log = logging.getLogger(__name__)
_NO_STORE = {"Cache-Control": "no-store"}
# The admin pages are never framed (an HMI page allowed to frame the chat must not overlay their
# buttons) and run no script: nothing in a manual's name can become code there.
_PAGE = {
    **_NO_STORE,
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'",
}
_CSRF_COOKIE = "opassist_admin_csrf"
_CSS = """body{font:16px system-ui;margin:1.5rem}table{border-collapse:collapse}
td,th{border:1px solid #ccc;padding:.3rem .6rem;text-align:left}.msg{background:#eef;padding:.5rem}
form.inline{display:inline}.danger{background:#b00020;color:#fff;border:0;padding:.4rem .9rem}
"""
_MAX_UPLOAD = 512 * 1024 * 1024


class AdminGate:
    def __init__(self, deps: AppDeps) -> None:
        s = deps.settings.ui
        self.header = s.admin_header.lower()
        self.admins = {a.strip() for a in s.admins if a.strip()}
        self.proxies = ClientAddress(s.trusted_proxies)

    def user(self, request: Request) -> str | None:
        """The admin making this request, or None."""
        peer = request.client.host if request.client else ""
        if not self.admins or not peer or not self.proxies.is_trusted(peer):
            return None
        name = request.headers.get(self.header, "").strip()
        return name if name in self.admins else None


class IngestJob:
    """One ingest run at a time, as its own process (the command an admin would type). Its status is a
    file in the index folder, so every replica shows the same run; the index's writer lock keeps two
    replicas from writing at once (the second run waits for the first)."""

    def __init__(self, deps: AppDeps) -> None:
        self.deps = deps
        self.status_file = Path(deps.settings.index.path) / "admin-ingest.json"
        self._lock = threading.Lock()
        self.proc: subprocess.Popen[str] | None = None

    @property
    def status(self) -> dict[str, Any]:
        try:
            return dict(json.loads(self.status_file.read_text()))
        except (OSError, ValueError):
            return {"state": "idle"}

    def _set(self, status: dict[str, Any]) -> None:
        tmp = self.status_file.with_name(f".{self.status_file.name}.{os.getpid()}")
        tmp.write_text(json.dumps(status, default=str))
        os.replace(tmp, self.status_file)

    def start(self, reason: str, allow_delete: bool = False) -> None:
        s = self.deps.settings
        assert s.ui.manuals_dir is not None
        with self._lock:
            if self.proc is not None and self.proc.poll() is None:
                raise UserError("an ingest run is already in progress; try again when it has finished")
            cmd = [sys.executable, "-m", "ingest", str(s.ui.manuals_dir), "--index", str(s.index.path)]
            cmd += ["--json", "--no-progress", "--wait", "600"] + (["--allow-delete"] if allow_delete else [])
            self.proc = subprocess.Popen(
                cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ)
            )
            status = {
                "state": "running",
                "reason": reason,
                "started": datetime.now().isoformat(timespec="seconds"),
            }
            self._set(status)
            threading.Thread(
                target=self._wait, args=(self.proc, status), daemon=True, name="admin-ingest"
            ).start()

    def _wait(self, proc: subprocess.Popen[str], status: dict[str, Any]) -> None:
        out, err = proc.communicate()
        status = {
            **status,
            "state": "done" if proc.returncode == 0 else "failed",
            "exit_code": proc.returncode,
        }
        try:
            summary = json.loads(out) if out.strip() else {}
            status["summary"] = {
                k: summary.get(k) for k in ("version", "added", "changed", "removed", "failed")
            }
        except ValueError:
            pass
        if proc.returncode != 0:
            status["error"] = err.strip().splitlines()[-1] if err.strip() else "ingest failed"
            log.error("admin ingest run failed", extra={"exit_code": proc.returncode, "stderr": err[-2000:]})
        self._set(status)


def safe_name(name: str) -> str:
    """An uploaded file's name, reduced to one path component without control characters."""
    base = Path(name.replace("\\", "/")).name
    base = "".join(ch for ch in base if unicodedata.category(ch)[0] != "C").strip()
    if not base or base.startswith(".") or base in ("..",):
        raise UserError(f"{name!r}: not a usable file name")
    return base


def add_admin_routes(app: FastAPI, deps: AppDeps, observer: Any) -> None:
    gate = AdminGate(deps)
    job = IngestJob(deps)
    records = observer.records
    manuals = deps.settings.ui.manuals_dir
    extensions = {e.lower() for e in deps.settings.ingest.extensions}

    if deps.settings.ui.metrics:

        @app.get("/metrics")
        def metrics() -> Response:
            return Response(observer.metrics.render(), media_type=CONTENT_TYPE, headers=_NO_STORE)

    def refuse(request: Request) -> Response | None:
        if gate.user(request) is None:
            return PlainTextResponse("forbidden: admins only", status_code=403, headers=_NO_STORE)
        if request.method == "POST" and not same_origin(request):
            log.warning(
                "cross-site admin request refused",
                extra={"path": request.url.path, "origin": request.headers.get("origin", "(none)")},
            )
            return PlainTextResponse("forbidden: cross-site request", status_code=403, headers=_NO_STORE)
        return None

    async def refuse_post(request: Request, form: Any) -> Response | None:
        """A state-changing request: an admin's, from this site, with this browser's token."""
        if (r := refuse(request)) is not None:
            return r
        sent = str(form.get("csrf") or "")
        kept = request.cookies.get(_CSRF_COOKIE, "")
        if not kept or not hmac.compare_digest(sent.encode(), kept.encode()):
            log.warning("admin request without a valid CSRF token refused", extra={"path": request.url.path})
            return PlainTextResponse(
                "forbidden: the form is out of date; reload /admin and try again",
                status_code=403,
                headers=_NO_STORE,
            )
        return None

    @app.get("/admin/admin.css")
    def admin_css() -> Response:
        return Response(_CSS, media_type="text/css", headers={"Cache-Control": "private, max-age=300"})

    @app.get("/admin")
    def admin_page(request: Request, msg: str = "") -> Response:
        if (r := refuse(request)) is not None:
            return r
        token = csrf_token(request)
        body = _page(deps, gate.user(request) or "", job.status, manuals, msg, token)
        return _with_token(HTMLResponse(body, headers=_PAGE), request, token)

    @app.get("/admin/documents/{sha256}/remove")
    def confirm_remove(request: Request, sha256: str) -> Response:
        """Removing a manual asks first, on a page of its own (no script)."""
        if (r := refuse(request)) is not None:
            return r
        doc = next((d for d in deps.handle.get().index.documents if d.sha256 == sha256), None)
        if doc is None:
            return _back("no such document")
        token = csrf_token(request)
        return _with_token(
            HTMLResponse(_confirm_page(deps, doc.source, sha256, token), headers=_PAGE), request, token
        )

    @app.get("/admin/job")
    def admin_job(request: Request) -> Response:
        if (r := refuse(request)) is not None:
            return r
        return JSONResponse(job.status, headers=_NO_STORE)

    @app.get("/admin/log.jsonl")
    def answer_log(request: Request, since: str = "", until: str = "", equipment: str = "") -> Response:
        if (r := refuse(request)) is not None:
            return r
        try:
            a = parse_time(since) if since else None
            b = parse_time(until) if until else None
        except UserError as exc:
            return PlainTextResponse(str(exc), status_code=400)

        def lines() -> Iterator[str]:
            for row in records.answer_rows(a, b, equipment or None):
                yield json.dumps(row, ensure_ascii=False) + "\n"

        log.info(
            "answer log exported", extra={"admin": gate.user(request), "since": since, "equipment": equipment}
        )
        return StreamingResponse(
            lines(), media_type="application/x-ndjson", headers=_attachment("answer-log.jsonl")
        )

    @app.get("/admin/feedback.csv")
    def feedback_csv(request: Request) -> Response:
        if (r := refuse(request)) is not None:
            return r
        buf = io.StringIO()
        write_csv(records.rows(), buf)
        return Response(
            buf.getvalue(), media_type="text/csv; charset=utf-8", headers=_attachment("feedback.csv")
        )

    @app.get("/admin/feedback-qa.jsonl")
    def feedback_qa(request: Request) -> Response:
        if (r := refuse(request)) is not None:
            return r
        text = "".join(json.dumps(q, ensure_ascii=False) + "\n" for q in qa_lines(records.rows()))
        return Response(text, media_type="application/x-ndjson", headers=_attachment("feedback-qa.jsonl"))

    @app.post("/admin/manuals")
    async def upload(request: Request) -> Response:
        if (r := refuse(request)) is not None:
            return r
        if manuals is None:
            return PlainTextResponse("upload is off: set ui.manuals_dir", status_code=409)
        form = await request.form(max_part_size=_MAX_UPLOAD)
        if (r := await refuse_post(request, form)) is not None:
            return r
        files = [f for f in form.getlist("file") if isinstance(f, UploadFile)]
        if not files:
            return _back("no file chosen")
        saved = []
        try:
            machine = str(form.get("machine") or "").strip()
            # a machine's folder: its manuals carry its equipment tag (ingest.equipment_from_folders)
            folder = Path(manuals) / safe_name(machine) if machine else Path(manuals)
            for f in files:
                name = safe_name(f.filename or "")
                if Path(name).suffix.lower() not in extensions:
                    raise UserError(
                        f"{name}: not a manual type this plant ingests ({', '.join(sorted(extensions))})"
                    )
                target = folder / name
                target.parent.mkdir(parents=True, exist_ok=True)
                tmp = target.with_name(f".{name}.upload")
                with open(tmp, "wb") as out:
                    while chunk := await f.read(1 << 20):
                        out.write(chunk)
                os.replace(tmp, target)  # a reader of the folder never sees half a file
                saved.append(str(target.relative_to(manuals)))
            log.warning("manual uploaded", extra={"admin": gate.user(request), "files": saved})
            job.start(f"upload of {', '.join(saved)}")
        except UserError as exc:
            return _back(str(exc))
        return _back(f"saved {', '.join(saved)}; ingest started")

    @app.post("/admin/documents/{sha256}/remove")
    async def remove(request: Request, sha256: str) -> Response:
        if (r := await refuse_post(request, await request.form())) is not None:
            return r
        if manuals is None:
            return PlainTextResponse("removal is off: set ui.manuals_dir", status_code=409)
        doc = next((d for d in deps.handle.get().index.documents if d.sha256 == sha256), None)
        if doc is None or not re.fullmatch(r"[0-9a-f]{64}", sha256):
            return _back("no such document")
        path = indexed_path(doc).resolve()
        root = Path(manuals).resolve()
        if not path.is_relative_to(root):
            return _back(f"{doc.source} is not in the upload folder; remove it where it was ingested from")
        try:
            # kept, not deleted: a hidden folder that ingest never reads
            bin_ = root / ".removed" / datetime.now().strftime("%Y%m%d-%H%M%S")
            bin_.mkdir(parents=True, exist_ok=True)
            if path.exists():
                os.replace(path, bin_ / path.name)
            log.warning("manual removed", extra={"admin": gate.user(request), "source": doc.source})
            job.start(f"removal of {doc.source}", allow_delete=True)
        except (UserError, OSError) as exc:
            return _back(str(exc))
        return _back(f"removed {doc.source} (kept in {bin_.relative_to(root)}); ingest started")


def _back(msg: str) -> Response:
    from urllib.parse import quote

    return RedirectResponse(f"/admin?msg={quote(msg)}", status_code=303, headers=_NO_STORE)


def _attachment(name: str) -> dict[str, str]:
    return {**_NO_STORE, "Content-Disposition": f'attachment; filename="{name}"'}


def same_origin(request: Request) -> bool:
    """The request comes from a page of this site. A missing ``Origin`` and ``null`` (a sandboxed
    frame, a ``data:`` page, a redirect across sites) are refused: every browser that can reach
    /admin sends ``Origin`` with a POST."""
    origin = request.headers.get("origin", "")
    if not origin or origin == "null":
        return False
    if request.headers.get("sec-fetch-site", "same-origin") != "same-origin":
        return False
    return urlsplit(origin).netloc == request.headers.get("host", "")


def csrf_token(request: Request) -> str:
    """This browser's token: the one its cookie holds, or a new one."""
    kept = request.cookies.get(_CSRF_COOKIE, "")
    return kept if re.fullmatch(r"[A-Za-z0-9_-]{43}", kept) else secrets.token_urlsafe(32)


def _with_token(response: Response, request: Request, token: str) -> Response:
    if request.cookies.get(_CSRF_COOKIE) != token:
        # SameSite=Strict: another site's page never makes the browser send it; /admin is never
        # framed, so the operator iframe's cookie rules do not apply here
        https = request.headers.get("x-forwarded-proto", request.url.scheme) == "https"
        response.set_cookie(
            _CSRF_COOKIE, token, path="/admin", httponly=True, samesite="strict", secure=https
        )
    return response


def _head(title: str) -> str:
    return (
        f'<!doctype html><html><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        '<link rel="stylesheet" href="/admin/admin.css"></head><body>'
    )


def _token_field(token: str) -> str:
    return f'<input type="hidden" name="csrf" value="{html.escape(token)}">'


def _confirm_page(deps: AppDeps, source: str, sha256: str, token: str) -> str:
    e = html.escape
    return f"""{_head("Remove a manual · " + deps.settings.ui.title)}
<h2>Remove a manual</h2><p>Remove <b>{e(source)}</b> from the manuals? It is moved to the folder
<code>.removed/</code> (not deleted) and an ingest run follows.</p>
<form method="post" action="/admin/documents/{e(sha256)}/remove">{_token_field(token)}
<button type="submit" class="danger">Remove</button> <a href="/admin">Cancel</a></form></body></html>"""


def _page(
    deps: AppDeps, user: str, status: dict[str, Any], manuals: Path | None, msg: str, token: str
) -> str:
    idx = deps.handle.get().index
    e = html.escape
    rows = []
    for d in sorted(idx.documents, key=lambda d: d.source.lower()):
        in_folder = manuals is not None and indexed_path(d).resolve().is_relative_to(Path(manuals).resolve())
        button = f'<a href="/admin/documents/{e(d.sha256)}/remove">Remove…</a>' if in_folder else ""
        rows.append(
            f"<tr><td>{e(d.source)}</td><td>{e(', '.join(d.equipment))}</td><td>{d.pages}</td>"
            f"<td>{d.chunks}</td><td>{button}</td></tr>"
        )
    options = "".join(
        f'<option value="{e(m)}">' for m in sorted({t for d in idx.documents for t in d.equipment})
    )
    upload = (
        '<form method="post" action="/admin/manuals" enctype="multipart/form-data">'
        f'{_token_field(token)}<input type="file" name="file" multiple required> '
        '<label>Machine folder <input name="machine" list="machines" placeholder="e.g. press-2"></label>'
        f'<datalist id="machines">{options}</datalist> <button type="submit">Upload and ingest</button></form>'
        if manuals is not None
        else "<p>Upload and removal are off (setting <code>ui.manuals_dir</code>).</p>"
    )
    summary = status.get("summary") or {}
    state = " · ".join(
        e(str(x))
        for x in (
            status.get("state"),
            status.get("reason"),
            status.get("started"),
            summary.get("version") and f"version {summary['version']}",
            status.get("error"),
            *(f"{f['path']}: {f['problem']}" for f in summary.get("failed") or []),
        )
        if x
    )
    note = f'<p class="msg" role="status">{e(msg)}</p>' if msg else ""
    return f"""{_head("Admin · " + deps.settings.ui.title)}
<h2>Admin</h2><p>Signed in as <b>{e(user)}</b> · index {e(idx.version)} · {len(idx.documents)} documents</p>{note}
<h3>Add a manual</h3>{upload}<p>Last ingest run: <code id="job">{state}</code></p>
<h3>Exports</h3><ul>
<li><a href="/admin/log.jsonl?since=7d">Answer log, last 7 days</a> (JSON Lines; <code>?since=2026-12-01&amp;equipment=press</code>)</li>
<li><a href="/admin/feedback.csv">Feedback (CSV)</a></li>
<li><a href="/admin/feedback-qa.jsonl">Thumbs-down and commented answers as QA lines</a></li></ul>
<h3>Documents</h3><table><tr><th>Document</th><th>Machines</th><th>Pages</th><th>Chunks</th><th></th></tr>
{"".join(rows)}</table></body></html>"""
