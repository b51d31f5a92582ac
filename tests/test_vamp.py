"""The VampPrior VAE (vae_core/model/variants/vamp.py, Tomczak & Welling 2018): its prior is the mixture of the
encoder's posteriors at learned pseudo-inputs, its KL a Monte-Carlo estimate, its draws and contours the
mixture's; trained from the command line and the app, bundled (digits-2d-vamp), and shown on every page.
(tests/test_variants.py also runs it, with every kind, through torch, NumPy, the browser program, checkpoints
and training.)"""
from __future__ import annotations

import math
import shlex

import numpy as np
import pytest
import torch
from streamlit.testing.v1 import AppTest
from torch.distributions import Categorical, Independent, MixtureSameFamily, Normal
from torch.distributions import kl_divergence as torch_kl

from vae_core.__main__ import build_parser
from vae_core.store.checkpoints import load_checkpoint
from vae_core.training.run_spec import RunSpec
from vae_core.analysis.evaluate import evaluate_neg_elbo
from vae_core.model.torch_model import VAE

from conftest import REPO_ROOT, clean_home, texts, tiny_model_config

BUNDLED = REPO_ROOT / "checkpoints" / "digits-2d-vamp"
PAGES = ["latent_map", "sliders", "generate", "draw", "how_it_works", "models"]


def _model(components: int = 5, seed: int = 0) -> VAE:
    torch.manual_seed(seed)
    model = VAE(tiny_model_config(kind="vamp", latent_dim=3, options={"components": components})).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.2 * torch.randn_like(p))
    return model


