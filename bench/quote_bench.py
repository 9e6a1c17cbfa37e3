"""The quote alone: which manual lines lead the answer, old window rule vs. unit ranking.

    python bench/quote_bench.py --index data/corpus-index --qa ../shared/qa/dev.jsonl \
        [--index2 data/ohr-index --qa2 ../shared/sets/ohr_manuals/qa.jsonl] [--json]

For every answerable question the app's retrieval runs once; the first passage's quote is made
by each method and scored like the eval scores answers: must_contain on whole tokens, answer
recall (share of the gold answer's content words), and the quote's length in characters
(median and p90: recall is never bought with length). The quote is scored as quoted, whatever
page it is on: retrieval's share is the hit@1 column of ``python -m chatbot.eval``.
Also prints a grid over the unit-ranking weights (``--grid``) on the tune half, reported on the
check half.

``--bounds`` adds what no choice of lines could beat with the same retrieval (rows "bound: …"):
the whole first passage, its whole page, all five passages, and the best run of lines of the
first passage up to ``--window`` characters, chosen *knowing the gold answer* (most must_contain
strings, then most answer words). A target above the first passage's bound needs text from other
passages, that is, a longer answer or a reader model that combines passages.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from chatbot.answer_metrics import answer_recall, must_contain_recall
from chatbot.qa import Question, load_qa, split_of
from chatbot.query import Query
from chatbot.quoting import Quoter, QuoteWeights, best_quote
from chatbot.wiring import build_app
from core.settings import load_settings


def score(q: Question, text: str) -> dict[str, float | None]:
    return {
        "must": must_contain_recall(text, q.must_contain) if q.must_contain else None,
        "recall": answer_recall(q.answer, text) if q.answer else None,
        "len": float(len(text)),
    }


def table(rows: Sequence[dict[str, float | None]]) -> dict[str, float | None]:
    def mean(k: str) -> float | None:
        v = [r[k] for r in rows if r[k] is not None]
        return statistics.fmean(v) if v else None  # type: ignore[arg-type]

    lens = sorted(r["len"] for r in rows if r["len"])  # type: ignore[misc]
    return {
        "n": len(rows),
        "must_contain": mean("must"),
        "answer_recall": mean("recall"),
        "len_p50": statistics.median(lens) if lens else None,
        "len_p90": lens[int(0.9 * (len(lens) - 1))] if lens else None,
    }


def by_half(quoted: Iterable[tuple[Question, str]]) -> dict[str, object]:
    """The table of each half (tune / check, by question id) and of both, of (question, text) pairs."""
    scored: dict[str, list[dict[str, float | None]]] = {"tune": [], "check": []}
    for q, text in quoted:
        scored[split_of(q.id)].append(score(q, text))
    return {h: table(v) for h, v in scored.items()} | {"all": table(scored["tune"] + scored["check"])}


def hindsight_window(q: Question, text: str, limit: int) -> str:
    """The run of whole lines of ``text`` of at most ``limit`` characters (or one line) that scores
    best against the gold answer: an upper bound on any quote of that length, not a method."""
    lines = text.splitlines()
    best, best_key = "", (-1.0, -1.0)
    for a in range(len(lines)):
        window = ""
        for b in range(a, len(lines)):
            longer = f"{window}\n{lines[b]}".strip()
            if window and len(longer) > limit:
                break
            window = longer
            sc = score(q, window)
            key = (sc["must"] or 0.0, sc["recall"] or 0.0)
            if key > best_key:
                best, best_key = window, key
    return best


def bounds(r_all: Sequence[tuple[Question, object]], state: object, limit: int) -> dict[str, object]:
    """The "bound: …" rows (see the module doc)."""
    pages: dict[tuple[str, object], list[str]] = {}
    for c in state.index.chunks:  # type: ignore[attr-defined]
        pages.setdefault((c.source, c.page_start), []).append(c.text)
    rows: dict[str, Callable[[Question, object], str]] = {
        "bound: whole first passage": lambda q, r: r.passages[0].chunk.text,  # type: ignore[attr-defined]
        "bound: whole first page": lambda q, r: "\n".join(
            pages[(r.passages[0].chunk.source, r.passages[0].chunk.page_start)]  # type: ignore[attr-defined]
        ),
        "bound: all five passages": lambda q, r: "\n".join(p.chunk.text for p in r.passages),  # type: ignore[attr-defined]
        f"bound: best lines of the first passage, <= {limit} chars, chosen knowing the answer": lambda q, r: (
            hindsight_window(q, r.passages[0].chunk.text, limit)  # type: ignore[attr-defined]
        ),
    }
    out: dict[str, object] = {}
    for name, f in rows.items():
        out[name] = by_half((q, f(q, r)) for q, r in r_all)
    return out


SPLIT = 0.9  # a second passage on another page scoring at least this share of the first: confidence is split
Method = Callable[[Question, Query, int, object], str]


def run(index: str, qa: str, grid: bool, window: int | None = None) -> dict[str, object]:
    settings = load_settings(None, index={"path": index})
    questions = [q for q in load_qa(qa).questions if q.answerable]
    out: dict[str, object] = {}
    with build_app(settings, with_llm=False) as deps:
        r_all = []
        for q in questions:
            r = deps.retriever.retrieve(Query.parse(q.question))
            if r.passages:
                r_all.append((q, r))
        quoter = Quoter(deps.embedder, deps.handle.get)

        def old(q: Question, query: Query, row: int, chunk: object) -> str:
            c: object = chunk
            return best_quote(query.standalone, c.text, context=f"{c.title} {c.source}")  # type: ignore[attr-defined]

        def units(w: QuoteWeights) -> Method:
            def f(q: Question, query: Query, row: int, chunk: object) -> str:
                quoter.weights = w
                return quoter(query.standalone, query.search_text, row, chunk, query.codes).text  # type: ignore[arg-type]

            return f

        methods: dict[str, Method] = {"window (old)": old, "units (default)": units(QuoteWeights())}
        methods["+ second page when split (units)"] = units(QuoteWeights())
        if grid:
            for lx in (0.0, 0.25, 0.5, 2.0, 4.0):  # the dense weight stays 1: only the ratio matters
                methods[f"units lexical={lx}"] = units(QuoteWeights(dense=1.0, lexical=lx))
        for name, m in methods.items():
            quoted: list[tuple[Question, str]] = []
            for q, r in r_all:
                p = r.passages[0]
                text = m(q, r.query, p.row, p.chunk)
                if name.startswith("+") and len(r.passages) > 1:
                    p2 = r.passages[1]
                    other_page = (p2.chunk.source, p2.chunk.page_start) != (
                        p.chunk.source,
                        p.chunk.page_start,
                    )
                    if other_page and p2.score >= SPLIT * p.score:
                        text += "\n" + m(q, r.query, p2.row, p2.chunk)
                quoted.append((q, text))
            out[name] = by_half(quoted)
        if window:
            out |= bounds(r_all, deps.handle.get(), window)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--index", action="append", required=True)
    p.add_argument("--qa", action="append", required=True)
    p.add_argument("--grid", action="store_true")
    p.add_argument("--json", action="store_true")
    p.add_argument("--bounds", action="store_true", help="add the upper-bound rows (see above)")
    p.add_argument("--window", type=int, default=236, help="characters of the hindsight window (--bounds)")
    a = p.parse_args(argv)
    window = a.window if a.bounds else None
    results = {qa: run(ix, qa, a.grid, window) for ix, qa in zip(a.index, a.qa, strict=True)}
    if a.json:
        print(json.dumps(results, indent=2))
        return 0

    def f(x: object) -> str:
        return "-" if x is None else f"{x:.3f}" if isinstance(x, float) and x < 10 else f"{x:.0f}"

    print(
        "| set | method | half | n | must_contain (whole tokens) | answer recall | length p50 | length p90 |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for qa, res in results.items():
        for name, halves in res.items():  # type: ignore[union-attr]
            for h in ("all", "tune", "check"):
                t = halves[h]
                print(
                    f"| {Path(qa).parent.name}/{Path(qa).name} | {name} | {h} | {t['n']} | {f(t['must_contain'])} | "
                    f"{f(t['answer_recall'])} | {f(t['len_p50'])} | {f(t['len_p90'])} |"
                )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
