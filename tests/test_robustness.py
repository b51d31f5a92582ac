"""Faults a user or the machine can cause, through the app and the command line:

- names with a path in them never write outside the app's data folder;
- a diverging training stops with a message and keeps the last good checkpoint (CLI and Train page);
- NaN, inf and 1e308 in URL parameters or in the z the live decoder sends back are clamped or
  refused, on every page, never a crash;
- a dataset that is not on disk, with no network, ends in a message that says where to put the files.

SIGKILL during a save is in test_sigkill.py, bad uploads in test_uploads.py, many sessions at once
in test_load.py.
"""
from __future__ import annotations

import math
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from streamlit.testing.v1 import AppTest

from vae_core.store.checkpoints import load_checkpoint

from conftest import clean_home, file_hashes, run_until, texts

REPO = Path(__file__).resolve().parents[1]
DIGITS_2D = REPO / "checkpoints" / "digits-2d"
# three runs per page: every parameter gets NaN once, an infinity once and +-1e308 once
ABSURD_RUNS = [("nan", "nan"), ("inf", "-1e308"), ("1e308", "-inf")]


@pytest.fixture
def home(tmp_path, monkeypatch):
    return clean_home(tmp_path, monkeypatch)


def open_train_page() -> AppTest:
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=60)
    at.run()
    at.switch_page("pages/train.py").run()
    assert not at.exception, at.exception
    return at


# ---------------------------------------------------------------- names


@pytest.mark.parametrize("name", ["../escaped", "/tmp/abs-escaped", "a/../../escaped", "..", "x\\..\\..\\escaped"])
def test_a_run_name_with_a_path_is_refused_on_the_train_page(home, tmp_path, name):
    at = open_train_page()
    at.text_input(key="train_name").set_value(name)
    at.button(key="train_start").click()
    at.run()
    assert not at.exception
    assert "Not started" in texts(at.error) and "plain name" in texts(at.error)
    assert at.session_state.train_job_id is None
    assert not home.exists() or not any(home.rglob("*escaped*"))
    assert not list(tmp_path.rglob("*escaped*")) and not Path("/tmp/abs-escaped").exists()


def test_a_session_id_cannot_steer_a_path(home):
    from vae_core.store.paths import UnsafeNameError, session_runs_dir, uploads_dir

    for bad in ("../../x", "/etc", ".."):
        with pytest.raises(UnsafeNameError):
            uploads_dir(bad)
        with pytest.raises(UnsafeNameError):
            session_runs_dir(bad)


# ---------------------------------------------------------------- divergence


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "vae_core", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=300)


@pytest.fixture
def digits_npz(digits, tmp_path_factory) -> Path:
    """The digits and their split as an .npz: a CLI process loads it without importing scikit-learn."""
    path = tmp_path_factory.mktemp("data") / "digits.npz"
    np.savez(path, images=digits.train.to_uint8(), labels=digits.train.labels.numpy(),
             test_images=digits.test.to_uint8(), test_labels=digits.test.labels.numpy())
    return path


