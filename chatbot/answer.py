"""Question -> retrieval -> prompt -> streamed generation -> grounding check -> cited answer.

The answer and its sources are structured data end to end (``AnswerResult``); nothing is
glued onto the text. Two styles:

* ``generate`` (a capable model, e.g. served by vLLM): the model's grounded answer leads.
* ``quote-first`` (the embedded 135M model): the answer leads with the quoted manual lines
  that best answer the question, cited; the model's wording follows only where the grounding
  check supports it. A tiny model copies well but invents causes and values.

When the language model is down or times out, the operator still gets the best passages with
their citations and a clear note, never a stack trace.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from index.types import Chunk

from . import lang as langmod
from .grounding import best_quote, ground, safety_notes
from .injection import screen
from .lexical import codes_in, quoted_phrases
from .llm import LLMClient, LLMError, StreamStats
from .prompt import not_covered, system_message, user_message
from .retrieval import Passage, RetrievalResult, Retriever

log = logging.getLogger(__name__)


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
    level: str  # DANGER, WARNING, CAUTION
    text: str
    n: int  # citation it belongs to


@dataclass
class AnswerResult:
    question: str
    answer: str
    abstained: bool
    lang: str
    citations: list[Citation] = field(default_factory=list)
    passages: list[Citation] = field(default_factory=list)  # everything retrieved (closest passages)
    safety: list[SafetyNote] = field(default_factory=list)
    style: str = "generate"
    standalone_question: str = ""
    llm_error: str | None = None
    grounding: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    index_version: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def public_dict(r: AnswerResult) -> dict[str, Any]:
    """The answer as plain JSON data for integrations (the ask CLI, the UI's /ask API)."""
    d = r.to_dict()
    return {
        "answer": d["answer"],
        "abstained": d["abstained"],
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
    }


@dataclass
class Event:
    """Streamed to the UI: 'retrieved' (passages known), 'lead' (the quoted lines that lead a quote-first
    answer), 'token' (generated text), 'done' (final result)."""

    kind: str
    text: str = ""
    result: AnswerResult | None = None
    retrieval: RetrievalResult | None = None


_PRONOUN = re.compile(
    r"\b(it|its|that|this|these|those|them|they|there|same|es|das|dies|ello|eso|esto|ça|cela|le|la)\b", re.I
)


def standalone_question(question: str, history: Sequence[tuple[str, str]]) -> str:
    """Make a follow-up ("and how do I reset it?") retrievable on its own.

    Without a capable model the previous question is prepended when the new one is short or
    refers back with a pronoun; the fault codes and identifiers of the conversation carry over.
    """
    if not history:
        return question
    prev_q = history[-1][0]
    short = len(question.split()) <= 8
    refers = _PRONOUN.search(question) is not None or question.strip().lower().startswith(
        ("and ", "what about", "und ", "y ", "et ")
    )
    if short or refers:
        return f"{prev_q} {question}"
    return question


class Answerer:
    def __init__(
        self,
        retriever: Retriever,
        llm: LLMClient | None,
        settings: Any,
        style: str = "generate",
        prompt_passages: int | None = None,
    ) -> None:
        self.retriever = retriever
        self.llm = llm
        self.settings = settings
        self.style = style
        self.prompt_passages = prompt_passages or settings.retrieval.k  # sources given to the model

    # ------------------------------------------------------------------ decisions
    def evidence(self, r: RetrievalResult) -> tuple[float, bool]:
        """(best cosine of the top 3 passages, whether one of them holds a code or quoted phrase verbatim)."""
        top = r.passages[:3]
        cos = max((p.dense for p in top), default=0.0)
        lexical = self.retriever.handle.get().lexical
        exact = any(_has_code(r.query, p, lexical) or _has_phrase(r.query, p) for p in top)
        return cos, exact

    def confident(self, r: RetrievalResult) -> bool:
        """Retrieval confidence: abstain before generating when nothing relevant was found.

        The thresholds are tuned with ``python -m chatbot.eval --tune-abstain``; a fault code,
        parameter name or quoted message found verbatim in a top passage always counts.
        """
        if not r.passages:
            return False
        threshold = self.settings.retrieval.abstain_threshold
        if r.lang != "en":
            threshold = self.settings.retrieval.abstain_threshold_other
        cos, exact = self.evidence(r)
        return exact or cos >= threshold

    def _translate(self, question: str) -> str:
        assert self.llm is not None
        system = (
            "Translate the user's question into English. Keep fault codes, numbers, parameter names and "
            "product names exactly as written. Reply with the English question only."
        )
        try:
            return "".join(self.llm.stream(system, question)).strip().split("\n")[0][:500]
        except LLMError as exc:
            log.warning("question translation failed: %s", exc)
            return ""

    # ------------------------------------------------------------------ the pipeline
    def stream(
        self,
        question: str,
        history: Sequence[tuple[str, str]] = (),
        sources: Sequence[str] | None = None,
        equipment: str | None = None,
        lang: str | None = None,
    ) -> Iterator[Event]:
        t0 = time.perf_counter()
        query = standalone_question(question, history)
        asked_in = langmod.detect(question)
        qlang = lang or asked_in  # answer language: the HMI may set it, else the question's
        timings: dict[str, float] = {}
        search_query = query
        if (
            asked_in != "en"
            and self.style == "generate"
            and self.llm is not None
            and self.settings.llm.translate_questions
        ):
            # A capable served model translates the question so English pages match it too.
            t = time.perf_counter()
            english = self._translate(query)
            timings["translate_ms"] = (time.perf_counter() - t) * 1000
            if english:
                search_query = f"{query}\n{english}"
        r = self.retriever.retrieve(search_query, sources=sources, equipment=equipment)
        yield Event("retrieved", retrieval=r)
        timings["retrieval_ms"] = r.timings["total_ms"]
        result = AnswerResult(
            question=question,
            answer="",
            abstained=False,
            lang=qlang,
            style=self.style,
            standalone_question=query,
            index_version=r.index_version,
            passages=[Citation.of(i, p) for i, p in enumerate(r.passages, 1)],
        )
        if not self.confident(r):
            result.abstained = True
            result.answer = not_covered(qlang)
            result.grounding = {"reason": "low retrieval confidence", "top_dense": round(r.top_dense, 4)}
            result.timings = {**timings, "total_ms": (time.perf_counter() - t0) * 1000}
            yield Event("done", result=result)
            return

        passages = r.passages
        # Manual text is data: a passage the injection screen flags is shown with a warning but is
        # never quoted as the answer, never given to the model and never supports a sentence.
        flags = [screen(p.chunk.text) for p in passages]
        quote_n = next((i for i, f in enumerate(flags, 1) if not f), 0)
        quote = (
            best_quote(query, passages[quote_n - 1].chunk.text, context=_where(passages[quote_n - 1].chunk))
            if quote_n
            else ""
        )
        lead = f"“{quote}” [{quote_n}]" if quote else ""
        if self.style == "quote-first" and lead:
            # The quoted manual lines lead the answer and are known now: show them at once.
            timings["first_text_ms"] = (time.perf_counter() - t0) * 1000
            yield Event("lead", text=lead)
        generated = ""
        stats = StreamStats()
        # Quote-first (the embedded 135M model): its wording is shown only where the grounding
        # check can hold it to the manual's words, i.e. in the manuals' language (English). For
        # other languages it produced nothing usable on the eval, so it is not asked at all.
        ask_model = self.style == "generate" or qlang == "en"
        if self.llm is not None and ask_model:
            t_llm = time.perf_counter()
            try:
                prompt = system_message(passages[: self.prompt_passages], qlang, flags)
                for piece in self.llm.stream(prompt, user_message(query), stats):
                    generated += piece
                    yield Event("token", text=piece)
            except LLMError as exc:
                result.llm_error = str(exc)
                log.warning("LLM unavailable: %s", exc)
            if stats.ttft_ms is not None:  # from the question's arrival, retrieval included
                timings["ttft_ms"] = stats.ttft_ms + (t_llm - t0) * 1000
                timings.setdefault("first_text_ms", timings["ttft_ms"])
        elif self.llm is None:
            result.llm_error = "no language model configured"
        timings["generation_ms"] = stats.total_ms

        # Only the sources the model was given can be cited; an answer cut off by max_tokens
        # loses its unfinished last sentence ("To use this feature, you").
        texts = [
            ("" if f else p.chunk.text) for p, f in zip(passages[: self.prompt_passages], flags, strict=False)
        ]
        if stats.finish_reason == "length":
            generated = re.sub(r"(?<=[.!?\]\n])[^.!?\]\n]*$", "", generated)
        # The small embedded model paraphrases loosely and invents: hold its sentences to a higher bar.
        g = ground(
            generated,
            texts,
            same_language=(qlang == "en"),
            min_support=0.9 if self.style == "quote-first" else 0.5,
            already_said=f"{question}\n{query}\n{quote if self.style == 'quote-first' else ''}",
        )
        result.grounding = {
            "generated": generated,
            "dropped_sentences": g.dropped,
            "removed_citations": g.removed_citations,
            "model_said_not_covered": g.says_not_covered,
            "finish_reason": stats.finish_reason,
            "model_asked": self.llm is not None and ask_model,
        }
        if result.llm_error is None and self.style == "generate":
            gave_up = g.says_not_covered or g.empty
            lexical = self.retriever.handle.get().lexical
            if (
                gave_up
                and lead
                and (
                    _has_code(query, passages[quote_n - 1], lexical)
                    or _has_phrase(query, passages[quote_n - 1])
                )
            ):
                # The model gave up, but the top passage holds the very code or phrase the
                # question names: "not in the manuals" would be false. Show the manual's lines.
                result.answer = lead
                result.citations = [Citation.of(quote_n, passages[quote_n - 1])]
                result.grounding["reason"] = "the model gave no supported answer; quoting the manual"
            elif gave_up:
                result.abstained = True
                result.answer = not_covered(qlang)
                result.grounding["reason"] = (
                    "the model said the sources do not cover it"
                    if g.says_not_covered
                    else "no generated sentence is supported by the sources"
                )
            else:
                result.answer = g.text
                result.citations = [Citation.of(n, passages[n - 1]) for n in g.cited]
        else:
            # quote-first, or the model is unavailable: the best manual lines lead, cited
            model_part = g.text if result.llm_error is None and not g.says_not_covered else ""
            if model_part and _mostly_same(model_part, quote):
                model_part = ""
            result.answer = "\n".join(x for x in (lead, model_part) if x)
            cited = sorted({quote_n, *g.cited} - {0}) if model_part else [quote_n] if quote_n else []
            result.citations = [Citation.of(n, passages[n - 1]) for n in cited]
            if not result.answer:  # every passage was flagged by the injection screen
                result.abstained = True
                result.answer = not_covered(qlang)
                result.grounding["reason"] = "every passage found was flagged by the injection screen"
        for c in result.citations:
            c.quote = (
                quote
                if c.n == quote_n and quote
                else ""
                if c.flagged
                else best_quote(query, c.text, context=_where(passages[c.n - 1].chunk))
            )
        if not result.abstained:
            result.safety = self._safety(result.citations, passages)
        timings["total_ms"] = (time.perf_counter() - t0) * 1000
        result.timings = timings
        yield Event("done", result=result)

    def answer(self, question: str, **kw: Any) -> AnswerResult:
        for ev in self.stream(question, **kw):
            if ev.kind == "done" and ev.result is not None:
                return ev.result
        raise RuntimeError("answer stream ended without a result")

    def _safety(self, citations: Sequence[Citation], passages: Sequence[Passage]) -> list[SafetyNote]:
        """DANGER/WARNING/CAUTION in the cited passages and in the same section on the same page."""
        state = self.retriever.handle.get()
        chunks = state.index.chunks
        notes: list[SafetyNote] = []
        seen: set[str] = set()
        for c in citations:
            if c.flagged:
                continue  # a poisoned passage could forge a "WARNING: bypass ..." box
            texts = [c.text]
            for row in state.index.rows_for_sources([c.source]):
                other = chunks[int(row)]
                if (
                    other.page_start == c.page
                    and other.section == c.section
                    and other.chunk_id != c.chunk_id
                    and not screen(other.text)
                ):
                    texts.append(other.text)
            for t in texts:
                for level, note in safety_notes(t):
                    key = note.lower()
                    if key not in seen:
                        seen.add(key)
                        notes.append(SafetyNote(level, note, c.n))
        return notes


def _has_code(query: str, p: Passage, lexical: Any = None) -> bool:
    """The question names a specific code/identifier (error:24, E-107, $32, HOME_OFFSET) that the passage
    contains. Codes found in many chunks (a machine's model name such as HP-200) are no evidence."""
    text = p.chunk.text.lower()
    return any(code in text and (lexical is None or lexical.is_specific(code)) for code in codes_in(query))


def _has_phrase(query: str, p: Passage) -> bool:
    phrases = quoted_phrases(query)
    if not phrases:
        return False
    text = re.sub(r"\s+", " ", p.chunk.text.lower())
    return any(ph in text for ph in phrases)


def _where(chunk: Chunk) -> str:
    """The words that say which manual a passage is in (not what it says). Not the section: a
    Grbl section named "$32 - Laser mode" is exactly where the quote should anchor."""
    return f"{chunk.title} {chunk.source}"


def _mostly_same(a: str, b: str) -> bool:
    wa, wb = set(re.findall(r"\w+", a.lower())), set(re.findall(r"\w+", b.lower()))
    return bool(wa) and len(wa & wb) / len(wa) > 0.8
