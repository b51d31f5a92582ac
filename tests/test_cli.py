"""``python -m vae_core`` end to end, in real subprocesses, on the real digits data."""
from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from vae_core.store.checkpoints import WEIGHTS_FILE, is_checkpoint, load_checkpoint

from conftest import REPO_ROOT

SPRITES_MODEL = REPO_ROOT / "checkpoints" / "sprites-10d-beta8"


def run(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(REPO_ROOT))
    return subprocess.run([sys.executable, "-m", "vae_core", *args], cwd=REPO_ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)


def _assert_clean_error(proc: subprocess.CompletedProcess):
    assert proc.returncode != 0, proc.stdout
    assert "error:" in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr


@dataclass
class CLIRuns:
    tmp: Path
    ckpt: Path  # written by the `train` run
    results: dict[str, subprocess.CompletedProcess]

    def __getitem__(self, name: str) -> subprocess.CompletedProcess:
        return self.results[name]


@pytest.fixture(scope="module")
def cli(tmp_path_factory) -> CLIRuns:
    """Every command of this file, run once as a real subprocess.

    Starting Python with torch dominates each command's time, so the commands that do not
    depend on each other run side by side (a few at a time): first `train` next to the
    error cases, then everything that reads the checkpoint `train` wrote.
    """
    tmp = tmp_path_factory.mktemp("cli")
    ck = tmp / "ck"
    first = {
        "train": ("train", "--dataset", "digits", "--latent-dim", "2", "--epochs", "1", "--out", str(ck)),
        "missing": ("evaluate", "/nonexistent"),
        "latent0": ("train", "--dataset", "digits", "--latent-dim", "0", "--epochs", "1", "--out", str(tmp / "never")),
    }
    png = tmp / "x.png"
    damaged = tmp / "damaged"
    second = {
        "evaluate": ("evaluate", str(ck), "--iwae-k", "20"),
        "evaluate_json": ("evaluate", str(ck), "--json", "--iwae-k", "20", "--iwae-images", "100"),
        "evaluate_sample": ("evaluate", str(ck), "--json", "--on-sample", "--iwae-k", "5"),
        "info": ("info", str(ck)),
        "info_json": ("info", str(ck), "--json"),
        "sample": ("sample", str(ck), "--out", str(png), "-n", "16", "--scale", "2"),
        "damaged": ("info", str(damaged)),
        # a bundled model of a dataset with known factors: evaluate adds MIG and DCI
        "evaluate_sprites": ("evaluate", str(SPRITES_MODEL), "--json", "--iwae-k", "2", "--iwae-images", "50"),
        "evaluate_sprites_text": ("evaluate", str(SPRITES_MODEL), "--on-sample", "--iwae-k", "2",
                                  "--iwae-images", "50"),
    }
    results: dict[str, subprocess.CompletedProcess] = {}
    with ThreadPoolExecutor(max_workers=3) as pool:
        futures = {name: pool.submit(run, *args) for name, args in first.items()}
        results["train"] = futures["train"].result()
        if is_checkpoint(ck):
            shutil.copytree(ck, damaged)
            data = (damaged / WEIGHTS_FILE).read_bytes()
            (damaged / WEIGHTS_FILE).write_bytes(data[: len(data) // 2])
        futures.update({name: pool.submit(run, *args) for name, args in second.items()})
        results.update({name: f.result() for name, f in futures.items()})
    return CLIRuns(tmp=tmp, ckpt=ck, results=results)


def test_train_writes_a_checkpoint(cli):
    proc, out = cli["train"], cli.ckpt
    assert proc.returncode == 0, proc.stderr
    assert "test negative ELBO" in proc.stdout
    assert "after 1 epochs" in proc.stdout and str(out) in proc.stdout
    assert "training on digits" in proc.stderr
    assert is_checkpoint(out)
    ckpt = load_checkpoint(out)
    assert ckpt.config.latent_dim == 2 and ckpt.config.image_shape == (1, 8, 8)
    assert ckpt.meta["epochs"] == 1 and ckpt.meta["dataset"] == "digits"
    reported = float(proc.stdout.split("test negative ELBO:")[1].split()[0])
    assert reported == pytest.approx(ckpt.meta["metrics"]["test_neg_elbo"], abs=0.006)
    assert not [p.name for p in out.parent.iterdir() if p.name.startswith(".")]  # no temporary folders left


def test_evaluate_prints_the_report(cli):
    proc = cli["evaluate"]
    assert proc.returncode == 0, proc.stderr
    text = proc.stdout
    for needle in ("negative ELBO", "reconstruction", "KL per dimension", "active units", "IWAE", "k=20"):
        assert needle in text, needle
    kl_line = next(line for line in text.splitlines() if line.startswith("KL per dimension"))
    assert len(kl_line.split()[3:]) == 2  # one number per latent dimension
    assert "of 2" in next(line for line in text.splitlines() if line.startswith("active units"))


def test_evaluate_json(cli):
    proc = cli["evaluate_json"]
    assert proc.returncode == 0, proc.stderr
    r = json.loads(proc.stdout)
    for key in ("neg_elbo", "recon", "kl", "kl_per_dim", "active_units", "iwae_neg_log_likelihood", "checkpoint",
                "evaluated_on"):
        assert key in r, key
    assert len(r["kl_per_dim"]) == 2 and 0 <= r["active_units"] <= 2
    assert r["n_images"] == 360 and r["iwae_images"] == 100 and r["iwae_k"] == 20
    assert math.isfinite(r["neg_elbo"]) and math.isfinite(r["iwae_neg_log_likelihood"])
    assert sum(r["kl_per_dim"]) == pytest.approx(r["kl"], abs=1e-3)
    # evaluated on the same test split the trainer used: the same negative ELBO, same seed
    assert r["neg_elbo"] == pytest.approx(load_checkpoint(cli.ckpt).meta["metrics"]["test_neg_elbo"], rel=1e-5)
    assert "disentanglement" not in r  # the digits have no known factors


def test_evaluate_scores_disentanglement_when_the_factors_are_known(cli):
    import torch

    from vae_core.analysis.disentanglement import mig
    from vae_core.analysis.evaluate import encode_dataset
    from vae_core.data.datasets import load_dataset

    proc = cli["evaluate_sprites"]
    assert proc.returncode == 0, proc.stderr
    r = json.loads(proc.stdout)
    d = r["disentanglement"]
    assert d["factor_names"] == ["shape", "scale", "orientation", "x position", "y position"]
    assert d["n_images"] == r["n_images"] == 8000
    for key in ("mig", "dci_disentanglement", "dci_completeness", "dci_informativeness"):
        assert 0.0 <= d[key] <= 1.0, key
    assert len(d["dimension_factor"]) == 10 and np.array(d["mutual_information"]).shape == (10, 5)
    assert sum(e["active"] for e in d["dimension_factor"]) == r["active_units"]
    # the test split the model was trained with, encoded here: the same MIG
    torch.set_num_threads(1)
    test = load_dataset("sprites").test
    mu, _ = encode_dataset(load_checkpoint(SPRITES_MODEL).model, test.images)
    assert d["mig"] == pytest.approx(mig(mu, test.factors).score, abs=1e-6)
    assert "DCI: done" in proc.stderr  # its progress bar
    text = cli["evaluate_sprites_text"]
    assert text.returncode == 0, text.stderr
    line = lambda start: next(x for x in text.stdout.splitlines() if x.startswith(start))  # noqa: E731
    assert f"{d['mig']:.3f}" in line("MIG ")  # the stored test split is the same 8,000 images, factors and all
    assert f"disentanglement {d['dci_disentanglement']:.3f}" in line("DCI ")
    used = [e for e in d["dimension_factor"] if e["active"]]
    assert line("active dimensions").count(", ") == len(used) - 1
    assert f"z{used[0]['dim'] + 1} {used[0]['factor']}" in line("active dimensions")


def test_evaluate_on_the_stored_sample(cli):
    proc = cli["evaluate_sample"]
    assert proc.returncode == 0, proc.stderr
    r = json.loads(proc.stdout)
    assert r["n_images"] == 360  # the default --sample-size 1000 keeps every one of the 360 test images
    assert "stored in the checkpoint" in r["evaluated_on"]


def test_info_shows_dataset_and_command(cli):
    proc = cli["info"]
    assert proc.returncode == 0, proc.stderr
    text = proc.stdout
    assert "digits" in text
    assert "python -m vae_core train --dataset digits --latent-dim 2 --epochs 1 --out" in text
    assert "latent_dim 2" in text and "test_neg_elbo" in text
    proc = cli["info_json"]
    assert proc.returncode == 0, proc.stderr
    info = json.loads(proc.stdout)
    assert info["dataset"] == "digits" and info["config"]["latent_dim"] == 2
    assert info["command"].startswith("python -m vae_core train")
    assert "sha256" not in info and "history" not in info


def test_sample_writes_a_png(cli):
    proc = cli["sample"]
    assert proc.returncode == 0, proc.stderr
    png = cli.tmp / "x.png"
    assert png.read_bytes().startswith(b"\x89PNG")
    img = Image.open(png)
    side = (4 * (8 + 1) + 1) * 2  # a 4x4 grid of 8x8 digits with 1-pixel gaps, upscaled twice
    assert img.size == (side, side)
    assert np.asarray(img).std() > 0  # not a blank image


def test_evaluate_missing_checkpoint_is_a_clean_error(cli):
    proc = cli["missing"]
    _assert_clean_error(proc)
    assert "/nonexistent" in proc.stderr


def test_damaged_checkpoint_is_a_clean_error(cli):
    proc = cli["damaged"]
    _assert_clean_error(proc)
    assert WEIGHTS_FILE in proc.stderr


def test_train_with_latent_dim_zero_is_a_clean_error(cli):
    proc = cli["latent0"]
    _assert_clean_error(proc)
    assert "latent_dim" in proc.stderr
    assert not (cli.tmp / "never").exists()
