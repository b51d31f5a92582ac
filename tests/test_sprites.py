"""The sprites (vae_core.data.sprites): drawn the same under a seed, each factor doing what it says to the image,
registered as the dataset "sprites" with its factors, and its factors kept in stored samples and test splits."""
from __future__ import annotations

import math

import numpy as np
import pytest

from vae_core.data import sprites
from vae_core.data.datasets import DATASETS, load_dataset
from vae_core.store import test_splits
from vae_core.store.checkpoints import load_checkpoint
from vae_core.store.files import CheckpointError, Sample, read_sample
from vae_core.training.trainer import Trainer
from vae_core.data.datasets import DataSplit

from conftest import tiny_train_config, tiny_model_config

SQUARE, ELLIPSE, HEART = 0, 1, 2


def one(shape=SQUARE, scale=5, orientation=0, x=16, y=16) -> np.ndarray:
    """One image (32, 32) float ink in [0, 1] of the given factor indices."""
    return sprites.render(np.array([[shape, scale, orientation, x, y]]))[0] / 255.0


def ink_centre(image: np.ndarray) -> tuple[float, float]:
    """(column, row) of the ink's centre of mass, in pixel units with pixel j covering [j, j + 1)."""
    rows, cols = np.indices(image.shape) + 0.5
    return float((image * cols).sum() / image.sum()), float((image * rows).sum() / image.sum())


def test_the_same_seed_draws_the_same_images_and_another_seed_others():
    a, b = sprites.generate(300, seed=3), sprites.generate(300, seed=3)
    np.testing.assert_array_equal(a.images, b.images)
    np.testing.assert_array_equal(a.factors, b.factors)
    c = sprites.generate(300, seed=4)
    assert not np.array_equal(a.factors, c.factors)
    assert a.images.shape == (300, 32, 32) and a.images.dtype == np.uint8
    assert a.factors.shape == (300, 5)


def test_factors_are_drawn_uniformly_and_independently_over_their_grid():
    f = sprites.sample_factors(40_000, seed=0)
    for j, factor in enumerate(sprites.FACTORS):
        counts = np.bincount(f[:, j], minlength=len(factor.values))
        assert len(counts) == len(factor.values)
        expected = len(f) / len(factor.values)
        assert np.abs(counts - expected).max() < 5 * math.sqrt(expected), factor.name
    corr = np.corrcoef(f.T.astype(float))
    assert np.abs(corr - np.eye(5)).max() < 0.03  # no factor tells another


@pytest.mark.parametrize("shape", [SQUARE, ELLIPSE, HEART])
def test_the_ink_centre_is_the_shapes_position(shape):
    rng = np.random.default_rng(shape)
    f = sprites.sample_factors(200, seed=10 + shape)
    f[:, 0] = shape
    images = sprites.render(f) / 255.0
    cx, cy = sprites.centres(f)
    found = np.array([ink_centre(im) for im in images])
    # the heart turns about its centroid, so every shape's ink centre is its (x, y) at any orientation
    assert np.abs(found[:, 0] - cx).max() < 0.1
    assert np.abs(found[:, 1] - cy).max() < 0.1
    i = rng.integers(0, 200)
    left, right = one(shape, 5, 7, 0, 16), one(shape, 5, 7, 31, 16)
    top, bottom = one(shape, 5, 7, 16, 0), one(shape, 5, 7, 16, 31)
    assert ink_centre(right)[0] - ink_centre(left)[0] == pytest.approx(32 - 2 * sprites.MARGIN, abs=0.1)
    assert ink_centre(bottom)[1] - ink_centre(top)[1] == pytest.approx(32 - 2 * sprites.MARGIN, abs=0.1)
    assert ink_centre(right)[1] == pytest.approx(ink_centre(left)[1], abs=0.05)  # x moves it sideways only
    assert images[i].max() > 0.99 and images[i].min() == 0.0


@pytest.mark.parametrize("shape, area_at_unit_radius", [(SQUARE, 2.0), (ELLIPSE, math.pi * sprites.ELLIPSE_MINOR),
                                                        (HEART, 3.6595 / sprites.HEART_RADIUS ** 2)])
