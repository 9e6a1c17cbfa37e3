"""HTML for the chat: answers with linked citations, safety boxes, flagged passages, source panels.

Everything taken from a manual or the model is escaped here; Gradio's sanitiser runs on top.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence

from chatbot.result import AnswerResult, Citation
from chatbot.sentences import join_sentences
from core.grammar import has_label

from .i18n import language_name, t, ui_lang
from .library import render_text

CSS = """
:root, .gradio-container { --body-text-size: 18px; }
#cite-select { position: fixed !important; left: -10000px !important; top: 0 !important; width: 1px !important;
  height: 1px !important; overflow: hidden !important; }  /* the tapped citation's channel (page_js.py) */
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
a.retry { display: inline-block; min-height: 44px; line-height: 44px; padding: 0 14px; margin-left: 6px;
  border: 2px solid #0b3d91; border-radius: 6px; font-weight: 700; color: #0b3d91; text-decoration: none; }
.frame { font-weight: 700; font-size: 16px; color: #222; margin-top: 4px; }
.lang-tag { display: inline-block; font-weight: 600; font-size: 13px; color: #fff; background: #555; border-radius: 4px;
  padding: 1px 6px; margin-left: 6px; vertical-align: middle; }
blockquote.quote { margin: 4px 0 8px 0; padding: 6px 10px; border-left: 6px solid #0b3d91; background: #f4f7ff;
  font-family: Georgia, "Times New Roman", serif; color: #000; white-space: pre-line; }
.generated { border-top: 1px dashed #777; margin-top: 6px; padding-top: 4px; font-style: italic; }
.generated .frame { font-style: normal; }
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
body:not(.embed) #embed-status, body:not(.embed) #close-sources { display: none !important; }
/* HMI panel (?embed=1): the chat fills the panel above the question row; the sources are an overlay.
   Gradio repeats each custom rule under '.gradio-container… .contain', so these carry !important. */
body.embed { height: 100vh; min-height: 0 !important; }
body.embed :has(#chat-col), body.embed #chat-col { display: flex !important; flex-direction: column !important;
  flex: 1 1 0 !important; min-height: 0 !important; gap: 4px !important; align-self: stretch !important; }
body.embed .gradio-container .main { padding: 0 !important; margin: 0 !important; max-width: none !important; }
body.embed #chat { height: auto !important; flex: 1 1 0 !important; min-height: 120px !important; }
body.embed #chat .top-panel { display: none !important; }
body.embed #chat .scroll-down-button-container { left: auto !important; right: 2px !important; transform: none !important; }
body.embed #chat .chips a { display: inline-flex !important; align-items: center; line-height: 1.3 !important;
  padding: 4px 8px !important; box-sizing: border-box; vertical-align: middle; text-align: left !important; }
body.embed #embed-status { flex: none !important; padding: 0 6px !important; height: 24px !important;
  overflow: hidden !important; white-space: nowrap; text-overflow: ellipsis; }
body.embed #embed-status * { display: inline !important; margin: 0 !important; padding: 0 !important;
  font-size: 15px !important; line-height: 24px !important; }
body.embed #ask-row { flex: none !important; gap: 6px !important; }
body.embed #question { padding: 4px !important; }
body.embed #question textarea:placeholder-shown { height: 48px !important; }
body.embed #sources-col { display: none !important; }
body.embed #chat a[href^="#cite-"] { -webkit-tap-highlight-color: transparent; }  /* the overlay is the feedback */
body.embed.show-sources #sources-col { display: flex !important; flex-direction: column !important; position: fixed !important;
  inset: 0 !important; z-index: 1000 !important; background: #fff !important; overflow-y: auto !important;
  padding: 0 8px 8px !important; margin: 0 !important; gap: 8px !important; min-width: 0 !important;
  flex-wrap: nowrap !important; }
body.embed.show-sources #sources-col > * { flex: none !important; }
body.embed.show-sources #close-sources { display: flex !important; position: sticky !important; top: 0; z-index: 2;
  flex: none !important; min-height: 52px !important; background: #000 !important; color: #fff !important;
  border: 3px solid #fff !important; font-size: 20px !important; }
