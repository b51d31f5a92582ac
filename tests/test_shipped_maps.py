"""The PCA, t-SNE and UMAP maps that ship with each bundled model (vae_core.projection.shipped): there for every
model, used by the app without fitting anything, and loaded without openTSNE or umap-learn imported."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from vae_core.model import numpy_model
from vae_core.store.checkpoints import list_checkpoints, load_checkpoint
from vae_core.store.files import MAPS_FILE
from vae_core.projection import make_projection, projection_method
from vae_core.projection.cache import map_params
from vae_core.projection.shipped import SHIPPED_METHODS, load, shipped

REPO = Path(__file__).resolve().parents[1]
BUNDLED = list_checkpoints(REPO / "checkpoints")


def _mu(path: Path) -> np.ndarray:
    ckpt = load_checkpoint(path, lazy=True)
    return numpy_model.encode(ckpt.config, ckpt.arrays, ckpt.sample.as_array(), ckpt.sample.labels)[0]


@pytest.mark.parametrize("path", BUNDLED, ids=[p.name for p in BUNDLED])
def test_every_bundled_model_ships_its_maps_of_every_stored_image(path):
    assert shipped(path) == SHIPPED_METHODS == ("pca", "tsne", "umap")
    n = len(load_checkpoint(path, lazy=True).sample.labels)
    with np.load(path / MAPS_FILE, allow_pickle=False) as f:
        for method in SHIPPED_METHODS:
            assert f[method].shape == (n, 2) and np.isfinite(f[method]).all()
            assert json.loads(str(f[f"{method}_params"]))["method"] == method
        assert str(f["tsne_backend"]) == "tsne-opentsne"
        assert json.loads(str(f["tsne_params"]))["schedule"] == "full"  # made offline with openTSNE's defaults


@pytest.mark.parametrize("path", BUNDLED, ids=[p.name for p in BUNDLED])
def test_the_shipped_params_are_those_the_methods_write_today(path):
    """Each method's map_params with its shipped options is what maps.npz holds: a rebuild writes the same, and
    the options read back from the file (init_options) make the same params again."""
    with np.load(path / MAPS_FILE, allow_pickle=False) as f:
        for method in SHIPPED_METHODS:
            stored = json.loads(str(f[f"{method}_params"]))
            kind = projection_method(method)
            assert map_params(method, **kind.shipped_options()) == stored
            again = make_projection(method, **{**kind.init_options(stored), **kind.shipped_options()})
            assert again.map_params() == stored


@pytest.mark.parametrize("name", ["digits-8d", "fashion-mnist-20d"])
def test_the_shipped_pca_map_is_the_apps_own_fit(name):
    path = REPO / "checkpoints" / name
    mu = _mu(path)
    fitted = make_projection("pca").fit(mu).embedding_
    with np.load(path / MAPS_FILE, allow_pickle=False) as f:
        stored = f["pca"]
    for k in range(2):  # a principal axis may point either way
        sign = np.sign(np.dot(stored[:, k], fitted[:, k]))
        np.testing.assert_allclose(sign * stored[:, k], fitted[:, k], atol=1e-3 * np.abs(fitted).max())


def test_maps_made_for_other_weights_or_other_images_are_not_used(tmp_path):
    copy = tmp_path / "digits-8d"
    shutil.copytree(REPO / "checkpoints" / "digits-8d", copy)
    mu = _mu(copy)
    assert load(copy, mu, "tsne") is not None  # a copy of the same model: its maps fit
    assert load(copy, mu[:100], "tsne") is None  # other images: one row per encoded image or nothing
    assert load(copy, mu, "pca") is None  # PCA is fitted again (milliseconds; its inverse needs the fit)
    weights = bytearray((copy / "model.safetensors").read_bytes())
    weights[-8] ^= 0x01  # retrained, as far as the maps can tell
    (copy / "model.safetensors").write_bytes(bytes(weights))
    os.utime(copy / "model.safetensors", ns=(1, 1))
    assert shipped(copy) == () and load(copy, mu, "tsne") is None
    (copy / MAPS_FILE).write_bytes(b"not a zip file")
    assert shipped(copy) == ()


PROBE = r"""
import json, sys
for name in ("umap", "openTSNE", "numba", "pynndescent"):
    sys.modules[name] = None  # as if not installed: importing them fails, find_spec says they are missing
import numpy as np
from streamlit.testing.v1 import AppTest
from vae_core.model import numpy_model
from vae_core.projection import cache as projection_cache
from vae_core.projection import fitted as fitted_maps
from vae_core.store.checkpoints import load_checkpoint
from vae_core.projection import METHODS

out = {"reasons": {k: not m.available().ok for k, m in METHODS.items()}, "maps": {}}
for path in sys.argv[1:]:
    ckpt = load_checkpoint(path, lazy=True)
    mu = numpy_model.encode(ckpt.config, ckpt.arrays, ckpt.sample.as_array(), ckpt.sample.labels)[0]
    for method in ("tsne", "umap"):
        proj = fitted_maps.load_or_fit(path, mu, method)
        out["maps"][f"{path}:{method}"] = proj.embedding_[:3].tolist()
out["fits"] = dict(projection_cache.fits)

at = AppTest.from_file("app.py", default_timeout=120)
at.query_params.update({"model": "digits-8d", "projection": "umap"})
at.run()
maps = [e for e in at._tree.get("bidi_component") if e.proto.component_name.endswith("vae_latent_map")]
from ui.component_data import unpack
payload, parts = unpack(maps[0].proto.bytes)
out["page"] = {"exceptions": [e.value for e in at.exception], "info": [i.value for i in at.info],
               "axis": payload["axis_titles"], "xy": parts["xy"].reshape(-1)[:6].tolist()}
out["imported"] = sorted(m for m in ("umap", "openTSNE", "numba", "pynndescent") if sys.modules.get(m) is not None)
print(json.dumps(out))
"""


def test_shipped_maps_load_without_opentsne_or_umap_installed(tmp_path):
    paths = [str(REPO / "checkpoints" / m) for m in ("digits-8d", "mnist5k-2d", "fashion-mnist-2d")]
    env = {**os.environ, "VAE_EXPLORER_HOME": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", PROBE, *paths], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    got = json.loads(done.stdout.strip().splitlines()[-1])
    assert got["reasons"]["umap"] is True  # umap-learn is "not installed" in that process
    assert got["fits"] == {} and got["imported"] == []  # nothing fitted, nothing of the extras imported
    for path in paths:
        with np.load(Path(path) / MAPS_FILE, allow_pickle=False) as f:
            for method in ("tsne", "umap"):
                np.testing.assert_array_equal(np.asarray(got["maps"][f"{path}:{method}"], np.float32), f[method][:3])
    # the page offers UMAP for a bundled model and draws the shipped map
    page = got["page"]
    assert page["exceptions"] == [] and not any("not available" in i for i in page["info"])
    assert page["axis"] == ["UMAP 1", "UMAP 2"]
    with np.load(REPO / "checkpoints" / "digits-8d" / MAPS_FILE, allow_pickle=False) as f:
        np.testing.assert_array_equal(np.asarray(page["xy"], np.float32), f["umap"][:3].reshape(-1))
