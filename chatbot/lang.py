"""Tiny language guesser for questions (script + stopwords); no model, no download.

Only needs to tell English from the languages operators are likely to type, so retrieval can
add cross-lingual search and the answer can be asked for in the question's language.
"""

from __future__ import annotations

import re

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

_STOP = {
    "en": [
        "the",
        "and",
        "is",
        "are",
        "what",
        "how",
        "do",
        "does",
        "i",
        "my",
        "to",
        "of",
        "in",
        "on",
        "with",
        "for",
        "it",
        "this",
        "that",
        "can",
        "should",
        "which",
        "when",
    ],
    "de": [
        "der",
        "die",
        "das",
        "und",
        "ist",
        "sind",
        "wie",
        "was",
        "ich",
        "mein",
        "meine",
        "nicht",
        "ein",
        "eine",
        "mit",
        "für",
        "auf",
        "bei",
        "muss",
        "welche",
        "wenn",
        "warum",
        "kann",
        "den",
        "dem",
        "des",
        "im",
        "zu",
    ],
    "es": [
        "el",
        "la",
        "los",
        "las",
        "y",
        "es",
        "son",
        "qué",
        "que",
        "cómo",
        "como",
        "mi",
        "mis",
        "con",
        "para",
        "por",
        "una",
        "un",
        "del",
        "se",
        "debo",
        "puedo",
        "cuál",
        "cuando",
        "en",
        "al",
    ],
    "fr": [
        "le",
        "la",
        "les",
        "et",
        "est",
        "sont",
        "que",
        "quoi",
        "comment",
        "je",
        "mon",
        "ma",
        "mes",
        "avec",
        "pour",
        "une",
        "un",
        "du",
        "des",
        "dois",
        "puis",
        "quel",
        "quelle",
        "quand",
        "en",
        "au",
    ],
    "it": [
        "il",
        "lo",
        "la",
        "gli",
        "le",
        "e",
        "è",
        "sono",
        "che",
        "come",
        "mio",
        "mia",
        "con",
        "per",
        "una",
        "un",
        "del",
        "della",
        "devo",
        "posso",
        "quale",
        "quando",
    ],
    "pt": [
        "o",
        "a",
        "os",
        "as",
        "e",
        "é",
        "são",
        "que",
        "como",
        "meu",
        "minha",
        "com",
        "para",
        "uma",
        "um",
        "do",
        "da",
        "devo",
        "posso",
        "qual",
        "quando",
    ],
    "nl": [
        "de",
        "het",
        "en",
        "is",
        "zijn",
        "wat",
        "hoe",
        "ik",
        "mijn",
        "met",
        "voor",
        "een",
        "van",
        "moet",
        "kan",
        "welke",
        "wanneer",
    ],
    "pl": [
        "i",
        "jest",
        "są",
        "co",
        "jak",
        "mój",
        "moja",
        "z",
        "dla",
        "na",
        "w",
        "nie",
        "czy",
        "jaki",
        "kiedy",
    ],
}
_STOPSETS = {k: set(v) for k, v in _STOP.items()}
_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)


def detect(text: str) -> str:
    """ISO 639-1 code of the question's language; 'en' when unsure."""
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
    words = [w.lower() for w in _WORD.findall(text)]
    if not words:
        return "en"
    scores = {lang: sum(w in stop for w in words) for lang, stop in _STOPSETS.items()}
    # letters that English never uses are strong evidence
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


def name(code: str) -> str:
    return NAMES.get(code, code)
