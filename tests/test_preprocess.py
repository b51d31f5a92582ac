"""Preprocessing drawings and pictures like the datasets, checked against the datasets' own images.

A real test image, enlarged 10x, moved within a larger canvas and inverted (dark ink on light
paper), must come back as itself, and the model must encode it where it encodes the original.
"""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

from vae_core.store.checkpoints import load_checkpoint
from vae_core.data.preprocess import (DATA_URL_PREFIX, DatasetStyle, PreprocessError, center_like_dataset,
                                 centre_of_mass, decode_data_url, ink_on_dark, prepare, prepare_bytes, read_picture)

REPO = Path(__file__).resolve().parents[1]
MNIST = REPO / "checkpoints" / "mnist5k-2d"
DIGITS_2D = REPO / "checkpoints" / "digits-2d"
DIGITS_8D = REPO / "checkpoints" / "digits-8d"

needs = pytest.mark.skipif(not all((p / "model.safetensors").is_file() for p in (MNIST, DIGITS_2D, DIGITS_8D)),
                           reason="the bundled checkpoints are not built (checkpoints/rebuild.sh)")


def enlarge(img: np.ndarray, factor: int, canvas: tuple[int, int], at: tuple[int, int]) -> np.ndarray:
    """img (H, W) in [0, 1], nearest-neighbour enlarged and placed on a black canvas at (row, column)."""
    big = np.kron(img, np.ones((factor, factor)))
    out = np.zeros(canvas)
    out[at[0]:at[0] + big.shape[0], at[1]:at[1] + big.shape[1]] = big
    return out


def stroke_drawing(digit: int, size: int = 280, width: int = 22) -> np.ndarray:
    """A digit drawn as the canvas draws it: thick white strokes on black."""
    im = Image.new("L", (size, size), 0)
    d = ImageDraw.Draw(im)
    s = size / 280
    if digit == 0:
        d.ellipse([80 * s, 40 * s, 200 * s, 240 * s], outline=255, width=width)
    elif digit == 1:
        d.line([(150 * s, 40 * s), (140 * s, 240 * s)], fill=255, width=width)
    elif digit == 7:
        d.line([(70 * s, 50 * s), (210 * s, 50 * s), (120 * s, 240 * s)], fill=255, width=width, joint="curve")
    return np.asarray(im, np.float32) / 255


def png_bytes(arr: np.ndarray, mode: str = "L", fmt: str = "PNG") -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr, mode=mode).save(buf, format=fmt)
    return buf.getvalue()


@pytest.fixture(scope="module")
def mnist():
    return load_checkpoint(MNIST)


@pytest.fixture(scope="module")
def digits():
    return load_checkpoint(DIGITS_2D)


def _round_trip(ckpt, n: int):
    style = DatasetStyle.from_images(ckpt.sample.images)
    imgs = ckpt.sample.images[:n].astype(np.float32) / 255
    errors, moved = [], []
    with torch.inference_mode():
        mu0, _ = ckpt.model.encode(torch.from_numpy(imgs[:, None]))
        for i, img in enumerate(imgs):
            h, w = img.shape
            paper = 1.0 - enlarge(img, 10, (10 * h + 90, 10 * w + 140), (37, 81))  # dark ink on light paper
            x = prepare(paper, style)
            errors.append(np.abs(x[0] - img).mean())
            mu, _ = ckpt.model.encode(torch.from_numpy(x[None]))
            moved.append(float((mu[0] - mu0[i]).norm()))
    spread = float(mu0.std(0).mean())
    return np.array(errors), np.array(moved) / spread


@needs
def test_style_measured_on_mnist_is_mnists_rule(mnist):
    style = DatasetStyle.from_images(mnist.sample.images)
    assert style.box_pixels() == 20  # the 20x20 box of LeCun et al.
    assert style.centre == pytest.approx((14.0, 14.0), abs=0.5)  # centre of mass at the frame's centre
    assert style.peak == pytest.approx(1.0)
    assert 0.2 < style.coverage < 0.5


@needs
def test_style_measured_on_sklearn_digits_fills_the_frame(digits):
    style = DatasetStyle.from_images(digits.sample.images)
    assert (style.height, style.width) == (8, 8)
    assert style.box_pixels() == 8  # the 8x8 digits span the whole height
    assert style.centre == pytest.approx((3.5, 3.5), abs=0.3)


@needs
def test_enlarged_moved_inverted_mnist_images_come_back_and_encode_alike(mnist):
    errors, moved = _round_trip(mnist, 60)
    assert np.median(errors) < 0.005 and np.percentile(errors, 90) < 0.02
    assert np.median(moved) < 0.01 and np.percentile(moved, 90) < 0.05  # |mu - mu_original| / spread of mu


@needs
def test_enlarged_moved_inverted_digits_come_back_and_encode_alike(digits):
    errors, moved = _round_trip(digits, 60)
    assert np.median(errors) < 0.01
    assert np.median(moved) < 0.05


@needs
def test_preprocessing_ignores_position_polarity_and_size(mnist):
    style = DatasetStyle.from_images(mnist.sample.images)
    img = mnist.sample.images[3].astype(np.float32) / 255
    a = prepare(enlarge(img, 10, (400, 400), (10, 20)), style)
    b = prepare(enlarge(img, 10, (400, 400), (100, 111)), style)
    c = prepare(1.0 - enlarge(img, 10, (400, 400), (50, 50)), style)
    d = prepare(enlarge(img, 7, (300, 300), (20, 20)), style)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, c)
    assert np.abs(a - d).mean() < 0.03
    assert a.dtype == np.float32 and a.shape == (1, 28, 28) and a.min() >= 0 and a.max() <= 1


