"""``python -m chatbot.calibrate --set NAME=INDEX:QA[,QA...] [--set ...] [--fit-weights] [--out FILE]``

Fits, on the *tune* half of every QA set (``qa.split_of``: a hash of the question id):

1. with ``--fit-weights``, the fusion weights of the retrieval channels (printed, to copy into
   the ``retrieval`` settings defaults), by a grid search that maximises hit@1 + hit@5 averaged
   over the QA files (each file counts the same, whatever its size);
2. the calibrated confidence (``chatbot/confidence.py``): a logistic regression over retrieval
   features, labelled by "the top passage is on a gold page", over the answerable questions, the
   unanswerable ones and every other set's answerable questions asked against this set's index
   (questions about another manual: unanswerable here, for free); then the two outcome
   thresholds. Written to ``--out`` (default: the file the app ships, chatbot/calibration.json).

Prints tune and check figures per QA file. Deterministic: the same indexes and QA files give the
same file.
"""

from __future__ import annotations

import argparse
import itertools
import sys
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from core.errors import UserError
from core.logs import setup_logging
from core.settings import load_settings

from .confidence import DEFAULT_FILE, FEATURES, Calibration, Evidence, evidence, fit_logistic
from .qa import Question, Retrieved, first_hit_rank, load_qa, split_of
from .query import Query
from .retrieval import Channels, IndexState, Retriever
from .wiring import AppDeps, build_app

GRID = {
    "dense": (0.5, 1.0, 1.5, 2.0),
    "lexical": (0.0, 0.5, 1.0, 1.5),
    "page": (0.0, 0.5, 1.0, 1.5, 2.0, 3.0),
    "code_row": (0.0, 0.25, 0.5, 1.0),
    "rrf_k": (5, 15, 30, 60),
}
# Targets of the outcome thresholds on the tune half (the limits, with a margin)
MAX_NOT_IN_MANUALS = 0.03  # answerable questions told "not in the manuals" (the limit is 5%; 1 of 33 is 3%)
MAX_ANSWERED_WRONG = 0.08  # answerable questions answered from a passage on no gold page
MAX_FOREIGN_ANSWERED = 0.08  # unanswerable / other-manual questions given an answer


@dataclass
class Item:
    """One question asked against one index, its channels computed once."""

    set_name: str
    file: str  # the QA file (or "foreign:<set>" for another set's questions)
    q: Question
    answerable: bool  # False for unanswerable and foreign questions
    split: str
    query: Query
    state: IndexState
    retriever: Retriever
    deps: AppDeps
    ch: Channels


def _parse_set(spec: str) -> tuple[str, str, list[str]]:
    try:
        name, rest = spec.split("=", 1)
        index, files = rest.split(":", 1)
    except ValueError:
        raise UserError(f"--set {spec!r}: expected NAME=INDEX:QA[,QA...]") from None
    return name, index, [f for f in files.split(",") if f]


def collect(sets: Sequence[tuple[str, str, list[str]]], config: str | None) -> list[Item]:
    questions: dict[str, list[tuple[str, Question]]] = {}
    for name, _, files in sets:
        for f in files:
            report = load_qa(f)
            for err in report.errors:
                print(f"warning: {err}", file=sys.stderr)
            questions.setdefault(name, []).extend((f, q) for q in report.questions)
    items: list[Item] = []
    for name, index, _ in sets:
        settings = load_settings(config, index={"path": index})
        deps = build_app(settings, with_llm=False, calibration=Calibration.neutral())
        state = deps.handle.get()
        asked: list[tuple[str, Question, bool]] = [(f, q, q.answerable) for f, q in questions[name]]
        for other, qs in questions.items():
            if other != name:  # another set's questions: about manuals not in this index
                asked += [(f"foreign:{other}", q, False) for _, q in qs if q.answerable]
        for f, q, answerable in asked:
            query = deps.retriever.prepare(deps.answerer.understand(Query.parse(q.question)))
            ch = deps.retriever.channels(state, query)
            items.append(Item(name, f, q, answerable, split_of(q.id), query, state, deps.retriever, deps, ch))
    return items


def top_rank(item: Item, weights: dict[str, float], k: int) -> tuple[int | None, list[Any]]:
    passages = item.retriever.fuse(item.state, item.ch, k, weights)
    res = [Retrieved(p.chunk.source, tuple(p.chunk.pages)) for p in passages]
    return (first_hit_rank(item.q, res) if item.answerable else None), passages


def hits(items: Sequence[Item], weights: dict[str, float], k: int) -> dict[str, tuple[float, float, int]]:
    """QA file -> (hit@1, hit@k, n) over the answerable questions."""
    ranks: dict[str, list[int | None]] = defaultdict(list)
    for it in items:
        if it.answerable:
            ranks[it.file].append(top_rank(it, weights, k)[0])
    return {
        f: (sum(r == 1 for r in rs) / len(rs), sum(r is not None for r in rs) / len(rs), len(rs))
        for f, rs in ranks.items()
    }


