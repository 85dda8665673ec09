"""Local Moodle sandboxes: real sites from code trees (see ``manager``)."""

from moodle_regress.sandbox.errors import (
    DowngradeError,
    NotMoodleTreeError,
    PortInUseError,
    PrerequisiteError,
    SandboxError,
    UpgradeFailedError,
    UpgradePathError,
)
from moodle_regress.sandbox.manager import Sandbox, SandboxManager, SandboxStatus

__all__ = [
    "DowngradeError",
    "NotMoodleTreeError",
    "PortInUseError",
    "PrerequisiteError",
    "Sandbox",
    "SandboxError",
    "SandboxManager",
    "SandboxStatus",
    "UpgradeFailedError",
    "UpgradePathError",
]
