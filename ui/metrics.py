"""Prometheus metrics of one app replica, served at ``GET /metrics`` (prometheus-client's text format).

Counters and histograms are per replica (label them in Prometheus by the scrape target); the index
and the model circuit are read when scraped, so they are never stale.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, InfoMetricFamily
from prometheus_client.registry import Collector

from chatbot.result import AnswerResult
from chatbot.wiring import AppDeps

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# Seconds. Retrieval is milliseconds; the first answer text (the quote) should stay under 1 s.
_FAST = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_SLOW = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 40.0, 90.0)
_CIRCUIT = {"closed": 0, "half-open": 1, "open": 2}


class Metrics:
    def __init__(self, deps: AppDeps, replica: str) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.questions = Counter(
            "opassist_questions", "Questions answered, by outcome.", ["outcome"], registry=r
        )
        self.retrieval = Histogram(
            "opassist_retrieval_seconds", "Retrieval time per question.", buckets=_FAST, registry=r
        )
        self.first_text = Histogram(
            "opassist_first_answer_text_seconds",
            "Time from the question to the first answer text on screen.",
            buckets=_FAST,
            registry=r,
        )
        self.ttft = Histogram(
            "opassist_model_first_token_seconds",
            "Time from the question to the model's first token.",
            buckets=_SLOW,
            registry=r,
        )
        self.model_errors = Counter(
            "opassist_model_errors", "Questions whose model call failed, by kind.", ["kind"], registry=r
        )
        self.rate_limited = Counter(
            "opassist_rate_limited", "Questions refused by the per-client rate limit.", registry=r
        )
        self.refused = Counter(
            "opassist_questions_refused",
            "Questions refused with a message (empty, too long, unknown machine).",
            registry=r,
        )
        self.failed = Counter(
            "opassist_questions_failed", "Questions that failed with an internal error.", registry=r
        )
        self.feedback = Counter("opassist_feedback", "Operator feedback, by rating.", ["rating"], registry=r)
        self.log_errors = Counter(
            "opassist_answer_log_errors", "Answer-log rows that could not be written.", registry=r
        )
        # every series exists from the start (a dashboard's rate() needs the zero)
        for outcome in ("answer", "low_confidence", "not_in_manuals"):
            self.questions.labels(outcome)
        for kind in ("timeout", "circuit_open", "busy", "error"):
            self.model_errors.labels(kind)
        for rating in ("up", "down", "comment"):
            self.feedback.labels(rating)
        Gauge("opassist_replica", "This replica (always 1).", ["replica"], registry=r).labels(replica).set(1)
        r.register(_Live(deps))

    def answered(self, result: AnswerResult) -> None:
        self.questions.labels(result.outcome).inc()
        t = result.timings
        if "retrieval_ms" in t:
            self.retrieval.observe(t["retrieval_ms"] / 1000)
        if "first_text_ms" in t:
            self.first_text.observe(t["first_text_ms"] / 1000)
        if "ttft_ms" in t:
            self.ttft.observe(t["ttft_ms"] / 1000)
        if result.llm_error:
            self.model_errors.labels(result.grounding.get("llm_error_kind") or "error").inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)


class _Live(Collector):
    """The index being served and the model circuit, read at scrape time."""

    def __init__(self, deps: AppDeps) -> None:
        self.deps = deps

    def collect(self) -> Iterator[Any]:
        try:
            idx = self.deps.handle.get().index
        except Exception:
            idx = None
        if idx is not None:
            info = InfoMetricFamily("opassist_index", "The index version being served.")
            info.add_metric([], {"version": idx.version})
            yield info
            yield GaugeMetricFamily(
                "opassist_index_chunks", "Chunks in the served index.", value=len(idx.chunks)
            )
            yield GaugeMetricFamily(
                "opassist_index_documents", "Documents in the served index.", value=len(idx.documents)
            )
        yield GaugeMetricFamily(
            "opassist_index_refused",
            "1 when a newer index version was refused (the older one is still served).",
            value=int(self.deps.handle.rejected is not None),
        )
        llm = self.deps.llm
        breaker = getattr(llm, "breaker", None)
        state = breaker.state if breaker is not None else ("none" if llm is None else "closed")
        yield GaugeMetricFamily(
            "opassist_model_circuit",
            "Model circuit: 0 closed (answering), 1 half-open (trial), 2 open (not answering), 3 no model.",
            value=_CIRCUIT.get(state, 3),
        )

    def describe(self) -> Iterator[Any]:
        return iter(())
