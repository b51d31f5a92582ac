"""t-SNE and UMAP maps kept on disk: a restarted app loads them instead of fitting them again.

A "restart" is a new Python process (the fit counter starts at zero there) or, inside the app, the
in-memory caches cleared and a new AppTest session."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import streamlit as st
import torch
from streamlit.testing.v1 import AppTest

from vae_core.projection import cache as pc

from vae_core.projection import fitted as fitted_maps
from vae_core.store.checkpoints import load_checkpoint, save_checkpoint
from vae_core.analysis.evaluate import encode_dataset
from vae_core.projection import projection_method

REPO = Path(__file__).resolve().parents[1]
DIGITS_8D = REPO / "checkpoints" / "digits-8d"
PAGE = "pages/latent_map.py"

pytestmark = pytest.mark.skipif(not DIGITS_8D.is_dir(), reason="the bundled digits-8d checkpoint is not built")

CHILD = r"""
import json, sys
import numpy as np
from vae_core.projection import cache as pc
from vae_core.projection import fitted as fitted_maps
mu = np.load(sys.argv[2])
proj = fitted_maps.load_or_fit(sys.argv[1], mu, "tsne", n_jobs=1)
print(json.dumps({"fits": pc.fits["tsne"], "embedding": proj.embedding_.tolist()}))
"""


@pytest.fixture(autouse=True)
def app_home(tmp_path, monkeypatch):
    monkeypatch.setenv("VAE_EXPLORER_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def _encode(path: Path) -> np.ndarray:
    ckpt = load_checkpoint(path)
    with torch.inference_mode():
        return encode_dataset(ckpt.model, ckpt.sample.as_tensor())[0]


def _only_map() -> Path:
    files = list(pc.projections_dir().glob("*/*.npz"))
    assert len(files) == 1, files
    return files[0]


def test_a_new_process_loads_the_tsne_map_from_disk_without_fitting(tmp_path):
    mu = _encode(DIGITS_8D)
    before = pc.fits["tsne"]
    fitted = fitted_maps.load_or_fit(DIGITS_8D, mu, "tsne", n_jobs=1)
    assert pc.fits["tsne"] == before + 1
    stored = _only_map()
    inode = stored.stat().st_ino  # a rewrite (tmp file + os.replace) would give a new inode
    mu_file = tmp_path / "mu.npy"
    np.save(mu_file, mu)
    done = subprocess.run([sys.executable, "-c", CHILD, str(DIGITS_8D), str(mu_file)], cwd=REPO, env=os.environ.copy(),
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    child = json.loads(done.stdout.strip().splitlines()[-1])
    assert child["fits"] == 0  # the new process fitted nothing
    np.testing.assert_array_equal(np.asarray(child["embedding"], np.float32), fitted.embedding_)
    assert _only_map() == stored and stored.stat().st_ino == inode  # read, not written again
    with np.load(stored, allow_pickle=False) as f:
        np.testing.assert_array_equal(f["embedding"], fitted.embedding_)


def test_a_restored_tsne_map_inverts_and_places_new_points_like_the_fitted_one():
    mu = _encode(DIGITS_8D)
    fitted = fitted_maps.load_or_fit(DIGITS_8D, mu, "tsne", n_jobs=1)
    restored = pc.load(pc.model_fingerprint(DIGITS_8D), mu, pc.map_params("tsne"))
    assert restored is not None and not hasattr(restored, "tsne_")
    assert restored.backend_ == fitted.backend_
    spots = fitted.embedding_[[3, 50, 200]] + 0.5
    np.testing.assert_array_equal(restored.inverse_transform(spots), fitted.inverse_transform(spots))
    new = mu[:4] + 0.05
    scale = np.ptp(fitted.embedding_, axis=0).max()
    np.testing.assert_allclose(restored.transform(new), fitted.transform(new), atol=1e-3 * scale)


def test_the_cache_is_invalidated_when_the_model_file_changes(tmp_path):
    path = tmp_path / "model"
    shutil.copytree(DIGITS_8D, path)
    mu = _encode(path)
    before = pc.fits["tsne"]
    first = fitted_maps.load_or_fit(path, mu, "tsne", n_jobs=1)
    fitted_maps.load_or_fit(path, mu, "tsne", n_jobs=1)
    assert pc.fits["tsne"] == before + 1
    # the same folder, retrained: other weights in model.safetensors
    ckpt = load_checkpoint(path)
    with torch.no_grad():
        for p in ckpt.model.parameters():
            p.add_(0.05 * torch.randn_like(p))
    save_checkpoint(path, ckpt.model, ckpt.meta, sample=ckpt.sample)
    mu2 = _encode(path)
    second = fitted_maps.load_or_fit(path, mu2, "tsne", n_jobs=1)
    assert pc.fits["tsne"] == before + 2
    assert not np.allclose(second.embedding_, first.embedding_)
    assert len(list(pc.projections_dir().glob("*/*.npz"))) == 2  # one map per model fingerprint
    # encodings that differ from the stored ones (same files) are not served the stored map either
    assert pc.load(pc.model_fingerprint(path), mu2 + 0.01, pc.map_params("tsne")) is None


def test_a_damaged_cache_file_is_computed_again_and_replaced():
    mu = _encode(DIGITS_8D)
    fitted = fitted_maps.load_or_fit(DIGITS_8D, mu, "tsne", n_jobs=1)
    stored = _only_map()
    stored.write_bytes(b"not a zip file")
    before = pc.fits["tsne"]
    again = fitted_maps.load_or_fit(DIGITS_8D, mu, "tsne", n_jobs=1)
    assert pc.fits["tsne"] == before + 1
    np.testing.assert_array_equal(again.embedding_, fitted.embedding_)  # same seed, same map
    assert pc.load(pc.model_fingerprint(DIGITS_8D), mu, pc.map_params("tsne")) is not None


def test_pca_and_the_latent_plane_are_not_stored():
    mu = _encode(DIGITS_8D)
    fitted_maps.load_or_fit(DIGITS_8D, mu, "pca")
    fitted_maps.load_or_fit(DIGITS_8D, mu, "latent", dims=(2, 5))
    assert not pc.projections_dir().exists() or not list(pc.projections_dir().glob("*/*.npz"))


@pytest.mark.skipif(not projection_method("umap").available().ok, reason="umap-learn is not installed")
def test_a_restored_umap_map_refits_lazily_and_inverts_like_the_fitted_one():
    mu = _encode(DIGITS_8D)[:150]
    fitted = fitted_maps.load_or_fit(DIGITS_8D, mu, "umap")
    restored = pc.load(pc.model_fingerprint(DIGITS_8D), mu, pc.map_params("umap"))
    assert restored is not None and not hasattr(restored, "umap_")
    np.testing.assert_array_equal(restored.embedding_, fitted.embedding_)
    spot = fitted.embedding_[:2].mean(0, keepdims=True)
    z = restored.inverse_transform(spot)  # fits UMAP again on mu_, keeping the embedding on screen
    assert hasattr(restored, "umap_")
    np.testing.assert_array_equal(restored.umap_.embedding_, fitted.embedding_)
    np.testing.assert_allclose(z, fitted.inverse_transform(spot), atol=1e-4)


def _map_page(model: Path) -> AppTest:
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=120)
    at.session_state["model_path"] = str(model)
    at.run()
    at.switch_page(PAGE)
    at.session_state["model_path"] = str(model)
    at.session_state["latent_map_method"] = "tsne"
    at.run()
    return at


def _map_data(at: AppTest) -> bytes | None:
    """The latent map component's data (ui/scatter_map.py), or None when the page shows no map."""
    maps = [e for e in at._tree.get("bidi_component") if e.proto.component_name.endswith("vae_latent_map")]
    return maps[0].proto.bytes if maps else None