def test_the_cli_stops_a_diverging_run_and_keeps_the_last_good_checkpoint(tmp_path, digits_npz):
    out = tmp_path / "run"
    common = ["train", "--dataset", str(digits_npz), "--hidden", "32", "--latent-dim", "2", "--threads", "1",
              "--sample-size", "100", "--out", str(out)]
    # from scratch with an absurd learning rate: nothing good to keep, and nothing is written
    fresh = cli(*common, "--epochs", "3", "--lr", "10")
    assert fresh.returncode == 2, fresh.stderr
    assert "training diverged" in fresh.stderr and "No checkpoint had been saved yet" in fresh.stderr
    assert "Lower the learning rate (lr=10.0)" in fresh.stderr and "Traceback" not in fresh.stderr
    assert not out.exists() and list(tmp_path.iterdir()) == []
    # two good epochs (no optimizer state, so the resumed run really uses the new learning rate) ...
    good = cli(*common, "--epochs", "2", "--no-optimizer-state")
    assert good.returncode == 0, good.stderr
    before = file_hashes(out)
    # ... then the absurd learning rate: it diverges, and the epoch-2 checkpoint stays byte for byte
    bad = cli(*common, "--epochs", "4", "--lr", "10", "--resume")
    assert bad.returncode == 2, bad.stderr
    assert f"The last good checkpoint ({out}, epoch 2) was kept" in bad.stderr
    assert file_hashes(out) == before and load_checkpoint(out).meta["epochs"] == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]
    # and training goes on from it with a sane learning rate
    resumed = cli(*common, "--epochs", "3", "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert load_checkpoint(out).meta["epochs"] == 3


def test_the_train_page_shows_a_divergence_and_offers_the_last_good_model(home, monkeypatch):
    """A job whose weights turn to NaN in its second epoch: the page says what happened and what to do,
    and the model of epoch 1 is saved and can be loaded."""
    from services import jobs
    def poison_in_epoch_2(self, trainer, epoch, batch, n_batches, loss):
        if epoch == 1:
            with torch.no_grad():
                trainer.model.encoder.fc_mu.weight.fill_(float("nan"))
    monkeypatch.setattr(jobs._Recorder, "on_batch_end", poison_in_epoch_2)

    at = open_train_page()
    at.number_input(key="train_epochs").set_value(3)
    at.text_input(key="train_hidden").set_value("32")
    at.text_input(key="train_name").set_value("diverges")
    at.button(key="train_start").click()
    run_until(at, lambda a: len(a.error) > 0)
    shown = texts(at.error)
    assert "training diverged" in shown and "epoch 2" in shown and "Lower the learning rate" in shown, shown
    saved = home / "sessions" / at.session_state.session_uid / "runs" / "diverges"
    assert f"The last good checkpoint ({saved}, epoch 1) was kept" in shown
    ckpt = load_checkpoint(saved)
    assert ckpt.meta["epochs"] == 1 and all(torch.isfinite(v).all() for v in ckpt.model.state_dict().values())
    at.button(key="train_load").click()
    at.run()
    assert not at.exception and at.session_state.model_path == str(saved)


def test_the_train_page_shows_a_divergence_before_any_epoch_and_saves_nothing(home):
    """lr = 10 (the largest the core accepts; the page itself offers at most 0.01)."""
    from ui.training_jobs import job_registry
    from services.jobs import JobSpec

    at = open_train_page()
    job = job_registry().start(JobSpec(name="absurd-lr", dataset="digits", hidden=(32,), epochs=3, lr=10.0,
                                       sample_size=50), owner=at.session_state.session_uid)
    at.session_state["train_job_id"] = job.id
    run_until(at, lambda a: len(a.error) > 0)
    shown = texts(at.error)
    assert "training diverged" in shown and "lr=10.0" in shown and "Nothing was saved" in shown, shown
    assert not any(b.key == "train_load" for b in at.button)
    assert not (home / "sessions" / at.session_state.session_uid / "runs" / "absurd-lr").exists()


# ---------------------------------------------------------------- absurd values


def app_pages() -> list[str]:
    return re.findall(r'st\.Page\("([^"]+)"', (REPO / "app.py").read_text())


def url_parameters() -> set[str]:
    """Every query parameter the app's source reads by name."""
    names = set()
    for f in [REPO / "app.py", *(REPO / "pages").glob("*.py"), *(REPO / "ui").glob("*.py")]:
        src = f.read_text()
        names |= set(re.findall(r'fresh\("(\w+)"\)', src))
        names |= set(re.findall(r'query_params(?:\.get\(|\[)"(\w+)"', src))
    return names


def widget_keys(at: AppTest) -> set[str]:
    keys = set()
    for kind in ("slider", "number_input", "select_slider", "selectbox", "radio", "toggle", "checkbox",
                 "text_input"):
        keys |= {w.key for w in at.get(kind) if getattr(w, "key", None)}
    return keys


def numbers_on_page(at: AppTest) -> list[float]:
    values = []
    for kind in ("slider", "number_input"):
        for w in at.get(kind):
            v = w.value
            values += [float(x) for x in (v if isinstance(v, (tuple, list)) else [v]) if isinstance(x, (int, float))]
    return values


def open_page(page: str, query: dict[str, str] | None = None) -> AppTest:
    """A new session that opens ``page`` first, with ``query`` in its URL."""
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=60)
    at.query_params.update(query or {})
    at.switch_page(page)
    at.run()
    return at


