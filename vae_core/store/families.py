"""Families of models: bundled models trained with one recipe that differ in one knob of the ELBO's trade-off
(beta, the weight of the KL term; or a Gaussian p(x|z)'s sigma). ``checkpoints/families.json`` names each
family's members; each member's knob, rate and distortion are read from its own checkpoint.

Rate is the KL term, KL(q(z|x) || p(z)), and distortion the reconstruction term, -log p(x|z), both the test set's
mean in nats per image: the negative ELBO is their sum (Alemi et al., 2018, "Fixing a broken ELBO").
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from .checkpoints import Checkpoint, CheckpointError, load_checkpoint
from .paths import BUNDLED_DIR

FAMILIES_FILE = BUNDLED_DIR / "families.json"
KNOBS = {"beta": "beta", "sigma": "sigma of p(x|z)"}


@dataclass(frozen=True)
class Member:
    name: str
    path: Path
    knob: str  # what the knob's value means, as shown: "0 (autoencoder)", "0.5", "learned"
    order: float  # where it sorts along the knob
    rate: float  # test KL, nats per image
    distortion: float  # test reconstruction, -log p(x|z), nats per image
    kind_title: str

    @property
    def neg_elbo(self) -> float:
        return self.rate + self.distortion


@dataclass(frozen=True)
class Family:
    name: str
    title: str
    knob: str  # "beta" or "sigma"
    members: tuple[Member, ...]  # the ones that are built, along the knob
    missing: tuple[str, ...]  # the ones named but not built (bash checkpoints/rebuild.sh)


def _knob(ckpt: Checkpoint, knob: str) -> tuple[str, float]:
    cfg = ckpt.config
    if knob == "beta":
        if not cfg.variant.has_prior:
            return "0 (autoencoder)", 0.0
        beta = float((ckpt.meta.get("train_config") or {}).get("beta", 1.0))
        return f"{beta:g}", beta
    if cfg.likelihood != "gaussian":
        raise ValueError(f"{ckpt.name} has a {cfg.likelihood} p(x|z): no sigma to vary")
    if cfg.gaussian_variance == "learned":
        return "learned", float("inf")
    return f"{cfg.gaussian_sigma:g}", float(cfg.gaussian_sigma)


def load_families(path: Path = FAMILIES_FILE, folder: Path = BUNDLED_DIR) -> list[Family]:
    """Every family of the file, with the members that are built; ValueError naming what is wrong in the file."""
    try:
        spec = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise ValueError(f"{path} cannot be read as JSON: {e}") from e
    families = []
    for fam in spec.get("families", []):
        name, knob = str(fam.get("name", "")), fam.get("knob")
        if knob not in KNOBS:
            raise ValueError(f"{path}: family {name!r} has knob={knob!r}; use one of {', '.join(KNOBS)}")
        members, missing = [], []
        for member in fam.get("members", []):
            try:
                ckpt = load_checkpoint(folder / member, lazy=True)
            except CheckpointError:
                missing.append(member)
                continue
            metrics = ckpt.meta.get("metrics") or {}
            if "test_recon" not in metrics:
                missing.append(member)
                continue
            shown, order = _knob(ckpt, knob)
            members.append(Member(member, folder / member, shown, order, float(metrics.get("test_kl", 0.0)),
                                  float(metrics["test_recon"]), ckpt.config.variant.title))
        families.append(Family(name, str(fam.get("title", name)), knob,
                               tuple(sorted(members, key=lambda m: m.order)), tuple(missing)))
    return families


def family_of(model_name: str, families: list[Family]) -> Family | None:
    """The first family a model belongs to."""
    return next((f for f in families if any(m.name == model_name for m in f.members)), None)
