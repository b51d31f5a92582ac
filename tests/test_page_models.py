"""The Models page, run through app.py with AppTest, on the bundled digits checkpoints."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from streamlit.testing.v1 import AppTest

from vae_core.store.checkpoints import import_zip, load_checkpoint
from vae_core.data.datasets import DataSplit, dataset_from_arrays
from vae_core.analysis.evaluate import evaluate_neg_elbo
from vae_core.training.trainer import Trainer

from conftest import tiny_model_config, tiny_train_config

REPO_ROOT = Path(__file__).resolve().parents[1]
BUNDLED = REPO_ROOT / "checkpoints"
DIGITS_2D, DIGITS_8D = str(BUNDLED / "digits-2d"), str(BUNDLED / "digits-8d")


@pytest.fixture
def home(tmp_path, monkeypatch):
    home = tmp_path / "home"
    monkeypatch.setenv("VAE_EXPLORER_HOME", str(home))
    return home


def open_models_page() -> AppTest:
    at = AppTest.from_file(str(REPO_ROOT / "app.py"), default_timeout=60)
    at.run()
    at.switch_page("pages/models.py")
    at.run()
    assert not at.exception, at.exception
    assert [t.value for t in at.main.title] == ["Models"]
    return at


def compare(at: AppTest, a: str, b: str) -> AppTest:
    at.selectbox(key="models_a").set_value(a)
    at.selectbox(key="models_b").set_value(b)
    at.run()
    assert not at.exception, at.exception
    return at


def image_urls(at: AppTest) -> list[str]:
    return [img.proto.imgs[0].url for img in at.get("image")]


def score_metrics(at: AppTest) -> list[str]:
    return [m.value for m in at.metric if m.label in ("-ELBO", "Reconstruction", "KL")]


def test_the_table_lists_the_bundled_checkpoints_with_their_metrics(home):
    at = open_models_page()
    table = at.get("dataframe")[0].value
    rows = table.set_index("model")
    for name in ("digits-2d", "digits-8d"):
        meta = load_checkpoint(BUNDLED / name).meta
        row = rows.loc[name]
        assert row["origin"] == "bundled" and row["dataset"] == "digits" and row["kind"] == "VAE"
        assert row["test_neg_elbo"] == pytest.approx(meta["metrics"]["test_neg_elbo"])
        assert row["test_kl"] == pytest.approx(meta["metrics"]["test_kl"])
        assert row["epochs"] == meta["epochs"]
    assert rows.loc["digits-2d", "latent_dim"] == 2 and rows.loc["digits-8d", "latent_dim"] == 8


def test_two_models_on_the_same_images_with_scores_computed_now(home):
    at = compare(open_models_page(), DIGITS_2D, DIGITS_8D)
    n = at.slider(key="models_n").value
    urls = image_urls(at)
    assert len(urls) == 5  # originals, A's and B's reconstructions, A's and B's prior samples

    # the scores are those of vae_core on the same images: first A, then B
    a, b = load_checkpoint(DIGITS_2D), load_checkpoint(DIGITS_8D)
    idx = np.sort(np.random.default_rng(0).choice(len(a.sample.labels), size=n, replace=False))
    x, y = a.sample.as_tensor()[idx], torch.from_numpy(a.sample.labels[idx])
    expected = [f"{v:.2f}" for m in (a, b) for v in evaluate_neg_elbo(m.model, x, y, seed=0)]
    assert score_metrics(at) == expected

    compare(at, DIGITS_2D, DIGITS_2D)  # B changes: its reconstructions and scores follow
    after = image_urls(at)
    assert after[0] == urls[0] and after[1] == urls[1]  # the same images, the same A
    assert after[2] != urls[2] and after[2] == after[1]  # B is now A's twin
    assert score_metrics(at)[3:] == expected[:3]

    at.slider(key="models_n").set_value(16).run()  # more images: a different strip
    assert image_urls(at)[0] != urls[0]


def test_an_autoencoder_gets_no_prior_samples_no_kl_and_no_elbo(home):
    if not (BUNDLED / "digits-2d-autoencoder").is_dir():
        pytest.skip("the digits-2d-autoencoder checkpoint is not built")
    at = compare(open_models_page(), DIGITS_2D, str(BUNDLED / "digits-2d-autoencoder"))
    b = [(m.label, m.value) for m in at.metric][3:6]
    assert [label for label, _ in b] == ["Loss", "Reconstruction", "KL"]  # no prior: no ELBO to call it by
    assert b[0][1] == b[1][1] and b[2][1] == "none"
    assert any("no KL term and no ELBO" in c.value for c in at.caption)
    assert any("autoencoder" in i.value and "no prior" in i.value for i in at.info)
    assert len(at.get("image")) == 4  # no prior samples for B


def test_models_of_different_image_sizes_are_not_compared(home):
    rng = np.random.default_rng(0)
    images = (rng.random((120, 6, 6)) > 0.5).astype(np.uint8) * 255
    data = dataset_from_arrays("squares", images, rng.integers(0, 2, 120))
    split = DataSplit(data, data)
    Trainer(tiny_model_config(image_shape=(1, 6, 6), num_classes=2), tiny_train_config(epochs=1), split,
            out_dir=home / "runs" / "six-by-six", sample_size=20).fit()
    at = compare(open_models_page(), DIGITS_2D, str(home / "runs" / "six-by-six"))
    assert "cannot encode the same images" in " ".join(w.value for w in at.warning)
    assert len(at.get("image")) == 0


def test_the_download_is_a_zip_that_the_uploader_accepts(home, media, tmp_path):
    at = open_models_page()
    at.selectbox(key="models_download").set_value(DIGITS_8D).run()
    button = at.get("download_button")[0]
    assert button.label == "Download digits-8d.zip"
    assert button.proto.deferred_file_id  # packed when pressed, not in every run of the page
    data = media.download(button.proto)
    ckpt = import_zip(data, tmp_path / "imported")
    bundled = load_checkpoint(DIGITS_8D)
    assert ckpt.config == bundled.config
    for key, value in bundled.model.state_dict().items():
        assert torch.equal(ckpt.model.state_dict()[key], value), key


def test_the_comparison_opens_on_two_models_of_the_same_data(home):
    at = open_models_page()  # on the default model, mnist5k-2d: no other model of its data is bundled
    a, b = (load_checkpoint(at.selectbox(key=k).value) for k in ("models_a", "models_b"))
    assert a.meta["dataset"] == b.meta["dataset"] and a.path != b.path
    assert not any("different data" in c.value for c in at.caption)
    at.session_state["model_path"] = str(BUNDLED / "fashion-mnist-20d")  # a model with partners of its data
    at.run()
    a, b = (load_checkpoint(at.selectbox(key=k).value) for k in ("models_a", "models_b"))
    assert a.path.name == "fashion-mnist-20d" and b.meta["dataset"] == "fashion-mnist"


def test_the_table_shows_the_scores_right_after_the_name(home):
    at = open_models_page()
    order = list(at.get("dataframe")[0].proto.column_order)
    assert order[:4] == ["model", "test_neg_elbo", "test_recon", "test_kl"]
