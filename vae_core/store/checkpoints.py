"""Checkpoints: a folder of safetensors weights and JSON, written atomically.

Layout of a checkpoint folder::

    config.json            {"format": ..., "model": ModelConfig as a dict}
    model.safetensors      the model's state_dict (tensors only)
    meta.json              dataset, epochs, metrics, history, seed, date, command, data source,
                           and the SHA-256 of every other file
    sample.npz             optional: a few test images (uint8) with labels and class names (and each image's
                           factors when the dataset has known ones, e.g. the sprites); a bundled
                           model names a dataset's test split shared by its models instead
                           (meta.json's "shared_sample", vae_core.store.test_splits)
    maps.npz               optional: the model's PCA, t-SNE and UMAP maps (vae_core.projection.shipped)
    optimizer.safetensors  optional: Adam's moments, to resume training

Loading never unpickles anything: safetensors holds raw tensors, JSON holds
plain values, and ``np.load`` runs with ``allow_pickle=False``.

Loading checks every file without torch: the weights are read as NumPy arrays and held to the
names and shapes vae_core.model.architecture.state_shapes gives for the config. ``load_checkpoint(...,
lazy=True)`` stops there and builds the torch model on first use of ``Checkpoint.model``, so an
app can show a model's encodings and its decoder's browser program before torch is imported.
"""
from __future__ import annotations

import json
import os
import shutil
import threading
import uuid
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from safetensors import SafetensorError
from safetensors.numpy import load_file as load_arrays

from vae_core.model.config import ConfigError, ModelConfig
from vae_core.model import numpy_model
from vae_core.model.architecture import state_shapes
from .files import (ARCHIVE_FILES, CONFIG_FILE, FORMAT, HASHED_FILES, HISTORY_FILE, META_FILE,
                    OPTIMIZER_FILE, SAMPLE_FILE, WEIGHTS_FILE, CheckpointError, Sample, file_sha256, read_sample)
from .history import History, load_history
from .locks import locked_folder
from vae_core.model.priors import Prior

if TYPE_CHECKING:
    import torch

    from vae_core.model.torch_model import VAE

class Checkpoint:
    """A loaded checkpoint: its config, metadata, stored test images, weights (as NumPy arrays) and the
    torch model, built from the arrays on first use of ``model``."""

    def __init__(self, path: Path, config: ModelConfig, arrays: dict[str, np.ndarray], meta: dict | None = None,
                 sample: Sample | None = None, device="cpu", frozen: bool = False):
        self.path = Path(path)
        self.config = config
        self.arrays = arrays  # float32, by torch's state_dict names
        self.meta = meta if meta is not None else {}
        self.sample = sample
        self.optimizer_state: dict | None = None
        self._model: VAE | None = None
        self._prior: Prior | None = None
        self._device = device
        self._frozen = frozen  # build the model with requires_grad off (for viewing, never training)
        self._lock = threading.Lock()

    @property
    def model(self) -> VAE:
        """The torch model, in eval mode (built from the arrays on first use; this imports torch)."""
        if self._model is None:
            with self._lock:
                if self._model is None:
                    self._model = _build_model(self.config, self.arrays, self._device, self._frozen)
        return self._model

    @property
    def model_built(self) -> bool:
        return self._model is not None

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def prior(self) -> Prior:
        """p(z) of this model as its variant gives it, from the arrays (no torch until it draws)."""
        if self._prior is None:
            def posterior(x):
                return numpy_model.encode(self.config, self.arrays, x)

            self._prior = self.config.variant.prior(self.config, self.arrays, posterior)
        return self._prior

    @property
    def class_names(self) -> list[str]:
        return list(self.meta.get("class_names") or (self.sample.class_names if self.sample else []))

    @property
    def history(self) -> History | None:
        """The training's snapshots (vae_core.store.history), read on first use; None when it recorded none (or its
        file cannot be read: the model itself is still fine to view)."""
        if not hasattr(self, "_history"):
            try:
                self._history = load_history(self.path)
            except ValueError:
                self._history = None
        return self._history


