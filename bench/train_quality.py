"""Training: the project's default recipe against the PyTorch VAE example's configuration, on Fashion-MNIST,
through the CLI, in one run.

Reference: MLP 784-400-20, ReLU, Bernoulli, Adam (lr 1e-3, betas 0.9/0.999), batch 128, constant learning
rate, 10 epochs (reference figure on this machine: 244.1 nats).
Default recipe: `python -m vae_core train` with no training flags (vae_core.model.config.TrainConfig: batch 256,
peak lr 5e-3 with a 2% warm-up and a cosine decay, Adam beta2 0.99, the encoder's input centred on the mean
training image and the decoder started at that image), same model.

1. The reference trains for 10 epochs: its wall time T and test negative ELBO E.
2. The default recipe trains with --time-limit T/2: the goal is a test negative ELBO at most E (it
   reaches the reference's quality in at most half its time).
3. The default recipe trains with --time-limit T: the goal is a test negative ELBO below E (it ends
   better at equal time).
Times are the training loop's (evaluation of the test set after every epoch included), read from the
checkpoints' history. Run: python bench/train_quality.py [--seed 1] [--threads N] [--json out.json]
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
MODEL_FLAGS = ["--latent-dim", "20", "--hidden", "400", "--likelihood", "bernoulli"]
REFERENCE_FLAGS = ["--lr", "1e-3", "--batch-size", "128", "--lr-schedule", "constant", "--adam-beta2", "0.999",
                   "--no-data-init", "--epochs", "10"]


def train(out: Path, flags: list[str], seed: int, threads: int | None) -> dict:
    cmd = [sys.executable, "-m", "vae_core", "train", "--dataset", "fashion-mnist", "--seed", str(seed),
           "--sample-size", "0", "--no-optimizer-state", "--out", str(out), *MODEL_FLAGS, *flags]
    if threads:
        cmd += ["--threads", str(threads)]
    start = time.perf_counter()
    subprocess.run(cmd, cwd=REPO, check=True, stderr=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    meta = json.loads((out / "meta.json").read_text())
    history = meta["history"]
    clock, curve = 0.0, []
    for h in history:
        clock += h["seconds"]
        curve.append((round(clock, 2), round(h["test_neg_elbo"], 3)))
    return {"neg_elbo": meta["metrics"]["test_neg_elbo"], "epochs": meta["epochs"], "train_seconds": clock,
            "wall_seconds": wall, "curve": curve, "command": " ".join(["python", *cmd[1:]])}


def first_time_at_or_below(curve: list[tuple[float, float]], target: float) -> float | None:
    return next((t for t, e in curve if e <= target), None)


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--json", help="also write the results to this file")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        ref = train(Path(tmp) / "reference", REFERENCE_FLAGS, args.seed, args.threads)
        budget = ref["train_seconds"]
        half = train(Path(tmp) / "half", ["--epochs", "1000", "--time-limit", f"{budget / 2:.2f}"], args.seed,
                     args.threads)
        equal = train(Path(tmp) / "equal", ["--epochs", "1000", "--time-limit", f"{budget:.2f}"], args.seed,
                      args.threads)
    target = ref["neg_elbo"]
    print(f"reference (PyTorch example config, 10 epochs): test -ELBO {target:.2f} nats in {budget:.1f} s "
          f"({budget / ref['epochs']:.2f} s/epoch); reference figure 244.1")
    print(f"default recipe, time limit {budget / 2:.1f} s (half): test -ELBO {half['neg_elbo']:.2f} nats after "
          f"{half['train_seconds']:.1f} s, {half['epochs']} epochs; goal <= {target:.2f}: "
          f"{'met' if half['neg_elbo'] <= target else 'NOT met'}")
    print(f"default recipe, time limit {budget:.1f} s (equal): test -ELBO {equal['neg_elbo']:.2f} nats after "
          f"{equal['train_seconds']:.1f} s, {equal['epochs']} epochs; goal < {target:.2f}: "
          f"{'met' if equal['neg_elbo'] < target else 'NOT met'}")
    reached = first_time_at_or_below(half["curve"], target)
    if reached is not None:
        print(f"time to the reference's quality: {reached:.1f} s against {budget:.1f} s (ratio {reached / budget:.2f})")
    print(f"ratio of -ELBO at equal time, default / reference: {equal['neg_elbo'] / target:.4f} (below 1 is better)")
    out = {"reference": ref, "default_half_time": half, "default_equal_time": equal}
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1))
    return out


if __name__ == "__main__":
    main()
