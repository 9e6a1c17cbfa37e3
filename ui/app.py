"""The Gradio chat UI, mounted in a FastAPI app with the routes an HMI integration needs.

Routes: ``/`` the chat (``/?embed=1`` compact HMI mode; ``equipment=`` and ``lang=`` set context),
``/files/{sha256}`` an indexed original file (open at a page with ``#page=N``), ``/healthz``.
Every response carries ``Content-Security-Policy: frame-ancestors ...`` from the settings.
"""

from __future__ import annotations

import html
import json
import logging
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gradio as gr
from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse

from chatbot.answer import AnswerResult, Citation
from chatbot.app import AppDeps
from index.errors import UserError

from .feedback import FeedbackStore
from .files import PageImages, indexed_path
from .ratelimit import RateLimiter

log = logging.getLogger(__name__)

CSS = """
:root, .gradio-container { --body-text-size: 18px; }
.gradio-container { max-width: 100% !important; color: #000; }
button, .gr-button { min-height: 48px !important; min-width: 48px; font-size: 18px !important; font-weight: 600; }
textarea, input[type=text] { min-height: 48px !important; font-size: 18px !important; }
#send { background: #0b3d91 !important; color: #fff !important; border: 2px solid #000 !important; }
#chat .message { font-size: 18px; line-height: 1.45; }
#chat a.cite, #chat a[href^="#cite-"] { display: inline-block; min-width: 44px; min-height: 44px; line-height: 44px;
  text-align: center; font-weight: 700; color: #0b3d91; text-decoration: underline; }
#chat .chips a { min-width: auto; padding: 0 8px; }
.safety { border: 3px solid; border-radius: 6px; padding: 8px 10px; margin: 6px 0; font-weight: 600; }
.safety-danger { background: #b00020; color: #fff; border-color: #600; }
.safety-danger a { color: #fff !important; }
.safety-warning { background: #ffb000; color: #000; border-color: #000; }
.safety-caution { background: #fff3b0; color: #000; border-color: #8a6d00; }
.note { background: #e8eefc; border-left: 6px solid #0b3d91; padding: 6px 10px; margin: 6px 0; }
.abstain { background: #f1f1f1; border-left: 6px solid #555; padding: 6px 10px; }
.src-head { font-size: 18px; }
.passage { white-space: pre-wrap; font-family: ui-monospace, monospace; font-size: 15px; background: #fafafa;
  border: 1px solid #999; padding: 8px; max-height: 320px; overflow: auto; color: #000; }
.passage mark { background: #ffe14d; color: #000; }
.open-pdf { display: inline-block; margin-top: 8px; padding: 10px 14px; border: 2px solid #0b3d91; border-radius: 6px;
  font-weight: 700; color: #0b3d91; min-height: 44px; }
.hidden-box { display: none !important; }
footer { display: none !important; }
body.embed #header, body.embed #comment-row { display: none !important; }
body.embed .gradio-container { padding: 4px !important; }
body.embed #main { flex-direction: column !important; }
body.embed #chat { height: 46vh !important; }
body.embed #page-image { max-height: 40vh; }
"""

JS_ON_LOAD = """
() => {
  const p = new URLSearchParams(window.location.search);
  if (p.get('embed') && p.get('embed') !== '0') document.body.classList.add('embed');
  if (!window.__opassistCite) {
    window.__opassistCite = true;
    document.addEventListener('click', (e) => {
      const a = e.target.closest('a[href^="#cite-"]');
      if (!a) return;
      e.preventDefault();
      e.stopPropagation();
      const box = document.querySelector('#cite-select textarea, #cite-select input');
      if (!box) return;
      box.value = a.getAttribute('href').slice(6) + '@' + Date.now();
      box.dispatchEvent(new Event('input', {bubbles: true}));
    }, true);
  }
}
"""


@dataclass
class SessionState:
    messages: list[dict[str, Any]] = field(default_factory=list)
    history: list[tuple[str, str]] = field(default_factory=list)
    results: list[AnswerResult] = field(default_factory=list)
    msg_to_result: dict[int, int] = field(default_factory=dict)
    equipment: str | None = None
    lang: str | None = None
    embed: bool = False
    last_feedback_id: int | None = None


