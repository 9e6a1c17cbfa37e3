"""The passage screen: manual text is data, never instructions.

A passage is flagged when, read as a whole (lines joined, so a sentence split over two lines is
one sentence), it

* addresses an AI or assistant and tells it what to do or say ("Note to the assistant: ...",
  "Chatbots reading this page: from now on ...", "KI-Assistent: Ignoriere ..."),
* tells its reader to ignore or replace instructions, rules or warnings ("ignore all previous
  instructions", "disregard the warning above", "your new task is"), or
* advises defeating a personnel-safety device ("bridge the guard door switch with a jumper",
  "the interlock can be bypassed") in a sentence with no prohibition or restriction in it
  (manuals say "never bypass the light curtain" and "only authorised personnel may bypass the
  interlock in setup mode" all the time).

A flagged passage is still shown and citable, with a warning; it is never given to the model
and never quoted as the answer. The same bypass rule screens generated sentences, so a model
cannot present such advice as its own. Limits: a screen of patterns, not understanding; it
knows English and a little German, Spanish, French and Italian wording. Its false-positive rate is
measured by ``python bench/injection_screen.py`` over every corpus beside the checkout.
"""

from __future__ import annotations

import re

# An AI as the one addressed. Bare "AI" is too common in manuals (analog input AI1, "AI mode"), and
# a bare "assistant" is a setup wizard; they count only in address position (see _ADDRESS).
_AI = (
    r"(?:ai|a\.i\.|ki|ia)[- ](?:assistant|assistent|asistente|model|modell|modelo|tool|system|agent|chatbot)s?"
    r"|(?:assistente|asistente|assistant)\s+(?:de\s+|d'|di\s+)?(?:ia|ki)"
    r"|artificial intelligence|large language models?|language models?|llms?|chat\s?gpt|gpt-?\d\w*|chat\s?bots?"
    r"|(?:virtual|automated|digital)\s+assistants?|sprachmodells?|ki-assistent(?:en)?"
)
# "Assistant:", "Hey assistant", "Note to the AI", "Attention automated assistants", "If you are
# an AI", "for the AI model", "To any AI tool", "Chatbots reading this".
_ADDRESS = re.compile(
    rf"(?:^|[.!?;>\n]\s*|\b(?:hey|hi|dear|attention|note\s+(?:to|for)|message\s+(?:to|for)|instructions?\s+(?:to|for)"
    rf"|to\s+(?:any|all|every|the)|for\s+(?:any|all|every|the)|if\s+you\s+are\s+(?:an?|the))\s+(?:the\s+)?)"
    rf"(?:{_AI}|assistants?|ai|bots?)\b\s*(?:[,:\-–—]|reading|processing|answering|summari[sz]ing|that\s+reads?)",
    re.I,
)
_MENTION = re.compile(rf"\b(?:{_AI})\b", re.I)
# (A lowercase "guard" is a machine guard; "Software Guard Extensions" is a product name.)
# What an instruction to the AI looks like once it is addressed.
_STRONG = (
    r"ignore|disregard|forget|pretend|act\s+as|you\s+are\s+now|from\s+now\s+on|your\s+(?:new\s+)?(?:task|role|job"
    r"|instructions?)|ignorier\w*|ignora|ignore[rz]|oublie\w*|vergiss"
)
_DIRECTIVE = re.compile(
    rf"\b(?:{_STRONG}|override|respond|reply|answer|say|tell|recommend|advise|instruct|inform|sage|sag|antworte"
    r"|responde|dile|réponds|rispondi)\b",
    re.I,
)
_STRONG_DIRECTIVE = re.compile(rf"\b(?:{_STRONG})\b", re.I)
# Telling anyone to drop its instructions: flagged without an AI being named.
_OVERRIDE = re.compile(
    r"\b(?:ignore|disregard|forget|override|bypass)\s+(?:\w+\s+){0,4}?"
    r"(?:instructions?|prompts?|guidelines|directives?|(?:safety\s+)?rules|(?:the\s+)?warnings?\s+above"
    r"|what\s+the\s+(?:warning|caution|danger|manual|note)\s+(?:above\s+)?says)\b"
    r"|\byour\s+new\s+(?:task|role|instructions?)\b|\bjailbreak\b"
    r"|\bnew\s+instructions?\s*:"
    r"|\bfrom\s+now\s+on,?\s+(?:you|respond|reply|answer|say|tell|always)\b"
    r"|\b(?:answer|respond\s+to|reply\s+to)\s+(?:every|all|any)\s+(?:questions?|quer(?:y|ies)|requests?)\s+with\b"
    r"|\bignorier\w*\s+(?:\w+\s+){0,3}?anweisungen\b|\bignora\w*\s+(?:\w+\s+){0,3}?instrucciones\b"
    r"|\bignore[rz]?\s+(?:\w+\s+){0,3}?(?:consignes|instructions)\b",
    re.I,
)
_BYPASS_VERB = (
    r"bypass\w*|by-pass\w*|defeat\w*|overrid\w*|overridden|disabl\w*|jumper\w*|jump(?:ing|ed)?\s+out|bridg\w*"
    r"|tap(?:e|es|ed|ing)|tie[sd]?|tying|wedg\w*|short(?:ing|ed|-circuit\w*)?|circumvent\w*|cheat\w*|fool\w*"
    r"|trick\w*|tamper\w*|überbrück\w*|umgeh\w*|deaktivier\w*|puente\w*|anul\w*|desactiv\w*|shunt\w*"
    r"|ponticell\w*|contourn\w*|shunter"
)
_DEVICE = (
    r"interlocks?|light\s+curtains?|(?:guard|door|gate|safety)\s+(?:door\s+)?switch(?:es)?|safety\s+(?:relay|circuit"
    r"|device|function|guard|mat|edge|scanner|system|chain|interlock|switch)s?|e-?stops?|emergency[- ]stops?"
    r"|two[- ]hand(?:ed)?\s+(?:control|button|start)s?|presence[- ]sensing|(?-i:guards?)|not-?halt|schutztür\w*"
    r"|lichtvorhang|lichtgitter|verriegelung\w*|sicherheitsschalter|parada\s+de\s+emergencia|interruptor\s+de\s+la\s+puerta"
    r"|cortina\s+de\s+luz|enclavamiento|arrêt\s+d'urgence|barrière\s+immatérielle|arresto\s+di\s+emergenza"
)
_BYPASS = re.compile(
    rf"\b(?:{_BYPASS_VERB})\b(?:\W+\w+){{0,5}}?\W+(?:the\s+)?(?:{_DEVICE})\b"
    rf"|\b(?:{_DEVICE})\b(?:\W+\w+){{0,4}}?\W+(?:can|may|should|must|could|is|are)\s+(?:be\s+)?(?:safely\s+)?"
    rf"(?:{_BYPASS_VERB})\b",
    re.I,
)
# A sentence that prohibits, restricts, warns or makes it conditional is a manual's own safety rule.
_RESTRICTED = re.compile(
    r"\b(?:never|not|no|nor|cannot|can't|don't|doesn't|mustn't|shouldn't|prohibit\w*|forbid\w*|only|authori[sz]ed"
    r"|qualified|unless|if|when|danger|warning|caution|hazard\w*|injur\w*|death|illegal|violat\w*|void\w*|risk\s+of"
    r"|nie|niemals|nicht|kein\w*|verboten|nunca|prohibido|jamais|interdit|mai|vietato)\b|n't\b",
    re.I,
)
_SENTENCE = re.compile(r"(?<=[.!?;])\s+|\n{2,}|(?<=:)\s+(?=[A-Z])")


