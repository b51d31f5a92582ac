"""The How-it-works page and vae_core.analysis.explain: every number shown is the model's own.

The explain functions are checked against the model's encode / decode and the
losses module (and torch.distributions for the KL); the page is run with
AppTest through app.py on the bundled digits-2d and digits-8d models and on an
autoencoder, and what it shows is compared with the same computations.
"""
from __future__ import annotations

import io
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from streamlit.testing.v1 import AppTest

from vae_core.store.checkpoints import load_checkpoint
from vae_core.model.config import ModelConfig, TrainConfig
from vae_core.model.activity import mean_kl_per_dim
from vae_core.analysis.explain import explain_image, sample_loss
from vae_core.model.priors import prior_z
from vae_core.model.losses import kl_divergence, kl_per_dim, reconstruction_nll
from vae_core.render.images import to_uint8
from vae_core.analysis.evaluate import evaluate_neg_elbo
from vae_core.training.trainer import Trainer

REPO = Path(__file__).resolve().parents[1]
BUNDLED = REPO / "checkpoints"
PAGE = "pages/how_it_works.py"
VAE_MODELS = ["digits-2d", "digits-8d"]


# ---------------------------------------------------------------- fixtures


pytestmark = pytest.mark.usefixtures("_home_env")  # VAE_EXPLORER_HOME: a temporary folder


class Page:
    """The app on the How-it-works page with one model selected.

    AppTest does not keep the router's sidebar after ``switch_page``, so the chosen model is put back
    into session state before every run, as the sidebar's selectbox would."""

    def __init__(self, model: Path):
        self.model = str(model)
        self.at = AppTest.from_file(str(REPO / "app.py"), default_timeout=60)
        self.at.session_state["model_path"] = self.model
        self.at.run()
        self.at.switch_page(PAGE)
        self.run()

    def run(self) -> AppTest:
        self.at.session_state["model_path"] = self.model
        self.at.run()
        assert not self.at.exception, [e.value for e in self.at.exception]
        assert not self.at.error, [e.value for e in self.at.error]
        return self.at


def open_page(model_path: Path) -> AppTest:
    page = Page(model_path)
    assert f"**{Path(model_path).name}**" in " ".join(m.value for m in page.at.markdown)
    return page.at


def metric(at: AppTest, label_start: str) -> str:
    found = [m.value for m in at.metric if m.label.startswith(label_start)]
    assert found, f"no metric starting with {label_start!r}: {[m.label for m in at.metric]}"
    return found[0]


def dataframe(at: AppTest, first_column: str, column: str):
    for df in at.dataframe:
        v = df.value
        if column in v.columns and v.columns[0] == first_column:
            return v
    raise AssertionError(f"no dataframe with column {column!r}")


def shown_images(at: AppTest, media: dict[str, bytes]) -> list[tuple[str, np.ndarray]]:
    """(caption, pixels) of every st.image on the page."""
    out = []
    for el in at.image:
        for url, cap in zip(el.value, el.captions):
            data = media.image(url)
            out.append((cap, np.asarray(Image.open(io.BytesIO(data)))))
    return out


def downscale(pixels: np.ndarray, h: int) -> np.ndarray:
    """Undo show_image's nearest-neighbour upscaling of an h-pixel-tall image."""
    f = pixels.shape[0] // h
    return pixels[::f, ::f]


# ---------------------------------------------------------------- vae_core.analysis.explain against the model


@pytest.fixture(scope="module")
def ckpt8():
    return load_checkpoint(BUNDLED / "digits-8d")


