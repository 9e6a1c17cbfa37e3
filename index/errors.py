"""Errors of the on-disk index (operator/admin-safe messages: see core.errors)."""

from __future__ import annotations

from core.errors import UserError


class IndexMissingError(UserError):
    """No index has been built at the configured path yet."""


class IndexMismatchError(UserError):
    """The index was built with a different embedding model or chunker than configured."""


class IndexLockedError(UserError):
    """Another process is writing the index."""


class IndexCorruptError(UserError):
    """The index files are unreadable or inconsistent."""