def fit_weights(items: Sequence[Item], base: dict[str, float], k: int) -> dict[str, float]:
    tune = [it for it in items if it.split == "tune" and it.answerable]
    best: tuple[float, float, dict[str, float]] | None = None
    for values in itertools.product(*GRID.values()):
        w = {**base, **dict(zip(GRID, values, strict=True))}
        h = hits(tune, w, k)
        objective = sum(h1 + hk for h1, hk, _ in h.values()) / len(h)
        # a tie on the tune half is no evidence to move: the weights nearest the current ones win it
        moved = sum(abs(w[n] - base[n]) / max(GRID[n]) for n in GRID)
        if best is None or objective > best[0] + 1e-9 or (objective > best[0] - 1e-9 and moved < best[1]):
            best = (objective, moved, w)
    assert best is not None
    return best[2]


def features(
    items: Sequence[Item], weights: dict[str, float], k: int
) -> tuple[np.ndarray, np.ndarray, list[bool]]:
    """(features, label "the top passage is on a gold page", a named code or quoted phrase is in a top
    passage or the contents list a where-question's topic: never "not in the manuals")."""
    xs, ys = [], []
    anywhere: list[bool] = []
    for it in items:
        rank, passages = top_rank(it, weights, k)
        exact = it.deps.answerer.exact_match(it.query, passages[:1])
        ev: Evidence = evidence(it.query, passages, it.state.lexical, exact)
        xs.append(ev.vector())
        anywhere.append(it.deps.answerer.never_declined(it.query, passages))
        ys.append(1.0 if rank == 1 else 0.0)
    return np.array(xs), np.array(ys), anywhere


def thresholds(
    p: np.ndarray, y: np.ndarray, answerable: np.ndarray, group: Sequence[str], can_decline: np.ndarray
) -> tuple[float, float]:
    """(answer_at, decline_below) on the tune half, holding every QA file (and every set of
    foreign questions) to the limits on its own, so a small set is not outvoted by a large one:
    decline only below the level that keeps answerable questions out of "not in the manuals";
    answer only above the level where wrong answers and answers to unanswerable questions stay
    within the limits."""
    # fine steps near 0: questions about other manuals sit at p < 0.001
    grid = np.unique(np.round(np.concatenate([np.linspace(0.0, 1.0, 201), np.geomspace(1e-4, 0.1, 31)]), 5))
    ans = answerable.astype(bool)
    groups = [np.array([g == name for g in group]) for name in sorted(set(group))]
    decline_below = 0.0
    for t in grid:  # "not in the manuals" is only ever said where can_decline (Calibration.outcome)
        if all(
            np.mean((p[m & ans] < t) & can_decline[m & ans]) <= MAX_NOT_IN_MANUALS
            for m in groups
            if (m & ans).any()
        ):
            decline_below = float(t)
    answer_at = _answer_level(grid, p, y, ans, groups, can_decline)
    return answer_at, min(decline_below, answer_at)


def answer_level_other_language(
    p: np.ndarray, y: np.ndarray, answerable: np.ndarray, group: Sequence[str], same_language: np.ndarray
) -> float | None:
    """The answer level for questions whose top passage is in another language, fitted on those
    questions alone (None when the tune half has none)."""
    if same_language.all():
        return None
    grid = np.unique(np.round(np.linspace(0.0, 1.0, 201), 5))
    groups = [np.array([g == name for g in group]) for name in sorted(set(group))]
    return _answer_level(grid, p, y, answerable.astype(bool), groups, ~same_language)


def _answer_level(
    grid: np.ndarray,
    p: np.ndarray,
    y: np.ndarray,
    ans: np.ndarray,
    groups: list[np.ndarray],
    among: np.ndarray,
) -> float:
    """The lowest level at which, among the questions ``among``, every group keeps wrong answers and
    answers to unanswerable questions within the limits (scanning down from 1)."""
    answer_at = 1.0
    for t in grid[::-1]:
        answered = p >= t
        ok = all(
            np.mean(answered[m & ans] & (y[m & ans] == 0)) <= MAX_ANSWERED_WRONG
            for m in (g & among for g in groups)
            if (m & ans).any()
        ) and all(
            np.mean(answered[m & ~ans]) <= MAX_FOREIGN_ANSWERED
            for m in (g & among for g in groups)
            if (m & ~ans).any()
        )
        if not ok:
            break
        answer_at = float(t)
    return answer_at


