"""Latent-space walks (grid, interpolation, traversal, sanitising) and the image rendering they feed."""
from __future__ import annotations

import io
import math

import numpy as np
import pytest
import torch
from PIL import Image
from scipy.stats import norm

from vae_core.analysis.latent import (
    ABSURD_LIMIT,
    decode_batch,
    lerp,
    manifold_grid,
    normal_ppf,
    sanitize_z,
    slerp,
    traversal,
)
from vae_core.model.priors import prior_z
from vae_core.model.torch_model import VAE
from vae_core.render.images import tile, to_gif, to_png, to_uint8, upscale

from conftest import tiny_model_config

# ---------------------------------------------------------------- normal_ppf and the manifold grid


def test_normal_ppf_matches_scipy_and_torch():
    assert normal_ppf(0.5) == 0.0
    p = np.linspace(0.001, 0.999, 101)
    got = normal_ppf(p)
    np.testing.assert_allclose(got, norm.ppf(p), rtol=1e-9, atol=1e-9)
    expected_torch = torch.distributions.Normal(0.0, 1.0).icdf(torch.as_tensor(p, dtype=torch.float64)).numpy()
    np.testing.assert_allclose(got, expected_torch, rtol=1e-9, atol=1e-9)
    assert normal_ppf(0.975) == pytest.approx(1.959964, abs=1e-6)


@pytest.mark.parametrize("n", [2, 5, 20])
def test_manifold_grid_shape_and_ordering(n):
    g = manifold_grid(n)
    assert g.shape == (n * n, 2) and g.dtype == np.float32
    z1 = g[:, 0].reshape(n, n)
    z2 = g[:, 1].reshape(n, n)
    # columns go from low z1 to high z1, rows from high z2 (top) to low z2 (bottom)
    assert (np.diff(z1, axis=1) > 0).all() and (np.diff(z1, axis=0) == 0).all()
    assert (np.diff(z2, axis=0) < 0).all() and (np.diff(z2, axis=1) == 0).all()
    # symmetric about 0 and spaced by the inverse Gaussian CDF from eps to 1 - eps
    np.testing.assert_allclose(z1[0], -z1[0][::-1], atol=1e-6)
    np.testing.assert_allclose(z1[0, 0], norm.ppf(0.05), rtol=1e-6)
    np.testing.assert_allclose(z1[0], norm.ppf(np.linspace(0.05, 0.95, n)), rtol=1e-5, atol=1e-6)


def test_manifold_grid_is_denser_near_the_origin():
    ticks = manifold_grid(11)[:11, 0]
    gaps = np.diff(ticks)
    assert gaps[5] < gaps[0] and gaps[4] < gaps[-1]


# ---------------------------------------------------------------- interpolation


def test_lerp_endpoints_and_midpoint():
    a, b = torch.tensor([1.0, -2.0, 3.0]), torch.tensor([3.0, 2.0, -1.0])
    path = lerp(a, b, 5)
    assert path.shape == (5, 3)
    torch.testing.assert_close(path[0], a)
    torch.testing.assert_close(path[-1], b)
    torch.testing.assert_close(path[2], (a + b) / 2)
    torch.testing.assert_close(path[1], 0.75 * a + 0.25 * b)


def test_slerp_endpoints_and_norms_for_random_latents():
    g = torch.Generator().manual_seed(0)
    for d in (2, 8, 32):
        for _ in range(5):
            a, b = torch.randn(d, generator=g), torch.randn(d, generator=g) * 1.5
            path = slerp(a, b, 9)
            assert path.shape == (9, d) and path.dtype == torch.float32
            torch.testing.assert_close(path[0], a, atol=1e-5, rtol=1e-5)
            torch.testing.assert_close(path[-1], b, atol=1e-5, rtol=1e-5)
            # the path stays between the two shells |z| = |a| and |z| = |b|
            norms = path.norm(dim=1)
            lo, hi = min(a.norm(), b.norm()), max(a.norm(), b.norm())
            assert (norms >= lo * 0.999).all() and (norms <= hi * 1.001).all(), (d, norms, lo, hi)


