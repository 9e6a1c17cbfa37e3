"""Dictionary query translation (chatbot/dictionary/) for non-English questions over English manuals.

    .venv/bin/python bench/query_translation.py            # markdown table + timings
    .venv/bin/python bench/query_translation.py --show     # also every question, its translation and ranks
    .venv/bin/python bench/query_translation.py --cold     # parse the dictionaries again (empty cache)

For each QA set and language: n, hit@1 and hit@5 of hybrid retrieval with the question as asked
("orig"), with the question plus its dictionary translation ("+dict", ``Query.with_english``) and
with the translation alone ("dict only"; the question itself when nothing translated). Scoring is
chatbot/qa.py's (source and page of the gold answer).

Sets (under ../shared, or OPASSIST_SHARED), with the index each was built into:
  dev         qa/dev.jsonl (its non-English rows)             data/corpus-index-c3
  ohr_ml      sets/ohr_manuals/qa_multilingual.jsonl          data/ohr-index-c3
The translation rules were tuned on dev and on the first half of ohr_ml (sorted by id): those rows
are "tune", the second half of ohr_ml is "check".
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SHARED = Path(os.environ.get("OPASSIST_SHARED", ROOT.parent / "shared"))

SETS = (
    ("dev", Path("qa") / "dev.jsonl", ROOT / "data" / "corpus-index-c3"),
    ("ohr_ml", Path("sets") / "ohr_manuals" / "qa_multilingual.jsonl", ROOT / "data" / "ohr-index-c3"),
)
VARIANTS = ("orig", "+dict", "dict only")
K = 5


@dataclasses.dataclass
class Outcome:
    set: str
    split: str
    qid: str
    lang: str  # gold
    detected: str
    translation: str
    ranks: dict[str, int | None]
    ms: float


def pct(values: Sequence[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, max(0, round(q / 100 * (len(s) - 1))))] if s else float("nan")


def run_set(name: str, qa_path: Path, index: Path, tune_half: bool, dict_dir: str | None) -> list[Outcome]:
    from chatbot.dictionary import to_english
    from chatbot.qa import Retrieved, first_hit_rank, load_qa
    from chatbot.query import Query
    from chatbot.wiring import build_app
    from core.settings import load_settings

    report = load_qa(qa_path)
    questions = sorted((q for q in report.questions if q.lang != "en" and q.answerable), key=lambda q: q.id)
    from core.settings import RetrievalSettings

    # "orig" must be the question alone: retrieval that translates by itself is switched off here
    off = (
        {"translate_with_dictionary": False}
        if "translate_with_dictionary" in RetrievalSettings.model_fields
        else None
    )
    settings = load_settings(None, index={"path": str(index)}, retrieval=off)
    out: list[Outcome] = []
    with build_app(settings, with_llm=False) as deps:
        half = (len(questions) + 1) // 2
        for i, qa in enumerate(questions):
            split = "check" if tune_half and i >= half else "tune"
            q = Query.parse(qa.question)
            t = time.perf_counter()
            tr = to_english(qa.question, q.lang, dict_dir)
            ms = (time.perf_counter() - t) * 1000
            queries = {
                "orig": q,
                "+dict": q.with_english(tr),
                "dict only": dataclasses.replace(q, standalone=tr) if tr else q,
            }
            ranks: dict[str, int | None] = {}
            for v, query in queries.items():
                r = deps.retriever.retrieve(query, k=K)
                res = [Retrieved(p.chunk.source, tuple(p.chunk.pages)) for p in r.passages]
                ranks[v] = first_hit_rank(qa, res)
            out.append(Outcome(name, split, qa.id, qa.lang, q.lang, tr, ranks, ms))
    return out


def cells(rows: Sequence[Outcome]) -> list[str]:
    n = len(rows)
    out = [str(n)]
    for v in VARIANTS:
        h1 = sum(1 for r in rows if r.ranks[v] == 1) / n
        h5 = sum(1 for r in rows if (rank := r.ranks[v]) is not None and rank <= K) / n
        out += [f"{h1:.2f}", f"{h5:.2f}"]
    return out


def table(outcomes: Sequence[Outcome]) -> str:
    head = ["set", "split", "lang", "n"]
    for v in VARIANTS:
        head += [f"{v} h@1", f"{v} h@5"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    groups: dict[tuple[str, str], dict[str, list[Outcome]]] = defaultdict(lambda: defaultdict(list))
    for o in outcomes:
        groups[(o.set, o.split)][o.lang].append(o)
    for (s, split), by_lang in groups.items():
        for lang in sorted(by_lang):
            lines.append("| " + " | ".join([s, split, lang, *cells(by_lang[lang])]) + " |")
        every = [o for rows in by_lang.values() for o in rows]
        lines.append("| " + " | ".join([f"**{s}**", f"**{split}**", "all", *cells(every)]) + " |")
    for split in ("tune", "check"):
        sel = [o for o in outcomes if o.split == split]
        if sel:
            lines.append("| " + " | ".join(["**all sets**", f"**{split}**", "all", *cells(sel)]) + " |")
    lines.append("| " + " | ".join(["**all sets**", "**both**", "all", *cells(outcomes)]) + " |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--shared", default=str(SHARED), help="folder with qa/ and sets/ (default ../shared)")
    p.add_argument("--dict-dir", help="FreeDict folder (default: $OPERATOR_DICT_DIR or /usr/share/dictd)")
    p.add_argument("--show", action="store_true", help="list every question with its translation and ranks")
    p.add_argument("--cold", action="store_true", help="parse the dictionaries again (fresh cache folder)")
    p.add_argument("--sets", nargs="*", default=[s[0] for s in SETS], help="which sets (dev, ohr_ml)")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    if args.cold:
        os.environ["OPERATOR_DICT_CACHE"] = tempfile.mkdtemp(prefix="dict-cache-")

    from chatbot.dictionary import LANGUAGES, english_vocabulary, glossary

    loads: dict[str, str] = {}
    for lang in LANGUAGES:  # load first, so per-question times exclude it
        t = time.perf_counter()
        g = glossary(lang, args.dict_dir)
        took = time.perf_counter() - t
        loads[lang] = "missing" if g is None else f"{took:.3f} s ({'cache' if g.from_cache else 'parsed'})"
    t = time.perf_counter()
    english_vocabulary(args.dict_dir)  # what cognate guesses are checked against (es, fr, it, pt)
    loads["English vocabulary"] = f"{time.perf_counter() - t:.3f} s"

    outcomes: list[Outcome] = []
    for name, rel, index in SETS:
        if name not in args.sets:
            continue
        path = Path(args.shared) / rel
        if not path.is_file() or not index.is_dir():
            print(f"skip {name}: {path} or {index} missing", file=sys.stderr)
            continue
        outcomes += run_set(name, path, index, tune_half=name == "ohr_ml", dict_dir=args.dict_dir)
    if not outcomes:
        print("no questions", file=sys.stderr)
        return 1

    print(f"## Query translation by dictionary: hit@1 / hit@{K} (hybrid retrieval, default settings)\n")
    print(table(outcomes))
    ms = [o.ms for o in outcomes]
    print(
        f"\nto_english per question: p50 {pct(ms, 50):.2f} ms, p95 {pct(ms, 95):.2f} ms, "
        f"max {max(ms):.2f} ms (n={len(ms)}, mean {statistics.fmean(ms):.2f} ms)"
    )
    print("dictionary load: " + ", ".join(f"{k} {v}" for k, v in loads.items()))
    wrong = [o for o in outcomes if o.detected != o.lang]
    if wrong:
        print(
            "language detected differently from the gold label (translated as detected): "
            + ", ".join(f"{o.qid} {o.lang}->{o.detected}" for o in wrong)
        )
    untranslated = [o.qid for o in outcomes if not o.translation]
    if untranslated:
        print("no translation: " + ", ".join(untranslated))
    if args.show:
        print(
            "\n| id | split | lang | orig | +dict | dict only | translation |\n|---|---|---|---|---|---|---|"
        )
        for o in outcomes:
            r = [str(o.ranks[v] or "-") for v in VARIANTS]
            print(f"| {o.qid} | {o.split} | {o.lang} | {' | '.join(r)} | {o.translation} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
