"""Download of the MNIST-style IDX files from public mirrors, checked by MD5.

Every file is streamed into a temporary ``.part`` file in the destination
folder, hashed while it arrives, and moved into place with ``os.replace``
only when its checksum matches, so a half-downloaded file is never read.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import tempfile
import urllib.error
import urllib.request
from pathlib import Path
from typing import Callable, Optional

from .errors import DatasetError

Progress = Callable[[int, Optional[int], str], None]

IDX_FILES: tuple[str, ...] = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)

# Mirror base URLs, tried in order; a file's URL is base + file name.
MIRRORS: dict[str, list[str]] = {
    "mnist": [
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
        "http://yann.lecun.com/exdb/mnist/",
    ],
    "fashion-mnist": [
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
        "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
    ],
    "kmnist": [
        "https://codh.rois.ac.jp/kmnist/dataset/kmnist/",
        "http://codh.rois.ac.jp/kmnist/dataset/kmnist/",
    ],
}

# MD5 of each published .gz file (the values torchvision checks).
CHECKSUMS: dict[str, dict[str, str]] = {
    "mnist": {
        "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
        "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
        "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
        "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
    },
    "fashion-mnist": {
        "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
        "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
        "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
        "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
    },
    "kmnist": {
        "train-images-idx3-ubyte.gz": "bdb82020997e1d708af4cf47b453dcf7",
        "train-labels-idx1-ubyte.gz": "e144d726b3acfaa3e44228e80efcd344",
        "t10k-images-idx3-ubyte.gz": "5c965bf0a639b31b8f53240b1b52f4d7",
        "t10k-labels-idx1-ubyte.gz": "7320c461ea6c1c855c0b718fb2a4b134",
    },
}

_CHUNK = 1 << 16
_USER_AGENT = "vae-latent-explorer"


def file_md5(path: Path) -> str:
    """MD5 hex digest of a file, read in chunks."""
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _stream_to(response, handle, name: str, progress: Progress | None) -> str:
    """Copy an HTTP response into an open file; return the MD5 of the bytes."""
    length = response.headers.get("Content-Length")
    total = int(length) if length and length.isdigit() else None
    digest = hashlib.md5(usedforsecurity=False)
    done = 0
    if progress is not None:
        progress(0, total, name)
    for chunk in iter(lambda: response.read(_CHUNK), b""):
        handle.write(chunk)
        digest.update(chunk)
        done += len(chunk)
        if progress is not None:
            progress(done, total, name)
    return digest.hexdigest()


def _reason(error: Exception) -> str:
    """A short human-readable reason for a failed request."""
    if isinstance(error, urllib.error.HTTPError):
        return f"HTTP {error.code} {error.reason}"
    return str(getattr(error, "reason", None) or error)


def download_file(
    url: str,
    dest: Path,
    md5: str,
    progress: Progress | None = None,
    timeout: float = 30.0,
) -> Path:
    """Download ``url`` to ``dest``; keep it only if its MD5 equals ``md5``.

    Raises DatasetError on network errors and on a checksum mismatch; in both
    cases nothing is left behind in the destination folder.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, part_name = tempfile.mkstemp(dir=dest.parent, prefix=dest.name + ".", suffix=".part")
    part = Path(part_name)
    try:
        request = urllib.request.Request(url, headers={"User-Agent": _USER_AGENT})
        with os.fdopen(fd, "wb") as handle, urllib.request.urlopen(request, timeout=timeout) as response:
            got = _stream_to(response, handle, dest.name, progress)
    except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as error:
        part.unlink(missing_ok=True)
        raise DatasetError(f"Could not download {url}: {_reason(error)}") from error
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    if got != md5.lower():
        part.unlink(missing_ok=True)
        raise DatasetError(
            f"Checksum mismatch for {dest.name} downloaded from {url}: expected MD5 {md5}, got {got}. "
            "The file was deleted; try again later or another mirror."
        )
    os.replace(part, dest)
    return dest


def _fetch_one(file_name: str, md5: str, dest_dir: Path, bases: list[str], progress: Progress | None) -> Path:
    """Download one file, trying each mirror base URL in turn."""
    failures = []
    for base in bases:
        url = base.rstrip("/") + "/" + file_name
        try:
            return download_file(url, dest_dir / file_name, md5, progress=progress)
        except DatasetError as error:
            failures.append(f"  - {error}")
    raise DatasetError(f"Every mirror failed for {file_name}:\n" + "\n".join(failures))


def fetch_dataset_files(
    name: str,
    dest_dir: str | os.PathLike,
    mirrors: list[str] | None = None,
    progress: Progress | None = None,
) -> dict[str, Path]:
    """Make sure the four IDX files of ``name`` are in ``dest_dir``; return their paths.

    Files already present with the right MD5 are kept; the others are downloaded
    from ``mirrors`` (default: ``MIRRORS[name]``).
    """
    if name not in CHECKSUMS:
        raise DatasetError(f"No download source for {name!r}; known: {', '.join(CHECKSUMS)}.")
    dest = Path(dest_dir)
    bases = list(mirrors) if mirrors is not None else MIRRORS[name]
    paths = {}
    for file_name, md5 in CHECKSUMS[name].items():
        target = dest / file_name
        if not (target.is_file() and file_md5(target) == md5):
            _fetch_one(file_name, md5, dest, bases, progress)
        paths[file_name] = target
    return paths
