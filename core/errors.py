"""Two error tiers.

`UserError` (and subclasses) carry a message that is safe to show to an operator or an
admin as is: it names the file, the setting or the service and says what to do. The CLI
prints it as one line, the UI turns it into a `gr.Error`. Anything else is a bug: it is
logged with its traceback.
"""

from __future__ import annotations


class UserError(Exception):
    """An error whose message is meant for the operator or admin (no traceback needed)."""


class ModelLoadError(UserError):
    """An embedding or language model could not be loaded."""


class FileProblem(UserError):
    """One input file could not be ingested; the message names the file and the problem."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem
