"""Question -> retrieval -> prompt -> streamed generation -> grounding check -> cited answer.

The answer and its sources are structured data end to end (``chatbot.result``). Two styles:

* ``generate`` (a capable model, e.g. served by vLLM): the model's grounded answer leads.
* ``quote-first`` (the embedded 135M model): the answer leads with the quoted manual lines
  that best answer the question, cited; the model's wording follows only where the grounding
  check supports it. A tiny model copies well but invents causes and values.

The model's text is never shown unchecked: it is cut into sentences as it streams, and each
complete sentence is held to the sources (``chatbot.grounding.ground``) before it is yielded; the
final answer is exactly the sentences that were shown.

When the language model is down or times out, the operator still gets the best passages with
their citations and a clear note, never a stack trace.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from core import language as langmod
from core.grammar import safety_notes
from core.settings import Settings

from .confidence import DEFAULT_FILE as DEFAULT_CALIBRATION
from .confidence import Calibration, contents_list, evidence
from .grounding import Grounded
from .injection import screen
from .llm import LLM, LLMError, StreamStats
from .prompt import closest_only, not_covered, system_message, user_message
from .query import Query, Turn
from .quoting import Quoter
from .result import AnswerResult, Citation, Event, SafetyNote
from .retrieval import Passage, RetrievalResult, Retriever
from .sentences import SentenceCheck, split_sentences

log = logging.getLogger(__name__)

# Kept importable from here: callers built before the result and query modules existed.
__all__ = ["AnswerResult", "Answerer", "Citation", "Event", "SafetyNote"]


@dataclass
class _Lead:
    """The quoted manual lines that lead (or back up) the answer."""

    n: int  # 1-based passage number; 0 when every passage was flagged by the injection screen
    quote: str
    text: str  # “quote” [n], as shown

    @classmethod
    def pick(
        cls,
        query: Query,
        passages: Sequence[Passage],
        flags: Sequence[str],
        quoter: Quoter,
        qvec: np.ndarray | None = None,
    ) -> _Lead:
        """The best unit of the first passage the injection screen did not flag, quoted whole
        (``chatbot/quoting.py``: a row with its remedy, a procedure with all its steps)."""
        n = next((i for i, f in enumerate(flags, 1) if not f), 0)
        if not n:
            return cls(0, "", "")
        p = passages[n - 1]
        quote = quoter(query.standalone, query.search_text, p.row, p.chunk, query.codes, qvec).text
        return cls(n, quote, f"“{quote}” [{n}]" if quote else "")

    def record(self, result: AnswerResult, passages: Sequence[Passage]) -> None:
        """The quoted lines as structured data beside the text (the UI frames them in the operator's
        language and labels them with the manual's language)."""
        result.quote = self.quote
        result.quote_n = self.n
        result.quote_lang = langmod.detect(passages[self.n - 1].chunk.text) if self.n else ""


@dataclass
class _Generation:
    text: str = ""  # the model's raw text (recorded, never shown)
    error: str | None = None
    error_kind: str | None = None  # LLMError.kind: timeout, circuit_open, busy, error
    asked: bool = False
    stats: StreamStats = field(default_factory=StreamStats)


class Answerer:
    def __init__(
        self,
        retriever: Retriever,
        llm: LLM | None,
        settings: Settings,
        style: str = "generate",
        prompt_passages: int | None = None,
        calibration: Calibration | None = None,
    ) -> None:
        self.calibration = calibration or Calibration.load(DEFAULT_CALIBRATION)
        self.retriever = retriever
        self.quoter = Quoter(retriever.embedder, retriever.handle.get)
        self.llm = llm
        self.settings = settings
        self.style = style
        self.prompt_passages = prompt_passages or settings.retrieval.k  # sources given to the model

    # ------------------------------------------------------------------ decisions
    def exact_match(self, query: Query, passages: Sequence[Passage]) -> bool:
        """Whether one of the top passages holds a code the question names (a specific one) or a
        phrase it quotes, verbatim."""
        lexical = self.retriever.handle.get().lexical
        return any(_has_code(query, p, lexical) or _has_phrase(query, p) for p in passages[:3])

    def never_declined(self, query: Query, passages: Sequence[Passage]) -> bool:
        """Evidence that the manuals do hold the topic, whatever the confidence: a named code or a
        quoted phrase found verbatim, or a where-question's topic listed in the contents."""
        lexical = self.retriever.handle.get().lexical
        return self.exact_match(query, passages) or contents_list(query, passages, lexical)

    def assess(self, r: RetrievalResult) -> tuple[float, str]:
        """(calibrated confidence that the top passage answers the question, outcome).

        The confidence is ``chatbot/confidence.py``'s fitted model (``python -m chatbot.calibrate``).
        A question with ``never_declined`` evidence never gets "not in the manuals": at worst the
        passages are shown as the closest ones."""
        if not r.passages:
            return 0.0, "not_in_manuals"
        ev = evidence(
            r.query,
            r.passages,
            self.retriever.handle.get().lexical,
            self.exact_match(r.query, r.passages[:1]),
        )
        p = self.calibration.probability(ev)
        outcome = self.calibration.outcome(p, ev)
        if outcome == "not_in_manuals" and self.never_declined(r.query, r.passages):
            outcome = "low_confidence"
        return p, outcome

    def _asks_model(self, query: Query) -> bool:
        """Quote-first (the embedded 135M model): its wording is shown only where the grounding
        check can hold it to the manual's words, i.e. in the manuals' language (English). For
        other languages it produced nothing usable on the eval, so it is not asked at all."""
        return self.llm is not None and (self.style == "generate" or query.answer_lang == "en")

    # ------------------------------------------------------------------ the pipeline
    def stream(
        self,
        question: str,
        history: Sequence[Turn | tuple[str, str]] = (),
        sources: Sequence[str] | None = None,
        equipment: str | None = None,
        lang: str | None = None,
    ) -> Iterator[Event]:
        """The answer as events: 'retrieved', then 'lead' (the quote), 'sentence' for each checked
        generated sentence, 'done' with the result."""
        t0 = time.perf_counter()
        timings: dict[str, float] = {}
        query = self.understand(Query.parse(question, history, equipment, lang), timings)
        r = self.retriever.retrieve(query, sources=sources)
        yield Event("retrieved", retrieval=r)
        timings["retrieval_ms"] = r.timings["total_ms"]
        result = AnswerResult(
            question=question,
            answer="",
            abstained=False,
            lang=query.answer_lang,
            style=self.style,
            standalone_question=query.standalone,
            index_version=r.index_version,
            passages=[Citation.of(i, p) for i, p in enumerate(r.passages, 1)],
        )
        result.confidence, outcome = self.assess(r)
        if outcome != "answer":
            self._abstain(result, outcome, "low retrieval confidence")
            result.grounding["top_dense"] = round(r.top_dense, 4)
            if outcome == "low_confidence":
                # the closest passage's best lines, under the caveat: an operator reads the line at
                # once instead of opening passages, and is told it may not be the answer
                flags = [screen(p.chunk.text) for p in r.passages]
                lead = _Lead.pick(r.query, r.passages, flags, self.quoter, r.qvec)
                if lead.text:
                    result.answer += "\n" + lead.text
                    lead.record(result, r.passages)
        else:
            # Manual text is data: a passage the injection screen flags is shown with a warning but is
            # never quoted as the answer, never given to the model and never supports a sentence.
            flags = [screen(p.chunk.text) for p in r.passages]
            lead = _Lead.pick(r.query, r.passages, flags, self.quoter, r.qvec)
            if self.style == "quote-first" and lead.text:
                # The quoted manual lines lead the answer and are known now: show them at once.
                timings["first_text_ms"] = (time.perf_counter() - t0) * 1000
                yield Event("lead", text=lead.text, model_next=self._asks_model(query))
            gen = _Generation()
            check = self._checker(query, r.passages, flags, lead)
            yield from self._generate(query, r.passages, flags, gen, check, timings, t0)
            g = check.result()
            result.llm_error = gen.error
            result.grounding = {
                "generated": gen.text,
                "dropped_sentences": g.dropped,
                "removed_citations": g.removed_citations,
                "model_said_not_covered": g.says_not_covered,
                "finish_reason": gen.stats.finish_reason,
                "model_asked": gen.asked,
                "llm_error_kind": gen.error_kind,
            }
            self._compose(result, query, r, lead, gen, g)
            self._quote_citations(result, r.query, r.passages, lead, r.qvec)
            if not result.abstained:
                result.safety = self._safety(result.citations)
        timings["total_ms"] = (time.perf_counter() - t0) * 1000
        timings.setdefault("first_text_ms", timings["total_ms"])
        result.timings = timings
        yield Event("done", result=result)

    def answer(self, question: str, **kw: Any) -> AnswerResult:
        for ev in self.stream(question, **kw):
            if ev.kind == "done" and ev.result is not None:
                return ev.result
        raise RuntimeError("answer stream ended without a result")

    # ------------------------------------------------------------------ the steps
    def understand(self, query: Query, timings: dict[str, float] | None = None) -> Query:
        """A capable served model translates a non-English question, so English pages match too."""
        if (
            query.lang == "en"
            or self.style != "generate"
            or self.llm is None
            or not self.settings.llm.translate_questions
        ):
            return query
        t = time.perf_counter()
        english = self._translate(query.standalone)
        if timings is not None:
            timings["translate_ms"] = (time.perf_counter() - t) * 1000
        return query.with_english(english) if english else query

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

    def _generate(
        self,
        query: Query,
        passages: Sequence[Passage],
        flags: Sequence[str],
        gen: _Generation,
        check: SentenceCheck,
        timings: dict[str, float],
        t0: float,
    ) -> Iterator[Event]:
        """Stream the model's answer into ``gen``, sentence by sentence through ``check``: a
        'sentence' event for each one that passed, nothing unchecked. A model that fails leaves its
        error in ``gen``, never an exception; a sentence it did not finish is never shown."""
        if self.llm is None:
            gen.error = "no language model configured"
        elif self._asks_model(query):
            gen.asked = True
            t_llm = time.perf_counter()
            rest = ""

            def checked(sentences: list[str]) -> Iterator[Event]:
                for s in sentences:
                    for shown in check.add(s):
                        timings.setdefault("first_text_ms", (time.perf_counter() - t0) * 1000)
                        yield Event("sentence", text=shown)

            try:
                prompt = system_message(passages[: self.prompt_passages], query.answer_lang, flags)
                for piece in self.llm.stream(prompt, user_message(query.standalone), gen.stats):
                    gen.text += piece
                    done, rest = split_sentences(rest + piece)
                    yield from checked(done)
            except LLMError as exc:
                gen.error, gen.error_kind = str(exc), exc.kind
                log.warning("LLM unavailable: %s", exc)
            done, rest = split_sentences(rest, final=True)
            if gen.error is None and gen.stats.finish_reason not in ("length", "budget"):
                done.append(rest.strip())  # the model finished: its last words are a sentence
            yield from checked([s for s in done if s])
            if gen.stats.ttft_ms is not None:  # from the question's arrival, retrieval included
                timings["ttft_ms"] = gen.stats.ttft_ms + (t_llm - t0) * 1000
        timings["generation_ms"] = gen.stats.total_ms

    def _checker(
        self, query: Query, passages: Sequence[Passage], flags: Sequence[str], lead: _Lead
    ) -> SentenceCheck:
        """Holds each generated sentence to the sources the model was given (flagged ones count as
        empty). The small embedded model paraphrases loosely and invents: a higher bar for it."""
        texts = [
            ("" if f else p.chunk.text) for p, f in zip(passages[: self.prompt_passages], flags, strict=False)
        ]
        quote = lead.quote if self.style == "quote-first" else ""
        return SentenceCheck(
            texts,
            same_language=(query.answer_lang == "en"),
            min_support=0.9 if self.style == "quote-first" else 0.5,
            said=f"{query.question}\n{query.standalone}\n{quote}",
            quote=quote,
        )

    def _compose(
        self,
        result: AnswerResult,
        query: Query,
        r: RetrievalResult,
        lead: _Lead,
        gen: _Generation,
        g: Grounded,
    ) -> None:
        """The text the operator reads and what it cites."""
        passages = r.passages
        if gen.error is None and self.style == "generate":
            gave_up = g.says_not_covered or g.empty
            lexical = self.retriever.handle.get().lexical
            top = passages[lead.n - 1] if lead.n else None
            if gave_up and lead.text and top and (_has_code(query, top, lexical) or _has_phrase(query, top)):
                # The model gave up, but the top passage holds the very code or phrase the
                # question names: "not in the manuals" would be false. Show the manual's lines.
                result.answer = lead.text
                lead.record(result, passages)
                result.citations = [Citation.of(lead.n, top)]
                result.grounding["reason"] = "the model gave no supported answer; quoting the manual"
            elif gave_up:
                self._abstain(
                    result,
                    "not_in_manuals",
                    "the model said the sources do not cover it"
                    if g.says_not_covered
                    else "no generated sentence is supported by the sources",
                )
            else:
                result.answer = g.text
                result.citations = [Citation.of(n, passages[n - 1]) for n in g.cited]
            return
        # quote-first, or the model failed: the best manual lines, cited, with every sentence of the
        # model's that was already shown (checked one by one; a served model's words come first)
        model_part = g.text
        parts = (model_part, lead.text) if self.style == "generate" else (lead.text, model_part)
        result.answer = "\n".join(x for x in parts if x)
        if lead.text:
            lead.record(result, passages)
        cited = sorted({lead.n, *g.cited} - {0}) if model_part else [lead.n] if lead.n else []
        result.citations = [Citation.of(n, passages[n - 1]) for n in cited]
        if not result.answer:
            self._abstain(result, "not_in_manuals", "every passage found was flagged by the injection screen")

    def _abstain(self, result: AnswerResult, outcome: str, reason: str) -> None:
        result.abstained = True
        result.outcome = outcome
        result.answer = closest_only(result.lang) if outcome == "low_confidence" else not_covered(result.lang)
        result.citations = []
        result.grounding["reason"] = reason

    def _quote_citations(
        self,
        result: AnswerResult,
        query: Query,
        passages: Sequence[Passage],
        lead: _Lead,
        qvec: np.ndarray | None = None,
    ) -> None:
        """Each citation's quote: the lines highlighted in the source panel."""
        for c in result.citations:
            if c.n == lead.n and lead.quote:
                c.quote = lead.quote
            elif not c.flagged:
                p = passages[c.n - 1]
                c.quote = self.quoter(
                    query.standalone, query.search_text, p.row, p.chunk, query.codes, qvec
                ).text

    def _safety(self, citations: Sequence[Citation]) -> list[SafetyNote]:
        """Hazard notes in the cited passages and in the same section on the same page."""
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


def _has_code(query: Query, p: Passage, lexical: Any = None) -> bool:
    """The question names a specific code/identifier (error:24, E-107, $32, HOME_OFFSET) that the passage
    contains, or the passage holds the code's row of a table that prints bare numbers. Codes found in
    many chunks (a machine's model name such as HP-200) are no evidence."""
    text = p.chunk.text.lower()
    return any(
        (code in text and (lexical is None or lexical.is_specific(code)))
        or (lexical is not None and lexical.is_row_of(code, p.row))  # "9 Homing fail" under "Alarm codes"
        for code in query.codes
    )


def _has_phrase(query: Query, p: Passage) -> bool:
    if not query.phrases:
        return False
    text = re.sub(r"\s+", " ", p.chunk.text.lower())
    return any(ph in text for ph in query.phrases)
