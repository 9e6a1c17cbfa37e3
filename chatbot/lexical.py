"""Lexical (BM25) ranking over chunks, with a tokenizer that keeps what operators type.

Fault codes and parameters must match exactly: ``error:24``, ``ALARM:8``, ``$32``, ``G53``,
``E-107``, ``P9.01``, ``HOME_OFFSET``, ``/dev/ttyUSB0``. The tokenizer emits such a token
whole *and* its parts (``error:24`` -> ``error:24``, ``error``, ``24``), so "error 24" in a
table row and "error:24" in a question still meet, while the whole token ranks the exact
row first.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Sequence

import numpy as np

from core.grammar import NUMBER_ROW, ROW_HEAD, families_named, family_key

# a "word" may hold inner punctuation used in codes: error:24, E-107, P9.01, $32, HOME_OFFSET
_TOKEN = re.compile(r"\$?[\w]+(?:[:\-./][\w]+)*", re.UNICODE)
_PARTS = re.compile(r"[^\W_]+", re.UNICODE)
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]")
STOPWORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "but",
        "by",
        "can",
        "do",
        "does",
        "for",
        "from",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "me",
        "my",
        "of",
        "on",
        "or",
        "our",
        "so",
        "that",
        "the",
        "their",
        "then",
        "there",
        "these",
        "this",
        "to",
        "was",
        "we",
        "what",
        "when",
        "where",
        "which",
        "who",
        "why",
        "will",
        "with",
        "you",
        "your",
        "should",
        "would",
        "could",
        "have",
        "has",
        "had",
        "not",
        "no",
        "yes",
    ]
)


@functools.lru_cache(maxsize=262_144)
def _stem(word: str) -> str:
    """A light English suffix stripper (enough for 'tuning'/'tune', 'alarms'/'alarm')."""
    if len(word) <= 4 or not word.isalpha():
        return word
    for suf, rep in (("ies", "y"), ("ing", ""), ("ed", ""), ("es", ""), ("s", "")):
        if word.endswith(suf) and len(word) - len(suf) >= 3:
            if suf == "s" and word.endswith("ss"):
                return word
            return word[: -len(suf)] + rep
    return word


def tokenize(text: str) -> list[str]:
    out: list[str] = []
    for m in _TOKEN.finditer(text.lower()):
        tok = m.group(0)
        parts = _PARTS.findall(tok)
        compound = len(parts) > 1 or tok.startswith("$")
        if compound:
            out.append(tok)
        for p in parts:
            if _CJK.search(p):  # no spaces in CJK: index character bigrams
                out.extend(p[i : i + 2] for i in range(max(1, len(p) - 1)))
            elif p not in STOPWORDS:
                out.append(_stem(p))
    return out


class TokenMemo:
    """The tokens of text pieces, each distinct piece tokenized once. A chunk's text is in the chunk
    and the page index, a manual's title and section headings are in many chunks, and a new index
    version repeats almost all of the last one's text: given the memo of the version before
    (``previous``), a new version tokenizes only its new text. Tokens never span a line break, so
    the tokens of pieces joined by newlines are the pieces' tokens in order."""

    def __init__(self, previous: TokenMemo | None = None) -> None:
        self._old = previous._map if previous is not None else {}
        self._map: dict[str, str] = {}  # piece -> its tokens joined by spaces (compact; no token has one)

    def __call__(self, *pieces: str) -> list[str]:
        out: list[str] = []
        for p in pieces:
            t = self._map.get(p)
            if t is None:
                t = self._old.get(p)
                if t is None:
                    t = " ".join(tokenize(p))
                self._map[p] = t
            if t:
                out.extend(t.split(" "))
        return out

    def done(self, keep_previous: bool = False) -> None:
        """Forget the previous version's pieces that this one did not ask for; with ``keep_previous``
        (only the new rows were tokenized, the rest was carried) keep them for the next version."""
        if keep_previous:
            self._map.update((k, v) for k, v in self._old.items() if k not in self._map)
        self._old = {}

    def __len__(self) -> int:
        return len(self._map)


