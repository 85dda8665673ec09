"""Choosing the browser for the visual (browser) suites, without launching one."""

from __future__ import annotations

from pathlib import Path

import pytest

from moodle_regress.browser import launch
from moodle_regress.browser.launch import BrowserNotFoundError, chromium_flags, select_browser


def test_no_sandbox_flag_only_as_root() -> None:
    assert "--no-sandbox" in chromium_flags(is_root=True)
    assert "--no-sandbox" not in chromium_flags(is_root=False)
    for flag in ("--disable-gpu", "--disable-background-networking", "--disable-sync"):
        assert flag in chromium_flags(is_root=False)


def fake_chromium(tmp_path: Path) -> Path:
    exe = tmp_path / "chromium"
    exe.write_text("#!/bin/sh\n")
    exe.chmod(0o755)
    return exe


def test_auto_falls_back_to_the_system_chromium(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    exe = fake_chromium(tmp_path)
    monkeypatch.setenv(launch.SYSTEM_CHROMIUM_ENV, str(exe))
    monkeypatch.setattr(launch, "find_playwright_chromium", lambda playwright=None: None)
    choice = select_browser("auto", is_root=False)
    assert choice.kind == "system"
    assert choice.launch_options()["executable_path"] == str(exe)
    assert "channel" not in choice.launch_options()


def test_auto_prefers_playwrights_own_chromium(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    exe = fake_chromium(tmp_path)
    monkeypatch.setattr(launch, "find_playwright_chromium", lambda playwright=None: exe)
    choice = select_browser(None, is_root=True)
    assert choice.kind == "playwright"
    options = choice.launch_options(headless=True)
    assert "executable_path" not in options
    assert options["channel"] == "chromium"
    assert "--no-sandbox" in options["args"]


def test_playwright_choice_without_its_browser_says_how_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(launch, "find_playwright_chromium", lambda playwright=None: None)
    with pytest.raises(BrowserNotFoundError, match="playwright install chromium"):
        select_browser("playwright")


def test_system_choice_without_chromium_says_what_to_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(launch.SYSTEM_CHROMIUM_ENV, str(tmp_path / "absent"))
    with pytest.raises(BrowserNotFoundError, match="apt-get install chromium"):
        select_browser("system")


def test_unknown_choice_is_refused_with_the_valid_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(launch.BROWSER_ENV, raising=False)
    with pytest.raises(BrowserNotFoundError, match="auto, system, playwright"):
        select_browser("firefox")
