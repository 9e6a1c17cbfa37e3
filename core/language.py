"""Language of a question, so retrieval can add cross-lingual search and the answer can be asked for
in the question's language.

py3langid (naive Bayes over byte n-grams; its model ships inside the wheel, nothing is downloaded)
chooses among the languages of NAMES, the ones operators are likely to type. Questions are short and
full of fault codes and product names (E-107, $32, G53, HP-200, ThinkPad), so two rules sit on top:

* text with fewer than two words of two or more letters once the codes are set aside is "en",
  unless it is written in a non-Latin script (Chinese, Japanese, Korean, Cyrillic, Arabic);
* English stays the answer unless another language is at least twice as likely (the manuals and
  most questions are English; a short English phrase often looks a little Dutch or Swedish).

The model loads on the first call (~0.6 s), once, under a lock; importing this module loads nothing.
Measured against the old stopword guesser by bench/language_detect.py.
"""

from __future__ import annotations

import re
import threading
from typing import Any

NAMES = {
    "en": "English",
    "de": "German",
    "es": "Spanish",
    "fr": "French",
    "it": "Italian",
    "pt": "Portuguese",
    "nl": "Dutch",
    "pl": "Polish",
    "cs": "Czech",
    "sv": "Swedish",
    "tr": "Turkish",
    "ru": "Russian",
    "uk": "Ukrainian",
    "zh": "Chinese",
    "ja": "Japanese",
    "ko": "Korean",
    "ar": "Arabic",
}

# a token with a digit, an all-capitals code or name, or code punctuation: no language in it
_CODE = re.compile(r"\S*\d\S*|\b[A-Z][A-Z0-9_]+\b|\S*[_$/\\:=]\S*")
_WORD = re.compile(r"[^\W\d_]{2,}")
_NON_LATIN = re.compile(r"[\u0400-\u04ff\u0600-\u06ff\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]")
_MIN_WORDS = 2
_ENGLISH_PRIOR = 2.0

_lock = threading.Lock()
_identifier: Any = None


def _model() -> Any:
    """The py3langid identifier restricted to NAMES, loaded once (thread-safe)."""
    global _identifier
    if _identifier is None:
        with _lock:
            if _identifier is None:
                from py3langid.langid import MODEL_FILE, LanguageIdentifier

                ident = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
                ident.set_languages(list(NAMES))
                _identifier = ident
    return _identifier


def _too_little_text(text: str) -> bool:
    """True when the text has too few plain words to tell a language (a bare fault code)."""
    if _NON_LATIN.search(text):
        return False
    plain = _CODE.sub(" ", text.lower() if text.isupper() else text)
    return len(_WORD.findall(plain)) < _MIN_WORDS


def detect(text: str) -> str:
    """ISO 639-1 code of the question's language (one of NAMES); 'en' when unsure."""
    if _too_little_text(text):
        return "en"
    probs = dict(_model().rank(text))
    best = max(probs, key=lambda k: probs[k])
    if best == "en" or probs.get("en", 0.0) * _ENGLISH_PRIOR >= probs[best]:
        return "en"
    return str(best)


def name(code: str) -> str:
    return NAMES.get(code, code)


def passage_language(text: str) -> str:
    """The language a passage of a manual is written in (its first 400 characters are enough)."""
    return detect(text[:400])
