"""Checkpoint folders: exact round trips, and every kind of damage refused with a clear CheckpointError.

Nothing is mocked: the checkpoints are real folders written by the Trainer or
save_checkpoint, and the damage is done to the real files.
"""
from __future__ import annotations

import json
import os
import pickle
import shutil

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

from vae_core.store.checkpoints import (
    CONFIG_FILE,
    HISTORY_FILE,
    META_FILE,
    OPTIMIZER_FILE,
    SAMPLE_FILE,
    WEIGHTS_FILE,
    CheckpointError,
    Sample,
    file_sha256,
    is_checkpoint,
    list_checkpoints,
    load_checkpoint,
    save_checkpoint,
)
from vae_core.model.torch_model import VAE

from conftest import file_hashes, tiny_model_config


def _edit_json(path, fn):
    data = json.loads(path.read_text())
    fn(data)
    path.write_text(json.dumps(data))


def _drop_hashes(folder):
    _edit_json(folder / META_FILE, lambda m: m.pop("sha256", None))


def _rehash(folder, name):
    """Record the current SHA-256 of ``name`` in meta.json, so only the loader's own checks stand in the way."""
    _edit_json(folder / META_FILE, lambda m: m["sha256"].__setitem__(name, file_sha256(folder / name)))


# ---------------------------------------------------------------- round trips


def _assert_same_state(a: torch.nn.Module, b: torch.nn.Module):
    sa, sb = a.state_dict(), b.state_dict()
    assert list(sa) == list(sb)
    for k in sa:
        assert sa[k].dtype == sb[k].dtype, k
        assert torch.equal(sa[k], sb[k]), k


def test_round_trip_of_a_trained_checkpoint(trained, digits):
    from vae_core.training.trainer import Trainer

    ckpt = load_checkpoint(trained.path, with_optimizer=True)
    assert ckpt.config == trained.model_cfg
    assert ckpt.name == "digits-vae"
    assert not ckpt.model.training
    assert ckpt.meta["epochs"] == len(trained.history)
    assert ckpt.meta["dataset"] == "digits"
    assert ckpt.meta["command"] == "pytest fixture"
    assert ckpt.meta["history"][-1]["test_neg_elbo"] == trained.history[-1].test_neg_elbo
    assert set(ckpt.meta["sha256"]) == {CONFIG_FILE, WEIGHTS_FILE, SAMPLE_FILE, OPTIMIZER_FILE, HISTORY_FILE}
    assert ckpt.class_names == [str(d) for d in range(10)]
    assert ckpt.sample is not None and ckpt.sample.images.shape == (50, 8, 8)
    assert ckpt.sample.images.dtype == np.uint8 and ckpt.sample.labels.dtype == np.int64
    assert ckpt.optimizer_state is not None

    # save what we loaded to a new folder and load it again: everything must be identical
    out = trained.path.parent / "copy-of-digits-vae"
    opt = torch.optim.Adam(ckpt.model.parameters(), lr=1e-3)
    opt.load_state_dict(ckpt.optimizer_state)
    save_checkpoint(out, ckpt.model, {k: v for k, v in ckpt.meta.items() if k != "sha256"},
                    sample=ckpt.sample, optimizer=opt)
    again = load_checkpoint(out, with_optimizer=True)
    _assert_same_state(ckpt.model, again.model)
    assert again.config == ckpt.config
    np.testing.assert_array_equal(again.sample.images, ckpt.sample.images)
    np.testing.assert_array_equal(again.sample.labels, ckpt.sample.labels)
    assert again.sample.class_names == ckpt.sample.class_names
    for idx, per_param in ckpt.optimizer_state["state"].items():
        for key, value in per_param.items():
            assert torch.equal(again.optimizer_state["state"][idx][key], value), (idx, key)
    # the weights equal the live trainer's after the same training
    tr = Trainer(trained.model_cfg, trained.train_cfg, digits)
    tr.fit()
    _assert_same_state(tr.model, ckpt.model)


