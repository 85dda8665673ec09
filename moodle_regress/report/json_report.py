"""The comparison as JSON: counts, then differences grouped by area and entity."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from moodle_regress import __version__
from moodle_regress.compare import Comparison
from moodle_regress.files import write_json_atomic

REPORT_FORMAT = "moodle-regress-diff/1"


def comparison_json(comparison: Comparison) -> dict[str, Any]:
    """The JSON report: ``format``, ``tool_version``, then :meth:`Comparison.to_json`."""
    return {"format": REPORT_FORMAT, "tool_version": __version__, **comparison.to_json()}


def write_json_report(comparison: Comparison, path: Path) -> None:
    write_json_atomic(Path(path), comparison_json(comparison))
