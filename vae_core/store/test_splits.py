"""A dataset's test images stored once, for every checkpoint of that dataset.

The bundled models keep their whole test split (10,000 Fashion-MNIST images for each of three models),
so storing it in each folder would triple it. Instead the split lives in one file beside the checkpoints,
``<checkpoints>/test-splits/<name>.npz`` (the ``sample.npz`` format: ``images``, ``labels``,
``class_names``, and for a dataset with known factors ``factors`` and ``factor_names``), and each checkpoint's ``meta.json`` names it and pins its SHA-256::

    "shared_sample": {"name": "fashion-mnist", "sha256": "...", "count": 10000}

A checkpoint with its own ``sample.npz`` (every model trained by the user) uses that; a shared sample is
only read when there is none. The file is looked up beside the checkpoint's folder first, then beside the
bundled checkpoints, so a bundled model copied elsewhere still finds its images; the checksum decides
whether a file is the one the model names. Each file is read once per process and shared
by every model that names it.
"""
from __future__ import annotations

import hashlib
import io
import json
import re
import threading
import zipfile
from pathlib import Path

import numpy as np

from .files import META_FILE, SAMPLE_FILE, CheckpointError, Sample, file_sha256, read_sample

META_KEY = "shared_sample"
FOLDER = "test-splits"
_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
BUNDLED_ROOT = Path(__file__).resolve().parents[2] / "checkpoints"

_cache: dict[tuple[str, str], Sample] = {}
_lock = threading.Lock()


def reference(meta: dict) -> dict | None:
    """The checkpoint's ``shared_sample`` entry, checked; None when it names none."""
    ref = meta.get(META_KEY)
    if ref is None:
        return None
    if not (isinstance(ref, dict) and isinstance(ref.get("name"), str) and _NAME.match(ref["name"])
            and isinstance(ref.get("sha256"), str) and re.fullmatch(r"[0-9a-f]{64}", ref["sha256"])):
        raise CheckpointError(f"{META_FILE}: {META_KEY} must be {{'name': a plain file name, 'sha256': 64 hex "
                              f"digits}}, got {ref!r}; the checkpoint is damaged")
    return ref


def candidates(folder: Path, name: str) -> list[Path]:
    """Where a checkpoint in ``folder`` may find the shared sample ``name``, in order."""
    paths = [Path(folder).parent / FOLDER / f"{name}.npz", BUNDLED_ROOT / FOLDER / f"{name}.npz"]
    return list(dict.fromkeys(p.resolve() for p in paths))


def load(folder: str | Path, meta: dict) -> Sample | None:
    """The shared sample a checkpoint's meta names (None when it names none), read once per process."""
    ref = reference(meta)
    if ref is None:
        return None
    tried = []
    for path in candidates(Path(folder), ref["name"]):
        if not path.is_file():
            tried.append(f"{path} (missing)")
            continue
        key = (str(path), ref["sha256"])
        with _lock:
            if key in _cache:
                return _cache[key]
            if file_sha256(path) != ref["sha256"]:
                tried.append(f"{path} (other images: its SHA-256 differs)")
                continue
            sample = read_sample(path)
            _cache[key] = sample  # shared by every model that names it (never written to)
            return sample
    raise CheckpointError(f"{folder}: its test images, the shared sample {ref['name']!r}, were not found: tried "
                          f"{'; '.join(tried)}. Keep the checkpoints' {FOLDER}/ folder beside the checkpoint, or "
                          "run checkpoints/rebuild.sh")


def sha256_of(folder: str | Path) -> str | None:
    """The pinned SHA-256 of the checkpoint's shared sample, or None (its own sample.npz, or none)."""
    try:
        meta = json.loads((Path(folder) / META_FILE).read_text())
        ref = reference(meta)
    except (OSError, ValueError, CheckpointError):
        return None
    return ref["sha256"] if ref else None


def write(root: str | Path, name: str, sample: Sample) -> dict:
    """Store ``sample`` as the shared sample ``name`` under ``root`` (a checkpoints folder); returns the
    meta.json entry that names it. The file's bytes depend only on the images, labels and names."""
    if not _NAME.match(name):
        raise ValueError(f"name={name!r}: use lower-case letters, digits, '.', '_' and '-'")
    path = Path(root) / FOLDER / f"{name}.npz"
    path.parent.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    # np.savez_compressed stamps the time into the zip entries; fixed entries keep the file reproducible
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for key, value in sample.arrays().items():
            one = io.BytesIO()
            np.lib.format.write_array(one, value, allow_pickle=False)
            info = zipfile.ZipInfo(f"{key}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, one.getvalue(), compresslevel=9)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(buf.getvalue())
    tmp.replace(path)
    return {"name": name, "sha256": file_sha256(path), "count": int(len(sample.images))}


def archive_files(folder: str | Path) -> dict[str, bytes]:
    """For a checkpoint that names a shared sample: its ``sample.npz`` and a ``meta.json`` that pins it
    instead, so an exported archive holds its test images and loads anywhere. Empty otherwise."""
    folder = Path(folder)
    try:
        meta = json.loads((folder / META_FILE).read_text())
    except (OSError, ValueError):
        return {}
    if (folder / SAMPLE_FILE).is_file() or reference(meta) is None:
        return {}
    sample = load(folder, meta)
    buf = io.BytesIO()
    np.savez_compressed(buf, **sample.arrays())
    data = buf.getvalue()
    meta = {k: v for k, v in meta.items() if k != META_KEY}
    meta["sha256"] = {**meta.get("sha256", {}), SAMPLE_FILE: hashlib.sha256(data).hexdigest()}
    return {SAMPLE_FILE: data, META_FILE: (json.dumps(meta, indent=2) + "\n").encode()}
