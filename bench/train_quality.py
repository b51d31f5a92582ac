"""Training quality bar on Fashion-MNIST, through the CLI.

1. The canonical PyTorch VAE example's configuration (MLP 784-400-20, ReLU, Bernoulli, Adam lr 1e-3,
   batch 128, 10 epochs): its test negative ELBO and wall time (reference: 244.1 nats).
2. The project's default recipe (`python -m vae_core train` with no model flags), given the same
   wall time: its test negative ELBO.
Prints both and their ratio. Run: python bench/train_quality.py [--seed 1] [--threads N]
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
REFERENCE_FLAGS = ["--latent-dim", "20", "--hidden", "400", "--likelihood", "bernoulli", "--lr", "1e-3",
                   "--batch-size", "128", "--epochs", "10"]


def train(out: Path, flags: list[str], seed: int, threads: int | None) -> dict:
    cmd = [sys.executable, "-m", "vae_core", "train", "--dataset", "fashion-mnist", "--seed", str(seed),
           "--sample-size", "0", "--no-optimizer-state", "--out", str(out), *flags]
    if threads:
        cmd += ["--threads", str(threads)]
    start = time.perf_counter()
    subprocess.run(cmd, cwd=REPO, check=True, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    meta = json.loads((out / "meta.json").read_text())
    train_seconds = sum(h["seconds"] for h in meta["history"])
    return {"neg_elbo": meta["metrics"]["test_neg_elbo"], "epochs": meta["epochs"],
            "train_seconds": train_seconds, "wall_seconds": wall, "command": " ".join(cmd[1:])}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=None)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        ref = train(Path(tmp) / "reference", REFERENCE_FLAGS, args.seed, args.threads)
        budget = ref["train_seconds"]
        default = train(Path(tmp) / "default", ["--epochs", "1000", "--time-limit", f"{budget:.2f}"],
                        args.seed, args.threads)
    print(f"reference (PyTorch example config, 10 epochs): test -ELBO {ref['neg_elbo']:.2f} nats "
          f"in {ref['train_seconds']:.1f} s ({ref['train_seconds'] / ref['epochs']:.2f} s/epoch); target 244.1 +- 1")
    print(f"default recipe, same wall time ({budget:.1f} s): test -ELBO {default['neg_elbo']:.2f} nats "
          f"after {default['epochs']} epochs")
    print(f"ratio default/reference -ELBO: {default['neg_elbo'] / ref['neg_elbo']:.4f} (below 1 is better)")
    print(f"reference within 1 nat of 244.1: {abs(ref['neg_elbo'] - 244.1) <= 1.0}")


if __name__ == "__main__":
    main()
