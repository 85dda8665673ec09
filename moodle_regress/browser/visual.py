"""Screenshots with volatile regions masked, and pixel comparison with Pillow.

Two screenshots are compared pixel by pixel: a pixel counts as changed when any
colour channel differs by more than ``tolerance`` (anti-aliasing and font hinting
move channels by a few units without anything visibly changing).  The share of
changed pixels is set against ``threshold``.  Screenshots of different sizes are
laid over each other from the top-left corner; area covered by only one of them
counts as changed.  The difference image shows the new screenshot faded, with every
changed pixel in bright red, so a reader sees at once where the page moved.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from PIL import Image, ImageChops

from moodle_regress.errors import MoodleRegressError
from moodle_regress.files import write_atomic

if TYPE_CHECKING:
    from playwright.sync_api import Page

DEFAULT_TOLERANCE = 24
DEFAULT_THRESHOLD = 0.01
HIGHLIGHT = (255, 0, 64)
MASK_COLOR = "#FF00FF"

#: Parts of Moodle pages that change between runs without meaning anything: dates
#: and calendars, timelines and "recently accessed" lists, user pictures (initials
#: depend on seeded names), the footer's timing and session information.
VOLATILE_SELECTORS: tuple[str, ...] = (
    "time",
    ".block_calendar_month",
    ".block_calendar_upcoming",
    "[data-region='timeline']",
    ".block_timeline",
    ".block_recentlyaccesseditems",
    ".block_recentlyaccessedcourses",
    "[data-region='paged-content-container'] .text-muted",
    ".usermenu .userpicture",
    ".usermenu .userinitials",
    "#page-footer .performanceinfo",
    "#page-footer .tool_dataprivacy",
    ".logininfo",
    ".toast-wrapper",
    # Course images are patterns generated from the course id, which differs by site.
    ".dashboard-card-img",
    ".courseimage",
    # The site's own name: each sandbox has its own.
    ".navbar-brand",
)


class ImageCompareError(MoodleRegressError):
    """An image could not be read for comparison."""


@dataclass(frozen=True)
class VisualDiff:
    """The outcome of comparing two screenshots."""

    changed_pixels: int
    total_pixels: int
    tolerance: int
    threshold: float
    before_size: tuple[int, int]
    after_size: tuple[int, int]
    diff_image: Image.Image | None = None

    @property
    def share(self) -> float:
        """Share of pixels changed, 0.0 to 1.0."""
        return self.changed_pixels / self.total_pixels if self.total_pixels else 0.0

    @property
    def exceeds(self) -> bool:
        """Whether the change is above the threshold (worth a person's look)."""
        return self.share > self.threshold

    @property
    def size_changed(self) -> bool:
        return self.before_size != self.after_size

    def summary(self) -> str:
        sizes = (
            f", size {self.before_size[0]}x{self.before_size[1]} -> "
            f"{self.after_size[0]}x{self.after_size[1]}"
            if self.size_changed
            else ""
        )
        verdict = "above" if self.exceeds else "within"
        return (
            f"{self.share:.2%} of pixels changed ({verdict} threshold {self.threshold:.2%}, "
            f"tolerance {self.tolerance}/255){sizes}"
        )

    def diff_png(self) -> bytes | None:
        if self.diff_image is None:
            return None
        buffer = io.BytesIO()
        self.diff_image.save(buffer, format="PNG")
        return buffer.getvalue()


def load_image(source: Image.Image | Path | bytes) -> Image.Image:
    """An RGB image from an image, a file or PNG bytes."""
    try:
        if isinstance(source, Image.Image):
            image = source
        elif isinstance(source, bytes):
            image = Image.open(io.BytesIO(source))
        else:
            image = Image.open(source)
        image.load()
    except FileNotFoundError:
        raise ImageCompareError(f"no image at {source!s}") from None
    except (OSError, ValueError) as exc:
        where = str(source) if isinstance(source, Path) else "the given data"
        raise ImageCompareError(f"cannot read an image from {where}: {exc}") from None
    return image.convert("RGB")


def compare_images(
    before: Image.Image | Path | bytes,
    after: Image.Image | Path | bytes,
    *,
    tolerance: int = DEFAULT_TOLERANCE,
    threshold: float = DEFAULT_THRESHOLD,
    highlight: bool = True,
) -> VisualDiff:
    """Compare two images (see the module docstring for what counts as changed)."""
    if not 0 <= tolerance <= 255:
        raise ValueError(f"tolerance must be between 0 and 255, got {tolerance}")
    if not 0.0 <= threshold <= 1.0:
        raise ValueError(f"threshold must be a share between 0 and 1, got {threshold}")
    old = load_image(before)
    new = load_image(after)
    width = max(old.width, new.width)
    height = max(old.height, new.height)
    old_canvas = _on_canvas(old, width, height)
    new_canvas = _on_canvas(new, width, height)

    # Per-channel absolute difference, thresholded per channel, then OR-ed together.
    difference = ImageChops.difference(old_canvas, new_canvas)
    channels = [band.point(lambda v: 255 if v > tolerance else 0) for band in difference.split()]
    changed = channels[0]
    for band in channels[1:]:
        changed = ImageChops.lighter(changed, band)
    # Area only one image covers is changed whatever its colour.
    coverage = Image.new("L", (width, height), 255)
    coverage.paste(0, (0, 0, min(old.width, new.width), min(old.height, new.height)))
    changed = ImageChops.lighter(changed.convert("L"), coverage)
    changed_pixels = changed.histogram()[255]

    diff_image = _highlight(new_canvas, changed) if highlight else None
    return VisualDiff(
        changed_pixels=changed_pixels,
        total_pixels=width * height,
        tolerance=tolerance,
        threshold=threshold,
        before_size=old.size,
        after_size=new.size,
        diff_image=diff_image,
    )


def _on_canvas(image: Image.Image, width: int, height: int) -> Image.Image:
    if image.size == (width, height):
        return image
    canvas = Image.new("RGB", (width, height), (255, 255, 255))
    canvas.paste(image, (0, 0))
    return canvas


def _highlight(after: Image.Image, changed: Image.Image) -> Image.Image:
    """The new image faded towards white, with changed pixels painted over in red."""
    faded = Image.blend(after, Image.new("RGB", after.size, (255, 255, 255)), 0.65)
    red = Image.new("RGB", after.size, HIGHLIGHT)
    return Image.composite(red, faded, changed)


def save_png(image: Image.Image, path: Path) -> Path:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    write_atomic(path, buffer.getvalue())
    return path


def screenshot(
    page: Page,
    path: Path,
    *,
    mask_selectors: Iterable[str] = VOLATILE_SELECTORS,
    full_page: bool = True,
) -> Path:
    """A screenshot of the page with volatile regions painted over (``mask=``)."""
    masks = [page.locator(selector) for selector in mask_selectors]
    data = page.screenshot(
        full_page=full_page,
        mask=masks,
        mask_color=MASK_COLOR,
        animations="disabled",
        caret="hide",
        scale="css",
    )
    write_atomic(path, data)
    return path
