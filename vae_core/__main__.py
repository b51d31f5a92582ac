"""Command line: ``python -m vae_core train | evaluate | info | sample``."""
from __future__ import annotations

import argparse
import json
import shlex
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from vae_core.model.config import ConfigError, ModelConfig
from vae_core.model.devices import DEVICE_CHOICES
from vae_core.training.progress import ProgressBar, TrainingProgress
from vae_core.training.run_spec import RunSpec, add_arguments

if TYPE_CHECKING:
    import torch


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m vae_core", description="Train, evaluate and inspect VAEs.")
    sub = p.add_subparsers(dest="command", required=True)

    t = sub.add_parser("train", help="train a VAE and write a checkpoint folder")
    add_arguments(t)

    e = sub.add_parser("evaluate", help="test negative ELBO, KL per dimension, active units, IWAE -log p(x); "
                                        "MIG and DCI when the dataset's factors are known (sprites)")
    e.add_argument("path")
    e.add_argument("--json", action="store_true", help="print one JSON object")
    e.add_argument("--data-dir", default=None)
    e.add_argument("--no-download", action="store_true")
    e.add_argument("--on-sample", action="store_true", help="use the images stored in the checkpoint, not the test set")
    e.add_argument("--iwae-k", type=int, default=100, help="importance samples per image")
    e.add_argument("--iwae-images", type=int, default=1000, help="test images used for the IWAE estimate")
    e.add_argument("--seed", type=int, default=0)
    e.add_argument("--samples", type=int, default=1,
                   help="z draws per image for the loss terms (2 or more: each with its standard error)")
    e.add_argument("--device", choices=DEVICE_CHOICES, default="auto")

    i = sub.add_parser("info", help="a checkpoint's config, dataset, metrics and provenance")
    i.add_argument("path")
    i.add_argument("--json", action="store_true")

    s = sub.add_parser("sample", help="decode samples from the prior N(0, I) into a PNG grid")
    s.add_argument("path")
    s.add_argument("--out", required=True, help="PNG file to write")
    s.add_argument("-n", type=int, default=64)
    s.add_argument("--temperature", type=float, default=1.0)
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--scale", type=int, default=4, help="pixel upscaling factor")
    return p


def _download_progress():
    bar = ProgressBar()

    def report(done, total, name):
        bar.update(done, total or 0, f"downloading {name}")
        if total and done >= total:
            bar.close()
    return report


def cmd_train(args) -> int:
    import torch

    from vae_core.store.checkpoints import CheckpointError, is_checkpoint
    from vae_core.data.datasets import load_dataset
    from vae_core.training.trainer import Trainer

    spec = RunSpec.from_args(args)
    spec.validate()
    out = Path(args.out)
    if args.resume and not is_checkpoint(out):  # said before the data is loaded
        what = "does not exist" if not out.exists() else "holds no checkpoint (config.json and model.safetensors)"
        raise CheckpointError(f"--resume: {out} {what}: give the folder of an earlier run, or leave out --resume "
                              "to start a new run there")
    if spec.threads:
        torch.set_num_threads(spec.threads)
    data = load_dataset(spec.dataset, data_dir=spec.data_dir, download=spec.download,
                        progress=_download_progress(), test_fraction=spec.test_fraction, seed=spec.seed)
    model_cfg = spec.model_config(data.train.image_shape, len(data.train.class_names))
    command = "python -m vae_core " + shlex.join(sys.argv[1:] if args._argv is None else args._argv)
    print(f"training on {data.train.name}: {len(data.train)} train / {len(data.test)} test images "
          f"of shape {data.train.image_shape}", file=sys.stderr)
    trainer = Trainer(model_cfg, spec.train_config(), data, out_dir=out, callbacks=[TrainingProgress(spec.epochs)],
                      resume_from=out if args.resume else None, sample_size=spec.sample_size, command=command,
                      save_optimizer=spec.save_optimizer, time_limit=spec.time_limit)
    print(f"device: {trainer.device}; parameters: {sum(p.numel() for p in trainer.model.parameters()):,}",
          file=sys.stderr)
    if trainer.start_epoch >= spec.epochs:
        print(f"nothing to do: {out} already has {trainer.start_epoch} epochs (ask for more with --epochs)",
              file=sys.stderr)
        return 0
    try:
        history = trainer.fit()
    except KeyboardInterrupt:
        print(f"\ninterrupted; the checkpoint of the last finished epoch is in {out}", file=sys.stderr)
        return 130
    if not history:
        print("stopped before the first epoch finished; no checkpoint was written", file=sys.stderr)
        return 1
    last = history[-1]
    print(f"test negative ELBO: {last.test_neg_elbo:.2f} nats "
          f"(reconstruction {last.test_recon:.2f} + KL {last.test_kl:.2f}) after {last.epoch} epochs")
    print(f"checkpoint: {out}")
    return 0


@dataclass
class EvaluationData:
    images: "torch.Tensor"  # (N, C, H, W) in [0, 1]
    labels: "torch.Tensor"  # (N,)
    source: str  # what they are, as printed
    factors: np.ndarray | None = None  # (N, F) each image's factor indices, when the dataset has known factors
    factor_names: list[str] = field(default_factory=list)


