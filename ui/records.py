"""What must survive a replica: the answer log (every question and what the operator was shown) and
the operators' feedback, in one SQL database.

SQLite (the file ``ui.feedback_db``) is the single-machine default; with ``ui.database_url`` set
(``postgresql+psycopg://user:password@host/db``) every replica writes to one PostgreSQL database.
A row is written before the operator's answer is complete on screen, so a replica that dies loses
no row of an answer that was shown. Questions can hold personal data: rows older than
``ui.answer_log_days`` (feedback: ``ui.feedback_days``) are deleted, at start-up and hourly.
Times are UTC.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from core.errors import UserError

log = logging.getLogger(__name__)

meta = sa.MetaData()

answers = sa.Table(
    "answers",
    meta,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("created_at", sa.DateTime, nullable=False, index=True),
    sa.Column("replica", sa.String(200), nullable=False, server_default=""),
    sa.Column("session", sa.String(200), nullable=False, server_default=""),
    sa.Column("question", sa.Text, nullable=False),
    sa.Column("answer", sa.Text, nullable=False),  # exactly the text the operator read
    sa.Column("outcome", sa.String(40), nullable=False),  # answer | low_confidence | not_in_manuals | refused
    sa.Column("confidence", sa.Float, nullable=False, server_default="0"),
    sa.Column("citations", sa.Text, nullable=False, server_default="[]"),  # JSON [{n, source, page, section}]
    sa.Column("model", sa.String(200), nullable=False, server_default=""),
    sa.Column("llm_error", sa.Text, nullable=False, server_default=""),
    sa.Column("index_version", sa.String(100), nullable=False, server_default=""),
    sa.Column("equipment", sa.String(200), nullable=False, server_default="", index=True),
    sa.Column("lang", sa.String(20), nullable=False, server_default=""),
    sa.Column("retrieval_ms", sa.Float),
    sa.Column("first_text_ms", sa.Float),
    sa.Column("total_ms", sa.Float),
)

feedback = sa.Table(
    "feedback",
    meta,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("session", sa.String(200), nullable=False),
    sa.Column("rating", sa.Integer, nullable=False),  # 1 thumbs up, -1 thumbs down, 0 comment only
    sa.Column("comment", sa.Text, nullable=False, server_default=""),
    sa.Column("question", sa.Text, nullable=False),
    sa.Column("answer", sa.Text, nullable=False),
    sa.Column("abstained", sa.Integer, nullable=False),
    sa.Column("citations", sa.Text, nullable=False),
    sa.Column("index_version", sa.String(100), nullable=False),
    sa.Column("equipment", sa.String(200), nullable=False, server_default=""),
    sa.Column("lang", sa.String(20), nullable=False, server_default=""),
    sa.Column("answer_id", sa.Integer),  # the answer-log row it is about (None: the log is off)
)

FEEDBACK_COLUMNS = [c.name for c in feedback.columns]
ANSWER_COLUMNS = [c.name for c in answers.columns]
_PURGE_EVERY = 3600.0


def database_url(url: str, sqlite_path: Path) -> str:
    return url or f"sqlite:///{sqlite_path}"


def shown_url(url: str) -> str:
    """The URL without its password, for messages and logs."""
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "<invalid database URL>"


class Records:
    def __init__(
        self,
        url: str,
        *,
        answer_log_days: int = 30,
        feedback_days: int = 365,
        replica: str = "",
        purge: bool = True,
    ) -> None:
        self.url = url
        self.answer_log_days = answer_log_days
        self.feedback_days = feedback_days
        self.replica = replica
        self._lock = threading.Lock()
        self._purged = time.monotonic() if not purge else 0.0
        try:
            u = sa.engine.make_url(url)
        except Exception as exc:
            raise UserError(f"ui.database_url: not a database URL ({exc})") from exc
        kw: dict[str, Any] = {"pool_pre_ping": True}
        if u.get_backend_name() == "sqlite":
            if u.database:
                Path(u.database).parent.mkdir(parents=True, exist_ok=True)
            kw["connect_args"] = {"timeout": 30, "check_same_thread": False}
        try:
            self.engine = sa.create_engine(u, **kw)
            if u.get_backend_name() == "sqlite":
                sa.event.listen(self.engine, "connect", _sqlite_pragmas)
            _create_tables(self.engine)
        except sa.exc.SQLAlchemyError as exc:
            cause = getattr(exc, "orig", None) or exc
            first = (str(cause).splitlines() or [""])[0]
            raise UserError(
                f"database {shown_url(url)}: cannot be opened ({type(cause).__name__}: {first})"
            ) from exc
        if purge:  # the app enforces the retention; an export only reads
            self.purge()

    @property
    def backend(self) -> str:
        return self.engine.url.get_backend_name()

    # ------------------------------------------------------------------ writing
    def log_answer(self, row_id: int | None = None, **row: Any) -> int | None:
        """One question and what the operator was shown. None when the log is off (0 days).

        With ``row_id``, that row is brought up to date instead (an answer logged when its quote was
        shown, completed when the model's part is done; its first time is kept)."""
        if self.answer_log_days <= 0:
            return None
        if not isinstance(row.get("citations", "[]"), str):
            row["citations"] = json.dumps(list(row["citations"]), ensure_ascii=False)
        if row_id is not None:
            with self.engine.begin() as conn:
                if conn.execute(answers.update().where(answers.c.id == row_id).values(**row)).rowcount:
                    return row_id
        self._maybe_purge()
        row.setdefault("replica", self.replica)
        row["created_at"] = _now()
        with self.engine.begin() as conn:
            key = conn.execute(answers.insert().values(**row)).inserted_primary_key
            return int(key[0]) if key else None

    def record(
        self,
        *,
        session: str,
        rating: int,
        question: str,
        answer: str,
        abstained: bool,
        citations: Sequence[dict[str, Any]],
        index_version: str,
        comment: str = "",
        equipment: str = "",
        lang: str = "",
        answer_id: int | None = None,
    ) -> int:
        """A thumbs up/down or a comment on one answer."""
        with self.engine.begin() as conn:
            res = conn.execute(
                feedback.insert().values(
                    created_at=_now(),
                    session=session,
                    rating=int(rating),
                    comment=comment,
                    question=question,
                    answer=answer,
                    abstained=int(abstained),
                    citations=json.dumps(list(citations), ensure_ascii=False),
                    index_version=index_version,
                    equipment=equipment,
                    lang=lang,
                    answer_id=answer_id,
                )
            )
            key = res.inserted_primary_key
            return int(key[0]) if key else 0

    def add_comment(self, row_id: int, comment: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(feedback.update().where(feedback.c.id == row_id).values(comment=comment))

    # ------------------------------------------------------------------ reading
    def answer_rows(
        self, since: datetime | None = None, until: datetime | None = None, equipment: str | None = None
    ) -> Iterator[dict[str, Any]]:
        q = sa.select(answers).order_by(answers.c.id)
        if since is not None:
            q = q.where(answers.c.created_at >= _naive(since))
        if until is not None:
            q = q.where(answers.c.created_at < _naive(until))
        if equipment:
            q = q.where(sa.func.lower(answers.c.equipment) == equipment.lower())
        with self.engine.connect() as conn:
            for r in conn.execute(q):
                yield _public(dict(r._mapping))

    def rows(self, since: datetime | None = None) -> list[dict[str, Any]]:
        """Feedback rows, oldest first."""
        q = sa.select(feedback).order_by(feedback.c.id)
        if since is not None:
            q = q.where(feedback.c.created_at >= _naive(since))
        with self.engine.connect() as conn:
            return [_public(dict(r._mapping)) for r in conn.execute(q)]

    def count(self, table: str = "answers") -> int:
        t = answers if table == "answers" else feedback
        with self.engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one())

    # ------------------------------------------------------------------ retention
    def purge(self, now: datetime | None = None) -> tuple[int, int]:
        """Delete answer-log rows older than ``answer_log_days`` and feedback older than
        ``feedback_days``. Returns (answers, feedback) deleted."""
        now = _naive(now) if now is not None else _now()
        out = []
        with self.engine.begin() as conn:
            for table, days in ((answers, self.answer_log_days), (feedback, self.feedback_days)):
                cutoff = now - timedelta(days=max(days, 0))
                out.append(conn.execute(table.delete().where(table.c.created_at < cutoff)).rowcount or 0)
        self._purged = time.monotonic()
        if any(out):
            log.info("retention: deleted old rows", extra={"answers": out[0], "feedback": out[1]})
        return out[0], out[1]

    def _maybe_purge(self) -> None:
        if time.monotonic() - self._purged < _PURGE_EVERY:
            return
        with self._lock:
            if time.monotonic() - self._purged >= _PURGE_EVERY:
                try:
                    self.purge()
                except sa.exc.SQLAlchemyError:
                    log.exception("retention purge failed")

    def close(self) -> None:
        self.engine.dispose()


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _naive(t: datetime) -> datetime:
    return t.astimezone(UTC).replace(tzinfo=None) if t.tzinfo is not None else t


def _public(row: dict[str, Any]) -> dict[str, Any]:
    t = row.get("created_at")
    if isinstance(t, datetime):
        row["created_at"] = t.replace(tzinfo=UTC).isoformat(timespec="seconds")
    return row


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=FULL")  # a logged answer survives a power cut
    cur.close()


def _create_tables(engine: sa.Engine) -> None:
    """Create or upgrade the tables. Replicas start together: on PostgreSQL an advisory lock lets one
    of them do it; elsewhere a replica that lost the race finds the tables on its second try."""
    for attempt in range(2):
        try:
            with engine.begin() as conn:
                if conn.dialect.name == "postgresql":
                    conn.execute(sa.text("SELECT pg_advisory_xact_lock(7317001)"))
                meta.create_all(conn)
                _add_missing_columns(conn)
            return
        except (sa.exc.IntegrityError, sa.exc.OperationalError, sa.exc.ProgrammingError):
            if attempt:
                raise


def _add_missing_columns(conn: sa.Connection) -> None:
    """Feedback files written before the answer log existed lack its newer columns; their times were
    ISO text with a "T" and an offset."""
    have = {c["name"] for c in sa.inspect(conn).get_columns("feedback")}
    for name, ddl in (("lang", "VARCHAR(20) NOT NULL DEFAULT ''"), ("answer_id", "INTEGER")):
        if name not in have:
            conn.execute(sa.text(f"ALTER TABLE feedback ADD COLUMN {name} {ddl}"))
    if conn.dialect.name == "sqlite":
        conn.execute(
            sa.text(
                "UPDATE feedback SET created_at = replace(substr(created_at, 1, 19), 'T', ' ')"
                " WHERE created_at LIKE '%T%'"
            )
        )


def parse_time(text: str) -> datetime:
    """``2026-12-01``, ``2026-12-01T08:00``, ``2026-12-01 08:00:00+01:00`` or a relative ``7d`` /
    ``12h`` / ``30m`` (before now). Times without an offset are UTC."""
    s = text.strip()
    units = {"d": "days", "h": "hours", "m": "minutes"}
    if s[-1:] in units and s[:-1].isdigit():
        return datetime.now(UTC) - timedelta(**{units[s[-1]]: int(s[:-1])})
    try:
        t = datetime.fromisoformat(s)
    except ValueError as exc:
        raise UserError(f"{text!r}: not a time (use 2026-12-01, 2026-12-01T08:00 or 7d / 12h)") from exc
    return t if t.tzinfo is not None else t.replace(tzinfo=UTC)


def citation_row(c: Any) -> dict[str, Any]:
    """A citation as the answer log and the feedback store it."""
    return {"n": c.n, "source": c.source, "page": c.page, "section": c.section}


def answer_row(result: Any, *, session: str, equipment: str | None, model: str) -> dict[str, Any]:
    """The answer-log row of one :class:`chatbot.result.AnswerResult`: what the operator was shown."""
    t = result.timings
    return {
        "session": session,
        "question": result.question,
        "answer": result.answer,
        "outcome": result.outcome,
        "confidence": float(result.confidence),
        "citations": [citation_row(c) for c in result.citations],
        "model": model if result.grounding.get("model_asked") else "",
        "llm_error": result.llm_error or "",
        "index_version": result.index_version,
        "equipment": equipment or "",
        "lang": result.lang,
        "retrieval_ms": t.get("retrieval_ms"),
        "first_text_ms": t.get("first_text_ms"),
        "total_ms": t.get("total_ms"),
    }