def _map_xy(at: AppTest) -> np.ndarray:
    from ui.component_data import unpack

    return unpack(_map_data(at))[1]["xy"]


def test_the_latent_map_page_computes_in_the_background_then_loads_from_disk_after_a_restart(app_home):
    model = app_home / "runs" / "digits-8d-copy"  # a saved model: listed in the sidebar, and a path of its own
    shutil.copytree(DIGITS_8D, model)
    (model / "maps.npz").unlink(missing_ok=True)  # a model trained by the user: no maps ship with it
    st.cache_resource.clear()
    st.cache_data.clear()
    before = pc.fits["tsne"]
    at = _map_page(model)
    assert not at.exception, at.exception
    deadline = time.monotonic() + 180
    while _map_data(at) is None:  # meanwhile: the progress bar, the map picker still there
        assert at.button_group(key="latent_map_method").value == "tsne"
        assert time.monotonic() < deadline, "the t-SNE map never appeared"
        time.sleep(0.2)
        at.session_state["model_path"] = str(model)
        at.run()
        assert not at.exception, at.exception
    assert pc.fits["tsne"] == before + 1
    first = _map_xy(at)
    stored = _only_map()
    inode = stored.stat().st_ino

    st.cache_resource.clear()  # the server restarts: every in-memory map and job is gone
    st.cache_data.clear()
    again = _map_page(model)
    assert not again.exception, again.exception
    assert _map_data(again) is not None, "a stored map is drawn on the first run, without waiting"
    assert pc.fits["tsne"] == before + 1  # nothing was fitted
    np.testing.assert_array_equal(_map_xy(again), first)
    assert _only_map() == stored and stored.stat().st_ino == inode