# ------------------------------------------------------------------ rendering
_CITE = re.compile(r"\[(\d{1,2})\]")


def _linked(text: str, msg: int) -> str:
    esc = html.escape(text).replace("\n", "<br>")
    return _CITE.sub(lambda m: f'<a class="cite" href="#cite-{msg}-{m.group(1)}">[{m.group(1)}]</a>', esc)


def _with_level(level: str, text: str) -> str:
    return text if text.upper().startswith(level) else f"{level}: {text}"


def _where(c: Citation) -> str:
    page = f"p. {c.page}" if c.page else ""
    return " — ".join(x for x in (c.title, page) if x)


def render_answer(r: AnswerResult, msg: int) -> str:
    parts: list[str] = []
    for s in r.safety:
        parts.append(
            f'<div class="safety safety-{s.level.lower()}">⚠ {html.escape(_with_level(s.level, s.text))} '
            f'<a class="cite" href="#cite-{msg}-{s.n}">[{s.n}]</a></div>'
        )
    if r.abstained:
        parts.append(f'<div class="abstain">{html.escape(r.answer)}</div>')
        if r.passages:
            chips = " ".join(
                f'<a href="#cite-{msg}-{c.n}">[{c.n}] {html.escape(_where(c))}</a>' for c in r.passages[:3]
            )
            parts.append(f'<div class="chips">Closest passages: {chips}</div>')
    else:
        parts.append(f'<div class="answer">{_linked(r.answer, msg)}</div>')
        if r.llm_error:
            parts.append(
                f'<div class="note">The language model is unavailable ({html.escape(r.llm_error)}); '
                "the answer above is quoted from the manual.</div>"
            )
        if r.citations:
            chips = " ".join(
                f'<a href="#cite-{msg}-{c.n}">[{c.n}] {html.escape(_where(c))}</a>' for c in r.citations
            )
            parts.append(f'<div class="chips">Sources: {chips}</div>')
    return "\n".join(parts)


def _highlight(text: str, quote: str) -> str:
    if quote:
        words = [re.escape(w) for w in quote.split()[:40]]
        m = re.search(r"\s+".join(words), text) if words else None
        if m:
            return (
                html.escape(text[: m.start()])
                + "<mark>"
                + html.escape(m.group(0))
                + "</mark>"
                + html.escape(text[m.end() :])
            )
    return html.escape(text)


def render_source(c: Citation, file_url: str | None) -> str:
    bits = [html.escape(c.source)]
    if c.page:
        label = (
            f' (printed "{html.escape(c.page_label)}")'
            if c.page_label and c.page_label != str(c.page)
            else ""
        )
        bits.append(f"page {c.page}{label}")
    if c.section:
        bits.append(html.escape(c.section))
    link = ""
    if file_url:
        at = f"#page={c.page}" if c.page else ""
        link = (
            f'<a class="open-pdf" href="{file_url}{at}" target="_blank" rel="noopener">'
            f"Open the original{' at page ' + str(c.page) if c.page else ''}</a>"
        )
    return (
        f'<div class="src-head"><b>[{c.n}] {html.escape(c.title)}</b><br>{" · ".join(bits)}</div>'
        f'<div class="passage">{_highlight(c.text, c.quote)}</div>{link}'
    )


