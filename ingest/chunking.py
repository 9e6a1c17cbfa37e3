"""Page-local, heading-aware, row-aware chunking sized for the embedding model's window.

Rules (see docs/decisions.md for why):

* A chunk never crosses a page, so every chunk cites exactly one physical page.
* Lines are first grouped into *units*: a table/alarm-list row together with its wrapped
  continuation lines ("9 Homing fail ... Try increasing max" + "travel, decreasing ..."), a
  bullet or numbered step, a DANGER/WARNING/CAUTION note, or a prose paragraph. Units are
  packed whole into chunks, so a fault code is not split from its meaning.
* Headings (PDF outline entries found on the page, Markdown/HTML headings, numbered
  headings) start a new chunk and set the chunk's ``section``.
* The embedded text is ``title | section`` + the chunk text, and the whole of it stays
  within ``chunk_tokens`` model tokens (all-MiniLM-L6-v2 reads 256 and ignores the rest).
* A unit larger than a chunk is split with langchain's RecursiveCharacterTextSplitter
  measured in model tokens. Prose units carry over into the next chunk up to
  ``overlap_tokens``; table rows do not (the section prefix already gives them context).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from core.grammar import CODE, SAFETY_RECORD_START, SPOKEN_CODE
from core.units import find_units
from index.types import Chunk, short_title

from .extract import Extracted, Heading, Page

# c3: record starts from core.grammar; c4: units stored with each chunk (core/units.py);
# c5: table-of-contents entries kept as chunks of their own (role "contents"); c6: bare-number
# rows under a heading naming a code family stay rows after a coded line (core/units.py)
CHUNKER_VERSION = "c7"
CONTENTS_SECTION = "Contents"
CountTokens = Callable[[Sequence[str]], list[int]]

_RECORD_START = re.compile(
    r"""^(?:
        [-•*▪●◦–]\s+                                  # bullet
      | \(?\d{1,3}[.)]\s+                             # numbered step "1." "2)"
      | {safety}                                      # safety notes (core.grammar)
      | (?:{code})\b | {spoken}\b                     # codes (core.grammar): E-107 $32 P9.01 error 22
      | (?-i:[A-Z][A-Z0-9_]*_[A-Z0-9_]+|[A-Z]{3,})(?:\s*[=:(\[]|\s*$)  # INI/HAL keys: HOME_OFFSET = ...
      | \d{1,4}\s+[A-Za-z]                            # table row "9 Homing fail ..."
      | \d{1,4}$                                     # row number alone on its line
    )""".replace("{safety}", SAFETY_RECORD_START)
    .replace("{code}", CODE)
    .replace("{spoken}", SPOKEN_CODE),
    re.X | re.I,
)
_NUMBERED_HEADING = re.compile(r"^(\d{1,2}(?:\.\d{1,2}){0,4})\.?\s+([A-Z][^.!?]{1,80})$")
_MD_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_SENTENCE_END = re.compile(r"[.!?:;]\"?$")
_NORM = re.compile(r"[^a-z0-9]+")


def _norm(s: str) -> str:
    return _NORM.sub("", s.lower())


@dataclass
class _Unit:
    text: str
    tokens: int
    record: bool


class _Packer:
    """Accumulates units of one page into chunks."""

    def __init__(
        self, out: list[Chunk], doc: Extracted, page: Page, source: str, doc_sha: str, overlap: int
    ) -> None:
        self.out, self.doc, self.page, self.source, self.doc_sha, self.overlap = (
            out,
            doc,
            page,
            source,
            doc_sha,
            overlap,
        )
        self.units: list[_Unit] = []
        self.section = ""

    @property
    def size(self) -> int:
        return sum(u.tokens + 1 for u in self.units)

    def flush(self, carry: bool) -> None:
        if not self.units:
            return
        text = "\n".join(u.text for u in self.units).strip()
        if re.search(r"\w", text):
            self.out.append(
                Chunk(
                    source=self.source,
                    title=self.doc.title,
                    page_start=self.page.number,
                    page_end=self.page.number,
                    page_label=self.page.label,
                    section=self.section,
                    text=text,
                    extractor=self.page.extractor,
                    doc_sha=self.doc_sha,
                    ordinal=len(self.out),
                    units=tuple((u.kind, u.start, u.end, u.code) for u in find_units(text, self.section)),
                )
            )
        last = self.units[-1]
        self.units = [last] if carry and not last.record and last.tokens <= self.overlap else []


def embedding_text(chunk: Chunk) -> str:
    """What the model embeds: a short title and the last two heading levels give a bare table
    row its context; kept short because every prefix token costs embedding time."""
    section = " > ".join(chunk.section.split(" > ")[-2:])
    head = " | ".join(x for x in (short_title(chunk.title), section) if x)
    return f"{head}\n{chunk.text}" if head else chunk.text


def _probe(title: str, section: str) -> Chunk:
    """A text-less chunk, to measure the embedding prefix of a section."""
    return Chunk("", title, None, None, None, section, "", "", "", 0)


class _HeadingMatcher:
    """Finds outline headings on their page, or Markdown/numbered headings when there is no outline."""

    def __init__(self, outline: list[Heading], use_numbered: bool) -> None:
        self.by_page: dict[int | None, list[Heading]] = {}
        for h in outline:
            self.by_page.setdefault(h.page, []).append(h)
        self.use_numbered = use_numbered
        self.base_level = min((h.level for h in outline), default=0)

    def match(self, line: str, page: int | None) -> tuple[int, str] | None:
        m = _MD_HEADING.match(line)
        if m:
            return len(m.group(1)), m.group(2).strip()
        key = _norm(line)
        if key and len(line) < 160:
            for h in self.by_page.get(page, ()):
                hk = _norm(h.title)
                if hk and (key == hk or (key.endswith(hk) and len(key) - len(hk) <= 12)):
                    return h.level - self.base_level + 1, line.strip()
        if self.use_numbered:
            m = _NUMBERED_HEADING.match(line)
            if m and len(line.split()) <= (12 if "." in m.group(1) else 6):
                return m.group(1).count(".") + 1, line.strip()
        return None


def _group_units(lines: list[str]) -> list[tuple[str, bool]]:
    """Group lines into (text, is_record) units: rows with their wrapped continuation lines."""
    units: list[tuple[list[str], bool]] = []
    for ln in lines:
        record = _RECORD_START.match(ln) is not None
        if not units:
            units.append(([ln], record))
            continue
        prev_lines, prev_record = units[-1]
        prev = prev_lines[-1]
        starts_new = record or (
            _SENTENCE_END.search(prev) is not None
            and (ln[:1].isupper() or not ln[:1].isalnum())
            and not prev_record
        )
        if starts_new:
            units.append(([ln], record))
        else:
            prev_lines.append(ln)
    return [("\n".join(ls), rec) for ls, rec in units]


def _contents_chunks(
    out: list[Chunk],
    doc: Extracted,
    page: Page,
    source: str,
    doc_sha: str,
    count_tokens: CountTokens,
    chunk_tokens: int,
) -> None:
    """The page's table-of-contents entries, whole lines packed into chunks of their own (role
    "contents"): kept out of ordinary answers, found when a question asks where something is."""
    budget = max(
        48, chunk_tokens - count_tokens([embedding_text(_probe(doc.title, CONTENTS_SECTION))])[0] - 2
    )
    lines = page.contents
    sizes = count_tokens(lines)
    packs: list[list[str]] = [[]]
    used = 0
    for line, n in zip(lines, sizes, strict=True):
        if packs[-1] and used + n + 1 > budget:
            packs.append([])
            used = 0
        packs[-1].append(line)
        used += n + 1
    for pack in packs:
        text = "\n".join(pack)
        out.append(
            Chunk(
                source=source,
                title=doc.title,
                page_start=page.number,
                page_end=page.number,
                page_label=page.label,
                section=CONTENTS_SECTION,
                text=text,
                extractor=page.extractor,
                doc_sha=doc_sha,
                ordinal=len(out),
                units=tuple((u.kind, u.start, u.end, u.code) for u in find_units(text, CONTENTS_SECTION)),
                role="contents",
            )
        )


def _split_large(text: str, budget: int, overlap: int, count: CountTokens) -> list[str]:
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    splitter = RecursiveCharacterTextSplitter(
        chunk_size=budget,
        chunk_overlap=min(overlap, budget // 4),
        length_function=lambda s: count([s])[0],
        separators=["\n", ". ", "; ", ", ", " ", ""],
        keep_separator="end",
    )
    return [p.strip() for p in splitter.split_text(text) if p.strip()]


def chunk_document(
    doc: Extracted,
    source: str,
    doc_sha: str,
    count_tokens: CountTokens,
    chunk_tokens: int = 200,
    overlap_tokens: int = 40,
) -> list[Chunk]:
    matcher = _HeadingMatcher(doc.outline, use_numbered=doc.kind in ("pdf", "text") and not doc.outline)
    out: list[Chunk] = []
    path: list[tuple[int, str]] = []  # current heading path (level, title)
    min_tokens = 24

    # Headings that point to earlier pages set the section a page starts in.
    pending_outline = sorted((h for h in doc.outline if h.page is not None), key=lambda h: h.page or 0)
    oi = 0

    def set_heading(level: int, title: str) -> None:
        while path and path[-1][0] >= level:
            path.pop()
        path.append((level, title))

    def section() -> str:
        return " > ".join(t for _, t in path[-3:])

    for page in doc.pages:
        # outline entries pointing to this page that never match a line still set the section
        # at the page start only if they belong to earlier pages.
        while oi < len(pending_outline) and (pending_outline[oi].page or 0) < (page.number or 0):
            h = pending_outline[oi]
            set_heading(h.level - matcher.base_level + 1, h.title)
            oi += 1
        if page.contents:
            _contents_chunks(out, doc, page, source, doc_sha, count_tokens, chunk_tokens)
        if not page.text.strip():
            continue
        # Split the page into sections at headings, then each section into units.
        blocks: list[tuple[str, list[str]]] = []  # (section, lines)
        lines: list[str] = []
        cur_section = section()
        for ln in page.text.split("\n"):
            found = matcher.match(ln, page.number)
            if found is not None:
                if lines:
                    blocks.append((cur_section, lines))
                    lines = []
                set_heading(*found)
                cur_section = section()
                # keep the heading text in the chunk (operators search for it) without '#'
                ln = _MD_HEADING.sub(r"\2", ln)
            lines.append(ln)
        if lines:
            blocks.append((cur_section, lines))
        # consume this page's outline entries so the next page starts in the right section
        while oi < len(pending_outline) and (pending_outline[oi].page or 0) == (page.number or 0):
            oi += 1

        grouped = [(sec, _group_units(ls)) for sec, ls in blocks]
        flat = [t for _, us in grouped for t, _ in us]
        counts = count_tokens(flat) if flat else []
        prefix_counts = count_tokens([embedding_text(_probe(doc.title, sec)) for sec, _ in grouped])
        ci = 0
        packer = _Packer(out, doc, page, source, doc_sha, overlap_tokens)
        for (sec, units), prefix_tokens in zip(grouped, prefix_counts, strict=True):
            budget = max(48, chunk_tokens - prefix_tokens - 2)
            # A heading starts a new chunk, except right after its parent heading ("4.5 Homing"
            # directly followed by "4.5.1 Overview"): then the small parent text joins the child.
            if packer.size >= min_tokens or not sec.startswith(packer.section):
                packer.flush(carry=False)
            packer.section = sec
            for text, record in units:
                n = counts[ci]
                ci += 1
                pieces = (
                    [(text, n)]
                    if n <= budget
                    else [
                        (p, count_tokens([p])[0])
                        for p in _split_large(text, budget, overlap_tokens, count_tokens)
                    ]
                )
                for ptext, pn in pieces:
                    if packer.units and packer.size + pn + 1 > budget:
                        packer.flush(carry=True)
                        if packer.size + pn + 1 > budget:
                            packer.units = []
                    packer.units.append(_Unit(ptext, pn, record))
        packer.flush(carry=False)
    return out