body.embed #page-image:not(:has(img)) { display: none !important; }
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


def _where(c: Citation, lang: str | None = None) -> str:
    page = t("page_short", lang, page=c.page) if c.page else (c.page_label or "")
    return ("⚠ " if c.flagged else "") + " — ".join(x for x in (c.title, page) if x)


def flag_note(c: Citation) -> str:
    """The warning shown with a passage the injection screen flagged."""
    return (
        f'<div class="flagged">⚠ Not used for the answer: this passage was flagged because '
        f"{html.escape(c.flagged)}. It is shown as printed; check it against the official manual "
        "before acting on it.</div>"
    )


def render_found(passages: list[Citation], msg: int, lang: str | None = None) -> str:
    """Shown as soon as retrieval is done, before any model text: the passages are there at once."""
    chips = " ".join(f"[{c.n}] {html.escape(_where(c, lang))}" for c in passages[:3])
    return f'<div class="found">{t("found", lang)} {chips}</div>{writing_line("writing", lang)}'


def render_quote(
    quote: str, n: int, msg: int, lang: str | None, page: int | None, page_label: str | None, quote_lang: str
) -> str:
    """The manual's lines, verbatim, framed in the operator's language and labelled with the
    manual's language: 'Aus dem Handbuch, Seite 7: [manual text in English] “...” [1]'."""
    frame = t("from_manual_page", lang, page=page) if page else t("from_manual", lang)
    if not page and page_label:
        frame = f"{t('from_manual', lang)[:-1].rstrip()} ({html.escape(page_label)}):"
    tag = ""
    if quote_lang:
        tag = f' <span class="lang-tag">{html.escape(t("quoted_in", lang, language=language_name(quote_lang, lang)))}</span>'
    cite = f' <a class="cite" href="#cite-{msg}-{n}">[{n}]</a>' if n else ""
    attr = f' lang="{html.escape(quote_lang)}"' if quote_lang else ""
    return (
        f'<div class="frame">{html.escape(frame)}{tag}</div>'
        f'<blockquote class="quote"{attr}>“{html.escape(quote)}”{cite}</blockquote>'
    )


def _generated(text: str, msg: int, lang: str | None) -> str:
    """The model's checked sentences, marked as the assistant's summary (never the manual's words)."""
    return f'<div class="generated"><div class="frame">{t("generated", lang)}</div>{_linked(text, msg)}</div>'


def render_streaming(
    lead: str, sentences: Sequence[str], msg: int, lang: str | None = None, done: bool = False
) -> str:
    """While the model writes: the quoted lines (``lead``, already HTML) as soon as they are known,
    then each generated sentence that passed the grounding check, framed exactly as in the final
    answer. The model's raw text is never shown. ``done``: no "writing" line (it stopped)."""
    body = lead + (_generated(join_sentences(sentences), msg, lang) if sentences else "")
    writing = "" if done else writing_line("writing", lang)
    return f'<div class="answer">{body}</div>{writing}'


def writing_line(key: str, lang: str | None) -> str:
    """The "still working" line of an answer not yet complete; the page's script turns it into a
    "connection lost, try again" note if the stream breaks (ui/page_js.py)."""
    return f'<i class="writing lang-{ui_lang(lang)}">{html.escape(t(key, lang))}</i>'


def render_retry(lang: str | None = None) -> str:
    """A "try again" link after a failure; the page's script asks the last question again."""
    return f'<a class="retry" href="#retry">↻ {html.escape(t("try_again", lang))}</a>'


