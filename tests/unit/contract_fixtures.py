"""Snapshots of the web-service contract recorded from real 4.5.6 and 5.0.6+ sandboxes
(excerpts: tests/fixtures/contract/, recorded by tests/record_contract.py)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

from moodle_regress.compare import Comparison, compare
from moodle_regress.observe.contract import contract_observations
from moodle_regress.sandbox.codetree import CodeTree
from moodle_regress.snapshot import Snapshot, SnapshotMeta

FIXTURES = Path(__file__).parents[1] / "fixtures"
CONTRACT = FIXTURES / "contract"
NOTES_50 = FIXTURES / "notes" / "moodle-5.0.6+"


def answer(release: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((CONTRACT / f"{release}.json").read_text())
    return data


def contract_snapshot(release: str) -> Snapshot:
    data = answer(release)
    return Snapshot(
        SnapshotMeta(release=data["release"]), contract_observations(data, data["release"])
    )


def comparison_45_50() -> Comparison:
    return compare(contract_snapshot("4.5.6"), contract_snapshot("5.0.6+"))


def notes_tree_50() -> CodeTree:
    return CodeTree(NOTES_50, NOTES_50, "classic", Decimal(1), "5.0.6+ (Build: 20260403)", "500")
