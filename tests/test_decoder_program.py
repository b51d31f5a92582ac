"""The decoder as a browser program: the NumPy reference run of the program equals torch's decoder
for every architecture, and layers without a browser implementation are refused clearly."""
import numpy as np
import pytest
import torch
from torch import nn

from vae_core.model.config import ModelConfig
from vae_core.model.decoder_program import UnsupportedDecoder, decoder_program, run_program
from vae_core.model.torch_model import VAE

CONFIGS = [
    ModelConfig(image_shape=(1, 8, 8), latent_dim=2, hidden=(32,)),
    ModelConfig(image_shape=(1, 28, 28), latent_dim=20, hidden=(64, 32)),
    ModelConfig(image_shape=(1, 28, 28), latent_dim=16, arch="conv", hidden=(8, 16)),
    ModelConfig(image_shape=(3, 16, 16), latent_dim=4, arch="conv", hidden=(4, 8, 8)),
    ModelConfig(image_shape=(1, 8, 8), latent_dim=3, hidden=(16,), kind="cvae"),
    ModelConfig(image_shape=(1, 8, 8), latent_dim=2, hidden=(16,), kind="ae"),
]


@pytest.mark.parametrize("cfg", CONFIGS, ids=lambda c: f"{c.arch}-{c.image_shape}-d{c.latent_dim}")
def test_program_matches_torch(cfg):
    torch.manual_seed(0)
    model = VAE(cfg).eval()
    spec, blob = decoder_program(model)
    assert len(blob) == 4 * spec["floats"]
    for seed in range(5):
        z = torch.randn(1, cfg.latent_dim, generator=torch.Generator().manual_seed(seed)) * 2
        y = torch.tensor([seed % cfg.num_classes]) if cfg.variant.conditional else None
        with torch.inference_mode():
            ref = model.decode(z, y)[0].numpy()
        out = run_program(spec, blob, z[0].numpy(), None if y is None else int(y))
        assert out.shape == tuple(cfg.image_shape)
        assert np.abs(out - ref).max() < 1e-5


def test_program_hash_changes_with_the_weights():
    model = VAE(CONFIGS[0])
    sha = decoder_program(model)[0]["sha256"]
    with torch.no_grad():
        model.decoder.net[0].bias.add_(1.0)
    assert decoder_program(model)[0]["sha256"] != sha


def test_a_layer_without_browser_code_is_refused_by_name():
    model = VAE(CONFIGS[0])
    model.decoder.net[1] = nn.Tanh()
    with pytest.raises(UnsupportedDecoder, match="Tanh"):
        decoder_program(model)
