"""One ``Query`` per question, computed once and passed along: retrieval, the abstain decision,
the quote, the prompt and the answer language all read it instead of re-analysing the text."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from core.grammar import codes_in

from . import language as langmod

_QUOTED = re.compile(
    r"[\"“”„«»「」『』]([^\"“”„«»「」『』]{3,120})[\"“”„«»「」『』]|(?<!\w)'([^']{3,120})'(?!\w)"
)
_WS = re.compile(r"\s+")
_PRONOUN = re.compile(
    r"\b(it|its|that|this|these|those|them|they|there|same|es|das|dies|ello|eso|esto|ça|cela|le|la)\b", re.I
)


def quoted_phrases(text: str) -> list[str]:
    """Text the operator quoted or pasted in quotes ("Min temp", 'could not claim interface 0')."""
    out = []
    for m in _QUOTED.finditer(text):
        phrase = _WS.sub(" ", (m.group(1) or m.group(2) or "").strip().lower())
        if len(phrase) >= 3 and re.search(r"\w", phrase):
            out.append(phrase)
    return out


def standalone_question(question: str, history: Sequence[tuple[str, str]]) -> str:
    """Make a follow-up ("and how do I reset it?") retrievable on its own.

    Without a capable model the previous question is prepended when the new one is short or
    refers back with a pronoun; the fault codes and identifiers of the conversation carry over.
    """
    if not history:
        return question
    prev_q = history[-1][0]
    short = len(question.split()) <= 8
    refers = _PRONOUN.search(question) is not None or question.strip().lower().startswith(
        ("and ", "what about", "und ", "y ", "et ")
    )
    if short or refers:
        return f"{prev_q} {question}"
    return question


@dataclass(frozen=True)
class Query:
    question: str  # as the operator asked it
    standalone: str  # what is searched and answered: the question with what the conversation established
    lang: str  # the language the question is written in
    answer_lang: str  # the language of the answer (the HMI may set it; else the question's)
    codes: tuple[str, ...]  # fault codes, parameters, identifiers it names (lower case)
    phrases: tuple[str, ...]  # text it quotes (a pasted error message), lower case
    equipment: str | None = None  # the machine tag the question is limited to
    english: str = ""  # an English rendering (a served model translates non-English questions)

    @classmethod
    def parse(
        cls,
        question: str,
        history: Sequence[tuple[str, str]] = (),
        equipment: str | None = None,
        lang: str | None = None,
    ) -> Query:
        standalone = standalone_question(question, history)
        asked_in = langmod.detect(question)
        return cls(
            question=question,
            standalone=standalone,
            lang=asked_in,
            answer_lang=lang or asked_in,
            codes=tuple(codes_in(standalone)),
            phrases=tuple(quoted_phrases(standalone)),
            equipment=equipment,
        )

    @property
    def search_text(self) -> str:
        """What retrieval matches: the standalone question, and its English rendering if any."""
        return f"{self.standalone}\n{self.english}" if self.english else self.standalone

    def with_english(self, english: str) -> Query:
        return replace(self, english=english)