def _evaluation_data(ckpt, args) -> EvaluationData:
    from vae_core.data.datasets import DatasetError, load_dataset

    if args.on_sample or ckpt.meta.get("dataset") is None:
        if ckpt.sample is None:
            raise ValueError(f"{ckpt.path} holds no image sample; evaluate without --on-sample")
        import torch
        sample = ckpt.sample
        return EvaluationData(sample.as_tensor(), torch.from_numpy(sample.labels),
                              f"the {len(sample.labels)} images stored in the checkpoint", sample.factors,
                              sample.factor_names)
    tc = ckpt.meta.get("train_config") or {}
    name = ckpt.meta["dataset"] if tc.get("dataset") is None else tc["dataset"]
    try:
        split = load_dataset(name, data_dir=args.data_dir or tc.get("data_dir"), download=not args.no_download,
                             progress=_download_progress(), test_fraction=tc.get("test_fraction", 0.2),
                             seed=tc.get("seed", 0))
    except DatasetError as e:
        raise DatasetError(f"{e}\n(or evaluate on the checkpoint's own image sample with --on-sample)") from e
    test = split.test
    return EvaluationData(test.images, test.labels, test.source, test.factors, test.factor_names)


def _disentanglement(ckpt, data: EvaluationData, active: list[bool], seed: int) -> dict | None:
    """MIG, DCI and each dimension's factor (vae_core.analysis.disentanglement) of the images' mu, when their
    factors are known (the sprites); None otherwise."""
    if data.factors is None:
        return None
    from vae_core.analysis.disentanglement import DisentanglementError, summary
    from vae_core.analysis.evaluate import encode_dataset
    from vae_core.data.sprites import CATEGORICAL_FACTORS

    mu, _ = encode_dataset(ckpt.model, data.images.to(ckpt.model.device), data.labels)
    bar = ProgressBar()
    try:
        result = summary(mu, data.factors, data.factor_names, [n in CATEGORICAL_FACTORS for n in data.factor_names],
                         active=active, seed=seed, progress=lambda frac, text: bar.update(frac, 1.0, text))
    except DisentanglementError as e:  # e.g. a stored sample of a few images: the rest of the report stands
        result = {"note": f"not scored: {e}"}
    bar.close()
    return result


def cmd_evaluate(args) -> int:
    from vae_core.store.checkpoints import load_checkpoint
    from vae_core.model.devices import pick_device
    from vae_core.analysis.evaluate import evaluate_model
    from vae_core.model.activity import ACTIVE_THRESHOLD

    if not (1 <= args.samples <= 10_000):
        raise ValueError(f"--samples {args.samples} must be between 1 and 10000 (draws of z per image)")
    ckpt = load_checkpoint(args.path, pick_device(args.device))
    data = _evaluation_data(ckpt, args)
    result = evaluate_model(ckpt.model, data.images, data.labels, iwae_k=args.iwae_k, iwae_images=args.iwae_images,
                            seed=args.seed)
    if args.samples >= 2:  # the loss terms again with more draws of z, and how precise they are
        from vae_core.analysis.evaluate import loss_estimate

        est = loss_estimate(ckpt.model, data.images, data.labels, samples=args.samples, seed=args.seed)
        result.update({k: est.terms.get(k, 0.0) for k in ("neg_elbo", "recon", "kl")})
        result["samples"] = est.samples
        result["std_errors"] = {k: est.std_errors.get(k, 0.0) for k in ("neg_elbo", "recon", "kl")}
    result["checkpoint"] = str(ckpt.path)
    result["evaluated_on"] = data.source
    active = [v > ACTIVE_THRESHOLD for v in result["activity_per_dim"]]
    disentanglement = _disentanglement(ckpt, data, active, args.seed)
    if disentanglement is not None:
        result["disentanglement"] = disentanglement
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"checkpoint        {ckpt.path}")
    print(f"evaluated on      {data.source} ({result['n_images']} images)")
    se = result.get("std_errors")
    draws = f" ({result['samples']} draws of z per image, +- one standard error)" if se else " (one draw of z per image)"
    for label, key in (("negative ELBO   ", "neg_elbo"), ("  reconstruction", "recon"), ("  KL            ", "kl")):
        print(f"{label}  {result[key]:.3f}" + (f" +- {se[key]:.3f}" if se else "")
              + (" nats per image" + draws if key == "neg_elbo" else ""))
    for name, value in result["terms"].items():  # a kind's own terms: KL per level, a commitment term, ...
        inside = "    of which " if name in ckpt.config.variant.kl_terms else "  not in the ELBO: "
        print(f"{inside}{name} {value:.3f}")
    for name, value in result["measures"].items():
        print(f"{name:<17} {value:.4g}")
    if result.get("iwae_neg_log_likelihood") is not None:
        print(f"-log p(x) (IWAE)  {result['iwae_neg_log_likelihood']:.3f} nats "
              f"(k={result['iwae_k']}, {result['iwae_images']} images)")
    else:
        print(f"-log p(x)         n/a: {result['note']}")
    print(f"active units      {result['active_units']} of {result['latent_dim']} (Cov_x(E_q[z_i]) > 0.01)")
    if not ckpt.config.variant.kl_terms:
        print("KL per dimension  n/a: this kind has no KL term")
    elif result["kl_per_dim"] is None:
        print(f"KL per dimension  n/a: against the prior {ckpt.prior.name} the KL does not split by dimension")
    else:
        print("KL per dimension  " + " ".join(f"{v:.2f}" for v in result["kl_per_dim"]))
    if disentanglement is not None:
        print_disentanglement(disentanglement)
    return 0


