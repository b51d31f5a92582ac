"""The VAE module: the reparameterization trick, shapes, variants and config validation."""
from __future__ import annotations

import pytest
import torch

from vae_core.model.config import ConfigError, ModelConfig, TrainConfig
from vae_core.model.torch_model import AE_LOGVAR, VAE, build_model


def _cfg(**kw) -> ModelConfig:
    base = dict(image_shape=(1, 8, 8), latent_dim=3, hidden=(16,))
    base.update(kw)
    return ModelConfig(**base)


def _images(n: int, shape=(1, 8, 8), seed: int = 0) -> torch.Tensor:
    return torch.rand(n, *shape, generator=torch.Generator().manual_seed(seed))


# ---------------------------------------------------------------- reparameterization


def test_reparameterize_gradients_with_given_eps():
    torch.manual_seed(0)
    model = VAE(_cfg(latent_dim=4))
    g = torch.Generator().manual_seed(1)
    mu = torch.randn(5, 4, generator=g).requires_grad_(True)
    logvar = torch.randn(5, 4, generator=g).requires_grad_(True)
    eps = torch.randn(5, 4, generator=g)
    z = model.reparameterize(mu, logvar, eps)
    torch.testing.assert_close(z.detach(), mu.detach() + torch.exp(0.5 * logvar.detach()) * eps)
    z.sum().backward()
    assert mu.grad is not None and logvar.grad is not None
    torch.testing.assert_close(mu.grad, torch.ones_like(mu))  # dz/dmu = 1
    expected = 0.5 * torch.exp(0.5 * logvar.detach()) * eps  # dz/dlogvar = sigma * eps / 2
    torch.testing.assert_close(logvar.grad, expected)
    assert (logvar.grad != 0).all()


def test_reparameterize_gradients_with_internal_noise():
    model = VAE(_cfg(latent_dim=6))
    mu = torch.zeros(200, 6, requires_grad=True)
    logvar = torch.full((200, 6), 0.4, requires_grad=True)
    z = model.reparameterize(mu, logvar)
    z.sum().backward()
    torch.testing.assert_close(mu.grad, torch.ones_like(mu))
    # the noise the model drew, recovered from z, explains the logvar gradient
    sigma = torch.exp(0.5 * logvar.detach())
    eps = (z.detach() - mu.detach()) / sigma
    torch.testing.assert_close(logvar.grad, 0.5 * sigma * eps)
    assert logvar.grad.abs().sum() > 0
    # and it is real N(0, 1) noise: fresh each call, with unit-ish spread
    assert 0.8 < eps.std().item() < 1.2
    z2 = model.reparameterize(mu.detach(), logvar.detach())
    assert not torch.equal(z.detach(), z2)


def test_loss_gradient_reaches_encoder_mean_and_variance_heads():
    torch.manual_seed(0)
    model = VAE(_cfg())
    out = model(_images(8))
    out.loss().backward()
    for name in ("encoder.fc_mu.weight", "encoder.fc_logvar.weight", "decoder.net.0.weight"):
        grad = dict(model.named_parameters())[name].grad
        assert grad is not None and grad.abs().sum() > 0, name


# ---------------------------------------------------------------- shapes


@pytest.mark.parametrize("arch,shape,hidden", [
    ("mlp", (1, 8, 8), (32,)),
    ("mlp", (3, 6, 10), (32, 16)),
    ("conv", (1, 8, 8), (8, 16)),
    ("conv", (3, 16, 8), (4, 8, 8)),
])
def test_forward_shapes(arch, shape, hidden):
    torch.manual_seed(0)
    model = build_model(_cfg(arch=arch, image_shape=shape, hidden=hidden, latent_dim=5))
    x = _images(7, shape)
    out = model(x)
    assert out.loss().shape == ()
    assert torch.isfinite(out.loss())
    for field in ("recon", "kl"):
        assert getattr(out, field).shape == (7,)
    for field in ("mu", "logvar", "z"):
        assert getattr(out, field).shape == (7, 5)
    assert out.logits.shape == (7, *shape)
    assert out.neg_elbo.shape == (7,)
    assert (out.kl >= 0).all() and (out.recon > 0).all()
    assert model.decode(torch.randn(4, 5)).shape == (4, *shape)
    assert model.prior_sample(3).shape == (3, *shape)


