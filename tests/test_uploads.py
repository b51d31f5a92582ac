"""Bad uploads through the app: each one ends in a clear message, nothing is left on disk, no code
from the file runs, and the app keeps working afterwards.

Checkpoints go through the sidebar's uploader, datasets through the Train page's uploader, both
driven with AppTest (its file_uploader sends the bytes as a browser would)."""
from __future__ import annotations

import hashlib
import io
import json
import pickle
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from streamlit.testing.v1 import AppTest

from vae_core.store.checkpoints import (CONFIG_FILE, META_FILE, SAMPLE_FILE, WEIGHTS_FILE, CheckpointError, export_zip,
                                  import_zip, max_upload_bytes)

from conftest import clean_home, run_until, texts

REPO = Path(__file__).resolve().parents[1]
GOOD = REPO / "checkpoints" / "digits-2d"

pytestmark = pytest.mark.skipif(not (GOOD / WEIGHTS_FILE).is_file(), reason="checkpoints/digits-2d is not built")


@pytest.fixture
def home(tmp_path, monkeypatch):
    return clean_home(tmp_path, monkeypatch)


# ---------------------------------------------------------------- checkpoint archives


class Payload:
    """Unpickling this opens (creates) the marker file: proof that code from the upload ran."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def archive(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return buf.getvalue()


def good_files() -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(export_zip(GOOD))) as zf:
        return {n: zf.read(n) for n in zf.namelist()}


def rehashed(files: dict[str, bytes], *names: str) -> dict[str, bytes]:
    """Record the new SHA-256 of the changed files in meta.json, as a careful forger would."""
    meta = json.loads(files[META_FILE])
    for n in names:
        meta["sha256"][n] = hashlib.sha256(files[n]).hexdigest()
    return {**files, META_FILE: json.dumps(meta).encode()}


def with_config(files: dict[str, bytes], **changes) -> dict[str, bytes]:
    config = json.loads(files[CONFIG_FILE])
    config["model"].update(changes)
    return rehashed({**files, CONFIG_FILE: json.dumps(config).encode()}, CONFIG_FILE)


def torch_pickle(obj) -> bytes:
    buf = io.BytesIO()
    torch.save(obj, buf)
    return buf.getvalue()


def bad_checkpoints(marker: Path) -> dict[str, tuple[bytes, str]]:
    """name -> (the uploaded bytes, words the error message must contain)."""
    f = good_files()
    half = f[WEIGHTS_FILE][: len(f[WEIGHTS_FILE]) // 2]
    evil_sample = io.BytesIO()
    objects = np.empty(1, dtype=object)
    objects[0] = Payload(marker)
    np.savez(evil_sample, images=objects, labels=np.zeros(1, np.int64), class_names=np.array(["0"]))
    return {
        "not-a-zip": (b"PK\x03\x04 this is not really a zip archive", "not a .zip archive"),
        "truncated-zip": (export_zip(GOOD)[:60_000], "not a .zip archive"),
        "truncated-weights": (archive({**f, WEIGHTS_FILE: half}), "truncated or changed"),
        "truncated-weights-rehashed": (archive(rehashed({**f, WEIGHTS_FILE: half}, WEIGHTS_FILE)),
                                       "not a readable safetensors file"),
        "wrong-shapes": (archive(with_config(f, hidden=[300])), "model.safetensors: tensor 'encoder.body.0.weight' has shape (256, 64) but the config needs (300, 64)"),
        "wrong-latent-dim": (archive(with_config(f, latent_dim=3)), "but the config needs"),
        "unknown-arch": (archive(with_config(f, arch="transformer")), "unknown or invalid architecture"),
        "pickled-weights": (archive(rehashed({**f, WEIGHTS_FILE: torch_pickle({"w": Payload(marker)})}, WEIGHTS_FILE)),
                            "not a readable safetensors file"),
        "raw-pickle-weights": (archive(rehashed({**f, WEIGHTS_FILE: pickle.dumps(Payload(marker))}, WEIGHTS_FILE)),
                               "not a readable safetensors file"),
        "pickled-sample": (archive(rehashed({**f, SAMPLE_FILE: evil_sample.getvalue()}, SAMPLE_FILE)),
                           "not a valid image sample"),
        "only-a-pickle": (archive({"model.pt": torch_pickle(Payload(marker)), "data.pkl": pickle.dumps(Payload(marker))}),
                          "lacks config.json, model.safetensors, meta.json"),
        "not-json-config": (archive(rehashed({**f, CONFIG_FILE: b"\x80\x04not json"}, CONFIG_FILE)), "not valid JSON"),
    }


def open_app() -> AppTest:
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    return at


def upload_checkpoint(at: AppTest, name: str, data: bytes) -> AppTest:
    at.file_uploader(key="ckpt_upload").upload(name, data, "application/zip").run()
    assert not at.exception, at.exception
    return at


def test_the_payload_is_live(tmp_path):
    """The pickles below really do run code when unpickled, so 'the marker does not exist' means something."""
    control = tmp_path / "control"
    pickle.loads(pickle.dumps(Payload(control))).close()
    torch.load(io.BytesIO(torch_pickle(Payload(tmp_path / "control2"))), weights_only=False).close()
    assert control.exists() and (tmp_path / "control2").exists()


def test_every_bad_checkpoint_gets_a_clear_message_and_the_app_keeps_working(home, tmp_path):
    marker = tmp_path / "PWNED"
    at = open_app()
    default_model = at.session_state.model_path
    at.switch_page("pages/models.py").run()  # a page that draws the model list, not a map: quick reruns
    assert not at.exception
    for name, (data, words) in bad_checkpoints(marker).items():
        upload_checkpoint(at, f"{name}.zip", data)
        shown = texts(at.error)
        assert "That checkpoint was not loaded" in shown and words in shown, (name, shown)
        assert str(home) not in shown, shown  # the archive's files are named, not the server's folders
        assert at.session_state.model_path == default_model, name  # the model in use did not change
        assert not marker.exists(), f"{name}: code from the upload ran"
        leftovers = list((home / "uploads").rglob("*")) if (home / "uploads").exists() else []
        assert all(p.is_dir() and not any(p.iterdir()) for p in leftovers), (name, leftovers)
        at.run()  # a rerun with the same bad file shows the message again and does not redo the work
        assert not at.exception and words in texts(at.error)
    # the app still works: pages render, and a good archive loads
    at.switch_page("pages/sliders.py").run()
    assert not at.exception and [t.value for t in at.main.title] == ["Latent sliders"]
    at.switch_page("pages/latent_map.py").run()
    assert not at.exception
    assert [e for e in at._tree.get("bidi_component") if e.proto.component_name.endswith("vae_latent_map")]
    upload_checkpoint(at, "my-digits.zip", export_zip(GOOD))
    assert "Loaded my-digits" in texts(at.success)
    assert at.session_state.model_path.endswith("/my-digits")
    assert Path(at.session_state.model_path).parent.parent == home / "uploads"


def test_an_archive_over_the_size_limit_is_refused_before_unpacking(home, monkeypatch):
    data = export_zip(GOOD)
    monkeypatch.setenv("VAE_MAX_UPLOAD_MB", "0.1")
    assert max_upload_bytes() == int(0.1 * 2**20) < len(data)
    at = open_app()
    upload_checkpoint(at, "digits.zip", data)
    shown = texts(at.error)
    assert "this server accepts at most 0.1 MB (set by VAE_MAX_UPLOAD_MB)" in shown, shown
    assert not (home / "uploads").exists() or not any((home / "uploads").rglob("*.safetensors"))
    monkeypatch.setenv("VAE_MAX_UPLOAD_MB", "1")
    upload_checkpoint(at, "digits.zip", data)  # the same file under a larger limit
    assert "Loaded digits" in texts(at.success)


@pytest.mark.parametrize("value", ["", "abc", "-5", "0", "nan", "inf", "1e308"])
def test_a_nonsense_size_limit_falls_back_to_the_default(monkeypatch, value):
    monkeypatch.setenv("VAE_MAX_UPLOAD_MB", value)
    assert max_upload_bytes() == 200 * 2**20


def test_an_unpacked_size_over_the_limit_is_refused(tmp_path):
    """A small archive that unpacks to more than the limit (a zip bomb) is refused from its directory."""
    files = good_files()
    files[SAMPLE_FILE] = bytes(3 * 2**20)  # 3 MB of zeros: packs to a few kB
    data = archive(files)
    assert len(data) < 2**20
    with pytest.raises(CheckpointError, match="unpacks to 3.* MB; this server accepts at most 1 MB"):
        import_zip(data, tmp_path / "bomb", max_bytes=2**20)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name", ["../../evil.zip", "/tmp/evil-abs.zip", "..zip", ".hidden.zip"])
def test_an_upload_name_with_a_path_cannot_write_outside_the_app_folder(home, tmp_path, name):
    at = open_app()
    upload_checkpoint(at, name, export_zip(GOOD))
    assert "That checkpoint was not loaded" in texts(at.error) and "plain name" in texts(at.error)
    assert not (tmp_path / "evil").exists() and not Path("/tmp/evil-abs").exists()
    assert not list(tmp_path.rglob("*.safetensors"))


def test_archive_members_with_paths_are_unpacked_inside_the_destination_only(tmp_path):
    f = good_files()
    evil = archive({f"../../{CONFIG_FILE}": f[CONFIG_FILE], f"/abs/{WEIGHTS_FILE}": f[WEIGHTS_FILE],
                    f"..\\..\\{META_FILE}": f[META_FILE], f"C:/x/../{SAMPLE_FILE}": f[SAMPLE_FILE],
                    "../../outside.txt": b"x"})
    dest = tmp_path / "a" / "b" / "dest"
    ckpt = import_zip(evil, dest)
    names = sorted([CONFIG_FILE, META_FILE, SAMPLE_FILE, WEIGHTS_FILE])
    assert ckpt.path == dest and sorted(p.name for p in dest.iterdir()) == names
    everything = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file())
    assert everything == [f"a/b/dest/{n}" for n in names]


# ---------------------------------------------------------------- datasets on the Train page


def npz(**arrays) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def lying_npz(shape: tuple[int, ...]) -> bytes:
    """An .npz whose 'images' header declares a huge array but that holds 64 bytes: it must be refused
    from the header, before anything of that size is allocated."""
    npy = io.BytesIO()
    np.lib.format.write_array_header_1_0(npy, {"descr": "|u1", "fortran_order": False, "shape": shape})
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("images.npy", npy.getvalue() + bytes(64))
    return buf.getvalue()


def png(size=(8, 8), value=128) -> bytes:
    buf = io.BytesIO()
    Image.new("L", size, value).save(buf, format="PNG")
    return buf.getvalue()


def image_zip(extra: dict[str, bytes] | None = None, size=(8, 8), per_class: int = 12, top: str = "shapes") -> bytes:
    files = {f"{top}/{cls}/{i:02d}.png": png(size, value + 7 * i)
             for cls, value in (("circles", 20), ("squares", 150)) for i in range(per_class)}
    files.update(extra or {})
    return archive(files)


def digits_arrays(n: int = 300):
    from vae_core.data.datasets import load_dataset

    split = load_dataset("digits")
    return split.train.to_uint8()[:n], split.train.labels.numpy()[:n]


def open_train_page() -> AppTest:
    at = open_app()
    at.switch_page("pages/train.py").run()
    assert not at.exception
    at.selectbox(key="train_dataset").set_value("upload").run()
    at.number_input(key="train_epochs").set_value(1)
    at.text_input(key="train_hidden").set_value("32")
    return at


def start_with_upload(at: AppTest, name: str, data: bytes, run_name: str) -> AppTest:
    at.file_uploader(key="train_npz").upload(name, data).run()
    at.text_input(key="train_name").set_value(run_name)
    at.button(key="train_start").click()
    at.run()
    assert not at.exception, at.exception
    return at


def ended(at: AppTest) -> bool:
    return bool(at.error) or any("Finished" in s.value for s in at.success)


def bad_datasets() -> dict[str, tuple[str, bytes, str]]:
    """name -> (file name, bytes, words the message must contain)."""
    images, labels = digits_arrays(40)
    nan = images.astype(np.float32) / 255
    nan[3, 2, 2] = np.nan
    return {
        "wrong-dims": ("flat.npz", npz(images=images.reshape(40, 64), labels=labels), "accepted shapes are (N, H, W)"),
        "channels-4": ("rgba.npz", npz(images=np.zeros((40, 8, 8, 4), np.uint8)), "accepted shapes"),
        "nan": ("nan.npz", npz(images=nan, labels=labels), "NaN or infinite"),
        "no-images-array": ("pixels.npz", npz(pixels=images), "no array named 'images'"),
        "zero-images": ("empty.npz", npz(images=np.zeros((0, 8, 8), np.uint8)), "0 images"),
        "labels-wrong-length": ("short.npz", npz(images=images, labels=labels[:30]), "labels have shape (30,) but there are 40 images"),
        "huge-images": ("huge.npz", npz(images=np.zeros((2, 300, 300), np.uint8)), "300x300; at most 256x256"),
        "huge-declared": ("bomb.npz", lying_npz((100_000, 256, 256)), "at most 268,435,456 are supported"),
        "object-array": ("objects.npz", _object_npz(), "dtype object"),
        "not-an-npz": ("text.npz", b"just text", "not a .npz archive"),
        "zip-broken-png": ("broken.zip", image_zip({"shapes/squares/zz.png": b"\x89PNG\r\n\x1a\nnot really"}),
                           "zz.png: cannot read this image"),
        "zip-huge-image": ("big.zip", image_zip(size=(400, 300)), "400x300; at most 256x256"),
        "zip-no-class-folders": ("loose.zip", archive({"a.png": png(), "b.png": png()}),
                                 "no class subfolders with images"),
        "zip-mixed-sizes": ("mixed.zip", image_zip({"shapes/squares/wide.png": png((16, 8))}), "differ in size"),
    }


def _object_npz() -> bytes:
    objects = np.empty(2, dtype=object)
    objects[:] = [np.zeros((8, 8)), np.zeros((8, 8))]
    return npz(images=objects)


def test_every_bad_dataset_gets_a_clear_message_and_training_still_works(home):
    at = open_train_page()
    for i, (case, (file_name, data, words)) in enumerate(bad_datasets().items()):
        start_with_upload(at, file_name, data, f"bad-{i}")
        run_until(at, ended)
        shown = texts(at.error)
        assert words in shown, (case, shown)
        assert "Traceback" not in shown and str(home) not in shown, shown  # no server folders in the message
    runs = home / "sessions" / at.session_state.session_uid / "runs"
    assert not runs.exists() or not any(p for p in runs.iterdir() if not p.name.startswith(".")), \
        "a failed run left a folder behind"
    # the same page, the same session: a good upload trains
    images, labels = digits_arrays(300)
    start_with_upload(at, "good.npz", npz(images=images, labels=labels), "good")
    run_until(at, ended)
    assert "Finished 1 epochs" in texts(at.success), texts(at.error)
    assert (runs / "good" / WEIGHTS_FILE).is_file()


def test_a_path_in_an_archive_of_image_folders_refuses_the_whole_archive(home, tmp_path):
    at = open_train_page()
    evil = image_zip({"../../escaped.png": png(), "shapes/../../../escaped2.png": png()})
    start_with_upload(at, "evil.zip", evil, "evil")
    assert "leaves its folder" in texts(at.error), texts(at.error)
    assert at.session_state.train_job_id is None
    assert not list(tmp_path.rglob("escaped*.png"))


def test_non_image_files_in_an_image_folder_are_skipped_and_named(home):
    at = open_train_page()
    data = image_zip({"shapes/circles/notes.txt": b"hello", "shapes/squares/labels.csv": b"a,b",
                      "shapes/.DS_Store": b"\x00", "__MACOSX/shapes/._01.png": b"\x00"})
    start_with_upload(at, "shapes.zip", data, "shapes")
    run_until(at, ended)
    assert "Finished 1 epochs" in texts(at.success), texts(at.error)
    info = texts(at.caption)
    assert "2 classes" in info and "2 file(s) that are not images were skipped" in info, info
    assert "circles/notes.txt" in info and "squares/labels.csv" in info


def test_one_class_trains_a_vae_with_a_note_and_refuses_a_conditional_vae(home):
    images, _ = digits_arrays(200)
    data = npz(images=images, labels=np.full(200, 3))
    at = open_train_page()
    start_with_upload(at, "threes.npz", data, "threes")
    run_until(at, ended)
    assert "Finished 1 epochs" in texts(at.success), texts(at.error)
    assert "1 class." in texts(at.caption) and "same label" in texts(at.caption)

    at.button(key="train_again").click().run()
    at.radio(key="train_kind").set_value("cvae")
    start_with_upload(at, "threes.npz", data, "threes-cvae")
    run_until(at, ended)
    assert "conditional VAE needs at least two classes" in texts(at.error)


def test_a_dataset_over_the_size_limit_is_refused_before_it_is_stored(home, monkeypatch):
    monkeypatch.setenv("VAE_MAX_UPLOAD_MB", "0.01")
    images, labels = digits_arrays(300)
    at = open_train_page()
    start_with_upload(at, "big.npz", npz(images=images, labels=labels), "big")
    assert "this server accepts at most 0.01 MB (set by VAE_MAX_UPLOAD_MB)" in texts(at.error), texts(at.error)
    assert at.session_state.train_job_id is None
    assert not (home / "uploads").exists() or not list((home / "uploads").rglob("*.npz"))
