"""Data-parallel training: 2 processes under torchrun (gloo, CPU) give the 1-process result.

The same global batch (128 images; the digits' last batch of 29 is split 15 + 14), the same seeded
permutation and the same reparameterization noise per image: only the order of floating-point sums
differs, so the weights after 2 epochs must agree within 1e-5 and the test negative ELBO within 0.01 nats.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


from vae_core.store.checkpoints import load_checkpoint
from vae_core.model.config import TrainConfig
from vae_core.training.distributed import main, slice_bounds
from vae_core.training.trainer import Trainer

REPO = Path(__file__).resolve().parents[1]
WEIGHT_ATOL = 1e-5
ELBO_TOL = 0.01  # nats
TORCHRUN_ENV = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT", "LOCAL_WORLD_SIZE",
                "GROUP_RANK", "TORCHELASTIC_RUN_ID")


def _clean_env() -> dict:
    env = {k: v for k, v in os.environ.items() if k not in TORCHRUN_ENV}
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env


def test_slices_cover_the_batch_once_and_differ_by_at_most_one():
    for n in (1, 2, 29, 128, 131):
        for world in (1, 2, 3, 8):
            bounds = [slice_bounds(n, world, r) for r in range(world)]
            assert bounds[0][0] == 0 and bounds[-1][1] == n
            assert all(a[1] == b[0] for a, b in zip(bounds, bounds[1:]))
            sizes = [hi - lo for lo, hi in bounds]
            assert max(sizes) - min(sizes) <= 1


def test_two_processes_give_the_one_process_weights(tmp_path, digits):
    out = tmp_path / "two"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
           "-m", "vae_core.training.distributed", "--dataset", "digits", "--epochs", "2", "--batch-size", "128",
           "--latent-dim", "2", "--hidden", "64", "--lr", "3e-3", "--device", "cpu", "--sample-size", "50",
           "--out", str(out)]
    done = subprocess.run(cmd, cwd=REPO, env=_clean_env(), capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"torchrun exited with {done.returncode}:\n{done.stderr[:6000]}\n...\n{done.stderr[-2000:]}"
    two = load_checkpoint(out)
    assert two.meta["distributed"] == {"world_size": 2, "backend": "gloo", "global_batch_size": 128}
    assert two.meta["epochs"] == 2 and two.sample is not None and len(two.sample.labels) == 50

    train_cfg = TrainConfig(**{**two.meta["train_config"], "device": "cpu"})
    one = Trainer(two.config, train_cfg, digits)
    history = one.fit()
    ref, got = one.model.state_dict(), two.model.state_dict()
    assert ref.keys() == got.keys()
    worst = max((ref[k] - got[k]).abs().max().item() for k in ref)
    assert worst <= WEIGHT_ATOL, f"largest weight difference {worst:.2e}"
    initial = Trainer(two.config, train_cfg, digits).model.state_dict()  # the same seeded initialisation
    learned = [k for k, _ in one.model.named_parameters()]  # not the pixel_mean buffer: data, not learned
    assert min((initial[k] - got[k]).abs().max().item() for k in learned) > 100 * WEIGHT_ATOL  # training moved all
    assert abs(history[-1].test_neg_elbo - two.meta["metrics"]["test_neg_elbo"]) <= ELBO_TOL
    assert abs(history[-1].train_loss - two.meta["metrics"]["train_loss"]) <= ELBO_TOL


def test_started_without_torchrun_it_says_how_to_launch(tmp_path, monkeypatch, capsys):
    for key in TORCHRUN_ENV:
        monkeypatch.delenv(key, raising=False)
    assert main(["--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err
    assert "torchrun" in err and "RANK" in err
    assert not (tmp_path / "x").exists()
