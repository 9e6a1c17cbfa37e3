"""What each question leaves behind: a row in the answer log (ui/records.py) and the replica's
metrics (ui/metrics.py). A row that cannot be written never costs the operator the answer: it is
counted (``opassist_answer_log_errors``) and logged with its traceback."""

from __future__ import annotations

import logging
import socket
from dataclasses import dataclass
from typing import Any

from chatbot.result import AnswerResult, Citation
from chatbot.wiring import AppDeps

from .metrics import Metrics
from .records import Records, answer_row, citation_row, database_url

log = logging.getLogger(__name__)


@dataclass
class Observer:
    records: Records
    metrics: Metrics
    fixed_model: str  # the model name written to the log ("" without a model)
    llm: Any = None  # asked for the served model's name once the server has answered

    @property
    def model(self) -> str:
        if self.fixed_model or self.llm is None:
            return self.fixed_model
        # the served model's name once its server has answered: never asked here, so the app starts
        # and serves passages while the model server is down or hung
        name = getattr(self.llm, "known_model", None)
        return str((getattr(self.llm, "model", "") if name is None else name) or "")

    @classmethod
    def build(cls, deps: AppDeps) -> Observer:
        s = deps.settings.ui
        replica = s.replica_name or f"{socket.gethostname()}:{s.port}"
        records = Records(
            database_url(s.database_url, s.feedback_db),
            answer_log_days=s.answer_log_days,
            feedback_days=s.feedback_days,
            replica=replica,
        )
        model = (deps.settings.llm.model or "") if deps.llm is not None else ""
        return cls(records, Metrics(deps, replica), model, deps.llm)

    def answered(
        self, result: AnswerResult, request: Any, equipment: str | None, row_id: int | None = None
    ) -> int | None:
        """The finished answer: a new row, or the row its quote was logged in (``row_id``)."""
        self.metrics.answered(result)
        row = answer_row(result, session=_session(request), equipment=equipment, model=self.model)
        return self._write(row, row_id)

    def quoted(
        self,
        question: str,
        quote: str,
        cited: Citation | None,
        request: Any,
        equipment: str | None,
        lang: str | None,
    ) -> int | None:
        """The quote is on screen and the model's part still to come: logged now, so a replica that
        dies before the answer is complete loses nothing the operator read. ``answered`` completes it."""
        return self._write(
            {
                "session": _session(request),
                "question": question,
                "answer": quote,
                "outcome": "answer",
                "citations": [citation_row(cited)] if cited else [],
                "equipment": equipment or "",
                "lang": lang or "",
            }
        )

    def refused(
        self, question: str, text: str, request: Any, equipment: str | None, lang: str | None
    ) -> None:
        """A question refused with a message the operator read (unknown machine, ...)."""
        self.metrics.refused.inc()
        self._write(
            {
                "session": _session(request),
                "question": question,
                "answer": text,
                "outcome": "refused",
                "equipment": equipment or "",
                "lang": lang or "",
            }
        )

    def _write(self, row: dict[str, Any], row_id: int | None = None) -> int | None:
        try:
            return self.records.log_answer(row_id, **row)
        except Exception:
            self.metrics.log_errors.inc()
            log.exception("answer log write failed")
            return None


def _session(request: Any) -> str:
    return str(getattr(request, "session_hash", "") or "")
