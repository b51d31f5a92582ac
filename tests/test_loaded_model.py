"""One object per loaded model in the app (ui.loaded_model): kept per checkpoint folder and stamp, so a
checkpoint rewritten on disk shows its new numbers; every page opens a model on the same axes."""
from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from ui.component_data import unpack
from vae_core.model import numpy_model
from vae_core.model.activity import default_axes, mean_kl_per_dim
from vae_core.store.checkpoints import load_checkpoint
from vae_core.training.trainer import Trainer

from conftest import REPO_ROOT, clean_home, texts, tiny_model_config, tiny_train_config

DIGITS_8D = REPO_ROOT / "checkpoints" / "digits-8d"


def _train(out: Path, digits, epochs: int, seed: int) -> None:
    Trainer(tiny_model_config(latent_dim=3), tiny_train_config(epochs=epochs, seed=seed), digits, out_dir=out,
            sample_size=60, command="pytest").fit()


def _open(page: str, model: Path) -> AppTest:
    at = AppTest.from_file(str(REPO_ROOT / "app.py"), default_timeout=60)
    at.session_state["model_path"] = str(model)
    at.run()
    at.switch_page(page)
    return _rerun(at, model)


def _rerun(at: AppTest, model: Path) -> AppTest:
    at.session_state["model_path"] = str(model)  # as the sidebar's picker would keep it
    at.run()
    assert not at.exception, at.exception
    return at


def _kl_labels(path: Path) -> list[str]:
    ck = load_checkpoint(path, lazy=True)
    mu, logvar = numpy_model.encode(ck.config, ck.arrays, ck.sample.as_array())
    return [f"z{d + 1} · KL {v:.2f}" for d, v in enumerate(mean_kl_per_dim(mu, logvar))]


def test_a_checkpoint_rewritten_in_place_shows_its_new_numbers(tmp_path, monkeypatch, digits):
    home = clean_home(tmp_path, monkeypatch)
    out = home / "runs" / "rewritten"  # a saved run: listed for every session
    _train(out, digits, epochs=1, seed=0)
    at = _open("pages/sliders.py", out)
    at.toggle(key="sliders_live").set_value(False)
    _rerun(at, out)
    before = [s.label.replace(":gray[", "") for s in at.slider]
    assert [b[:len(w)] for b, w in zip(before, _kl_labels(out))] == _kl_labels(out)
    elbo = load_checkpoint(out, lazy=True).meta["metrics"]["test_neg_elbo"]
    assert f"test -ELBO {elbo:.1f} nats" in texts(at.sidebar.caption)

    _train(out, digits, epochs=3, seed=1)  # another training saved over it, under the same name
    _rerun(at, out)
    after = [s.label.replace(":gray[", "") for s in at.slider]
    want = _kl_labels(out)
    assert [a[:len(w)] for a, w in zip(after, want)] == want and after != before
    new_elbo = load_checkpoint(out, lazy=True).meta["metrics"]["test_neg_elbo"]
    assert f"{new_elbo:.1f}" != f"{elbo:.1f}" and f"test -ELBO {new_elbo:.1f} nats" in texts(at.sidebar.caption)


def test_the_loaded_model_is_kept_until_its_folder_is_rewritten(tmp_path, monkeypatch, digits):
    from ui.loaded_model import loaded_model

    out = clean_home(tmp_path, monkeypatch) / "runs" / "m"
    _train(out, digits, epochs=1, seed=0)
    first = loaded_model(out)
    assert loaded_model(out) is first
    mu, logvar = first.encodings()
    assert not mu.flags.writeable and not logvar.flags.writeable  # shared by every session: read-only
    _train(out, digits, epochs=1, seed=3)
    second = loaded_model(out)
    assert second is not first and second.stamp != first.stamp
    assert not np.array_equal(second.encodings()[0], mu)
    images = second.checkpoint.sample.images
    assert second.hover_images("stored", images).key != first.hover_images("stored", images).key  # new in the browser