def test_explain_image_is_the_models_own_computation(ckpt8):
    model = ckpt8.model
    x = ckpt8.sample.as_tensor()[5]
    eps = torch.randn(8, generator=torch.Generator().manual_seed(3))
    ex = explain_image(model, x, eps=eps.numpy())
    with torch.no_grad():
        mu, logvar = model.encode(x[None])
        z = mu + torch.exp(0.5 * logvar) * eps
        logits = model.decode_logits(z)
        recon = reconstruction_nll(logits, x[None], model.cfg)
        kl = kl_divergence(mu, logvar)
        q = torch.distributions.Normal(mu, torch.exp(0.5 * logvar))
        p = torch.distributions.Normal(torch.zeros_like(mu), torch.ones_like(mu))
        kl_ref = torch.distributions.kl_divergence(q, p).sum(1)
    np.testing.assert_allclose(ex["mu"], mu[0].numpy(), rtol=1e-6)
    np.testing.assert_allclose(ex["sigma"], torch.exp(0.5 * logvar)[0].numpy(), rtol=1e-6)
    np.testing.assert_allclose(ex["eps"], eps.numpy())
    np.testing.assert_allclose(ex["sigma_eps"] + ex["mu"], ex["z"], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ex["z"], z[0].numpy(), rtol=1e-6)
    np.testing.assert_allclose(ex["decoded_z"], torch.sigmoid(logits)[0].numpy(), rtol=1e-6)
    assert ex["recon"] == pytest.approx(float(recon[0]), rel=1e-6)
    assert ex["kl"] == pytest.approx(float(kl[0]), rel=1e-6)
    assert ex["kl"] == pytest.approx(float(kl_ref[0]), rel=1e-4)
    np.testing.assert_allclose(ex["kl_per_dim"].sum(), ex["kl"], rtol=1e-5)
    assert ex["neg_elbo"] == pytest.approx(ex["recon"] + ex["kl"])
    # decoding at mu is a different (deterministic) reconstruction
    with torch.no_grad():
        recon_mu = reconstruction_nll(model.decode_logits(mu), x[None], model.cfg)
    assert ex["recon_at_mu"] == pytest.approx(float(recon_mu[0]))


def test_explain_image_new_eps_moves_z_but_not_kl(ckpt8):
    x = ckpt8.sample.as_tensor()[0]
    a = explain_image(ckpt8.model, x, eps=np.zeros(8, np.float32))
    b = explain_image(ckpt8.model, x, eps=np.ones(8, np.float32))
    np.testing.assert_allclose(a["z"], a["mu"])  # eps = 0 gives z = mu
    assert not np.allclose(a["z"], b["z"])
    assert a["kl"] == b["kl"]  # the closed-form KL does not depend on eps
    assert a["recon"] != b["recon"]


def test_explain_image_autoencoder_has_no_distribution(autoencoder_path):
    ck = load_checkpoint(autoencoder_path)
    x = ck.sample.as_tensor()[0]
    ex = explain_image(ck.model, x)
    with torch.no_grad():
        mu, _ = ck.model.encode(x[None])
    np.testing.assert_allclose(ex["z"], mu[0].numpy())
    assert ex["sigma"] is None and ex["eps"] is None and ex["kl"] is None
    assert ex["neg_elbo"] == ex["recon"] == ex["recon_at_mu"]


def test_sample_loss_and_mean_kl_per_dim_match_the_model(ckpt8):
    images, labels = ckpt8.sample.as_tensor(), torch.from_numpy(ckpt8.sample.labels)
    got = sample_loss(ckpt8.model, images, labels, seed=0)
    ref = evaluate_neg_elbo(ckpt8.model, images, labels, seed=0)
    assert (got["neg_elbo"], got["recon"], got["kl"]) == pytest.approx(ref)
    assert got["n"] == len(images)
    assert got["neg_elbo"] == pytest.approx(got["recon"] + got["kl"])
    with torch.no_grad():
        mu, logvar = ckpt8.model.encode(images)
    np.testing.assert_allclose(mean_kl_per_dim(mu.numpy(), logvar.numpy()), kl_per_dim(mu, logvar).mean(0).numpy(),
                               rtol=1e-4, atol=1e-6)
    # the stored sample's average KL equals the average of the per-image KLs
    assert mean_kl_per_dim(mu.numpy(), logvar.numpy()).sum() == pytest.approx(got["kl"], rel=1e-4)
    with pytest.raises(ValueError, match="no images"):
        sample_loss(ckpt8.model, images[:0], labels[:0])


# ---------------------------------------------------------------- the page


