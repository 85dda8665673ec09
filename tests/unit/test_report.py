"""Reports: terminal summary, JSON, HTML (escaping, images, filters in Chromium)."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest
from PIL import Image
from rich.console import Console

from moodle_regress.compare import Comparison, compare
from moodle_regress.expected import ExpectedChanges
from moodle_regress.observation import Observation
from moodle_regress.report import (
    comparison_json,
    print_summary,
    render_html,
    write_html_report,
    write_json_report,
)
from moodle_regress.report.html import data_uri
from moodle_regress.snapshot import Snapshot, SnapshotMeta

EVIL = "<script>alert('x')</script><img src=x onerror=alert(1)>"


def _png(path: Path, colour: tuple[int, int, int], box: bool = False) -> Path:
    image = Image.new("RGB", (40, 30), colour)
    if box:
        image.paste((0, 0, 0), (5, 5, 25, 20))
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path)
    return path


def _comparison(tmp_path: Path, *, with_images: bool = True) -> Comparison:
    before_shot = _png(tmp_path / "a" / "shots" / "course.png", (255, 255, 255))
    after_shot = _png(tmp_path / "b" / "shots" / "course.png", (255, 255, 255), box=True)
    before = [
        Observation("site/@site/release", "4.5.6 (Build: 20250811)"),
        Observation("courses/MR-C001/format", "topics"),
        Observation("courses/MR-C002/sections/1/name", EVIL),
        Observation("webservice/mod_chat_view_chat/version", "2024100700"),
        Observation("users/mr-s1/courses", ["MR-C001"]),
        Observation("courses/MR-C001/summary", "line 1\nline 2\nline 3\nline 4\nline 5"),
    ]
    after = [
        Observation("site/@site/release", "5.0.6 (Build: 20251006)"),
        Observation("courses/MR-C001/format", "weeks"),
        Observation("courses/MR-C002/sections/1/name", EVIL + "!"),
        Observation("webservice/core_ai_x/version", "2025041400"),
        Observation("users/mr-s1/courses", ["MR-C001"]),
        Observation("courses/MR-C001/summary", "line 1\nline 2\nline three\nline 4\nline 5"),
    ]
    if with_images:
        before.append(
            Observation(
                "pages/MR-C001/visual",
                {"width": 40, "height": 30},
                "browser",
                attachments={"screenshot": str(before_shot)},
            )
        )
        after.append(
            Observation(
                "pages/MR-C001/visual",
                {"width": 40, "height": 30},
                "browser",
                attachments={"screenshot": str(after_shot)},
            )
        )
    a = Snapshot(SnapshotMeta(site_name="Old " + EVIL, release="4.5.6"), before)
    b = Snapshot(SnapshotMeta(site_name="New", release="5.0.6"), after)
    a.save(tmp_path / "a" / "snapshot.json")
    b.save(tmp_path / "b" / "snapshot.json")
    result = compare(
        Snapshot.load(tmp_path / "a" / "snapshot.json"),
        Snapshot.load(tmp_path / "b" / "snapshot.json"),
    )
    rules = ExpectedChanges.parse(
        "expected:\n"
        "  - {key: site/@site/release, reason: 'the upgrade <b>itself</b>'}\n"
        "  - {key: 'webservice/**', reason: web services change}\n"
        "  - {key: 'groups/**', reason: stale rule}\n"
    )
    return rules.apply(result)


def test_visual_change_is_a_difference_even_with_equal_values(tmp_path: Path) -> None:
    result = _comparison(tmp_path)
    page = next(d for d in result if d.key == "pages/MR-C001/visual")
    assert page.kind == "changed"
    assert page.visual is not None and page.visual.share > 0.2


def test_json_report(tmp_path: Path) -> None:
    result = _comparison(tmp_path)
    write_json_report(result, tmp_path / "diff.json")
    data = json.loads((tmp_path / "diff.json").read_text())
    assert data == comparison_json(result)
    assert data["format"] == "moodle-regress-diff/1"
    assert data["counts"] == {
        "added": 1,
        "removed": 1,
        "changed": 5,
        "expected": 3,
        "unexpected": 4,
        "unchanged": 1,
        "total": 7,
        "explained": 0,
        "possibly_related": 0,
        "unexplained": 7,
        "unexpected_explained": 0,
        "breaking": 0,
        "non_breaking": 0,
        "deprecation": 0,
    }
    release = data["areas"]["site"]["@site"][0]
    assert release["expected"] is True
    assert release["reason"] == "the upgrade <b>itself</b>"
    assert data["areas"]["pages"]["MR-C001"][0]["visual"]["share"] > 0.2
    assert data["unused_expected_rules"] == ["line 4: groups/**"]


def test_terminal_summary(tmp_path: Path) -> None:
    result = _comparison(tmp_path)
    console = Console(record=True, width=200, color_system=None)
    print_summary(result, console)
    text = console.export_text()
    assert "7 difference(s): 3 expected, 4 unexpected; 1 observation(s) unchanged" in text
    assert "courses/MR-C001/format  topics → weeks" in text
    # Values are shown as text, not interpreted as rich markup.
    assert "<script>alert('x')</script>" in text
    assert "expected-changes rule matched nothing: line 4: groups/**" in text
    assert re.search(r"webservice\W+1\W+1\W+0\W+2\W+0\n", text)


def test_html_escapes_site_values(tmp_path: Path) -> None:
    page = render_html(_comparison(tmp_path))
    assert EVIL not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page
    assert "the upgrade &lt;b&gt;itself&lt;/b&gt;" in page
    assert "Old &lt;script&gt;" in page
    # Exactly one script element: the report's own.
    assert page.count("<script>") == 1


def test_html_is_self_contained(tmp_path: Path) -> None:
    page = render_html(_comparison(tmp_path))
    assert "default-src 'none'" in page
    sources = re.findall(r"\ssrc='([^']*)'", page)
    assert sources and all(s.startswith("data:image/png;base64,") for s in sources)
    assert not re.search(r"<link|@import|url\(", page)


def test_html_shows_before_after_and_difference_images(tmp_path: Path) -> None:
    page = render_html(_comparison(tmp_path))
    block = page[page.index("data-key='pages/MR-C001/visual'") :]
    block = block[: block.index("</article>")]
    assert block.count("<img") == 3
    assert "of pixels changed" in block


def test_html_line_difference_for_long_text(tmp_path: Path) -> None:
    page = render_html(_comparison(tmp_path))
    assert "<span class='del'>-line 3</span>" in page
    assert "<span class='ins'>+line three</span>" in page


ARIA_MAIN = '- main:\n  - heading "Course overview" [level=2]\n  - paragraph: Text\n'
ARIA_BEFORE: dict[str, str | None] = {
    "navigation": '- navigation "Site":\n  - link "Dashboard":\n    - /url: /my/\n',
    "main": ARIA_MAIN,
    "footer": None,
}


def test_aria_snapshots_show_as_indented_text_with_a_line_diff() -> None:
    after = dict(ARIA_BEFORE, main=ARIA_MAIN.replace("Course overview", "Timeline"))
    key = "pages/dashboard@student/aria"
    page = render_html(
        compare(
            Snapshot(observations=[Observation(key, ARIA_BEFORE, "browser")]),
            Snapshot(observations=[Observation(key, after, "browser")]),
        )
    )
    assert "\\n" not in page  # no JSON string with escaped newlines
    assert "navigation:\n  - navigation &quot;Site&quot;:\n    - link" in page
    assert "footer: (absent)" in page
    assert "<span class='del'>-    - heading &quot;Course overview&quot; [level=2]</span>" in page
    assert "<span class='ins'>+    - heading &quot;Timeline&quot; [level=2]</span>" in page


def test_no_line_difference_when_only_the_picture_changed(tmp_path: Path) -> None:
    page = render_html(_comparison(tmp_path))
    block = page[page.index("data-key='pages/MR-C001/visual'") :]
    block = block[: block.index("</article>")]
    assert "line difference" not in block


def test_missing_screenshot_is_said(tmp_path: Path) -> None:
    result = _comparison(tmp_path)
    (tmp_path / "a" / "shots" / "course.png").unlink()
    page = render_html(result)
    assert "screenshot missing:" in page


def test_no_differences(tmp_path: Path) -> None:
    snap = Snapshot(observations=[Observation("a/b/c", 1)])
    page = render_html(compare(snap, snap))
    assert "No differences" in page


def test_data_uri_refuses_non_images() -> None:
    assert data_uri(b"<svg onload=alert(1)>") is None
    buffer = io.BytesIO()
    Image.new("RGB", (1, 1)).save(buffer, format="JPEG")
    assert (data_uri(buffer.getvalue()) or "").startswith("data:image/jpeg;base64,")


def test_html_in_chromium(tmp_path: Path) -> None:
    """Open the report in headless Chromium: counts, a filter, the images."""
    sync_api = pytest.importorskip("playwright.sync_api")
    from moodle_regress.browser.launch import BrowserNotFoundError, launch

    path = tmp_path / "report.html"
    write_html_report(_comparison(tmp_path), path)
    with sync_api.sync_playwright() as pw:
        try:
            browser = launch(pw, "system")
        except BrowserNotFoundError as exc:
            pytest.skip(f"no Chromium to open the report in: {exc}")
        try:
            page = browser.new_page()
            page.goto(path.as_uri())
            assert page.locator("[data-count='differences'] b").inner_text() == "7"
            assert page.locator("[data-count='unexpected'] b").inner_text() == "4"
            assert page.locator("#shown").inner_text() == "7"

            page.select_option("#f-expected", "no")
            assert page.locator("#shown").inner_text() == "4"
            assert page.locator(".diff:visible").count() == 4
            assert not page.locator("section.area[data-area='webservice']").is_visible()

            page.select_option("#f-expected", "")
            page.select_option("#f-area", "courses")
            assert page.locator("#shown").inner_text() == "3"
            page.fill("#f-text", "sections")
            assert page.locator("#shown").inner_text() == "1"
            # The site's markup is shown as text, never run.
            assert EVIL in page.locator(".diff:visible pre").first.inner_text()

            page.select_option("#f-area", "pages")
            page.fill("#f-text", "")
            images = page.locator(".diff:visible img")
            assert images.count() == 3
            widths = [
                images.nth(i).evaluate("img => img.complete && img.naturalWidth") for i in range(3)
            ]
            assert widths == [40, 40, 40]
        finally:
            browser.close()


def _contract_comparison() -> Comparison:
    """Real 4.5.6 -> 5.0.6+ contracts, classified and explained by 5.0.6+'s notes."""
    from moodle_regress.classify import classify_contract
    from moodle_regress.notes import explain
    from moodle_regress.notes.parse import load_notes, notes_between
    from tests.unit.contract_fixtures import comparison_45_50, notes_tree_50

    tree = notes_tree_50()
    entries = notes_between(load_notes(tree), "4.5.6", tree.release)
    comparison = explain(
        classify_contract(comparison_45_50()), entries, used={"summary": "notes of 5.0.6+"}
    )
    ExpectedChanges.parse(
        "expected:\n  - {key: 'contract/theme_moove_*/**', reason: third-party theme}\n"
    ).apply(comparison)
    return comparison