def test_scale_changes_the_area_as_its_square(shape, area_at_unit_radius):
    areas = np.array([one(shape, s, 3).sum() for s in range(6)])
    scales = np.array(sprites.factor_values("scale"))
    expected = area_at_unit_radius * (sprites.RADIUS * scales) ** 2  # pixels: anti-aliased ink sums to the area
    np.testing.assert_allclose(areas, expected, rtol=0.04)
    assert np.all(np.diff(areas) > 0)
    assert areas[-1] / areas[0] == pytest.approx(4.0, rel=0.05)  # scale 1 against 0.5


def _major_axis_angle(image: np.ndarray) -> float:
    """The angle in [0, pi) of the ink's major axis from its second central moments, counter-clockwise from +x."""
    rows, cols = np.indices(image.shape) + 0.5
    cx, cy = ink_centre(image)
    dx, dy = cols - cx, cy - rows  # y up
    w = image / image.sum()
    mu20, mu02, mu11 = (w * dx * dx).sum(), (w * dy * dy).sum(), (w * dx * dy).sum()
    return 0.5 * math.atan2(2 * mu11, mu20 - mu02) % math.pi


def test_orientation_turns_the_ellipse_s_second_moments():
    angles = sprites.factor_values("orientation")
    for k in range(0, 40, 3):
        found = _major_axis_angle(one(ELLIPSE, 5, k))
        want = angles[k] % math.pi
        diff = abs((found - want + math.pi / 2) % math.pi - math.pi / 2)
        assert diff < math.radians(2), (k, math.degrees(found), math.degrees(want))
    # a half turn looks the same, a quarter turn does not
    np.testing.assert_allclose(one(ELLIPSE, 5, 0), one(ELLIPSE, 5, 20), atol=2 / 255)
    assert np.abs(one(ELLIPSE, 5, 0) - one(ELLIPSE, 5, 10)).max() > 0.9


def test_each_shape_looks_like_its_name():
    square, ellipse, heart = (one(s, 5, 0) for s in (SQUARE, ELLIPSE, HEART))
    ink = square > 0.5
    rows, cols = np.nonzero(ink)
    box = (np.ptp(rows) + 1) * (np.ptp(cols) + 1)
    assert ink.sum() / box > 0.95  # a square at orientation 0 fills its box
    rows, cols = np.nonzero(ellipse > 0.5)
    assert (np.ptp(cols) + 1) / (np.ptp(rows) + 1) == pytest.approx(1 / sprites.ELLIPSE_MINOR, rel=0.15)  # 2:1, lying
    # the heart: lobes above and a point below, so its ink sits above the middle of its box; and it is not
    # symmetric under a half turn, unlike the square and the ellipse
    rows, _ = np.nonzero(heart > 0.5)
    assert ink_centre(heart)[1] < (rows.min() + rows.max() + 1) / 2 - 0.5
    assert np.abs(one(HEART, 5, 0) - one(HEART, 5, 20)).max() > 0.9
    np.testing.assert_allclose(one(SQUARE, 5, 0), one(SQUARE, 5, 10), atol=2 / 255)  # a quarter turn: the same


def test_render_refuses_factors_off_the_grid():
    with pytest.raises(ValueError, match="shape"):
        sprites.render(np.array([[3, 0, 0, 0, 0]]))
    with pytest.raises(ValueError, match="x position"):
        sprites.render(np.array([[0, 0, 0, 32, 0]]))
    with pytest.raises(ValueError, match=r"\(N, 5\)"):
        sprites.render(np.zeros((2, 4), int))


