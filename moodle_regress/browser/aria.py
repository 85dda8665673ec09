"""ARIA snapshots of a page's key regions, normalised so two sites can be compared.

``locator.aria_snapshot()`` gives the accessibility tree as YAML-like text: roles,
names, levels and link targets.  It is what assistive technology, and so a person,
meets; comparing it between releases shows structural change without the noise of
markup or CSS.  Before comparing, everything that differs between two sites or two
runs without meaning anything is replaced by a placeholder: the site's address,
record ids, session keys, theme revision numbers, generated element ids and dates.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from playwright.sync_api import Page

#: Key regions of a Moodle page, each with selectors tried in order (Boost-based
#: themes first, then Classic's layout, then plain landmarks).
REGIONS: Mapping[str, tuple[str, ...]] = {
    "navigation": ("nav.navbar", "header [role=navigation]", "[role=navigation]"),
    "secondary-navigation": (".secondary-navigation", "#page-navbar"),
    "course-index": ("#courseindex", "#theme_boost-drawers-courseindex"),
    "main": ("#region-main", "[role=main]", "main"),
    "blocks": ("[data-region=blocks-column]", "#block-region-side-pre", "aside"),
    "footer": ("#page-footer", "footer"),
}

_MONTHS = (
    "January|February|March|April|May|June|July|August|September|October|November|December"
    "|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec"
)
_DAYS = "Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday|Mon|Tue|Wed|Thu|Fri|Sat|Sun"

# Query parameters whose value is a record id or a secret: meaningful only on one site.
_ID_PARAMS = (
    r"id|courseid|userid|user|cmid|contextid|instanceid|itemid|categoryid|category|"
    r"enrolid|instance|blockid|bui_editid|time|returnurl|rev|token"
)


@dataclass(frozen=True)
class Rule:
    pattern: re.Pattern[str]
    replacement: str


def _rule(pattern: str, replacement: str, flags: int = 0) -> Rule:
    return Rule(re.compile(pattern, flags), replacement)


RULES: tuple[Rule, ...] = (
    # Session keys anywhere (in URLs, hidden text).
    _rule(r"sesskey=[A-Za-z0-9]+", "sesskey={sesskey}"),
    # Theme/JS/image revisions: /theme/image.php/boost/core/1712345678/...,
    # /lib/javascript.php/1712345678/..., ?rev=1712345678.
    _rule(r"/(?:\d{9,11}|-1)(?=/)", "/{rev}"),
    # pluginfile.php/<contextid>/component/area/<itemid>/...
    _rule(r"(pluginfile\.php)/\d+/([a-z_]+)/([a-z_]+)/\d+", r"\1/{ctx}/\2/\3/{item}"),
    # Record ids in query strings.
    _rule(rf"([?&](?:amp;)?(?:{_ID_PARAMS}))=[^&#\s\"']+", r"\1={id}"),
    # Generated element ids in fragments and names: yui_3_18_1_1_1712345678_123,
    # random64f1a2b3c4d5e1, id_..._<hash>.
    _rule(r"yui_[0-9_]+", "{yui}"),
    # Skip links and anchors naming block instances: #sb-12, #inst34.
    _rule(r"#(sb-|inst)\d+", r"#\1{n}"),
    _rule(r"random[0-9a-f]{8,}\d*", "{random}"),
    _rule(r"\b[0-9a-f]{13,}\b", "{uniqid}"),
    # Counters of a user's notifications and messages: they grow with site activity.
    _rule(
        r"\b\d+ (new |unread )?(notifications?|messages?|conversations?)\b",
        r"{n} \1\2",
    ),
    # Dates and times as Moodle prints them for a user.
    _rule(
        rf"\b(?:(?:{_DAYS}),?\s+)?\d{{1,2}}\s+(?:{_MONTHS})\.?(?:\s+\d{{4}})?"
        rf"(?:,\s*\d{{1,2}}:\d{{2}}(?:\s*[AP]M)?)?",
        "{date}",
        re.IGNORECASE,
    ),
    _rule(
        rf"\b(?:(?:{_DAYS}),?\s+)?(?:{_MONTHS})\.?\s+\d{{1,2}}(?:,\s*\d{{4}})?",
        "{date}",
        re.IGNORECASE,
    ),
    _rule(r"\b\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2})?)?\b", "{date}"),
    _rule(r"\b\d{1,2}:\d{2}(?::\d{2})?(?:\s*[AP]M)?\b", "{time}", re.IGNORECASE),
    # "2 days 3 hours", "5 mins 20 secs", "now": time since last access.
    _rule(
        r"\b\d+\s+(?:years?|days?|hours?|mins?|minutes?|secs?|seconds?)"
        r"(?:\s+\d+\s+(?:days?|hours?|mins?|minutes?|secs?|seconds?))*\b",
        "{duration}",
    ),
)


def normalise_aria(
    text: str,
    *,
    site_url: str | None = None,
    replacements: Mapping[str, str] | None = None,
    extra_rules: Iterable[Rule] = (),
) -> str:
    """Replace what varies between sites and runs by placeholders (see module docstring).

    ``replacements`` maps literal strings (a user's full name, a course's id) to
    placeholders and is applied first; ``site_url`` becomes ``{site}``.
    """
    out = text
    if site_url:
        base = site_url.rstrip("/")
        out = out.replace(base, "{site}")
        # Relative forms Playwright sometimes gives for same-origin links.
        out = re.sub(r"https?://(?:127\.0\.0\.1|localhost)(?::\d+)?", "{site}", out)
    for literal, placeholder in (replacements or {}).items():
        if literal:
            out = out.replace(literal, placeholder)
    for rule in (*RULES, *extra_rules):
        out = rule.pattern.sub(rule.replacement, out)
    return "\n".join(line.rstrip() for line in out.strip().splitlines()) + "\n"


def region_snapshots(
    page: Page,
    regions: Mapping[str, tuple[str, ...]] = REGIONS,
    *,
    site_url: str | None = None,
    replacements: Mapping[str, str] | None = None,
    timeout_ms: float = 10_000,
) -> dict[str, str | None]:
    """Normalised ARIA snapshot per region; ``None`` where the page has no such region."""
    result: dict[str, str | None] = {}
    for name, selectors in regions.items():
        raw: str | None = None
        for selector in selectors:
            locator = page.locator(selector).first
            if locator.count() and locator.is_visible():
                raw = locator.aria_snapshot(timeout=timeout_ms)
                break
        result[name] = (
            None
            if raw is None
            else normalise_aria(raw, site_url=site_url, replacements=replacements)
        )
    return result


def page_snapshot(
    page: Page,
    regions: Mapping[str, tuple[str, ...]] = REGIONS,
    *,
    site_url: str | None = None,
    replacements: Mapping[str, str] | None = None,
) -> str:
    """All key regions as one text, region by region, for storing and diffing."""
    parts = []
    for name, text in region_snapshots(
        page, regions, site_url=site_url, replacements=replacements
    ).items():
        body = text if text is not None else "(absent)\n"
        parts.append(f"# region: {name}\n{body}")
    return "".join(parts)


def diff_aria(
    before: str, after: str, *, before_label: str = "before", after_label: str = "after"
) -> str:
    """A unified diff of two normalised snapshots; empty when they are the same."""
    if before == after:
        return ""
    return "".join(
        difflib.unified_diff(
            before.splitlines(keepends=True),
            after.splitlines(keepends=True),
            fromfile=before_label,
            tofile=after_label,
            n=2,
        )
    )


def headings(snapshot: str) -> list[tuple[int, str]]:
    """``(level, name)`` of each heading in a snapshot, in order."""
    found = []
    for match in re.finditer(r'heading "((?:[^"\\]|\\.)*)" \[level=(\d)\]', snapshot):
        found.append((int(match.group(2)), match.group(1)))
    return found