def test_terminal_counts_contract_changes_and_explanations() -> None:
    comparison = _contract_comparison()
    counts = comparison.counts()
    console = Console(record=True, width=220, color_system=None)
    print_summary(comparison, console)
    text = console.export_text()
    assert (
        f"web-service contract: {counts.breaking} breaking, {counts.non_breaking} "
        f"non-breaking, {counts.deprecation} deprecation(s)"
    ) in text
    assert f"{counts.unexpected_explained} of {counts.unexpected} unexpected explained" in text
    assert "[breaking: function removed]  [explained: MDL-82457]" in text
    assert counts.deprecation == 2 and counts.breaking > 0 and counts.non_breaking > 0


def test_json_carries_severity_explanation_and_note() -> None:
    data = comparison_json(_contract_comparison())
    assert data["notes"] == {"summary": "notes of 5.0.6+"}
    (groupid,) = [
        d
        for d in data["areas"]["contract"]["mod_choice_get_choice_results"]
        if d["aspect"] == "params/groupid"
    ]
    assert groupid["contract"] == {"severity": "non-breaking", "change": "optional parameter added"}
    assert groupid["explanation"] == "explained"
    note = groupid["notes"][0]
    assert note["issue"] == "MDL-78449"
    assert note["url"] == "https://tracker.moodle.org/browse/MDL-78449"
    assert (note["release"], note["component"], note["strength"]) == (
        "5.0",
        "mod_choice",
        "explained",
    )


