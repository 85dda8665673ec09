"""Secrets in files the tool reads: no error about such a file prints them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from moodle_regress.site import SiteError, resolve_site
from tests.reliability.conftest import PASSWORD, TOKEN, RunCli, assert_no_secret, assert_typed

GOOD: dict[str, Any] = {
    "name": "staging",
    "url": "http://127.0.0.1:9",
    "token": TOKEN,
    "admin_username": "admin",
    "admin_password": PASSWORD,
}


def _descriptor(tmp_path: Path, **changes: Any) -> Path:
    data = {k: v for k, v in GOOD.items() if k not in changes}
    data.update({k: v for k, v in changes.items() if v is not None})
    path = tmp_path / "site.json"
    path.write_text(json.dumps(data))
    return path


BROKEN = {
    # A misspelt key: the token is missing, and pydantic would echo the whole input.
    "token misspelt": {"token": None, "tokn": TOKEN},
    "password misspelt": {"admin_password": None, "admin_pasword": PASSWORD, "url": None},
    "url of a wrong type": {"url": 5},
    "test_site of a wrong type": {"test_site": "perhaps"},
    "password of a wrong type": {"admin_password": [PASSWORD]},
    "token of a wrong type": {"token": {"value": TOKEN}},
}


@pytest.mark.parametrize("changes", BROKEN.values(), ids=BROKEN.keys())
def test_a_broken_descriptor_names_the_field_not_the_secrets(
    tmp_path: Path, changes: dict[str, Any]
) -> None:
    with pytest.raises(SiteError) as caught:
        resolve_site(str(_descriptor(tmp_path, **changes)))
    assert_typed(caught.value, SiteError, "")
    assert "is not a site descriptor" in str(caught.value)


def test_a_descriptor_that_is_not_json_does_not_echo_it(tmp_path: Path) -> None:
    path = tmp_path / "site.json"
    path.write_text(json.dumps(GOOD)[:-1] + ', "test_site": tru}')
    with pytest.raises(SiteError) as caught:
        resolve_site(str(path))
    assert_typed(caught.value, SiteError, "")
    assert "not JSON" in str(caught.value)


def test_the_command_line_prints_one_line_without_secrets(tmp_path: Path, run_cli: RunCli) -> None:
    path = _descriptor(tmp_path, token=None, tokn=TOKEN)
    run = run_cli("snapshot", "--site", str(path), "--out", str(tmp_path / "snap.json"))
    run.assert_error("is not a site descriptor", "token")
    assert not (tmp_path / "snap.json").exists()
    assert_no_secret(run.out, run.err)


def test_a_damaged_sandbox_state_does_not_print_its_passwords(
    tmp_path: Path, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MOODLE_REGRESS_HOME", str(tmp_path))
    folder = tmp_path / "sandboxes" / "demo"
    folder.mkdir(parents=True)
    # A state whose database settings lost their port; the passwords are still in it.
    state = {
        "name": "demo",
        "admin_password": PASSWORD,
        "db": {"engine": "postgres", "host": "127.0.0.1", "password": TOKEN, "name": "m"},
    }
    (folder / "sandbox.json").write_text(json.dumps(state))
    run = run_cli("sandbox", "status", "demo")
    run.assert_error("sandbox.json is damaged", "sandbox destroy demo")
