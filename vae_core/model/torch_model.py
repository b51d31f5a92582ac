"""The VAE in torch: encoder q(z|x) = N(mu(x), sigma^2(x)), decoder p(x|z), prior p(z).

The four methods read like Kingma & Welling (2014): ``encode``, ``reparameterize``, ``decode`` and
``forward``. The layers are the ones vae_core.model.architecture describes: each operation with weights
becomes a torch module at its name, and encode and decode run the operations in order. One class
serves every kind of model (the VAE, the beta-VAE, the conditional VAE, the plain autoencoder, the
VampPrior VAE, the VQ-VAE, the two-level hierarchical VAE): the config's variant (vae_core.model.variants)
adds its tensors and networks, runs the pass over a batch and gives the loss terms and the prior.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from .architecture import Op, describe
from .shapes import KERNEL, PADDING, STRIDE
from .config import AE_LOGVAR, ModelConfig
from .losses import reconstruction_nll
from .priors import Prior


@dataclass
class VAEOutput:
    """One pass over a batch: the loss as named terms, each per image in nats, and the values on the way."""

    terms: dict[str, torch.Tensor]  # (B,) each: "recon" = -log p(x|z) summed over pixels; "kl" = KL(q(z|x) || p(z))
    mu: torch.Tensor  # (B, D)
    logvar: torch.Tensor  # (B, D)
    z: torch.Tensor  # (B, D) the reparameterized sample
    logits: torch.Tensor  # (B, C, H, W) decoder output before the sigmoid
    kl_names: tuple[str, ...] = ("kl",)  # which terms are KL terms (a hierarchical VAE has one per level)
    aux_names: tuple[str, ...] = ()  # terms of the training loss outside the negative ELBO (a VQ-VAE's commitment)

    @property
    def recon(self) -> torch.Tensor:
        return self.terms["recon"]

    @property
    def kl(self) -> torch.Tensor:
        """(B,) the KL term, the sum of every KL term; zeros for a model without one (the autoencoder)."""
        total = self.recon.new_zeros(self.recon.shape)
        for name in self.kl_names:
            if name in self.terms:
                total = total + self.terms[name]
        return total

    @property
    def neg_elbo(self) -> torch.Tensor:
        """(B,) the negative ELBO = reconstruction + KL, whatever beta was used for the loss."""
        return self._sum(1.0, elbo_only=True)

    def per_image(self, kl_weight: float = 1.0) -> torch.Tensor:
        """(B,) the sum of the terms, every KL term times kl_weight (beta, or its warm-up ramp)."""
        return self._sum(kl_weight, elbo_only=False)

    def _sum(self, kl_weight: float, elbo_only: bool) -> torch.Tensor:
        total = None
        for name, term in self.terms.items():
            if elbo_only and name in self.aux_names:
                continue
            term = term * kl_weight if name in self.kl_names else term
            total = term if total is None else total + term
        return total

    def loss(self, kl_weight: float = 1.0) -> torch.Tensor:
        """() what training minimises: the mean over the batch of per_image(kl_weight)."""
        return self.per_image(kl_weight).mean()


class ArchitectureMismatch(ValueError):
    """A module of the model is no longer the one its description built."""


def _module(op: Op) -> nn.Module:
    """The torch module of an operation that has one."""
    if op.kind == "linear":
        return nn.Linear(op.in_shape[0], op.out_shape[0])
    if op.kind == "conv":
        return nn.Conv2d(op.in_shape[0], op.out_shape[0], KERNEL, STRIDE, PADDING)
    if op.kind == "convT":
        return nn.ConvTranspose2d(op.in_shape[0], op.out_shape[0], KERNEL, STRIDE, PADDING)
    if op.kind == "pointwise":
        return nn.Conv2d(op.in_shape[0], op.out_shape[0], 1)
    if op.kind == "relu":
        return nn.ReLU()
    raise ValueError(f"the operation {op.kind!r} has no torch module")


def _owner(root: nn.Module, name: str) -> tuple[nn.Module, str]:
    """The module that holds the dotted name under root, and the name's last part; the containers on the way
    are made when missing (an nn.Sequential where the next part is a position, as in encoder.body.0)."""
    *path, leaf = name.split(".")
    node = root
    for part, following in zip(path, [*path[1:], leaf]):
        if not hasattr(node, part):
            node.add_module(part, nn.Sequential() if following.isdigit() else nn.Module())
        node = getattr(node, part)
    return node, leaf


class VAE(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        self.variant = cfg.variant
        self.architecture = describe(cfg)
        for op in self.architecture.ops:  # in order: a Sequential's positions are its layers' names
            if op.name:
                owner, leaf = _owner(self, op.name)
                owner.add_module(leaf, _module(op))
        if self.architecture.logvar is None:
            self.encoder.fc_logvar = None  # q(z|x) is a point: no log-variance head
        for name, spec in self.architecture.tensors.items():
            owner, leaf = _owner(self, name)
            if spec.start == "uniform":
                value = torch.rand(spec.shape)
            else:
                value = torch.full(spec.shape, float(spec.start))
            if spec.learned:
                owner.register_parameter(leaf, nn.Parameter(value))
            else:
                owner.register_buffer(leaf, value)
        if "log_sigma" not in self.architecture.tensors:
            self.register_parameter("log_sigma", None)  # p(x|z) has a fixed sigma (or none): no parameter

    def __repr__(self) -> str:
        """The layers in the order they run, as the architecture lists them (pytorch/examples shows its VAE so)."""
        lines = [f"VAE({self.variant.title}, z {self.architecture.latent_shape}) ("]
        for op in self.architecture.ops:
            what = repr(self.get_submodule(op.name)) if op.name else op.kind
            lines.append(f"  {op.name or '-'}: {what}  {op.in_shape} -> {op.out_shape}")
        return "\n".join([*lines, ")"])

    def check_modules(self, ops=None) -> None:
        """Raise ArchitectureMismatch naming the first module (of ``ops``, default all) that differs from the one
        its operation builds: another type, or other sizes or settings (a layer swapped after construction)."""
        for op in self.architecture.ops if ops is None else ops:
            if not op.name:
                continue
            with torch.device("meta"):  # the reference module, without weights (no random numbers drawn)
                want = _module(op)
            got = self.get_submodule(op.name)
            if type(got) is not type(want) or repr(got) != repr(want):
                raise ArchitectureMismatch(f"{op.name} is {got!r}, not the {want!r} its description builds")

    def _run(self, ops, h: torch.Tensor, y_onehot: torch.Tensor | None = None) -> torch.Tensor:
        """A batch through the operations, in order."""
        for op in ops:
            if op.name:
                h = self.get_submodule(op.name)(h)
            elif op.kind == "relu":
                h = F.relu(h)
            elif op.kind == "flatten":
                h = h.flatten(1)
            elif op.kind == "label":
                h = torch.cat([h, y_onehot], dim=1)
            elif op.kind == "reshape":
                h = h.view(-1, *op.out_shape)
            else:
                raise ValueError(f"the operation {op.kind!r} has no torch implementation")
        return h

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
        last = self.get_submodule([op.name for op in self.architecture.decoder if op.tensor_shapes()][-1])
        if isinstance(last, nn.Linear) and last.bias.numel() == logit.numel():
            last.bias.copy_(logit.reshape(-1))
        elif last.bias.numel() == logit.shape[0]:  # one bias per channel
            p_c = mean.reshape(mean.shape[0], -1).mean(1).clamp(1e-3, 1 - 1e-3)
            last.bias.copy_(torch.log(p_c) - torch.log1p(-p_c))
        self.variant.init_from_data(self, images)

    @property
    def latent_dim(self) -> int:
        """How many numbers one image's z holds (cfg.latent_dim, except for a map of code vectors)."""
        return self.architecture.latent_size

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    def _onehot(self, y: torch.Tensor | None, batch: int) -> torch.Tensor | None:
        if not self.variant.conditional:
            return None
        if y is None:
            raise ValueError("this is a conditional VAE: pass the class labels y with x or z")
        y = torch.as_tensor(y, device=self.device).long().reshape(-1)
        if y.numel() == 1 and batch > 1:
            y = y.expand(batch)
        if y.numel() != batch or y.min() < 0 or y.max() >= self.cfg.num_classes:
            raise ValueError(f"labels must be {batch} integers in 0..{self.cfg.num_classes - 1}")
        return F.one_hot(y, self.cfg.num_classes).float()

    def run(self, part: str, h: torch.Tensor) -> torch.Tensor:
        """A named part of the architecture ("mu", "logvar", "decoder" or one of the kind's nets) on a batch."""
        return self._run(self.architecture.chain(part), h)

    def features(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """The encoder's output for a batch x (B, C, H, W), before the heads."""
        return self._run(self.architecture.encoder, x - self.pixel_mean, self._onehot(y, x.shape[0]))

    def encode(self, x: torch.Tensor, y: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """q(z|x): returns mu and log sigma^2, each (B, D)."""
        mu, logvar = self.variant.encode_features(torch, self.run, self.features(x, y))
        return mu, torch.full_like(mu, AE_LOGVAR) if logvar is None else logvar

    def draw_eps(self, batch: int) -> torch.Tensor | None:
        """The reparameterization's noise for a batch, eps ~ N(0, I) (B, D); None when q(z|x) is a point."""
        if not self.variant.gaussian_posterior:
            return None
        return torch.randn(batch, self.latent_dim, device=self.device)

    def reparameterize(self, mu: torch.Tensor, logvar: torch.Tensor, eps: torch.Tensor | None = None) -> torch.Tensor:
        """z = mu + sigma * eps with eps ~ N(0, I): the sample stays differentiable in mu and sigma."""
        if not self.variant.gaussian_posterior:
            return mu
        if eps is None:
            eps = self.draw_eps(len(mu))
        return mu + torch.exp(0.5 * logvar) * eps

    def decode_logits(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """The decoder's output before the sigmoid, (B, C, H, W)."""
        return self.run_decoder(self.variant.decoder_input(self, z), y)

    def run_decoder(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """The decoder's layers on what they take (decode_logits gives them the kind's decoder_input of z)."""
        logits = self._run(self.architecture.decoder, z, self._onehot(y, z.shape[0]))
        return logits.view(-1, *self.cfg.image_shape)

    def decode(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """p(x|z): the mean image, (B, C, H, W) in [0, 1]."""
        return torch.sigmoid(self.decode_logits(z, y))

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None, eps: torch.Tensor | None = None) -> VAEOutput:
        """The loss terms of a batch x (B, C, H, W) with labels y (a conditional model's), one sample of z per image
        drawn with the noise eps (B, D) (drawn here when None)."""
        return self.variant.forward(self, x, y, eps)

    def output(self, terms: dict[str, torch.Tensor], mu: torch.Tensor, logvar: torch.Tensor, z: torch.Tensor,
               logits: torch.Tensor) -> VAEOutput:
        """A pass's VAEOutput, its KL and auxiliary terms named as this kind names them."""
        return VAEOutput(terms=terms, mu=mu, logvar=logvar, z=z, logits=logits,
                         kl_names=tuple(self.variant.kl_terms), aux_names=tuple(self.variant.aux_terms))

    def reconstruction_nll(self, logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """-log p(x|z) per image (B,), for the decoder's logits at z."""
        return reconstruction_nll(logits, x, self.cfg, self.log_sigma)

    def log_prior(self, z: torch.Tensor) -> torch.Tensor:
        """log p(z) per row of z (B,)."""
        return self.variant.log_prior(self, z)

    @torch.no_grad()
    def prior(self) -> Prior:
        """p(z) of this model, as its variant gives it (for a prior made of encodings, of its weights now)."""
        tensors = {k: v.detach().cpu().numpy() for k, v in self.state_dict().items()}

        def posterior(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            mu, logvar = self.encode(torch.as_tensor(x, dtype=torch.float32, device=self.device))
            return mu.cpu().numpy(), logvar.cpu().numpy()

        return self.variant.prior(self.cfg, tensors, posterior)

    @torch.no_grad()
    def prior_sample(self, n: int, temperature: float = 1.0, y: torch.Tensor | None = None,
                     generator: torch.Generator | None = None) -> torch.Tensor:
        """New images: z drawn from the prior (its spread times temperature), decoded to the mean of p(x|z)."""
        z = self.prior().sample(n, temperature, generator=generator)
        return self.decode(torch.from_numpy(z).to(self.device), y)


def build_model(cfg: ModelConfig) -> VAE:
    """The torch model of a config, whatever its kind."""
    return VAE(cfg)
