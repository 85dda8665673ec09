"""Pixel comparison on images made here with Pillow."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from moodle_regress.browser.visual import (
    HIGHLIGHT,
    ImageCompareError,
    compare_images,
    save_png,
)


def page_like(width: int = 200, height: int = 100) -> Image.Image:
    image = Image.new("RGB", (width, height), (250, 250, 250))
    draw = ImageDraw.Draw(image)
    draw.rectangle((10, 10, 90, 30), fill=(15, 108, 191))
    return image


def test_identical_images_have_no_change() -> None:
    result = compare_images(page_like(), page_like())
    assert result.changed_pixels == 0
    assert result.share == 0.0
    assert not result.exceeds
    assert not result.size_changed


def test_small_channel_noise_stays_under_the_tolerance() -> None:
    noisy = page_like()
    noisy.putpixel((50, 50), (240, 245, 250))  # 10 units off on one channel
    assert compare_images(page_like(), noisy, tolerance=16).changed_pixels == 0
    assert compare_images(page_like(), noisy, tolerance=5).changed_pixels == 1


def test_changed_block_is_counted_and_highlighted_in_red() -> None:
    after = page_like()
    ImageDraw.Draw(after).rectangle((100, 50, 109, 59), fill=(0, 0, 0))  # 10x10 new box
    result = compare_images(page_like(), after, threshold=0.001)
    assert result.changed_pixels == 100
    assert result.share == pytest.approx(100 / 20_000)
    assert result.exceeds
    assert result.diff_image is not None
    assert result.diff_image.getpixel((105, 55)) == HIGHLIGHT
    # Unchanged pixels are faded, not red: the reader sees where, not what.
    unchanged = result.diff_image.getpixel((150, 20))
    assert unchanged != HIGHLIGHT
    assert isinstance(unchanged, tuple)
    assert min(unchanged) > 240


def test_threshold_decides_whether_a_change_matters() -> None:
    after = page_like()
    ImageDraw.Draw(after).rectangle((0, 0, 9, 9), fill=(0, 0, 0))  # 0.5 % of the page
    assert compare_images(page_like(), after, threshold=0.01).exceeds is False
    assert compare_images(page_like(), after, threshold=0.001).exceeds is True


def test_a_longer_page_counts_the_extra_area_as_changed() -> None:
    result = compare_images(page_like(200, 100), page_like(200, 150))
    assert result.size_changed
    assert result.before_size == (200, 100)
    assert result.after_size == (200, 150)
    assert result.total_pixels == 200 * 150
    assert result.changed_pixels == 200 * 50
    assert "size 200x100 -> 200x150" in result.summary()


def test_files_and_png_bytes_compare_like_images(tmp_path: Path) -> None:
    before = save_png(page_like(), tmp_path / "before.png")
    after = page_like()
    after.putpixel((0, 0), (0, 0, 0))
    result = compare_images(before, save_png(after, tmp_path / "after.png"))
    assert result.changed_pixels == 1
    png = result.diff_png()
    assert png is not None and png.startswith(b"\x89PNG")
    assert compare_images(png, png).changed_pixels == 0


def test_unreadable_inputs_raise_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ImageCompareError, match="no image at"):
        compare_images(tmp_path / "missing.png", page_like())
    junk = tmp_path / "junk.png"
    junk.write_text("not a png")
    with pytest.raises(ImageCompareError, match="cannot read an image"):
        compare_images(junk, page_like())


def test_bad_tolerance_or_threshold_is_refused() -> None:
    with pytest.raises(ValueError, match="tolerance"):
        compare_images(page_like(), page_like(), tolerance=300)
    with pytest.raises(ValueError, match="threshold"):
        compare_images(page_like(), page_like(), threshold=2.0)