class LexicalIndex:
    """BM25 over chunk texts (bm25s), plus exact matching of quoted phrases."""

    def __init__(
        self,
        texts: Sequence[str],
        tokens: Sequence[list[str]] | None = None,
        headings: Sequence[str] | None = None,
    ) -> None:
        """``tokens``: ``tokenize`` of each text, when the caller has them (TokenMemo); ``headings``:
        each text's title and section (a code table's heading names the family of its bare numbers)."""
        import bm25s

        # bm25s sets its own logger to DEBUG on import; keep it as quiet as the rest
        logging.getLogger("bm25s").setLevel(max(logging.WARNING, logging.getLogger().getEffectiveLevel()))

        self._flat = [" ".join(t.lower().split()) for t in texts]  # whitespace runs as one space
        self._df_cache: dict[str, int] = {}
        # codes that begin a line (a fault table row, a parameter entry): "e-107", "al-01", "$32", "p9.01"
        self._row_heads: dict[str, list[int]] = {}
        for i, t in enumerate(texts):
            named = ""
            if headings is not None:
                # a code in the document's title names the machine ("CV-50 Belt Conveyor"): lines that
                # begin with it are not the row of that code (a section "Resetting E-104" is about it)
                named = headings[i].split("\n", 1)[0].lower()
                t = t[len(headings[i]) :] if t.startswith(headings[i]) else t
            for m in ROW_HEAD.finditer(t):
                code = m.group(1).lower()
                if code not in named:
                    self._row_heads.setdefault(code, []).append(i)
            for fam in families_named(headings[i]) if headings is not None else ():
                for m in NUMBER_ROW.finditer(t):
                    self._row_heads.setdefault(f"{fam}:{int(m.group(1))}", []).append(i)
        self.n = len(texts)
        self._bm25 = bm25s.BM25(k1=1.2, b=0.75)
        if tokens is None:
            tokens = [tokenize(t) for t in texts]
        tokens = [t or ["\u0000"] for t in tokens]
        self._df: dict[str, int] = {}
        if self.n:
            self._bm25.index(tokens, show_progress=False)
            # document frequencies from the index itself (a column per term: its documents)
            counts = np.diff(np.asarray(self._bm25.scores["indptr"])).tolist()
            self._df = {
                t: counts[i] for t, i in self._bm25.vocab_dict.items() if i < len(counts) and counts[i]
            }

    def known(self, token: str) -> bool:
        """Whether a (tokenized) term occurs anywhere in the index."""
        return token in self._df

    def doc_freq(self, token: str) -> int:
        """How many texts hold a (tokenized) term."""
        return self._df.get(token, 0)

    def term_scores(self, token: str) -> np.ndarray:
        """BM25 of one known term for every text."""
        return np.asarray(self._bm25.get_scores([token]), dtype=np.float32)

    def count_containing(self, needle: str, rows: np.ndarray | None = None) -> int:
        """How many texts (of ``rows``) contain ``needle`` (lower case, whitespace runs as one space)."""
        flat = self._flat if rows is None else [self._flat[i] for i in rows.tolist()]
        return sum(1 for t in flat if needle in t)

    def idf(self, token: str) -> float:
        """Inverse document frequency of a tokenized term (an unknown term weighs most)."""
        import math

        return math.log(1.0 + (self.n + 1) / (self._df.get(token, 0) + 0.5))

    def scores(self, query: str) -> np.ndarray:
        if not self.n:
            return np.zeros(0, dtype=np.float32)
        toks = [t for t in tokenize(query) if t in self._bm25.vocab_dict]
        if not toks:
            return np.zeros(self.n, dtype=np.float32)
        return np.asarray(self._bm25.get_scores(toks), dtype=np.float32)

    def is_specific(self, code: str) -> bool:
        """A code that occurs in few chunks (at most 8 or 2% of them, and never a quarter of the index):
        naming it is evidence of relevance; a machine's model name found everywhere is not."""
        n = self._df_cache.get(code)
        if n is None:
            n = self.count_containing(code)
            self._df_cache[code] = n
        return specific(n, self.n)

    def code_rows(self, codes: Sequence[str], query: str, rows: np.ndarray | None = None) -> list[int]:
        """Rows where a code the question names begins a line (the table row that defines it),
        best BM25 for ``query`` first."""
        allowed = None if rows is None else {int(r) for r in rows}
        keys = [k for c in codes for k in (c, family_key(c)) if k]
        hits = list(dict.fromkeys(i for c in keys for i in self._row_heads.get(c, [])))
        hits = [i for i in hits if allowed is None or i in allowed]
        if len(hits) > 1:
            s = self.scores(query)
            hits.sort(key=lambda i: -s[i])
        return hits

    def is_row_of(self, code: str, row: int) -> bool:
        """Whether text ``row`` begins a line with ``code``'s row (E-107 …, or 9 … under "Alarm codes")."""
        key = family_key(code)
        return row in self._row_heads.get(code, ()) or (
            key is not None and row in self._row_heads.get(key, ())
        )

    def phrase_rows(self, phrases: Sequence[str], query: str, rows: np.ndarray | None = None) -> list[int]:
        """Rows containing a phrase the question quotes verbatim, best BM25 for ``query`` first."""
        if not phrases:
            return []
        allowed = None if rows is None else set(int(r) for r in rows)
        hits: list[int] = []
        for p in phrases:
            # only rows holding the phrase's rarest term can hold the phrase: BM25 finds them
            # without reading every text (a linear scan cost 120 ms per phrase at 100k chunks)
            terms = [t for t in tokenize(p) if t in self._df]
            if tokenize(p) and not terms:
                continue  # a term the index has never seen: the phrase is nowhere
            if terms:
                rarest = min(terms, key=lambda t: self._df[t])
                cand = np.flatnonzero(self._bm25.get_scores([rarest]) > 0).tolist()
            else:  # no indexable term (punctuation, stopwords only): read every text
                cand = list(range(self.n))
            hits += [i for i in cand if p in self._flat[i] and (allowed is None or i in allowed)]
        hits = list(dict.fromkeys(hits))
        if len(hits) > 1:
            s = self.scores(query)
            hits.sort(key=lambda i: -s[i])
        return hits

    def search(self, query: str, k: int, rows: np.ndarray | None = None) -> list[tuple[int, float]]:
        return top_k(self.scores(query), k, rows)


def specific(found_in: int, total: int) -> bool:
    """A code found in at most 8 texts or 2% of them, and never a quarter of the index (one text of a
    tiny index counts): naming it is evidence; a model name found everywhere is not."""
    return found_in <= max(8, 0.02 * total) and found_in <= max(1, 0.25 * total)


def top_k(s: np.ndarray, k: int, rows: np.ndarray | None = None) -> list[tuple[int, float]]:
    """The best ``k`` (row, score) with a positive score, among ``rows`` when given."""
    if not len(s) or k <= 0:
        return []
    if rows is not None:
        masked = np.full_like(s, -1.0)
        masked[rows] = s[rows]
        s = masked
    k = min(k, len(s))
    top = np.argpartition(-s, k - 1)[:k]
    top = top[np.argsort(-s[top])]
    return [(int(i), float(s[i])) for i in top if s[i] > 0]
