"""Extraction of Markdown, HTML and plain-text files: one page each, in the line format the chunker reads."""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import ClassVar

from core.errors import FileProblem

from .extracted import SPACES, Extracted, Page


def _read_text(path: Path) -> tuple[str, list[str]]:
    data = path.read_bytes()
    if not data.strip():
        raise FileProblem(str(path), "empty file" if not data else "file holds only whitespace")
    if b"\x00" in data[:4096]:
        raise FileProblem(str(path), "binary data in a text file")
    try:
        return data.decode("utf-8-sig"), []
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace"), ["not UTF-8; read as Windows-1252"]


_MD_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")


def extract_markdown(path: Path) -> Extracted:
    text, warnings = _read_text(path)
    lines = [ln.rstrip() for ln in text.replace("\r\n", "\n").split("\n")]
    title = next((m.group(2) for ln in lines if (m := _MD_HEADING.match(ln))), "") or path.stem
    body = "\n".join(ln for ln in lines if ln.strip())
    return Extracted("markdown", title, [Page(None, body, "markdown")], [], [], warnings)


def extract_text(path: Path) -> Extracted:
    text, warnings = _read_text(path)
    lines = [SPACES.sub(" ", ln).strip() for ln in text.replace("\r\n", "\n").split("\n")]
    body = "\n".join(ln for ln in lines if ln)
    return Extracted("text", re.sub(r"_+", " ", path.stem), [Page(None, body, "text")], [], [], warnings)


class _HTMLToText(HTMLParser):
    """HTML to the line format the chunker reads: headings as '#' lines, table rows as 'a | b'."""

    BLOCK: ClassVar[set[str]] = {
        "p",
        "div",
        "section",
        "article",
        "br",
        "li",
        "tr",
        "pre",
        "blockquote",
        "dt",
        "dd",
        "table",
        "ul",
        "ol",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "footer",
        "main",
    }
    SKIP: ClassVar[set[str]] = {"script", "style", "nav", "noscript", "template", "head"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self.cur: list[str] = []
        self.cells: list[str] | None = None
        self.skip = 0
        self.title = ""
        self._in_title = False
        self.heading_level = 0

    def _flush(self) -> None:
        text = SPACES.sub(" ", "".join(self.cur)).strip()
        self.cur = []
        if not text:
            return
        if self.cells is not None:
            self.cells.append(text)
            return
        if self.heading_level:
            text = "#" * self.heading_level + " " + text
        self.lines.append(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "title":
            self._in_title = True
        if tag in self.SKIP:
            self.skip += 1
            return
        if tag in ("td", "th"):
            self._flush()
            return
        if tag in self.BLOCK:
            self._flush()
        if tag == "tr":
            self.cells = []
        if tag == "li":
            self.cur.append("- ")
        if re.fullmatch(r"h[1-6]", tag):
            self.heading_level = int(tag[1])

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        if tag in self.SKIP:
            self.skip = max(0, self.skip - 1)
            return
        if tag in ("td", "th"):
            self._flush()
            return
        if tag == "tr" and self.cells is not None:
            self._flush()
            row = " | ".join(self.cells)
            self.cells = None
            if row:
                self.lines.append(row)
            return
        if tag in self.BLOCK:
            self._flush()
        if re.fullmatch(r"h[1-6]", tag):
            self.heading_level = 0

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data
        if not self.skip:
            self.cur.append(data)


def extract_html(path: Path) -> Extracted:
    text, warnings = _read_text(path)
    parser = _HTMLToText()
    try:
        parser.feed(text)
        parser.close()
    except Exception as exc:
        raise FileProblem(str(path), f"unparseable HTML ({exc})") from exc
    parser._flush()
    body = "\n".join(parser.lines)
    if not body.strip():
        raise FileProblem(str(path), "HTML page without visible text")
    title = html.unescape(parser.title.strip()) or next(
        (ln.lstrip("# ") for ln in parser.lines if ln.startswith("#")), path.stem
    )
    return Extracted("html", title, [Page(None, body, "html")], [], [], warnings)