# ------------------------------------------------------------------ the app
class UI:
    def __init__(self, deps: AppDeps) -> None:
        self.deps = deps
        s = deps.settings.ui
        self.s = s
        self.limiter = RateLimiter(s.rate_per_minute, s.rate_burst)
        self.pages = PageImages(s.cache_dir, s.page_scale)
        self.feedback = FeedbackStore(s.feedback_db)

    # ---------------------------------------------------------------- helpers
    def _doc(self, source: str) -> Any:
        for d in self.deps.handle.get().index.documents:
            if d.source == source:
                return d
        return None

    def source_view(self, c: Citation) -> tuple[str, str | None]:
        doc = self._doc(c.source)
        url = f"/files/{doc.sha256}" if doc is not None else None
        img = self.pages.image(doc, c.page, c.quote) if doc is not None and c.page else None
        return render_source(c, url), (str(img) if img else None)

    def _check(self, question: str, request: gr.Request | None) -> str:
        q = (question or "").strip()
        if not q:
            raise gr.Error("Type a question first.")
        if len(q) > self.s.max_question_chars:
            raise gr.Error(
                f"The question is too long ({len(q)} characters; at most {self.s.max_question_chars}). "
                "Please shorten it."
            )
        key = getattr(request, "session_hash", None) or (
            request.client.host if request and request.client else "anon"
        )
        ok, wait = self.limiter.allow(str(key))
        if not ok:
            raise gr.Error(f"Too many questions from this screen. Please wait {wait:.0f} s.")
        return q

    # ---------------------------------------------------------------- events
    def on_load(self, state: SessionState, request: gr.Request) -> tuple[SessionState, str]:
        params = dict(request.query_params) if request is not None else {}
        state.embed = params.get("embed", "0") not in ("0", "", "false")
        state.lang = params.get("lang") or None
        eq = params.get("equipment") or None
        idx = self.deps.handle.get().index
        status = f"{len(idx.documents)} manuals · index {idx.version}"
        if eq:
            if eq in self.deps.settings.retrieval.equipment:
                state.equipment = eq
                status += f" · machine: **{html.escape(eq)}**"
            else:
                status += f" · unknown machine tag '{html.escape(eq)}': searching all manuals"
        return state, status

    def respond(self, question: str, state: SessionState, request: gr.Request) -> Iterator[tuple[Any, ...]]:
        q = self._check(question, request)
        msg = len(state.messages) + 1  # index of the assistant message
        state.messages = [
            *state.messages,
            {"role": "user", "content": html.escape(q)},
            {"role": "assistant", "content": "<i>Searching the manuals…</i>"},
        ]
        yield state.messages, "", gr.skip(), gr.skip(), state
        generated = ""
        lead = ""
        last = 0.0
        result: AnswerResult | None = None
        try:
            for ev in self.deps.answerer.stream(
                q, history=state.history, equipment=state.equipment, lang=state.lang
            ):
                if ev.kind == "retrieved" and ev.retrieval is not None:
                    n = len(ev.retrieval.passages)
                    state.messages[-1]["content"] = f"<i>Found {n} passages; writing the answer…</i>"
                    yield state.messages, gr.skip(), gr.skip(), gr.skip(), state
                elif ev.kind == "lead":
                    lead = _linked(ev.text, msg)
                    state.messages[-1]["content"] = f'<div class="answer">{lead}</div>'
                    yield state.messages, gr.skip(), gr.skip(), gr.skip(), state
                elif ev.kind == "token":
                    generated += ev.text
                    if time.monotonic() - last > 0.15:
                        last = time.monotonic()
                        state.messages[-1]["content"] = (
                            f'<div class="answer">{lead}</div>' if lead else ""
                        ) + f'<span class="streaming">{html.escape(generated)}</span>'
                        yield state.messages, gr.skip(), gr.skip(), gr.skip(), state
                elif ev.kind == "done":
                    result = ev.result
        except UserError as exc:
            state.messages[-1]["content"] = f'<div class="note">{html.escape(str(exc))}</div>'
            yield state.messages, gr.skip(), gr.skip(), gr.skip(), state
            raise gr.Error(str(exc)) from exc
        except Exception as exc:
            log.exception("answering failed")
            state.messages[-1]["content"] = (
                '<div class="note">Something went wrong; the admin can see the log.</div>'
            )
            yield state.messages, gr.skip(), gr.skip(), gr.skip(), state
            raise gr.Error("Something went wrong; the admin can see the log.") from exc
        assert result is not None
        state.results.append(result)
        state.msg_to_result[msg] = len(state.results) - 1
        state.history.append((q, result.answer))
        state.messages[-1]["content"] = render_answer(result, msg)
        first = result.citations or result.passages[:1]
        src, img = self.source_view(first[0]) if first else ("", None)
        yield state.messages, gr.skip(), src, img, state

    def on_cite(self, value: str, state: SessionState) -> tuple[Any, Any]:
        m = re.match(r"(\d+)-(\d+)", value or "")
        if not m:
            return gr.skip(), gr.skip()
        msg, n = int(m.group(1)), int(m.group(2))
        ri = state.msg_to_result.get(msg)
        if ri is None:
            return gr.skip(), gr.skip()
        r = state.results[ri]
        cite = next((c for c in r.citations if c.n == n), None) or (
            r.passages[n - 1] if 0 < n <= len(r.passages) else None
        )
        if cite is None:
            return gr.skip(), gr.skip()
        return self.source_view(cite)

    def on_like(self, state: SessionState, data: gr.LikeData, request: gr.Request) -> None:
        ri = state.msg_to_result.get(int(data.index if isinstance(data.index, int) else data.index[0]))
        if ri is None:
            return
        r = state.results[ri]
        liked = data.liked if isinstance(data.liked, bool) else str(data.liked).lower() in ("like", "true")
        state.last_feedback_id = self.feedback.record(
            session=str(getattr(request, "session_hash", "") or ""),
            rating=1 if liked else -1,
            question=r.question,
            answer=r.answer,
            abstained=r.abstained,
            citations=[
                {"n": c.n, "source": c.source, "page": c.page, "section": c.section} for c in r.citations
            ],
            index_version=r.index_version,
            equipment=state.equipment or "",
        )

    def on_comment(self, comment: str, state: SessionState, request: gr.Request) -> str:
        comment = (comment or "").strip()[:2000]
        if not comment or not state.results:
            return ""
        if state.last_feedback_id is not None:
            self.feedback.add_comment(state.last_feedback_id, comment)
        else:
            r = state.results[-1]
            state.last_feedback_id = self.feedback.record(
                session=str(getattr(request, "session_hash", "") or ""),
                rating=0,
                comment=comment,
                question=r.question,
                answer=r.answer,
                abstained=r.abstained,
                citations=[{"n": c.n, "source": c.source, "page": c.page} for c in r.citations],
                index_version=r.index_version,
                equipment=state.equipment or "",
            )
        gr.Info("Thank you — your comment was saved.")
        return ""

    def ask_api(self, question: str, equipment: str = "", lang: str = "", request: gr.Request = None) -> dict:  # type: ignore[assignment]
        """One question, one JSON answer with citations (for HMI integrations and tests)."""
        q = self._check(question, request)
        try:
            r = self.deps.answerer.answer(q, equipment=equipment or None, lang=lang or None)
        except UserError as exc:
            raise gr.Error(str(exc)) from exc
        from chatbot.ask import public_json

        return public_json(r)

    # ---------------------------------------------------------------- layout
    def blocks(self) -> gr.Blocks:
        with gr.Blocks(title=self.s.title, fill_height=True) as demo:
            state = gr.State(SessionState())
            with gr.Row(elem_id="header"):
                gr.Markdown(f"### {html.escape(self.s.title)}")
                status = gr.Markdown("", elem_id="status")
            with gr.Row(elem_id="main", equal_height=False):
                with gr.Column(scale=3, elem_id="chat-col"):
                    chat = gr.Chatbot(
                        elem_id="chat",
                        height="62vh",
                        show_label=False,
                        sanitize_html=True,
                        feedback_options=("Like", "Dislike"),
                        render_markdown=True,
                        placeholder="Ask about a fault code, a procedure, a setting or a safety rule.",
                    )
                    with gr.Row(elem_id="ask-row", equal_height=True):
                        q = gr.Textbox(
                            placeholder="Your question, e.g. What does E-107 mean?",
                            show_label=False,
                            scale=5,
                            elem_id="question",
                            lines=1,
                            max_lines=3,
                            autofocus=True,
                        )
                        send = gr.Button("Ask", variant="primary", scale=1, elem_id="send", min_width=100)
                    with gr.Row(elem_id="comment-row", equal_height=True):
                        comment = gr.Textbox(
                            placeholder="Comment on the last answer (optional)",
                            show_label=False,
                            scale=5,
                            elem_id="comment",
                            lines=1,
                        )
                        comment_btn = gr.Button(
                            "Send comment", scale=1, elem_id="send-comment", min_width=100
                        )
                with gr.Column(scale=2, elem_id="sources-col"):
                    src = gr.HTML(
                        "<i>Tap a citation like [1] to see the page it comes from.</i>", elem_id="source-info"
                    )
                    page = gr.Image(
                        label="Page as printed",
                        type="filepath",
                        format="png",
                        elem_id="page-image",
                        interactive=False,
                        buttons=["fullscreen"],
                    )
            cite = gr.Textbox(elem_id="cite-select", visible="hidden", show_label=False, container=False)

            demo.load(self.on_load, inputs=[state], outputs=[state, status], api_visibility="private")
            for trigger in (send.click, q.submit):
                trigger(
                    self.respond,
                    inputs=[q, state],
                    outputs=[chat, q, src, page, state],
                    api_visibility="private",
                    show_progress="hidden",
                )
            cite.input(
                self.on_cite,
                inputs=[cite, state],
                outputs=[src, page],
                api_visibility="private",
                show_progress="hidden",
            )
            chat.like(self.on_like, inputs=[state], outputs=None, api_visibility="private")
            comment_btn.click(
                self.on_comment, inputs=[comment, state], outputs=[comment], api_visibility="private"
            )
            gr.api(self.ask_api, api_name="ask")
        demo.queue(default_concurrency_limit=self.s.concurrency, max_size=200)
        return demo


