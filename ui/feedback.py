"""Operator feedback (thumbs up/down + comment) out of the answer database (ui/records.py).

python -m ui.feedback export --out feedback.csv          every feedback row, as CSV
python -m ui.feedback export --qa draft.jsonl            thumbs-down and commented answers as QA lines

The QA lines are in the project's format (chatbot/qa.py): the question, the source and pages the
answer cited, the operator's comment in ``answer``. An engineer corrects ``source``, ``pages``,
``answer`` and ``must_contain`` (``review`` says what to check), then ``python -m chatbot.eval --qa``
runs on them like on any set.

The draft keeps what the operator said. A page the comment names ("manual p.4 says every 1000 h",
"steht auf Seite 12", written the way the app itself writes page references in the operator's
languages, ui/i18n.py) becomes the draft's ``pages`` and ``page_hint``. A thumbs-down on an answer
that cited nothing ("not in the manuals") says the manuals do answer it: the draft is answerable,
its source left for the engineer to name. Only a decline the operator did not contradict is
written unanswerable.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import re
import sys
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any

from core.errors import UserError

from .i18n import STRINGS
from .records import FEEDBACK_COLUMNS, Records, database_url, parse_time

COLUMNS = FEEDBACK_COLUMNS


def write_csv(rows: Iterable[dict[str, Any]], fh: IO[str]) -> int:
    w = csv.DictWriter(fh, fieldnames=COLUMNS, extrasaction="ignore")
    w.writeheader()
    n = 0
    for r in rows:
        w.writerow(r)
        n += 1
    return n


def _page_pattern() -> re.Pattern[str]:
    """A page reference in any form the app writes one ("p. 4", "page 4", "S. 4", "Seite 4",
    "página 4", "第 4 页"), spaces and the abbreviation's dot optional. A word in a Latin script must
    start a word ("step 4" names no page); a Chinese one stands between other characters."""
    forms = set()
    for key in ("page_short", "page"):
        for template in STRINGS[key].values():
            before, after = (part.strip() for part in template.split("{page}"))
            start = r"(?<![^\W\d_])" if before[:1].isascii() else ""
            words = [re.escape(w).replace(r"\.", r"\.?") for w in (before, after)]
            forms.add(start + words[0] + r"\s*(\d{1,4})" + (r"\s*" + words[1] if words[1] else ""))
    alternatives = "|".join(sorted(forms, key=len, reverse=True))
    return re.compile(rf"(?:{alternatives})(?!\d)", re.I)


_PAGE_REF = _page_pattern()


def page_hint(comment: str) -> list[int]:
    """The pages a comment names, in order of first mention."""
    pages: list[int] = []
    for m in _PAGE_REF.finditer(comment or ""):
        n = int(next(g for g in m.groups() if g))
        if n > 0 and n not in pages:
            pages.append(n)
    return pages


def qa_lines(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Thumbs-down or commented feedback as draft QA lines, one per question (the latest feedback on a
    question wins; a thumbs-up without a comment is not a test case)."""
    latest: dict[str, dict[str, Any]] = {}
    for r in rows:
        if r["rating"] >= 0 and not (r.get("comment") or "").strip():
            continue
        latest[" ".join(r["question"].split()).lower()] = r
    out = []
    for r in latest.values():
        cites = json.loads(r["citations"] or "[]")
        source = cites[0]["source"] if cites else ""
        cited = sorted({int(c["page"]) for c in cites if c.get("source") == source and c.get("page")})
        comment = (r.get("comment") or "").strip()
        hint = page_hint(comment)
        verdict = {-1: "thumbs down", 0: "comment", 1: "thumbs up"}.get(int(r["rating"]), "feedback")
        # a thumbs-down on "not in the manuals", or a page named: the operator says the manuals answer it
        answerable = bool(source) or bool(hint) or int(r["rating"]) < 0
        review = f"{verdict} on {r['created_at']}: "
        if hint:
            review += f"the operator names page {', '.join(map(str, hint))}; "
        if answerable and not source:
            review += "the answer cited nothing: name the source; "
        elif hint and source:
            review += f"the answer cited {source} p. {', '.join(map(str, cited)) or '-'}; "
        review += "check source, pages and answer; add must_contain"
        out.append(
            {
                "id": f"feedback-{r['id']}",
                "question": r["question"],
                "answer": comment,
                "source": source,
                "pages": hint or cited,
                "page_hint": hint,
                "must_contain": [],
                "answerable": answerable,
                "kind": "feedback",
                "lang": r.get("lang") or "en",
                "equipment": r.get("equipment") or "",
                "review": review,
                "shown_answer": r["answer"],
                "index_version": r["index_version"],
            }
        )
    return out


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m ui.feedback", description="Export operator feedback.")
    sub = p.add_subparsers(dest="cmd", required=True)
    e = sub.add_parser("export", help="write feedback as CSV (--out) or as draft QA lines (--qa)")
    e.add_argument("--db", help="SQLite file (default: setting ui.database_url, else ui.feedback_db)")
    e.add_argument("--config", help="TOML settings file")
    out = e.add_mutually_exclusive_group(required=True)
    out.add_argument("--out", help="CSV file to write ('-' for stdout)")
    out.add_argument("--qa", help="JSON Lines file of draft QA lines to write ('-' for stdout)")
    e.add_argument("--since", help="only feedback since this time (2026-12-01, 7d)")
    args = p.parse_args(argv)
    try:
        records = open_records(args.db, args.config)
        rows = records.rows(parse_time(args.since) if args.since else None)
        target = args.out or args.qa
        with output(target) as fh:
            if args.qa:
                lines = qa_lines(rows)
                fh.writelines(json.dumps(q, ensure_ascii=False) + "\n" for q in lines)
                n, what = len(lines), "draft QA lines"
            else:
                n, what = write_csv(rows, fh), "feedback rows"
    except (UserError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if target != "-":
        print(f"wrote {n} {what} to {target}", file=sys.stderr)
    return 0


@contextlib.contextmanager
def output(target: str) -> Iterator[IO[str]]:
    """The file a CLI writes to ('-': stdout, left open)."""
    if target == "-":
        yield sys.stdout
        return
    with open(target, "w", newline="", encoding="utf-8") as fh:
        yield fh


def open_records(db: str | None, config: str | None) -> Records:
    """The answer database named on the command line (a SQLite file) or by the settings, with the
    settings' retention (applied only by ``purge()``: opening it deletes nothing)."""
    from core.settings import load_settings

    s = load_settings(config).ui
    if db:
        if not Path(db).exists():
            raise UserError(f"{db}: no such database file")
        url = database_url("", Path(db))
    else:
        if not s.database_url and not s.feedback_db.exists():
            raise UserError(f"{s.feedback_db}: no database yet (nothing has been logged)")
        url = database_url(s.database_url, s.feedback_db)
    return Records(url, answer_log_days=s.answer_log_days, feedback_days=s.feedback_days, purge=False)


if __name__ == "__main__":
    raise SystemExit(main())
