"""The browser suites against real sandboxes: they pass on each release, and a run on
5.0 against a 4.5 baseline shows its differences as images in the HTML report.

4.5 and 5.0 are the browser runs of the shared 4.5 -> 5.0 rehearsal (its sites A and B,
B against A as baseline): running the suites again on sandboxes of their own would
spend seven more minutes of CI on the same pages."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from moodle_regress.site import SiteDescriptor
from tests.live.rehearsals import Rehearsal

pytestmark = [pytest.mark.live, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
RUN_TIMEOUT_S = 1800


def run_suites(site: SiteDescriptor, out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    """``pytest moodle_regress/suites/browser --moodle-site <descriptor>`` in a child process."""
    out.mkdir(parents=True, exist_ok=True)
    descriptor = out.parent / f"{out.name}-site.json"
    site.save(descriptor)
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "moodle_regress/suites/browser",
            "--moodle-site",
            str(descriptor),
            "--moodle-browser-out",
            str(out / "browser"),
            "--output",
            str(out / "traces"),
            "-p",
            "no:cacheprovider",
            "-q",
            *extra,
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
        check=False,
    )


def assert_passed(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]
    assert " passed" in result.stdout
    assert " failed" not in result.stdout and " error" not in result.stdout


def page_keys(out: Path) -> set[str]:
    data = json.loads((out / "browser" / "snapshot.json").read_text())
    return {o["key"] for o in data["observations"]}


def assert_rehearsal_suite_passed(rehearsal: Rehearsal, site: str) -> None:
    """The browser suite of the rehearsal's site ``site`` ("A" or "B") ran and passed."""
    runs = [s for s in rehearsal.summary["suites"] if (s["suite"], s["site"]) == ("browser", site)]
    assert len(runs) == 1, rehearsal.summary["suites"]
    run = runs[0]
    log = rehearsal.out / site / "browser-pytest.log"
    shown = log.read_text()[-6000:] if log.is_file() else "(no log)"
    assert (run["exit_code"], run["failed"], run["errors"]) == (0, 0, 0), shown
    assert run["passed"] > 0, shown


def browser_out(rehearsal: Rehearsal, site: str) -> Path:
    """Where the rehearsal's browser suite recorded site ``site``: ``<out>/<site>``, with
    ``browser/`` (snapshot, shots, differences) as a run of :func:`run_suites` has it."""
    return rehearsal.out / site


@pytest.mark.takes(minutes=12)  # the first to use the shared rehearsal (510 s in CI)
def test_suites_pass_on_45_and_record_pages(rehearsal_45_50: Rehearsal) -> None:
    # The rehearsal's site A: a fresh 4.5 sandbox, seeded, the browser suites run on it.
    assert_rehearsal_suite_passed(rehearsal_45_50, "A")
    out = browser_out(rehearsal_45_50, "A")
    keys = page_keys(out)
    for entity in ("dashboard@student", "course:topics@teacher", "theme:moove@student"):
        assert f"pages/{entity}/aria" in keys
        assert f"pages/{entity}/visual" in keys
    shots = list((out / "browser" / "shots").glob("*.png"))
    assert len(shots) >= 15


def test_suites_pass_on_50_upgraded_from_45(rehearsal_45_50: Rehearsal) -> None:
    assert_rehearsal_suite_passed(rehearsal_45_50, "B")
    assert "pages/course:topics@student/aria" in page_keys(browser_out(rehearsal_45_50, "B"))


@pytest.mark.takes(minutes=5)
def test_suites_pass_on_a_fresh_51(
    live_site_factory: Callable[[str], SiteDescriptor], tmp_path: Path
) -> None:
    out = tmp_path / "browser-5.1"
    result = run_suites(live_site_factory("5.1"), out, "-n", "2")
    assert_passed(result)
    assert "pages/course:topics@student/aria" in page_keys(out)


def test_50_against_45_baseline_shows_images_in_the_report(rehearsal_45_50: Rehearsal) -> None:
    from playwright.sync_api import sync_playwright

    from moodle_regress.browser.launch import launch
    from moodle_regress.compare import compare
    from moodle_regress.report.html import write_html_report
    from moodle_regress.snapshot import Snapshot

    # B's browser suite ran with A's as its baseline: differences are recorded, they do
    # not fail the suites.
    assert_rehearsal_suite_passed(rehearsal_45_50, "A")
    assert_rehearsal_suite_passed(rehearsal_45_50, "B")
    baseline = browser_out(rehearsal_45_50, "A") / "browser"
    out = browser_out(rehearsal_45_50, "B")

    differences = json.loads((out / "browser" / "differences.json").read_text())
    assert differences["baseline_release"].startswith("4.5")
    assert differences["release"].startswith("5.0")
    pages = differences["pages"]
    assert len(pages) >= 15
    # 4.5 and 5.0 really do differ on some pages, in structure or in pixels.
    assert any(p["aria_changed"] or p["visual_exceeds"] for p in pages)
    with_images = [p for p in pages if p["difference"]]
    assert with_images
    for page in with_images:
        for name in ("before", "after", "difference"):
            assert (out / "browser" / page[name]).is_file()

    comparison = compare(
        Snapshot.load(baseline / "snapshot.json"), Snapshot.load(out / "browser" / "snapshot.json")
    )
    report = out / "browser-report.html"
    write_html_report(comparison, report, title="browser 4.5 -> 5.0")

    with sync_playwright() as pw:
        browser = launch(pw)
        try:
            view = browser.new_page()
            view.goto(report.as_uri())
            figures = view.locator(".images figure")
            assert figures.count() >= 3
            titles = set(view.locator(".images figure h4").all_inner_texts())
            assert {"before", "after", "difference"} <= titles
            # Every picture the report shows has loaded (decoded, with a size).
            sizes = view.locator(".images img").evaluate_all(
                "imgs => imgs.map(i => [i.complete, i.naturalWidth, i.naturalHeight])"
            )
            assert sizes, "the report shows no images"
            assert all(done and w > 0 and h > 0 for done, w, h in sizes), sizes
            diff_images = view.locator(".images figure:has(h4:text-is('difference')) img")
            assert diff_images.count() >= 1
        finally:
            browser.close()