def test_loss_is_mean_of_recon_plus_weighted_kl_and_neg_elbo_ignores_the_weight():
    torch.manual_seed(0)
    model = VAE(_cfg())
    x = _images(6)
    torch.manual_seed(5)
    out = model(x)
    torch.testing.assert_close(out.loss(kl_weight=0.25), (out.recon + 0.25 * out.kl).mean())
    torch.testing.assert_close(out.neg_elbo, out.recon + out.kl)


def test_forward_returns_named_terms_and_uses_the_noise_it_is_given():
    torch.manual_seed(0)
    model = VAE(_cfg())
    x = _images(5)
    eps = torch.randn(5, 3, generator=torch.Generator().manual_seed(2))
    a, b = model(x, eps=eps), model(x, eps=eps)
    assert list(a.terms) == ["recon", "kl"] and all(t.shape == (5,) for t in a.terms.values())
    torch.testing.assert_close(a.z, a.mu + torch.exp(0.5 * a.logvar) * eps)
    assert torch.equal(a.terms["recon"], b.terms["recon"]) and torch.equal(a.terms["kl"], b.terms["kl"])
    assert not torch.equal(model(x).z, a.z)  # without eps, new noise
    assert list(VAE(_cfg(kind="ae"))(x).terms) == ["recon"]  # no KL term at all


@pytest.mark.parametrize("arch,hidden", [("mlp", (16,)), ("conv", (8, 8))])
def test_decode_output_is_in_unit_interval(arch, hidden):
    torch.manual_seed(0)
    model = VAE(_cfg(arch=arch, hidden=hidden))
    z = torch.randn(50, 3, generator=torch.Generator().manual_seed(0)) * 30  # far outside the prior
    x = model.decode(z)
    assert x.min() >= 0 and x.max() <= 1
    assert x.std() > 0  # not a constant image


def test_prior_sample_is_reproducible_with_a_generator():
    model = VAE(_cfg())
    a = model.prior_sample(4, generator=torch.Generator().manual_seed(3))
    b = model.prior_sample(4, generator=torch.Generator().manual_seed(3))
    c = model.prior_sample(4, generator=torch.Generator().manual_seed(4))
    assert torch.equal(a, b)
    assert not torch.equal(a, c)
    # temperature 0 decodes z = 0 for every sample
    cold = model.prior_sample(3, temperature=0.0)
    torch.testing.assert_close(cold, model.decode(torch.zeros(3, 3)))


# ---------------------------------------------------------------- variants


@pytest.mark.parametrize("arch,hidden", [("mlp", (16,)), ("conv", (8,))])
def test_conditional_needs_labels_and_uses_them(arch, hidden):
    torch.manual_seed(0)
    model = VAE(_cfg(arch=arch, hidden=hidden, kind="cvae", num_classes=10))
    x = _images(4)
    y = torch.tensor([0, 3, 9, 1])
    out = model(x, y)
    assert out.mu.shape == (4, 3) and out.logits.shape == (4, 1, 8, 8)
    with pytest.raises(ValueError, match="conditional"):
        model(x)
    with pytest.raises(ValueError, match="conditional"):
        model.decode(torch.zeros(2, 3))
    with pytest.raises(ValueError, match="0..9"):
        model(x, torch.tensor([0, 1, 2, 10]))
    with pytest.raises(ValueError):
        model(x, torch.tensor([0, 1]))  # wrong count
    z = torch.zeros(1, 3)
    assert not torch.allclose(model.decode(z, torch.tensor([0])), model.decode(z, torch.tensor([7])))
    # one label is broadcast to the whole batch
    zz = torch.randn(3, 3)
    torch.testing.assert_close(model.decode(zz, torch.tensor(2)), model.decode(zz, torch.tensor([2, 2, 2])))


def test_unconditional_model_ignores_labels():
    torch.manual_seed(0)
    model = VAE(_cfg())
    z = torch.randn(3, 3)
    assert torch.equal(model.decode(z), model.decode(z, torch.tensor([1, 2, 3])))