@pytest.mark.parametrize("name", VAE_MODELS)
def test_page_shows_the_models_numbers_for_the_chosen_image(name, media):
    path = BUNDLED / name
    ck = load_checkpoint(path)
    d = ck.config.latent_dim
    at = open_page(path)
    assert at.title[0].value == "How it works"
    index = int(at.number_input(key="how_m_img_index").value)
    x = ck.sample.as_tensor()[index][None]
    eps = prior_z(1, d, 1.0, seed=0)  # the page's eps draw #0
    with torch.no_grad():
        mu, logvar = ck.model.encode(x)
        z = ck.model.reparameterize(mu, logvar, eps)
        recon = float(reconstruction_nll(ck.model.decode_logits(z), x, ck.config)[0])
        kl = float(kl_divergence(mu, logvar)[0])
        decoded = ck.model.decode(z)[0].numpy()
    assert metric(at, "KL") == f"{kl:.2f}"
    assert metric(at, "Reconstruction") == f"{recon:.2f}"
    assert metric(at, "Negative ELBO") == f"{recon + kl:.2f}"

    enc = dataframe(at, "dim", "sigma")
    np.testing.assert_allclose(enc["mu"].to_numpy(), mu[0].numpy(), atol=6e-4)
    np.testing.assert_allclose(enc["KL (nats)"].to_numpy(), kl_per_dim(mu, logvar)[0].numpy(), atol=6e-4)
    rep = dataframe(at, "dim", "z = mu + sigma·eps")
    assert len(rep) == min(d, 8)
    np.testing.assert_allclose(rep["eps"].to_numpy(), eps[0, :8].numpy(), atol=6e-4)
    np.testing.assert_allclose(rep["z = mu + sigma·eps"].to_numpy(), z[0, :8].numpy(), atol=6e-4)

    # the decoded mean for this z is shown, pixel for pixel
    images = dict(shown_images(at, media))
    cap = next(c for c in images if c.startswith("mean of p(x|z) for this z"))
    np.testing.assert_array_equal(downscale(images[cap], 8), to_uint8(decoded)[0])

    # the loss table: this image, the stored sample's mean, and the recorded test metrics
    table = at.table[0].value
    assert table.loc["This image, this eps", "KL"] == f"{kl:.2f}"
    avg = sample_loss(ck.model, ck.sample.as_tensor(), torch.from_numpy(ck.sample.labels), seed=0)
    sample_row = next(r for r in table.index if r.startswith("Mean over"))
    assert table.loc[sample_row, "Negative ELBO"] == f"{avg['neg_elbo']:.2f}"
    assert table.loc[sample_row, "KL"] == f"{avg['kl']:.2f}"
    meta_row = next(r for r in table.index if "meta.json" in r)
    assert table.loc[meta_row, "Negative ELBO"] == f"{ck.meta['metrics']['test_neg_elbo']:.2f}"
    # the formulas and the training history
    latex = " ".join(t.value for t in at.latex)
    assert r"\log\sigma_i^2 - \mu_i^2 - \sigma_i^2" in latex and "ELBO" in latex and "x_j \\log p_j" in latex
    assert len(at.get("plotly_chart")) == 3  # mu bars, the latent picture, the history


def test_new_eps_changes_z_but_not_kl_and_changing_the_image_changes_mu():
    path = BUNDLED / "digits-8d"
    page = Page(path)
    at = page.at
    rep0 = dataframe(at, "dim", "z = mu + sigma·eps")
    kl0, recon0 = metric(at, "KL"), metric(at, "Reconstruction")
    at.button(key="how_new_eps").click()
    page.run()
    rep1 = dataframe(at, "dim", "z = mu + sigma·eps")
    assert not np.allclose(rep0["z = mu + sigma·eps"], rep1["z = mu + sigma·eps"])
    np.testing.assert_array_equal(rep0["mu"], rep1["mu"])  # same image, same q(z|x)
    np.testing.assert_allclose(rep1["eps"], prior_z(1, 8, 1.0, seed=1)[0].numpy(), atol=6e-4)  # draw #1
    assert metric(at, "KL") == kl0  # the closed-form KL does not depend on eps
    assert metric(at, "Reconstruction") != recon0

    mu0 = dataframe(at, "dim", "sigma")["mu"].to_numpy()
    at.number_input(key="how_m_img_index").set_value(7)
    page.run()
    mu1 = dataframe(at, "dim", "sigma")["mu"].to_numpy()
    assert not np.allclose(mu0, mu1)
    ck = load_checkpoint(path)
    with torch.no_grad():
        mu_ref, logvar_ref = ck.model.encode(ck.sample.as_tensor()[7:8])
    np.testing.assert_allclose(mu1, mu_ref[0].numpy(), atol=6e-4)
    assert metric(at, "KL") == f"{float(kl_divergence(mu_ref, logvar_ref)[0]):.2f}"

    # picking by class: the first stored image of class 3
    at.selectbox(key="how_m_img_class").set_value(3)
    page.run()
    first3 = int(np.flatnonzero(ck.sample.labels == 3)[0])
    assert any(f"#{first3}, class 3" in c for el in at.image for c in el.captions)
    at.button(key="how_random").click()
    page.run()
    assert at.selectbox(key="how_m_img_class").value == -1


