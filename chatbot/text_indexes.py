"""The BM25 indexes of one index version: over chunks and over whole pages (each carried from the
version before where it is unchanged: ``lexical_segments``)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from index.types import Chunk

from .lexical import LexicalIndex, TokenMemo
from .lexical_segments import SegmentedLexical, carry_lexical


def lexical_text(c: Chunk) -> str:
    return f"{c.title}\n{c.section}\n{c.text}"


def chunk_lexical(chunks: Sequence[Chunk], memo: TokenMemo | None = None) -> LexicalIndex:
    """BM25 over the chunks' ``lexical_text``, tokenized through ``memo``."""
    memo = memo if memo is not None else TokenMemo()
    return LexicalIndex(
        [lexical_text(c) for c in chunks],
        [memo(f"{c.title}\n{c.section}", c.text) for c in chunks],
        [f"{c.title}\n{c.section}" for c in chunks],
    )


class PageIndex:
    """BM25 over whole pages (the chunks of one page joined; a non-paged file's section counts as a
    page). A question's words are often spread over a page that no single chunk holds; the page's
    rank is given to each chunk on it, and the chunk channels pick among them. ``previous``: the
    page index of the version before, carried where its pages are unchanged (lexical_segments)."""

    def __init__(
        self,
        chunks: Sequence[Chunk],
        memo: TokenMemo | None = None,
        previous: PageIndex | None = None,
        max_fraction: float = 0.0,
    ) -> None:
        tok = memo if memo is not None else TokenMemo()
        unit_of: dict[tuple[str, object], int] = {}
        self.unit_rows: list[list[int]] = []
        self.keys: list[tuple[str, object, str]] = []  # (source, page, content sha) of each page
        self.row_unit = np.zeros(len(chunks), dtype=np.int64)
        for row, c in enumerate(chunks):
            page: object = c.page_start if c.page_start is not None else c.section
            if c.role:  # table-of-contents entries are a unit apart: their words are not the page's
                page = f"{c.role}:{page}"
            u = unit_of.get((c.source, page))
            if u is None:
                u = unit_of[(c.source, page)] = len(self.unit_rows)
                self.unit_rows.append([])
                self.keys.append((c.source, page, c.doc_sha))
            self.unit_rows[u].append(row)
            self.row_unit[row] = u

        def build(units: Sequence[int]) -> LexicalIndex:
            texts: list[str] = []
            tokens: list[list[str]] = []
            for u in units:
                first = chunks[self.unit_rows[u][0]]
                parts = [f"{first.title}\n{first.section}"] + [chunks[r].text for r in self.unit_rows[u]]
                texts.append("\n".join(parts))
                tokens.append(tok(*parts))
            return LexicalIndex(texts, tokens)

        self.lexical: LexicalIndex | SegmentedLexical = carry_lexical(
            previous.lexical if previous is not None else None,
            previous.keys if previous is not None else None,
            self.keys,
            build,
            max_fraction,
        )

    def ranks(self, query: str, n: int, rows: np.ndarray | None) -> dict[int, int]:
        """Chunk row -> the rank of its page among the best ``n`` pages."""
        units = None if rows is None else np.unique(self.row_unit[rows])
        allowed = None if rows is None else {int(r) for r in rows}
        out: dict[int, int] = {}
        for rank, (u, _) in enumerate(self.lexical.search(query, n, units), 1):
            for row in self.unit_rows[u]:
                if allowed is None or row in allowed:
                    out[row] = rank
        return out
