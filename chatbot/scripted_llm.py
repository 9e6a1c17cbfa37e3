"""``FunctionLLM``: a language model whose reply a Python function computes from the prompt.

The test double for the answer logic, in the spirit of pydantic-ai's ``FunctionModel``: a
table-driven test gives it a function (or a fixed reply) and checks what the operator is shown
when the model gives up, cites a source it was not given, inverts a warning, answers in another
language, returns nothing or stalls. It implements the same ``LLM`` protocol as the real
``LLMClient``, so ``build_app(settings, llm=FunctionLLM(...))`` wires it exactly where a served
model goes. The real contract (streaming over the OpenAI API, timeouts, broken streams) is
tested against a real llama.cpp server process; this double never replaces that.

    llm = FunctionLLM(lambda call: f"{call.sources[1].splitlines()[0]} [1]")
    llm = FunctionLLM("The manuals I have do not cover this.")
    llm = FunctionLLM(["Set the valve ", LLMError("the language model did not answer within 20 s")])
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from .llm import StreamStats

Reply = str | Sequence["str | Exception"] | Exception
_SOURCE = re.compile(r'<source n="(\d+)"[^\n]*>\n(.*?)\n</source>', re.S)


@dataclass
class ModelCall:
    """One request as the model would see it."""

    system: str
    user: str
    sources: dict[int, str] = field(default_factory=dict)  # the numbered sources in the system message

    @classmethod
    def of(cls, system: str, user: str) -> ModelCall:
        return cls(system, user, {int(n): text for n, text in _SOURCE.findall(system)})


class FunctionLLM:
    """Replies with ``reply(call)`` (or a fixed ``reply``): a string is streamed word by word; a
    sequence is streamed piece by piece, and an exception in it is raised at that point (a stream
    that breaks or stalls mid-answer); an exception alone is raised before the first token."""

    def __init__(self, reply: Reply | Callable[[ModelCall], Reply], name: str = "function-llm") -> None:
        self._reply = reply
        self.name = name
        self.calls: list[ModelCall] = []

    def stream(self, system: str, user: str, stats: StreamStats | None = None) -> Iterator[str]:
        stats = stats or StreamStats()
        t0 = time.perf_counter()
        call = ModelCall.of(system, user)
        self.calls.append(call)
        reply = self._reply(call) if callable(self._reply) else self._reply
        try:
            if isinstance(reply, Exception):
                raise reply
            pieces: Sequence[str | Exception] = (
                re.findall(r"\S+\s*|\s+", reply) if isinstance(reply, str) else reply
            )
            for piece in pieces:
                if isinstance(piece, Exception):
                    raise piece
                if piece and stats.ttft_ms is None:
                    stats.ttft_ms = (time.perf_counter() - t0) * 1000
                yield piece
            stats.finish_reason = "stop"
        finally:
            stats.total_ms = (time.perf_counter() - t0) * 1000

    def health(self) -> dict[str, Any]:
        return {"reachable": True, "state": "closed", "model": self.name}

    def start_probe(self) -> None:
        pass

    def stop_probe(self) -> None:
        pass
