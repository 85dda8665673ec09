"""Choosing and launching the browser.

Two Chromium builds can serve: the distribution's (``/usr/bin/chromium`` on Debian),
driven through Playwright's ``executable_path``, or the one ``playwright install``
downloads.  ``auto`` prefers Playwright's own when it is installed (it matches the
driver's protocol exactly) and falls back to the system one.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, get_args

from moodle_regress.errors import MoodleRegressError

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Playwright

BrowserChoice = Literal["auto", "system", "playwright"]
CHOICES: tuple[str, ...] = get_args(BrowserChoice)
BROWSER_ENV = "MOODLE_REGRESS_BROWSER"
SYSTEM_CHROMIUM_ENV = "MOODLE_REGRESS_CHROMIUM"

#: Where distributions put Chromium, in order of preference.
SYSTEM_CANDIDATES: tuple[str, ...] = (
    "/usr/bin/chromium",
    "/usr/bin/chromium-browser",
    "/usr/bin/google-chrome",
    "/usr/bin/google-chrome-stable",
)

# Flags for a quiet, headless, reproducible browser: no GPU (none in CI, and GPU
# rasterisation changes pixels), no background traffic or updates mid-run.
BASE_FLAGS: tuple[str, ...] = (
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


class BrowserNotFoundError(MoodleRegressError):
    """No usable browser for the requested choice."""


@dataclass(frozen=True)
class BrowserSelection:
    """The browser a run uses: which build, and how to launch it."""

    kind: Literal["system", "playwright"]
    executable_path: Path | None
    args: tuple[str, ...] = field(default_factory=tuple)

    def launch_options(self, *, headless: bool = True) -> dict[str, Any]:
        options: dict[str, Any] = {"headless": headless, "args": list(self.args)}
        if self.executable_path is not None:
            options["executable_path"] = str(self.executable_path)
        else:
            # The full Chromium build (what ``executable_path`` names), also when
            # headless, rather than the separate headless shell.
            options["channel"] = "chromium"
        return options

    def describe(self) -> str:
        where = self.executable_path or "Playwright's bundled Chromium"
        return f"{self.kind} chromium ({where})"


def chromium_flags(*, is_root: bool | None = None) -> tuple[str, ...]:
    """Launch flags; ``--no-sandbox`` only as root, where Chromium's sandbox cannot run."""
    if is_root is None:
        is_root = hasattr(os, "geteuid") and os.geteuid() == 0
    return (*BASE_FLAGS, "--no-sandbox") if is_root else BASE_FLAGS


def find_system_chromium() -> Path | None:
    """The system's Chromium: ``MOODLE_REGRESS_CHROMIUM``, then the usual paths, then PATH."""
    explicit = os.environ.get(SYSTEM_CHROMIUM_ENV)
    if explicit:
        path = Path(explicit).expanduser()
        return path if _is_executable(path) else None
    for candidate in SYSTEM_CANDIDATES:
        if _is_executable(Path(candidate)):
            return Path(candidate)
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return Path(found)
    return None


def find_playwright_chromium(playwright: Playwright | None = None) -> Path | None:
    """Playwright's own Chromium when ``playwright install chromium`` has put it there."""
    try:
        if playwright is not None:
            raw = playwright.chromium.executable_path
        else:
            from playwright.sync_api import sync_playwright

            with sync_playwright() as pw:
                raw = pw.chromium.executable_path
    except Exception:  # the driver may not know a path at all: treat as not installed
        return None
    path = Path(raw)
    return path if _is_executable(path) else None


def select_browser(
    choice: str | None = None,
    *,
    playwright: Playwright | None = None,
    is_root: bool | None = None,
) -> BrowserSelection:
    """Resolve ``auto|system|playwright`` (default: ``MOODLE_REGRESS_BROWSER`` or auto)."""
    choice = (choice or os.environ.get(BROWSER_ENV) or "auto").strip().lower()
    if choice not in CHOICES:
        raise BrowserNotFoundError(
            f"unknown browser choice {choice!r}: use one of {', '.join(CHOICES)} "
            f"(option --moodle-browser or {BROWSER_ENV})"
        )
    flags = chromium_flags(is_root=is_root)
    if choice in ("auto", "playwright"):
        bundled = find_playwright_chromium(playwright)
        if bundled is not None:
            # Playwright knows where its own build lives: no executable_path needed.
            return BrowserSelection("playwright", None, flags)
        if choice == "playwright":
            raise BrowserNotFoundError(
                "Playwright's Chromium is not installed: run `.venv/bin/playwright install "
                "chromium`, or use --moodle-browser=system for the distribution's Chromium"
            )
    system = find_system_chromium()
    if system is None:
        raise BrowserNotFoundError(
            "no Chromium found: install the distribution's (`apt-get install chromium`), "
            f"point {SYSTEM_CHROMIUM_ENV} at one, or run `.venv/bin/playwright install chromium`"
        )
    return BrowserSelection("system", system, flags)


def launch(playwright: Playwright, choice: str | None = None, *, headless: bool = True) -> Browser:
    """Launch Chromium as :func:`select_browser` chooses."""
    selection = select_browser(choice, playwright=playwright)
    return playwright.chromium.launch(**selection.launch_options(headless=headless))


def _is_executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)