def report(items: Sequence[Item], cal: Calibration, weights: dict[str, float], k: int) -> None:
    x, y, anywhere = features(items, weights, k)
    rows: dict[tuple[str, str], list[tuple[Item, str, float, int | None]]] = defaultdict(list)
    for it, xi, yi, exact in zip(items, x, y, anywhere, strict=True):
        ev = Evidence(dict(zip(FEATURES, xi, strict=True)))
        outcome = cal.outcome(cal.probability(ev), ev)
        if exact and outcome == "not_in_manuals":
            outcome = "low_confidence"  # as the answerer decides
        rank = top_rank(it, weights, k)[0]
        rows[(f"{it.set_name}: {it.file}", it.split)].append((it, outcome, float(yi), rank))
    print(
        f"\n| set / QA file | half | n | hit@1 | hit@{k} | answered right | answered wrong | low confidence "
        "| not in manuals | unanswerable not answered |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for (name, split), group in sorted(rows.items()):
        ans = [g for g in group if g[0].answerable]
        un = [g for g in group if not g[0].answerable]

        def share(sel: Sequence[Any], cond: Any) -> str:
            return f"{sum(1 for g in sel if cond(g)) / len(sel):.3f}" if sel else "-"

        print(
            f"| {name} | {split} | {len(group)} | {share(ans, lambda g: g[3] == 1)} | "
            f"{share(ans, lambda g: g[3] is not None)} | "
            f"{share(ans, lambda g: g[1] == 'answer' and g[2] == 1)} | "
            f"{share(ans, lambda g: g[1] == 'answer' and g[2] == 0)} | "
            f"{share(ans, lambda g: g[1] == 'low_confidence')} | "
            f"{share(ans, lambda g: g[1] == 'not_in_manuals')} | "
            f"{share(un, lambda g: g[1] != 'answer')} |"
        )


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m chatbot.calibrate",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument(
        "--set",
        action="append",
        required=True,
        metavar="NAME=INDEX:QA[,QA...]",
        help="a QA set and its index (repeatable)",
    )
    ap.add_argument(
        "--fit-weights",
        action="store_true",
        help="also fit the fusion weights (grid search on the tune half)",
    )
    ap.add_argument(
        "--out", default=str(DEFAULT_FILE), help="where to write the calibration (default: the shipped file)"
    )
    ap.add_argument("--config", help="TOML settings file")
    args = ap.parse_args(argv)
    try:
        settings = load_settings(args.config)
        setup_logging(settings.log_level, settings.log_format)
        sets = [_parse_set(s) for s in args.set]
        for _, index, files in sets:
            for f in [index, *files]:
                if not Path(f).exists():
                    raise UserError(f"{f}: not found")
        items = collect(sets, args.config)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    k = settings.retrieval.k
    weights = items[0].retriever.weights()
    if args.fit_weights:
        weights = fit_weights(items, weights, k)
        print("fitted fusion weights (tune half):", {n: weights[n] for n in GRID})
    tune = [it for it in items if it.split == "tune"]
    x, y, _ = features(tune, weights, k)
    coef, intercept, mean, scale = fit_logistic(x, y)
    answerable = np.array([it.answerable for it in tune])
    cal = Calibration(mean.tolist(), scale.tolist(), coef.tolist(), intercept, 1.0, 0.0)
    p = np.array([cal.probability(Evidence(dict(zip(FEATURES, row, strict=True)))) for row in x])
    same_language = x[:, FEATURES.index("same_language")] > 0
    groups = [f"{it.set_name}:{it.file}" for it in tune]
    cal.answer_at, cal.decline_below = thresholds(p, y, answerable, groups, same_language)
    cal.answer_at_other_language = answer_level_other_language(p, y, answerable, groups, same_language)
    if cal.answer_at_other_language is not None:
        cal.decline_below = min(cal.decline_below, cal.answer_at_other_language)
    cal.fitted = {
        "weights": weights,
        "embedding_model": items[0].deps.embedder.name,
        "sets": {name: files for name, _, files in sets},
        "tune_questions": len(tune),
        "limits": {
            "not_in_manuals": MAX_NOT_IN_MANUALS,
            "answered_wrong": MAX_ANSWERED_WRONG,
            "foreign_answered": MAX_FOREIGN_ANSWERED,
        },
    }
    cal.mean = [round(v, 6) for v in cal.mean]
    cal.scale = [round(v, 6) for v in cal.scale]
    cal.coef = [round(v, 6) for v in cal.coef]
    cal.intercept = round(cal.intercept, 6)
    cal.save(args.out)
    print("coefficients:", {f: round(c, 3) for f, c in zip(FEATURES, cal.coef, strict=True)})
    print(
        f"answer at p >= {cal.answer_at} ({cal.answer_at_other_language} when the top passage is in another "
        f"language than the question), not in the manuals below {cal.decline_below}; written to {args.out}"
    )
    report(items, cal, weights, k)
    for it in items:
        it.deps.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
