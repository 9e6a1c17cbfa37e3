"""What one browser session holds, the answer being shown, and the operator's feedback on an answer
(thumbs and comments, written to the answer log's database)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import gradio as gr

from chatbot.query import Turn
from chatbot.result import AnswerResult, Citation

from .observe import Observer
from .records import citation_row


@dataclass
class Answering:
    """An answer while it is being shown."""

    question: str
    msg: int  # index of the assistant message in SessionState.messages
    lang: str | None  # the operator's language for the framing
    found: list[Citation] = field(default_factory=list)
    lead: str = ""  # the quote, as HTML
    sentences: list[str] = field(default_factory=list)  # generated sentences that passed the check
    answer_id: int | None = None  # its answer-log row, written when the quote was shown


@dataclass
class SessionState:
    messages: list[dict[str, Any]] = field(default_factory=list)
    history: list[Turn] = field(default_factory=list)
    results: list[AnswerResult] = field(default_factory=list)
    msg_to_result: dict[int, int] = field(default_factory=dict)
    found: dict[int, list[Citation]] = field(default_factory=dict)  # message -> passages, while written
    equipment: str | None = None
    lang: str | None = None  # the HMI's lang= (None: each question's own language)
    ui_lang: str | None = None  # the language of the last answer's framing
    embed: bool = False
    last_feedback_id: int | None = None
    answer_ids: dict[int, int] = field(default_factory=dict)  # result index -> answer-log row


def _session(request: Any) -> str:
    return str(getattr(request, "session_hash", "") or "")


def like(observer: Observer, state: SessionState, data: gr.LikeData, request: gr.Request) -> None:
    ri = state.msg_to_result.get(int(data.index if isinstance(data.index, int) else data.index[0]))
    if ri is None:
        return
    r = state.results[ri]
    liked = data.liked if isinstance(data.liked, bool) else str(data.liked).lower() in ("like", "true")
    observer.metrics.feedback.labels("up" if liked else "down").inc()
    state.last_feedback_id = observer.records.record(
        session=_session(request),
        rating=1 if liked else -1,
        **_about(r, state, ri),
    )


def comment(observer: Observer, text: str, state: SessionState, request: gr.Request) -> str:
    text = (text or "").strip()[:2000]
    if not text or not state.results:
        return ""
    if state.last_feedback_id is not None:
        observer.records.add_comment(state.last_feedback_id, text)
    else:
        ri = len(state.results) - 1
        observer.metrics.feedback.labels("comment").inc()
        state.last_feedback_id = observer.records.record(
            session=_session(request), rating=0, comment=text, **_about(state.results[ri], state, ri)
        )
    gr.Info("Thank you — your comment was saved.")
    return ""


def _about(r: AnswerResult, state: SessionState, ri: int) -> dict[str, Any]:
    """The feedback row's copy of the answer it is about."""
    return {
        "question": r.question,
        "answer": r.answer,
        "abstained": r.abstained,
        "citations": [citation_row(c) for c in r.citations],
        "index_version": r.index_version,
        "equipment": state.equipment or "",
        "lang": r.lang,
        "answer_id": state.answer_ids.get(ri),
    }
