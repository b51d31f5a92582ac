"""The two-level hierarchical VAE (vae_core/model/variants/hierarchical.py, a Ladder VAE, Sønderby et al. 2016):
z = (z1, z2) inferred top-down, one KL term per level held to torch.distributions, beta and warm-up weighting
both, its joint prior and its importance weights, the samples that hold one level, and the bundled model.
(tests/test_variants.py runs it with every kind too.)"""
from __future__ import annotations

import json
import math
import shlex
import subprocess
import sys

import numpy as np
import pytest
import torch
from torch.distributions import Normal
from torch.distributions import kl_divergence as torch_kl

from vae_core.__main__ import build_parser
from vae_core.analysis.evaluate import evaluate_model, importance_log_weights
from vae_core.analysis.explain import explain_image
from vae_core.model import numpy_model
from vae_core.model.architecture import state_shapes
from vae_core.model.config import ConfigError, ModelConfig
from vae_core.model.decoder_program import program_from_arrays, run_program
from vae_core.model.torch_model import VAE
from vae_core.model.variants import variant
from vae_core.model.variants.hierarchical import TopDownPrior, bottom_prior, top_posterior
from vae_core.store.checkpoints import load_checkpoint, save_checkpoint
from vae_core.store.history import load_history
from vae_core.training.run_spec import RunSpec
from vae_core.training.trainer import Trainer

from conftest import REPO_ROOT, tiny_train_config

BUNDLED = REPO_ROOT / "checkpoints" / "mnist5k-hvae"
HVAE = variant("hvae")
D1, D2 = 3, 2  # the test model's z1 and z2


def _config(**overrides) -> ModelConfig:
    kwargs = dict(image_shape=(1, 8, 8), latent_dim=D1 + D2, hidden=(32,), kind="hvae",
                  options={"top_dim": D2, "ladder_hidden": 16})
    return ModelConfig(**{**kwargs, **overrides})


def _model(seed: int = 0) -> VAE:
    torch.manual_seed(seed)
    model = VAE(_config()).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.3 * torch.randn_like(p))
    return model


def _x(n: int = 6) -> torch.Tensor:
    return torch.rand(n, 1, 8, 8, generator=torch.Generator().manual_seed(1))


def _levels(model: VAE, x: torch.Tensor, eps: torch.Tensor):
    """q(z2|x), z2, p(z1|z2), q(z1|x, z2), z1, each written out here from the model's parts with torch.distributions
    (the product of two Gaussians by its variance and mean, not the variant's own expression)."""
    h = model.features(x)
    mu2, logvar2 = top_posterior(model.run, h)
    q2 = Normal(mu2, torch.exp(0.5 * logvar2))
    z2 = q2.mean + q2.stddev * eps[:, D1:]
    mu_p, logvar_p = bottom_prior(model.run, z2)
    p1 = Normal(mu_p, torch.exp(0.5 * logvar_p))
    var_hat, var_p = model.run("logvar", h).exp(), p1.variance
    var_q = 1 / (1 / var_hat + 1 / var_p)
    q1 = Normal(var_q * (model.run("mu", h) / var_hat + p1.mean / var_p), var_q.sqrt())
    z1 = q1.mean + q1.stddev * eps[:, :D1]
    return q2, z2, p1, q1, z1


def test_a_config_leaves_z1_at_least_one_dimension():
    with pytest.raises(ConfigError, match="top_dim=2 leaves no dimension for z1"):
        _config(latent_dim=2)
    with pytest.raises(ConfigError, match="ladder_hidden"):
        _config(options={"ladder_hidden": 0})
    cfg = _config()
    assert HVAE.latent_levels(cfg) == (("z1", 0, D1), ("z2", D1, D1 + D2))


def test_the_checkpoint_shapes_are_the_modules_and_the_browser_runs_the_decoder():
    model = _model()
    assert {k: tuple(v.shape) for k, v in model.state_dict().items()} == state_shapes(model.cfg)
    assert state_shapes(model.cfg)["ladder.p1_mu.weight"] == (D1, 16)
    arrays = {k: v.detach().numpy() for k, v in model.state_dict().items()}
    spec, blob = program_from_arrays(model.cfg, arrays)  # p(x|z1, z2): the decoder is an ordinary MLP of z
    z = np.random.default_rng(0).standard_normal(D1 + D2).astype(np.float32)
    with torch.inference_mode():
        want = model.decode(torch.from_numpy(z)[None])[0].numpy()
    assert spec["latent_dim"] == D1 + D2 and np.abs(run_program(spec, blob, z) - want).max() < 1e-5