def print_disentanglement(d: dict) -> None:
    """The disentanglement block of ``evaluate``: MIG, DCI, and the factor each dimension tells most of."""
    if "note" in d:
        print(f"MIG, DCI          {d['note']}")
        return
    per = lambda values: ", ".join(f"{k} {v:.2f}" for k, v in values.items())  # noqa: E731
    print(f"MIG               {d['mig']:.3f} (a perfect code scores {d['mig_ceiling']:.2f} with {d['mig_bins']} "
          f"bins): {per(d['mig_per_factor'])}")
    print(f"DCI               disentanglement {d['dci_disentanglement']:.3f}, completeness "
          f"{d['dci_completeness']:.3f}, informativeness {d['dci_informativeness']:.3f}")
    print(f"  informativeness {per(d['dci_informativeness_per_factor'])}")
    used = [e for e in d["dimension_factor"] if e["active"]]
    print("active dimensions " + (", ".join(f"z{e['dim'] + 1} {e['factor']} {e['share']:.2f}" for e in used)
                                  or "none"))
    print("                  (the factor each tells most of, as a share of the factor's entropy)")


def cmd_info(args) -> int:
    from vae_core.store.checkpoints import load_checkpoint

    ckpt = load_checkpoint(args.path)
    meta = {k: v for k, v in ckpt.meta.items() if k not in ("history", "optimizer_param_groups", "sha256")}
    if args.json:
        print(json.dumps({"path": str(ckpt.path), "config": ckpt.config.to_dict(), **meta}))
        return 0
    print(f"checkpoint   {ckpt.path}")
    print(f"model        {describe_model(ckpt.config)}")
    print(f"parameters   {sum(p.numel() for p in ckpt.model.parameters()):,}")
    print(f"dataset      {meta.get('dataset')} ({meta.get('n_train')} train / {meta.get('n_test')} test)")
    print(f"data source  {meta.get('data_source')}")
    print(f"epochs       {meta.get('epochs')}  seed {meta.get('seed')}  device {meta.get('device')}")
    for k, v in (meta.get("metrics") or {}).items():
        print(f"{k:<12} {v:.3f}")
    print(f"created      {meta.get('created')}")
    print(f"command      {meta.get('command')}")
    if ckpt.sample is not None:
        print(f"sample       {len(ckpt.sample.labels)} test images stored")
    return 0


def describe_model(cfg: ModelConfig) -> str:
    import dataclasses

    from vae_core.model.architecture import describe

    kind = cfg.variant.title
    hidden = "-".join(map(str, cfg.hidden))
    lik = cfg.likelihood + (f" ({cfg.gaussian_variance} variance)" if cfg.likelihood == "gaussian" else "")
    shape = describe(cfg).latent_shape
    z = "" if shape == (cfg.latent_dim,) else f" (z {'x'.join(map(str, shape))})"
    options = ", ".join(f"{k} {v}" for k, v in dataclasses.asdict(cfg.options).items())
    return (f"{kind}, {cfg.arch} {hidden}, latent_dim {cfg.latent_dim}{z}, {lik}, input {tuple(cfg.image_shape)}"
            + (f", {options}" if options else ""))


def cmd_sample(args) -> int:
    from vae_core.store.checkpoints import load_checkpoint
    from vae_core.analysis.latent import decode_batch
    from vae_core.render.images import tile, to_png, to_uint8, upscale

    ckpt = load_checkpoint(args.path)
    if not (1 <= args.n <= 1024):
        raise ValueError(f"-n {args.n} must be between 1 and 1024")
    z = ckpt.prior.sample(args.n, args.temperature, seed=args.seed)
    y = (list(range(ckpt.config.num_classes)) * args.n)[:args.n] if ckpt.config.variant.conditional else None
    images = to_uint8(decode_batch(ckpt.model, z, y))
    grid = upscale(tile(images, int(args.n ** 0.5 + 0.999)), args.scale)
    Path(args.out).write_bytes(to_png(grid))
    print(f"wrote {args.n} prior samples to {args.out}")
    return 0


COMMANDS = {"train": cmd_train, "evaluate": cmd_evaluate, "info": cmd_info, "sample": cmd_sample}


def main(argv: list[str] | None = None) -> int:
    from vae_core.store.checkpoints import CheckpointError
    from vae_core.data.datasets import DatasetError
    from vae_core.training.trainer import TrainingDiverged

    args = build_parser().parse_args(argv)
    args._argv = argv
    try:
        return COMMANDS[args.command](args)
    except (ConfigError, CheckpointError, DatasetError, TrainingDiverged, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
