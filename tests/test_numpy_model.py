"""The torch-free side of a model: the tensor names and shapes a checkpoint must hold (vae_core.model.architecture),
q(z|x) computed without torch, and the browser's decoder program built from a checkpoint's
arrays. Each is held to the torch model it stands in for."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from vae_core.model import architecture

from vae_core.model import numpy_model
from vae_core.store.checkpoints import list_checkpoints, load_checkpoint
from vae_core.model.config import ModelConfig
from vae_core.model.decoder_program import UnsupportedDecoder, decoder_program, program_from_arrays
from vae_core.model.torch_model import VAE
from vae_core.store.paths import BUNDLED_DIR

from test_decoder_program import CONFIGS as DECODER_CONFIGS

CONFIGS = [  # the decoder program's configurations, and a conditional conv model and a learned variance
    *DECODER_CONFIGS,
    ModelConfig(image_shape=(1, 28, 28), latent_dim=5, arch="conv", hidden=(8, 8), kind="cvae", num_classes=4),
    ModelConfig(image_shape=(1, 8, 8), latent_dim=2, hidden=(16,), likelihood="gaussian", gaussian_variance="learned"),
]
IDS = [f"{c.arch}-{'x'.join(map(str, c.image_shape))}-d{c.latent_dim}"
       f"{'-cvae' if c.variant.conditional else ''}{'-ae' if c.kind == 'ae' else ''}{'-learned' if c.gaussian_variance == 'learned' else ''}"
       for c in CONFIGS]


def _model(cfg: ModelConfig) -> VAE:
    torch.manual_seed(0)
    model = VAE(cfg).eval()
    with torch.no_grad():  # a non-zero input centre, as in a model trained with data_init
        model.pixel_mean.copy_(torch.rand(cfg.image_shape) * 0.5)
    return model


def _arrays(model: VAE) -> dict[str, np.ndarray]:
    return {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}


@pytest.mark.parametrize("cfg", CONFIGS, ids=IDS)
def test_state_shapes_name_every_tensor_of_the_torch_model(cfg):
    expected = {k: tuple(v.shape) for k, v in VAE(cfg).state_dict().items()}
    assert architecture.state_shapes(cfg) == expected


@pytest.mark.parametrize("cfg", CONFIGS, ids=IDS)
def test_numpy_encoder_gives_torch_encoders_mu_and_logvar(cfg):
    model = _model(cfg)
    x = torch.rand(37, *cfg.image_shape, generator=torch.Generator().manual_seed(1))
    y = torch.arange(37) % cfg.num_classes if cfg.variant.conditional else None
    with torch.inference_mode():
        mu_ref, lv_ref = model.encode(x, y)
    mu, lv = numpy_model.encode(cfg, _arrays(model), x.numpy(), None if y is None else y.numpy(), batch=10)
    assert mu.dtype == np.float32 and mu.shape == (37, cfg.latent_dim)
    np.testing.assert_allclose(mu, mu_ref.numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(lv, lv_ref.numpy(), rtol=1e-4, atol=1e-5)


def test_numpy_encoder_of_a_conditional_model_needs_valid_labels():
    cfg = CONFIGS[4]
    arrays = _arrays(_model(cfg))
    x = np.zeros((3, *cfg.image_shape), np.float32)
    with pytest.raises(ValueError, match="conditional"):
        numpy_model.encode(cfg, arrays, x)
    with pytest.raises(ValueError, match=r"0\.\.9"):
        numpy_model.encode(cfg, arrays, x, np.array([0, 1, 10]))


def test_numpy_encoder_of_no_images_is_empty():
    cfg = CONFIGS[0]
    mu, lv = numpy_model.encode(cfg, _arrays(_model(cfg)), np.zeros((0, *cfg.image_shape), np.float32))
    assert mu.shape == lv.shape == (0, cfg.latent_dim)


@pytest.mark.parametrize("cfg", CONFIGS, ids=IDS)
def test_program_from_arrays_is_the_torch_models_program(cfg):
    model = _model(cfg)
    spec, blob = program_from_arrays(cfg, _arrays(model))
    ref_spec, ref_blob = decoder_program(model)
    assert spec == ref_spec and blob == ref_blob


@pytest.mark.parametrize("path", list_checkpoints(BUNDLED_DIR), ids=lambda p: p.name)
def test_lazy_checkpoint_gives_the_eager_ones_encodings_and_model(path):
    """Every bundled model: the lazily loaded checkpoint's NumPy encodings of its stored images equal
    torch's, its browser program is the torch model's, and its model, built on first use, is frozen."""
    eager = load_checkpoint(path)
    lazy = load_checkpoint(path, lazy=True)
    assert not lazy.model_built
    x = lazy.sample.as_array()
    mu, lv = numpy_model.encode(lazy.config, lazy.arrays, x, lazy.sample.labels)
    with torch.inference_mode():
        y = torch.from_numpy(eager.sample.labels) if eager.config.variant.conditional else None
        mu_ref, lv_ref = eager.model.encode(torch.from_numpy(x), y)
    np.testing.assert_allclose(mu, mu_ref.numpy(), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(lv, lv_ref.numpy(), rtol=1e-4, atol=1e-4)
    if lazy.config.variant.browser_decoder:
        assert program_from_arrays(lazy.config, lazy.arrays) == decoder_program(eager.model)
    else:  # decoded on the server (a VQ-VAE looks its codes up): the program is refused, with the reason
        with pytest.raises(UnsupportedDecoder, match=lazy.config.variant.browser_decoder_reason):
            program_from_arrays(lazy.config, lazy.arrays)
    model = lazy.model
    assert lazy.model_built and model is lazy.model and not model.training
    assert not any(p.requires_grad for p in model.parameters())
    for (k, a), (k2, b) in zip(model.state_dict().items(), eager.model.state_dict().items()):
        assert k == k2 and torch.equal(a, b)
