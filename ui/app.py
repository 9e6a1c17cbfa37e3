"""The Gradio chat UI, mounted in a FastAPI app with the routes an HMI integration needs.

Routes: ``/`` the chat (``/?embed=1`` compact HMI mode; ``equipment=`` and ``lang=`` set context),
``/files/{sha256}`` an indexed original file and ``/healthz`` (both in ui/routes.py). Every
response carries the security headers of ui/security.py.
"""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gradio as gr
from fastapi import FastAPI

from chatbot.equipment import UnknownEquipment, machines, norm
from chatbot.result import AnswerResult, Citation, Event, public_dict
from chatbot.wiring import AppDeps
from core import language as langmod
from core.errors import UserError

from .admin import add_admin_routes
from .chat import Answering, SessionState, comment, like
from .files import PageImages
from .i18n import t, ui_lang
from .library import render_table
from .library import rows as library_rows
from .observe import Observer
from .page_js import JS_ON_LOAD
from .ratelimit import RateLimiter
from .render import (
    CSS,
    _linked,
    render_answer,
    render_found,
    render_quote,
    render_retry,
    render_source,
    render_streaming,
    writing_line,
)
from .routes import add_library_routes, add_routes
from .security import ClientAddress, SecurityHeaders, frame_ancestors

log = logging.getLogger(__name__)