def _write_json(path: Path, data: dict) -> None:
    path.write_text(json.dumps(data, indent=2, sort_keys=False, default=_json_default) + "\n")


def _json_default(value):
    if isinstance(value, (np.integer, np.floating)):
        return value.item()
    if isinstance(value, (tuple, set)):
        return list(value)
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _flatten_optimizer(state: dict) -> tuple[dict[str, torch.Tensor], list]:
    import torch

    tensors = {}
    for idx, per_param in state["state"].items():
        for key, value in per_param.items():
            t = torch.as_tensor(value)
            tensors[f"state.{idx}.{key}"] = t.detach().cpu().contiguous()
    return tensors, state["param_groups"]


def _unflatten_optimizer(tensors: dict[str, torch.Tensor], param_groups: list) -> dict:
    state: dict[int, dict] = {}
    for name, t in tensors.items():
        _, idx, key = name.split(".", 2)
        state.setdefault(int(idx), {})[key] = t
    return {"state": state, "param_groups": param_groups}


def save_checkpoint(path: str | os.PathLike, model: VAE, meta: dict, *, sample: Sample | None = None,
                    optimizer: torch.optim.Optimizer | None = None, history=None) -> Path:
    """Write the checkpoint folder atomically: a reader sees the old folder or the new one, never half of it."""
    from safetensors.torch import save_file

    final = Path(path)
    final.parent.mkdir(parents=True, exist_ok=True)
    _recover_interrupted_swap(final)
    _remove_dead_writers_folders(final)
    tmp = _tmp_folder(final)
    tmp.mkdir()
    try:
        _write_json(tmp / CONFIG_FILE, {"format": FORMAT, "model": model.cfg.to_dict()})
        state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
        save_file(state, str(tmp / WEIGHTS_FILE))
        meta = dict(meta)
        if sample is not None:
            np.savez_compressed(tmp / SAMPLE_FILE, **sample.arrays())
        if history is not None:
            history.save(tmp)
        if optimizer is not None:
            tensors, groups = _flatten_optimizer(optimizer.state_dict())
            save_file(tensors, str(tmp / OPTIMIZER_FILE))
            meta["optimizer_param_groups"] = groups
        meta["sha256"] = {n: file_sha256(tmp / n) for n in HASHED_FILES if (tmp / n).exists()}
        _write_json(tmp / META_FILE, meta)
        for f in tmp.iterdir():
            with open(f, "rb") as fh:
                os.fsync(fh.fileno())
        _swap_into_place(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final


def _tmp_folder(final: Path) -> Path:
    """A hidden sibling to write into; its name carries the writer's process id."""
    return final.with_name(f".{final.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}")


def _remove_dead_writers_folders(final: Path) -> None:
    """Delete the half-written temporary folders of ``final`` left by processes that no longer run
    (a save killed with SIGKILL or a power cut); a live writer's folder is left alone."""
    for stale in final.parent.glob(f".{final.name}.tmp-*"):
        pid = stale.name.rsplit(".tmp-", 1)[1].split("-")[0]
        if pid.isdigit() and not _process_alive(int(pid)):
            shutil.rmtree(stale, ignore_errors=True)


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def _swap_into_place(tmp: Path, final: Path) -> None:
    """Put the complete folder ``tmp`` at ``final``: renames only, under a lock on the parent folder, so
    writers in several processes take turns (the last one's folder stays) and a reader never sees half of one."""
    with locked_folder(final.parent):
        if not final.exists() or (final.is_dir() and not any(final.iterdir())):
            os.replace(tmp, final)  # onto nothing, or onto an empty folder reserved for it (paths.reserve_child)
            return
        old = final.with_name(f".{final.name}.old-{uuid.uuid4().hex[:8]}")
        os.replace(final, old)
        os.replace(tmp, final)
    shutil.rmtree(old, ignore_errors=True)


def _recover_interrupted_swap(final: Path) -> None:
    """A save killed between its two renames leaves only the ``.old`` folder: put it back. A swap in
    progress in another process holds the lock, so its own ``.old`` folder is left to it."""
    if final.exists():
        for stale in final.parent.glob(f".{final.name}.old-*"):
            shutil.rmtree(stale, ignore_errors=True)
        return
    if not any(final.parent.glob(f".{final.name}.old-*")):
        return
    with locked_folder(final.parent):
        if final.exists():
            return
        olds = sorted(final.parent.glob(f".{final.name}.old-*"), key=lambda p: p.stat().st_mtime)
        if olds:
            os.replace(olds[-1], final)


def _read_json(path: Path) -> dict:
    if not path.is_file():
        raise CheckpointError(f"{path.parent} is not a complete checkpoint: {path.name} is missing")
    try:
        data = json.loads(path.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise CheckpointError(f"{path} is not valid JSON ({e}); the checkpoint is damaged: re-download or retrain it") from e
    if not isinstance(data, dict):
        raise CheckpointError(f"{path} must hold a JSON object; the checkpoint is damaged")
    return data


def _check_hashes(folder: Path, meta: dict) -> None:
    for name, expected in (meta.get("sha256") or {}).items():
        f = folder / name
        if name not in HASHED_FILES:
            continue
        if not f.is_file():
            if name in (OPTIMIZER_FILE, HISTORY_FILE):  # needed to resume training or replay it, not to view the model
                continue
            raise CheckpointError(f"{folder} is not a complete checkpoint: {name} is missing")
        if file_sha256(f) != expected:
            raise CheckpointError(
                f"{f} does not match the SHA-256 recorded in {META_FILE}: the file was truncated or changed. "
                "Re-download or retrain this checkpoint")


def _read_weights(folder: Path, cfg: ModelConfig) -> dict[str, np.ndarray]:
    """model.safetensors as float32 arrays, each checked against the tensor the config needs."""
    f = folder / WEIGHTS_FILE
    if not f.is_file():
        raise CheckpointError(f"{folder} is not a complete checkpoint: {WEIGHTS_FILE} is missing")
    try:
        arrays = load_arrays(str(f))
    except (SafetensorError, OSError, ValueError, RuntimeError, TypeError) as e:
        raise CheckpointError(f"{f} is not a readable safetensors file ({e}); it may be truncated or hold "
                              "tensors of a type other than float32") from e
    expected = state_shapes(cfg)
    if "pixel_mean" not in arrays:  # saved before inputs were centred: no centring
        arrays["pixel_mean"] = np.zeros(expected["pixel_mean"], np.float32)
    missing = sorted(set(expected) - set(arrays))
    unexpected = sorted(set(arrays) - set(expected))
    if missing or unexpected:
        raise CheckpointError(
            f"{f} does not fit the architecture in {CONFIG_FILE}: missing tensors {missing[:5]}, "
            f"unexpected tensors {unexpected[:5]}")
    for key, want in expected.items():
        got = arrays[key]
        if got.shape != want:
            raise CheckpointError(
                f"{f}: tensor {key!r} has shape {tuple(got.shape)} but the config needs {want}")
        if got.dtype != np.float32:
            raise CheckpointError(f"{f}: tensor {key!r} has dtype {got.dtype}, expected float32")
        if not np.isfinite(got).all():
            raise CheckpointError(f"{f}: tensor {key!r} holds NaN or infinite values; this model cannot be used")
    return arrays


def _build_model(cfg: ModelConfig, arrays: dict[str, np.ndarray], device, frozen: bool) -> VAE:
    import torch

    from vae_core.model.torch_model import VAE

    model = VAE(cfg)
    model.load_state_dict({k: torch.tensor(v) for k, v in arrays.items()}, strict=True)
    return model.requires_grad_(not frozen).to(device).eval()


def _load_sample(folder: Path, meta: dict) -> Sample | None:
    f = folder / SAMPLE_FILE
    if not f.is_file():
        from .test_splits import load

        return load(folder, meta)  # None unless meta.json names a test split shared by its dataset's models
    return read_sample(f)


def _folder_id(folder: Path) -> tuple[int, int] | None:
    try:
        st = folder.stat()
    except OSError:
        return None
    return st.st_dev, st.st_ino


def load_checkpoint(path: str | os.PathLike, device: str | torch.device = "cpu", *, with_optimizer: bool = False,
                    lazy: bool = False) -> Checkpoint:
    """Read and check config.json, meta.json, the weights (every key and shape) and the sample, then
    build the model; with ``lazy=True`` the model is built on first use of ``Checkpoint.model``, with
    requires_grad off (a lazily loaded checkpoint is for viewing: encoding and decoding).

    A save swaps in a new folder (another process may save while this one reads): when the folder was
    replaced during the read, its files may come from two saves, so it is read again."""
    folder = Path(path)
    for _ in range(20):
        before = _folder_id(folder)
        try:
            ckpt = _load_once(folder, device, with_optimizer=with_optimizer, lazy=lazy)
        except (CheckpointError, OSError):  # OSError: a file deleted with the folder it was read from
            if before is None or _folder_id(folder) == before:
                raise
            continue
        if _folder_id(folder) == before:
            return ckpt
    raise CheckpointError(f"{folder} was rewritten during every attempt to read it: is a training saving it "
                          "many times a second? Try again when it has finished")


def _load_once(folder: Path, device, *, with_optimizer: bool, lazy: bool) -> Checkpoint:
    _recover_interrupted_swap(folder)
    if not folder.is_dir():
        raise CheckpointError(f"no checkpoint folder at {folder}")
    config = _read_json(folder / CONFIG_FILE)
    if config.get("format") != FORMAT:
        raise CheckpointError(f"{folder / CONFIG_FILE}: format {config.get('format')!r} is not {FORMAT!r}")
    try:
        cfg = ModelConfig.from_dict(config.get("model") or {})
    except (ConfigError, TypeError, ValueError) as e:
        raise CheckpointError(f"{folder / CONFIG_FILE} describes an unknown or invalid architecture: {e}") from e
    meta = _read_json(folder / META_FILE)
    _check_hashes(folder, meta)
    arrays = _read_weights(folder, cfg)
    ckpt = Checkpoint(path=folder, config=cfg, meta=meta, sample=_load_sample(folder, meta), arrays=arrays, device=device,
                      frozen=lazy)
    if not lazy:
        ckpt.model  # noqa: B018  (build it now)
    if with_optimizer and (folder / OPTIMIZER_FILE).is_file():
        from safetensors.torch import load_file

        try:
            tensors = load_file(str(folder / OPTIMIZER_FILE))
        except (SafetensorError, OSError) as e:
            raise CheckpointError(f"{folder / OPTIMIZER_FILE} is not readable ({e})") from e
        ckpt.optimizer_state = _unflatten_optimizer(tensors, meta.get("optimizer_param_groups") or [])
    return ckpt


def is_checkpoint(path: str | os.PathLike) -> bool:
    p = Path(path)
    return (p / CONFIG_FILE).is_file() and (p / WEIGHTS_FILE).is_file()


def list_checkpoints(root: str | os.PathLike) -> list[Path]:
    """Checkpoint folders directly under root (not hidden, not half-written), sorted by name."""
    r = Path(root)
    if not r.is_dir():
        return []
    return sorted(p for p in r.iterdir() if not p.name.startswith(".") and is_checkpoint(p))


MAX_ARCHIVE_BYTES = 200 * 1024 * 1024  # default limit on an uploaded archive, packed and unpacked
UPLOAD_LIMIT_ENV = "VAE_MAX_UPLOAD_MB"


def max_upload_bytes() -> int:
    """The largest upload accepted: ``$VAE_MAX_UPLOAD_MB`` megabytes (MiB, as Streamlit's
    ``server.maxUploadSize``), else MAX_ARCHIVE_BYTES. A value that is not a positive number is ignored."""
    text = os.environ.get(UPLOAD_LIMIT_ENV, "").strip()
    try:
        mb = float(text) if text else 0.0
    except ValueError:
        mb = 0.0
    if not (0 < mb < 1e7):  # also refuses NaN and inf
        return MAX_ARCHIVE_BYTES
    return max(1, int(mb * 1024 * 1024))


def megabytes(n: int) -> str:
    """A byte count in MB (MiB) with three significant digits: '0.146 MB', '3.2 MB', '200 MB'."""
    return f"{n / 2**20:.3g} MB"


def export_zip(path: str | os.PathLike) -> bytes:
    """The checkpoint folder as a .zip (flat: the known files only), to download or share."""
    import io
    import zipfile

    from .test_splits import archive_files

    folder = Path(path)
    written = archive_files(folder)  # a shared test split goes in as the archive's own sample.npz
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name in ARCHIVE_FILES:
            if name in written:
                zf.writestr(name, written[name])
            elif (folder / name).is_file():
                zf.write(folder / name, arcname=name)
    return buf.getvalue()


def import_zip(data: bytes, dest: str | os.PathLike, *, max_bytes: int | None = None) -> Checkpoint:
    """Unpack an uploaded checkpoint archive into ``dest`` and load it; on any problem nothing is left behind.

    Only the known file names are extracted (a member's folder part is ignored), so an archive cannot
    write outside ``dest``; the archive may hold the files at its top level or inside one folder.
    ``max_bytes`` (default: max_upload_bytes()) limits the archive and its unpacked size."""
    import io
    import zipfile

    if max_bytes is None:
        max_bytes = max_upload_bytes()
    if len(data) > max_bytes:
        raise CheckpointError(f"the archive is {megabytes(len(data))}; this server accepts at most {megabytes(max_bytes)} "
                              f"(set by {UPLOAD_LIMIT_ENV})")
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as e:
        raise CheckpointError(
            "the upload is not a .zip archive: download a checkpoint from the Models page "
            "(or zip a checkpoint folder) and upload that") from e
    members: dict[str, zipfile.ZipInfo] = {}
    for info in zf.infolist():
        base = info.filename.replace("\\", "/").rstrip("/").split("/")[-1]
        if base in ARCHIVE_FILES and not info.is_dir():
            members[base] = info
    missing = [n for n in (CONFIG_FILE, WEIGHTS_FILE, META_FILE) if n not in members]
    if missing:
        raise CheckpointError(f"the archive lacks {', '.join(missing)}: it is not a VAE Latent Explorer checkpoint")
    total = sum(m.file_size for m in members.values())
    if total > max_bytes:
        raise CheckpointError(f"the archive unpacks to {megabytes(total)}; this server accepts at most {megabytes(max_bytes)} "
                              f"(set by {UPLOAD_LIMIT_ENV})")
    final = Path(dest)
    tmp = _tmp_folder(final)
    tmp.mkdir(parents=True)
    try:
        for name, info in members.items():
            (tmp / name).write_bytes(zf.read(info))
        try:
            load_checkpoint(tmp)
        except CheckpointError as e:  # name the archive's files, not the server's temporary folder
            raise CheckpointError(str(e).replace(f"{tmp}/", "").replace(str(tmp), "the archive")) from e
        _swap_into_place(tmp, final)
    except zipfile.BadZipFile as e:
        shutil.rmtree(tmp, ignore_errors=True)
        raise CheckpointError(f"the archive is damaged ({e}); download it again") from e
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return load_checkpoint(final)
