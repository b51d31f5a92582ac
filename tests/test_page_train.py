"""The Train page, run through app.py with AppTest: real background trainings on the 8x8 digits."""
from __future__ import annotations

import io
import json
import time
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from vae_core.store.checkpoints import load_checkpoint

REPO_ROOT = Path(__file__).resolve().parents[1]
DEADLINE = 300  # seconds for a tiny training to end, even on a busy machine


@pytest.fixture
def home(tmp_path, monkeypatch):
    home = tmp_path / "home"
    monkeypatch.setenv("VAE_EXPLORER_HOME", str(home))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("VAE_DATA_DIR", raising=False)
    monkeypatch.delenv("VAE_MAX_TRAININGS", raising=False)
    return home


def open_train_page() -> AppTest:
    at = AppTest.from_file(str(REPO_ROOT / "app.py"), default_timeout=60)
    at.run()
    at.switch_page("pages/train.py")
    at.run()
    assert not at.exception
    assert [t.value for t in at.main.title] == ["Train a VAE"]
    return at


def tiny_settings(at: AppTest, name: str, epochs: int = 2) -> None:
    at.number_input(key="train_epochs").set_value(epochs)
    at.text_input(key="train_hidden").set_value("32")
    at.text_input(key="train_name").set_value(name)


def run_until(at: AppTest, done) -> AppTest:
    deadline = time.time() + DEADLINE
    while True:
        at.run()
        assert not at.exception, at.exception
        if done(at):
            return at
        assert time.time() < deadline, "the page did not show the end of the training in time"
        time.sleep(0.25)


def runs(home: Path, at: AppTest) -> Path:
    """Where this browser session's trainings are saved (only this session lists them)."""
    return home / "sessions" / at.session_state.session_uid / "runs"


def plotly_array(v) -> np.ndarray:
    """A trace's values as Plotly's JSON holds them: a list, or a typed array ({dtype, bdata: base64})."""
    import base64

    if isinstance(v, dict) and "bdata" in v:
        return np.frombuffer(base64.b64decode(v["bdata"]), dtype=v["dtype"]).astype(float)
    return np.asarray(v, float)


def messages(elements) -> str:
    return " ".join(e.value for e in elements)


def stop_all() -> None:
    from ui.training_jobs import job_registry  # the registry the page used (st.cache_resource)

    for job in job_registry().active():
        job.stop()
        job.join(DEADLINE)


def test_start_watch_and_load_a_trained_model(home):
    at = open_train_page()
    assert at.button(key="train_start").label == "Start training"
    tiny_settings(at, "lecture-demo")
    at.button(key="train_start").click()
    at.run()
    assert not at.exception
    assert [s.value for s in at.main.subheader] == ["Run: lecture-demo"]

    run_until(at, lambda a: "Finished" in messages(a.success))
    assert "lecture-demo" in messages(at.success)
    charts = at.get("plotly_chart")
    assert [c.key.split("_")[1] for c in charts] == ["curves", "map"]  # the loss curves, the latent map formed
    from ui.training_jobs import job_registry

    job = job_registry().get(at.session_state.train_job_id)
    spec = json.loads(charts[1].proto.spec)
    shown = np.concatenate([plotly_array(t["x"]) for t in spec["data"] if t.get("mode") == "markers"])
    final = job.snapshot().latent
    assert final is not None and len(shown) == len(final.mu)  # every image the history follows, at its last mu
    np.testing.assert_allclose(np.sort(shown), np.sort(final.mu[:, 0]), atol=1e-3)
    assert len(at.get("image")) == 3  # test images, reconstructions, prior samples
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Epoch"] == "2 / 2"
    assert float(metrics["Test -ELBO"]) == pytest.approx(float(metrics["Reconstruction"]) + float(metrics["KL"]),
                                                         abs=0.02)
    saved = str(runs(home, at) / "lecture-demo")
    picker = next(s for s in at.sidebar.selectbox if s.label == "Loaded model")
    assert saved in picker.options or "lecture-demo (trained)" in picker.options

    last = [img.proto.imgs[0].url for img in at.get("image")]
    at.slider(key=next(s.key for s in at.slider if s.key.startswith("train_epoch_"))).set_value(1).run()
    first = [img.proto.imgs[0].url for img in at.get("image")]
    assert first[0] == last[0]  # the same test images
    assert first[1] != last[1] and first[2] != last[2]  # their reconstructions and the samples after epoch 1
    assert "after epoch 1" in at.get("image")[2].proto.imgs[0].caption

    at.button(key="train_load").click()
    at.run()
    assert not at.exception
    assert at.session_state.model_path == saved
    assert next(s for s in at.sidebar.selectbox if s.label == "Loaded model").value == saved


