"""The library: what the assistant knows, read-only (``/library``, and the Library tab of the full view).

Every indexed manual with its title, equipment tags, pages, how its text was read (pdfium, pypdf,
OCR with its confidence, Office parsers), warnings, when it was indexed and the index version;
searchable by name or tag; any page opens (``/library/doc/{sha256}?page=N``: the page as printed
for a PDF, the indexed text of that page, sheet or slide for everything else). Admin actions
(upload, removal) are not here: they come with admin identity.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from chatbot.equipment import machines
from index.types import Chunk, DocumentRecord

PAGE_CSS = """
body { font-family: system-ui, sans-serif; font-size: 18px; color: #000; margin: 12px; }
a { color: #0b3d91; }
table.library { border-collapse: collapse; width: 100%; }
table.library th, table.library td { border-bottom: 1px solid #999; padding: 8px 6px; text-align: left;
  vertical-align: top; }
table.library th { background: #e8eefc; }
.tag { display: inline-block; background: #0b3d91; color: #fff; border-radius: 4px; padding: 2px 8px; margin: 2px;
  font-weight: 600; }
.warn { color: #8a3b00; font-size: 15px; }
.muted { color: #444; font-size: 15px; }
form.search input[type=search], form.goto input { font-size: 18px; min-height: 44px; padding: 0 8px; }
button, a.button { display: inline-block; min-height: 44px; min-width: 44px; font-size: 18px; font-weight: 600;
  padding: 0 14px; line-height: 44px; border: 2px solid #0b3d91; border-radius: 6px; background: #fff;
  color: #0b3d91; text-decoration: none; }
.page-img { max-width: 100%; border: 1px solid #999; }
.passage { white-space: pre-wrap; font-family: ui-monospace, monospace; font-size: 15px; background: #fafafa;
  border: 1px solid #999; padding: 8px; }
table.rows td, table.rows th { border: 1px solid #999; padding: 4px 8px; }
"""

_READ_BY = {
    "pdfium": "PDF text",
    "pypdf": "PDF text (pypdf)",
    "ocr": "OCR",
    "markdown": "Markdown",
    "html": "HTML",
    "text": "text",
    "docx": "Word",
    "xlsx": "Excel",
    "xls": "Excel (xls)",
    "csv": "CSV",
    "pptx": "PowerPoint",
}


@dataclass(frozen=True)
class Row:
    doc: DocumentRecord
    tags: list[str]

    @property
    def read_by(self) -> str:
        counts = self.doc.extractors
        total = sum(counts.values()) or 1
        parts = []
        for name, n in sorted(counts.items(), key=lambda kv: -kv[1]):
            label = _READ_BY.get(name, name)
            parts.append(label if len(counts) == 1 else f"{label} {100 * n / total:.0f}%")
        if self.doc.ocr_confidence:
            conf = sum(self.doc.ocr_confidence.values()) / len(self.doc.ocr_confidence)
            parts.append(f"OCR confidence {conf:.0f}%")
        return ", ".join(parts)


def rows(
    docs: Iterable[DocumentRecord], mapping: Mapping[str, list[str]], q: str = "", equipment: str = ""
) -> list[Row]:
    """The library's rows, filtered by a search text (title, file name, tag) and/or one tag."""
    docs = list(docs)
    tags_of: dict[str, list[str]] = {}
    for tag, sources in machines(docs, mapping).items():
        for s in sources:
            tags_of.setdefault(s, []).append(tag)
    out = []
    needle = q.strip().lower()
    for d in sorted(docs, key=lambda d: (d.title.lower(), d.source)):
        tags = sorted(tags_of.get(d.source, []))
        if equipment and equipment.strip().lower() not in tags:
            continue
        hay = " ".join([d.title, d.source, *tags]).lower()
        if needle and not all(w in hay for w in needle.split()):
            continue
        out.append(Row(d, tags))
    return out


def doc_url(doc: DocumentRecord, page: int | None = None) -> str:
    return f"/library/doc/{doc.sha256}" + (f"?page={page}" if page else "")


def render_table(found: list[Row], total: int, version: str) -> str:
    """The table of manuals (shared by /library and the Library tab)."""
    head = (
        f'<p class="muted" id="library-count">{len(found)} of {total} manuals · index version '
        f"{html.escape(version)}</p>"
    )
    if not found:
        return head + "<p>No manual matches.</p>"
    trs = []
    for r in found:
        d = r.doc
        tags = (
            "".join(f'<span class="tag">{html.escape(t)}</span>' for t in r.tags)
            or '<span class="muted">-</span>'
        )
        warn = []
        if d.stale:
            warn.append(f"kept from an earlier version: {d.stale}")
        warn += d.warnings[:3]
        if d.pages_without_text:
            warn.append(f"{len(d.pages_without_text)} page(s) without readable text")
        warn_html = "".join(f'<div class="warn">⚠ {html.escape(w)}</div>' for w in warn)
        if d.kind in ("xlsx", "xlsm", "xls", "csv"):
            pages = f"{d.pages} sheet{'s' * (d.pages != 1)}"
        else:
            pages = str(d.pages) if d.kind in ("pdf", "pptx") else "1"
        trs.append(
            "<tr class='doc'>"
            f'<td><a href="{doc_url(d, 1)}" target="_blank" rel="noopener"><b>{html.escape(d.title)}</b></a>'
            f'<div class="muted">{html.escape(d.source)}</div>{warn_html}</td>'
            f"<td>{tags}</td><td>{html.escape(d.kind)}</td><td>{pages}</td>"
            f"<td>{html.escape(r.read_by)}</td><td>{html.escape(d.ingested_at[:16].replace('T', ' '))}</td>"
            f'<td class="muted">{html.escape(d.sha256[:8])}</td></tr>'
        )
    return (
        head + '<table class="library"><thead><tr><th>Manual</th><th>Machine</th><th>Type</th><th>Pages</th>'
        "<th>Read by</th><th>Indexed</th><th>Version</th></tr></thead><tbody>"
        + "".join(trs)
        + "</tbody></table>"
    )


def library_page(found: list[Row], total: int, version: str, q: str, equipment: str, title: str) -> str:
    """The standalone /library page: a search form (no script needed) and the table."""
    form = (
        '<form class="search" method="get" action="/library">'
        f'<input type="search" name="q" value="{html.escape(q)}" placeholder="Search by name or machine" '
        'aria-label="Search manuals"> '
        + (f'<input type="hidden" name="equipment" value="{html.escape(equipment)}">' if equipment else "")
        + '<button type="submit">Search</button></form>'
    )
    return _page(
        f"{title}: library",
        f"<h2>Manuals the assistant knows</h2>{form}{render_table(found, total, version)}",
    )


def document_page(doc: DocumentRecord, chunks: list[Chunk], page: int, has_image: bool) -> str:
    """One page of one manual: the page as printed (PDF) and the indexed text of that page. For a
    spreadsheet, page N is its Nth sheet; for Word, Markdown, text and HTML the whole document."""
    paged = doc.kind in ("pdf", "pptx")
    parts = [""] if paged else list(dict.fromkeys(_part(c) for c in chunks)) or [""]
    last = max(1, doc.pages) if paged else len(parts)
    page = min(max(1, page), last)
    here = (
        [c for c in chunks if c.page_start == page]
        if paged
        else [c for c in chunks if _part(c) == parts[page - 1]]
    )
    nav = []
    if page > 1:
        nav.append(f'<a class="button" href="{doc_url(doc, page - 1)}">‹ Previous</a>')
    nav.append(
        f'<form class="goto" method="get" style="display:inline"> {"Page" if paged else "Part"} '
        f'<input name="page" type="number" min="1" max="{last}" value="{page}" aria-label="Page number" '
        f'style="width:5em"> of {last} <button type="submit">Open</button></form>'
    )
    if page < last:
        nav.append(f'<a class="button" href="{doc_url(doc, page + 1)}">Next ›</a>')
    nav.append(
        f'<a class="button" href="/files/{doc.sha256}{"#page=" + str(page) if doc.kind == "pdf" else ""}" '
        'target="_blank" rel="noopener">Original file</a>'
    )
    nav.append('<a class="button" href="/library">All manuals</a>')
    img = (
        f'<img class="page-img" id="page-image" alt="page {page} as printed" '
        f'src="/library/image/{doc.sha256}/{page}">'
        if has_image
        else ""
    )
    where = parts[page - 1] if not paged else ""
    text = "".join(f'<div class="passage">{render_text(c.text)}</div>' for c in here) or (
        '<p class="muted">No indexed text on this page.</p>'
    )
    body = (
        f"<h2>{html.escape(doc.title)}</h2><p class='muted'>{html.escape(doc.source)}"
        f"{' · ' + html.escape(where) if where else ''}</p><p>{' '.join(nav)}</p>{img}"
        f"<h3>Indexed text</h3>{text}"
    )
    return _page(f"{doc.title}, page {page}", body)


def _part(c: Chunk) -> str:
    """The sheet a spreadsheet chunk comes from ("sheet Lubrication, rows 5-9" -> "sheet Lubrication")."""
    return c.page_label.split(",", 1)[0] if c.page_label and c.page_start is None else ""


def render_text(text: str) -> str:
    """Manual text as formatted HTML: spreadsheet and table rows ("Header: value | ...") as a table."""
    lines = text.split("\n")
    cells = [_cells(ln) for ln in lines]
    if lines and sum(1 for c in cells if c) >= max(1, len(lines) // 2):
        headers: list[str] = []
        for row in cells:
            for h, _ in row or []:
                if h and h not in headers:
                    headers.append(h)
        if headers:
            head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
            body = []
            for ln, row in zip(lines, cells, strict=True):
                if not row:
                    body.append(f'<tr><td colspan="{len(headers)}">{html.escape(ln)}</td></tr>')
                    continue
                got = dict(row)
                body.append(
                    "<tr>" + "".join(f"<td>{html.escape(got.get(h, ''))}</td>" for h in headers) + "</tr>"
                )
            return f'<table class="rows"><tr>{head}</tr>{"".join(body)}</table>'
    return html.escape(text)


def _cells(line: str) -> list[tuple[str, str]] | None:
    """'Row 5: Grease point: 4 | Interval: 50 h' -> [('Row', '5'), ('Grease point', '4'), ...]."""
    if " | " not in line:
        return None
    out: list[tuple[str, str]] = []
    for part in line.lstrip("-• ").split(" | "):
        if ": " in part:
            h, v = part.split(": ", 1)
            if h.startswith("Row ") and h[4:].isdigit():  # "Row 5: Grease point: 4"
                out.append(("Row", h[4:]))
                if ": " in v:
                    h, v = v.split(": ", 1)
                else:
                    out.append(("", v))
                    continue
            out.append((h.strip(), v.strip()))
        else:
            return None
    return out


def _page(title: str, body: str) -> str:
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{html.escape(title)}</title><style>{PAGE_CSS}</style></head><body>{body}</body></html>"
    )