def test_html_filters_by_contract_severity_and_explanation(tmp_path: Path) -> None:
    """The notes beside each difference, with their tracker link; both new filters."""
    sync_api = pytest.importorskip("playwright.sync_api")
    from moodle_regress.browser.launch import BrowserNotFoundError, launch

    comparison = _contract_comparison()
    counts = comparison.counts()
    path = tmp_path / "report.html"
    write_html_report(comparison, path)
    html = path.read_text()
    assert "href='https://tracker.moodle.org/browse/MDL-82457'" in html
    assert "Remove mod_chat from Moodle 5.0" in html
    with sync_api.sync_playwright() as pw:
        try:
            browser = launch(pw, "system")
        except BrowserNotFoundError as exc:
            pytest.skip(f"no Chromium to open the report in: {exc}")
        try:
            page = browser.new_page()
            page.goto(path.as_uri())
            assert page.locator("[data-count='breaking'] b").inner_text() == str(counts.breaking)
            assert page.locator("[data-count='explained'] b").inner_text() == str(counts.explained)
            page.select_option("#f-contract", "deprecation")
            assert page.locator("#shown").inner_text() == "2"
            keys = page.locator(".diff:visible").evaluate_all("els => els.map(e => e.dataset.key)")
            assert keys == [
                "contract/core_course_edit_module/deprecated",
                "contract/core_course_edit_section/deprecated",
            ]
            assert "MDL-82342" in page.locator(".diff:visible .notes a").first.inner_text()
            page.select_option("#f-contract", "")
            page.select_option("#f-explanation", "unexplained")
            assert page.locator("#shown").inner_text() == str(counts.unexplained)
            page.select_option("#f-expected", "no")
            shown = int(page.locator("#shown").inner_text())
            assert shown == counts.unexpected - counts.unexpected_explained - sum(
                1 for d in comparison.unexpected if d.explanation == "possibly related"
            )
        finally:
            browser.close()


def test_the_preface_opens_the_main_part(tmp_path: Path) -> None:
    """Tool-written HTML (the preflight's section) goes atop the differences, as is."""
    section = "<section class='preflight' id='preflight'><h2>Preflight</h2></section>"
    page = render_html(_comparison(tmp_path, with_images=False), preface=section)
    assert f"<main>{section}<div class='filters'>" in page