def test_a_name_with_a_path_is_refused_with_a_message(home):
    at = open_train_page()
    tiny_settings(at, "../x")
    at.button(key="train_start").click()
    at.run()
    assert not at.exception
    assert "contains a path" in messages(at.error)
    assert at.session_state.train_job_id is None
    assert not (home / "runs").exists() and not (home / "sessions").exists()


def test_a_missing_dataset_ends_with_an_error_not_a_traceback(home):
    at = open_train_page()
    at.selectbox(key="train_dataset").set_value("kmnist")
    at.checkbox(key="train_download").uncheck()
    tiny_settings(at, "kmnist-run")
    at.button(key="train_start").click()
    run_until(at, lambda a: len(a.error) > 0)
    assert "Could not find the kmnist files" in messages(at.error)
    assert not (runs(home, at) / "kmnist-run").exists()


def test_stop_button_and_the_per_server_cap(home, monkeypatch):
    monkeypatch.setenv("VAE_MAX_TRAININGS", "1")
    first = open_train_page()
    tiny_settings(first, "long-run", epochs=400)
    first.button(key="train_start").click()
    first.run()
    try:
        second = open_train_page()  # another browser session
        tiny_settings(second, "second")
        second.button(key="train_start").click()
        second.run()
        assert "1 trainings are already running" in messages(second.error)
        assert second.session_state.train_job_id is None

        run_until(first, lambda a: any(m.label == "Epoch" and not m.value.startswith("0 ") for m in a.metric))
        first.button(key="train_stop").click()
        run_until(first, lambda a: len(a.warning) > 0)
        assert "Stopped after" in messages(first.warning)
        assert (runs(home, first) / "long-run" / "model.safetensors").is_file()
    finally:
        stop_all()


def test_an_uploaded_npz_is_kept_in_the_session_folder_and_trained_on(home, digits):
    buf = io.BytesIO()
    np.savez(buf, images=digits.train.to_uint8()[:300], labels=digits.train.labels.numpy()[:300])
    at = open_train_page()
    at.selectbox(key="train_dataset").set_value("upload").run()
    at.file_uploader(key="train_npz").upload("my digits.npz", buf.getvalue()).run()
    tiny_settings(at, "from-upload", epochs=1)
    at.button(key="train_start").click()
    run_until(at, lambda a: "Finished" in messages(a.success))
    stored = list((home / "uploads").glob("*/datasets/*.npz"))
    assert len(stored) == 1 and stored[0].name.startswith("my-digits-")
    assert stored[0].read_bytes() == buf.getvalue()
    ckpt = load_checkpoint(runs(home, at) / "from-upload")
    assert ckpt.meta["dataset"] == stored[0].stem and ckpt.meta["n_train"] == 240


