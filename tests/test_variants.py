"""Kinds of model as data (vae_core.model.variants): every registered kind builds, trains, saves, encodes in NumPy,
decodes in the browser's program (or says it cannot) and gives its prior, through the same code, the tests asking
the kind's capabilities, never its name; configs written before kinds existed still load, their flags mapped to
a kind."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from vae_core.model import numpy_model
from vae_core.store.checkpoints import load_checkpoint, save_checkpoint
from vae_core.model.config import ConfigError, ModelConfig
from vae_core.model.decoder_program import UnsupportedDecoder, program_from_arrays, run_program
from vae_core.store.paths import BUNDLED_DIR
from vae_core.model.torch_model import VAE
from vae_core.model.variants import KINDS, VARIANTS

from conftest import tiny_model_config, tiny_train_config


def _config(kind: str, **overrides) -> ModelConfig:
    """The tiny test model of a kind: an MLP, or two small conv blocks (a 2x2 map) for a kind whose z is a map."""
    arch = {"arch": "conv", "hidden": (8, 16)} if VARIANTS[kind].latent_map else {}
    return tiny_model_config(**{"kind": kind, "latent_dim": 3, **arch, **overrides})


def _model(kind: str) -> VAE:
    """The kind's test model, its own tensors random (a codebook that starts at 0 would make a degenerate prior)."""
    torch.manual_seed(0)
    model = VAE(_config(kind)).eval()
    with torch.no_grad():
        for name in model.variant.extra_tensors(model.cfg):
            model.get_parameter(name).uniform_() if name in dict(model.named_parameters()) \
                else model.get_buffer(name).normal_()
    return model


def _labels(model: VAE, n: int) -> torch.Tensor | None:
    return torch.arange(n) % model.cfg.num_classes if model.variant.conditional else None


def test_the_registry_holds_the_kinds_with_their_words():
    assert {"vae", "cvae", "ae"} <= set(KINDS)
    for kind, v in VARIANTS.items():
        assert v.kind == kind and v.title and v.help
        assert ModelConfig(kind=kind, **({"arch": "conv", "hidden": (32, 64)} if v.latent_map else {})).variant is v


@pytest.mark.parametrize("flags,kind", [({}, "vae"), ({"conditional": True}, "cvae"),
                                        ({"autoencoder": True}, "ae"),
                                        ({"conditional": False, "autoencoder": False}, "vae")])
def test_a_config_written_before_kinds_maps_its_flags_to_a_kind(flags, kind):
    cfg = ModelConfig.from_dict({"image_shape": [1, 8, 8], "latent_dim": 2, **flags})
    assert cfg.kind == kind
    assert "conditional" not in cfg.to_dict() and cfg.to_dict()["kind"] == kind  # saved again, it says its kind


def test_old_flags_that_say_two_kinds_or_contradict_the_kind_are_refused():
    with pytest.raises(ConfigError, match="choose one"):
        ModelConfig.from_dict({"image_shape": [1, 8, 8], "autoencoder": True, "conditional": True})
    with pytest.raises(ConfigError, match="contradicts"):
        ModelConfig.from_dict({"image_shape": [1, 8, 8], "kind": "vae", "autoencoder": True})
    with pytest.raises(ConfigError, match="kind='gan' is not one of"):
        ModelConfig(kind="gan")
    with pytest.raises(ConfigError, match="options"):
        ModelConfig(kind="vae", options={"bogus": 1})


def _written_with_old_flags(src: Path, dst: Path) -> Path:
    """A copy of a bundled checkpoint whose config.json says its kind with the flags used before kinds existed
    (conditional, autoencoder), its checksum updated as such a checkpoint had it."""
    import hashlib
    import shutil

    shutil.copytree(src, dst)
    config = json.loads((dst / "config.json").read_text())
    kind = config["model"].pop("kind")
    config["model"].pop("options", None)
    config["model"].update(conditional=kind == "cvae", autoencoder=kind == "ae")
    (dst / "config.json").write_text(json.dumps(config, indent=2))
    meta = json.loads((dst / "meta.json").read_text())
    meta["sha256"]["config.json"] = hashlib.sha256((dst / "config.json").read_bytes()).hexdigest()
    (dst / "meta.json").write_text(json.dumps(meta, indent=2))
    return dst


def test_checkpoints_written_with_the_old_flags_load_with_a_kind(tmp_path):
    old = [_written_with_old_flags(BUNDLED_DIR / name, tmp_path / name) for name in ("digits-2d", "digits-2d-autoencoder")]
    for path in old:
        flags = json.loads((path / "config.json").read_text())["model"]
        want = "ae" if flags["autoencoder"] else "cvae" if flags["conditional"] else "vae"
        assert load_checkpoint(path, lazy=True).config.kind == want, path.name


