"""Input the command line and the uploader used to take silently: each is refused with a message that says
what was wrong, before any data is loaded, or (a checkpoint without Adam's state) accepted for viewing.
The command line runs in this process (tests/test_cli.py runs it in subprocesses end to end)."""
from __future__ import annotations

import io
import zipfile

import pytest
import torch

from vae_core.store.checkpoints import OPTIMIZER_FILE, export_zip, import_zip, load_checkpoint, save_checkpoint
from vae_core.model.config import ModelConfig
from vae_core.model.torch_model import VAE

from vae_core.__main__ import main

MISSING_DATA = "/nonexistent/no-such-dataset.npz"  # loading it would fail with a dataset error


def run_cli(capsys, *args: str) -> tuple[int, str]:
    """``python -m vae_core ARGS`` in this process: its exit status and what it wrote to stderr."""
    try:
        code = main(list(args))
    except SystemExit as e:  # argparse's refusal
        code = e.code
    return code, capsys.readouterr().err


@pytest.mark.parametrize("flag, value, says", [
    ("--time-limit", "nan", "not a number of seconds above 0"),
    ("--time-limit", "-5", "not a number of seconds above 0"),
    ("--time-limit", "inf", "not a number of seconds above 0"),
    ("--time-limit", "0", "not a number of seconds above 0"),
    ("--threads", "0", "at least 1"),
    ("--threads", "-2", "at least 1"),
    ("--sample-size", "-1", "at least 0"),
])
def test_absurd_numbers_are_refused_before_the_data_is_loaded(tmp_path, capsys, flag, value, says):
    code, err = run_cli(capsys, "train", "--dataset", MISSING_DATA, "--out", str(tmp_path / "out"), flag, value)
    assert code == 2 and "error:" in err and "Traceback" not in err, err
    assert flag in err and says in err and repr(value) in err, err
    assert "no-such-dataset" not in err  # the data was never looked at
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("make", ["missing", "empty", "not-a-run"])
def test_resume_on_a_folder_that_is_not_a_run_is_refused_before_the_data_is_loaded(tmp_path, capsys, make):
    out = tmp_path / "out"
    if make != "missing":
        out.mkdir()
    if make == "not-a-run":
        (out / "notes.txt").write_text("hello")
    code, err = run_cli(capsys, "train", "--dataset", MISSING_DATA, "--out", str(out), "--resume")
    assert code == 2 and "error:" in err, err
    assert "--resume" in err and str(out) in err and "leave out --resume" in err, err
    assert "no-such-dataset" not in err
    if make == "not-a-run":
        assert (out / "notes.txt").read_text() == "hello" and sorted(p.name for p in out.iterdir()) == ["notes.txt"]


def test_a_checkpoint_archive_without_adams_state_is_accepted_for_viewing(tmp_path):
    cfg = ModelConfig(image_shape=(1, 8, 8), latent_dim=2, hidden=(16,))
    model = VAE(cfg)
    optimizer = torch.optim.Adam(model.parameters())
    for p in model.parameters():
        p.grad = torch.ones_like(p)
    optimizer.step()  # Adam now has moments to save
    folder = save_checkpoint(tmp_path / "with-adam", model, {"epochs": 1}, optimizer=optimizer)
    assert (folder / OPTIMIZER_FILE).is_file()
    packed = zipfile.ZipFile(io.BytesIO(export_zip(folder)))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as out:
        for info in packed.infolist():
            if info.filename != OPTIMIZER_FILE:
                out.writestr(info, packed.read(info))
    ckpt = import_zip(buf.getvalue(), tmp_path / "uploaded")
    assert not (ckpt.path / OPTIMIZER_FILE).exists()
    for name, tensor in model.state_dict().items():
        assert torch.equal(ckpt.model.state_dict()[name], tensor)
    assert load_checkpoint(ckpt.path).config == cfg
    # a damaged Adam state is still refused: only a missing one is fine
    (folder / OPTIMIZER_FILE).write_bytes(b"truncated")
    with pytest.raises(Exception, match="SHA-256"):
        load_checkpoint(folder)
