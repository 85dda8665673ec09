"""The tool's one error root.

Every failure a user can act on is a :class:`MoodleRegressError` (or one of its
subclasses, each in the module of its concern): a ``message`` naming the cause and,
where there is one, a ``fix`` saying what to do.  The command line prints it once, as
one line, and exits with status 2 (``-v`` shows the traceback too).  Errors of the
web-service client (:class:`moodle_ws.MoodleError`) are the client's own tree; the
command line treats them alike.
"""

from __future__ import annotations


class MoodleRegressError(Exception):
    """A failure of the tool: ``message`` says what went wrong, ``fix`` what to do."""

    def __init__(self, message: str, fix: str | None = None) -> None:
        self.message = message
        self.fix = fix
        super().__init__(message)

    def __str__(self) -> str:
        return f"{self.message} (fix: {self.fix})" if self.fix else self.message

    def one_line(self) -> str:
        """The message and fix on one line, for the command line's ``error:`` line."""
        return one_line(str(self))


def one_line(text: str) -> str:
    """Several lines joined with " / ", blank ones dropped."""
    return " / ".join(line.strip() for line in text.strip().splitlines() if line.strip())
