"""``python -m chatbot.check_set [FILE] [--json] [--failures]``: an independent check of the grounding check.

Each line of the check set (default ``qa/grounding_check.jsonl``, made by
``scripts/make_check_set.py`` from the project's sample manuals) is one sentence and the passages
it is judged against: ``{"id", "kind", "expect", "sentence", "passages", "source", "page"}``.
``faithful`` sentences say what one unit of the passage says and should be accepted; the altered
ones (``negation``, ``number``, ``unit``, ``neighbour_row``, ``step_order``, ``modal``) say
something the passage does not and should be rejected.

A sentence is *accepted* when it survives the check whole: ``ground(sentence, passages,
same_language=True, min_support=0.5)`` keeps text and drops nothing. A check that keeps part of it
and drops the rest is counted as a rejection and reported as ``partial``. Needs no index and no
model.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from core.errors import UserError

from . import grounding
from .qa import read_objects

KINDS = ("faithful", "negation", "number", "unit", "neighbour_row", "step_order", "modal")
ALTERED = KINDS[1:]
REPO = Path(__file__).resolve().parent.parent
DEFAULT_FILE = REPO / "qa" / "grounding_check.jsonl"
TARGETS = {"faithful_accepted": 0.90, "altered_rejected": 0.95}  # issue 11

GroundFn = Callable[..., grounding.Grounded]


@dataclass(frozen=True)
class Item:
    id: str
    kind: str
    expect: str  # accept | reject
    sentence: str
    passages: tuple[str, ...]
    source: str
    page: int | None


def load(path: str | Path) -> list[Item]:
    """Read a check-set file; a malformed line raises ValueError naming the line."""
    items: list[Item] = []
    seen: set[str] = set()
    errors: list[str] = []  # qa's reader collects errors; a check set must be whole: the first one raises
    for n, d in read_objects(path, errors):
        if errors:
            break
        try:
            item = Item(
                id=str(d["id"]),
                kind=str(d["kind"]),
                expect=str(d["expect"]),
                sentence=str(d["sentence"]),
                passages=tuple(str(p) for p in d["passages"]),
                source=str(d.get("source") or ""),
                page=int(d["page"]) if d.get("page") is not None else None,
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"{path}:{n}: malformed line ({exc})") from None
        if item.kind not in KINDS:
            raise ValueError(f"{path}:{n}: unknown kind {item.kind!r}")
        if item.expect != ("accept" if item.kind == "faithful" else "reject"):
            raise ValueError(f"{path}:{n}: kind {item.kind} cannot expect {item.expect!r}")
        if not item.passages or not item.sentence.strip():
            raise ValueError(f"{path}:{n}: no sentence or no passages")
        if item.id in seen:
            raise ValueError(f"{path}:{n}: duplicate id {item.id!r}")
        seen.add(item.id)
        items.append(item)
    if errors:
        raise ValueError(errors[0].replace("skipped malformed", "malformed"))
    return items


@dataclass
class Report:
    n: int
    faithful: int
    altered: int
    faithful_accepted: float | None  # share of faithful sentences kept whole
    altered_rejected: float | None  # share of altered sentences not kept whole
    by_kind: dict[str, dict[str, Any]]  # kind -> n, expect, accepted, rejected, partial, as_expected
    failures: list[dict[str, str]] = field(default_factory=list)  # id, kind, sentence, dropped

    def to_dict(self, file: str = "") -> dict[str, Any]:
        return {"file": file, **asdict(self), "targets": dict(TARGETS)}


def judge(item: Item, ground: GroundFn = grounding.ground) -> tuple[bool, bool]:
    """(accepted whole, kept in part) for one item."""
    g = ground(item.sentence, list(item.passages), same_language=True, min_support=0.5)
    kept = bool(g.text.strip())
    return kept and not g.dropped, kept and bool(g.dropped)


def run(items: Sequence[Item], ground: GroundFn = grounding.ground) -> Report:
    counts: dict[str, dict[str, int]] = {}
    failures: list[dict[str, str]] = []
    for item in items:
        accepted, partial = judge(item, ground)
        c = counts.setdefault(item.kind, {"n": 0, "accepted": 0, "partial": 0})
        c["n"] += 1
        c["accepted"] += accepted
        c["partial"] += partial
        if accepted != (item.expect == "accept"):
            failures.append({"id": item.id, "kind": item.kind, "sentence": item.sentence})
    by_kind: dict[str, dict[str, Any]] = {}
    for kind in sorted(counts, key=KINDS.index):
        c = counts[kind]
        acc = c["accepted"] / c["n"]
        by_kind[kind] = {
            "n": c["n"],
            "expect": "accept" if kind == "faithful" else "reject",
            "accepted": acc,
            "rejected": 1 - acc,
            "partial": c["partial"],
            "as_expected": acc if kind == "faithful" else 1 - acc,
        }

    def pooled(kinds: Sequence[str], key: str) -> tuple[int, float | None]:
        n = sum(counts[k]["n"] for k in kinds if k in counts)
        hits = sum(by_kind[k][key] * by_kind[k]["n"] for k in kinds if k in by_kind)
        return n, (hits / n if n else None)

    n_f, f_acc = pooled(["faithful"], "accepted")
    n_a, a_rej = pooled(ALTERED, "rejected")
    return Report(len(items), n_f, n_a, f_acc, a_rej, by_kind, failures)


def for_eval(path: str | None, answers: bool) -> dict[str, Any] | None:
    """The report for ``python -m chatbot.eval``: when a file is named, or with ``--answers`` when
    the default file is there."""
    if path is None and not (answers and DEFAULT_FILE.is_file()):
        return None
    file = Path(path) if path else DEFAULT_FILE
    try:
        return run(load(file)).to_dict(str(file))
    except (OSError, ValueError) as exc:
        raise UserError(f"check set {file}: {exc}") from exc


def _f(x: float | None) -> str:
    return "-" if x is None else f"{x:.3f}"


def print_report(d: dict[str, Any], failures: bool = False) -> None:
    print(f"grounding check set {d['file']}: {d['n']} sentences")
    print("| kind | n | expect | accepted | rejected | kept in part | as expected |")
    print("|---|---|---|---|---|---|---|")
    for kind, v in d["by_kind"].items():
        print(
            f"| {kind} | {v['n']} | {v['expect']} | {_f(v['accepted'])} | {_f(v['rejected'])} "
            f"| {v['partial']} | {_f(v['as_expected'])} |"
        )
    t = d["targets"]
    print(
        f"faithful accepted {_f(d['faithful_accepted'])} (target >= {t['faithful_accepted']:.2f}), "
        f"altered rejected {_f(d['altered_rejected'])} (target >= {t['altered_rejected']:.2f}), "
        f"failures {len(d['failures'])}"
    )
    if failures:
        for x in d["failures"]:
            print(f"  {x['id']} [{x['kind']}] {x['sentence']}")


def show(d: dict[str, Any], as_json: bool, failures: bool = False) -> None:
    if as_json:
        print(json.dumps({"check_set": d}, ensure_ascii=False, indent=2))
    else:
        print()
        print_report(d, failures)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m chatbot.check_set",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("file", nargs="?", default=str(DEFAULT_FILE), help="check-set JSON Lines file")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("--failures", action="store_true", help="list every sentence judged wrongly")
    args = p.parse_args(argv)
    try:
        report = run(load(args.file)).to_dict(args.file)
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        print_report(report, args.failures)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
