"""Background training jobs: real threads training real models on the 8x8 digits."""
from __future__ import annotations

import time
import zipfile

import numpy as np
import pytest

from vae_core.store.checkpoints import is_checkpoint, load_checkpoint
from vae_core.model.config import ConfigError
from services.jobs import DONE, FAILED, STOPPED, JobRegistry, JobSpec, TooManyTrainings
from vae_core.store.paths import UnsafeNameError

from conftest import file_hashes

TIMEOUT = 300  # seconds; a tiny job takes one to three seconds even on a busy machine


@pytest.fixture
def home(tmp_path, monkeypatch):
    home = tmp_path / "home"
    monkeypatch.setenv("VAE_EXPLORER_HOME", str(home))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # no dataset files cached there
    monkeypatch.delenv("VAE_DATA_DIR", raising=False)
    monkeypatch.delenv("VAE_MAX_TRAININGS", raising=False)
    return home


def tiny(name: str = "tiny", **overrides) -> JobSpec:
    kwargs = dict(name=name, dataset="digits", hidden=(32,), latent_dim=2, epochs=2, batch_size=256, lr=3e-3,
                  sample_size=40, n_preview=16)
    kwargs.update(overrides)
    return JobSpec(**kwargs)


def finish(job):
    assert job.join(TIMEOUT), "the training thread did not end"
    return job.snapshot()


def wait_for_epoch(job, epoch: int):
    deadline = time.time() + TIMEOUT
    while job.snapshot().epoch < epoch:
        assert job.active, job.snapshot().message
        assert time.time() < deadline, "no epoch finished in time"
        time.sleep(0.05)


def test_a_job_trains_in_the_background_and_publishes_a_new_checkpoint(home):
    job = JobRegistry().start(tiny("lecture"))
    seen, frames = [], []
    while job.active:  # snapshots taken while the thread writes are always consistent
        s = job.snapshot()
        seen.append(s.epoch)
        assert len(s.history) == s.epoch == len(s.recons) == len(s.samples)
        if s.latent is not None:
            frames.append(s.latent.index)
        time.sleep(0.01)
    s = finish(job)
    assert seen == sorted(seen)
    assert frames == sorted(frames)  # the map forming: the training's snapshots, in order
    assert s.state == DONE and s.published and s.progress == 1.0, s.message
    assert [h.epoch for h in s.history] == [1, 2]
    assert all(np.isfinite(h.test_neg_elbo) for h in s.history)
    assert s.originals.shape == (16, 8, 8) and s.originals.dtype == np.uint8
    assert [a.shape for a in s.samples] == [(16, 8, 8)] * 2 and s.samples[0].dtype == np.uint8
    assert not np.array_equal(s.samples[0], s.samples[1]), "the decoder did not change between epochs"
    assert "digits" in s.data_info and "1,437 training" in s.data_info

    assert s.out_dir == home / "runs" / "lecture"
    assert sorted(p.name for p in (home / "runs").iterdir()) == ["lecture"]  # no hidden leftovers
    ckpt = load_checkpoint(s.out_dir)
    assert ckpt.meta["name"] == "lecture" and ckpt.meta["epochs"] == 2
    assert ckpt.meta["metrics"]["test_neg_elbo"] == pytest.approx(s.history[-1].test_neg_elbo)
    assert ckpt.config.hidden == (32,) and ckpt.config.latent_dim == 2
    assert "--out" in ckpt.meta["command"] and str(s.out_dir) in ckpt.meta["command"]
    # the Train page's map is the last snapshot of the history the checkpoint keeps
    history = ckpt.history
    assert s.latent is not None and s.latent.index == len(history) - 1 and s.latent.step == history.step[-1]
    np.testing.assert_array_equal(s.latent.mu, history.mu[-1].astype(np.float32))
    np.testing.assert_array_equal(s.latent.labels, ckpt.sample.labels[:len(s.latent.labels)])
    assert s.latent.class_names == tuple(ckpt.class_names)


