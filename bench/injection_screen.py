"""How many real manual chunks the injection screen flags (its false-positive rate), and which.

    python bench/injection_screen.py                  # every corpus under ../shared, a table
    python bench/injection_screen.py --show           # also print each flagged chunk to read it
    python bench/injection_screen.py DIR [DIR ...]    # other folders

Chunks are made exactly as ingest makes them (same extractor, chunker and token counter, no
embedding). The target is at most 0.5% of the chunks of each corpus.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SHARED = Path(os.environ.get("OPASSIST_SHARED", ROOT.parent / "shared"))


def chunk_texts(folder: Path, count_tokens, settings) -> list[tuple[str, int | None, str]]:
    from core.errors import FileProblem
    from ingest.chunking import chunk_document
    from ingest.extract import extract, strip_running_lines

    out: list[tuple[str, int | None, str]] = []
    exts = {e.lower() for e in settings.ingest.extensions}
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in exts):
        try:
            doc = extract(path, settings.ingest.pdf_extractor)
        except FileProblem:
            continue
        if doc.kind == "pdf":
            strip_running_lines(doc.pages)
        rel = path.relative_to(folder).as_posix()
        chunks = chunk_document(
            doc, rel, "0" * 64, count_tokens, settings.ingest.chunk_tokens, settings.ingest.overlap_tokens
        )
        out.extend((c.source, c.page_start, c.text) for c in chunks)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("folders", nargs="*", type=Path)
    p.add_argument("--show", action="store_true", help="print every flagged chunk")
    args = p.parse_args(argv)
    from chatbot.injection import screen
    from core.settings import load_settings
    from index.embeddings import load_embedder, spec_from_settings

    settings = load_settings(None)
    counter = load_embedder(spec_from_settings(settings.embedding)).count_tokens
    folders = args.folders or [
        f
        for f in (SHARED / "corpus", SHARED / "sets" / "ohr_manuals" / "corpus", SHARED / "bench")
        if f.is_dir()
    ]
    print("| corpus | chunks | flagged | share | target |")
    print("|---|---|---|---|---|")
    flagged_all: list[tuple[str, str, int | None, str, str]] = []
    worst = 0.0
    for folder in folders:
        chunks = chunk_texts(folder, counter, settings)
        flagged = [(folder.name, s, pg, t, why) for s, pg, t in chunks if (why := screen(t))]
        share = len(flagged) / max(1, len(chunks))
        worst = max(worst, share)
        print(f"| {folder} | {len(chunks)} | {len(flagged)} | {share:.2%} | ≤ 0.50% |")
        flagged_all.extend(flagged)
    for corpus, source, page, text, why in flagged_all:
        print(f"\nflagged: {corpus}/{source} p.{page}: {why}")
        if args.show:
            print("    " + text.replace("\n", "\n    ")[:1500])
    return 0 if worst <= 0.005 else 1


if __name__ == "__main__":
    raise SystemExit(main())
