"""The pytest plugin (entry point ``pytest11``): options and fixtures for suites."""

from __future__ import annotations

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("moodle-regress")
    group.addoption(
        "--moodle-site",
        default=None,
        help="site to test: a descriptor file, a sandbox name, a configured site or a URL",
    )
