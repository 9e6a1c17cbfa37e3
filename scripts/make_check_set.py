"""Write the grounding check set (``qa/grounding_check.jsonl``) from its hand-written seed.

``python scripts/make_check_set.py [--seed scripts/check_set_seed.jsonl] [--out qa/grounding_check.jsonl]``

The seed (JSON Lines) holds two kinds of line:

* passages: ``{"passage": KEY, "source", "page", "text"}``, chunk texts of the sample manuals
  (``manuals/``) as the sample index holds them;
* items: ``{"id", "kind", "passages": [KEY, ...], "sentence"}``, written by hand. A ``faithful``
  item may ask for altered copies made by rule: ``"negation": true`` (or the name of the rule to
  use), ``"number": true`` (or ``[old, new]``), ``"unit": true`` (or ``[old, new]``). The other
  kinds (``negation`` by hand, ``neighbour_row``, ``step_order``, ``modal``) are written by hand,
  optionally naming the faithful item they were made from (``"of"``).

Deterministic: no randomness, the output follows the seed's order; a rule that does not apply to
the sentence it is asked for is an error, never a silent skip.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
SEED = REPO / "scripts" / "check_set_seed.jsonl"
OUT = REPO / "qa" / "grounding_check.jsonl"
CITE = re.compile(r"\[(\d+)\]")

# -- negation: (name, pattern, replacement); the rule matching earliest in the sentence is used
NEGATIONS: list[tuple[str, str, str]] = [
    ("must not", r"\bmust not\b", "must"),
    ("may not", r"\bmay not\b", "may"),
    ("is not", r"\b(is|are) not\b", r"\1"),
    ("cannot", r"\bcannot\b", "can"),
    ("do not", r"\b[Dd]o not (?=\w)", ""),
    ("does not", r"\bdoes not (\w+)", r"\1s"),
    ("never", r"\b[Nn]ever (?=\w)", ""),
    ("nie", r"\bnie (?=\w)", ""),
    ("must", r"\bmust\b(?! not)", "must not"),
    ("can", r"\bcan\b", "cannot"),
]
# an imperative sentence start gets "Do not"
IMPERATIVES = frozenset(
    [
        "Check",
        "Clean",
        "Close",
        "Drain",
        "Fill",
        "Give",
        "Let",
        "Lock",
        "Make",
        "Open",
        "Place",
        "Press",
        "Release",
        "Replace",
        "Run",
        "Stop",
        "Test",
        "Tighten",
        "Top",
        "Turn",
        "Use",
        "Wear",
    ]
)

# -- units: the replacement makes the value wrong (15 minutes -> 15 seconds, 40 N·m -> 40 bar)
UNITS: dict[str, str] = {
    "operating hours": "operating days",
    "Betriebsstunden": "Betriebstage",
    "Sekunden": "Minuten",
    "Monate": "Wochen",
    "Prozent": "Promille",
    "Liter": "Kubikmeter",
    "minutes": "seconds",
    "minute": "second",
    "seconds": "minutes",
    "hours": "days",
    "years": "months",
    "l/min": "l/h",
    "mm/s": "m/s",
    "m/s": "mm/s",
    "kg/m": "kg",
    "N·m": "bar",
    "MPa": "bar",
    "bar": "MPa",
    "°C": "°F",
    "µm": "mm",
    "mm": "cm",
    "mA": "mV",
    "kW": "W",
    "kN": "N",
    "Hz": "kHz",
    "kg": "t",
    "A": "V",
    "V": "A",
    "L": "mL",
    "N": "kN",
    "h": "days",
    "s": "min",
}
_UNIT = "|".join(re.escape(u) for u in sorted(UNITS, key=len, reverse=True))
MEASURE = re.compile(rf"(?<![\w.,\-])(\d+(?:[.,]\d+)?)(\s|-)({_UNIT})(?!\w)")


class SeedError(ValueError):
    pass


def negate(sentence: str, rule: str | None = None) -> str:
    """Flip the polarity of ``sentence`` (the named rule, or the rule that matches earliest)."""
    hits: list[tuple[int, str]] = []  # (where, the sentence flipped there)
    for name, pattern, repl in NEGATIONS:
        m = re.search(pattern, sentence)
        if m and rule in (None, name):
            out = sentence[: m.start()] + m.expand(repl) + sentence[m.end() :]
            hits.append((m.start(), out[0].upper() + out[1:]))
    if rule in (None, "imperative") and sentence.split(" ", 1)[0] in IMPERATIVES:
        hits.append((0, "Do not " + sentence[0].lower() + sentence[1:]))
    if not hits:
        raise SeedError(f"no negation rule applies: {sentence}")
    return min(hits, key=lambda h: h[0])[1]


def other_number(n: str) -> str:
    """A different value, deterministically: 0.5 -> 1.5, 42 -> 24, 15 -> 51, 5 -> 10, 500 -> 1000."""
    if "." in n or "," in n:
        sep = "." if "." in n else ","
        whole, frac = n.split(sep)
        return f"{int(whole) + 1}{sep}{frac}"
    if len(n) >= 2 and not n.endswith("0") and n[::-1] != n:
        return n[::-1]
    return str(int(n) * 2)


def change_number(sentence: str, how: Any) -> str:
    if isinstance(how, list):
        old, new = how
        m = re.search(rf"(?<![\w.,\-]){re.escape(old)}(?![\w])", sentence)
        if not m:
            raise SeedError(f"number {old} not in: {sentence}")
        return sentence[: m.start()] + new + sentence[m.end() :]
    m = MEASURE.search(sentence)
    if not m:
        raise SeedError(f"no number with a unit in: {sentence}")
    return sentence[: m.start(1)] + other_number(m.group(1)) + sentence[m.end(1) :]


def change_unit(sentence: str, how: Any) -> str:
    for m in MEASURE.finditer(sentence):
        unit = m.group(3)
        if isinstance(how, list) and unit != how[0]:
            continue
        new = how[1] if isinstance(how, list) else UNITS[unit]
        return sentence[: m.start(3)] + new + sentence[m.end(3) :]
    raise SeedError(f"no unit {how if isinstance(how, list) else ''} after a number in: {sentence}")


def read_seed(path: Path) -> tuple[dict[str, dict[str, Any]], list[dict[str, Any]]]:
    passages: dict[str, dict[str, Any]] = {}
    items: list[dict[str, Any]] = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        d = json.loads(line)
        if "passage" in d:
            if d["passage"] in passages:
                raise SeedError(f"{path}:{n}: passage {d['passage']} twice")
            passages[d["passage"]] = d
        else:
            missing = [k for k in d["passages"] if k not in passages]
            if missing:
                raise SeedError(f"{path}:{n}: unknown passages {missing}")
            items.append(d)
    return passages, items


def build(passages: dict[str, dict[str, Any]], items: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []

    def emit(iid: str, kind: str, sentence: str, keys: Sequence[str], of: str | None) -> None:
        cited = [int(c) for c in CITE.findall(sentence)]
        if not cited or not all(1 <= c <= len(keys) for c in cited):
            raise SeedError(f"{iid}: citations {cited} do not match its {len(keys)} passage(s)")
        home = passages[keys[cited[0] - 1]]
        rec: dict[str, Any] = {
            "id": iid,
            "kind": kind,
            "expect": "accept" if kind == "faithful" else "reject",
            "sentence": sentence,
            "passages": [passages[k]["text"] for k in keys],
            "source": home["source"],
            "page": home["page"],
        }
        if of:
            rec["of"] = of
        out.append(rec)

    for d in items:
        keys = d["passages"]
        emit(d["id"], d["kind"], d["sentence"], keys, d.get("of"))
        if d["kind"] != "faithful":
            continue
        s = d["sentence"]
        made: list[tuple[str, str]] = []
        if d.get("negation"):
            rule = d["negation"] if isinstance(d["negation"], str) else None
            made.append(("negation", negate(s, rule)))
        if d.get("number"):
            made.append(("number", change_number(s, d["number"])))
        if d.get("unit"):
            made.append(("unit", change_unit(s, d["unit"])))
        for kind, altered in made:
            if altered == s:
                raise SeedError(f"{d['id']}: the {kind} rule changed nothing")
            emit(f"{d['id']}~{kind}", kind, altered, keys, d["id"])
    ids = [r["id"] for r in out]
    dup = sorted({i for i in ids if ids.count(i) > 1})
    if dup:
        raise SeedError(f"duplicate ids: {dup}")
    return out


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seed", default=str(SEED), help="hand-written seed (JSON Lines)")
    p.add_argument("--out", default=str(OUT), help="check-set file to write")
    args = p.parse_args(argv)
    try:
        records = build(*read_seed(Path(args.seed)))
    except (OSError, ValueError, KeyError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
    Path(args.out).write_text(text, encoding="utf-8")
    counts: dict[str, int] = {}
    for r in records:
        counts[r["kind"]] = counts.get(r["kind"], 0) + 1
    print(
        f"wrote {len(records)} sentences to {args.out}: " + ", ".join(f"{k} {v}" for k, v in counts.items())
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
