"""Shared fixtures: the real 8x8 digits data and one tiny model trained once per session.

Everything here is real: real data (scikit-learn's digits), real training, real
checkpoint files on disk. Tests that damage a checkpoint work on a copy
(``ckpt_copy``), never on the shared one.
"""
from __future__ import annotations

import hashlib
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch
from streamlit.runtime.media_file_manager import MediaFileManager
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from vae_core.model.config import ModelConfig, TrainConfig  # noqa: E402
from vae_core.data.datasets import load_dataset  # noqa: E402
from vae_core.training.trainer import EpochStats, Trainer  # noqa: E402

# The models here are tiny: one thread is several times faster than two on a busy
# 2-core machine (no thread hand-off per small matmul) and makes timings stable.
torch.set_num_threads(1)

DIGITS_SHAPE = (1, 8, 8)
TRAINED_EPOCHS = 5


def tiny_model_config(**overrides) -> ModelConfig:
    """A small MLP VAE for the 8x8 digits: trains in a fraction of a second per epoch."""
    kwargs = dict(image_shape=DIGITS_SHAPE, latent_dim=2, hidden=(64,))
    kwargs.update(overrides)
    return ModelConfig(**kwargs)


def tiny_train_config(**overrides) -> TrainConfig:
    """A few epochs of a few steps: a constant learning rate (a cosine decay would end after ~60 steps)."""
    kwargs = dict(dataset="digits", epochs=2, batch_size=128, lr=3e-3, lr_schedule="constant", seed=0, device="cpu")
    kwargs.update(overrides)
    return TrainConfig(**kwargs)


def file_hashes(folder: Path) -> dict[str, str]:
    """SHA-256 of every file in a folder, by name."""
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(Path(folder).iterdir()) if p.is_file()}


@dataclass
class Trained:
    path: Path  # the checkpoint folder (do not modify: use ckpt_copy)
    history: list[EpochStats]
    model_cfg: ModelConfig
    train_cfg: TrainConfig


@pytest.fixture(scope="session")
def digits():
    """scikit-learn's real 8x8 digits as a DataSplit (1437 train / 360 test)."""
    return load_dataset("digits")


@pytest.fixture(scope="session")
def trained(digits, tmp_path_factory) -> Trained:
    """A latent_dim=2 MLP VAE trained for a few epochs on digits, saved as a checkpoint folder."""
    out = tmp_path_factory.mktemp("trained") / "digits-vae"
    model_cfg = tiny_model_config()
    train_cfg = tiny_train_config(epochs=TRAINED_EPOCHS)
    trainer = Trainer(model_cfg, train_cfg, digits, out_dir=out, sample_size=50, command="pytest fixture")
    history = trainer.fit()
    return Trained(path=out, history=history, model_cfg=model_cfg, train_cfg=train_cfg)


@pytest.fixture
def ckpt_copy(trained, tmp_path) -> Path:
    """A private copy of the trained checkpoint that a test may damage."""
    dst = tmp_path / "ck"
    shutil.copytree(trained.path, dst)
    return dst


@pytest.fixture(scope="session")
def trained_model(trained):
    from vae_core.store.checkpoints import load_checkpoint

    return load_checkpoint(trained.path).model


@pytest.fixture(autouse=True)
def _pages_folder_mode_off(monkeypatch):
    """Run pages through app.py's st.navigation, as a real server does after its first request.

    AppTest resets Streamlit's ``pages/``-folder flag before every run, so without this every
    run would go through ui.common's one-time switch (a rerun) and lose the widget events."""
    from streamlit.runtime.pages_manager import PagesManager

    init = PagesManager.__init__

    def init_then_navigation(self, *args, **kwargs):
        init(self, *args, **kwargs)
        PagesManager.uses_pages_directory = False

    monkeypatch.setattr(PagesManager, "__init__", init_then_navigation)


# ---------------------------------------------------------------- app fixtures shared by page tests

BUNDLED_DIR = Path(__file__).resolve().parents[1] / "checkpoints"


def clean_home(tmp_path: Path, monkeypatch) -> Path:
    """An empty VAE_EXPLORER_HOME and download cache for one test, with the app's limits at their defaults."""
    home = tmp_path / "home"
    monkeypatch.setenv("VAE_EXPLORER_HOME", str(home))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    for name in ("VAE_DATA_DIR", "VAE_MAX_TRAININGS", "VAE_MAX_UPLOAD_MB", "VAE_SHARE_TRAINED"):
        monkeypatch.delenv(name, raising=False)
    return home


