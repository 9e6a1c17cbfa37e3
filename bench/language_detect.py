"""Question-language detection: core.language.detect (py3langid) against the old stopword guesser.

    python bench/language_detect.py            # markdown tables: per set, per language, confusions, latency
    python bench/language_detect.py --show     # also list every question either detector gets wrong

Sets (under ../shared, or OPASSIST_SHARED): qa/dev.jsonl, sets/ohr_manuals/qa.jsonl and
sets/ohr_manuals/qa_multilingual.jsonl; each line's `lang` is the gold language. The same questions
cut to their first 3 words (CJK questions kept whole) show how both cope with very short text.
Exit code 1 when the new detector is less accurate than the old one on any full set.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SHARED = Path(os.environ.get("OPASSIST_SHARED", ROOT.parent / "shared"))

SETS = {
    "dev": Path("qa") / "dev.jsonl",
    "ohr_manuals": Path("sets") / "ohr_manuals" / "qa.jsonl",
    "ohr_multilingual": Path("sets") / "ohr_manuals" / "qa_multilingual.jsonl",
}
PREFIX_WORDS = 3

# ---------------------------------------------------------------- the old detector (baseline)
# The stopword + letter guesser chatbot/language.py had before py3langid, kept here to compare.
_OLD_STOP = {
    "en": "the and is are what how do does i my to of in on with for it this that can should which when",
    "de": "der die das und ist sind wie was ich mein meine nicht ein eine mit für auf bei muss welche "
    "wenn warum kann den dem des im zu",
    "es": "el la los las y es son qué que cómo como mi mis con para por una un del se debo puedo cuál "
    "cuando en al",
    "fr": "le la les et est sont que quoi comment je mon ma mes avec pour une un du des dois puis quel "
    "quelle quand en au",
    "it": "il lo la gli le e è sono che come mio mia con per una un del della devo posso quale quando",
    "pt": "o a os as e é são que como meu minha com para uma um do da devo posso qual quando",
    "nl": "de het en is zijn wat hoe ik mijn met voor een van moet kan welke wanneer",
    "pl": "i jest są co jak mój moja z dla na w nie czy jaki kiedy",
}
_OLD_STOPSETS = {k: set(v.split()) for k, v in _OLD_STOP.items()}
_OLD_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)


def old_detect(text: str) -> str:
    """The previous core.language.detect, unchanged in behaviour."""
    if re.search(r"[\u3040-\u30ff]", text):
        return "ja"
    if re.search(r"[\uac00-\ud7af]", text):
        return "ko"
    if re.search(r"[\u4e00-\u9fff]", text):
        return "zh"
    if re.search(r"[\u0400-\u04ff]", text):
        return "uk" if re.search(r"[іїєґ]", text.lower()) else "ru"
    if re.search(r"[\u0600-\u06ff]", text):
        return "ar"
    words = [w.lower() for w in _OLD_WORD.findall(text)]
    if not words:
        return "en"
    scores = {lang: sum(w in stop for w in words) for lang, stop in _OLD_STOPSETS.items()}
    low = text.lower()
    scores["de"] += 2 * len(re.findall(r"[äöüß]", low))
    scores["es"] += 2 * len(re.findall(r"[ñ¿¡]", low)) + len(re.findall(r"[áíóú]", low))
    scores["fr"] += 2 * len(re.findall(r"[çœàèùâêîôû]", low))
    scores["pt"] += 2 * len(re.findall(r"[ãõ]", low))
    scores["pl"] += 2 * len(re.findall(r"[ąćęłńśźż]", low))
    best = max(scores, key=lambda k: scores[k])
    if best != "en" and scores[best] > scores["en"] and scores[best] >= 2:
        return best
    return "en"


# ---------------------------------------------------------------- measuring
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]")


def first_words(question: str, n: int) -> str:
    return question if _CJK.search(question) else " ".join(question.split()[:n])


def load_sets(shared: Path) -> dict[str, list[tuple[str, str]]]:
    out: dict[str, list[tuple[str, str]]] = {}
    for name, rel in SETS.items():
        path = shared / rel
        if not path.is_file():
            print(f"(missing: {path})", file=sys.stderr)
            continue
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        out[name] = [(r["question"], r.get("lang", "en")) for r in rows]
    return out


def run(fn: Callable[[str], str], items: list[tuple[str, str]]) -> tuple[list[str], float]:
    """Predictions and the total seconds spent in fn."""
    preds: list[str] = []
    spent = 0.0
    for question, _ in items:
        t = time.perf_counter()
        preds.append(fn(question))
        spent += time.perf_counter() - t
    return preds, spent


def pct(ok: int, n: int) -> str:
    return f"{ok / n:.1%} ({ok}/{n})" if n else "-"


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--shared", type=Path, default=SHARED, help="the shared folder (default: %(default)s)")
    p.add_argument("--show", action="store_true", help="list every question either detector gets wrong")
    args = p.parse_args(argv)
    from core import language as lang

    sets = load_sets(args.shared)
    if not sets:
        print(f"no question sets under {args.shared}", file=sys.stderr)
        return 2
    full = list(sets)
    for name in full:
        sets[f"{name}, first {PREFIX_WORDS} words"] = [
            (first_words(q, PREFIX_WORDS), g) for q, g in sets[name]
        ]

    t = time.perf_counter()
    lang.detect("warm up: load the model once")
    load_s = time.perf_counter() - t
    detectors: dict[str, Callable[[str], str]] = {"old": old_detect, "new": lang.detect}
    preds: dict[tuple[str, str], list[str]] = {}
    spent = dict.fromkeys(detectors, 0.0)
    calls = dict.fromkeys(detectors, 0)
    for set_name, items in sets.items():
        for det, fn in detectors.items():
            preds[det, set_name], s = run(fn, items)
            spent[det] += s
            calls[det] += len(items)

    print("## Accuracy per set\n")
    print("| set | questions | non-English | old | new |")
    print("|---|---|---|---|---|")
    worse = False
    for set_name, items in sets.items():
        gold = [g for _, g in items]
        ok = {d: sum(p == g for p, g in zip(preds[d, set_name], gold, strict=True)) for d in detectors}
        worse |= set_name in full and ok["new"] < ok["old"]
        n_other = sum(g != "en" for g in gold)
        print(
            f"| {set_name} | {len(items)} | {n_other} | {pct(ok['old'], len(items))} "
            f"| {pct(ok['new'], len(items))} |"
        )

    for label, names in (
        ("full questions", full),
        (f"first {PREFIX_WORDS} words", [s for s in sets if s not in full]),
    ):
        per: dict[str, Counter[str]] = {d: Counter() for d in detectors}
        total = Counter[str]()
        for set_name in names:
            for i, (_, g) in enumerate(sets[set_name]):
                total[g] += 1
                for d in detectors:
                    per[d][g] += preds[d, set_name][i] == g
        print(f"\n## Accuracy per language ({label}, all sets)\n")
        print("| language | questions | old | new |")
        print("|---|---|---|---|")
        for g in sorted(total, key=lambda k: (k != "en", k)):
            print(
                f"| {g} {lang.name(g)} | {total[g]} | {pct(per['old'][g], total[g])} | {pct(per['new'][g], total[g])} |"
            )

    print("\n## Confusions (gold → predicted: count)\n")
    print("| set | old | new |")
    print("|---|---|---|")
    for set_name, items in sets.items():
        cells = []
        for d in detectors:
            conf = Counter(f"{g}→{p}" for (_, g), p in zip(items, preds[d, set_name], strict=True) if p != g)
            cells.append(", ".join(f"{k}: {v}" for k, v in sorted(conf.items())) or "none")
        print(f"| {set_name} | {cells[0]} | {cells[1]} |")

    print("\n## Latency\n")
    print("| detector | mean per call | model load (first call) |")
    print("|---|---|---|")
    print(f"| old | {1e6 * spent['old'] / calls['old']:.0f} µs | - |")
    print(f"| new | {1e6 * spent['new'] / calls['new']:.0f} µs | {load_s:.2f} s |")

    if args.show:
        print("\n## Wrong answers\n")
        for set_name, items in sets.items():
            for i, (q, g) in enumerate(items):
                old, new = preds["old", set_name][i], preds["new", set_name][i]
                if old != g or new != g:
                    print(f"- {set_name}: gold {g}, old {old}, new {new}: {q}")
    return 1 if worse else 0


if __name__ == "__main__":
    sys.exit(main())