def test_the_page_trains_every_setting_it_shows_and_records_the_command(home):
    """The Train page's run is the command line's (vae_core.training.run_spec): the schedule, Adam's beta2, the start from
    the data and a Gaussian's sigma reach the training and the command recorded with the model."""
    at = open_train_page()
    tiny_settings(at, "every-setting", epochs=1)
    at.selectbox(key="train_likelihood").set_value("gaussian-fixed").run()  # the sigma field is enabled then
    at.number_input(key="train_sigma").set_value(0.2)
    at.selectbox(key="train_schedule").set_value("constant")
    at.number_input(key="train_beta2").set_value(0.999)
    at.checkbox(key="train_data_init").uncheck()
    at.run()
    at.button(key="train_start").click()
    run_until(at, lambda a: "Finished" in messages(a.success))
    ckpt = load_checkpoint(runs(home, at) / "every-setting")
    tc = ckpt.meta["train_config"]
    assert (tc["lr_schedule"], tc["adam_beta2"], tc["data_init"]) == ("constant", 0.999, False)
    assert ckpt.config.likelihood == "gaussian" and ckpt.config.gaussian_sigma == pytest.approx(0.2)
    for flag in ("--lr-schedule constant", "--adam-beta2 0.999", "--no-data-init", "--gaussian-sigma 0.2",
                 "--likelihood gaussian", "--hidden 32"):
        assert flag in ckpt.meta["command"], (flag, ckpt.meta["command"])
    assert float(ckpt.arrays["pixel_mean"].max()) == 0.0  # no start from the data: the input is not centred


def test_hidden_sizes_over_the_limit_are_refused_on_the_page_as_on_the_command_line(home):
    at = open_train_page()
    tiny_settings(at, "too-wide")
    at.text_input(key="train_hidden").set_value("5000")
    at.button(key="train_start").click()
    at.run()
    assert "between 1 and 4096" in messages(at.error)
    assert at.session_state.train_job_id is None


def test_a_number_outside_its_range_is_held_to_it_with_a_sentence():
    at = AppTest.from_file(str(REPO_ROOT / "app.py"), default_timeout=120)
    at.switch_page("pages/train.py")
    at.run()
    at.number_input(key="train_epochs").set_value(5000).run()
    assert not at.exception, at.exception
    assert at.number_input(key="train_epochs").value == 500
    said = [w.value for w in at.warning if w.value.startswith("Epochs 5000")]
    assert said == ["Epochs 5000 is above the largest, 500 (allowed: 1 to 500): 500 is used."]
    at.number_input(key="train_seed").set_value(-3).run()
    assert at.number_input(key="train_seed").value == 0
    assert any(w.value.startswith("Seed -3 is below the smallest, 0") for w in at.warning)
    at.run()  # said once
    assert not any(w.value.startswith(("Epochs 5000", "Seed -3")) for w in at.warning)


def test_the_suggested_run_name_is_one_that_is_free(home):
    """Once my-digits-2d is taken, the placeholder offers the name the run will really get."""
    at = open_train_page()
    assert at.text_input(key="train_name").placeholder == "my-digits-2d"
    at.number_input(key="train_epochs").set_value(1)
    at.text_input(key="train_hidden").set_value("32")
    at.button(key="train_start").click()
    run_until(at, lambda a: any("Finished 1 epochs" in m.value for m in a.success))
    assert (runs(home, at) / "my-digits-2d").is_dir()
    at.button(key="train_again").click().run()
    assert at.text_input(key="train_name").placeholder == "my-digits-2d-2"


def test_the_curves_titles_are_short_lines_that_cannot_run_together():
    from ui.training_jobs import TITLES, loss_figure
    from vae_core.training.trainer import EpochStats

    fig = loss_figure([EpochStats(epoch=1, train_loss=3.0, train_recon=2.0, train_kl=1.0, test_neg_elbo=3.5,
                                  test_recon=2.4, test_kl=1.1, kl_weight=1.0, seconds=0.1)], 2, weighted=False)
    titles = [a.text for a in fig.layout.annotations]
    assert titles == list(TITLES)
    # each panel is about a third of the chart: every line of a title fits in a third of a 700 px chart at 16 px
    assert all(len(line) <= 16 for t in titles for line in t.split("<br>")), titles
