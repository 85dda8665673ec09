"""How the rehearsal starts a suite: a child pytest in the suite's output folder."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from moodle_regress.rehearsal.suites import SuiteOptions, run_suite


def test_relative_paths_reach_the_suite_as_absolute_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `rehearse --plan plans/mine.yaml --out run`: the suite runs in run/A, where a
    # relative plan named nothing (every seeded-site test errored "no such file").
    monkeypatch.chdir(tmp_path)
    (tmp_path / "plans").mkdir()
    (tmp_path / "plans" / "mine.yaml").write_text("tag: mine\n")
    seen: dict[str, Any] = {}

    def fake_run(args: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        seen["args"], seen["cwd"] = args, kwargs["cwd"]
        return subprocess.CompletedProcess(args, 0)

    monkeypatch.setattr(subprocess, "run", fake_run)
    run_suite(
        "api",
        "site.json",
        Path("run") / "A",
        label="A",
        options=SuiteOptions(
            plan=Path("plans/mine.yaml"),
            seed=0,
            workers=1,
            expected=Path("expected.yaml"),
            allure_dir=Path("run/allure-results"),
        ),
        baseline=Path("run/A-baseline.json"),
    )
    options = dict(a.split("=", 1) for a in seen["args"] if a.startswith("--") and "=" in a)
    assert Path(seen["cwd"]) == tmp_path / "run" / "A"
    assert Path(options["--moodle-plan"]) == tmp_path / "plans" / "mine.yaml"
    assert Path(options["--moodle-plan"]).is_file()
    for option in ("--junitxml", "--alluredir", "--moodle-record", "--moodle-baseline"):
        assert Path(options[option]).is_absolute(), option
    assert Path(options["--moodle-expected"]) == tmp_path / "expected.yaml"