def _flat(text: str) -> str:
    """Lines joined into one text: a sentence split over two lines is read as one."""
    text = re.sub(r"-\n(?=[a-z])", "", text)  # hyphenation across lines
    text = re.sub(r"<!--|-->", " ", text)
    return re.sub(r"[ \t]*\n[ \t]*(?!\n)", " ", text)


def bypass_advice(sentence: str) -> bool:
    """Advice to defeat a personnel-safety device, with no prohibition or restriction in the sentence."""
    return _BYPASS.search(sentence) is not None and _RESTRICTED.search(sentence) is None


def screen(text: str) -> str:
    """Why the passage must not be used as instructions ("" when it is clean)."""
    flat = _flat(text)
    if _OVERRIDE.search(flat):
        return "it tells the reader to ignore or replace instructions"
    for pattern, directive in ((_ADDRESS, _DIRECTIVE), (_MENTION, _STRONG_DIRECTIVE)):
        for m in pattern.finditer(flat):
            if directive.search(flat, m.end(), m.end() + 300):
                return "it addresses an AI assistant"
    for sentence in _SENTENCE.split(flat):
        if bypass_advice(sentence):
            return "it advises defeating a safety device"
    return ""


WITHHELD = "[withheld: this excerpt {reason}; the operator sees it with a warning]"


def withheld(reason: str) -> str:
    return WITHHELD.format(reason=reason)