@pytest.mark.parametrize("page", app_pages())
def test_nan_inf_and_1e308_in_every_url_parameter_never_break_a_page(home, page):
    plain = open_page(page)
    assert not plain.exception, plain.exception
    params = sorted(url_parameters() | widget_keys(plain) | widget_keys(plain.sidebar) | {"model"})
    for even, odd in ABSURD_RUNS:
        query = {p: even if i % 2 == 0 else odd for i, p in enumerate(params)}
        at = open_page(page, query)
        assert not at.exception, (page, query, at.exception)
        assert at.main.title, f"{page} drew nothing with {query}"
        numbers = numbers_on_page(at)
        assert all(math.isfinite(v) and abs(v) < 1e300 for v in numbers), (page, query, numbers)


def test_the_z_sent_back_by_the_live_decoder_is_clamped(home):
    """The browser component returns z; whatever it holds (NaN, 1e308, text, the wrong length), the page
    draws a finite z within the sliders' range."""
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=60)
    at.session_state["model_path"] = str(DIGITS_2D)
    at.run()
    at.switch_page("pages/sliders.py").run()
    assert not at.exception
    cases = {(float("nan"), 1e308): (0.0, 3.0), (-1e308, float("-inf")): (-3.0, -3.0),
             ("abc", None): (0.0, 0.0), (1.0, 2.0, 3.0): None, "zz": (0.0, 0.0), (0.5, -0.25): (0.5, -0.25)}
    for sent, want in cases.items():
        before = (at.session_state["sliders_z1"], at.session_state["sliders_z2"])
        version = at.session_state.get("sliders_version", 0)
        at.session_state["sliders_live_decoder"] = {
            "z": {"values": list(sent) if not isinstance(sent, str) else sent, "version": version}}
        at.session_state["model_path"] = str(DIGITS_2D)
        at.run()
        assert not at.exception, (sent, at.exception)
        got = (at.session_state["sliders_z1"], at.session_state["sliders_z2"])
        assert got == (want if want is not None else before), (sent, got)
        saved = at.session_state["sliders_z_now"]["z"]  # what Save and Download write
        assert np.all(np.isfinite(saved)) and tuple(saved) == pytest.approx(got)
    # values the browser sent for an older version of z (before "use its mu", a link, a scene) are not taken
    at.session_state["sliders_live_decoder"] = {"z": {"values": [2.0, 2.0], "version": -1}}
    at.run()
    assert (at.session_state["sliders_z1"], at.session_state["sliders_z2"]) == (0.5, -0.25)


# ---------------------------------------------------------------- offline


def test_a_dataset_that_is_not_on_disk_with_no_network_says_where_to_put_the_files(home, tmp_path, monkeypatch):
    from vae_core.data import download
    from vae_core.data.datasets import cache_dir

    import socket
    with socket.socket() as s:  # a port on 127.0.0.1 that nothing listens on: every download fails at once
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}/"
    monkeypatch.setitem(download.MIRRORS, "kmnist", [dead])
    at = open_train_page()
    at.selectbox(key="train_dataset").set_value("kmnist").run()
    where = str(cache_dir("kmnist"))
    assert f"Offline, put its four IDX files in {where}/" in texts(at.caption)  # said before anything starts
    assert at.checkbox(key="train_download").value  # downloading allowed, but there is no network
    at.text_input(key="train_hidden").set_value("32")
    at.text_input(key="train_name").set_value("offline")
    at.button(key="train_start").click()
    run_until(at, lambda a: len(a.error) > 0)
    shown = texts(at.error)
    assert "Could not find the kmnist files" in shown and "Downloading failed" in shown, shown
    assert f"Put the four files in {where}/" in shown and "VAE_DATA_DIR" in shown
    assert "train-images-idx3-ubyte.gz" in shown
    assert not (home / "sessions" / at.session_state.session_uid / "runs" / "offline").exists()