@pytest.mark.parametrize("kw", [
    dict(arch="conv", hidden=(4, 8), likelihood="gaussian", gaussian_variance="learned"),
    dict(kind="cvae", latent_dim=3),
    dict(kind="ae"),
])
def test_round_trip_of_every_variant(tmp_path, kw):
    torch.manual_seed(0)
    model = VAE(tiny_model_config(**kw))
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p))  # not the default init: values must really be restored
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    y = torch.arange(4) if model.cfg.variant.conditional else None
    model(torch.rand(4, 1, 8, 8), y).loss().backward()
    opt.step()
    images = np.random.default_rng(0).integers(0, 256, size=(6, 8, 8), dtype=np.uint8)
    sample = Sample(images=images, labels=np.arange(6, dtype=np.int64), class_names=list("abcdef"))
    meta = {"dataset": "unit", "epochs": 0, "numbers": (1, 2), "np": np.float32(0.5)}
    path = save_checkpoint(tmp_path / "m", model, meta, sample=sample, optimizer=opt)
    ckpt = load_checkpoint(path, with_optimizer=True)
    _assert_same_state(model, ckpt.model)
    assert ckpt.config == model.cfg
    np.testing.assert_array_equal(ckpt.sample.images, images)
    np.testing.assert_array_equal(ckpt.sample.labels, sample.labels)
    assert ckpt.sample.class_names == list("abcdef")
    assert ckpt.sample.as_tensor().shape == (6, 1, 8, 8)
    torch.testing.assert_close(ckpt.sample.as_tensor()[:, 0] * 255, torch.from_numpy(images).float())
    assert ckpt.meta["numbers"] == [1, 2] and ckpt.meta["np"] == 0.5
    # the restored optimizer state is usable by a fresh Adam, and equal to the original
    opt2 = torch.optim.Adam(ckpt.model.parameters(), lr=1e-3)
    opt2.load_state_dict(ckpt.optimizer_state)
    want, got = opt.state_dict()["state"], opt2.state_dict()["state"]
    assert sorted(want) == sorted(got) and len(want) == len(list(model.parameters()))
    for idx in want:
        assert sorted(want[idx]) == sorted(got[idx])
        for key in want[idx]:
            assert torch.equal(torch.as_tensor(want[idx][key]), torch.as_tensor(got[idx][key])), (idx, key)


def test_rgb_sample_round_trip(tmp_path):
    model = VAE(tiny_model_config(image_shape=(3, 8, 8)))
    images = np.random.default_rng(1).integers(0, 256, size=(4, 8, 8, 3), dtype=np.uint8)
    sample = Sample(images=images, labels=np.zeros(4, np.int64), class_names=["x"])
    ckpt = load_checkpoint(save_checkpoint(tmp_path / "rgb", model, {}, sample=sample))
    np.testing.assert_array_equal(ckpt.sample.images, images)
    t = ckpt.sample.as_tensor()
    assert t.shape == (4, 3, 8, 8)
    torch.testing.assert_close(t[2, 1] * 255, torch.from_numpy(images[2, :, :, 1]).float())


def test_saving_again_replaces_the_folder_and_leaves_no_debris(tmp_path):
    torch.manual_seed(0)
    model = VAE(tiny_model_config())
    save_checkpoint(tmp_path / "m", model, {"epochs": 1}, sample=None)
    with torch.no_grad():
        model.decoder.net[0].weight.fill_(0.25)
    save_checkpoint(tmp_path / "m", model, {"epochs": 2})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m"]
    ckpt = load_checkpoint(tmp_path / "m")
    assert ckpt.meta["epochs"] == 2
    assert (ckpt.model.decoder.net[0].weight == 0.25).all()
    assert ckpt.sample is None and not (tmp_path / "m" / SAMPLE_FILE).exists()


# ---------------------------------------------------------------- damage


def test_truncated_weights_are_refused_naming_the_file(ckpt_copy):
    f = ckpt_copy / WEIGHTS_FILE
    data = f.read_bytes()
    f.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError) as e:
        load_checkpoint(ckpt_copy)
    assert WEIGHTS_FILE in str(e.value)


