"""Every way a sandbox operation can fail, each with its cause and the fix.

All derive from :class:`moodle_regress.errors.MoodleRegressError`: the CLI prints
them as one line and exits with status 2.
"""

from __future__ import annotations

from pathlib import Path

from moodle_regress.errors import MoodleRegressError


class SandboxError(MoodleRegressError):
    """A sandbox operation failed; ``cause`` says why, ``fix`` what to do about it."""

    @property
    def cause(self) -> str:
        return self.message


class PrerequisiteError(SandboxError):
    """PHP, one of its extensions or PostgreSQL is missing or too old."""

    def __init__(self, missing: list[str], fix: str) -> None:
        self.missing = missing
        super().__init__("missing prerequisites: " + "; ".join(missing), fix)


class NotMoodleTreeError(SandboxError):
    """The code directory is not a Moodle code tree."""


class PortInUseError(SandboxError):
    """The port the sandbox needs is taken by another process."""


class SandboxExistsError(SandboxError):
    """``up`` was asked for a name that is already a sandbox."""


class SandboxNotFoundError(SandboxError):
    """No sandbox has that name."""


class InvalidNameError(SandboxError):
    """A sandbox name that cannot be a directory name."""


class DatabaseError(SandboxError):
    """The database cluster or a database command failed."""


class InstallError(SandboxError):
    """Moodle's installer or the test configuration failed."""


class ServerError(SandboxError):
    """The web server did not start or does not answer."""


class DowngradeError(SandboxError):
    """The new code is older than the site: Moodle cannot go back."""


class UpgradePathError(SandboxError):
    """The site is too old for the new code (e.g. 5.x needs 4.2.3 or later)."""


class UpgradeFailedError(SandboxError):
    """Moodle's upgrade failed; ``backup`` is the archive to restore, ``log`` Moodle's
    upgrade output, ``component`` and ``version`` the plugin whose step threw (when
    Moodle logged one), ``moodle_message`` and ``debuginfo`` Moodle's own error."""

    def __init__(
        self,
        cause: str,
        backup: Path,
        *,
        log: Path | None = None,
        component: str | None = None,
        version: str | None = None,
        moodle_message: str | None = None,
        debuginfo: str | None = None,
    ) -> None:
        self.backup = backup
        self.log = log
        self.component = component
        self.version = version
        self.moodle_message = moodle_message
        self.debuginfo = debuginfo
        super().__init__(
            cause,
            f"the site as it was before is in {backup}: "
            f"`moodle-regress sandbox restore NAME {backup}`",
        )


class BackupError(SandboxError):
    """A backup could not be written."""


class RestoreError(SandboxError):
    """An archive could not be restored, or the restored site differs."""


class EngineMismatchError(RestoreError):
    """A backup of one database engine was to go into a sandbox of another, or
    ``--db`` and ``--db-url`` name different engines."""
