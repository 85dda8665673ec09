"""What a preflight finds: checks with a verdict, the plugins' fate, what goes with them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from moodle_regress.errors import MoodleRegressError

Verdict = Literal["ok", "warning", "blocker"]
VERDICTS: tuple[Verdict, ...] = ("ok", "warning", "blocker")

#: What an upgrade does to one plugin of the site or of the target tree.
Fate = Literal[
    "kept",  # same version on both sides
    "upgraded",  # a newer version in the target
    "installed",  # new in the target
    "uninstalled",  # Moodle's own upgrade removes it, with its data
    "dropped",  # a standard plugin Moodle no longer ships (kept as "missing" otherwise)
    "missing",  # the site's plugin has no code in the target: left behind, unusable
    "refused",  # the upgrade cannot go on with it (older code, incompatible...)
]


class PreflightError(MoodleRegressError):
    """The preflight could not run (no site to read, an unreadable tree...)."""


class PreflightBlocked(MoodleRegressError):
    """A preflight check found a blocker: the upgrade would fail or is refused."""

    def __init__(self, report: PreflightReport) -> None:
        self.report = report
        blockers = report.blockers
        first = blockers[0]
        more = f" (and {len(blockers) - 1} more blockers)" if len(blockers) > 1 else ""
        super().__init__(
            f"preflight: {first.title}: {first.cause}{more}",
            (first.fix or "see the preflight table") + "; or pass --force to go on anyway",
        )


@dataclass(frozen=True)
class Check:
    """One finding: its area (environment, direction, plugins), a verdict, why, and what to do."""

    area: str
    title: str
    verdict: Verdict
    cause: str
    fix: str = ""
    #: The plugin it is about (for plugin checks).
    component: str | None = None


@dataclass
class PluginFate:
    """One plugin on either side, and what the upgrade does to it."""

    component: str
    fate: Fate
    site_version: str | None = None
    site_release: str | None = None
    target_version: str | None = None
    target_release: str | None = None
    standard: bool | None = None
    enabled: bool | None = None
    #: What of its data the site holds (settings, activities per course, users...).
    usage: Mapping[str, Any] = field(default_factory=dict)
    #: The plugin type it goes with (subplugins removed with their parent plugin).
    group: str | None = None

    @property
    def removed_activities(self) -> int:
        activities = self.usage.get("activities") or {}
        return sum(int(n) for n in activities.values())


@dataclass(frozen=True)
class Side:
    """One side of the upgrade: where it was read and what it runs."""

    label: str
    release: str
    version: str
    branch: str
    maturity: int | None = None
    #: Where the facts came from: "site" (database), "code" (a tree's version.php).
    source: str = "code"


@dataclass
class PreflightReport:
    source: Side
    target: Side
    checks: list[Check] = field(default_factory=list)
    plugins: list[PluginFate] = field(default_factory=list)
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)

    @property
    def blockers(self) -> list[Check]:
        return [c for c in self.checks if c.verdict == "blocker"]

    @property
    def warnings(self) -> list[Check]:
        return [c for c in self.checks if c.verdict == "warning"]

    @property
    def verdict(self) -> Verdict:
        if self.blockers:
            return "blocker"
        return "warning" if self.warnings else "ok"

    def fates(self, *fates: Fate) -> list[PluginFate]:
        return [p for p in self.plugins if p.fate in fates]

    def summary(self) -> str:
        """One line: the verdict and its counts."""
        removed = self.fates("uninstalled", "dropped", "missing")
        activities = sum(p.removed_activities for p in removed)
        parts = [
            f"{_short(self.source.release) or '?'} -> {_short(self.target.release)}: "
            f"{self.verdict}",
            f"{len(self.blockers)} blockers, {len(self.warnings)} warnings",
            f"{len(removed)} plugins removed or left without code"
            + (f" ({activities} activities go)" if activities else ""),
        ]
        return "; ".join(parts)

    def to_json(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict,
            "summary": self.summary(),
            "source": asdict(self.source),
            "target": asdict(self.target),
            "seconds": round(self.seconds, 2),
            "checks": [asdict(c) for c in self.checks],
            "plugins": [
                {**asdict(p), "usage": dict(p.usage), "removed_activities": p.removed_activities}
                for p in self.plugins
            ],
            "notes": list(self.notes),
        }

    def raise_if_blocked(self) -> None:
        if self.blockers:
            raise PreflightBlocked(self)


def _short(release: str) -> str:
    """ "4.5.6 (Build: 20250811)" -> "4.5.6"."""
    return release.split("(", maxsplit=1)[0].strip()
