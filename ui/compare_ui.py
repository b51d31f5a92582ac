"""The AE vs VAE page's pieces: three bundled 2-D models of the same digits, encoded on the same images."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from vae_core.store.checkpoints import Checkpoint, CheckpointError
from vae_core.analysis.latent import decode_batch
from vae_core.store.paths import BUNDLED_DIR
from vae_core.render.images import to_uint8

from .loaded_model import LoadedModel, loaded_model

TRIO = ("digits-2d-autoencoder", "digits-2d", "digits-2d-beta2")  # same data, same 2-D latent, same test images
REFERENCE = "digits-2d"  # whose stored test images all three encode
N_PRIOR = 16
PRIOR_SEED = 0


@dataclass(frozen=True)
class Member:
    name: str
    loaded: LoadedModel

    @property
    def ckpt(self) -> Checkpoint:
        return self.loaded.checkpoint

    @property
    def title(self) -> str:
        kind = self.ckpt.config.variant
        if not kind.has_prior:  # no KL term for beta to weight
            return kind.title
        beta = float((self.ckpt.meta.get("train_config") or {}).get("beta", 1.0))
        return f"{kind.title} (beta = 1)" if beta == 1.0 else f"beta-{kind.title} (beta = {beta:g})"

    @property
    def has_prior(self) -> bool:
        return self.ckpt.config.variant.has_prior


def load_trio(folder: Path = BUNDLED_DIR) -> tuple[list[Member], list[str]]:
    """The three models that exist and can be loaded, and a message for each one that cannot."""
    members, problems = [], []
    for name in TRIO:
        path = folder / name
        if not (path / "model.safetensors").is_file():
            problems.append(f"{name} is not built (bash checkpoints/rebuild.sh)")
            continue
        try:
            members.append(Member(name, loaded_model(path)))
        except CheckpointError as e:
            problems.append(f"{name} cannot be loaded: {e}")
    return members, problems


def encode_reference(member: Member, reference: Member) -> np.ndarray:
    """mu (N, 2) of the reference model's stored test images under this model's encoder."""
    return member.loaded.encodings_of(reference.loaded)


@torch.inference_mode()
def reconstruct(member: Member, image: np.ndarray) -> np.ndarray:
    """decode(mu(x)) of one uint8 image (H, W), as (C, H, W) floats."""
    x = torch.from_numpy(np.asarray(image, np.float32) / 255.0)[None, None]
    mu, _ = member.ckpt.model.encode(x)
    return decode_batch(member.ckpt.model, mu)[0]


def sampling_z(member: Member, codes: np.ndarray, n: int = N_PRIOR, seed: int = PRIOR_SEED) -> np.ndarray:
    """The z a sampler would decode, from the same eps ~ N(0, I) for every model: z = eps for a VAE (its
    prior); for an autoencoder, which has no prior, z = mean + std * eps with the mean and spread of its codes."""
    eps = np.random.default_rng(seed).standard_normal((n, codes.shape[1])).astype(np.float32)
    if not member.has_prior:
        return codes.mean(0) + codes.std(0) * eps
    return eps


def decode_uint8(member: Member, z: np.ndarray) -> np.ndarray:
    return to_uint8(decode_batch(member.ckpt.model, z))


def thumbnails(member: Member) -> dict:
    """The member's stored test images on one PNG sheet, for the hover previews."""
    return member.loaded.thumbnails()
