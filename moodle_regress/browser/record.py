"""Recording what a page shows, and comparing it with a baseline run.

Each observed page gives two observations (source ``browser``):

- ``pages/<entity>/aria``: the normalised ARIA snapshot of each key region;
- ``pages/<entity>/visual``: the screenshot's size, with the screenshot attached.

Tests add plain facts (body classes, landmarks, section order) with :meth:`record`.
With a baseline (a browser snapshot from an earlier run, on the old release), each
page is compared at once: the ARIA diff and the visual difference (share of pixels
changed, a highlighted difference image) go to allure and to ``differences.json``,
which the HTML report reads to show before, after and difference side by side.

Under pytest-xdist every worker writes its own part; the controlling process merges
the parts into ``snapshot.json`` and ``differences.json`` at the end.
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
    ImageCompareError,
    compare_images,
    load_image,
    save_png,
    screenshot,
)
from moodle_regress.files import write_json_atomic
from moodle_regress.observation import Observation, make_key
from moodle_regress.snapshot import Snapshot, SnapshotMeta

if TYPE_CHECKING:
    from playwright.sync_api import Page

AREA = "pages"
SNAPSHOT_NAME = "snapshot.json"
DIFFERENCES_NAME = "differences.json"
PARTS_DIR = "parts"


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
    """Collects one worker's browser observations and compares them with a baseline."""

    def __init__(
        self,
        out_dir: Path,
        *,
        site_url: str,
        release: str,
        baseline: Snapshot | None = None,
        threshold: float = DEFAULT_THRESHOLD,
        tolerance: int = DEFAULT_TOLERANCE,
        worker: str = "main",
        site_names: tuple[str, ...] = (),
    ) -> None:
        self.out_dir = out_dir
        self.site_url = site_url
        self.release = release
        self.baseline = baseline
        self.threshold = threshold
        self.tolerance = tolerance
        self.worker = worker
        # Each site has its own name; it appears in the navbar of every page.
        self.site_names = {name: "{sitename}" for name in site_names if name}
        self.snapshot = Snapshot(
            SnapshotMeta(site_url=site_url, release=release, notes=["browser observations"])
        )
        self.differences: list[PageDifference] = []

    # --- observing ------------------------------------------------------------------

    def record(self, entity: str, aspect: str, value: Any) -> Observation:
        """A plain fact about a page (``value`` already normalised, JSON-able)."""
        observation = Observation(
            key=make_key(AREA, entity, aspect), value=value, source="browser", release=self.release
        )
        self.snapshot.add(observation)
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
        aria_key = make_key(AREA, entity, "aria")
        visual_key = make_key(AREA, entity, "visual")
        self.snapshot.add(
            Observation(key=aria_key, value=texts, source="browser", release=self.release)
        )
        record = PageRecord(entity, texts, shot)
        _attach_text(f"{entity}: ARIA snapshot", _joined(texts))
        _attach_png(f"{entity}: screenshot", shot)
        attachments = {"screenshot": str(shot)}
        if self.baseline is not None:
            record.difference = self._compare(entity, aria_key, visual_key, texts, shot)
            if record.difference is not None and record.difference.difference:
                # The HTML report shows this beside the before and after screenshots.
                attachments["difference"] = str(self.out_dir / record.difference.difference)
        self.snapshot.add(
            Observation(
                key=visual_key,
                value={"width": size[0], "height": size[1]},
                source="browser",
                release=self.release,
                attachments=attachments,
            )
        )
        return record

    def _compare(
        self,
        entity: str,
        aria_key: str,
        visual_key: str,
        texts: dict[str, str | None],
        shot: Path,
    ) -> PageDifference | None:
        assert self.baseline is not None
        before_aria = self.baseline.get(aria_key)
        before_visual = self.baseline.get(visual_key)
        if before_aria is None and before_visual is None:
            return None  # a page the baseline never saw: the snapshot comparison reports it
        before_text = _joined(before_aria.value) if before_aria is not None else ""
        aria_diff = diff_aria(
            before_text,
            _joined(texts),
            before_label=f"{entity} ({self.baseline.meta.release or 'baseline'})",
            after_label=f"{entity} ({self.release or 'this run'})",
        )
        before_path = (
            self.baseline.attachment_path(before_visual, "screenshot")
            if before_visual is not None
            else None
        )
        share: float | None = None
        exceeds = False
        summary = "no baseline screenshot"
        before_rel: str | None = None
        diff_rel: str | None = None
        if before_path is not None and before_path.is_file():
            try:
                visual = compare_images(
                    before_path, shot, tolerance=self.tolerance, threshold=self.threshold
                )
            except ImageCompareError as exc:
                summary = str(exc)
            else:
                share, exceeds, summary = visual.share, visual.exceeds, visual.summary()
                name = slug(entity)
                before_copy = self.out_dir / "diffs" / f"{name}.before.png"
                before_copy.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(before_path, before_copy)
                before_rel = self._rel(before_copy)
                if visual.diff_image is not None:
                    diff_path = save_png(
                        visual.diff_image, self.out_dir / "diffs" / f"{name}.diff.png"
                    )
                    diff_rel = self._rel(diff_path)
                    _attach_png(f"{entity}: before", before_copy)
                    _attach_png(f"{entity}: after", shot)
                    _attach_png(f"{entity}: difference", diff_path)
        if aria_diff:
            _attach_text(f"{entity}: ARIA difference", aria_diff)
        _attach_text(f"{entity}: visual difference", summary)
        difference = PageDifference(
            entity=entity,
            aria_diff=aria_diff,
            visual_share=share,
            visual_threshold=self.threshold,
            visual_exceeds=exceeds,
            visual_summary=summary,
            before=before_rel,
            after=self._rel(shot),
            difference=diff_rel,
        )
        self.differences.append(difference)
        return difference

    def _rel(self, path: Path) -> str:
        try:
            return str(path.resolve().relative_to(self.out_dir.resolve()))
        except ValueError:
            return str(path)

    # --- files ------------------------------------------------------------------------

    def save_part(self) -> None:
        """Write this worker's part under ``parts/`` (merged by :func:`merge_parts`)."""
        parts = self.out_dir / PARTS_DIR
        self.snapshot.save(parts / f"snapshot.{self.worker}.json")
        write_json_atomic(
            parts / f"differences.{self.worker}.json",
            {
                "baseline": str(self.baseline.path)
                if self.baseline and self.baseline.path
                else None,
                "baseline_release": self.baseline.meta.release if self.baseline else None,
                "release": self.release,
                "pages": [asdict(d) for d in self.differences],
            },
        )


