"""Shared pieces of the fault catalogue: fake sites, secrets, the command run in-process."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest

from moodle_ws import MoodleError
from tests.reliability.fakesite import Behaviour, FakeSite, reply

#: Secrets of the catalogue's sites.  Neither has the shape of a Moodle token (32 hex
#: characters), so only the tool's own registration of secrets can keep them out of
#: what it prints.
TOKEN = "Tok3n-never-to-be-printed-4711"
PASSWORD = "Adm1n-pass-never-to-be-printed!"
SECRETS = (TOKEN, PASSWORD)


def assert_no_secret(*texts: object) -> None:
    for text in texts:
        for secret in SECRETS:
            assert secret not in str(text), f"a secret was printed: {text!r}"
            # Half a secret is still a leak (pydantic cuts long inputs in two).
            half = len(secret) // 2
            for part in (secret[:half], secret[half:]):
                assert part not in str(text), f"part of a secret: {text!r}"


def assert_typed(error: BaseException, cls: type[BaseException], hint: str) -> None:
    """The exact class, a hint saying the fix, and no secret anywhere in it."""
    assert type(error) is cls, f"{type(error).__name__} is not {cls.__name__}: {error}"
    if isinstance(error, MoodleError):
        assert hint in error.instance_hint, error.instance_hint
    else:
        fix = getattr(error, "fix", None) or getattr(error, "hint", None) or ""
        assert hint in str(fix), fix
    chain: list[object] = []
    cause: BaseException | None = error
    while cause is not None:
        # What a traceback would print: the cause, or the context unless suppressed.
        chain += [str(cause), repr(cause)]
        shown = None if cause.__suppress_context__ else cause.__context__
        cause = cause.__cause__ or shown
    assert_no_secret(*chain)


@pytest.fixture
def make_site() -> Iterator[type[FakeSite]]:
    """``make_site(behaviour)`` starts a fake site; all stop after the test."""
    started: list[FakeSite] = []

    class Started(FakeSite):
        def __init__(self, default: Behaviour | None = None) -> None:
            super().__init__(default or reply(404))
            started.append(self)

    yield Started
    for site in started:
        site.close()


@dataclass
class CliRun:
    code: int
    out: str
    err: str

    @property
    def lines(self) -> list[str]:
        return [line for line in (self.out + self.err).splitlines() if line.strip()]

    def assert_error(self, *fragments: str) -> None:
        """Exit 2, one line saying ``error:``, the fragments in it, no traceback, no secret."""
        text = self.out + self.err
        assert self.code == 2, f"exit {self.code}: {text}"
        assert "Traceback" not in text, text
        errors = [line for line in self.lines if line.startswith("error:")]
        assert len(errors) == 1, f"not one error line: {text!r}"
        # The error is the last word: one line, nothing of it wrapped onto another.
        assert self.err.rstrip("\n").splitlines()[-1] == errors[0], f"not last: {self.err!r}"
        for fragment in fragments:
            assert fragment in errors[0], f"{fragment!r} not in {errors[0]!r}"
        assert_no_secret(text)


RunCli = Callable[..., CliRun]


@pytest.fixture
def run_cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> RunCli:
    """Run ``moodle-regress ARGS`` in this process and return its status and output."""
    from moodle_regress import cli as cli_module

    def run(*args: str) -> CliRun:
        capsys.readouterr()
        monkeypatch.setattr(sys, "argv", ["moodle-regress", *args])
        monkeypatch.setenv("COLUMNS", "300")
        # The console was made at import, its width fixed then: widen it, so that no
        # line of a table wraps (an error line never does: it is printed unwrapped).
        monkeypatch.setattr(cli_module.console, "width", 300)
        code: int
        try:
            cli_module.main()
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        captured = capsys.readouterr()
        return CliRun(code, captured.out, captured.err)

    return run
