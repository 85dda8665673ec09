"""The sandbox's commands (tar, cp) fail as the sandbox's typed errors, with the
command's own message and a fix, in one line."""

from __future__ import annotations

from pathlib import Path

import pytest

from moodle_regress.sandbox.errors import RestoreError
from moodle_regress.sandbox.processes import run_command


def test_a_failing_command_raises_the_given_error_with_its_message(tmp_path: Path) -> None:
    archive = tmp_path / "missing.tar"
    with pytest.raises(RestoreError) as caught:
        run_command(
            ["tar", "-xf", str(archive), "-C", str(tmp_path)],
            error=RestoreError,
            what=f"unpacking {archive}",
            fix="check the file and free disk space",
        )
    message = caught.value.message
    assert message.startswith(f"unpacking {archive} failed: tar: {archive}")
    assert "Cannot open" in message
    assert caught.value.fix == "check the file and free disk space"


def test_only_the_end_of_a_long_message_is_kept(tmp_path: Path) -> None:
    noisy = "import sys; sys.stderr.write('x' * 5000 + ' the cause'); sys.exit(3)"
    with pytest.raises(RestoreError) as caught:
        run_command(["python3", "-c", noisy], error=RestoreError, what="a step", fix="retry")
    assert caught.value.message.endswith(" the cause")
    assert len(caught.value.message) < 400


def test_a_command_that_succeeds_raises_nothing(tmp_path: Path) -> None:
    run_command(["tar", "-cf", str(tmp_path / "a.tar"), "-C", str(tmp_path), "."],
                error=RestoreError, what="packing", fix="-")  # fmt: skip
    assert (tmp_path / "a.tar").is_file()