def test_the_same_name_twice_never_overwrites_the_first_model(home):
    reg = JobRegistry()
    first = finish(reg.start(tiny("same")))
    before = file_hashes(first.out_dir)
    second = finish(reg.start(tiny("same", seed=1)))
    assert first.out_dir.name == "same" and second.out_dir.name == "same-2"
    assert second.state == DONE and is_checkpoint(second.out_dir)
    assert file_hashes(first.out_dir) == before


def test_stop_ends_a_job_early_and_keeps_the_finished_epochs(home):
    job = JobRegistry().start(tiny("long", epochs=400))
    wait_for_epoch(job, 1)
    job.stop()
    s = finish(job)
    assert s.state == STOPPED, s.message
    assert 1 <= s.epoch < 400 and "Stopped after" in s.message
    assert load_checkpoint(s.out_dir).meta["epochs"] == s.epoch


def test_the_cap_refuses_a_third_concurrent_training(home, monkeypatch):
    monkeypatch.setenv("VAE_MAX_TRAININGS", "2")
    reg = JobRegistry()
    a, b = reg.start(tiny("a", epochs=400)), reg.start(tiny("b", epochs=400))
    try:
        with pytest.raises(TooManyTrainings, match="2 trainings are already running"):
            reg.start(tiny("c"))
        assert not (home / "runs" / "c").exists()
    finally:
        a.stop(), b.stop()
        finish(a), finish(b)
    assert finish(reg.start(tiny("c"))).state == DONE  # a freed slot can be used again


def test_a_dataset_that_is_not_on_disk_ends_the_job_with_what_to_do(home):
    s = finish(JobRegistry().start(tiny("kmnist", dataset="kmnist", download=False)))
    assert s.state == FAILED and not s.published
    assert "Could not find the kmnist files" in s.message and "Downloading is turned off" in s.message
    assert not (home / "runs" / "kmnist").exists()


def test_a_bogus_npz_ends_the_job_with_a_clear_error(home, tmp_path):
    bad = tmp_path / "photos.npz"
    bad.write_bytes(b"these bytes are not a zip archive")
    s = finish(JobRegistry().start(tiny("bad", dataset=str(bad))))
    assert s.state == FAILED and "not a .npz archive" in s.message


def test_an_uploaded_npz_trains(home, tmp_path, digits):
    path = tmp_path / "mine.npz"
    np.savez(path, images=digits.train.to_uint8()[:300], labels=digits.train.labels.numpy()[:300])
    assert zipfile.is_zipfile(path)
    s = finish(JobRegistry().start(tiny("mine", dataset=str(path), epochs=1)))
    assert s.state == DONE, s.message
    assert load_checkpoint(s.out_dir).meta["dataset"] == "mine"


def test_settings_that_do_not_fit_the_images_fail_in_the_job(home):
    # four stride-2 blocks need sides divisible by 16; the digits are 8x8
    s = finish(JobRegistry().start(tiny("conv", arch="conv", hidden=(4, 4, 4, 4))))
    assert s.state == FAILED and "divisible by 16" in s.message and "8x8" in s.message


def test_an_autoencoder_job_records_reconstructions_but_no_prior_samples(home):
    s = finish(JobRegistry().start(tiny("ae", kind="ae", beta=0.0, epochs=1)))
    assert s.state == DONE and len(s.recons) == 1 and s.samples == ()
    assert load_checkpoint(s.out_dir).config.kind == "ae"


@pytest.mark.parametrize("name", ["../evil", "/abs/evil", "..", "a/../../evil", ".hidden", "   "])
def test_a_name_with_a_path_is_refused_and_nothing_is_written(home, tmp_path, name):
    with pytest.raises(UnsafeNameError):
        JobRegistry().start(tiny(name))
    assert not home.exists()
    assert not (tmp_path / "evil").exists() and not (home.parent / "evil").exists()


def test_out_of_range_settings_are_refused_before_anything_starts(home):
    with pytest.raises(ConfigError, match="latent_dim=0"):
        JobRegistry().start(tiny("zero", latent_dim=0))
    with pytest.raises(ConfigError, match="kind='both' is not one of"):
        JobRegistry().start(tiny("both", kind="both"))
    assert not home.exists()
