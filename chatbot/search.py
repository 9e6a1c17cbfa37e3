"""``python -m chatbot.search --index PATH "question"``: show the passages the index returns.

Retrieval only (no language model): every hit with document, page, section and text.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from index import open_index
from index.embeddings import load_embedder, spec_from_settings
from index.errors import UserError

from .logs import setup_logging
from .settings import load_settings


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m chatbot.search", description=__doc__)
    p.add_argument("question")
    p.add_argument("--index", help="index folder (default: setting index.path)")
    p.add_argument("--config", help="TOML settings file")
    p.add_argument("-k", type=int, default=5, help="passages to show")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    try:
        settings = load_settings(args.config, index={"path": args.index} if args.index else None)
        setup_logging(settings.log_level, settings.log_format)
        embedder = load_embedder(spec_from_settings(settings.embedding))
        idx = open_index(settings.index.path, expected_model=embedder.name, expected_dim=embedder.dim)
        hits = idx.search(embedder.embed_query(args.question), args.k)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    rows = []
    for rank, (row, score) in enumerate(hits, 1):
        c = idx.chunks[row]
        rows.append(
            {
                "rank": rank,
                "score": round(score, 4),
                "source": c.source,
                "page": c.page_start,
                "section": c.section,
                "text": c.text,
            }
        )
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return 0
    for r in rows:
        where = f"{r['source']}" + (f", page {r['page']}" if r["page"] else "")
        print(f"[{r['rank']}] {where}  ({r['section']})  score {r['score']}")
        print("    " + str(r["text"]).replace("\n", "\n    ")[:600])
        print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
