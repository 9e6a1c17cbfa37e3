"""HTML for the chat: answers with linked citations, safety boxes, flagged passages, source panels.

Everything taken from a manual or the model is escaped here; Gradio's sanitiser runs on top.
"""

from __future__ import annotations

import html
import re

from chatbot.result import AnswerResult, Citation
from core.grammar import has_label

from .library import render_text

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
.safety-notice { background: #e6f0ff; color: #000; border-color: #0b3d91; }
.note { background: #e8eefc; border-left: 6px solid #0b3d91; padding: 6px 10px; margin: 6px 0; }
.flagged { background: #fff0f0; border: 3px dashed #b00020; color: #000; padding: 6px 10px; margin: 6px 0;
  font-weight: 600; }
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
body.embed #tabs > div:first-child:not(.tabitem), body.embed #tabs [role=tablist] { display: none !important; }
.unknown-machine { background: #b00020; color: #fff; border: 3px solid #600; border-radius: 6px; padding: 8px 12px;
  font-size: 18px; font-weight: 700; }
.unknown-machine b { color: #fff; }
table.library { border-collapse: collapse; width: 100%; }
table.library th, table.library td { border-bottom: 1px solid #999; padding: 8px 6px; text-align: left; vertical-align: top; }
table.library th { background: #e8eefc; }
.tag { display: inline-block; background: #0b3d91; color: #fff; border-radius: 4px; padding: 2px 8px; margin: 2px;
  font-weight: 600; }
.warn { color: #8a3b00; font-size: 15px; }
.muted { color: #444; font-size: 15px; }
table.rows { border-collapse: collapse; white-space: normal; }
table.rows td, table.rows th { border: 1px solid #999; padding: 4px 8px; }
"""

_CITE = re.compile(r"\[(\d{1,2})\]")


def _linked(text: str, msg: int) -> str:
    esc = html.escape(text).replace("\n", "<br>")
    return _CITE.sub(lambda m: f'<a class="cite" href="#cite-{msg}-{m.group(1)}">[{m.group(1)}]</a>', esc)


def _with_level(level: str, text: str) -> str:
    """The note as printed when it carries its signal word (in any language), else labelled."""
    return text if has_label(text) else f"{level}: {text}"


def _where(c: Citation) -> str:
    page = f"p. {c.page}" if c.page else (c.page_label or "")
    return ("⚠ " if c.flagged else "") + " — ".join(x for x in (c.title, page) if x)


def flag_note(c: Citation) -> str:
    """The warning shown with a passage the injection screen flagged."""
    return (
        f'<div class="flagged">⚠ Not used for the answer: this passage was flagged because '
        f"{html.escape(c.flagged)}. It is shown as printed; check it against the official manual "
        "before acting on it.</div>"
    )


def render_found(passages: list[Citation], msg: int) -> str:
    """Shown as soon as retrieval is done, before any model text: the passages are there at once."""
    chips = " ".join(f"[{c.n}] {html.escape(_where(c))}" for c in passages[:3])
    return f'<div class="found">Found in the manuals: {chips}</div><i>Writing the answer…</i>'


def render_answer(r: AnswerResult, msg: int) -> str:
    parts: list[str] = []
    for s in r.safety:
        parts.append(
            f'<div class="safety safety-{s.level.lower()}">⚠ {html.escape(_with_level(s.level, s.text))} '
            f'<a class="cite" href="#cite-{msg}-{s.n}">[{s.n}]</a></div>'
        )
    if r.abstained:
        # low confidence: the caveat, then the closest lines quoted with their [n] link
        parts.append(f'<div class="abstain {r.outcome.replace("_", "-")}">{_linked(r.answer, msg)}</div>')
        if r.passages:
            chips = " ".join(
                f'<a href="#cite-{msg}-{c.n}">[{c.n}] {html.escape(_where(c))}</a>' for c in r.passages[:3]
            )
            label = (
                "Closest passages" if r.outcome == "low_confidence" else "Nearest passages (not an answer)"
            )
            parts.append(f'<div class="chips">{label}: {chips}</div>')
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
    for c in r.passages:
        if c.flagged:
            parts.append(
                f'<div class="flagged">⚠ Passage <a href="#cite-{msg}-{c.n}">[{c.n}]</a> was not used for this '
                f"answer: it was flagged because {html.escape(c.flagged)}.</div>"
            )
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
    elif c.page_label:  # a sheet and its rows, a slide: where a page number would be
        bits.append(html.escape(c.page_label))
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
        + (flag_note(c) if c.flagged else "")
        + (
            f'<div class="passage">{render_text(c.text)}</div>'
            if _is_sheet(c.source) and not c.quote
            else f'<div class="passage">{_highlight(c.text, c.quote)}</div>'
        )
        + link
    )


def _is_sheet(source: str) -> bool:
    """Spreadsheet rows are shown as a table where a PDF shows its page image."""
    return source.lower().endswith((".xlsx", ".xlsm", ".xls", ".csv"))
