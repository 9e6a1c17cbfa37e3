"""Check a multi-turn conversation evaluation file (``qa/conversations_*.jsonl``).

Usage::

    python scripts/check_conversations.py --file qa/conversations_samples.jsonl --root manuals
    python scripts/check_conversations.py --file qa/conversations_corpus.jsonl --root ../shared/corpus

One conversation per line::

    {"id": "conv-s01", "note": "...", "turns": [{"question": "...", "source": "X.pdf", "pages": [7],
     "must_contain": ["E-107"], "answerable": true, "lang": "en", "kind": "first turn"}, ...]}

The format is validated (required keys and their types, unique ids, 2 to 5 turns, an unanswerable
turn has no source, pages or must_contain) and every ``must_contain`` string of an answerable turn
must appear on one of its gold pages: for a PDF in the page text extracted with pypdfium2, for any
other file in its whole text (an HTML file also as rendered text), whitespace collapsed, case
sensitive. ``source`` is relative to ``--root``. One line is printed per problem; the exit status
is 1 if there is any. ``--stats`` also prints the counts (turns, kinds, languages).
"""

from __future__ import annotations

import argparse
import html
import json
import re
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

MIN_TURNS = 2
MAX_TURNS = 5
KINDS = ("first turn", "follow-up", "new code", "topic switch", "unanswerable")
TURN_KEYS = ("question", "source", "pages", "must_contain", "answerable", "lang")
_LANG = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]+)?$")
_TAG = re.compile(r"<[^>]+>")
_SCRIPT = re.compile(r"<(script|style)\b.*?</\1>", re.S | re.I)


def collapse(text: str) -> str:
    return " ".join(text.split())


class Texts:
    """Page texts of the PDFs and whole texts of the other files under ``root``, read once."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._pdf: dict[str, list[str]] = {}
        self._file: dict[str, list[str]] = {}

    def pdf_pages(self, rel: str) -> list[str]:
        if rel not in self._pdf:
            import pypdfium2 as pdfium

            doc = pdfium.PdfDocument(str(self.root / rel))
            pages = []
            try:
                for i in range(len(doc)):
                    page = doc[i]
                    tp = page.get_textpage()
                    pages.append(collapse(tp.get_text_bounded()))
                    tp.close()
                    page.close()
            finally:
                doc.close()
            self._pdf[rel] = pages
        return self._pdf[rel]

    def file_texts(self, rel: str) -> list[str]:
        """The file's text; for HTML also the rendered text (tags removed, entities decoded)."""
        if rel not in self._file:
            raw = (self.root / rel).read_text(encoding="utf-8")
            texts = [collapse(raw)]
            if rel.lower().endswith((".html", ".htm")):
                texts.append(collapse(html.unescape(_TAG.sub(" ", _SCRIPT.sub(" ", raw)))))
            self._file[rel] = texts
        return self._file[rel]


def _is_str_list(v: Any) -> bool:
    return isinstance(v, list) and all(isinstance(s, str) and s.strip() for s in v)


def check_turn(t: Any, where: str, texts: Texts) -> list[str]:
    if not isinstance(t, dict):
        return [f"{where}: turn is not a JSON object"]
    problems = [f"{where}: missing key '{k}'" for k in TURN_KEYS if k not in t]
    if problems:
        return problems
    q, source, pages, must, answerable, lang = (t[k] for k in TURN_KEYS)
    if not isinstance(q, str) or not q.strip():
        problems.append(f"{where}: 'question' must be a non-empty string")
    if not isinstance(source, str):
        problems.append(f"{where}: 'source' must be a string")
    if not isinstance(pages, list) or not all(type(p) is int and p >= 1 for p in pages):
        problems.append(f"{where}: 'pages' must be a list of 1-based page numbers")
    if not _is_str_list(must):
        problems.append(f"{where}: 'must_contain' must be a list of non-empty strings")
    if not isinstance(answerable, bool):
        problems.append(f"{where}: 'answerable' must be true or false")
    if not isinstance(lang, str) or not _LANG.match(lang):
        problems.append(f"{where}: 'lang' must be a language code such as 'en' or 'de'")
    kind = t.get("kind")
    if kind is not None and kind not in KINDS:
        problems.append(f"{where}: 'kind' must be one of {', '.join(KINDS)}")
    if problems:
        return problems

    if not answerable:
        if source or pages or must:
            problems.append(f"{where}: an unanswerable turn has empty 'source', 'pages' and 'must_contain'")
        if kind not in (None, "unanswerable"):
            problems.append(f"{where}: an unanswerable turn has kind 'unanswerable'")
        return problems
    if kind == "unanswerable":
        problems.append(f"{where}: kind 'unanswerable' on an answerable turn")
    if not source:
        return [*problems, f"{where}: an answerable turn needs a 'source'"]
    if not must:
        problems.append(f"{where}: an answerable turn needs at least one 'must_contain' string")
    rel = Path(source)
    if rel.is_absolute() or ".." in rel.parts:
        return [*problems, f"{where}: 'source' must be relative to the root: {source}"]
    if not (texts.root / rel).is_file():
        return [*problems, f"{where}: source not found under {texts.root}: {source}"]

    if source.lower().endswith(".pdf"):
        try:
            all_pages = texts.pdf_pages(source)
        except Exception as exc:
            return [*problems, f"{where}: cannot read {source}: {exc}"]
        if not pages:
            return [*problems, f"{where}: a PDF source needs its gold 'pages'"]
        bad = [p for p in pages if p > len(all_pages)]
        if bad:
            return [*problems, f"{where}: {source} has {len(all_pages)} pages, not {bad}"]
        gold = [all_pages[p - 1] for p in pages]
        shown = f"{source} p. {', '.join(map(str, pages))}"
    else:
        if pages:
            problems.append(f"{where}: a non-paged source ({source}) has 'pages': []")
        try:
            gold = texts.file_texts(source)
        except (OSError, UnicodeDecodeError) as exc:
            return [*problems, f"{where}: cannot read {source}: {exc}"]
        shown = source
    for s in must:
        needle = collapse(s)
        if not any(needle in g for g in gold):
            problems.append(f"{where}: must_contain {s!r} not found on {shown}")
    return problems


