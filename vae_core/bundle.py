"""Give trained checkpoints their dataset's whole test split and their PCA / t-SNE / UMAP maps, without
retraining them (their weights and metrics stay as they are).

    python -m vae_core.bundle checkpoints            # every checkpoint folder under checkpoints/
    python -m vae_core.bundle checkpoints --models fashion-mnist-2d,fashion-mnist-20d --no-maps

For each checkpoint: its test split is loaded again exactly as training split it (meta.json's
train_config: dataset, test_fraction, seed; never downloaded), checked against the images the checkpoint
stores (they must be the same images, or a seeded choice of them), and stored once per dataset under
``<root>/test-splits/`` (vae_core.store.test_splits). The checkpoint's own ``sample.npz`` is then replaced by
a reference in ``meta.json``; then the split is encoded and its maps written to ``maps.npz``
(vae_core.projection.shipped). checkpoints/rebuild.sh runs this after training the bundled models.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

from vae_core.store.checkpoints import META_FILE, SAMPLE_FILE, Sample, list_checkpoints, load_checkpoint


class BundleError(RuntimeError):
    """A checkpoint's test split cannot be attached; the message says why."""


def load_test_split(meta: dict, data_dir: str | None = None) -> tuple[str, Sample]:
    """(dataset name, every test image of the split the checkpoint was trained with) as uint8."""
    from vae_core.data.datasets import DatasetError, load_dataset
    from vae_core.training.trainer import make_sample

    tc = meta.get("train_config") or {}
    name = tc.get("dataset") or meta.get("dataset")
    if not name:
        raise BundleError(f"{META_FILE} names no dataset")
    try:
        split = load_dataset(name, data_dir=data_dir or tc.get("data_dir"), download=False,
                             test_fraction=tc.get("test_fraction", 0.2), seed=tc.get("seed", 0))
    except DatasetError as e:
        raise BundleError(f"the test split of {name!r} is not here: {e}") from e
    test = split.test
    return str(name), make_sample(test.images, test.labels, test.class_names, len(test.images),
                                  factors=test.factors, factor_names=test.factor_names)


def check_stored(stored: Sample | None, split: Sample, seed: int) -> None:
    """The images a checkpoint stores must be its test split, or make_sample's seeded choice from it."""
    if stored is None:
        return
    import torch

    # make_sample's choice: a seeded permutation's first n indices, sorted (all of them when n = N)
    g = torch.Generator().manual_seed(seed)
    idx = torch.randperm(len(split.images), generator=g)[:len(stored.images)].sort().values.numpy()
    expected = Sample(split.images[idx], split.labels[idx], split.class_names)
    if not (np.array_equal(stored.images, expected.images) and np.array_equal(stored.labels, expected.labels)):
        raise BundleError("the images the checkpoint stores are not its test split: was it trained on another "
                          "split (--test-fraction, --seed) or another copy of the data?")


def attach_split(folder: Path, root: Path, name: str, split: Sample, ref: dict | None = None) -> dict:
    """Replace the checkpoint's sample.npz by a reference to the shared split (written unless ``ref``)."""
    from vae_core.store.test_splits import META_KEY, write

    if ref is None:
        ref = write(root, name, split)
    meta_path = folder / META_FILE
    meta = json.loads(meta_path.read_text())
    meta[META_KEY] = ref
    meta["sha256"] = {k: v for k, v in (meta.get("sha256") or {}).items() if k != SAMPLE_FILE}
    meta["n_sample"] = ref["count"]
    tmp = meta_path.with_name(f".{META_FILE}.tmp")
    tmp.write_text(json.dumps(meta, indent=2) + "\n")
    os.replace(tmp, meta_path)
    (folder / SAMPLE_FILE).unlink(missing_ok=True)
    return ref


def encode_split(folder: Path) -> np.ndarray:
    import torch

    from vae_core.analysis.evaluate import encode_dataset

    ckpt = load_checkpoint(folder)
    with torch.inference_mode():
        mu, _ = encode_dataset(ckpt.model, ckpt.sample.as_tensor(), torch.from_numpy(ckpt.sample.labels))
    return mu


def main(argv: list[str] | None = None) -> None:
    from vae_core.training.progress import ProgressBar
    from vae_core.projection.shipped import build

    ap = argparse.ArgumentParser(prog="python -m vae_core.bundle", description=__doc__.split("\n\n")[0])
    ap.add_argument("root", help="a folder of checkpoint folders (checkpoints/)")
    ap.add_argument("--models", default="", help="comma-separated folder names (default: every checkpoint)")
    ap.add_argument("--data-dir", default=None, help="where the datasets' files are (see README)")
    ap.add_argument("--no-maps", action="store_true", help="attach the test split only; do not compute maps")
    args = ap.parse_args(argv)
    root = Path(args.root)
    folders = list_checkpoints(root)
    if args.models:
        wanted = [m.strip() for m in args.models.split(",") if m.strip()]
        missing = sorted(set(wanted) - {f.name for f in folders})
        if missing:
            raise SystemExit(f"no checkpoint named {', '.join(missing)} under {root}")
        folders = [f for f in folders if f.name in wanted]
    refs: dict[str, dict] = {}  # dataset -> its shared split's reference, written once
    for folder in folders:
        meta = json.loads((folder / META_FILE).read_text())
        try:
            name, split = load_test_split(meta, args.data_dir)
            check_stored(load_checkpoint(folder, lazy=True).sample, split, (meta.get("train_config") or {}).get("seed", 0))
        except BundleError as e:
            raise SystemExit(f"{folder}: {e}") from e
        refs[name] = attach_split(folder, root, name, split, refs.get(name))
        print(f"{folder.name}: the {refs[name]['count']:,} test images of {name} ({root / 'test-splits' / name}.npz)",
              flush=True)
        if args.no_maps:
            continue
        mu = encode_split(folder)
        bar = ProgressBar()
        start = time.perf_counter()
        path = build(folder, mu, progress=lambda m, f, t: bar.update(f, 1.0, f"{folder.name} {m}: {t}"))
        bar.close(f"{folder.name}: PCA, t-SNE and UMAP maps of {len(mu):,} points in {path} "
                  f"({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main(sys.argv[1:])