def frame_ancestors_header(origins: list[str]) -> str:
    return "frame-ancestors " + " ".join(origins or ["'self'"])


def build_ui(deps: AppDeps) -> FastAPI:
    ui = UI(deps)
    app = FastAPI(title="opassist", docs_url=None, redoc_url=None)
    csp = frame_ancestors_header(deps.settings.ui.frame_ancestors)

    @app.middleware("http")
    async def framing_policy(request: Request, call_next: Any) -> Any:
        response = await call_next(request)
        response.headers["Content-Security-Policy"] = csp
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response

    @app.get("/healthz")
    def healthz() -> JSONResponse:
        body: dict[str, Any] = {"status": "ok"}
        try:
            idx = deps.handle.get().index
            body["index"] = {
                "version": idx.version,
                "chunks": len(idx.chunks),
                "documents": len(idx.documents),
            }
        except UserError as exc:
            body["status"] = "error"
            body["index"] = {"error": str(exc)}
        llm = deps.llm
        reachable = llm.healthy() if llm is not None else False
        body["llm"] = {
            "reachable": reachable,
            "base_url": llm.base_url if llm else None,
            "embedded": deps.server is not None,
        }
        if not reachable and body["status"] == "ok":
            body["status"] = "degraded"  # answers fall back to quoted passages
        return JSONResponse(body, status_code=200 if body["status"] != "error" else 503)

    @app.get("/files/{sha256}")
    def indexed_file(sha256: str) -> Any:
        if not re.fullmatch(r"[0-9a-f]{64}", sha256):
            return JSONResponse({"detail": "not an indexed file"}, status_code=404)
        for d in deps.handle.get().index.documents:
            if d.sha256 == sha256:
                path = indexed_path(d)
                if not path.is_file():
                    break
                media = {"pdf": "application/pdf", "html": "text/html", "markdown": "text/markdown"}.get(
                    d.kind, "text/plain"
                )
                headers = {"Content-Disposition": f'inline; filename="{Path(d.source).name}"'}
                if d.kind == "html":  # never let a manual's HTML run scripts in our origin
                    headers["Content-Security-Policy"] = "sandbox; " + csp
                return FileResponse(path, media_type=media, headers=headers)
        return JSONResponse({"detail": "not an indexed file"}, status_code=404)

    theme = gr.themes.Base(primary_hue="blue", neutral_hue="gray", text_size="lg", radius_size="sm")
    demo = ui.blocks()
    app.state.ui = ui
    return gr.mount_gradio_app(
        app,
        demo,
        path="",
        footer_links=[],
        css=CSS,
        js=JS_ON_LOAD,
        theme=theme,
        allowed_paths=[str(Path(deps.settings.ui.cache_dir).resolve())],
        show_error=True,
    )


def dumps_public(r: AnswerResult) -> str:
    from chatbot.ask import public_json

    return json.dumps(public_json(r), ensure_ascii=False)