def check_file(path: Path, root: Path, stats: Counter[str] | None = None) -> list[str]:
    texts = Texts(root)
    problems: list[str] = []
    seen: dict[str, int] = {}
    with open(path, encoding="utf-8") as fh:
        lines = fh.read().splitlines()
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        where = f"{path}:{n}"
        try:
            conv = json.loads(line)
        except json.JSONDecodeError as exc:
            problems.append(f"{where}: not valid JSON ({exc.msg})")
            continue
        if not isinstance(conv, dict):
            problems.append(f"{where}: not a JSON object")
            continue
        cid = conv.get("id")
        if not isinstance(cid, str) or not cid.strip():
            problems.append(f"{where}: missing or empty 'id'")
            cid = f"line-{n}"
        elif cid in seen:
            problems.append(f"{where}: id {cid!r} already used on line {seen[cid]}")
        else:
            seen[cid] = n
        where = f"{where} {cid}"
        if not isinstance(conv.get("note"), str) or not conv["note"].strip():
            problems.append(f"{where}: missing or empty 'note'")
        turns = conv.get("turns")
        if not isinstance(turns, list):
            problems.append(f"{where}: 'turns' must be a list")
            continue
        if not MIN_TURNS <= len(turns) <= MAX_TURNS:
            problems.append(f"{where}: {len(turns)} turns, expected {MIN_TURNS} to {MAX_TURNS}")
        for i, t in enumerate(turns, 1):
            problems.extend(check_turn(t, f"{where} turn {i}", texts))
        if stats is not None:
            _count(stats, turns)
    if not seen and not problems:
        problems.append(f"{path}: no conversations")
    return problems


def _count(stats: Counter[str], turns: list[Any]) -> None:
    stats["conversations"] += 1
    prev_lang = None
    for i, t in enumerate(turns, 1):
        if not isinstance(t, dict):
            continue
        stats["turns"] += 1
        if i > 1:
            stats["follow-up turns (2nd and later)"] += 1
        stats[f"kind: {t.get('kind') or '(none)'}"] += 1
        lang = t.get("lang")
        stats[f"lang: {lang}"] += 1
        if lang != "en":
            stats["non-English turns"] += 1
        if prev_lang is not None and lang != prev_lang:
            stats["language switches"] += 1
        prev_lang = lang
        if t.get("answerable") is False:
            stats["unanswerable turns"] += 1


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Validate a conversations JSONL file against its manuals.")
    ap.add_argument("--file", required=True, type=Path, help="conversations file (JSON Lines)")
    ap.add_argument("--root", required=True, type=Path, help="folder the 'source' paths are relative to")
    ap.add_argument("--stats", action="store_true", help="also print counts of turns, kinds and languages")
    args = ap.parse_args(argv)
    if not args.file.is_file():
        print(f"{args.file}: no such file")
        return 1
    if not args.root.is_dir():
        print(f"{args.root}: no such folder")
        return 1
    stats: Counter[str] = Counter()
    problems = check_file(args.file, args.root, stats)
    for p in problems:
        print(p)
    if args.stats:
        for key in sorted(stats):
            print(f"{key}: {stats[key]}")
    if problems:
        print(f"{len(problems)} problem(s) in {args.file}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
