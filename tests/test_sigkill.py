"""A training process killed with SIGKILL, even in the middle of writing its checkpoint, leaves a
checkpoint that loads, and ``--resume`` then trains on to the epochs asked for.

Each round starts ``python -m vae_core train ... --out X`` (resuming when X holds a checkpoint),
waits until it has saved an epoch of its own, then kills it: either at a random moment, or the
instant a checkpoint save has begun (its hidden temporary folder appears), so that the kill lands
inside the save. The first round kills the very first save. After every kill X must load.
``VAE_SIGKILL_ROUNDS`` sets the number of kills after the first save (default 3; the figures in
docs/reliability.md come from a run with 40).
"""
from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from vae_core.store.checkpoints import list_checkpoints, load_checkpoint

REPO = Path(__file__).resolve().parents[1]
ROUNDS = int(os.environ.get("VAE_SIGKILL_ROUNDS", "3"))
START_TIMEOUT = 120  # seconds for a fresh process to import torch and save its first epoch


@pytest.fixture
def digits_npz(digits, tmp_path) -> Path:
    """The 8x8 digits with their train/test split as an .npz: a process loads it without importing
    scikit-learn, which takes seconds off each of the many process starts below."""
    path = tmp_path / "digits.npz"
    np.savez(path, images=digits.train.to_uint8(), labels=digits.train.labels.numpy(),
             test_images=digits.test.to_uint8(), test_labels=digits.test.labels.numpy())
    return path


def train_command(data: Path, out: Path, epochs: int, resume: bool) -> list[str]:
    cmd = [sys.executable, "-m", "vae_core", "train", "--dataset", str(data), "--hidden", "512,512",
           "--latent-dim", "2", "--epochs", str(epochs), "--batch-size", "256", "--threads", "1",
           "--sample-size", "1000", "--out", str(out)]
    return cmd + (["--resume"] if resume else [])


def saving(out: Path) -> bool:
    """A save of ``out`` is under way (or was killed): its hidden temporary folder exists."""
    return any(p.name.startswith(f".{out.name}.tmp-") for p in os.scandir(out.parent))


def saved_epochs(out: Path) -> int:
    try:
        return int(load_checkpoint(out).meta["epochs"])
    except Exception:  # noqa: BLE001 - nothing saved yet; damage is what the test itself checks
        return 0


def kill_one_run(data: Path, out: Path, at_save: bool, rng: random.Random, first_save: bool = False) -> None:
    """Train into ``out`` (resuming when it holds a checkpoint), wait for a save of this process's
    own (first_save: for the very first save to begin), then SIGKILL it."""
    resume = (out / "meta.json").is_file()
    before = saved_epochs(out)
    proc = subprocess.Popen(train_command(data, out, 100_000, resume), cwd=REPO, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    try:
        deadline = time.time() + START_TIMEOUT
        while not first_save and saved_epochs(out) <= before:
            assert proc.poll() is None, f"training exited early: {proc.stderr.read().decode()[-2000:]}"
            assert time.time() < deadline, "no epoch was saved in time"
            time.sleep(0.02)
        if at_save:
            while not saving(out):  # spin: a save lasts a few milliseconds
                assert proc.poll() is None and time.time() < deadline, "no save began in time"
            time.sleep(rng.uniform(0, 0.004))
        else:
            time.sleep(rng.uniform(0, 0.4))
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
        assert proc.returncode == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stderr.close()


def test_sigkill_during_training_and_saving_never_leaves_a_corrupt_checkpoint(tmp_path, digits_npz):
    runs = tmp_path / "runs"
    runs.mkdir()
    out = runs / "run"
    rng = random.Random(0)
    # the very first save, killed while it writes: nothing that looks like a checkpoint may remain
    kill_one_run(digits_npz, out, at_save=True, rng=rng, first_save=True)
    assert list_checkpoints(runs) == [] or load_checkpoint(out).meta["epochs"] >= 1

    epochs_after_kill, killed_inside_a_save = [], 0
    for i in range(ROUNDS):
        before = saved_epochs(out)
        kill_one_run(digits_npz, out, at_save=i % 2 == 1, rng=rng)
        killed_inside_a_save += saving(out) or any(p.name.startswith(f".{out.name}.old-") for p in runs.iterdir())
        ckpt = load_checkpoint(out, with_optimizer=True)  # the test: this must never raise
        epochs = ckpt.meta["epochs"]
        assert epochs > before, "the killed run's saved epoch is missing"
        assert [h["epoch"] for h in ckpt.meta["history"]] == list(range(1, epochs + 1))
        assert ckpt.optimizer_state is not None
        epochs_after_kill.append(epochs)

    target = epochs_after_kill[-1] + 2
    done = subprocess.run(train_command(digits_npz, out, target, resume=True), cwd=REPO, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    ckpt = load_checkpoint(out)
    assert ckpt.meta["epochs"] == target
    assert [h["epoch"] for h in ckpt.meta["history"]] == list(range(1, target + 1))
    # the temporary folders of killed saves are swept away by the next save
    assert sorted(p.name for p in runs.iterdir()) == ["run"]
    print(f"\n{ROUNDS} SIGKILLs after the first save: epochs saved after each {epochs_after_kill}; "
          f"{killed_inside_a_save} landed inside a save; resumed to {target} epochs")
