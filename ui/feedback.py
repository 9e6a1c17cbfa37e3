"""Operator feedback (thumbs up/down + comment) stored durably in SQLite; CSV export.

python -m ui.feedback export --db data/feedback.sqlite --out feedback.csv
"""

from __future__ import annotations

import argparse
import csv
import json
import sqlite3
import sys
import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at TEXT NOT NULL,
    session TEXT NOT NULL,
    rating INTEGER NOT NULL,          -- 1 thumbs up, -1 thumbs down, 0 comment only
    comment TEXT NOT NULL DEFAULT '',
    question TEXT NOT NULL,
    answer TEXT NOT NULL,
    abstained INTEGER NOT NULL,
    citations TEXT NOT NULL,          -- JSON list of {n, source, page, section}
    index_version TEXT NOT NULL,
    equipment TEXT NOT NULL DEFAULT ''
);
"""
COLUMNS = [
    "id",
    "created_at",
    "session",
    "rating",
    "comment",
    "question",
    "answer",
    "abstained",
    "citations",
    "index_version",
    "equipment",
]


class FeedbackStore:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(SCHEMA)

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
    ) -> int:
        with self._lock:
            cur = self._db.execute(
                "INSERT INTO feedback (created_at, session, rating, comment, question, answer, abstained,"
                " citations, index_version, equipment) VALUES (?,?,?,?,?,?,?,?,?,?)",
                (
                    datetime.now(UTC).isoformat(timespec="seconds"),
                    session,
                    int(rating),
                    comment,
                    question,
                    answer,
                    int(abstained),
                    json.dumps(list(citations), ensure_ascii=False),
                    index_version,
                    equipment,
                ),
            )
            return int(cur.lastrowid or 0)

    def add_comment(self, row_id: int, comment: str) -> None:
        with self._lock:
            self._db.execute("UPDATE feedback SET comment = ? WHERE id = ?", (comment, row_id))

    def rows(self) -> list[dict[str, Any]]:
        with self._lock:
            cur = self._db.execute(f"SELECT {', '.join(COLUMNS)} FROM feedback ORDER BY id")
            return [dict(zip(COLUMNS, r, strict=True)) for r in cur.fetchall()]

    def export_csv(self, out: str | Path) -> int:
        rows = self.rows()
        with open(out, "w", newline="", encoding="utf-8") as fh:
            w = csv.DictWriter(fh, fieldnames=COLUMNS)
            w.writeheader()
            w.writerows(rows)
        return len(rows)

    def close(self) -> None:
        with self._lock:
            self._db.close()


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m ui.feedback", description="Export operator feedback.")
    sub = p.add_subparsers(dest="cmd", required=True)
    e = sub.add_parser("export", help="write all feedback as CSV")
    e.add_argument("--db", help="feedback SQLite file (default: setting ui.feedback_db)")
    e.add_argument("--out", required=True, help="CSV file to write ('-' for stdout)")
    args = p.parse_args(argv)
    from core.settings import load_settings

    db = Path(args.db) if args.db else load_settings().ui.feedback_db
    if not db.exists():
        print(f"error: {db}: no feedback database", file=sys.stderr)
        return 2
    store = FeedbackStore(db)
    if args.out == "-":
        rows = store.rows()
        w = csv.DictWriter(sys.stdout, fieldnames=COLUMNS)
        w.writeheader()
        w.writerows(rows)
        n = len(rows)
    else:
        n = store.export_csv(args.out)
        print(f"wrote {n} feedback rows to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