def _answer_body(r: AnswerResult, msg: int, lang: str | None) -> str:
    """The answer text: the quoted manual lines framed as such, the assistant's own (checked)
    wording marked as its summary; a caveat or refusal as it is."""
    lead = f"“{r.quote}” [{r.quote_n}]" if r.quote else ""
    text = r.answer
    if not lead or lead not in text:
        return _linked(text, msg) if r.abstained else _generated(text, msg, lang)
    before, after = text.split(lead, 1)
    c = next((c for c in r.passages if c.n == r.quote_n), None)
    parts = []
    if before.strip():  # a caveat (abstained), or a served model's sentences shown before it failed
        parts.append(_linked(before.strip(), msg) if r.abstained else _generated(before.strip(), msg, lang))
    parts.append(
        render_quote(
            r.quote, r.quote_n, msg, lang, c.page if c else None, c.page_label if c else None, r.quote_lang
        )
    )
    if after.strip():
        parts.append(_generated(after.strip(), msg, lang))
    return "".join(parts)


def render_answer(r: AnswerResult, msg: int, lang: str | None = None) -> str:
    lang = lang or r.lang
    parts: list[str] = []
    for s in r.safety:
        parts.append(
            f'<div class="safety safety-{s.level.lower()}">⚠ {html.escape(_with_level(s.level, s.text))} '
            f'<a class="cite" href="#cite-{msg}-{s.n}">[{s.n}]</a></div>'
        )
    if r.abstained:
        # low confidence: the caveat, then the closest lines quoted with their [n] link
        parts.append(f'<div class="abstain {r.outcome.replace("_", "-")}">{_answer_body(r, msg, lang)}</div>')
        if r.passages:
            chips = " ".join(
                f'<a href="#cite-{msg}-{c.n}">[{c.n}] {html.escape(_where(c, lang))}</a>'
                for c in r.passages[:3]
            )
            label = t("closest", lang) if r.outcome == "low_confidence" else t("not_in_manuals", lang)
            parts.append(f'<div class="chips">{label} {chips}</div>')
    else:
        parts.append(f'<div class="answer">{_answer_body(r, msg, lang)}</div>')
        if r.llm_error:
            parts.append(
                f'<div class="note">{html.escape(t("llm_unavailable", lang, error=r.llm_error))}</div>'
            )
        if r.citations:
            chips = " ".join(
                f'<a href="#cite-{msg}-{c.n}">[{c.n}] {html.escape(_where(c, lang))}</a>' for c in r.citations
            )
            parts.append(f'<div class="chips">{t("sources", lang)} {chips}</div>')
    for c in r.passages:
        if c.flagged:
            link = f'<a href="#cite-{msg}-{c.n}">[{c.n}]</a>'
            parts.append(
                f'<div class="flagged">⚠ {t("flagged_unused", lang, link=link, why=html.escape(c.flagged))}</div>'
            )
    return "\n".join(parts)


def _highlight(text: str, quote: str) -> str:
    """The passage with the quoted lines marked: each line of the quote (a row, a step) where it
    stands in the passage, however the PDF wrapped it (a procedure read on into the next
    passage marks what this one holds)."""
    spans: list[tuple[int, int]] = []
    pos = 0
    for line in quote.split("\n") if quote else []:
        words = [re.escape(w) for w in line.split()[:200]]
        m = re.search(r"\s+".join(words), text[pos:]) if words else None
        if m:
            spans.append((pos + m.start(), pos + m.end()))
            pos += m.end()
    out, last = [], 0
    for a, b in spans:
        out += [html.escape(text[last:a]), "<mark>", html.escape(text[a:b]), "</mark>"]
        last = b
    return "".join(out) + html.escape(text[last:])


def render_source(c: Citation, file_url: str | None, lang: str | None = None) -> str:
    bits = [html.escape(c.source)]
    if c.page:
        label = (
            f' (printed "{html.escape(c.page_label)}")'
            if c.page_label and c.page_label != str(c.page)
            else ""
        )
        bits.append(f"{t('page', lang, page=c.page)}{label}")
    elif c.page_label:  # a sheet and its rows, a slide: where a page number would be
        bits.append(html.escape(c.page_label))
    if c.section:
        bits.append(html.escape(c.section))
    link = ""
    if file_url:
        at = f"#page={c.page}" if c.page else ""
        label = t("open_original_at", lang, page=c.page) if c.page else t("open_original", lang)
        link = f'<a class="open-pdf" href="{file_url}{at}" target="_blank" rel="noopener">{html.escape(label)}</a>'

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
