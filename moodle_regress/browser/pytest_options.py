"""Command-line options of the browser suites.

The general plugin registers them (pytest loads no conftest before parsing the
command line of ``pytest --pyargs moodle_regress.suites.browser``, so options from
the suites' conftest would be refused); the suites' conftest registers them too,
for runs with ``-p no:moodle_regress``.  Registering twice is harmless.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest

from moodle_regress.browser.launch import CHOICES
from moodle_regress.browser.visual import DEFAULT_THRESHOLD, DEFAULT_TOLERANCE

DEFAULT_OUT = "moodle-browser-results"


def add_options(parser: pytest.Parser) -> None:
    """Register the browser options unless they already are."""
    with contextlib.suppress(ValueError):  # "option names ... already added"
        _add_options(parser)


def _add_options(parser: pytest.Parser) -> None:
    group = parser.getgroup("moodle-regress browser")
    group.addoption(
        "--moodle-browser",
        choices=CHOICES,
        default=None,
        help="which Chromium: auto (Playwright's own if installed, else the system's), "
        "system (e.g. /usr/bin/chromium) or playwright; default MOODLE_REGRESS_BROWSER or auto",
    )
    group.addoption(
        "--moodle-browser-out",
        default=DEFAULT_OUT,
        help="folder for the browser snapshot, screenshots and differences "
        f"(default {DEFAULT_OUT})",
    )
    group.addoption(
        "--moodle-browser-baseline",
        default=None,
        help="a browser snapshot from an earlier run (its snapshot.json or folder) to compare with",
    )
    group.addoption(
        "--moodle-visual-threshold",
        type=float,
        default=DEFAULT_THRESHOLD,
        help=f"share of changed pixels that counts as a visual difference "
        f"(default {DEFAULT_THRESHOLD})",
    )
    group.addoption(
        "--moodle-visual-tolerance",
        type=int,
        default=DEFAULT_TOLERANCE,
        help=f"per-channel difference (0-255) below which a pixel is unchanged "
        f"(default {DEFAULT_TOLERANCE})",
    )


def output_dir(config: pytest.Config) -> Path:
    return Path(str(config.getoption("moodle_browser_out"))).absolute()


def baseline_path(config: pytest.Config) -> Path | None:
    """The baseline snapshot file, from this option or the general plugin's, if given."""
    value = config.getoption("moodle_browser_baseline", default=None) or config.getoption(
        "moodle_baseline", default=None
    )
    if not value:
        return None
    path = Path(str(value)).expanduser()
    if path.is_dir():
        path = path / "snapshot.json"
    if not path.is_file():
        raise pytest.UsageError(
            f"--moodle-browser-baseline: no browser snapshot at {path}; give the "
            "snapshot.json (or its folder) written by an earlier run's --moodle-browser-out"
        )
    return path
