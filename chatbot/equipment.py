"""Equipment tags: which indexed manuals belong to a machine.

A document's tags come from ingest (its folder or an ``equipment.toml`` sidecar, ingest/tags.py);
the setting ``retrieval.equipment`` (tag -> file patterns) can add more. An HMI screen passes its
machine's tag; a tag that no manual carries is an error the operator sees, never a silent search
of every manual (a mistyped tag must not answer a mill's screen from another machine's manual).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping

from core.errors import UserError
from index.types import DocumentRecord


class UnknownEquipment(UserError):
    """No indexed manual carries the tag the screen asked for."""

    def __init__(self, tag: str, known: Iterable[str]) -> None:
        names = sorted(known)
        shown = ", ".join(names[:12]) + (" ..." if len(names) > 12 else "") if names else "none"
        super().__init__(
            f"No manual in the library belongs to machine '{tag}', so nothing was searched. "
            f"Machines with manuals: {shown}. Check the screen's link (equipment=...) or ask the admin."
        )
        self.tag = tag


def norm(tag: str) -> str:
    return tag.strip().lower()


def machines(docs: Iterable[DocumentRecord], mapping: Mapping[str, list[str]]) -> dict[str, list[str]]:
    """Every known tag -> the sources of its manuals (tags of the settings included, even when they
    match no manual: those map to an empty list and are reported by /healthz)."""
    docs = list(docs)
    out: dict[str, list[str]] = {}
    for d in docs:
        for t in d.equipment:
            out.setdefault(norm(t), []).append(d.source)
    for tag, patterns in mapping.items():
        got = out.setdefault(norm(tag), [])
        got.extend(
            d.source
            for d in docs
            if d.source not in got and any(fnmatch.fnmatchcase(d.source, p) for p in patterns)
        )
    return {t: sorted(set(s)) for t, s in sorted(out.items())}


def sources_for(tag: str, docs: Iterable[DocumentRecord], mapping: Mapping[str, list[str]]) -> list[str]:
    """The manuals of one machine; UnknownEquipment when none carries the tag."""
    known = machines(docs, mapping)
    got = known.get(norm(tag))
    if not got:
        raise UnknownEquipment(tag, [t for t, s in known.items() if s])
    return got
