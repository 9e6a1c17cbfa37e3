"""Numbers and units of measure in manual text and generated sentences: "40 N·m" is not "40 bar",
"15 minutes" not "15 seconds", a step's own number ("4.") is no quantity, and "every 500 h" is an
interval (used by the grounding check, ``chatbot/support.py``)."""

from __future__ import annotations

import re
from collections.abc import Iterable

_NUMBER = re.compile(r"(?<![\w.])[-+]?\d+(?:[.,]\d+)?(?!\d)")  # "1.25Gb/s" holds 1.25
# a number with its unit of measure: "40 N·m", "15 minutes", "65 °C", "0.5 s", "28 MPa", "80 l/min"
_MEASURE = re.compile(
    r"(?<![\w.])(\d+(?:[.,]\d+)?)[\s-]?((?:%|°\s?[CF]|[^\W\d_]+(?:[·./][^\W\d_]+)?)(?:\s[^\W\d_]+(?:/[^\W\d_]+)?)?)",
    re.UNICODE,
)
# spellings of each unit of measure, by its canonical name
_UNIT_SPELLINGS: dict[str, list[str]] = {
    "s": ["s", "sec", "secs", "second", "seconds", "sekunden", "sekunde"],
    "min": ["min", "mins", "minute", "minutes", "minuten"],
    "h": ["h", "hr", "hrs", "hour", "hours", "stunden", "stunde", "betriebsstunden"],
    "ms": ["ms"],
    "mm": ["mm"],
    "cm": ["cm"],
    "m": ["m"],
    "km": ["km"],
    "µm": ["µm", "μm", "um"],
    "N·m": ["nm", "n·m", "n.m", "n m", "n-m"],
    "bar": ["bar"],
    "MPa": ["mpa"],
    "kPa": ["kpa"],
    "Pa": ["pa"],
    "psi": ["psi"],
    "A": ["a"],
    "mA": ["ma"],
    "V": ["v"],
    "kV": ["kv"],
    "W": ["w"],
    "kW": ["kw"],
    "kVA": ["kva"],
    "Hz": ["hz"],
    "°C": ["°c", "° c"],
    "°F": ["°f"],
    "%": ["%", "prozent", "percent"],
    "l": ["l", "liter", "litre", "litres", "liters"],
    "l/min": ["l/min"],
    "kg": ["kg"],
    "g": ["g"],
    "t": ["t"],
    "kN": ["kn"],
    "N": ["n"],
    "rpm": ["rpm"],
    "dB": ["db"],
    "m/s": ["m/s"],
    "mm/s": ["mm/s"],
    "kg/m": ["kg/m"],
    "ml": ["ml"],
    "kHz": ["khz"],
    "MHz": ["mhz"],
    "mV": ["mv"],
    "l/h": ["l/h"],
    "‰": ["promille", "‰"],
    "mW": ["mw"],
    "mbar": ["mbar"],
    "d": ["day", "days", "tage", "tagen", "tag"],
    "wk": ["week", "weeks", "wochen", "woche"],
    "mo": ["month", "months", "monate", "monaten", "monat"],
    "y": ["year", "years", "jahre", "jahren", "jahr"],
    "shift": ["shift", "shifts"],
    "stroke": ["strokes", "stroke"],
    "cycle": ["cycles", "cycle"],
}
_UNITS = {spelling: unit for unit, spellings in _UNIT_SPELLINGS.items() for spelling in spellings}


_FREQUENCY = {
    "d": re.compile(r"\b(?:daily|every day|each day|once a day|täglich|jeden tag)\b", re.I),
    "wk": re.compile(r"\b(?:weekly|every week|each week|once a week|wöchentlich|jede woche)\b", re.I),
    "mo": re.compile(r"\b(?:monthly|every month|each month|once a month|monatlich|jeden monat)\b", re.I),
    "y": re.compile(r"\b(?:yearly|annually|every year|each year|once a year|jährlich|jedes jahr)\b", re.I),
    "shift": re.compile(r"\b(?:every shift|each shift|per shift|jede schicht)\b", re.I),
}
_EVERY = re.compile(r"\b(?:every|each|alle|tous les|cada|ogni)\s+(\d+(?:[.,]\d+)?\s?\S+(?:\s\S+)?)", re.I)


def intervals(text: str) -> set[str]:
    """How often something is done: "weekly" -> {"wk"}, "every 500 h" -> {"500 h"}."""
    out = {k for k, pat in _FREQUENCY.items() if pat.search(text)}
    for m in _EVERY.finditer(text):
        out |= {f"{n} {u}" for n, u in measures(m.group(1))}
    return out


_ENUMERATOR = re.compile(
    r"^\s*\d{1,2}[.)](?=\s|$)", re.M
)  # "4. Set the speed …": a step's number, not a quantity


def numbers(text: str) -> set[str]:
    return {n.replace(",", ".").lstrip("+") for n in _NUMBER.findall(_ENUMERATOR.sub(" ", text))}


def measures(text: str) -> set[tuple[str, str]]:
    """(number, unit) pairs with a known unit of measure."""
    out: set[tuple[str, str]] = set()
    for m in _MEASURE.finditer(text):
        words = re.sub(r"\s+", " ", m.group(2).lower()).split(" ")
        # "15 minutes", "40 N·m", "500 operating hours" (one word between the number and its unit)
        unit = (
            _UNITS.get(" ".join(words))
            or _UNITS.get(words[0])
            or (_UNITS.get(words[1]) if len(words) > 1 and len(words[1]) > 1 else None)
        )
        if unit:
            out.add((m.group(1).replace(",", "."), unit))
    return out


def spellings(units: Iterable[str]) -> list[str]:
    """Every spelling of the given canonical units ("min" -> min, mins, minute, minutes, minuten)."""
    return [sp for u in units for sp in _UNIT_SPELLINGS.get(u, [])]
