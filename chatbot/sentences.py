"""Generated text, checked one sentence at a time as it streams.

``split_sentences`` cuts the model's streamed text into complete sentences; ``SentenceCheck``
holds each one to the sources (``chatbot.grounding.ground``) before it may be shown and records
what it decided, so the final answer is exactly the sentences that were shown; ``join_sentences``
puts shown sentences together the same way during streaming and at the end.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from .grounding import Grounded, citations_in, ground

# Where a streamed sentence ends: . ! ? before white space (not a list number "2." or "e.g."),
# 。！？, or a line end (list items, headings). [n] citations right after the end belong to the
# sentence ("Reset Q1. [3]").
_END = re.compile(r"[.!?](?=\s)|[。！？]|\n")
_NOT_END = re.compile(r"(?:^|\n)\s*\d{1,2}$|\b(?:e\.g|i\.e|z\.B|approx|ca|fig|vs)$", re.I)
_CITES_AFTER = re.compile(r"(?:[ \t]*\[\s*(?:sources?\s*)?\d[\d\s,;–-]*\])+", re.I)
_OPEN_CITE = re.compile(r"\s*(?:\[[^\]]*)?$")  # only white space or an unclosed "[" so far
_LIST_ITEM = re.compile(r"^\s*(?:\d{1,2}[.)]|[-*•])\s+")
_LEAD_IN = re.compile(r":((?:\s*\[[^\]]*\])*\s*)$")  # "Follow these steps:" (and its [n])


def split_sentences(buf: str, final: bool = False) -> tuple[list[str], str]:
    """The complete sentences at the start of streamed text ``buf``, and the rest. Until the
    stream has ended (``final``), a sentence end is complete only once what follows shows that
    no citation belongs to it."""
    text = buf + " " if final else buf
    out: list[str] = []
    pos = 0
    for m in _END.finditer(text):
        if m.start() < pos or (m.group() == "." and _NOT_END.search(text[pos : m.start()])):
            continue
        c = _CITES_AFTER.match(text, m.end())
        end = c.end() if c else m.end()
        if not final and m.group() != "\n" and _OPEN_CITE.fullmatch(text, end):
            break  # a citation may still follow
        if text[pos:end].strip():
            out.append(text[pos:end].strip())
        pos = end
    return out, buf[pos:]


def join_sentences(sentences: Sequence[str]) -> str:
    """Checked sentences as one text: a list item, or what follows a lead-in, on its own line."""
    text = ""
    for s in sentences:
        new_line = _LIST_ITEM.match(s) or _LEAD_IN.search(text)
        text = f"{text}\n{s}" if text and new_line else f"{text} {s}" if text else s
    return text


@dataclass
class SentenceCheck:
    """The grounding check, one complete sentence at a time, and what it decided."""

    texts: list[str]  # the sources the model was given ("" for a flagged one)
    same_language: bool
    min_support: float
    said: str  # the question and the quoted lead shown with it: a sentence made only of these adds nothing
    quote: str = ""  # quote-first: a sentence that mostly repeats the quote is not shown again
    accepted: list[str] = field(default_factory=list)
    held: list[str] = field(default_factory=list)  # lead-ins ("Follow these steps:") waiting for a sentence
    dropped: list[str] = field(default_factory=list)
    removed: set[int] = field(default_factory=set)
    refused: bool = False

    def add(self, sentence: str) -> list[str]:
        """The sentences to show now (none, or a held lead-in with the sentence that passed)."""
        mark = _LIST_ITEM.match(sentence)
        prefix = mark.group(0) if mark else ""
        body = sentence[len(prefix) :]
        lead_in = _LEAD_IN.search(body) is not None
        g = ground(
            _LEAD_IN.sub(r".\1", body) if lead_in else body,  # ground() drops a trailing lead-in
            self.texts,
            same_language=self.same_language,
            min_support=self.min_support,
            already_said="\n".join([self.said, *self.accepted, *self.held]),
        )
        self.removed.update(g.removed_citations)
        self.refused |= g.says_not_covered
        self.dropped.extend(g.dropped)
        if g.empty:
            return []
        text = prefix + (re.sub(r"\.((?:\s*\[\d+\])*\s*)$", r":\1", g.text) if lead_in else g.text)
        if self.quote and _mostly_same(text, self.quote):
            self.dropped.append(sentence)
            return []
        if lead_in:
            self.held.append(text)
            return []
        shown, self.held = [*self.held, text], []
        self.accepted.extend(shown)
        return shown

    def result(self) -> Grounded:
        """The check of the whole answer: exactly the sentences shown, in order."""
        self.dropped.extend(self.held)  # a lead-in that nothing followed
        self.held = []
        cited = sorted({n for s in self.accepted for n in citations_in(s)})
        refused = self.refused and not self.accepted
        return Grounded(join_sentences(self.accepted), cited, self.dropped, sorted(self.removed), refused)


def _mostly_same(a: str, b: str) -> bool:
    wa, wb = set(re.findall(r"\w+", a.lower())), set(re.findall(r"\w+", b.lower()))
    return bool(wa) and len(wa & wb) / len(wa) > 0.8