def texts(elements) -> str:
    """The text of AppTest elements (captions, errors, ...), joined."""
    return " ".join(e.value for e in elements)


def run_until(at, done, deadline: float = 300):
    """Rerun the AppTest until done(at) holds (a background training has ended), failing after deadline s."""
    end = time.time() + deadline
    while not done(at):
        assert time.time() < end, "the page did not show the end of the training in time"
        time.sleep(0.2)
        at.run()
        assert not at.exception, at.exception
    return at


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("explorer-home")


@pytest.fixture
def _home_env(home, monkeypatch):
    monkeypatch.setenv("VAE_EXPLORER_HOME", str(home))


@pytest.fixture(scope="module")
def autoencoder_path(home, request) -> Path:
    """The bundled autoencoder when it exists, else a quickly trained one among the app's saved runs."""
    bundled = BUNDLED_DIR / "digits-2d-autoencoder"
    if (bundled / "model.safetensors").is_file():
        return bundled
    out = home / "runs" / "digits-ae"
    cfg = ModelConfig(image_shape=(1, 8, 8), latent_dim=2, hidden=(64,), kind="ae")
    digits = request.getfixturevalue("digits")
    Trainer(cfg, TrainConfig(dataset="digits", epochs=3, lr=3e-3, seed=0, device="cpu"), digits, out_dir=out,
            sample_size=60, save_optimizer=False).fit()
    return out


class MediaStore(dict):
    """Every file the app hands to Streamlit's media storage (images, downloads), by file id; and the downloads
    made only when their button is pressed (a callable given as the data), by their deferred file id."""

    def __init__(self):
        super().__init__()
        self.makers: dict[str, object] = {}

    def made(self, deferred_file_id: str) -> bytes:
        """What pressing the download button sends: its callable, run as the server's download request runs it."""
        data = self.makers[deferred_file_id]()
        return data.encode() if isinstance(data, str) else bytes(data)

    def image(self, url: str) -> bytes:
        """The file behind an st.image's URL: a media file's, or what a data: URL holds."""
        if url.startswith("data:"):
            import base64

            return base64.b64decode(url.split(",", 1)[1])
        return self[url.rsplit("/", 1)[-1].split(".")[0]]

    def download(self, proto) -> bytes:
        """The file of a download button's proto, whether its data was given or is made when pressed."""
        if proto.deferred_file_id:
            return self.made(proto.deferred_file_id)
        return self[proto.url.rsplit("/", 1)[-1].split(".")[0]]


@pytest.fixture
def media(monkeypatch) -> MediaStore:
    store = MediaStore()
    original = MemoryMediaFileStorage.load_and_get_id
    original_deferred = MediaFileManager.add_deferred

    def recording(self, path_or_data, mimetype, kind, filename=None):
        file_id = original(self, path_or_data, mimetype, kind, filename)
        store[file_id] = path_or_data if isinstance(path_or_data, bytes) else Path(path_or_data).read_bytes()
        return file_id

    def recording_deferred(self, data_callable, *args, **kwargs):
        file_id = original_deferred(self, data_callable, *args, **kwargs)
        store.makers[file_id] = data_callable
        return file_id

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", recording)
    monkeypatch.setattr(MediaFileManager, "add_deferred", recording_deferred)
    return store


# A skipped test is not a passed one: a run that skipped any fails, naming what was skipped and why (a missing
# package, dataset or browser is installed by .ci/run). VAE_ALLOW_SKIPS=1 lets a partial run on a machine
# without them end green on purpose.
_SKIPPED: list[str] = []


def pytest_runtest_logreport(report):
    if report.skipped:
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        _SKIPPED.append(f"{report.nodeid}: {reason}")


def pytest_sessionfinish(session, exitstatus):
    import os

    if _SKIPPED and exitstatus == 0 and os.environ.get("VAE_ALLOW_SKIPS") != "1":
        sys.stderr.write("\n" + f"{len(_SKIPPED)} test(s) skipped; a skip is not a pass (VAE_ALLOW_SKIPS=1 allows "
                         "them):\n  " + "\n  ".join(_SKIPPED[:20]) + "\n")
        session.exitstatus = 1