def test_truncated_weights_without_recorded_hashes_are_refused_by_the_reader(ckpt_copy):
    f = ckpt_copy / WEIGHTS_FILE
    data = f.read_bytes()
    f.write_bytes(data[: len(data) // 2])
    _drop_hashes(ckpt_copy)
    with pytest.raises(CheckpointError) as e:
        load_checkpoint(ckpt_copy)
    assert WEIGHTS_FILE in str(e.value) and "truncated" in str(e.value)


def test_tampered_weights_fail_the_sha256_check(ckpt_copy):
    f = ckpt_copy / WEIGHTS_FILE
    tensors = load_file(str(f))
    tensors["decoder.net.0.bias"] = tensors["decoder.net.0.bias"] + 1.0  # same shape, same dtype
    save_file(tensors, str(f))
    load_file(str(f))  # still a perfectly valid safetensors file
    with pytest.raises(CheckpointError) as e:
        load_checkpoint(ckpt_copy)
    assert "SHA-256" in str(e.value) and WEIGHTS_FILE in str(e.value)


def test_one_flipped_byte_fails_the_sha256_check(ckpt_copy):
    f = ckpt_copy / WEIGHTS_FILE
    data = bytearray(f.read_bytes())
    data[-3] ^= 0x01  # inside the last tensor's data: the header stays valid
    f.write_bytes(bytes(data))
    assert len(load_file(str(f))) > 0
    with pytest.raises(CheckpointError, match="SHA-256"):
        load_checkpoint(ckpt_copy)


def test_tampered_sample_and_config_fail_the_sha256_check(ckpt_copy, tmp_path):
    for name in (SAMPLE_FILE, CONFIG_FILE):
        folder = tmp_path / f"for-{name}"
        shutil.copytree(ckpt_copy, folder)
        with open(folder / name, "ab") as fh:
            fh.write(b" ")
        with pytest.raises(CheckpointError) as e:
            load_checkpoint(folder)
        assert "SHA-256" in str(e.value) and name in str(e.value)


def test_wrong_shape_tensor_is_named_with_both_shapes(ckpt_copy):
    _drop_hashes(ckpt_copy)
    f = ckpt_copy / WEIGHTS_FILE
    tensors = load_file(str(f))
    assert tuple(tensors["encoder.fc_mu.weight"].shape) == (2, 64)
    tensors["encoder.fc_mu.weight"] = torch.zeros(3, 64)
    save_file(tensors, str(f))
    with pytest.raises(CheckpointError) as e:
        load_checkpoint(ckpt_copy)
    msg = str(e.value)
    assert "encoder.fc_mu.weight" in msg and "(3, 64)" in msg and "(2, 64)" in msg


def test_missing_and_extra_tensors_are_named(ckpt_copy):
    _drop_hashes(ckpt_copy)
    f = ckpt_copy / WEIGHTS_FILE
    tensors = load_file(str(f))
    del tensors["decoder.net.2.bias"]
    tensors["surprise"] = torch.zeros(1)
    save_file(tensors, str(f))
    with pytest.raises(CheckpointError) as e:
        load_checkpoint(ckpt_copy)
    assert "decoder.net.2.bias" in str(e.value) and "surprise" in str(e.value)


def test_nan_weights_are_refused(ckpt_copy):
    _drop_hashes(ckpt_copy)
    f = ckpt_copy / WEIGHTS_FILE
    tensors = load_file(str(f))
    tensors["encoder.fc_logvar.bias"][0] = float("nan")
    save_file(tensors, str(f))
    with pytest.raises(CheckpointError, match="NaN"):
        load_checkpoint(ckpt_copy)


def test_missing_config_is_named(ckpt_copy):
    (ckpt_copy / CONFIG_FILE).unlink()
    with pytest.raises(CheckpointError) as e:
        load_checkpoint(ckpt_copy)
    assert CONFIG_FILE in str(e.value) and "missing" in str(e.value)


def test_missing_meta_and_missing_weights_are_named(ckpt_copy, tmp_path):
    other = tmp_path / "other"
    shutil.copytree(ckpt_copy, other)
    (ckpt_copy / META_FILE).unlink()
    with pytest.raises(CheckpointError, match=META_FILE):
        load_checkpoint(ckpt_copy)
    (other / WEIGHTS_FILE).unlink()
    with pytest.raises(CheckpointError, match=WEIGHTS_FILE):
        load_checkpoint(other)


def test_not_a_folder(tmp_path):
    with pytest.raises(CheckpointError, match="no checkpoint folder"):
        load_checkpoint(tmp_path / "nothing-here")
    (tmp_path / "file").write_text("x")
    with pytest.raises(CheckpointError):
        load_checkpoint(tmp_path / "file")


def test_config_with_unknown_arch_is_refused(ckpt_copy):
    _edit_json(ckpt_copy / CONFIG_FILE, lambda c: c["model"].__setitem__("arch", "transformer"))
    _rehash(ckpt_copy, CONFIG_FILE)
    with pytest.raises(CheckpointError) as e:
        load_checkpoint(ckpt_copy)
    assert "arch" in str(e.value) and CONFIG_FILE in str(e.value)


def test_config_with_unknown_key_or_format_is_refused(ckpt_copy, tmp_path):
    other = tmp_path / "other"
    shutil.copytree(ckpt_copy, other)
    _edit_json(ckpt_copy / CONFIG_FILE, lambda c: c["model"].__setitem__("attention_heads", 8))
    _rehash(ckpt_copy, CONFIG_FILE)
    with pytest.raises(CheckpointError, match="attention_heads"):
        load_checkpoint(ckpt_copy)
    _edit_json(other / CONFIG_FILE, lambda c: c.__setitem__("format", "someone-else/v9"))
    _rehash(other, CONFIG_FILE)
    with pytest.raises(CheckpointError, match="format"):
        load_checkpoint(other)


def test_config_that_is_not_json_is_refused(ckpt_copy):
    (ckpt_copy / CONFIG_FILE).write_text("{not json")
    with pytest.raises(CheckpointError, match="JSON"):
        load_checkpoint(ckpt_copy)


@pytest.mark.parametrize("bad", [
    {"latent_dim": 2.5},
    {"latent_dim": "2"},
    {"image_shape": "abc"},
    {"hidden": None},
])
def test_config_with_invalid_values_is_refused_as_checkpoint_error(ckpt_copy, bad):
    """A damaged or hand-edited config.json must give a CheckpointError naming the file,
    not a TypeError/ValueError from deep inside torch."""
    _edit_json(ckpt_copy / CONFIG_FILE, lambda c: c["model"].update(bad))
    _rehash(ckpt_copy, CONFIG_FILE)
    with pytest.raises(CheckpointError) as e:
        load_checkpoint(ckpt_copy)
    assert CONFIG_FILE in str(e.value)


# ---------------------------------------------------------------- pickles are never run


class _Payload:
    """Unpickling this creates the marker file: proof that a pickle was executed."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def _assert_payload_is_live(tmp_path):
    """The payload really does create a file when unpickled (so the tests below mean something)."""
    control = tmp_path / "control-marker"
    pickle.loads(pickle.dumps(_Payload(control))).close()
    assert control.exists()


@pytest.mark.parametrize("writer", ["pickle", "torch.save"])
@pytest.mark.parametrize("hash_matches", [False, True])
def test_pickled_weights_are_never_unpickled(ckpt_copy, tmp_path, writer, hash_matches):
    marker = tmp_path / "PWNED-weights"
    f = ckpt_copy / WEIGHTS_FILE
    if writer == "pickle":
        f.write_bytes(pickle.dumps({"encoder.fc_mu.weight": _Payload(marker)}))
    else:
        torch.save({"encoder.fc_mu.weight": _Payload(marker)}, f)
    _assert_payload_is_live(tmp_path)
    if hash_matches:
        _rehash(ckpt_copy, WEIGHTS_FILE)
    with pytest.raises(CheckpointError) as e:
        load_checkpoint(ckpt_copy)
    assert WEIGHTS_FILE in str(e.value)
    assert not marker.exists()


@pytest.mark.parametrize("how", ["npy-object-array", "npz-object-array", "raw-pickle"])
@pytest.mark.parametrize("hash_matches", [False, True])
def test_pickled_sample_is_never_unpickled(ckpt_copy, tmp_path, how, hash_matches):
    marker = tmp_path / "PWNED-sample"
    f = ckpt_copy / SAMPLE_FILE
    evil = np.empty(1, dtype=object)
    evil[0] = _Payload(marker)
    if how == "npy-object-array":
        with open(f, "wb") as fh:
            np.save(fh, evil, allow_pickle=True)
    elif how == "npz-object-array":
        with open(f, "wb") as fh:
            np.savez(fh, images=evil, labels=np.zeros(1, np.int64), class_names=np.array(["0"]))
    else:
        f.write_bytes(pickle.dumps(evil))
    if hash_matches:
        _rehash(ckpt_copy, SAMPLE_FILE)
    with pytest.raises(CheckpointError) as e:
        load_checkpoint(ckpt_copy)
    assert SAMPLE_FILE in str(e.value)
    assert not marker.exists()
    # the control: numpy with allow_pickle=True would have run it
    np.load(f, allow_pickle=True) if how != "npz-object-array" else np.load(f, allow_pickle=True)["images"]
    assert marker.exists()


@pytest.mark.parametrize("damage", ["plain-npy-array", "truncated"])
def test_unreadable_sample_is_refused_by_the_reader(ckpt_copy, damage):
    """With no SHA-256 recorded (meta.json may lack it), a bad sample.npz must still be a CheckpointError,
    not "TypeError: 'numpy.ndarray' object does not support the context manager protocol" (a .npy file)
    or "zipfile.BadZipFile: File is not a zip file" (a cut archive)."""
    f = ckpt_copy / SAMPLE_FILE
    if damage == "plain-npy-array":
        with open(f, "wb") as fh:
            np.save(fh, np.zeros((3, 8, 8), np.uint8))
    else:
        data = f.read_bytes()
        f.write_bytes(data[: len(data) // 2])
    _drop_hashes(ckpt_copy)
    with pytest.raises(CheckpointError, match=SAMPLE_FILE):
        load_checkpoint(ckpt_copy)


def test_sample_with_wrong_dtype_or_missing_key_is_refused(ckpt_copy, tmp_path):
    other = tmp_path / "other"
    shutil.copytree(ckpt_copy, other)
    np.savez(ckpt_copy / SAMPLE_FILE, images=np.zeros((2, 8, 8), np.float32), labels=np.zeros(2, np.int64),
             class_names=np.array(["a"]))
    _rehash(ckpt_copy, SAMPLE_FILE)
    with pytest.raises(CheckpointError, match="uint8"):
        load_checkpoint(ckpt_copy)
    np.savez(other / SAMPLE_FILE, images=np.zeros((2, 8, 8), np.uint8))
    _rehash(other, SAMPLE_FILE)
    with pytest.raises(CheckpointError, match=SAMPLE_FILE):
        load_checkpoint(other)


# ---------------------------------------------------------------- atomic swap and listing


def test_interrupted_swap_is_recovered_on_load(ckpt_copy, trained):
    before = file_hashes(ckpt_copy)
    stale = ckpt_copy.with_name(f".{ckpt_copy.name}.old-abcd1234")
    os.replace(ckpt_copy, stale)  # a save killed between its two renames leaves exactly this
    assert not ckpt_copy.exists()
    ckpt = load_checkpoint(ckpt_copy)
    assert ckpt.meta["epochs"] == len(trained.history)
    assert ckpt_copy.is_dir() and not stale.exists()
    assert file_hashes(ckpt_copy) == before
    _assert_same_state(ckpt.model, load_checkpoint(trained.path).model)


def test_interrupted_swap_is_recovered_on_save_and_stale_copies_removed(ckpt_copy):
    stale = ckpt_copy.with_name(f".{ckpt_copy.name}.old-abcd1234")
    os.replace(ckpt_copy, stale)
    model = VAE(tiny_model_config())
    save_checkpoint(ckpt_copy, model, {"epochs": 99})
    assert load_checkpoint(ckpt_copy).meta["epochs"] == 99
    assert sorted(p.name for p in ckpt_copy.parent.iterdir() if p.name.startswith(".")) == []


def test_list_checkpoints_ignores_hidden_and_half_written_folders(trained, tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    shutil.copytree(trained.path, root / "b-good")
    shutil.copytree(trained.path, root / "a-good")
    shutil.copytree(trained.path, root / ".hidden")
    shutil.copytree(trained.path, root / ".a-good.old-abcd1234")
    shutil.copytree(trained.path, root / ".b-good.tmp-12345678")
    half = root / "half-written"
    shutil.copytree(trained.path, half)
    (half / WEIGHTS_FILE).unlink()
    (root / "empty").mkdir()
    (root / "loose-file.txt").write_text("x")
    assert list_checkpoints(root) == [root / "a-good", root / "b-good"]
    assert is_checkpoint(root / "a-good") and not is_checkpoint(half)
    assert list_checkpoints(tmp_path / "does-not-exist") == []
