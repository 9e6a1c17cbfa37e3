"""Circuit breaker for the model server: repeated failures turn into instant refusals, so
questions get their passages at once instead of waiting on a dead or hung server."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

log = logging.getLogger(__name__)


class Breaker:
    """Circuit breaker for the model server.

    closed: calls go through. After ``threshold`` failures in a row (a timeout, a refused
    connection, a 5xx) it opens: for ``cooldown`` seconds every call is refused at once, so
    questions get their passages without waiting. Then one trial call is let through
    (half-open): success closes it, failure opens it again for twice as long (up to
    ``max_cooldown``).
    """

    def __init__(self, threshold: int = 1, cooldown: float = 10.0, max_cooldown: float = 120.0) -> None:
        self.threshold = threshold
        self.base_cooldown = cooldown
        self.max_cooldown = max_cooldown
        self._lock = threading.Lock()
        self._failures = 0
        self.down_since: float | None = None  # first failure since the last success
        self._opened_at: float | None = None
        self._cooldown = cooldown
        self._trial = False
        self.last_error: str | None = None
        self.last_success: float | None = None
        self.last_failure: float | None = None

    @property
    def state(self) -> str:
        with self._lock:
            return self._state(time.monotonic())

    def _state(self, now: float) -> str:
        if self._opened_at is None:
            return "closed"
        return "open" if now - self._opened_at < self._cooldown or self._trial else "half-open"

    def retry_in(self) -> float:
        with self._lock:
            if self._opened_at is None:
                return 0.0
            return max(0.0, self._cooldown - (time.monotonic() - self._opened_at))

    def allow(self) -> bool:
        with self._lock:
            state = self._state(time.monotonic())
            if state == "closed":
                return True
            if state == "half-open":
                self._trial = True  # this caller is the one trial; the others keep being refused
                return True
            return False

    def success(self) -> None:
        with self._lock:
            if self._opened_at is not None:
                log.warning("language model is answering again; circuit closed")
            self._failures = 0
            self.down_since = None
            self._opened_at = None
            self._cooldown = self.base_cooldown
            self._trial = False
            self.last_success = time.monotonic()

    def failure(self, reason: str) -> None:
        with self._lock:
            now = time.monotonic()
            self.last_error = reason
            self.last_failure = now
            self._failures += 1
            if self.down_since is None:
                self.down_since = now
            if self._opened_at is None:
                if self._failures >= self.threshold:
                    self._opened_at = now
                    log.error("language model failing; circuit open", extra={"reason": reason})
                return
            # Already open: a failed trial or probe keeps it open; after a cooldown, for longer.
            if self._trial or now - self._opened_at >= self._cooldown:
                self._cooldown = min(self.max_cooldown, self._cooldown * 2)
            self._trial = False
            self._opened_at = now

    def release_trial(self) -> None:
        """A trial caller that never reached the server (e.g. no free slot) gives the trial back."""
        with self._lock:
            self._trial = False

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            now = time.monotonic()
            state = self._state(now)
            return {
                "state": state,
                "failures_in_a_row": self._failures,
                "retry_in_s": round(max(0.0, self._cooldown - (now - self._opened_at)), 1)
                if self._opened_at is not None
                else 0.0,
                "last_error": self.last_error,
                "last_success_s_ago": round(now - self.last_success, 1) if self.last_success else None,
            }

    def down_for(self) -> float:
        """Seconds since the model last stopped answering (0 while it answers)."""
        with self._lock:
            return 0.0 if self.down_since is None else time.monotonic() - self.down_since

    def restarted(self) -> None:
        """The server was restarted: give it a full period before it counts as hung again."""
        with self._lock:
            if self.down_since is not None:
                self.down_since = time.monotonic()