def merge_parts(out_dir: Path) -> Path | None:
    """Merge every worker's part into ``snapshot.json`` and ``differences.json``."""
    parts = sorted((out_dir / PARTS_DIR).glob("snapshot.*.json"))
    if not parts:
        return None
    merged: Snapshot | None = None
    for part in parts:
        loaded = Snapshot.load(part)
        # Paths in a part are relative to parts/; make them absolute before re-saving.
        absolute = [
            Observation(
                key=o.key,
                value=o.value,
                source=o.source,
                release=o.release,
                attachments={
                    n: str(loaded.attachment_path(o, n) or r) for n, r in o.attachments.items()
                },
            )
            for o in loaded
        ]
        if merged is None:
            merged = Snapshot(loaded.meta)
        merged.extend(absolute)
    assert merged is not None
    target = out_dir / SNAPSHOT_NAME
    merged.save(target)

    pages: list[dict[str, Any]] = []
    header: dict[str, Any] = {}
    for part in sorted((out_dir / PARTS_DIR).glob("differences.*.json")):
        data = json.loads(part.read_text())
        pages.extend(data.get("pages", []))
        header = {k: v for k, v in data.items() if k != "pages"}
    pages.sort(key=lambda p: str(p["entity"]))
    write_json_atomic(out_dir / DIFFERENCES_NAME, {**header, "pages": pages})
    return target


def _joined(texts: Any) -> str:
    if not isinstance(texts, dict):
        return str(texts)
    return "".join(
        f"# region: {name}\n{text if text is not None else '(absent)' + chr(10)}"
        for name, text in texts.items()
    )


def _attach_text(name: str, text: str) -> None:
    try:
        import allure
    except ImportError:  # allure is optional at run time: the files on disk remain
        return
    allure.attach(text, name=name, attachment_type=allure.attachment_type.TEXT)


def _attach_png(name: str, path: Path) -> None:
    try:
        import allure
    except ImportError:
        return
    allure.attach.file(  # type: ignore[no-untyped-call]
        str(path), name=name, attachment_type=allure.attachment_type.PNG
    )
