"""Decoding and encoding on the server, against naive references measured in the same run.

- one z: vae_core.analysis.latent.decode_batch (inference mode) against a plain `model.decode(z)` call
  with autograd on;
- a 20x20 grid: one batched decode of 400 z against 400 single decodes;
- the whole Fashion-MNIST test set (10,000) and training set (60,000): encode_dataset (one tensor,
  batches of 2,000, inference mode) against a DataLoader loop with batches of 128 and autograd on.

Run: python bench/server_decode.py [--threads N]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from vae_core.store.checkpoints import list_checkpoints, load_checkpoint  # noqa: E402
from vae_core.analysis.evaluate import encode_dataset  # noqa: E402
from vae_core.analysis.latent import decode_batch  # noqa: E402


def timed(fn, repeats: int) -> float:
    """Median seconds of fn() over repeats (after one warm-up call)."""
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def naive_encode(model, images: torch.Tensor) -> None:
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(images), batch_size=128)
    out = []
    for (x,) in loader:
        mu, logvar = model.encode(x)
        out.append(mu.detach())
    torch.cat(out).numpy()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=None)
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"{'model':<26}{'one z ms':>9}{'ref':>8}{'ratio':>7}{'grid ms':>10}{'ref':>8}{'ratio':>7}")
    for path in list_checkpoints(REPO / "checkpoints"):
        ckpt = load_checkpoint(path)
        model, d = ckpt.model, ckpt.config.latent_dim
        y = 0 if ckpt.config.variant.conditional else None
        z1 = torch.randn(1, d)
        grid = torch.randn(400, d)
        one = timed(lambda: decode_batch(model, z1, y), 200)
        one_ref = timed(lambda: model.decode(z1).detach().numpy(), 200)
        many = timed(lambda: decode_batch(model, grid, y), 20)
        many_ref = timed(lambda: [model.decode(grid[i:i + 1]).detach() for i in range(400)], 3)
        print(f"{path.name:<26}{one * 1e3:>9.3f}{one_ref * 1e3:>8.3f}{one_ref / one:>7.2f}"
              f"{many * 1e3:>10.2f}{many_ref * 1e3:>8.1f}{many_ref / many:>7.1f}")

    from vae_core.data.datasets import DatasetError, load_dataset

    try:
        split = load_dataset("fashion-mnist", download=False)
    except DatasetError as e:
        print(f"encoding benchmark skipped: {e}")
        return
    model = load_checkpoint(REPO / "checkpoints" / "fashion-mnist-20d").model
    for name, images in (("test 10,000", split.test.images), ("train 60,000", split.train.images)):
        ours = timed(lambda: encode_dataset(model, images), 3)
        ref = timed(lambda: naive_encode(model, images), 3)
        print(f"encode Fashion-MNIST {name}: {ours:.3f} s; DataLoader(128) with autograd {ref:.3f} s; "
              f"ratio {ref / ours:.2f}")


if __name__ == "__main__":
    main()