def test_slerp_between_equal_norms_stays_on_the_sphere():
    a = torch.tensor([3.0, 0.0, 0.0])
    b = torch.tensor([0.0, 0.0, 3.0])
    path = slerp(a, b, 7)
    torch.testing.assert_close(path.norm(dim=1), torch.full((7,), 3.0))
    torch.testing.assert_close(path[3], torch.tensor([3 / math.sqrt(2), 0.0, 3 / math.sqrt(2)]))


def test_slerp_of_parallel_vectors_falls_back_to_lerp():
    a = torch.tensor([1.0, 2.0])
    path = slerp(a, 2 * a, 3)
    assert torch.isfinite(path).all()
    torch.testing.assert_close(path[1], 1.5 * a)


@pytest.mark.parametrize("b", [[-2.0, 0.0], [-2.0, 0.02], [-1.0, 0.0]])
def test_slerp_of_nearly_opposite_points_stays_bounded(b):
    """In a 2-D latent space two encodings on opposite sides of the origin are common.
    The path must stay finite and between the two shells, not shoot off to |z| ~ 1e16."""
    a = torch.tensor([1.0, 0.0])
    b = torch.tensor(b)
    path = slerp(a, b, 9)
    assert torch.isfinite(path).all()
    torch.testing.assert_close(path[0], a, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(path[-1], b, atol=1e-5, rtol=1e-5)
    norms = path.norm(dim=1)
    lo, hi = min(a.norm(), b.norm()).item(), max(a.norm(), b.norm()).item()
    assert (norms >= lo - 1e-4).all() and (norms <= hi + 1e-4).all(), norms


# ---------------------------------------------------------------- traversal, prior, sanitising


def test_traversal_sweeps_only_the_chosen_dimension():
    z = torch.tensor([0.5, -1.0, 2.0, 0.0])
    values = np.linspace(-3, 3, 7)
    out = traversal(z, [1, 3], values)
    assert out.shape == (2 * 7, 4)
    first, second = out[:7], out[7:]
    torch.testing.assert_close(first[:, 1], torch.tensor(values, dtype=torch.float32))
    torch.testing.assert_close(second[:, 3], torch.tensor(values, dtype=torch.float32))
    for block, d in ((first, 1), (second, 3)):
        others = [i for i in range(4) if i != d]
        assert torch.equal(block[:, others], z[others].expand(7, 3))
    assert torch.equal(z, torch.tensor([0.5, -1.0, 2.0, 0.0]))  # the input is not modified


def test_prior_z_is_seeded_and_scaled():
    a = prior_z(500, 3, seed=1)
    assert torch.equal(a, prior_z(500, 3, seed=1))
    assert not torch.equal(a, prior_z(500, 3, seed=2))
    assert a.shape == (500, 3)
    assert 0.85 < a.std().item() < 1.15
    torch.testing.assert_close(prior_z(500, 3, temperature=0.5, seed=1), a * 0.5)


def test_sanitize_z_makes_absurd_values_finite():
    z = sanitize_z([float("nan"), float("inf"), -float("inf"), 1e308, -1e308, 0.25], 6)
    assert z.dtype == np.float32 and z.shape == (6,)
    assert np.isfinite(z).all()
    np.testing.assert_array_equal(z, [0.0, ABSURD_LIMIT, -ABSURD_LIMIT, ABSURD_LIMIT, -ABSURD_LIMIT, 0.25])
    np.testing.assert_array_equal(sanitize_z(np.array([[5.0, -7.0]]), 2, limit=3.0), [3.0, -3.0])
    with pytest.raises(ValueError, match="latent_dim"):
        sanitize_z([0.0, 1.0, 2.0], 2)
    with pytest.raises(ValueError):
        sanitize_z([], 2)


def test_decode_batch_shapes_and_conditional_labels():
    torch.manual_seed(0)
    model = VAE(tiny_model_config())
    z = np.random.default_rng(0).normal(size=(10, 2))
    out = decode_batch(model, z, batch_size=3)
    assert out.shape == (10, 1, 8, 8) and out.dtype == np.float32
    assert out.min() >= 0 and out.max() <= 1
    with torch.no_grad():
        np.testing.assert_allclose(out, model.decode(torch.as_tensor(z, dtype=torch.float32)).numpy(), atol=1e-6)
    assert decode_batch(model, np.zeros((0, 2))).shape == (0, 1, 8, 8)

    cmodel = VAE(tiny_model_config(kind="cvae"))
    one = decode_batch(cmodel, z, y=3, batch_size=4)
    many = decode_batch(cmodel, z, y=[3] * 10, batch_size=4)
    np.testing.assert_array_equal(one, many)
    assert not np.array_equal(one, decode_batch(cmodel, z, y=4))


# ---------------------------------------------------------------- rendering


def test_to_uint8_one_channel():
    x = np.linspace(0, 1, 2 * 1 * 4 * 4, dtype=np.float32).reshape(2, 1, 4, 4)
    out = to_uint8(x)
    assert out.shape == (2, 4, 4) and out.dtype == np.uint8
    assert out.min() == 0 and out.max() == 255
    assert to_uint8(x[0]).shape == (1, 4, 4)  # (C, H, W) is one image
    assert to_uint8(np.full((1, 1, 2, 2), 0.5))[0, 0, 0] == 128


def test_to_uint8_three_channels_is_channel_last():
    x = np.zeros((3, 3, 5, 6), dtype=np.float32)
    x[:, 0] = 1.0  # red
    x[:, 2, 0, 0] = 0.2
    out = to_uint8(x)
    assert out.shape == (3, 5, 6, 3) and out.dtype == np.uint8
    assert (out[..., 0] == 255).all() and (out[..., 1] == 0).all()
    assert out[1, 0, 0, 2] == 51


def test_to_uint8_clamps_and_removes_nan():
    out = to_uint8(np.array([[[[-1.0, 2.0], [np.nan, 0.5]]]]))
    np.testing.assert_array_equal(out[0], [[0, 255], [0, 128]])
    out_t = to_uint8(torch.rand(4, 1, 3, 3))
    assert out_t.shape == (4, 3, 3)


@pytest.mark.parametrize("n,ncols,pad,channels", [(7, 3, 1, None), (4, 2, 0, 3), (1, 5, 2, None), (10, 10, 1, 3)])
def test_tile_size_and_placement(n, ncols, pad, channels):
    h, w = 4, 5
    shape = (n, h, w) if channels is None else (n, h, w, channels)
    images = np.zeros(shape, np.uint8)
    for i in range(n):
        images[i] = i + 1
    grid = tile(images, ncols, pad=pad)
    cols = min(ncols, n)
    rows = -(-n // cols)
    assert grid.shape[:2] == (rows * (h + pad) + pad, cols * (w + pad) + pad)
    assert grid.shape[2:] == images.shape[3:]
    for i in range(n):
        r, c = divmod(i, cols)
        y, x = pad + r * (h + pad), pad + c * (w + pad)
        assert (grid[y:y + h, x:x + w] == i + 1).all()
    if pad:
        assert (grid[0] == 255).all()
    with pytest.raises(ValueError):
        tile(images[:0], 3)


def test_upscale_and_png():
    img = np.array([[0, 255], [128, 7]], np.uint8)
    big = upscale(img, 3)
    assert big.shape == (6, 6)
    assert (big[:3, :3] == 0).all() and (big[3:, 3:] == 7).all()
    png = to_png(big)
    assert png.startswith(b"\x89PNG")
    back = np.asarray(Image.open(io.BytesIO(png)))
    np.testing.assert_array_equal(back, big)


@pytest.mark.parametrize("channels", [None, 3])
@pytest.mark.parametrize("bounce,expected", [(True, 5 + 3), (False, 5)])
def test_to_gif_is_an_animated_gif_with_the_right_frame_count(channels, bounce, expected):
    frames = np.zeros((5, 8, 8) if channels is None else (5, 8, 8, 3), np.uint8)
    for i in range(5):
        frames[i, :, : (i + 1)] = 50 * (i + 1)  # every frame differs
    data = to_gif(frames, fps=10, bounce=bounce)
    assert data.startswith(b"GIF8")
    im = Image.open(io.BytesIO(data))
    assert im.format == "GIF" and im.size == (8, 8)
    assert im.n_frames == expected
    assert im.info.get("duration") == 100
