"""The chat UI's settings section (``ui.*``: the HMI embedding, the answer log, metrics, admins),
and the base of every section. Part of core/settings.py's one ``Settings`` object."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class UISettings(Section):
    host: str = Field("127.0.0.1", description="Interface to listen on (0.0.0.0 for the shop-floor network).")
    port: int = Field(7860, ge=1, le=65535, description="HTTP port of the chat UI.")
    title: str = Field("Operator Assistant", description="Title shown in the browser tab and header.")
    frame_ancestors: list[str] = Field(
        default_factory=lambda: ["'self'"],
        description="Origins allowed to show the app in an iframe (CSP frame-ancestors), e.g. "
        '["\'self\'", "http://hmi-press2.plant.local:8080"]. Default: same origin only.',
    )
    max_question_chars: int = Field(500, ge=10, description="Longest question accepted.")
    rate_per_minute: float = Field(
        10.0,
        gt=0,
        description="Questions per minute one client address may ask (a new browser session does not reset it).",
    )
    rate_burst: int = Field(
        5, ge=1, description="Questions one client address may ask at once before the rate applies."
    )
    trusted_proxies: list[str] = Field(
        default_factory=list,
        description="Addresses or networks of reverse proxies whose X-Forwarded-For is believed, e.g. "
        '["10.0.0.5", "127.0.0.1/32"]. Behind a proxy, set it, or every operator shares the proxy\'s limit.',
    )
    health_details_from: list[str] = Field(
        default_factory=lambda: ["127.0.0.1/32", "::1/128"],
        description="Client addresses or networks (behind ui.trusted_proxies: the client's own address) "
        "whose GET /healthz also shows the model server's URL, the embedded server's pid and the error "
        "texts. Everyone else gets the states only. Default: this machine (health checks, the admin).",
    )
    concurrency: int = Field(
        32,
        ge=1,
        le=36,
        description="Questions answered at the same time, each from retrieval to the end of the model's part "
        "(model calls are limited separately by llm.max_parallel and wait at most llm.queue_timeout_seconds, "
        "so a question whose model is busy still gets its quote at once). At most 36: Gradio runs at most "
        "40 jobs of any kind at once, and page loads, citations and feedback need a few.",
    )
    feedback_db: Path = Field(
        Path("data/feedback.sqlite"),
        description="SQLite file of the answer log and the operators' feedback (single machine; "
        "ui.database_url replaces it).",
    )
    database_url: str = Field(
        "",
        description="SQLAlchemy URL of a shared database for the answer log and feedback, e.g. "
        "postgresql+psycopg://opassist:PASSWORD@db/opassist (every replica writes to it). Empty: "
        "the SQLite file ui.feedback_db.",
    )
    answer_log_days: int = Field(
        30,
        ge=0,
        description="Days every question and the answer shown are kept in the answer log (questions "
        "can hold personal data). 0: questions are not logged.",
    )
    feedback_days: int = Field(365, ge=0, description="Days operator feedback is kept.")
    replica_name: str = Field(
        "", description="Name of this app process in the answer log and /metrics (default: host:port)."
    )
    metrics: bool = Field(True, description="Serve Prometheus metrics at GET /metrics.")
    admin_header: str = Field(
        "X-Forwarded-User",
        description="Request header carrying the user name set by the trusted reverse proxy after it "
        "authenticated the user. Believed only from ui.trusted_proxies.",
    )
    admins: list[str] = Field(
        default_factory=list,
        description="User names (as in ui.admin_header) allowed to use /admin: upload or remove a "
        "manual, the answer log and the feedback export. Empty: no admin pages.",
    )
    manuals_dir: Path | None = Field(
        None,
        description="The manuals folder admins upload into and remove from; an ingest run into "
        "index.path follows each change. None: upload and removal are off.",
    )
    cache_dir: Path = Field(Path("data/cache"), description="Rendered page images are cached here.")
    page_scale: float = Field(1.6, gt=0.2, le=4, description="Page image resolution (1 = 72 dpi).")