@needs
@pytest.mark.parametrize("model", [DIGITS_8D, MNIST], ids=["digits-8d", "mnist5k-2d"])
def test_drawn_digits_land_among_their_class(model):
    """Strokes drawn like the canvas draws them, encoded by a real model: most of the 10 test images with
    the nearest mu are of the drawn class."""
    ckpt = load_checkpoint(model)
    style = DatasetStyle.from_images(ckpt.sample.images)
    with torch.inference_mode():
        mu_all, _ = ckpt.model.encode(ckpt.sample.as_tensor())
        for digit in (1, 7):
            x = prepare(stroke_drawing(digit), style)
            mu, _ = ckpt.model.encode(torch.from_numpy(x[None]))
            nearest = (mu_all - mu).norm(dim=1).argsort()[:10].numpy()
            votes = np.bincount(ckpt.sample.labels[nearest], minlength=10)
            assert votes.argmax() == digit, (digit, votes)


@needs
def test_thin_strokes_are_thickened_for_the_8x8_digits(digits):
    style = DatasetStyle.from_images(digits.sample.images)
    x = prepare(stroke_drawing(7, width=10), style)[0]
    rows, cols = np.flatnonzero((x > 0.2).any(1)), np.flatnonzero((x > 0.2).any(0))
    box = x[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
    assert box.mean() / box.max() >= 0.8 * style.coverage  # as much ink in its box as a typical real digit
    mnist_style = DatasetStyle.mnist()
    assert mnist_style.coverage == 0  # no measured stroke width: strokes kept as drawn


def test_centre_of_mass_and_polarity():
    img = np.zeros((5, 7))
    img[1, 5] = 1.0
    assert centre_of_mass(img) == (1.0, 5.0)
    assert centre_of_mass(np.zeros((4, 4))) == (1.5, 1.5)
    paper = np.ones((10, 10))
    paper[4:6, 4:6] = 0
    assert ink_on_dark(paper)[5, 5] == 1 and ink_on_dark(paper)[0, 0] == 0


def test_blank_or_broken_input_gives_a_clear_error():
    style = DatasetStyle.mnist()
    with pytest.raises(PreprocessError, match="nothing drawn"):
        prepare(np.zeros((280, 280)), style)
    with pytest.raises(PreprocessError, match="nothing drawn"):
        prepare(np.full((50, 50), np.nan), style)
    with pytest.raises(PreprocessError, match="2-D"):
        center_like_dataset(np.zeros(10), style)
    with pytest.raises(PreprocessError, match="blank"):
        DatasetStyle.from_images(np.zeros((3, 8, 8), np.uint8))


def test_reading_pictures_png_jpeg_transparent():
    ink = np.zeros((60, 40), np.uint8)
    ink[10:50, 18:23] = 255
    grey = read_picture(png_bytes(ink))
    assert grey.shape == (60, 40) and grey.max() == 1.0
    jpeg = read_picture(png_bytes(255 - ink, fmt="JPEG"))  # dark ink on white paper, lossy
    assert jpeg[30, 20] < 0.2 and jpeg[0, 0] > 0.8
    rgba = np.zeros((60, 40, 4), np.uint8)  # black ink on a transparent background
    rgba[10:50, 18:23, 3] = 255
    flat = read_picture(png_bytes(rgba, mode="RGBA"))
    assert flat[30, 20] < 0.1 and flat[0, 0] > 0.9  # flattened onto white, so the ink stays visible
    style = DatasetStyle.mnist()
    a = prepare(grey, style)
    for data in (png_bytes(255 - ink), png_bytes(rgba, mode="RGBA")):
        _, b = prepare_bytes(data, style)
        np.testing.assert_allclose(a, b, atol=1e-6)


def test_bad_files_are_refused_with_messages():
    with pytest.raises(PreprocessError, match="empty"):
        read_picture(b"")
    with pytest.raises(PreprocessError, match="not a picture"):
        read_picture(b"%PDF-1.4 this is not an image")
    with pytest.raises(PreprocessError, match="MB"):
        read_picture(b"\x89PNG" + b"0" * 100, max_bytes=50)
    png = png_bytes(np.full((64, 64), 255, np.uint8))
    with pytest.raises(PreprocessError, match="damaged|not a picture"):
        read_picture(png[: len(png) // 2])
    huge = png_bytes(np.zeros((5000, 6000), np.uint8))  # 30 megapixels, a few KB compressed
    with pytest.raises(PreprocessError, match="megapixels"):
        read_picture(huge)
    with pytest.raises(PreprocessError, match="only"):
        read_picture(png_bytes(np.zeros((2, 2), np.uint8)))


def test_data_urls():
    png = png_bytes(np.zeros((4, 4), np.uint8))
    import base64

    assert decode_data_url(DATA_URL_PREFIX + base64.b64encode(png).decode()) == png
    for bad in ("data:text/html;base64,AAAA", DATA_URL_PREFIX + "***", None, 42):
        with pytest.raises(PreprocessError):
            decode_data_url(bad)
    with pytest.raises(PreprocessError, match="too large"):
        decode_data_url(DATA_URL_PREFIX + "A" * 200, max_bytes=10)