def test_the_dataset_sprites_is_registered_with_its_factors_and_a_seeded_split():
    assert "sprites" in DATASETS
    split = load_dataset("sprites")
    assert (len(split.train), len(split.test)) == (32_000, 8_000)
    assert split.test.image_shape == (1, 32, 32)
    assert split.test.class_names == ["square", "ellipse", "heart"]
    for part in (split.train, split.test):
        assert part.factor_names == ["shape", "scale", "orientation", "x position", "y position"]
        np.testing.assert_array_equal(part.factors[:, 0], part.labels.numpy())  # the label is the shape
    # the images are the factors drawn: render the test split's factors again
    pixels = np.round(split.test.images[:500, 0].numpy() * 255).astype(np.uint8)
    np.testing.assert_array_equal(pixels, sprites.render(split.test.factors[:500]))
    other = load_dataset("sprites", seed=1)
    assert not np.array_equal(other.test.factors, split.test.factors)
    np.testing.assert_array_equal(load_dataset("sprites").test.factors, split.test.factors)
    shares = np.bincount(split.test.labels.numpy()) / len(split.test)
    np.testing.assert_allclose(shares, np.bincount(split.train.labels.numpy()) / len(split.train), atol=0.001)
    sub = split.test.subset(100, seed=2)
    np.testing.assert_array_equal(sub.factors[:, 0], sub.labels.numpy())


def test_a_test_split_with_factors_round_trips_and_old_samples_still_load(tmp_path):
    split = load_dataset("sprites")
    images = np.round(split.test.images[:, 0].numpy() * 255).astype(np.uint8)
    sample = Sample(images, split.test.labels.numpy(), split.test.class_names, split.test.factors,
                    split.test.factor_names)
    ref = test_splits.write(tmp_path, "sprites", sample)
    back = read_sample(tmp_path / "test-splits" / "sprites.npz")
    np.testing.assert_array_equal(back.images, images)
    np.testing.assert_array_equal(back.factors, split.test.factors)
    assert back.factor_names == split.test.factor_names
    assert ref["sha256"] == test_splits.write(tmp_path, "sprites", sample)["sha256"]  # reproducible bytes
    old = tmp_path / "old.npz"
    np.savez(old, images=images[:5], labels=sample.labels[:5], class_names=np.array(sample.class_names))
    plain = read_sample(old)
    assert plain.factors is None and plain.factor_names == []
    assert set(plain.arrays()) == {"images", "labels", "class_names"}  # nothing added to a plain sample


def test_a_sample_with_damaged_factors_is_refused(tmp_path):
    images = np.zeros((4, 32, 32), np.uint8)
    bad = tmp_path / "bad.npz"
    np.savez(bad, images=images, labels=np.zeros(4, int), class_names=np.array(["a"]),
             factors=np.zeros((3, 5), int), factor_names=np.array(list("abcde")))
    with pytest.raises(CheckpointError, match="factors"):
        read_sample(bad)
    np.savez(bad, images=images, labels=np.zeros(4, int), class_names=np.array(["a"]),
             factors=np.zeros((4, 5), float), factor_names=np.array(list("abcde")))
    with pytest.raises(CheckpointError, match="integers"):
        read_sample(bad)


def test_a_model_trained_on_sprites_stores_its_images_factors(tmp_path):
    split = load_dataset("sprites")
    small = DataSplit(split.train.subset(512, seed=0), split.test.subset(64, seed=0))
    out = tmp_path / "sprites-vae"
    cfg = tiny_model_config(image_shape=(1, 32, 32), latent_dim=3, num_classes=3)
    Trainer(cfg, tiny_train_config(dataset="sprites", epochs=1), small, out_dir=out, sample_size=20).fit()
    sample = load_checkpoint(out).sample
    assert sample.factors.shape == (20, 5) and sample.factor_names == small.test.factor_names
    # each stored image is the one its factors draw
    np.testing.assert_array_equal(sample.images, sprites.render(sample.factors))
    # evaluate scores the stored images against their factors; on two images it says why it cannot
    report = _evaluate_json(out, "--on-sample")
    assert report["disentanglement"]["n_images"] == 20 and len(report["disentanglement"]["dimension_factor"]) == 3
    Trainer(cfg, tiny_train_config(dataset="sprites", epochs=1), small, out_dir=tmp_path / "two", sample_size=2).fit()
    report = _evaluate_json(tmp_path / "two", "--on-sample")
    assert report["n_images"] == 2 and report["disentanglement"]["note"].startswith("not scored: ")


def _evaluate_json(path, *flags) -> dict:
    import io
    import json
    from contextlib import redirect_stdout

    from vae_core.__main__ import main

    out = io.StringIO()
    with redirect_stdout(out):
        assert main(["evaluate", str(path), "--json", "--iwae-k", "2", *flags]) == 0
    return json.loads(out.getvalue())
