"""Operations on rankings (row -> 1-based rank) and on the fused order of candidate rows: fusion,
rows taken out, a page's representative chunk, one passage per page."""

from __future__ import annotations

from collections.abc import Sequence

from index.types import Chunk


def rrf(rankings: dict[str, dict[int, int]], weights: dict[str, float], k: int = 60) -> dict[int, float]:
    """Reciprocal-rank fusion of rankings given as row -> 1-based rank."""
    scores: dict[int, float] = {}
    for name, ranks in rankings.items():
        w = weights.get(name, 1.0)
        if w <= 0:
            continue
        for row, rank in ranks.items():
            scores[row] = scores.get(row, 0.0) + w / (k + rank)
    return scores


def ranked(rows: Sequence[int]) -> dict[int, int]:
    return {r: i for i, r in enumerate(rows, 1)}


def without_rows(ranks: dict[int, int], rows: frozenset[int]) -> dict[int, int]:
    """A ranking without ``rows``, the ranks closed up (rows sharing a rank, as on one page, keep
    sharing it)."""
    kept = {r: k for r, k in ranks.items() if r not in rows}
    closed = {k: i for i, k in enumerate(sorted(set(kept.values())), 1)}
    return {r: closed[k] for r, k in kept.items()}


def code_rows_first(order: Sequence[int], code_rows: dict[int, int], chunks: Sequence[Chunk]) -> list[int]:
    """``order`` with a page's chunk that holds the named code's row ahead of the page's other
    chunks: the page keeps its place, and the chunk shown (and quoted) for it is the one with the
    row (a fault table cut into two chunks puts ALARM:9 in the second)."""

    def page(r: int) -> tuple[str, object]:
        c = chunks[r]
        return c.source, c.page_start if c.page_start is not None else c.section

    row_of: dict[tuple[str, object], int] = {}
    for r in sorted(code_rows, key=lambda x: code_rows[x]):
        row_of.setdefault(page(r), r)
    out: list[int] = []
    placed: set[int] = set()
    for r in order:
        if r in placed:
            continue
        cr = row_of.get(page(r))
        if cr is not None and cr not in placed and r not in code_rows:
            out.append(cr)
            placed.add(cr)
        out.append(r)
        placed.add(r)
    return out


def one_per_page(order: Sequence[int], chunks: Sequence[Chunk], k: int) -> list[int]:
    """``order`` with its first ``k`` rows on different pages where it has that many pages: a page's
    second chunk waits behind the best chunk of every other page. Five passages from three pages show
    the operator three places; from five pages, five."""
    seen: set[tuple[str, object]] = set()
    head: list[int] = []
    rest: list[int] = []
    for r in order:
        c = chunks[r]
        key = (c.source, c.page_start if c.page_start is not None else c.section)
        if key in seen or len(head) >= k:
            rest.append(r)
        else:
            seen.add(key)
            head.append(r)
    return head + rest
