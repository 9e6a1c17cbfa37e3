"""``python -m chatbot.ask --index PATH "question" [--json]``: a cited answer from the manuals."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence

from core.errors import UserError
from core.logs import setup_logging
from core.settings import load_settings

from .result import AnswerResult, public_dict
from .wiring import build_app

log = logging.getLogger(__name__)


def print_human(r: AnswerResult) -> None:
    print(r.answer)
    if r.llm_error:
        print(f"\n(note: {r.llm_error}; showing the manual passages instead)")
    for s in r.safety:
        print(f"\n!! {s.level}: {s.text} [{s.n}]")
    shown = r.citations if not r.abstained else r.passages[:3]
    if shown:
        print("\nSources:" if not r.abstained else "\nClosest passages:")
    for c in shown:
        where = c.source + (f", page {c.page}" if c.page else "")
        print(f"  [{c.n}] {c.title} — {where}" + (f" — {c.section}" if c.section else ""))


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m chatbot.ask", description=__doc__)
    p.add_argument("question")
    p.add_argument("--index", help="index folder (default: setting index.path)")
    p.add_argument("--config", help="TOML settings file")
    p.add_argument("--equipment", help="limit to the documents of this equipment tag")
    p.add_argument("--json", action="store_true", help="print the answer, citations and timings as JSON")
    args = p.parse_args(argv)
    try:
        settings = load_settings(args.config, index={"path": args.index} if args.index else None)
        setup_logging(settings.log_level, settings.log_format)
        with build_app(settings) as deps:
            result = deps.answerer.answer(args.question, equipment=args.equipment)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(public_dict(result), ensure_ascii=False, indent=2))
    else:
        print_human(result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
