"""Snapshots of a real site: the same site observed twice has no differences."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from moodle_regress.cli import _register, cli
from moodle_regress.compare import compare
from moodle_regress.observe import ApiObserver, all_entities
from moodle_regress.site import SiteDescriptor
from moodle_regress.snapshot import Snapshot

pytestmark = pytest.mark.live


def test_snapshot_of_a_site_compared_with_itself(site_45: SiteDescriptor, tmp_path: Path) -> None:
    # Two separate observations (one concurrent, one serial), through the file format.
    with site_45.client() as client:
        first = ApiObserver(client, entity_filter=all_entities).observe().snapshot()
    with site_45.client() as client:
        second = (
            ApiObserver(client, entity_filter=all_entities, concurrent=False).observe().snapshot()
        )
    first.save(tmp_path / "a.json")
    second.save(tmp_path / "b.json")
    result = compare(Snapshot.load(tmp_path / "a.json"), Snapshot.load(tmp_path / "b.json"))
    assert [d.key for d in result] == []
    assert result.unchanged == len(first) == len(second)

    # What a site-wide snapshot holds, whatever the site's data.
    keys = set(first.observations)
    assert first.meta.release.startswith("4.5")
    assert "site/@site/release" in keys
    assert "themes/@site/site-theme" in keys
    assert "webservice/core_course_get_contents/version" in keys
    assert "api/core_webservice_get_site_info/fields" in keys
    formats = first.get("formats/@site/available")
    assert formats is not None and {"topics", "weeks", "singleactivity", "social"} <= set(
        formats.value
    )
    # No host, no timestamps anywhere in the values.
    text = (tmp_path / "a.json").read_text()
    host = site_45.url.split("//", 1)[1]
    observations_text = text[text.index('"observations"') :]
    assert host not in observations_text
    assert '"timemodified":' not in observations_text


def test_snapshot_and_diff_commands(site_45: SiteDescriptor, tmp_path: Path) -> None:
    _register()
    runner = CliRunner()
    site_file = tmp_path / "site.json"
    site_45.save(site_file)
    for name in ("a", "b"):
        result = runner.invoke(
            cli,
            [
                "snapshot",
                "--site",
                str(site_file),
                "--out",
                str(tmp_path / f"{name}.json"),
                "--all",
            ],
        )
        assert result.exit_code == 0, result.output
    result = runner.invoke(
        cli,
        [
            "diff",
            str(tmp_path / "a.json"),
            str(tmp_path / "b.json"),
            "--html",
            str(tmp_path / "r.html"),
            "--json",
            str(tmp_path / "r.json"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "0 difference(s)" in result.output
    assert "No differences" in (tmp_path / "r.html").read_text()
