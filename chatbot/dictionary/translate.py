"""A question in another language as English keywords: words looked up (phrases first), inflections
stripped, German compounds split, cognates guessed, codes and names kept."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

from .rules import (
    CJK,
    COGNATES,
    DE_ENDINGS,
    DE_LINK,
    EDGE,
    ELISION,
    KEEP,
    ROMANCE_ENDINGS,
    STOP,
    WORD_SPLIT,
)
from .sources import LANGUAGES, MAX_SENSES, ZH_MAX, Glossary, english_vocabulary, fold, glossary


@dataclass
class _Ctx:
    g: Glossary
    lang: str
    stop: frozenset[str]
    vocab: frozenset[str] = frozenset()
    prefer: Callable[[str], bool] | None = None  # whether a gloss is worded like the manuals


def _cognate(ctx: _Ctx, w: str) -> str | None:
    """An English word spelt like the Romance one ("configuración" -> "configuration")."""
    rules = COGNATES.get(ctx.lang)
    if not rules or len(w) < 5 or not ctx.vocab:
        return None
    f = fold(w)
    cands = [f]
    cands += [
        f[: len(f) - len(suf)] + rep for suf, rep in rules if f.endswith(suf) and len(f) - len(suf) >= 3
    ]
    for c in cands:
        if len(c) >= 4 and c in ctx.vocab:
            return c
    for c in cands:  # English spellings of Greek letters: foto -> photo, sistema -> system
        v = c.replace("f", "ph").replace("si", "sy")
        if v != c and len(v) >= 4 and v in ctx.vocab:
            return v
    return None


def _strip_edges(tok: str) -> str:
    return tok.strip(EDGE)


def _is_anchor(tok: str) -> bool:
    """Codes, numbers, identifiers: language-neutral, kept verbatim."""
    return bool(KEEP.search(tok))


def _inflected(ctx: _Ctx, w: str) -> str | None:
    endings = DE_ENDINGS if ctx.lang == "de" else ROMANCE_ENDINGS.get(ctx.lang, ())
    low = w.lower()
    for suf, reps in endings:
        if low.endswith(suf) and len(low) - len(suf) >= 3:
            stem = w[: len(w) - len(suf)]
            for r in reps:
                if ctx.g.key_for(stem + r) is not None:
                    return stem + r
    return None


def _split_compound(ctx: _Ctx, w: str, depth: int = 0) -> list[str] | None:
    """German compound as known parts, longest known tail first ("Druckluftventil" ->
    ["Druckluft", "ventil"])."""
    n = len(w)
    if n < 7 or depth > 2:
        return None
    for i in range(3, n - 2):  # tail w[i:] from the longest
        tail = w[i:]
        tail_key = ctx.g.key_for(tail.capitalize()) or ctx.g.key_for(tail) or _inflected(ctx, tail)
        if tail_key is None or len(tail) < 3:
            continue
        head = w[:i]
        for link in DE_LINK:
            if link and not head.lower().endswith(link):
                continue
            h = head[: len(head) - len(link)] if link else head
            if len(h) < 3:
                continue
            if ctx.g.key_for(h) is not None:
                return [h, tail_key]
            hi = _inflected(ctx, h) if len(h) >= 5 else None
            if hi is not None:
                return [hi, tail_key]
            sub = _split_compound(ctx, h, depth + 1)
            if sub:
                return [*sub, tail_key]
    return None


def _senses(ctx: _Ctx, key: str, limit: int = MAX_SENSES) -> list[str]:
    return _choose(ctx, ctx.g.lookup(key), limit)


def _choose(ctx: _Ctx, glosses: Sequence[str], limit: int) -> list[str]:
    """The best ``limit`` glosses; with ``prefer`` (the index's own vocabulary), the senses the
    manuals actually use come first ("Band" -> "belt" before "ribbon", "volume")."""
    if ctx.prefer is None:
        return list(glosses[:limit])
    used = [g for g in glosses if ctx.prefer(g)]
    return (used or list(glosses))[:limit]


def _translate_word(ctx: _Ctx, w: str, name: bool = False) -> tuple[list[str], bool]:
    """(English words, whether the dictionary knew it) for one source word. ``name``: written
    like a proper name (capitalised inside a sentence in a language that does not capitalise
    nouns): kept, with no inflection or cognate guess."""
    if name:  # the name as written, and its dictionary sense if it is a word too (Galleria)
        return ([w, *_senses(ctx, w)], True) if ctx.g.key_for(w) is not None else ([w], False)
    if ctx.g.key_for(w) is not None:
        return _senses(ctx, w), True
    base = _inflected(ctx, w)
    if base is not None:
        return _senses(ctx, base), True
    cog = _cognate(ctx, w)
    if cog is not None:
        return [cog], True
    if ctx.lang == "de":
        parts = _split_compound(ctx, w)
        if parts:
            out: list[str] = []
            for p in parts:
                out.extend(_senses(ctx, p, 2))
            return out, True
    return [w], False


_FR_INVERSION = re.compile(r"-(?:t-)?(?:il|elle|on|ils|elles|je|tu|nous|vous|ce)$", re.I)


def _words(text: str, lang: str) -> Iterator[str]:
    for raw in WORD_SPLIT.split(text):
        tok = _strip_edges(raw)
        if lang == "fr":  # peut-on, mesure-t-elle: the pronoun goes
            tok = _FR_INVERSION.sub("", tok)
        if not tok:
            continue
        if lang in ("fr", "it"):
            m = ELISION.match(tok)
            if m and len(tok) > m.end():  # l'utilisation, dell'orologio: the article goes
                tok = tok[m.end() :]
        yield tok


def _translate_latin(ctx: _Ctx, text: str) -> tuple[list[str], int]:
    words = list(_words(text, ctx.lang))
    out: list[str] = []
    known = 0
    i = 0
    while i < len(words):
        w = words[i]
        # the longest multi-word headword starting here ("accusé de réception")
        matched = False
        for n in range(min(ctx.g.max_words, len(words) - i), 1, -1):
            phrase = " ".join(words[i : i + n])
            if ctx.g.key_for(phrase) is not None and not _is_anchor(phrase):
                out.extend(_senses(ctx, phrase))
                known += 1
                i += n
                matched = True
                break
        if matched:
            continue
        i += 1
        if _is_anchor(w):
            out.append(w)
            if "-" in w:  # MCS-51-Familie: the words beside the code translate
                for part in w.split("-"):
                    if len(part) > 2 and not _is_anchor(part) and ctx.g.key_for(part) is not None:
                        en, ok = _translate_word(ctx, part)
                        known += ok
                        out.extend(en)
            continue
        if w.lower() in ctx.stop or fold(w) in ctx.stop:
            continue
        if "-" in w and ctx.g.key_for(w) is None:
            out.append(w)  # the compound as written is an anchor too (Pull-up, nv-disk-encrypt)
            for part in w.split("-"):
                if not part or part.lower() in ctx.stop:
                    continue
                en, ok = _translate_word(ctx, part)
                known += ok
                out.extend(en)
            continue
        if len(w) == 1:
            continue
        name = ctx.lang != "de" and (any(c.isupper() for c in w[1:]) or (w[:1].isupper() and i > 1))
        en, ok = _translate_word(ctx, w, name)
        known += ok
        out.extend(en)
    return out, known


def _translate_zh(ctx: _Ctx, text: str) -> tuple[list[str], int]:
    out: list[str] = []
    known = 0
    pos = 0
    for m in CJK.finditer(text):
        latin, _ = _translate_plain(text[pos : m.start()])
        out.extend(latin)
        pos = m.end()
        run = m.group(0)
        i = 0
        while i < len(run):
            for n in range(min(ZH_MAX, len(run) - i), 0, -1):
                piece = run[i : i + n]
                if n == 1 or piece in ctx.g.entries:
                    break
            i += n
            if piece in ctx.stop:
                continue
            senses = ctx.g.lookup(piece)
            if senses:
                known += 1
                out.extend(_choose(ctx, senses, 1 if n == 1 else MAX_SENSES))
    latin, _ = _translate_plain(text[pos:])
    out.extend(latin)
    return out, known


def _translate_plain(text: str) -> tuple[list[str], int]:
    """Latin-script words inside a Chinese question (product names, codes) kept as they are."""
    return [t for t in (_strip_edges(x) for x in WORD_SPLIT.split(text)) if t], 0


def _dedupe(words: Iterable[str]) -> list[str]:
    seen: set[str] = set()
    out: list[str] = []
    for w in words:
        k = w.lower()
        if k not in seen:
            seen.add(k)
            out.append(w)
    return out


def to_english(
    text: str,
    lang: str,
    directory: str | os.PathLike[str] | None = None,
    prefer: Callable[[str], bool] | None = None,
) -> str:
    """English keywords for a question in ``lang`` ("" without a dictionary or when the
    dictionary knew none of its words). Codes, numbers and unknown (product) names stay as
    they are. ``prefer(gloss)`` says whether the manuals use a gloss's words: those senses are
    chosen first."""
    if lang == "en" or lang not in LANGUAGES or not text.strip():
        return ""
    g = glossary(lang, directory)
    if g is None:
        return ""
    vocab = english_vocabulary(directory) if lang in COGNATES else frozenset()
    ctx = _Ctx(g, lang, STOP.get(lang, frozenset()), vocab, prefer)
    words, known = _translate_zh(ctx, text) if lang == "zh" else _translate_latin(ctx, text)
    if not known:
        return ""
    return " ".join(_dedupe(words))
