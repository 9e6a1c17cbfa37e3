"""What an answer is, as structured data end to end: the text the operator reads, its numbered
citations, the passages found, safety notes, and how it was made. Nothing is glued onto the text."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from core.grammar import codes_in
from index.types import short_title

from .injection import screen
from .query import Turn, subject_terms
from .retrieval import Passage, RetrievalResult

OUTCOMES = ("answer", "low_confidence", "not_in_manuals")


@dataclass
class Citation:
    n: int
    source: str
    title: str
    page: int | None
    page_label: str | None
    section: str
    text: str
    chunk_id: str
    quote: str = ""  # the cited lines within the passage (highlighted in the UI)
    flagged: str = ""  # why the injection screen flagged the passage ("" when clean): shown with a warning

    @classmethod
    def of(cls, n: int, p: Passage, quote: str = "") -> Citation:
        c = p.chunk
        return cls(
            n,
            c.source,
            c.title,
            c.page_start,
            c.page_label,
            c.section,
            c.text,
            c.chunk_id,
            quote,
            screen(c.text),
        )


@dataclass
class SafetyNote:
    level: str  # a hazard level of core.grammar: DANGER, WARNING, CAUTION, NOTICE
    text: str
    n: int  # citation it belongs to


@dataclass
class AnswerResult:
    question: str
    answer: str
    abstained: bool
    lang: str
    # "answer"; "low_confidence": the closest passages are shown, but they may not answer it;
    # "not_in_manuals": confident that the manuals do not answer it (retrieval found nothing
    # relevant, the model said so, nothing it wrote was supported, or every passage was flagged)
    outcome: str = "answer"
    confidence: float = 0.0  # calibrated: the probability that the top passage answers the question
    citations: list[Citation] = field(default_factory=list)
    passages: list[Citation] = field(default_factory=list)  # everything retrieved (closest passages)
    safety: list[SafetyNote] = field(default_factory=list)
    style: str = "generate"
    standalone_question: str = ""
    llm_error: str | None = None
    grounding: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    index_version: str = ""
    # The manual lines quoted verbatim at the start of the answer ("“quote” [n]"), which passage they
    # come from and the manual's language ("" when the answer leads with no quote).
    quote: str = ""
    quote_n: int = 0
    quote_lang: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def turn(self) -> Turn:
        """What this answer establishes for the next question of the conversation: the codes it was
        about, and where the answer came from (only when it answered: a low-confidence passage is
        not a topic the operator agreed to)."""
        topic = ""
        if self.outcome == "answer" and self.citations:
            c = self.citations[0]
            section = c.section.split(" > ")[-1] if c.section else ""
            topic = " · ".join(x for x in (short_title(c.title), section) if x)
        standalone = self.standalone_question or self.question
        return Turn(self.question, self.answer, tuple(codes_in(standalone)), topic, subject_terms(standalone))


def public_dict(r: AnswerResult) -> dict[str, Any]:
    """The answer as plain JSON data for integrations (the ask CLI, the UI's /ask API)."""
    d = r.to_dict()
    return {
        "answer": d["answer"],
        "abstained": d["abstained"],
        "outcome": d["outcome"],
        "confidence": round(d["confidence"], 3),
        "citations": [
            {
                k: c[k]
                for k in (
                    "n",
                    "source",
                    "page",
                    "page_label",
                    "section",
                    "text",
                    "quote",
                    "chunk_id",
                    "flagged",
                )
            }
            for c in d["citations"]
        ],
        "safety": d["safety"],
        "passages": [
            {k: c[k] for k in ("n", "source", "page", "section", "text", "flagged")} for c in d["passages"]
        ],
        "lang": d["lang"],
        "style": d["style"],
        "llm_error": d["llm_error"],
        "grounding": d["grounding"],
        "timings": {k: round(v, 1) for k, v in d["timings"].items()},
        "index_version": d["index_version"],
        "quote": {"text": d["quote"], "n": d["quote_n"], "lang": d["quote_lang"]} if d["quote"] else None,
    }


@dataclass
class Event:
    """Streamed to the UI: 'retrieved' (passages known), 'lead' (the quoted lines that lead a quote-first
    answer), 'sentence' (one generated sentence that passed the grounding check, with its [n]; the
    model's raw text is never streamed), 'done' (final result: its generated part is exactly the
    streamed sentences, in order, put together by ``chatbot.sentences.join_sentences``)."""

    kind: str
    text: str = ""
    result: AnswerResult | None = None
    retrieval: RetrievalResult | None = None
    model_next: bool = False  # on 'lead': the model is asked next (the UI logs the quote before that wait)
