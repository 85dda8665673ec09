"""The browser's recorder on the one core: pages compared with a baseline through the
one ``compare``, differences marked expected by the expected-changes rules, parts of
workers merged.  Pages are small HTML documents of the test's own, in headless
Chromium (what Moodle's pages do is the live browser suites')."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from moodle_regress.browser.record import BrowserRecorder, merge
from moodle_regress.expected import ExpectedChanges
from moodle_regress.snapshot import Snapshot

sync_api = pytest.importorskip("playwright.sync_api")

PAGE = """<!DOCTYPE html><html><body>
<nav class="navbar" aria-label="Site"><a href="/my/">Dashboard</a></nav>
<div id="region-main" role="main"><h2>{heading}</h2><p style="background:{colour}">Text</p></div>
</body></html>"""


@pytest.fixture(scope="module")
def page() -> Iterator[Any]:
    from moodle_regress.browser.launch import BrowserNotFoundError, launch

    with sync_api.sync_playwright() as pw:
        try:
            browser = launch(pw, "system")
        except BrowserNotFoundError as exc:
            pytest.skip(f"no Chromium: {exc}")
        try:
            yield browser.new_page(viewport={"width": 400, "height": 300})
        finally:
            browser.close()


def _run(
    page: Any,
    out: Path,
    *,
    heading: str,
    colour: str = "#fff",
    baseline: Snapshot | None = None,
    expected: ExpectedChanges | None = None,
    release: str = "4.5.6",
) -> BrowserRecorder:
    recorder = BrowserRecorder(
        out,
        site_url="https://moodle.example.org",
        release=release,
        baseline=baseline,
        expected=expected,
        worker="gw0",
    )
    page.set_content(PAGE.format(heading=heading, colour=colour))
    recorder.observe(page, "dashboard@student", mask=())
    recorder.record("dashboard@student", "signed-in", True)
    recorder.save_part()
    merge(out)
    return recorder


def test_a_run_is_recorded_and_merged(page: Any, tmp_path: Path) -> None:
    out = tmp_path / "a"
    _run(page, out, heading="Course overview")
    snapshot = Snapshot.load(out / "snapshot.json")
    assert {o.key for o in snapshot} == {
        "pages/dashboard@student/aria",
        "pages/dashboard@student/visual",
        "pages/dashboard@student/signed-in",
    }
    visual = snapshot.get("pages/dashboard@student/visual")
    assert visual is not None
    shot = snapshot.attachment_path(visual, "screenshot")
    assert shot is not None and shot.is_file()
    assert "Course overview" in str(snapshot.get("pages/dashboard@student/aria").value)  # type: ignore[union-attr]
    assert not list(out.glob(".*.parts"))
    assert json.loads((out / "differences.json").read_text())["pages"] == []


def test_differences_from_the_baseline_honour_expected_changes(page: Any, tmp_path: Path) -> None:
    _run(page, tmp_path / "a", heading="Course overview")
    baseline = Snapshot.load(tmp_path / "a" / "snapshot.json")
    rules = tmp_path / "expected.yaml"
    rules.write_text(
        "expected:\n"
        "  - key: pages/*/aria\n"
        "    change: changed\n"
        "    reason: 5.0 renames the dashboard block.\n"
        "  - key: pages/*/visual\n"
        "    change: changed\n"
        "    reason: and paints it red.\n"
    )
    for name, expected in (("plain", None), ("ruled", ExpectedChanges.load(rules))):
        out = tmp_path / name
        recorder = _run(
            page,
            out,
            heading="Timeline",
            colour="#f00",
            baseline=baseline,
            expected=expected,
            release="5.0.6",
        )
        (difference,) = recorder.differences
        assert difference.aria_changed and '+  - heading "Timeline"' in difference.aria_diff
        assert difference.visual_exceeds and difference.visual_share is not None
        for picture in (difference.before, difference.after, difference.difference):
            assert picture is not None and (out / picture).is_file()
        pages = json.loads((out / "differences.json").read_text())["pages"]
        assert pages[0]["entity"] == "dashboard@student"
        if expected is None:
            assert not difference.expected and difference.reasons == []
        else:
            assert difference.expected
            assert difference.reasons == ["5.0 renames the dashboard block.", "and paints it red."]
            assert pages[0]["expected"] is True