# ------------------------------------------------------------------ the app
class UI:
    def __init__(self, deps: AppDeps) -> None:
        self.deps = deps
        s = deps.settings.ui
        self.s = s
        self.limiter = RateLimiter(s.rate_per_minute, s.rate_burst)
        self.client_address = ClientAddress(s.trusted_proxies)
        self.pages = PageImages(s.cache_dir, s.page_scale)
        self.observer = Observer.build(deps)
        self.records, self.metrics = self.observer.records, self.observer.metrics

    # ---------------------------------------------------------------- helpers
    def _doc(self, source: str) -> Any:
        for d in self.deps.handle.get().index.documents:
            if d.source == source:
                return d
        return None

    def source_view(self, c: Citation, lang: str | None = None) -> tuple[str, str | None]:
        doc = self._doc(c.source)
        url = f"/files/{doc.sha256}" if doc is not None else None
        img = self.pages.image(doc, c.page, c.quote) if doc is not None and c.page else None
        return render_source(c, url, lang), (str(img) if img else None)

    def _check(self, question: str, request: gr.Request | None, lang: str | None = None) -> str:
        q = (question or "").strip()
        if not q:
            self.metrics.refused.inc()
            raise gr.Error(t("type_first", lang))
        if len(q) > self.s.max_question_chars:
            self.metrics.refused.inc()
            raise gr.Error(t("too_long", lang, n=len(q), max=self.s.max_question_chars))
        # Per client address, not per browser session: a new session must not reset the limit.
        peer = request.client.host if request is not None and request.client else None
        headers = dict(request.headers) if request is not None else {}
        ok, wait = self.limiter.allow(self.client_address(peer, headers))
        if not ok:
            self.metrics.rate_limited.inc()
            raise gr.Error(t("rate_limited", lang, s=f"{wait:.0f}"))
        return q

    # ---------------------------------------------------------------- events
    def on_load(
        self, state: SessionState, request: gr.Request
    ) -> tuple[SessionState, str, Any, Any, Any, Any]:
        params = dict(request.query_params) if request is not None else {}
        state.embed = params.get("embed", "0") not in ("0", "", "false")
        state.lang = params.get("lang") or None
        ul = state.lang
        eq = (params.get("equipment") or "").strip() or None
        idx = self.deps.handle.get().index
        status = f"{t('manuals_status', ul, n=len(idx.documents))} · index {idx.version}"
        banner: Any = gr.update(value="", visible=False)
        if eq:
            # The tag is kept even when no manual carries it: questions are then refused with the
            # reason, never answered from every manual (a mistyped tag must not widen the search).
            state.equipment = eq
            known = machines(idx.documents, self.deps.settings.retrieval.equipment)
            n = len(known.get(norm(eq), []))
            if n:
                status += f" · {t('machine', ul)}: **{html.escape(eq)}** ({n})"
            else:
                others = ", ".join(html.escape(tag) for tag, s in known.items() if s) or "-"
                msg = t("unknown_machine", ul, tag=f"<b>{html.escape(eq)}</b>", known=others)
                status += f" · unknown machine '{html.escape(eq)}'"
                banner = gr.update(
                    value=f'<div class="unknown-machine" role="alert">{msg}</div>', visible=True
                )
        return (
            state,
            status,
            banner,
            gr.update(placeholder=t("placeholder", ul)),
            gr.update(value=t("ask", ul)),
            gr.update(value="✕ " + t("close", ul)),
        )

    def library_html(self, q: str = "") -> str:
        idx = self.deps.handle.get().index
        found = library_rows(idx.documents, self.deps.settings.retrieval.equipment, q or "")
        return render_table(found, len(idx.documents), idx.version)

    def respond(self, question: str, state: SessionState, request: gr.Request) -> Iterator[tuple[Any, ...]]:
        q = self._check(question, request, state.lang)
        # the operator's language for everything around the manual's words: lang= or the question's
        ul = state.lang or langmod.detect(q)
        state.ui_lang = ul
        a = Answering(q, len(state.messages) + 1, ul)
        state.messages = [
            *state.messages,
            {"role": "user", "content": html.escape(q)},
            {"role": "assistant", "content": writing_line("searching", ul)},
        ]
        yield state.messages, "", gr.skip(), gr.skip(), state
        events = self.deps.answerer.stream(
            q, history=state.history, equipment=state.equipment, lang=state.lang
        )
        yield from self._advance(a, events, state, request)

    def _advance(
        self, a: Answering, events: Iterator[Event], state: SessionState, request: gr.Request
    ) -> Iterator[tuple[Any, ...]]:
        """Show ``a``'s events as they come: passages, quote, checked sentences, the answer."""
        result: AnswerResult | None = None
        msg, ul, box = a.msg, a.lang, state.messages[a.msg]
        try:
            for ev in events:
                if ev.kind == "retrieved" and ev.retrieval is not None:
                    # The passages are shown at once, before any model time: a slow or hung model
                    # never keeps the operator from the manual.
                    a.found = [Citation.of(i, p) for i, p in enumerate(ev.retrieval.passages, 1)]
                    if not a.found:
                        continue
                    state.found[msg] = a.found  # a citation tapped while the model writes opens too
                    box["content"] = render_found(a.found, msg, ul)
                    src, img = self.source_view(a.found[0], ul)
                    yield state.messages, gr.skip(), src, img, state
                elif ev.kind in ("lead", "sentence"):
                    # The quote at once; then each generated sentence only after the grounding check
                    # passed it, in the generated frame: the model's raw text is never on screen.
                    if ev.kind == "lead":
                        a.lead = _lead_html(ev.text, a.found, msg, ul)
                    else:
                        a.sentences.append(ev.text)
                    box["content"] = render_streaming(a.lead, a.sentences, msg, ul)
                    if ev.kind == "lead" and ev.model_next:
                        # logged now: a replica that dies while the model writes loses no quote shown
                        n = re.search(r"\[(\d+)\]$", ev.text)
                        cited = next((c for c in a.found if n and c.n == int(n.group(1))), None)
                        a.answer_id = self.observer.quoted(
                            a.question, ev.text, cited, request, state.equipment, ul
                        )
                    yield state.messages, gr.skip(), gr.skip(), gr.skip(), state
                elif ev.kind == "done":
                    result = ev.result
        except UserError as exc:
            text = str(exc)
            if isinstance(exc, UnknownEquipment) and ui_lang(ul) != "en":
                known = machines(
                    self.deps.handle.get().index.documents, self.deps.settings.retrieval.equipment
                )
                text = t(
                    "unknown_machine", ul, tag=exc.tag, known=", ".join(k for k, v in known.items() if v)
                )
            box["content"] = f'<div class="note">{html.escape(text)}</div>'
            self.observer.refused(a.question, text, request, state.equipment, ul)
            yield state.messages, gr.skip(), gr.skip(), gr.skip(), state
            raise gr.Error(text) from exc
        except Exception as exc:
            log.exception("answering failed")
            self.metrics.failed.inc()
            # what was already shown stays (the quote is the manual's own words), with the failure
            box["content"] = render_streaming(a.lead, a.sentences, msg, ul, done=True) if a.lead else ""
            box["content"] += f'<div class="note">{t("went_wrong", ul)} {render_retry(ul)}</div>'
            yield state.messages, gr.skip(), gr.skip(), gr.skip(), state
            raise gr.Error(t("went_wrong", ul)) from exc
        assert result is not None
        state.results.append(result)
        state.msg_to_result[msg] = len(state.results) - 1
        # logged before the answer is complete on screen: a replica that dies now loses no shown answer
        answer_id = self.observer.answered(result, request, state.equipment, a.answer_id)
        if answer_id is not None:
            state.answer_ids[len(state.results) - 1] = answer_id
        state.history.append(result.turn())  # what it established, not its wording (chatbot/query.py)
        box["content"] = render_answer(result, msg, ul)
        first = result.citations or result.passages[:1]
        src, img = self.source_view(first[0], ul) if first else ("", None)
        yield state.messages, gr.skip(), src, img, state

    def on_cite(self, value: str, state: SessionState) -> tuple[Any, Any]:
        """A citation tapped in answer ``msg``: its source and page, also while the answer is written."""
        m = re.match(r"(\d+)-(\d+)", value or "")
        if not m:
            return gr.skip(), gr.skip()
        msg, n = int(m.group(1)), int(m.group(2))
        ri = state.msg_to_result.get(msg)
        cite: Citation | None = None
        if ri is not None:
            r = state.results[ri]
            cite = next((c for c in r.citations if c.n == n), None) or next(
                (c for c in r.passages if c.n == n), None
            )
        if cite is None:
            cite = next((c for c in state.found.get(msg, []) if c.n == n), None)
        if cite is None:
            return gr.skip(), gr.skip()
        return self.source_view(cite, state.ui_lang)

    def on_like(self, state: SessionState, data: gr.LikeData, request: gr.Request) -> None:
        like(self.observer, state, data, request)

    def on_comment(self, text: str, state: SessionState, request: gr.Request) -> str:
        return comment(self.observer, text, state, request)

    def ask_api(self, question: str, equipment: str = "", lang: str = "", request: gr.Request = None) -> dict:  # type: ignore[assignment]
        """One question, one JSON answer with citations (for HMI integrations and tests)."""
        q = self._check(question, request)
        try:
            r = self.deps.answerer.answer(q, equipment=equipment or None, lang=lang or None)
        except UserError as exc:
            self.observer.refused(q, str(exc), request, equipment or None, lang)
            raise gr.Error(str(exc)) from exc
        self.observer.answered(r, request, equipment or None)
        return public_dict(r)

    # ---------------------------------------------------------------- layout
    def blocks(self) -> gr.Blocks:
        with gr.Blocks(title=self.s.title, fill_height=True) as demo:
            state = gr.State(SessionState())
            with gr.Row(elem_id="header"):
                gr.Markdown(f"### {html.escape(self.s.title)}")
                status = gr.Markdown("", elem_id="status")
            banner = gr.HTML("", visible=False, elem_id="machine-banner")
            # the status as one compact line on the HMI panel, where the header is hidden (CSS)
            embed_status = gr.Markdown("", elem_id="embed-status")
            with gr.Tabs(elem_id="tabs"):
                with gr.Tab("Chat", elem_id="chat-tab"), gr.Row(elem_id="main", equal_height=False):
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
                        # only on the HMI panel, where the sources open as an overlay (JS_ON_LOAD, CSS)
                        close = gr.Button("✕ Close", elem_id="close-sources", min_width=120)
                        src = gr.HTML(
                            "<i>Tap a citation like [1] to see the page it comes from.</i>",
                            elem_id="source-info",
                        )
                        page = gr.Image(
                            label="Page as printed",
                            type="filepath",
                            format="png",
                            elem_id="page-image",
                            interactive=False,
                            buttons=["fullscreen"],
                        )
                with gr.Tab("Library", elem_id="library-tab"):
                    with gr.Row(elem_id="library-search-row", equal_height=True):
                        lib_q = gr.Textbox(
                            placeholder="Search manuals by name or machine",
                            show_label=False,
                            scale=5,
                            elem_id="library-search",
                        )
                        lib_btn = gr.Button("Search", scale=1, elem_id="library-search-btn", min_width=100)
                    lib = gr.HTML("", elem_id="library")
            # the citation tapped, set by the page's script (page_js.py): rendered, so that its input
            # exists, and kept off screen by CSS (Gradio's visible="hidden" renders no input at all)
            cite = gr.Textbox(elem_id="cite-select", show_label=False, container=False, max_lines=1)

            demo.load(
                self.on_load,
                inputs=[state],
                outputs=[state, status, banner, q, send, close],
                api_visibility="private",
            )
            status.change(None, inputs=[status], outputs=[embed_status], js="(s) => s")
            demo.load(self.library_html, inputs=None, outputs=[lib], api_visibility="private")
            for trigger in (lib_btn.click, lib_q.submit):
                trigger(self.library_html, inputs=[lib_q], outputs=[lib], api_visibility="private")
            for trigger in (send.click, q.submit):
                trigger(
                    self.respond,
                    inputs=[q, state],
                    outputs=[chat, q, src, page, state],
                    api_visibility="private",
                    show_progress="hidden",
                )
            cite.change(
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


def build_ui(deps: AppDeps) -> FastAPI:
    ui = UI(deps)
    app = FastAPI(title="opassist", docs_url=None, redoc_url=None)
    app.add_middleware(SecurityHeaders, framing=frame_ancestors(deps.settings.ui.frame_ancestors))
    add_routes(app, deps)
    add_library_routes(app, deps, ui.pages)
    add_admin_routes(app, deps, ui.observer)
    if deps.llm is not None:
        deps.llm.start_probe()
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
        max_file_size=0,
    )


def _lead_html(text: str, found: list[Citation], msg: int, lang: str | None) -> str:
    """The streamed lead (“quote” [n]) framed like the final answer."""
    m = re.fullmatch(r"“(.*)” \[(\d+)\]", text, re.S)
    if not m:
        return _linked(text, msg)
    n = int(m.group(2))
    c = next((c for c in found if c.n == n), None)
    quote_lang = langmod.detect(c.text) if c is not None else ""
    return render_quote(
        m.group(1), n, msg, lang, c.page if c else None, c.page_label if c else None, quote_lang
    )
