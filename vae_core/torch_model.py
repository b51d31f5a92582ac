"""The VAE: encoder q(z|x) = N(mu(x), sigma^2(x)), decoder p(x|z), prior N(0, I).

The four methods read like Kingma & Welling (2014): ``encode``,
``reparameterize``, ``decode`` and ``forward``. One class covers the VAE, the
beta-VAE, the conditional VAE and the plain autoencoder; the config chooses.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from .config import AE_LOGVAR, ModelConfig
from .losses import kl_divergence, reconstruction_nll


@dataclass
class VAEOutput:
    loss: torch.Tensor  # () scalar to minimise: mean over the batch of recon + kl_weight * kl
    recon: torch.Tensor  # (B,) -log p(x|z), nats per image summed over pixels
    kl: torch.Tensor  # (B,) KL(q(z|x) || p(z)) in nats; zeros for the autoencoder
    mu: torch.Tensor  # (B, D)
    logvar: torch.Tensor  # (B, D)
    z: torch.Tensor  # (B, D) the reparameterized sample
    logits: torch.Tensor  # (B, C, H, W) decoder output before the sigmoid

    @property
    def neg_elbo(self) -> torch.Tensor:
        """(B,) the negative ELBO = reconstruction + KL, whatever beta was used for the loss."""
        return self.recon + self.kl


def _mlp(sizes: list[int]) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(n_in, n_out))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


class MLPEncoder(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        n_in = cfg.num_pixels + (cfg.num_classes if cfg.conditional else 0)
        self.body = _mlp([n_in, *cfg.hidden])
        self.body.append(nn.ReLU())
        self.fc_mu = nn.Linear(cfg.hidden[-1], cfg.latent_dim)
        self.fc_logvar = None if cfg.autoencoder else nn.Linear(cfg.hidden[-1], cfg.latent_dim)

    def features(self, x: torch.Tensor, y_onehot: torch.Tensor | None) -> torch.Tensor:
        h = x.flatten(1)
        if y_onehot is not None:
            h = torch.cat([h, y_onehot], dim=1)
        return self.body(h)


class ConvEncoder(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        c, h, w = cfg.image_shape
        blocks: list[nn.Module] = []
        for c_in, c_out in zip([c, *cfg.hidden[:-1]], cfg.hidden):
            blocks += [nn.Conv2d(c_in, c_out, kernel_size=4, stride=2, padding=1), nn.ReLU()]
        self.body = nn.Sequential(*blocks)
        factor = 2 ** len(cfg.hidden)
        n_flat = cfg.hidden[-1] * (h // factor) * (w // factor)
        n_feat = n_flat + (cfg.num_classes if cfg.conditional else 0)
        self.fc_mu = nn.Linear(n_feat, cfg.latent_dim)
        self.fc_logvar = None if cfg.autoencoder else nn.Linear(n_feat, cfg.latent_dim)

    def features(self, x: torch.Tensor, y_onehot: torch.Tensor | None) -> torch.Tensor:
        h = self.body(x).flatten(1)
        if y_onehot is not None:
            h = torch.cat([h, y_onehot], dim=1)
        return h


class MLPDecoder(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        n_in = cfg.latent_dim + (cfg.num_classes if cfg.conditional else 0)
        self.net = _mlp([n_in, *reversed(cfg.hidden), cfg.num_pixels])
        self.image_shape = cfg.image_shape

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z).view(-1, *self.image_shape)


class ConvDecoder(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        c, h, w = cfg.image_shape
        factor = 2 ** len(cfg.hidden)
        self.start_shape = (cfg.hidden[-1], h // factor, w // factor)
        n_in = cfg.latent_dim + (cfg.num_classes if cfg.conditional else 0)
        self.fc = nn.Linear(n_in, math.prod(self.start_shape))
        chans = list(reversed(cfg.hidden))
        blocks: list[nn.Module] = []
        for i, (c_in, c_out) in enumerate(zip(chans, [*chans[1:], c])):
            blocks.append(nn.ConvTranspose2d(c_in, c_out, kernel_size=4, stride=2, padding=1))
            if i < len(chans) - 1:
                blocks.append(nn.ReLU())
        self.body = nn.Sequential(*blocks)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = F.relu(self.fc(z)).view(-1, *self.start_shape)
        return self.body(h)


class VAE(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        self.encoder = MLPEncoder(cfg) if cfg.arch == "mlp" else ConvEncoder(cfg)
        self.decoder = MLPDecoder(cfg) if cfg.arch == "mlp" else ConvDecoder(cfg)
        if cfg.likelihood == "gaussian" and cfg.gaussian_variance == "learned":
            self.log_sigma = nn.Parameter(torch.full(cfg.image_shape, math.log(cfg.gaussian_sigma)))
        else:
            self.log_sigma = None
        # The mean training image: the encoder sees x minus it (centred inputs train faster). Zero, and so
        # no change, in models trained without it; set by init_from_data.
        self.register_buffer("pixel_mean", torch.zeros(cfg.image_shape))

    @torch.no_grad()
    def init_from_data(self, images: torch.Tensor) -> None:
        """Start from the training images' statistics: the encoder's input is centred on their mean
        image, and the decoder's output bias is set so that p(x|z) starts at that mean image (the
        log-odds of each pixel's mean, per pixel for an MLP, per channel for a convolutional decoder).
        The first epochs then learn what varies between images, not the average image."""
        mean = images.float().mean(0).to(self.pixel_mean.device)
        self.pixel_mean.copy_(mean.reshape(self.pixel_mean.shape))
        p = mean.clamp(1e-3, 1 - 1e-3)
        logit = torch.log(p) - torch.log1p(-p)
        last = [m for m in self.decoder.modules() if isinstance(m, (nn.Linear, nn.ConvTranspose2d, nn.Conv2d))][-1]
        if last.bias is None:
            return
        if isinstance(last, nn.Linear) and last.bias.numel() == logit.numel():
            last.bias.copy_(logit.reshape(-1))
        elif last.bias.numel() == logit.shape[0]:  # one bias per channel
            p_c = mean.reshape(mean.shape[0], -1).mean(1).clamp(1e-3, 1 - 1e-3)
            last.bias.copy_(torch.log(p_c) - torch.log1p(-p_c))

    @property
    def latent_dim(self) -> int:
        return self.cfg.latent_dim

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    def _onehot(self, y: torch.Tensor | None, batch: int) -> torch.Tensor | None:
        if not self.cfg.conditional:
            return None
        if y is None:
            raise ValueError("this is a conditional VAE: pass the class labels y with x or z")
        y = torch.as_tensor(y, device=self.device).long().reshape(-1)
        if y.numel() == 1 and batch > 1:
            y = y.expand(batch)
        if y.numel() != batch or y.min() < 0 or y.max() >= self.cfg.num_classes:
            raise ValueError(f"labels must be {batch} integers in 0..{self.cfg.num_classes - 1}")
        return F.one_hot(y, self.cfg.num_classes).float()

    def encode(self, x: torch.Tensor, y: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """q(z|x): returns mu and log sigma^2, each (B, D)."""
        h = self.encoder.features(x - self.pixel_mean, self._onehot(y, x.shape[0]))
        mu = self.encoder.fc_mu(h)
        if self.encoder.fc_logvar is None:
            return mu, torch.full_like(mu, AE_LOGVAR)
        return mu, self.encoder.fc_logvar(h)

    def reparameterize(self, mu: torch.Tensor, logvar: torch.Tensor, eps: torch.Tensor | None = None) -> torch.Tensor:
        """z = mu + sigma * eps with eps ~ N(0, I): the sample stays differentiable in mu and sigma."""
        if self.cfg.autoencoder:
            return mu
        if eps is None:
            eps = torch.randn_like(mu)
        return mu + torch.exp(0.5 * logvar) * eps

    def decode_logits(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        y1 = self._onehot(y, z.shape[0])
        if y1 is not None:
            z = torch.cat([z, y1], dim=1)
        return self.decoder(z)

    def decode(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """p(x|z): the mean image, (B, C, H, W) in [0, 1]."""
        return torch.sigmoid(self.decode_logits(z, y))

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None, kl_weight: float = 1.0) -> VAEOutput:
        mu, logvar = self.encode(x, y)
        z = self.reparameterize(mu, logvar)
        logits = self.decode_logits(z, y)
        recon = reconstruction_nll(logits, x, self.cfg, self.log_sigma)
        kl = torch.zeros_like(recon) if self.cfg.autoencoder else kl_divergence(mu, logvar)
        loss = (recon + kl_weight * kl).mean()
        return VAEOutput(loss=loss, recon=recon, kl=kl, mu=mu, logvar=logvar, z=z, logits=logits)

    @torch.no_grad()
    def prior_sample(self, n: int, temperature: float = 1.0, y: torch.Tensor | None = None,
                     generator: torch.Generator | None = None) -> torch.Tensor:
        """New images: z ~ N(0, temperature^2 I), decoded to the mean of p(x|z)."""
        z = torch.randn(n, self.latent_dim, generator=generator).to(self.device) * temperature
        return self.decode(z, y)


def build_model(cfg: ModelConfig) -> VAE:
    return VAE(cfg)
