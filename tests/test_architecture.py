"""The architecture written once (vae_core.model.architecture): the torch model is built from it, its shapes are
torch's own, and a module changed after construction is caught by name."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from vae_core.model import architecture
from vae_core.model.architecture import describe
from vae_core.model.shapes import conv_fit_error, conv_out, conv_transpose_out
from vae_core.model.torch_model import VAE, ArchitectureMismatch

from test_numpy_model import CONFIGS, IDS


@pytest.mark.parametrize("cfg", CONFIGS, ids=IDS)
def test_every_operation_states_the_shapes_torch_computes(cfg):
    """Run one image through the torch model operation by operation: each output has the shape the
    description wrote down (so the browser's program and the NumPy encoder, which read them, agree)."""
    torch.manual_seed(0)
    model = VAE(cfg).eval()
    arch = describe(cfg)
    y = nn.functional.one_hot(torch.tensor([0]), cfg.num_classes).float()

    def run(ops, h):
        for op in ops:
            assert tuple(h.shape[1:]) == op.in_shape, op
            h = model._run((op,), h, y)
            assert tuple(h.shape[1:]) == op.out_shape, op
        return h

    with torch.inference_mode():
        features = run(arch.encoder, torch.rand(1, *cfg.image_shape))
        for head in filter(None, (arch.mu, arch.logvar)):
            run((head,), features)
        logits = run(arch.decoder, torch.zeros(1, cfg.latent_dim))
    assert logits.numel() == cfg.num_pixels


def test_the_conv_geometry_is_torchs():
    for n in (8, 14, 28, 32):
        conv = nn.Conv2d(1, 1, architecture.KERNEL, architecture.STRIDE, architecture.PADDING)
        assert conv(torch.zeros(1, 1, n, n)).shape[-1] == conv_out(n)
        convt = nn.ConvTranspose2d(1, 1, architecture.KERNEL, architecture.STRIDE, architecture.PADDING)
        assert convt(torch.zeros(1, 1, n, n)).shape[-1] == conv_transpose_out(n)
        if n % architecture.STRIDE == 0:
            assert conv_transpose_out(conv_out(n)) == n  # the decoder gives back the encoder's size
    assert conv_fit_error((1, 28, 28), (32, 64)) is None
    assert "divisible by 8" in conv_fit_error((1, 28, 28), (8, 8, 8)) and "28x28" in conv_fit_error((1, 28, 28), (8, 8, 8))


@pytest.mark.parametrize("cfg", CONFIGS, ids=IDS)
def test_a_fresh_model_matches_its_description_and_a_swapped_layer_does_not(cfg):
    model = VAE(cfg)
    model.check_modules()
    named = [op for op in describe(cfg).ops if op.name and op.kind != "relu"]
    victim = named[len(named) // 2]
    owner, leaf = victim.name.rsplit(".", 1)
    old = model.get_submodule(victim.name)
    if isinstance(old, nn.Linear):
        new = nn.Linear(old.in_features, old.out_features, bias=False)  # same type, another setting
    else:
        new = nn.Identity()
    model.get_submodule(owner).add_module(leaf, new)
    with pytest.raises(ArchitectureMismatch, match=victim.name.replace(".", r"\.")):
        model.check_modules()


def test_checking_the_modules_draws_no_random_numbers():
    model = VAE(CONFIGS[2])
    state = torch.get_rng_state().clone()
    model.check_modules()
    assert torch.equal(state, torch.get_rng_state())