def test_the_kl_of_each_level_matches_torch_distributions():
    model = _model()
    x, eps = _x(), torch.randn(6, D1 + D2, generator=torch.Generator().manual_seed(2))
    with torch.inference_mode():
        out = model(x, eps=eps)
        q2, z2, p1, q1, z1 = _levels(model, x, eps)
    assert list(out.terms) == ["recon", "kl1", "kl2"]
    torch.testing.assert_close(out.terms["kl2"], torch_kl(q2, Normal(0.0, 1.0)).sum(1))
    torch.testing.assert_close(out.terms["kl1"], torch_kl(q1, p1).sum(1), rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(out.z, torch.cat([z1, z2], 1), rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(out.mu, torch.cat([q1.mean, q2.mean], 1), rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(out.z, out.mu + torch.exp(0.5 * out.logvar) * eps, rtol=1e-5, atol=1e-5)


def test_the_kl_is_the_sum_of_the_levels_and_beta_weights_both():
    model = _model()
    x, eps = _x(), torch.randn(6, D1 + D2)
    with torch.inference_mode():
        out = model(x, eps=eps)
    kl = out.terms["kl1"] + out.terms["kl2"]
    torch.testing.assert_close(out.kl, kl)
    torch.testing.assert_close(out.neg_elbo, out.recon + kl)
    torch.testing.assert_close(out.per_image(kl_weight=0.25), out.recon + 0.25 * kl)
    ex = explain_image(model, x[0], eps=eps[0])  # How it works: the KL of the image is both levels'
    assert ex["kl"] == pytest.approx(float(kl[0]), rel=1e-5) and set(ex["terms"]) == {"recon", "kl1", "kl2"}
    assert ex["kl_per_dim"] is None


def test_the_prior_is_the_joint_in_torch_and_numpy():
    model = _model()
    z = torch.randn(40, D1 + D2, generator=torch.Generator().manual_seed(3)) * 1.5
    with torch.inference_mode():
        mu_p, logvar_p = bottom_prior(model.run, z[:, D1:])
        want = Normal(0.0, 1.0).log_prob(z[:, D1:]).sum(1) + Normal(mu_p, torch.exp(0.5 * logvar_p)).log_prob(z[:, :D1]).sum(1)
        torch.testing.assert_close(model.log_prior(z), want, rtol=1e-5, atol=1e-5)
    prior = model.prior()
    assert isinstance(prior, TopDownPrior) and prior.latent_dim == D1 + D2
    np.testing.assert_allclose(prior.log_density(z.numpy()), want.numpy(), rtol=1e-5, atol=1e-4)


def test_prior_draws_are_ancestral_and_the_moments_and_contours_follow_them():
    prior = _model().prior()
    z = prior.sample(20_000, seed=5)
    np.testing.assert_array_equal(z, prior.sample(20_000, seed=5))
    np.testing.assert_allclose(z[:, D1:].mean(0), 0, atol=0.03)
    np.testing.assert_allclose(z[:, D1:].std(0), 1, atol=0.03)
    np.testing.assert_allclose(z.mean(0), prior.mean(), atol=0.05 * prior.std().max())
    np.testing.assert_allclose(z.std(0), prior.std(), rtol=0.05)
    mu, logvar = prior.conditional(z[:, D1:])
    standardised = (z[:, :D1] - mu) / np.exp(0.5 * logvar)  # z1 given z2 is p(z1|z2)'s draw
    np.testing.assert_allclose(standardised.mean(0), 0, atol=0.03)
    np.testing.assert_allclose(standardised.std(0), 1, atol=0.03)
    top = prior.contours((D1, D1 + 1))  # the top level alone: N(0, I)'s circles
    assert np.allclose(np.hypot(top[0][1], top[0][2]), 1.0)
    mixed = prior.contours((0, D1))
    assert len(mixed) == 3 and all(np.isfinite(np.nan_to_num(c[1], nan=0.0)).all() and len(c[1]) for c in mixed)


def test_samples_holding_the_top_level_share_z2_and_those_holding_the_lower_share_z1():
    prior = _model().prior()
    held_top = prior.sample_top_fixed(500, seed=1)
    assert np.all(held_top[:, D1:] == held_top[0, D1:])  # one z2 for all
    assert np.ptp(held_top[:, :D1], 0).min() > 0.1  # z1 drawn again for each
    mu, logvar = prior.conditional(held_top[:1, D1:])
    np.testing.assert_allclose(held_top[:, :D1].mean(0), mu[0], atol=4 * np.exp(0.5 * logvar[0]).max() / math.sqrt(500))
    given = np.array([0.5, -1.0], np.float32)
    np.testing.assert_array_equal(prior.sample_top_fixed(3, z2=given, seed=0)[:, D1:], np.tile(given, (3, 1)))
    held_bottom = prior.sample_bottom_fixed(500, seed=1)
    assert np.all(held_bottom[:, :D1] == held_bottom[0, :D1]) and np.ptp(held_bottom[:, D1:], 0).min() > 1
    np.testing.assert_allclose(held_bottom[:, D1:].std(0), 1, atol=0.1)  # z2 from N(0, I)
    model = _model()
    with torch.inference_mode():
        images = model.decode(torch.from_numpy(held_top[:4]))
    assert images.shape == (4, 1, 8, 8) and not torch.allclose(images[0], images[1])


def test_importance_weights_draw_top_down_and_bound_log_px():
    model = _model()
    x = _x(4)
    torch.manual_seed(7)
    with torch.inference_mode():
        z, log_q = HVAE.posterior_draws(model, x, None, 3)
        q2_mu, q2_logvar = top_posterior(model.run, model.features(x))
        want = Normal(q2_mu, torch.exp(0.5 * q2_logvar)).log_prob(z[..., D1:]).sum(-1)
        for s in range(3):
            eps2 = (z[s, :, D1:] - q2_mu) / torch.exp(0.5 * q2_logvar)
            _, _, _, q1, _ = _levels(model, x, torch.cat([torch.zeros(4, D1), eps2], 1))
            want[s] += q1.log_prob(z[s, :, :D1]).sum(-1)
        torch.testing.assert_close(log_q, want, rtol=1e-4, atol=1e-4)
        torch.manual_seed(8)
        lw = importance_log_weights(model, x, k=2000)
    iwae = torch.logsumexp(lw, 0) - math.log(2000)
    elbo = lw.mean(0)
    assert (iwae >= elbo).all()
    with torch.inference_mode():
        torch.manual_seed(9)
        one_sample = torch.stack([model(x).neg_elbo for _ in range(2000)]).mean(0)
    torch.testing.assert_close(-elbo, one_sample, rtol=0.02, atol=0.3)  # both estimate the same ELBO


def test_numpy_encodes_as_torch_does():
    model = _model()
    arrays = {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}
    x = _x(20)
    with torch.inference_mode():
        mu, logvar = model.encode(x)
        _, z2, _, q1, _ = _levels(model, x, torch.zeros(20, D1 + D2))  # q at z2 = its mean
    torch.testing.assert_close(mu[:, :D1], q1.mean, rtol=1e-5, atol=1e-5)
    np_mu, np_logvar = numpy_model.encode(model.cfg, arrays, x.numpy())
    np.testing.assert_allclose(np_mu, mu.numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(np_logvar, logvar.numpy(), rtol=1e-4, atol=1e-5)


def test_one_step_changes_every_weight_and_a_short_run_lowers_the_loss_with_both_kls_recorded(digits, tmp_path):
    trainer = Trainer(_config(), tiny_train_config(epochs=5, lr=5e-3, warmup_epochs=2), digits,
                      out_dir=tmp_path / "hvae", sample_size=100)
    model = trainer.model.train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    model(digits.train.images[:64]).loss().backward()
    opt.step()
    assert all(not torch.equal(before[k], p) for k, p in model.named_parameters())
    history = trainer.fit()
    assert history[-1].test_neg_elbo < history[0].test_neg_elbo and history[-1].train_loss < history[0].train_loss
    assert [round(h.kl_weight, 4) for h in history] == [round(1 / 3, 4), round(2 / 3, 4), 1.0, 1.0, 1.0]
    last = history[-1]
    assert set(last.test_terms) == {"kl1", "kl2"}
    assert last.test_kl == pytest.approx(last.test_terms["kl1"] + last.test_terms["kl2"], rel=1e-5)
    saved = load_history(tmp_path / "hvae")
    assert set(saved.series) == {"kl1", "kl2"}
    np.testing.assert_allclose(saved.series["kl1"] + saved.series["kl2"], saved.kl, rtol=1e-4, atol=1e-4)


def test_save_and_load_give_every_tensor_back(tmp_path):
    model = _model()
    ckpt = load_checkpoint(save_checkpoint(tmp_path / "hvae", model, {}))
    assert ckpt.config == model.cfg
    for k, v in model.state_dict().items():
        assert torch.equal(v, ckpt.model.state_dict()[k]), k


def test_the_command_line_takes_the_levels_settings():
    args = build_parser().parse_args(["train", "--kind", "hvae", "--latent-dim", "10", "--top-dim", "3",
                                      "--ladder-hidden", "32", "--out", "o"])
    spec = RunSpec.from_args(args)
    cfg = spec.model_config((1, 8, 8), 10)
    assert cfg.options.top_dim == 3 and HVAE.head_dim(cfg) == 7
    assert "--kind hvae" in spec.command("o") and "--top-dim 3 --ladder-hidden 32" in spec.command("o")
    assert RunSpec.from_args(build_parser().parse_args(shlex.split(spec.command("o"))[3:])) == spec


def test_evaluate_reports_the_kl_of_each_level_and_the_iwae_bound(digits):
    trainer = Trainer(_config(), tiny_train_config(epochs=3), digits)
    trainer.fit()
    r = evaluate_model(trainer.model, digits.test.images, digits.test.labels, iwae_k=50, iwae_images=100)
    assert set(r["terms"]) == {"kl1", "kl2"}
    assert r["kl"] == pytest.approx(r["terms"]["kl1"] + r["terms"]["kl2"], rel=1e-5)
    assert r["kl_per_dim"] is None and r["iwae_neg_log_likelihood"] < r["neg_elbo"]


# ---------------------------------------------------------------------------------------------- the bundled model

def test_the_bundled_model_gives_its_recorded_numbers_and_uses_both_levels():
    ck = load_checkpoint(BUNDLED)
    assert ck.config.kind == "hvae" and "--kind hvae" in ck.meta["command"]
    r = evaluate_model(ck.model, ck.sample.as_tensor(), torch.from_numpy(ck.sample.labels), iwae_k=20,
                       iwae_images=50)
    m = ck.meta["metrics"]
    assert r["neg_elbo"] == pytest.approx(m["test_neg_elbo"], abs=0.2)  # its stored images are its test set
    assert r["terms"]["kl1"] == pytest.approx(m["test_kl1"], abs=0.2) and r["terms"]["kl2"] > 1.0  # z2 is used
    assert r["terms"]["kl1"] > 1.0
    assert {"kl1", "kl2"} <= set(ck.history.series)


def test_the_first_screen_encodes_the_bundled_model_without_torch():
    probe = ("import json, sys\n"
             "from ui.loaded_model import LoadedModel\n"
             f"m = LoadedModel({str(BUNDLED)!r}, 'stamp')\n"
             "mu, logvar = m.encodings()\n"
             "print(json.dumps({'torch': 'torch' in sys.modules, 'mu': mu[:3].tolist(), 'logvar': logvar[:3].tolist()}))\n")
    out = subprocess.run([sys.executable, "-c", probe], cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["torch"] is False
    ck = load_checkpoint(BUNDLED)
    with torch.inference_mode():
        mu, logvar = ck.model.encode(ck.sample.as_tensor()[:3])
    np.testing.assert_allclose(got["mu"], mu.numpy(), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(got["logvar"], logvar.numpy(), rtol=1e-4, atol=1e-4)


def test_the_train_page_trains_a_hierarchical_vae_with_its_levels(tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    from conftest import clean_home, run_until, texts

    home = clean_home(tmp_path, monkeypatch)
    at = AppTest.from_file(str(REPO_ROOT / "app.py"), default_timeout=60)
    at.run()
    at.switch_page("pages/train.py")
    at.run()
    at.radio(key="train_kind").set_value("hvae").run()
    at.slider(key="train_latent").set_value(5)
    at.number_input(key="train_hvae_top_dim").set_value(2)
    at.number_input(key="train_hvae_ladder_hidden").set_value(16)
    at.number_input(key="train_epochs").set_value(1)
    at.text_input(key="train_hidden").set_value("32")
    at.text_input(key="train_name").set_value("hvae-run")
    at.button(key="train_start").click()
    at.run()
    run_until(at, lambda a: "Finished" in texts(a.success))
    ck = load_checkpoint(next((home / "sessions").glob("*/runs/hvae-run")))
    assert ck.config.kind == "hvae" and ck.config.options.ladder_hidden == 16 and ck.config.latent_dim == 5
    assert set(ck.meta["history"][-1]["test_terms"]) == {"kl1", "kl2"}