@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_gives_its_loss_as_named_terms(kind):
    model = _model(kind)
    x = torch.rand(6, 1, 8, 8, generator=torch.Generator().manual_seed(1))
    v = model.variant
    out = model(x, _labels(model, 6))
    assert list(out.terms)[0] == "recon" and all(t.shape == (6,) for t in out.terms.values())
    kl_terms = [k for k in out.terms if k in v.kl_terms]
    assert bool(kl_terms) == v.has_prior
    torch.testing.assert_close(out.kl, sum([out.terms[k] for k in kl_terms], torch.zeros(6)))
    torch.testing.assert_close(out.neg_elbo, sum(t for k, t in out.terms.items() if k not in v.aux_terms))
    weighted = out.per_image(kl_weight=0.5)  # beta weights every KL term, and only those
    torch.testing.assert_close(weighted, sum(t * (0.5 if k in v.kl_terms else 1.0) for k, t in out.terms.items()))
    assert out.z.shape == out.mu.shape == (6, model.latent_dim)
    assert torch.equal(out.z, model(x, _labels(model, 6)).z) != v.gaussian_posterior  # a point q: the same z again
    if v.discrete_latent:  # z is the codes nearest to the encoder's output (z_e + (z_q - z_e), to rounding)
        torch.testing.assert_close(out.z, v.decoder_input(model, out.mu))
        assert not torch.allclose(out.z, out.mu)
    else:
        assert torch.equal(out.z, out.mu) != v.gaussian_posterior


@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_is_one_model_for_torch_numpy_the_browser_and_the_checkpoint(kind, tmp_path):
    model = _model(kind)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.1 * torch.randn_like(p))
    arrays = {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}
    x = torch.rand(5, 1, 8, 8, generator=torch.Generator().manual_seed(2))
    y = _labels(model, 5)
    with torch.inference_mode():
        mu, logvar = model.encode(x, y)
        ref = model.decode(mu, y)
    np_mu, np_logvar = numpy_model.encode(model.cfg, arrays, x.numpy(), None if y is None else y.numpy())
    np.testing.assert_allclose(np_mu, mu.numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(np_logvar, logvar.numpy(), rtol=1e-4, atol=1e-5)
    if model.variant.browser_decoder:
        spec, blob = program_from_arrays(model.cfg, arrays)
        for i in range(5):
            got = run_program(spec, blob, mu[i].numpy(), None if y is None else int(y[i]))
            assert np.abs(got - ref[i].numpy()).max() < 1e-5
    else:  # the app decodes on the server instead (ui.loaded_model.LoadedModel.browser_program gives None)
        with pytest.raises(UnsupportedDecoder, match=model.variant.browser_decoder_reason):
            program_from_arrays(model.cfg, arrays)
    ckpt = load_checkpoint(save_checkpoint(tmp_path / kind, model, {}))
    assert ckpt.config == model.cfg
    for k, v in model.state_dict().items():
        assert torch.equal(v, ckpt.model.state_dict()[k]), k


@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_gives_a_prior_to_draw_from_and_scores_its_dimensions(kind):
    model = _model(kind)
    prior = model.prior()
    z = prior.sample(400, seed=3)
    assert z.shape == (400, model.latent_dim) and z.dtype == np.float32
    np.testing.assert_array_equal(z, prior.sample(400, seed=3))
    assert np.isfinite(prior.log_density(z)).all()
    np.testing.assert_allclose(z.mean(0), prior.mean(), atol=0.25)
    np.testing.assert_allclose(z.std(0), prior.std(), rtol=0.2)
    with torch.inference_mode():
        mu, logvar = model.encode(torch.rand(50, 1, 8, 8), _labels(model, 50))
    activity = model.variant.activity(mu.numpy(), logvar.numpy())
    assert activity.shape == (model.latent_dim,) and (activity >= 0).all()


@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_trains_on_the_digits(kind, digits):
    from vae_core.training.trainer import Trainer

    trainer = Trainer(_config(kind), tiny_train_config(epochs=2), digits)
    before = {k: v.clone() for k, v in trainer.model.state_dict().items()}
    history = trainer.fit()
    assert history[-1].test_recon < history[0].test_recon or history[-1].test_neg_elbo < history[0].test_neg_elbo
    assert (history[-1].test_kl > 0) == trainer.model.variant.has_prior
    learned = [k for k, _ in trainer.model.named_parameters()]
    assert all(not torch.equal(before[k], trainer.model.state_dict()[k]) for k in learned)