def test_autoencoder_has_no_sampling_and_no_kl():
    torch.manual_seed(0)
    model = VAE(_cfg(kind="ae"))
    assert model.encoder.fc_logvar is None
    x = _images(5)
    out = model(x)
    assert torch.equal(out.z, out.mu)
    assert torch.equal(out.kl, torch.zeros(5))
    assert torch.equal(out.logvar, torch.full_like(out.mu, AE_LOGVAR))
    torch.testing.assert_close(out.loss(), out.recon.mean())
    # deterministic: two passes give the same loss
    assert torch.equal(model(x).loss(), out.loss())


def test_learned_gaussian_variance_is_a_trained_parameter():
    torch.manual_seed(0)
    model = VAE(_cfg(likelihood="gaussian", gaussian_variance="learned", gaussian_sigma=0.2))
    assert model.log_sigma is not None and model.log_sigma.shape == (1, 8, 8)
    torch.testing.assert_close(model.log_sigma.detach(), torch.full((1, 8, 8), torch.log(torch.tensor(0.2)).item()))
    model(_images(4)).loss().backward()
    assert model.log_sigma.grad is not None and model.log_sigma.grad.abs().sum() > 0
    assert "log_sigma" in model.state_dict()
    assert VAE(_cfg(likelihood="gaussian")).log_sigma is None  # fixed variance: no parameter


# ---------------------------------------------------------------- config validation


@pytest.mark.parametrize("kwargs,name", [
    (dict(latent_dim=0), "latent_dim"),
    (dict(latent_dim=65), "latent_dim"),
    (dict(latent_dim=-3), "latent_dim"),
    (dict(latent_dim=2.5), "latent_dim"),  # not an integer: must not reach nn.Linear
    (dict(arch="x"), "arch"),
    (dict(likelihood="poisson"), "likelihood"),
    (dict(gaussian_variance="sometimes"), "gaussian_variance"),
    (dict(gaussian_sigma=0.0), "gaussian_sigma"),
    (dict(hidden=()), "hidden"),
    (dict(hidden=(16, 0)), "hidden"),
    (dict(num_classes=0), "num_classes"),
    (dict(image_shape=(8, 8)), "image_shape"),
    (dict(image_shape=(1, 0, 8)), "image_shape"),
])
def test_model_config_errors_name_the_parameter(kwargs, name):
    with pytest.raises(ConfigError, match=name):
        _cfg(**kwargs)


def test_conv_with_non_divisible_image_size_is_refused():
    # 8x8 halves three times to 1x1, but four stride-2 blocks would need 16x16
    ModelConfig(image_shape=(1, 8, 8), arch="conv", hidden=(4, 4, 4))
    with pytest.raises(ConfigError) as e:
        ModelConfig(image_shape=(1, 8, 8), arch="conv", hidden=(4, 4, 4, 4))
    msg = str(e.value)
    assert "arch" in msg and "hidden" in msg and "8x8" in msg and "16" in msg
    with pytest.raises(ConfigError, match="arch"):
        ModelConfig(image_shape=(1, 28, 28), arch="conv", hidden=(8, 8, 8))  # 28 is not divisible by 8


def test_config_error_is_a_value_error():
    assert issubclass(ConfigError, ValueError)


def test_latent_dim_limits_are_inclusive():
    assert _cfg(latent_dim=1).latent_dim == 1
    assert _cfg(latent_dim=64).latent_dim == 64


def test_model_config_dict_round_trip_and_unknown_keys():
    cfg = _cfg(arch="conv", hidden=(4, 8), kind="cvae", num_classes=7)
    assert ModelConfig.from_dict(cfg.to_dict()) == cfg
    # JSON turns tuples into lists: from_dict must give back an equal config
    as_json = {k: list(v) if isinstance(v, tuple) else v for k, v in cfg.to_dict().items()}
    assert ModelConfig.from_dict(as_json) == cfg
    with pytest.raises(ConfigError, match="bogus"):
        ModelConfig.from_dict({**cfg.to_dict(), "bogus": 1})


@pytest.mark.parametrize("kwargs,name", [
    (dict(epochs=0), "epochs"),
    (dict(batch_size=0), "batch_size"),
    (dict(lr=0.0), "lr"),
    (dict(lr=11.0), "lr"),
    (dict(beta=-1.0), "beta"),
    (dict(warmup_epochs=-1), "warmup_epochs"),
    (dict(test_fraction=1.0), "test_fraction"),
])
def test_train_config_errors_name_the_parameter(kwargs, name):
    with pytest.raises(ConfigError, match=name):
        TrainConfig(**kwargs)
