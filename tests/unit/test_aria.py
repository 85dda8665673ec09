"""Normalising ARIA snapshots so two sites' pages can be compared."""

from __future__ import annotations

from moodle_regress.browser.aria import diff_aria, headings, normalise_aria

SITE = "http://127.0.0.1:8045"
TRAILING = "  "  # aria_snapshot() can end lines with spaces

# The shape of locator.aria_snapshot() output for a Moodle course page.
SNAPSHOT = f"""- heading "Course mr-b-topics" [level=1]
- link "Topic 1":
  - /url: {SITE}/course/section.php?id=57
- link "Edit":
  - /url: {SITE}/course/edit.php?id=12&sesskey=Zx8pQ2LmNa
- img "Picture":{TRAILING}
  - /url: {SITE}/theme/image.php/boost/core/1712345678/u/f1
- link "file.pdf":
  - /url: {SITE}/pluginfile.php/345/mod_resource/content/2/file.pdf
- text: Last access to course 2 days 3 hours
- text: Due Monday, 3 June 2024, 10:15 AM
- button "Show notification window with 49 new notifications"
- button "Menu" yui_3_18_1_1_1712345678901_42
- region random65f1a2b3c4d5e6
"""


def test_site_address_ids_and_secrets_become_placeholders() -> None:
    out = normalise_aria(SNAPSHOT, site_url=SITE)
    assert SITE not in out
    assert "{site}/course/section.php?id={id}" in out
    assert "edit.php?id={id}&sesskey={sesskey}" in out
    assert "Zx8pQ2LmNa" not in out
    assert "/theme/image.php/boost/core/{rev}/u/f1" in out
    assert "pluginfile.php/{ctx}/mod_resource/content/{item}/file.pdf" in out


def test_dates_durations_and_generated_ids_become_placeholders() -> None:
    out = normalise_aria(SNAPSHOT, site_url=SITE)
    assert "Last access to course {duration}" in out
    assert "Due {date}" in out
    assert "10:15" not in out
    assert 'button "Menu" {yui}' in out
    assert "window with {n} new notifications" in out
    assert "region {random}" in out


def test_meaningful_text_and_structure_survive() -> None:
    out = normalise_aria(SNAPSHOT, site_url=SITE)
    assert '- heading "Course mr-b-topics" [level=1]' in out
    assert '- link "Topic 1":' in out
    # Trailing spaces are dropped, indentation (the tree) is kept.
    assert '- img "Picture":\n  - /url:' in out


def test_two_sites_with_different_ids_normalise_to_the_same_text() -> None:
    other_site = "http://127.0.0.1:8050"
    other = (
        SNAPSHOT.replace(SITE, other_site)
        .replace("id=57", "id=91")
        .replace("1712345678", "1799999999")
        .replace("Zx8pQ2LmNa", "Qq1")
        .replace("3 June 2024", "14 July 2025")
    )
    assert normalise_aria(SNAPSHOT, site_url=SITE) == normalise_aria(other, site_url=other_site)


def test_literal_replacements_apply_before_rules() -> None:
    out = normalise_aria(
        '- text: "Signed in as Ada Lovelace"', replacements={"Ada Lovelace": "{user}"}
    )
    assert out == '- text: "Signed in as {user}"\n'


def test_diff_is_empty_for_equal_snapshots_and_shows_changed_lines() -> None:
    before = normalise_aria(SNAPSHOT, site_url=SITE)
    assert diff_aria(before, before) == ""
    after = before.replace('link "Topic 1"', 'link "Section 1"')
    diff = diff_aria(before, after, before_label="4.5", after_label="5.0")
    assert "--- 4.5" in diff and "+++ 5.0" in diff
    assert '-- link "Topic 1":' in diff
    assert '+- link "Section 1":' in diff


def test_headings_are_read_in_order_with_levels() -> None:
    text = (
        '- heading "General" [level=3]\n'
        '- heading "Topic \\"A\\"" [level=3]\n'
        '- heading "X" [level=1]'
    )
    assert headings(text) == [(3, "General"), (3, 'Topic \\"A\\"'), (1, "X")]