def test_the_hover_images_are_deflated_once_per_model_and_point_set_and_never_hashed(monkeypatch):
    """The map's hover sheet is kept by the loaded model, by name: a later run neither hashes the images (70,000
    of them at every run, as st.cache_data did) nor deflates them again."""
    import zlib

    import ui.loaded_model as lm

    calls = []
    monkeypatch.setattr(lm, "deflate", lambda a: calls.append(a.shape) or lm.Deflated("uint8", a.shape,
                                                                                       zlib.compress(a.tobytes(), 1)))
    loaded = lm.LoadedModel(str(DIGITS_8D), "test-stamp")
    images = loaded.checkpoint.sample.images
    first = loaded.hover_images("stored", images)
    assert calls == []  # nothing is deflated until the sheet is sent
    sheet = first.sheet()
    again = loaded.hover_images("stored", images)
    assert again.key == first.key and again.sheet() is sheet and calls == [images.shape]
    np.testing.assert_array_equal(np.frombuffer(zlib.decompress(sheet.data), np.uint8).reshape(images.shape), images)
    assert first.info() == {"key": first.key, "h": 8, "w": 8, "c": 1}
    subset = loaded.hover_images("stored, history", images[:10])
    assert subset.key != first.key and subset.sheet().shape == (10, 8, 8)
    with pytest.raises(ValueError, match="a name of its own"):
        loaded.hover_images("stored", images[:10]).sheet()


@pytest.mark.skipif(not DIGITS_8D.is_dir(), reason="the bundled digits-8d checkpoint is not built")
def test_every_page_opens_an_8d_model_on_the_same_axes(tmp_path, monkeypatch):
    """One rule: the two most active dimensions by the variant's score, the lower one horizontal."""
    clean_home(tmp_path, monkeypatch)
    ck = load_checkpoint(DIGITS_8D, lazy=True)
    mu, logvar = numpy_model.encode(ck.config, ck.arrays, ck.sample.as_array())
    i, j = default_axes(ck.config.variant.activity(mu, logvar))
    assert i < j
    latent_map = _open("pages/latent_map.py", DIGITS_8D)
    assert (latent_map.selectbox(key="latent_map_dim_x").value, latent_map.selectbox(key="latent_map_dim_y").value) == (i, j)
    generate = _open("pages/generate.py", DIGITS_8D)
    generate.session_state["generate_tab"] = "Latent manifold"
    _rerun(generate, DIGITS_8D)
    assert (generate.selectbox(key="generate_m_dim_x").value, generate.selectbox(key="generate_m_dim_y").value) == (i, j)
    how = _open("pages/how_it_works.py", DIGITS_8D)
    assert f"Dimensions z{i + 1} and z{j + 1}" in texts(how.caption)
    sliders = _open("pages/sliders.py", DIGITS_8D)  # the live sliders' position map, in the component's data
    live = next(e for e in sliders._tree.get("bidi_component") if e.proto.component_name == "vae_live_sliders")
    posmap = unpack(live.proto.bytes)[0]["posmap"]
    assert posmap["dims"] == [i, j] and f"(z{i + 1}, z{j + 1})" in posmap["caption"]


def test_no_cached_function_of_the_app_leaves_an_argument_unhashed():
    """Streamlit does not hash arguments whose names start with an underscore: a checkpoint's stamp passed so
    would not change the result (a rewritten checkpoint kept showing the old model)."""
    offenders = []
    for f in sorted([*(REPO_ROOT / "ui").glob("*.py"), *(REPO_ROOT / "pages").glob("*.py"), REPO_ROOT / "app.py"]):
        for node in ast.walk(ast.parse(f.read_text())):
            if not isinstance(node, ast.FunctionDef):
                continue
            cached = any("cache_data" in ast.unparse(d) or "cache_resource" in ast.unparse(d) for d in node.decorator_list)
            hidden = [a.arg for a in node.args.args + node.args.kwonlyargs if a.arg.startswith("_")]
            if cached and hidden:
                offenders.append(f"{f.relative_to(REPO_ROOT)}:{node.lineno} {node.name}({', '.join(hidden)})")
    assert offenders == []
