"""The browser suites against real sandboxes: they pass on each release, and a run on
5.0 against a 4.5 baseline shows its differences as images in the HTML report."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from moodle_regress.site import SiteDescriptor

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


Run = tuple[subprocess.CompletedProcess[str], Path]


@pytest.fixture(scope="module")
def recorded(
    live_site_factory: Callable[[str], SiteDescriptor],
    tmp_path_factory: pytest.TempPathFactory,
) -> Callable[[str], Run]:
    """One run of the suites per release (each takes minutes).  5.0 runs against the
    4.5 run as its baseline when that one passed: differences are recorded, not failed,
    so the same run shows that 5.0 passes and what the comparison reports."""
    done: dict[str, Run] = {}

    def get(release: str) -> Run:
        if release not in done:
            extra: list[str] = []
            if release == "5.0":
                result_45, out_45 = get("4.5")
                if result_45.returncode == 0:
                    extra = ["--moodle-browser-baseline", str(out_45 / "browser")]
            site = live_site_factory(release)
            out = tmp_path_factory.mktemp(f"browser-{release}")
            done[release] = (run_suites(site, out, "-n", "2", *extra), out)
        return done[release]

    return get


def test_suites_pass_on_45_and_record_pages(recorded: Callable[[str], Run]) -> None:
    result, out = recorded("4.5")
    assert_passed(result)
    keys = page_keys(out)
    for entity in ("dashboard@student", "course:topics@teacher", "theme:moove@student"):
        assert f"pages/{entity}/aria" in keys
        assert f"pages/{entity}/visual" in keys
    shots = list((out / "browser" / "shots").glob("*.png"))
    assert len(shots) >= 15


@pytest.mark.parametrize("release", ["5.0", "5.1"])
def test_suites_pass_on_later_releases(release: str, recorded: Callable[[str], Run]) -> None:
    result, out = recorded(release)
    assert_passed(result)
    assert "pages/course:topics@student/aria" in page_keys(out)


def test_50_against_45_baseline_shows_images_in_the_report(
    recorded: Callable[[str], Run],
) -> None:
    from playwright.sync_api import sync_playwright

    from moodle_regress.browser.launch import launch
    from moodle_regress.compare import compare
    from moodle_regress.report.html import write_html_report
    from moodle_regress.snapshot import Snapshot

    result_45, out_45 = recorded("4.5")
    assert_passed(result_45)
    baseline = out_45 / "browser"
    result, out = recorded("5.0")  # run with the 4.5 run as its baseline
    assert_passed(result)  # differences are recorded, they do not fail the suites

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
    report = out / "report.html"
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
