"""The answer log: every question and what the operator was shown (ui/records.py).

python -m ui.log export [--since 7d|2026-12-01] [--until ...] [--equipment press] [--out log.jsonl]
python -m ui.log purge          delete rows older than the retention settings now

One JSON object per line: created_at (UTC), replica, session, question, answer (the text shown),
outcome, confidence, citations, model, llm_error, index_version, equipment, lang, timings.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from core.errors import UserError

from .feedback import open_records, output
from .records import parse_time


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m ui.log", description="The answer log.")
    p.add_argument("--db", help="SQLite file (default: setting ui.database_url, else ui.feedback_db)")
    p.add_argument("--config", help="TOML settings file")
    sub = p.add_subparsers(dest="cmd", required=True)
    e = sub.add_parser("export", help="write the answer log as JSON Lines")
    e.add_argument("--since", help="from this time on (2026-12-01, 2026-12-01T08:00, 7d, 12h)")
    e.add_argument("--until", help="before this time")
    e.add_argument("--equipment", help="only questions asked on this machine's panel")
    e.add_argument("--out", default="-", help="file to write (default: stdout)")
    sub.add_parser("purge", help="delete rows older than ui.answer_log_days / ui.feedback_days now")
    args = p.parse_args(argv)
    try:
        records = open_records(args.db, args.config)
        if args.cmd == "purge":
            a, f = records.purge()
            print(f"deleted {a} answer-log rows and {f} feedback rows", file=sys.stderr)
            return 0
        since = parse_time(args.since) if args.since else None
        until = parse_time(args.until) if args.until else None
        n = 0
        with output(args.out) as fh:
            for row in records.answer_rows(since, until, args.equipment):
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")
                n += 1
    except (UserError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.out != "-":
        print(f"wrote {n} answer-log rows to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
