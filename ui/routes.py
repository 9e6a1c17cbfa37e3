"""The UI's plain HTTP routes: ``/healthz`` and ``/files/{sha256}`` (the indexed originals).

Originals are served so that nothing in them can run in the app's origin: every file gets
``Content-Security-Policy: sandbox; default-src 'none'`` (an HTML manual's scripts never run,
and a sandboxed document has an opaque origin, so it cannot read the app's pages), except PDFs,
which Chromium refuses to display in a sandbox and which render in the browser's own PDF viewer
with ``default-src 'none'`` still applying. Only HTML and PDF keep their type; Markdown and text
are served as ``text/plain``. With ``nosniff`` the browser never guesses another type.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI
from fastapi.responses import FileResponse, JSONResponse, Response

from chatbot.wiring import AppDeps
from core.errors import UserError

from .files import indexed_path
from .security import content_disposition

_MEDIA = {"pdf": "application/pdf", "html": "text/html; charset=utf-8"}
_SANDBOX = "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:"
_PDF_POLICY = "default-src 'none'; object-src 'self'; style-src 'unsafe-inline'; img-src data:"
_STALE_SHOWN = 20


def health(deps: AppDeps) -> tuple[dict[str, Any], int]:
    """What is true now: the index being served (and any version refused), the model circuit."""
    body: dict[str, Any] = {"status": "ok"}
    try:
        state = deps.handle.get()
    except UserError as exc:
        return {"status": "error", "index": {"error": str(exc)}}, 503
    idx = state.index
    stale = [d.source for d in idx.documents if d.stale]
    body["index"] = {
        "version": idx.version,
        "chunks": len(idx.chunks),
        "documents": len(idx.documents),
        "stale_documents": len(stale),
        "stale": stale[:_STALE_SHOWN],
    }
    rejected = deps.handle.rejected
    if rejected is not None:
        body["index"]["rejected"] = {"version": rejected[0], "error": rejected[1]}
        body["status"] = "degraded"  # a newer version exists but cannot be served
    if deps.llm is None:
        body["llm"] = {"reachable": False, "state": "none"}
        body["status"] = "degraded"
    else:
        body["llm"] = deps.llm.health()
        if deps.server is not None:
            body["llm"]["embedded"] = deps.server.status()
        if not body["llm"]["reachable"]:
            body["status"] = "degraded"  # answers fall back to quoted passages
    return body, 200


def add_routes(app: FastAPI, deps: AppDeps) -> None:
    @app.get("/healthz")
    def healthz() -> JSONResponse:
        body, code = health(deps)
        return JSONResponse(body, status_code=code, headers={"Cache-Control": "no-store"})

    @app.api_route("/files/{sha256}", methods=["GET", "HEAD"])
    def indexed_file(sha256: str) -> Response:
        if not re.fullmatch(r"[0-9a-f]{64}", sha256):
            return JSONResponse({"detail": "not an indexed file"}, status_code=404)
        for d in deps.handle.get().index.documents:
            if d.sha256 != sha256:
                continue
            path = indexed_path(d)
            if not path.is_file():
                break
            headers = {
                "Content-Disposition": content_disposition(path.name),
                "Content-Security-Policy": _PDF_POLICY if d.kind == "pdf" else _SANDBOX,
                "Cache-Control": "private, max-age=300",
            }
            media = _MEDIA.get(d.kind, "text/plain; charset=utf-8")
            return FileResponse(path, media_type=media, headers=headers)
        return JSONResponse({"detail": "not an indexed file"}, status_code=404)
