"""One ``Query`` per question, computed once and passed along: retrieval, the abstain decision,
the quote, the prompt and the answer language all read it instead of re-analysing the text."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from core import language as langmod
from core.grammar import asks_where, codes_in

_QUOTED = re.compile(
    r"[\"“”„«»「」『』]([^\"“”„«»「」『』]{3,120})[\"“”„«»「」『』]|(?<!\w)'([^']{3,120})'(?!\w)"
)
_WS = re.compile(r"\s+")
# Words that point back at what the conversation established ("how do I reset it?", "und das?").
_REFERS = re.compile(
    r"\b(it|its|that|this|these|those|them|they|there|same|one|es|das|dies|diese[nrs]?|dieser|ihn|ello|eso|esto|"
    r"este|esta|lo|ça|cela|ce|le|la|lui|questo|quello|lo|isso|isto|este|esse)\b|它|这个|那个|该",
    re.I,
)
_CONTINUES = re.compile(
    r"^\s*(and|also|what about|how about|und|auch|und was|y|también|y qué|et|aussi|et pour|e|anche|e per|"
    r"e quanto|e o|também|还有|那)\b",
    re.I,
)
# Words that carry no topic of their own in a follow-up, in the languages operators ask in.
_FILLER = frozenset(
    """a an and also are as at be can could do does for from how i if in is it its me my of on or please should
    so tell that the then there these this those to what when where which who why will with would you your
    about again one same them they
    und auch der die das den dem des ein eine einen ist sind wie was wo wann warum ich es wir man mit zu von
    bitte kann muss soll dies diese dieser dazu damit denn noch mal
    y el la los las un una es son como qué que donde cuando por para con de del lo eso esto este esta también
    et le les un une est sont comment quoi que où quand pour avec de du ce ça cela aussi
    e il lo gli le un una è sono come cosa che dove quando per con di del questo quello anche
    o os as um uma é são como que onde quando para com de do da isso isto este esta também""".split()  # noqa: SIM905
)
_WORD = re.compile(r"[^\W\d_][\w'-]*|\d[\w.:-]*", re.UNICODE)
_CJK_CHAR = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
_CJK_FILLER = re.compile(
    r"怎么|怎样|如何|什么|为什么|哪里|吗|呢|吧|的|了|是|我|要|该|这|那|它|个|请|还有|和|也"
)


@dataclass(frozen=True)
class Turn:
    """One earlier turn of the conversation and what it established: the codes it was about and
    the topic of the passage that answered it (document and section). Never its wording."""

    question: str
    answer: str = ""
    codes: tuple[str, ...] = ()
    topic: str = ""  # "HP-200 Hydraulic Press · 6 Fault codes": where the answer came from
    terms: tuple[str, ...] = ()  # the subject words it was about ("grease", "pulley", "bearings")

    @classmethod
    def of(cls, item: Turn | tuple[str, str]) -> Turn:
        if isinstance(item, Turn):
            return item
        question, answer = item
        return cls(question, answer, tuple(codes_in(question)), "", subject_terms(question))


def subject_terms(text: str, limit: int = 8) -> tuple[str, ...]:
    """The words of a question that name its subject (fillers, back-references and codes left out):
    what a follow-up inherits, instead of the question's wording."""
    codes = set(codes_in(text))
    out: list[str] = []
    for w in _WORD.findall(text):
        lw = w.lower()
        if (
            lw in _FILLER
            or _REFERS.fullmatch(lw)
            or lw in codes
            or (len(lw) < 3 and not _CJK_CHAR.search(lw))
        ):
            continue
        if lw not in (o.lower() for o in out):
            out.append(w)
    return tuple(out[-limit:])


def quoted_phrases(text: str) -> list[str]:
    """Text the operator quoted or pasted in quotes ("Min temp", 'could not claim interface 0')."""
    out = []
    for m in _QUOTED.finditer(text):
        phrase = _WS.sub(" ", (m.group(1) or m.group(2) or "").strip().lower())
        if len(phrase) >= 3 and re.search(r"\w", phrase):
            out.append(phrase)
    return out


def _own_words(question: str) -> int:
    """Words of the question's own topic (fillers and back-references left out); CJK counts two
    characters as one word."""
    words = [w for w in _WORD.findall(question.lower()) if w not in _FILLER and not _REFERS.fullmatch(w)]
    cjk = len(_CJK_CHAR.findall(_CJK_FILLER.sub("", question)))
    return len([w for w in words if not _CJK_CHAR.search(w)]) + cjk // 2


def is_follow_up(question: str) -> bool:
    """A question that leans on the conversation: it refers back ("reset it", "and E-112?"... without
    naming its own code) or continues ("and the pressure?") with at most a few words of its own."""
    own = _own_words(question)
    leans = _REFERS.search(question) is not None or _CONTINUES.search(question) is not None
    return (leans and own <= 3) or own <= 1


def _with_context(question: str, history: Sequence[Turn | tuple[str, str]]) -> str:
    """The question with what the conversation established: the most recent codes, the topic of the
    last answer and the last turn's subject words (never the previous question's wording)."""
    turns = [Turn.of(h) for h in history]
    codes = next((t.codes for t in reversed(turns) if t.codes), ())
    last = turns[-1]
    context = [c.upper() for c in codes[:3]] + ([last.topic] if last.topic else [])
    context += [w for w in last.terms if w.lower() not in " ".join(context).lower()]
    return f"{question} ({', '.join(context)})" if context else question


def standalone_question(question: str, history: Sequence[Turn | tuple[str, str]]) -> str:
    """What a question means in its conversation, as searchable text.

    A question that names its own code stands alone ("and what about E-112?" after E-107 is about
    E-112), and so does one with a topic of its own ("How tight should the conveyor belt be and how
    do I adjust it?" after a press alarm). A follow-up ("how do I reset it?") gets what the
    conversation established (``_with_context``), never the previous question itself (its words
    would pull retrieval back to the old topic).
    """
    if not history or codes_in(question) or not is_follow_up(question):
        return question
    return _with_context(question, history)


def in_context(question: str, history: Sequence[Turn | tuple[str, str]]) -> str:
    """For a short question that stands alone in a conversation ("what clamp pressure after closing
    the clamps?"): the same question with the conversation's context, searched beside it and fused
    (it may be about the same machine, or a new topic; retrieval decides). "" otherwise."""
    if not history or codes_in(question) or is_follow_up(question) or _own_words(question) > SHORT_WORDS:
        return ""
    alt = _with_context(question, history)
    return alt if alt != question else ""


SHORT_WORDS = 5  # a stand-alone question with at most this many words of its own is also searched in context


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
    in_context: str = ""  # a short stand-alone question with the conversation's context (searched too)
    where: bool = False  # asks where something is in the manual: the table of contents answers it

    @classmethod
    def parse(
        cls,
        question: str,
        history: Sequence[Turn | tuple[str, str]] = (),
        equipment: str | None = None,
        lang: str | None = None,
    ) -> Query:
        standalone = standalone_question(question, history)
        alternative = in_context(question, history)
        asked_in = langmod.detect(question)
        return cls(
            question=question,
            standalone=standalone,
            lang=asked_in,
            answer_lang=lang or asked_in,
            codes=tuple(codes_in(standalone)),
            phrases=tuple(quoted_phrases(standalone)),
            equipment=equipment,
            in_context=alternative,
            where=asks_where(standalone),
        )

    @property
    def search_text(self) -> str:
        """What retrieval matches: the standalone question, and its English rendering if any."""
        return f"{self.standalone}\n{self.english}" if self.english else self.standalone

    def with_english(self, english: str) -> Query:
        return replace(self, english=english)
