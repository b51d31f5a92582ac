"""The training's history: snapshots at log-spaced steps, stored in the checkpoint, replayable; recording
it leaves the training itself unchanged."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from vae_core.store.checkpoints import export_zip, import_zip, load_checkpoint
from vae_core.store.history import HISTORY_FILE, images_kept, record_steps
from vae_core.training.trainer import Trainer, sample_indices

from conftest import tiny_model_config, tiny_train_config


def test_record_steps_are_log_spaced_from_the_start():
    steps = record_steps(10_000)
    assert steps[0] == 0 and steps[-1] == 10_000 and steps == sorted(set(steps))
    gaps = np.diff(steps)
    assert gaps[0] <= gaps[len(gaps) // 2] <= gaps[-1]  # dense early, sparse late
    assert record_steps(3) == [0, 1, 2, 3]
    assert images_kept(10_000, 2) > images_kept(10_000, 20) >= 1


def test_a_training_records_its_history_and_is_the_same_training_without_it(digits, tmp_path):
    runs = {}
    for record in (True, False):
        out = tmp_path / f"run-{record}"
        Trainer(tiny_model_config(), tiny_train_config(epochs=3), digits, out_dir=out, sample_size=100,
                record_history=record).fit()
        runs[record] = load_checkpoint(out)
    with_h, without = runs[True], runs[False]
    for k, v in with_h.arrays.items():
        assert np.array_equal(v, without.arrays[k]), k  # the snapshots drew no noise of the training's
    assert with_h.meta["metrics"] == without.meta["metrics"]
    assert without.history is None and not (without.path / HISTORY_FILE).exists()
    h = with_h.history
    total = 3 * int(np.ceil(1437 / 128))
    assert h.step[0] == 0 and h.step[-1] == total and list(h.step) == record_steps(total)
    assert h.mu.shape == (len(h), 100, 2) and h.mu.dtype == np.float16
    assert np.array_equal(h.test_index, sample_indices(360, 100, 0).numpy())
    # the last snapshot is the saved model: its encodings of the stored images
    with torch.inference_mode():
        mu, _ = with_h.model.encode(with_h.sample.as_tensor())
    assert np.allclose(h.mu[-1].astype(np.float32), mu.numpy(), atol=2e-3)
    assert h.neg_elbo[-1] < h.neg_elbo[0]  # it learned
    assert h.prior_decodes.shape[:2] == (len(h), 8) and h.prior_decodes.dtype == np.uint8
    # it travels with the model: a downloaded and uploaded checkpoint keeps its history
    back = import_zip(export_zip(with_h.path), tmp_path / "uploaded")
    assert np.array_equal(back.history.mu, h.mu)


def test_a_resumed_training_continues_its_history(digits, tmp_path):
    out = tmp_path / "run"
    Trainer(tiny_model_config(), tiny_train_config(epochs=2), digits, out_dir=out, sample_size=50).fit()
    first = load_checkpoint(out).history
    Trainer(tiny_model_config(), tiny_train_config(epochs=4), digits, out_dir=out, sample_size=50,
            resume_from=out).fit()
    h = load_checkpoint(out).history
    assert len(h) > len(first) and np.array_equal(h.step[:len(first)], first.step)
    assert list(h.step) == sorted(set(h.step))


def test_a_damaged_history_does_not_stop_the_model_from_loading(trained, tmp_path):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(trained.path, copy)
    ckpt = load_checkpoint(copy)
    assert ckpt.history is not None
    (copy / HISTORY_FILE).write_bytes(b"not safetensors")
    import json

    meta = json.loads((copy / "meta.json").read_text())
    meta["sha256"].pop(HISTORY_FILE, None)
    (copy / "meta.json").write_text(json.dumps(meta))
    damaged = load_checkpoint(copy)
    assert damaged.history is None and damaged.model is not None
    with pytest.raises(ValueError, match="not a readable safetensors"):
        from vae_core.store.history import load_history

        load_history(copy)


BUNDLED = sorted(p for p in (__import__("conftest").REPO_ROOT / "checkpoints").iterdir() if (p / "config.json").is_file())


@pytest.mark.parametrize("path", BUNDLED, ids=[p.name for p in BUNDLED])
def test_every_bundled_model_carries_its_training_history(path):
    """The Latent map replays it: the last snapshot is the trained encoder's, on the stored images it follows."""
    from vae_core.store.history import sample_positions

    ckpt = load_checkpoint(path)
    h = ckpt.history
    assert h is not None and len(h) >= 20 and h.step[0] == 0, path.name
    assert list(h.step) == record_steps(int(h.step[-1]))
    keep = sample_positions(h, len(ckpt.sample.labels), shared_split="shared_sample" in ckpt.meta)
    x = ckpt.sample.as_tensor()[keep[:64]]
    y = torch.from_numpy(ckpt.sample.labels[keep[:64]])
    with torch.inference_mode():
        mu, _ = ckpt.model.encode(x, y if ckpt.config.variant.conditional else None)
    np.testing.assert_allclose(h.mu[-1][:64].astype(np.float32), mu.numpy(), atol=0.02 * max(1.0, float(mu.abs().max())))


def test_the_bundled_checkpoints_stay_under_60_mb():
    folder = __import__("conftest").REPO_ROOT / "checkpoints"
    total = sum(f.stat().st_size for f in folder.rglob("*") if f.is_file() and "__pycache__" not in f.parts)
    assert total < 60e6, f"{total / 1e6:.1f} MB"
