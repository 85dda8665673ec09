"""Signing in through Moodle's login form, once per role and per worker.

Logging in through the form is what a person does, and it exercises the login page
itself; the signed-in state (cookies) is then saved with Playwright's storage state
and reused by every later test of that role in the same worker.  Each pytest-xdist
worker keeps its own files, so workers never share (or race on) a Moodle session.
"""

from __future__ import annotations

import os
import re
import threading
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from moodle_regress.browser.waits import DEFAULT_TIMEOUT_MS, guard_against_tours, settle
from moodle_regress.errors import MoodleRegressError
from moodle_ws.redaction import register_secret

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

LOGIN_PATH = "login/index.php"


class LoginError(MoodleRegressError):
    """Moodle refused the sign-in or the login form was not where expected."""


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str = field(repr=False)

    def __post_init__(self) -> None:
        register_secret(self.password)


class LoginRetriedWarning(UserWarning):
    """Moodle refused a sign-in once and accepted it on the next try."""


#: Tries of the login form before a refusal counts: a busy page can lose what was
#: typed (Moodle then logged a failed login, wrong password, for a session signed in
#: a moment before and after with the same password); a wrong password fails both.
LOGIN_ATTEMPTS = 2


def login(
    page: Page, base_url: str, credentials: Credentials, *, timeout_ms: float = DEFAULT_TIMEOUT_MS
) -> None:
    """Sign in through ``login/index.php`` and check Moodle let us in."""
    refusals: list[str] = []
    while len(refusals) < LOGIN_ATTEMPTS:
        refusal = _submit_login_form(page, base_url, credentials, timeout_ms=timeout_ms)
        if not refusal:
            if refusals:
                warnings.warn(
                    LoginRetriedWarning(
                        f"Moodle refused {credentials.username!r} at {base_url} "
                        f"({'; '.join(refusals)}), then let them in"
                    ),
                    stacklevel=2,
                )
            return
        refusals.append(refusal)
    raise LoginError(
        f"Moodle refused {credentials.username!r} at {base_url} {LOGIN_ATTEMPTS} times: "
        f"{refusals[-1]} (check the user exists with that password and is not suspended)"
    )


def _submit_login_form(
    page: Page, base_url: str, credentials: Credentials, *, timeout_ms: float
) -> str:
    """One try of the login form: "" once signed in, else what Moodle said."""
    from moodle_regress.browser.waits import goto

    goto(page, f"{base_url.rstrip('/')}/{LOGIN_PATH}", timeout_ms=timeout_ms)
    form_user = page.locator("#username")
    if form_user.count() == 0:
        if _signed_in(page):
            return ""  # a stored session already: nothing to do
        raise LoginError(
            f"no login form at {page.url}: is this a Moodle site, and is the standard "
            "login form (auth manual) enabled?"
        )
    form_password = page.locator("#password")
    form_user.fill(credentials.username)
    form_password.fill(credentials.password)
    if (form_user.input_value(), form_password.input_value()) != (
        credentials.username,
        credentials.password,
    ):
        return "the form did not keep what was typed"
    page.locator("#loginbtn").click()
    page.wait_for_load_state("load", timeout=timeout_ms)
    settle(page, timeout_ms=timeout_ms)
    if _signed_in(page):
        return ""
    error = page.locator("#loginerrormessage, .loginerrors, .alert-danger").first
    return error.inner_text().strip() if error.count() else "no message shown"


def _signed_in(page: Page) -> bool:
    classes = page.locator("body").get_attribute("class") or ""
    return "notloggedin" not in classes.split() and LOGIN_PATH not in page.url


class StorageStates:
    """One saved sign-in per role for this worker, made on first use and reused after."""

    def __init__(self, directory: Path, base_url: str, *, worker: str = "main") -> None:
        self.directory = directory
        self.base_url = base_url.rstrip("/")
        self.worker = worker
        self._lock = threading.Lock()

    def path_for(self, role: str) -> Path:
        safe = re.sub(r"[^A-Za-z0-9_.-]", "_", role)
        return self.directory / f"{self.worker}-{safe}.json"

    def get(self, browser: Browser, role: str, credentials: Credentials) -> Path:
        """The storage-state file for ``role``, signing in the first time."""
        path = self.path_for(role)
        with self._lock:
            if path.is_file():
                return path
            self.directory.mkdir(parents=True, exist_ok=True)
            context = browser.new_context()
            try:
                guard_against_tours(context)
                page = context.new_page()
                login(page, self.base_url, credentials)
                # Write under a temporary name and rename: a half-written state
                # would sign later tests in as nobody.
                tmp = path.with_suffix(".tmp")
                context.storage_state(path=tmp)
                os.chmod(tmp, 0o600)  # session cookies are as good as a password
                tmp.replace(path)
            finally:
                context.close()
            return path

    def forget(self, role: str) -> None:
        """Drop a role's saved sign-in (after Moodle ended that session)."""
        self.path_for(role).unlink(missing_ok=True)

    def context_args(self, browser: Browser, role: str, credentials: Credentials) -> dict[str, Any]:
        return {"storage_state": str(self.get(browser, role, credentials))}
