"""Recording what a page shows: the browser's part of the one recorder core.

Each observed page gives two observations (source ``browser``):

- ``pages/<entity>/aria``: the normalised ARIA snapshot of each key region;
- ``pages/<entity>/visual``: the screenshot's size, with the screenshot attached.

Tests add plain facts (body classes, landmarks, section order) with :meth:`record`.
Keeping observations, parts per xdist worker, their merge, and the comparison with
a baseline (the one ``compare`` and the expected-changes rules) are the core's
(:mod:`moodle_regress.recording`).  The browser adds what only it has: the ARIA
text diff and the visual difference (share of pixels changed, a highlighted
difference image), per page, in allure and in ``differences.json``, which the HTML
report reads to show before, after and difference side by side.  Differences are
recorded, marked expected or not; they do not fail the browser tests.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from moodle_regress.browser.aria import REGIONS, diff_aria, region_snapshots
from moodle_regress.browser.visual import (
    DEFAULT_THRESHOLD,
    DEFAULT_TOLERANCE,
    VOLATILE_SELECTORS,
    VisualDiff,
    load_image,
    save_png,
    screenshot,
)
from moodle_regress.compare import Comparison
from moodle_regress.expected import ExpectedChanges
from moodle_regress.files import write_json_atomic
from moodle_regress.observation import Observation, make_key
from moodle_regress.recording import (
    Recorder,
    attach_png,
    attach_text,
    merge_parts,
    parts_dir,
)
from moodle_regress.snapshot import Snapshot, SnapshotMeta

if TYPE_CHECKING:
    from playwright.sync_api import Page

AREA = "pages"
SNAPSHOT_NAME = "snapshot.json"
DIFFERENCES_NAME = "differences.json"
#: What a worker's part of the page differences ends with (beside the core's parts).
DIFFERENCES_PART = ".differences.json"


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_")[:120] or "page"


@dataclass
class PageDifference:
    """How one page differs from the baseline; paths relative to the output folder."""

    entity: str
    aria_diff: str
    visual_share: float | None
    visual_threshold: float
    visual_exceeds: bool
    visual_summary: str
    before: str | None
    after: str
    difference: str | None
    #: Every difference of the page is accepted by the expected-changes rules.
    expected: bool = True
    reasons: list[str] = field(default_factory=list)
    aria_changed: bool = field(init=False)

    def __post_init__(self) -> None:
        self.aria_changed = bool(self.aria_diff)

    @property
    def changed(self) -> bool:
        return self.aria_changed or self.visual_exceeds


@dataclass
class PageRecord:
    """What :meth:`BrowserRecorder.observe` saw on one page."""

    entity: str
    regions: dict[str, str | None]
    screenshot: Path
    difference: PageDifference | None = None


class BrowserRecorder:
    """One worker's browser observations (through the core recorder) and page differences."""

    def __init__(
        self,
        out_dir: Path,
        *,
        site_url: str,
        release: str,
        baseline: Snapshot | None = None,
        expected: ExpectedChanges | None = None,
        threshold: float = DEFAULT_THRESHOLD,
        tolerance: int = DEFAULT_TOLERANCE,
        worker: str = "main",
        site_names: tuple[str, ...] = (),
    ) -> None:
        self.out_dir = out_dir
        self.site_url = site_url
        self.release = release
        self.threshold = threshold
        self.tolerance = tolerance
        # Each site has its own name; it appears in the navbar of every page.
        self.site_names = {name: "{sitename}" for name in site_names if name}
        self.core = Recorder(
            out_dir / SNAPSHOT_NAME, baseline=baseline, expected=expected, worker=worker
        )
        # Notes say what could not be observed (the report lists them): none to start with.
        self.core.start(SnapshotMeta(site_url=site_url, release=release))
        self.differences: list[PageDifference] = []

    @property
    def baseline(self) -> Snapshot | None:
        return self.core.baseline

    @property
    def snapshot(self) -> Snapshot:
        assert self.core.snapshot is not None
        return self.core.snapshot

    # --- observing ------------------------------------------------------------------

    def record(self, entity: str, aspect: str, value: Any) -> Observation:
        """A plain fact about a page (``value`` already normalised, JSON-able)."""
        observation = self._observation(make_key(AREA, entity, aspect), value)
        self.core.keep(None, [observation])
        return observation

    def observe(
        self,
        page: Page,
        entity: str,
        *,
        regions: Mapping[str, tuple[str, ...]] = REGIONS,
        replacements: Mapping[str, str] | None = None,
        mask: tuple[str, ...] = VOLATILE_SELECTORS,
    ) -> PageRecord:
        """ARIA snapshot of the key regions and a masked screenshot, compared to the baseline."""
        texts = region_snapshots(
            page,
            regions,
            site_url=self.site_url,
            replacements={**(replacements or {}), **self.site_names},
        )
        shot = screenshot(page, self.out_dir / "shots" / f"{slug(entity)}.png", mask_selectors=mask)
        size = load_image(shot).size
        aria = self._observation(make_key(AREA, entity, "aria"), texts)
        visual = self._observation(
            make_key(AREA, entity, "visual"),
            {"width": size[0], "height": size[1]},
            attachments={"screenshot": str(shot)},
        )
        attach_text(f"{entity}: ARIA snapshot", joined_regions(texts))
        attach_png(f"{entity}: screenshot", shot)
        record = PageRecord(entity, texts, shot)
        record.difference = self._compare(entity, aria, visual)
        if record.difference is not None and record.difference.difference:
            # The HTML report shows this beside the before and after screenshots.
            visual = self._observation(
                visual.key,
                visual.value,
                attachments={
                    **visual.attachments,
                    "difference": str(self.out_dir / record.difference.difference),
                },
            )
        self.core.keep(None, [aria, visual])
        return record

    def _observation(
        self, key: str, value: Any, attachments: Mapping[str, str] | None = None
    ) -> Observation:
        return Observation(
            key=key,
            value=value,
            source="browser",
            release=self.release,
            attachments=dict(attachments or {}),
        )

    # --- the browser's comparisons: ARIA text and pictures ------------------------------

    def _compare(
        self, entity: str, aria: Observation, visual: Observation
    ) -> PageDifference | None:
        baseline = self.core.baseline
        if baseline is None or (
            baseline.get(aria.key) is None and baseline.get(visual.key) is None
        ):
            return None  # a page the baseline never saw: the snapshot comparison reports it
        comparison = self.core.compare_keys(
            [aria.key, visual.key],
            [aria, visual],
            visual=True,
            threshold=self.threshold,
            tolerance=self.tolerance,
        )
        assert comparison is not None
        before_aria = comparison.before.get(aria.key)
        aria_diff = diff_aria(
            joined_regions(before_aria.value) if before_aria is not None else "",
            joined_regions(aria.value),
            before_label=f"{entity} ({baseline.meta.release or 'baseline'})",
            after_label=f"{entity} ({self.release or 'this run'})",
        )
        check = comparison.visual_checks.get(visual.key)
        difference = PageDifference(
            entity=entity,
            aria_diff=aria_diff,
            visual_share=check.share if check is not None else None,
            visual_threshold=self.threshold,
            visual_exceeds=check.exceeds if check is not None else False,
            visual_summary=check.summary() if check is not None else _no_check(comparison, visual),
            before=None,
            after=self._rel(Path(visual.attachments["screenshot"])),
            difference=None,
            expected=not comparison.unexpected,
            reasons=sorted({d.reason for d in comparison.differences if d.reason}),
        )
        if check is not None:
            self._save_pictures(entity, comparison, visual, check, difference)
        if aria_diff:
            attach_text(f"{entity}: ARIA difference", aria_diff)
        attach_text(f"{entity}: visual difference", difference.visual_summary)
        self.differences.append(difference)
        return difference

    def _save_pictures(
        self,
        entity: str,
        comparison: Comparison,
        visual: Observation,
        check: VisualDiff,
        difference: PageDifference,
    ) -> None:
        """The baseline's screenshot and the difference image, beside this run's."""
        before_visual = comparison.before.get(visual.key)
        before_path = (
            comparison.before.attachment_path(before_visual, "screenshot")
            if before_visual is not None
            else None
        )
        if before_path is None:
            return
        name = slug(entity)
        before_copy = self.out_dir / "diffs" / f"{name}.before.png"
        before_copy.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(before_path, before_copy)
        difference.before = self._rel(before_copy)
        if check.diff_image is None:
            return
        diff_path = save_png(check.diff_image, self.out_dir / "diffs" / f"{name}.diff.png")
        difference.difference = self._rel(diff_path)
        attach_png(f"{entity}: before", before_copy)
        attach_png(f"{entity}: after", Path(visual.attachments["screenshot"]))
        attach_png(f"{entity}: difference", diff_path)

    def _rel(self, path: Path) -> str:
        try:
            return str(path.resolve().relative_to(self.out_dir.resolve()))
        except ValueError:
            return str(path)

    # --- files ------------------------------------------------------------------------

    def save_part(self) -> None:
        """Write this worker's observations and page differences (see :func:`merge`)."""
        self.core.save_part()
        baseline = self.core.baseline
        write_json_atomic(
            parts_dir(self.out_dir / SNAPSHOT_NAME) / f"{self.core.worker}{DIFFERENCES_PART}",
            {
                "baseline": str(baseline.path) if baseline and baseline.path else None,
                "baseline_release": baseline.meta.release if baseline else None,
                "release": self.release,
                "pages": [asdict(d) for d in self.differences],
            },
        )


def merge(out_dir: Path) -> Path | None:
    """Merge every worker's part into ``snapshot.json`` and ``differences.json``."""
    target = out_dir / SNAPSHOT_NAME
    pages: list[dict[str, Any]] = []
    header: dict[str, Any] = {}
    for part in sorted(parts_dir(target).glob(f"*{DIFFERENCES_PART}")):
        data = json.loads(part.read_text())
        pages.extend(data.get("pages", []))
        header = {k: v for k, v in data.items() if k != "pages"}
    merged = merge_parts(target)
    if merged is None:
        return None
    pages.sort(key=lambda p: str(p["entity"]))
    write_json_atomic(out_dir / DIFFERENCES_NAME, {**header, "pages": pages})
    return target


def joined_regions(texts: Any) -> str:
    """The regions' ARIA texts as one text, region by region."""
    if not isinstance(texts, dict):
        return str(texts)
    return "".join(
        f"# region: {name}\n{text if text is not None else '(absent)' + chr(10)}"
        for name, text in texts.items()
    )


def _no_check(comparison: Comparison, visual: Observation) -> str:
    if comparison.before.get(visual.key) is None:
        return "no baseline screenshot"
    return "the screenshots could not be compared"