def test_the_prior_is_the_mixture_of_the_posteriors_at_the_pseudo_inputs():
    model = _model()
    with torch.inference_mode():
        mu_k, logvar_k = model.encode(model.pseudo_inputs)
        mixture = MixtureSameFamily(Categorical(torch.ones(5)), Independent(Normal(mu_k, torch.exp(0.5 * logvar_k)), 1))
        z = torch.randn(64, 3, generator=torch.Generator().manual_seed(1)) * 2
        torch.testing.assert_close(model.log_prior(z), mixture.log_prob(z), rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(model.prior().log_density(z.numpy()), mixture.log_prob(z).numpy(), rtol=1e-5, atol=1e-5)


def test_the_kl_is_a_one_sample_monte_carlo_estimate_whose_mean_is_the_kl():
    """With one pseudo-input the prior is a Gaussian, so KL(q || p) has a closed form to check the estimate
    against: the mean over many draws of z of log q(z|x) - log p(z)."""
    model = _model(components=1)
    x = torch.rand(4, 1, 8, 8, generator=torch.Generator().manual_seed(2))
    with torch.inference_mode():
        mu, logvar = model.encode(x)
        mu_p, logvar_p = model.encode(model.pseudo_inputs)
        exact = torch_kl(Independent(Normal(mu, torch.exp(0.5 * logvar)), 1),
                         Independent(Normal(mu_p, torch.exp(0.5 * logvar_p)), 1))
        torch.manual_seed(3)
        estimates = torch.stack([model(x).terms["kl"] for _ in range(4000)])  # (draws, 4)
    assert estimates.std(0).min() > 0.01  # an estimate: it varies with the draw of z
    torch.testing.assert_close(estimates.mean(0), exact, atol=4 * float(estimates.std(0).max()) / math.sqrt(4000),
                               rtol=0)


def test_prior_samples_and_contours_come_from_the_mixture():
    model = _model(components=5)
    prior = model.prior()
    z = prior.sample(20_000, seed=0)
    np.testing.assert_allclose(z.mean(0), prior.mean(), atol=0.05 * prior.std().max())
    np.testing.assert_allclose(z.std(0), prior.std(), rtol=0.03)
    np.testing.assert_array_equal(prior.sample(7, seed=4), prior.sample(7, seed=4))  # seeded
    assert not np.array_equal(prior.sample(7, seed=4), prior.sample(7, seed=5))
    with torch.inference_mode():
        images = model.prior_sample(3, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(images, model.decode(torch.from_numpy(prior.sample(3, seed=0))))


def test_the_command_line_trains_it_with_its_own_setting():
    args = build_parser().parse_args(["train", "--kind", "vamp", "--components", "7", "--out", "o"])
    spec = RunSpec.from_args(args)
    assert spec.model_config((1, 8, 8), 10).options.components == 7
    assert "--kind vamp --components 7" in spec.command("o")
    again = RunSpec.from_args(build_parser().parse_args(shlex.split(spec.command("o"))[3:]))
    assert again == spec
    with pytest.raises(SystemExit):
        build_parser().parse_args(["train", "--kind", "vamp", "--components", "x", "--out", "o"])


def test_the_bundled_model_gives_its_recorded_numbers_and_a_learned_prior():
    ck = load_checkpoint(BUNDLED)
    assert ck.config.kind == "vamp" and ck.config.latent_dim == 2 and ck.config.image_shape == (1, 8, 8)
    assert "--kind vamp" in ck.meta["command"]
    neg_elbo, recon, kl = evaluate_neg_elbo(ck.model, ck.sample.as_tensor(), torch.from_numpy(ck.sample.labels))
    m = ck.meta["metrics"]
    assert neg_elbo == pytest.approx(m["test_neg_elbo"], abs=0.1)  # its stored images are its test set, as uint8
    assert kl > 0.5  # the KL term is estimated and used
    prior = ck.prior
    assert not np.allclose(prior.std(), 1.0, atol=0.2)  # learned: not N(0, I)
    one_sigma = prior.contours()[0]
    assert np.isnan(one_sigma[1]).any() or np.ptp(np.hypot(one_sigma[1], one_sigma[2])) > 0.5  # not a circle


@pytest.mark.parametrize("page", PAGES)
def test_every_page_shows_the_bundled_model(tmp_path, monkeypatch, page):
    clean_home(tmp_path, monkeypatch)
    at = AppTest.from_file(str(REPO_ROOT / "app.py"), default_timeout=90)
    at.session_state["model_path"] = str(BUNDLED)
    at.run()
    if page != "latent_map":
        at.switch_page(f"pages/{page}.py")
        at.session_state["model_path"] = str(BUNDLED)
        at.run()
    assert not at.exception, at.exception
    assert not at.error, texts(at.error)
    shown = texts(at.markdown) + texts(at.caption) + texts(at.sidebar.caption) + " ".join(t.value for t in at.latex)
    assert "VampPrior VAE" in texts(at.sidebar.caption)
    if page == "how_it_works":
        assert "Monte-Carlo estimate" in shown and r"\frac{1}{K}" in shown
    if page == "latent_map":
        from ui.component_data import unpack

        maps = [e for e in at._tree.get("bidi_component") if e.proto.component_name.endswith("vae_latent_map")]
        payload, _ = unpack(maps[0].proto.bytes)
        assert "q(z|u" in payload["prior_name"] and [c["sigma"] for c in payload["prior"]] == [1.0, 2.0, 3.0]
        xy = np.array([[float(v) for v in p.split()] for p in payload["prior"][0]["d"][1:].replace("L", "M").split("M")])
        assert np.ptp(np.hypot(*xy.T)) > 0.3  # the mixture's contours, not N(0, I)'s circles


def test_the_train_page_trains_a_vampprior_vae(tmp_path, monkeypatch):
    home = clean_home(tmp_path, monkeypatch)
    at = AppTest.from_file(str(REPO_ROOT / "app.py"), default_timeout=60)
    at.run()
    at.switch_page("pages/train.py")
    at.run()
    at.radio(key="train_kind").set_value("vamp").run()
    at.number_input(key="train_vamp_components").set_value(4)
    at.number_input(key="train_epochs").set_value(1)
    at.text_input(key="train_hidden").set_value("32")
    at.text_input(key="train_name").set_value("vamp-run")
    at.button(key="train_start").click()
    at.run()
    from conftest import run_until

    run_until(at, lambda a: "Finished" in texts(a.success))
    saved = next((home / "sessions").glob("*/runs/vamp-run"))
    ck = load_checkpoint(saved)
    assert ck.config.kind == "vamp" and ck.config.options.components == 4
    assert ck.arrays["pseudo_inputs"].shape == (4, 1, 8, 8)
    assert len(at.get("image")) == 3  # reconstructions and prior draws from the mixture after each epoch
