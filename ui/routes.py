"""The UI's plain HTTP routes: ``/healthz``, ``/files/{sha256}`` (the indexed originals) and the
read-only library (``/library``, ``/library/doc/{sha256}?page=N``, ``/library/image/{sha256}/{page}``).

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

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response

from chatbot.equipment import machines, norm
from chatbot.wiring import AppDeps
from core.errors import UserError
from index.types import DocumentRecord

from .files import PageImages, indexed_path
from .library import document_page, library_page, rows
from .security import ClientAddress, content_disposition

_MEDIA = {"pdf": "application/pdf", "html": "text/html; charset=utf-8"}
# Office files are downloaded (opened in the operator's Office viewer), never shown in the app's origin.
_OFFICE = {
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "xls": "application/vnd.ms-excel",
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "csv": "text/csv; charset=utf-8",
}
_SANDBOX = "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:"
_PDF_POLICY = "default-src 'none'; object-src 'self'; style-src 'unsafe-inline'; img-src data:"
_STALE_SHOWN = 20


def health(deps: AppDeps, equipment: str | None = None) -> tuple[dict[str, Any], int]:
    """What is true now: the index being served (and any version refused), the machines and how many
    manuals each has, the model circuit. With ``equipment``, an HMI link's tag is checked: 404 when
    no manual carries it."""
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
    known = machines(idx.documents, deps.settings.retrieval.equipment)
    body["equipment"] = {t: len(srcs) for t, srcs in known.items()}
    empty = [t for t, srcs in known.items() if not srcs]
    if empty:  # a tag of the settings that no manual matches: every HMI screen using it is refused
        body["equipment_without_manuals"] = empty
        body["status"] = "degraded"
    if equipment is not None:
        n = len(known.get(norm(equipment), []))
        body["equipment_check"] = {"tag": equipment, "manuals": n}
        if not n:
            body["status"] = "unknown_equipment"
            return body, 404
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


# what only ui.health_details_from may read: where the model server is, its process, error texts
_DETAILS = {"llm": ("base_url", "embedded", "last_error"), "index": ("error",)}


def public_health(body: dict[str, Any]) -> dict[str, Any]:
    """``body`` without the details (URLs, pids, error texts) an anonymous client has no need of."""
    out = dict(body)
    for section, keys in _DETAILS.items():
        if isinstance(out.get(section), dict):
            out[section] = {k: v for k, v in out[section].items() if k not in keys}
    if isinstance(out.get("index"), dict) and isinstance(out["index"].get("rejected"), dict):
        out["index"]["rejected"] = {"version": out["index"]["rejected"].get("version")}
    return out


def add_routes(app: FastAPI, deps: AppDeps) -> None:
    client = ClientAddress(deps.settings.ui.trusted_proxies)
    details = ClientAddress(deps.settings.ui.health_details_from)

    @app.get("/healthz")
    def healthz(request: Request, equipment: str | None = None) -> JSONResponse:
        body, code = health(deps, equipment)
        who = client(request.client.host if request.client else None, request.headers)
        if not details.is_trusted(who):
            body = public_health(body)
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
            office = _OFFICE.get(d.kind) or (_OFFICE["xlsx"] if path.suffix.lower() == ".xlsm" else None)
            headers = {
                "Content-Disposition": content_disposition(path.name, inline=office is None),
                "Content-Security-Policy": _PDF_POLICY if d.kind == "pdf" else _SANDBOX,
                "Cache-Control": "private, max-age=300",
            }
            media = office or _MEDIA.get(d.kind, "text/plain; charset=utf-8")
            return FileResponse(path, media_type=media, headers=headers)
        return JSONResponse({"detail": "not an indexed file"}, status_code=404)


def _find(deps: AppDeps, sha256: str) -> DocumentRecord | None:
    if not re.fullmatch(r"[0-9a-f]{64}", sha256):
        return None
    return next((d for d in deps.handle.get().index.documents if d.sha256 == sha256), None)


def add_library_routes(app: FastAPI, deps: AppDeps, pages: PageImages) -> None:
    """The read-only library: every indexed manual, searchable, any page opens."""
    title = deps.settings.ui.title
    no_store = {"Cache-Control": "no-store"}

    @app.get("/library")
    def library(q: str = "", equipment: str = "") -> HTMLResponse:
        idx = deps.handle.get().index
        found = rows(idx.documents, deps.settings.retrieval.equipment, q[:200], equipment[:64])
        html_text = library_page(found, len(idx.documents), idx.version, q[:200], equipment[:64], title)
        return HTMLResponse(html_text, headers=no_store)

    @app.get("/library/doc/{sha256}")
    def library_doc(sha256: str, page: int = 1) -> Response:
        doc = _find(deps, sha256)
        if doc is None:
            return JSONResponse({"detail": "not an indexed file"}, status_code=404)
        idx = deps.handle.get().index
        rows_ = idx.rows_for_sources([doc.source])
        chunks = [idx.chunks[int(r)] for r in rows_]
        return HTMLResponse(document_page(doc, chunks, page, doc.kind == "pdf"), headers=no_store)

    @app.get("/library/image/{sha256}/{page}")
    def library_image(sha256: str, page: int) -> Response:
        doc = _find(deps, sha256)
        img = pages.image(doc, page) if doc is not None else None
        if img is None:
            return JSONResponse({"detail": "no such page"}, status_code=404)
        return FileResponse(img, media_type="image/png", headers={"Cache-Control": "private, max-age=300"})
