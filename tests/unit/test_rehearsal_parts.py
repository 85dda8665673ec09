"""The rehearsal's parts without a Moodle: a stage that fails skips the rest and says
why, the restore is skipped without a backup, the summary file is written; suite
results are read from pytest's own JUnit report (of a real pytest run)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from rich.console import Console

from moodle_regress.rehearsal import RehearsalOptions, print_summary, rehearse
from moodle_regress.rehearsal.suites import SuiteRun, count_junit
from moodle_regress.rehearsal.upgrade import clean_up
from moodle_regress.sandbox.errors import NotMoodleTreeError, SandboxError
from tests.unit.sandbox_fakes import make_tree


class RefusingManager:
    """Stands in for the sandbox manager: refuses the code tree, as the real one does."""

    def up(self, name: str, code_dir: Path, **_: Any) -> Any:
        raise NotMoodleTreeError(f"{code_dir} is not a Moodle code tree", "give one")


def test_a_failed_stage_skips_the_rest_and_the_restore(tmp_path: Path) -> None:
    console = Console(file=open(tmp_path / "console.txt", "w"), width=200)  # noqa: SIM115
    options = RehearsalOptions(code_from=tmp_path, code_to=tmp_path, out=tmp_path / "out")
    result = rehearse(options, manager=RefusingManager(), console=console, live=False)  # type: ignore[arg-type]
    statuses = {s.name: s.status for s in result.stages}
    # The preflight reads the code trees first: it is the stage that fails.
    assert statuses == {
        "preflight": "failed",
        "up": "skipped",
        "seed": "skipped",
        "observe_a": "skipped",
        "upgrade": "skipped",
        "adhoc": "skipped",
        "schema": "skipped",
        "observe_b": "skipped",
        "report": "skipped",
        "restore": "skipped",
    }
    assert result.exit_code == 2
    assert result.error is not None and "is not a Moodle code tree" in result.error
    saved = json.loads((tmp_path / "out" / "rehearsal.json").read_text())
    assert saved["exit_code"] == 2 and saved["stages"][-1]["detail"] == "no backup was taken"
    print_summary(result, console)
    console.file.close()
    text = (tmp_path / "console.txt").read_text()
    assert "0. preflight: will the upgrade work?: failed" in text
    assert "error:" in text and "everything:" in text


def test_suite_counts_come_from_junit(tmp_path: Path) -> None:
    (tmp_path / "test_x.py").write_text(
        "import pytest\n"
        "def test_a(): pass\n"
        "def test_b(): pass\n"
        "def test_c(): assert False\n"
        "@pytest.mark.skip\n"
        "def test_d(): pass\n"
    )
    junit = tmp_path / "junit.xml"
    subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={junit}"],
        cwd=tmp_path,
        capture_output=True,
        check=False,
    )
    run = SuiteRun(suite="api", label="A", exit_code=1)
    count_junit(junit, run)
    assert (run.passed, run.failed, run.skipped, run.errors) == (2, 1, 1, 0)
    assert run.summary == "api A: 2 passed, 1 failed, 1 skipped, 0 errors"


class TakenNameManager:
    """Stands in for the sandbox manager when the rehearsal's name is in use: ``up``
    refuses, as the real one does; ``destroy`` is recorded."""

    def __init__(self, sandboxes: Path) -> None:
        self.sandboxes = sandboxes
        self.destroyed: list[str] = []

    def sandbox(self, name: str) -> Any:
        manager, root = self, self.sandboxes / name

        class Box:
            def __init__(self) -> None:
                self.root = root

            def exists(self) -> bool:
                return root.is_dir()

            def destroy(self) -> None:
                manager.destroyed.append(name)

        return Box()

    def up(self, name: str, code_dir: Path, **_: Any) -> Any:
        raise SandboxError(f"a sandbox named {name!r} already exists", "remove it first")


def test_cleanup_leaves_a_sandbox_the_rehearsal_did_not_make(tmp_path: Path) -> None:
    # `rehearse --name X --cleanup` with a sandbox X from an earlier run: stage 1
    # refused the name, and the clean-up then destroyed that other run's sandbox.
    old = make_tree(tmp_path / "4.5")
    new = make_tree(
        tmp_path / "5.0",
        version="2025041400.00",
        release="5.0 (Build: 1)",
        branch="500",
        requires="4.2.3",
    )
    manager = TakenNameManager(tmp_path / "sandboxes")
    (tmp_path / "sandboxes" / "taken").mkdir(parents=True)
    options = RehearsalOptions(
        code_from=old, code_to=new, out=tmp_path / "out", name="taken", cleanup=True, force=True
    )
    console = Console(file=open(tmp_path / "console.txt", "w"), width=200)  # noqa: SIM115
    with console.file:
        result = rehearse(options, manager=manager, console=console, live=False)  # type: ignore[arg-type]
    assert {s.name: s.status for s in result.stages}["up"] == "failed"
    assert result.exit_code == 2
    assert manager.destroyed == []


def test_cleanup_keeps_the_backup_under_a_name_that_says_what_it_is(tmp_path: Path) -> None:
    # It was kept as "backup-A.1.3-20261201T080346.tar.zst" (the release's dots taken
    # for suffixes), which says neither the release nor the archive's kind.
    backup = tmp_path / "box" / "backups" / "before-5.1.3-20261201T080346.tar.zst"
    backup.parent.mkdir(parents=True)
    backup.write_bytes(b"archive")
    kept = clean_up(TakenNameManager(tmp_path / "sandboxes"), [], backup, tmp_path)  # type: ignore[arg-type]
    assert kept == tmp_path / "backup-A-5.1.3-20261201T080346.tar.zst"
    assert kept.read_bytes() == b"archive" and not backup.exists()
