"""Which Tesseract language packs read a scan: 'eng' plus the languages the document's text pages
are written in (py3langid over pieces of the text), among the packs installed (see ocr.py)."""

from __future__ import annotations

import re
import threading
from collections import Counter
from functools import lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .ocr import OcrEngine

# Tesseract language pack -> ISO 639-1 code py3langid answers with
_ISO = {
    "eng": "en",
    "deu": "de",
    "fra": "fr",
    "spa": "es",
    "ita": "it",
    "por": "pt",
    "nld": "nl",
    "pol": "pl",
    "ces": "cs",
    "swe": "sv",
    "dan": "da",
    "fin": "fi",
    "nor": "no",
    "tur": "tr",
    "rus": "ru",
    "ukr": "uk",
    "hun": "hu",
    "ron": "ro",
    "slk": "sk",
    "slv": "sl",
    "hrv": "hr",
    "ell": "el",
    "jpn": "ja",
    "chi_sim": "zh",
    "kor": "ko",
}
MIN_WORDS = 40  # fewer words than this tell no language
PIECE_CHARS = 400
MAX_PIECES = 60
MIN_SHARE = 0.15
MAX_EXTRA = 2
MAX_PROBE = 5  # scanned pages read with 'eng' at most to find 40 words (then 'eng' it is)
_WORD = re.compile(r"[^\W\d_]{2,}")
_ident_lock = threading.Lock()


@lru_cache(maxsize=4)
def _identifier(isos: tuple[str, ...]) -> Any:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    with _ident_lock:
        ident = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
        ident.set_languages(list(isos))
    return ident


def _pieces(text: str) -> list[str]:
    pieces: list[str] = []
    cur: list[str] = []
    size = 0
    for line in text.splitlines():
        cur.append(line)
        size += len(line) + 1
        if size >= PIECE_CHARS:
            pieces.append("\n".join(cur))
            cur, size = [], 0
    if size >= PIECE_CHARS // 2:
        pieces.append("\n".join(cur))
    if len(pieces) > MAX_PIECES:  # spread over the whole document
        step = len(pieces) / MAX_PIECES
        pieces = [pieces[int(i * step)] for i in range(MAX_PIECES)]
    return pieces


def choose_languages(text: str, engine: OcrEngine) -> tuple[str, ...] | None:
    """'eng' (the base language) plus the languages ``text`` is written in, among those installed;
    None when the text is too short to tell."""
    base = engine.base
    if len(_WORD.findall(text)) < MIN_WORDS:
        return None
    iso = {_ISO[lang]: lang for lang in engine.languages if lang in _ISO}
    if len(iso) < 2:
        return (base,)
    ident = _identifier(tuple(sorted(iso)))
    votes: Counter[str] = Counter()
    for piece in _pieces(text) or [text]:
        if len(_WORD.findall(piece)) < 10:
            continue  # a line of codes and numbers
        lang, prob = ident.classify(piece)
        if prob >= 0.9:
            votes[lang] += 1
    total = sum(votes.values())
    extra = [
        iso[code] for code, n in votes.most_common() if iso[code] != base and total and n / total >= MIN_SHARE
    ]
    return (base, *extra[:MAX_EXTRA])
