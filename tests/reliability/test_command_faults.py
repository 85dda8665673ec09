"""Faults met by whole commands: a broken or refusing site, a full disk.

Each case: exit status 2, one ``error:`` line naming the cause, no secret printed,
and nothing half-written left where the output was to go.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from moodle_regress.observation import Observation
from moodle_regress.snapshot import Snapshot, SnapshotMeta
from tests.reliability.conftest import TOKEN, RunCli
from tests.reliability.fakesite import (
    Behaviour,
    FakeSite,
    drop,
    echo,
    recorded,
    refused_url,
    reply,
    truncated,
)

SITE_INFO = "core_webservice_get_site_info"


@pytest.fixture(autouse=True)
def _own_state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOODLE_REGRESS_HOME", str(tmp_path / "home"))
    config = tmp_path / "config.toml"
    config.write_text("")
    monkeypatch.setenv("MOODLE_REGRESS_CONFIG", str(config))


def _descriptor(tmp_path: Path, url: str) -> str:
    path = tmp_path / "site.json"
    path.write_text(json.dumps({"name": "fake", "url": url, "token": TOKEN}))
    return str(path)


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


# What a site answers to every call, and what the error line must say.
SITE_FAULTS: dict[str, tuple[Behaviour, str]] = {
    "bad token": (recorded("4.5", "errors", "error_invalid_token"), "invalidtoken"),
    "web services off": (
        recorded("4.5", "errors", "error_webservices_disabled"),
        "Enable web services",
    ),
    "REST off": (recorded("4.5", "errors", "error_rest_disabled"), "HTTP 403"),
    "maintenance": (recorded("4.5", "errors", "error_maintenance"), "maintenance mode"),
    "HTML page": (reply(200, "<!DOCTYPE html><html><body>Hi</body></html>"), "an HTML page"),
    "empty answer": (reply(200, b""), "empty body"),
    "redirect": (reply(302, b"", Location="https://elsewhere.example.org/"), "elsewhere"),
    "proxy error": (reply(502, "<html>Bad gateway</html>"), "php-fpm"),
    "error page quoting the token": (echo(500), "HTTP 500"),
    "dropped": (drop(), "cannot reach"),
    "cut short": (truncated(b'{"sitename": "x', declared=900), "was cut off"),
}


@pytest.mark.parametrize(("behaviour", "fragment"), SITE_FAULTS.values(), ids=SITE_FAULTS.keys())
def test_snapshot_of_a_failing_site(
    tmp_path: Path,
    run_cli: RunCli,
    make_site: type[FakeSite],
    behaviour: Behaviour,
    fragment: str,
) -> None:
    site = make_site(behaviour)
    out = tmp_path / "out"
    out.mkdir()
    run = run_cli(
        "snapshot", "--site", _descriptor(tmp_path, site.url), "--out", str(out / "s.json")
    )
    run.assert_error(fragment)
    assert _leftovers(out) == []


def test_functions_missing_from_the_service_are_noted_not_fatal(
    tmp_path: Path, run_cli: RunCli, make_site: type[FakeSite]
) -> None:
    # The site answers who it is, then refuses every other function as Moodle 4.5
    # does for one missing from the token's service: the snapshot holds what could
    # be seen and names each function left out.
    site = make_site(recorded("4.5", "errors", "error_function_not_in_service"))
    site.on_function(SITE_INFO, recorded("4.5", "typed", "site_info"))
    out = tmp_path / "out"
    out.mkdir()
    run = run_cli(
        "snapshot", "--site", _descriptor(tmp_path, site.url), "--out", str(out / "s.json")
    )
    assert run.code == 0, run.err
    for function in ("core_course_get_courses", "core_user_get_users"):
        assert f"note: {function} unavailable (AccessDeniedError)" in run.err
    saved = Snapshot.load(out / "s.json")
    assert saved.meta.notes and len(saved) > 0
    assert _leftovers(out) == ["s.json"]


def test_snapshot_of_a_refused_port(tmp_path: Path, run_cli: RunCli) -> None:
    out = tmp_path / "out"
    out.mkdir()
    run = run_cli(
        "snapshot", "--site", _descriptor(tmp_path, refused_url()), "--out", str(out / "s.json")
    )
    run.assert_error("cannot reach", "refused")
    assert _leftovers(out) == []


def test_seed_against_a_bad_token_writes_nothing(
    tmp_path: Path, run_cli: RunCli, make_site: type[FakeSite]
) -> None:
    site = make_site(recorded("4.5", "errors", "error_invalid_token"))
    run = run_cli("seed", "--site", _descriptor(tmp_path, site.url), "--plan", "small")
    run.assert_error("invalidtoken", "create a new one")
    assert not [f for f in site.functions_called() if "create" in f or "enrol_users" in f]


# --- a full disk ---------------------------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 64 KiB tmpfs (root only): writing more than that fails with ENOSPC."""
    mount = tmp_path / "small"
    mount.mkdir()
    if os.geteuid() != 0:
        pytest.skip("a small tmpfs needs root (mount)")
    made = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
        check=False,
    )
    if made.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {made.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=False)


def test_diff_report_onto_a_full_disk(tmp_path: Path, run_cli: RunCli, small_disk: Path) -> None:
    meta = SnapshotMeta(site_name="s", site_url="http://127.0.0.1:1", release="4.5.6")
    big = [Observation(f"users/u{n:05d}/profile", {"city": "x" * 200}) for n in range(2000)]
    Snapshot(meta, big).save(tmp_path / "a.json")
    Snapshot(meta, big[:10]).save(tmp_path / "b.json")
    run = run_cli(
        "diff", str(tmp_path / "a.json"), str(tmp_path / "b.json"),
        "--json", str(small_disk / "r.json"), "--html", str(small_disk / "r.html"),
    )  # fmt: skip
    run.assert_error("No space left on device")
    assert _leftovers(small_disk) == []


def test_snapshot_save_onto_a_full_disk_leaves_nothing(small_disk: Path) -> None:
    from moodle_regress.snapshot import SnapshotError

    meta = SnapshotMeta(site_name="s", site_url="http://127.0.0.1:1", release="4.5.6")
    big = [Observation(f"users/u{n:05d}/profile", {"city": "x" * 200}) for n in range(2000)]
    with pytest.raises((SnapshotError, OSError)) as caught:
        Snapshot(meta, big).save(small_disk / "s.json")
    assert "No space left on device" in str(caught.value)
    assert _leftovers(small_disk) == []