def test_autoencoder_page_says_there_is_no_distribution(autoencoder_path, media):
    at = open_page(autoencoder_path)
    text = " ".join(i.value for i in at.info) + " ".join(w.value for w in at.warning)
    assert "no q(z|x) distribution" in text and "no KL" in text.replace("no KL term", "no KL")
    assert "never asked to make its codes follow N(0, I)" in text
    assert metric(at, "KL") == "none"
    assert not [b for b in at.button if b.key == "how_new_eps"]
    ck = load_checkpoint(autoencoder_path)
    x = ck.sample.as_tensor()[int(at.number_input(key="how_m_img_index").value)][None]
    with torch.no_grad():
        mu, _ = ck.model.encode(x)
        recon = float(reconstruction_nll(ck.model.decode_logits(mu), x, ck.config)[0])
    assert metric(at, "Reconstruction") == f"{recon:.2f}"
    assert "KL" not in at.table[0].value.columns
    assert re.search(r"8 draws z ~ N\(0, I\)", " ".join(c for el in at.image for c in el.captions))


def test_model_change_resets_the_chosen_image():
    page = Page(BUNDLED / "digits-8d")
    page.at.number_input(key="how_m_img_index").set_value(40)
    page.run()
    assert len(dataframe(page.at, "dim", "sigma")) == 8
    page.model = str(BUNDLED / "digits-2d")  # what picking another model in the sidebar does
    at = page.run()
    assert at.number_input(key="how_m_img_index").value == 0
    assert len(dataframe(at, "dim", "sigma")) == 2


def test_conditional_model_encodes_and_decodes_with_the_images_label(home, request):
    out = home / "runs" / "digits-cvae"
    cfg = ModelConfig(image_shape=(1, 8, 8), latent_dim=3, hidden=(64,), kind="cvae")
    Trainer(cfg, TrainConfig(dataset="digits", epochs=2, lr=3e-3, seed=0, device="cpu"),
            request.getfixturevalue("digits"), out_dir=out, sample_size=60, save_optimizer=False).fit()
    ck = load_checkpoint(out)
    at = open_page(out)
    i = int(at.number_input(key="how_m_img_index").value)
    x, y = ck.sample.as_tensor()[i:i + 1], torch.from_numpy(ck.sample.labels[i:i + 1])
    with torch.no_grad():
        mu, logvar = ck.model.encode(x, y)
    assert metric(at, "KL") == f"{float(kl_divergence(mu, logvar)[0]):.2f}"
    assert "together with its class y" in " ".join(m.value for m in at.markdown)


def test_the_training_caption_says_what_this_models_curves_did():
    """The caption is read off the model's own history: a flat KL is called flat, not 'rising'."""
    from ui.how_it_works_ui import history_summary

    flat_kl = [{"epoch": 1, "test_neg_elbo": 40.0, "test_recon": 30.0, "test_kl": 10.0},
               {"epoch": 2, "test_neg_elbo": 35.0, "test_recon": 25.1, "test_kl": 9.9}]
    text = history_summary(flat_kl, has_kl=True)
    assert "negative ELBO fell from 40.0 to 35.0" in text and "reconstruction fell from 30.0 to 25.1" in text
    assert "KL stayed near 9.9" in text and "rose" not in text
    rising = [dict(flat_kl[0]), dict(flat_kl[1], test_kl=16.0)]
    assert "KL rose from 10.0 to 16.0" in history_summary(rising, has_kl=True)
    assert "KL" not in history_summary(flat_kl, has_kl=False) and "test loss fell" in history_summary(flat_kl, False)
