"""Validation at load: data that cannot be trained on is refused with a one-line DataError that
names the file and what was expected, not found later as a diverged loss or a shape error.

Cases by class: non-finite points, out-of-range floats, bad labels, label/sample count mismatch,
empty datasets, zero-sized and absurd shapes. Files are written here in their real formats.
"""

import gzip
import pickle

import numpy as np
import pytest
import torch

from ganlab.config import DataConfig
from ganlab.data import Dataset, load_dataset
from ganlab.data.base import validate_dataset
from ganlab.errors import DataError, one_line
from test_data import make_cifar_folder, make_idx_folder, write_idx


def refused(cfg, *words):
    """The DataError message of load_dataset(cfg), checked to be one line naming cfg.path."""
    with pytest.raises(DataError) as info:
        load_dataset(cfg)
    msg = str(info.value)
    assert "\n" not in msg and msg == msg.strip(), msg
    assert cfg.path is None or str(cfg.path) in msg, msg
    for w in words:
        assert w in msg, msg
    return msg


def npz(tmp_path, name="d.npz", **arrays):
    np.savez(tmp_path / name, **arrays)
    return DataConfig(name="npz", path=str(tmp_path / name))


# ---- non-finite points -------------------------------------------------------------------------

@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_points_with_nan_or_inf_are_refused(tmp_path, bad):
    x = np.random.default_rng(0).normal(size=(50, 2))
    x[7, 1] = x[30, 0] = bad
    msg = refused(npz(tmp_path, x=x), "2 of 50 points", "row 7", "finite")
    assert "NaN or infinite" in msg


def test_finite_points_load():
    x = np.random.default_rng(0).normal(size=(50, 2))
    ds = validate_dataset(Dataset("p", torch.from_numpy(x).float()), "p.npz")
    assert ds.shape == (2,)


# ---- out-of-range floats -----------------------------------------------------------------------

def test_float64_points_beyond_float32_range_are_refused(tmp_path):
    x = np.zeros((4, 3))
    x[2, 2] = 1e300  # becomes inf in float32
    refused(npz(tmp_path, x=x), "row 2", "float32")


@pytest.mark.parametrize("lo, hi", [(0.0, 3.0), (-2.0, 1.0), (0.0, 255.0)])
def test_float_images_outside_unit_ranges_are_refused(tmp_path, lo, hi):
    x = np.linspace(lo, hi, 2 * 4 * 4).reshape(2, 4, 4)
    refused(npz(tmp_path, x=x), "expected [0, 1] or [-1, 1]")


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_float_images_with_nan_or_inf_are_refused(tmp_path, bad):
    x = np.full((2, 4, 4), 0.5, np.float32)
    x[1, 2, 3] = bad
    refused(npz(tmp_path, x=x), "NaN or infinite float pixels")


def test_integer_images_outside_bytes_are_refused(tmp_path):
    refused(npz(tmp_path, x=np.full((2, 4, 4), 300, np.int32)), "outside 0..255")


# ---- bad labels --------------------------------------------------------------------------------

@pytest.mark.parametrize("y, words", [([0, -1, 2], ("-1..2", "class indices")),
                                      ([0, 1, 2 ** 40], ("65535",))])
def test_npz_labels_negative_or_absurd_are_refused(tmp_path, y, words):
    cfg = npz(tmp_path, x=np.zeros((3, 4, 4), np.uint8), y=np.array(y, np.int64))
    refused(cfg, *words)


def test_npz_float_labels_are_refused(tmp_path):
    cfg = npz(tmp_path, x=np.zeros((3, 4, 4), np.uint8), y=np.array([0.0, 1.0, 2.5]))
    refused(cfg, "integer labels")


def test_mnist_labels_outside_its_ten_classes_are_refused(tmp_path):
    make_idx_folder(tmp_path, n=3, gz=False)
    write_idx(tmp_path / "train-labels-idx1-ubyte", 0x801, (3,), bytes([1, 10, 200]))
    refused(DataConfig(name="mnist", path=str(tmp_path)), "1..200", "0..9")


def test_cifar_labels_outside_its_ten_classes_are_refused(tmp_path):
    folder, _ = make_cifar_folder(tmp_path)
    (folder / "data_batch_4").write_bytes(pickle.dumps(
        {b"data": np.zeros((2, 3072), np.uint8), b"labels": [3, 11]}, protocol=2))
    refused(DataConfig(name="cifar10", path=str(folder)), "data_batch_4", "outside 0..9")


def test_mnist5k_csv_labels_outside_0_9_are_refused(tmp_path):
    rows = np.concatenate([np.zeros((2, 784), np.int64), [[3], [12]]], axis=1)
    path = tmp_path / "m.csv.gz"
    with gzip.open(path, "wt") as f:
        np.savetxt(f, rows, fmt="%d", delimiter=",")
    refused(DataConfig(name="mnist5k", path=str(path)), "labels outside 0..9")


def test_toy_labels_are_their_mixture_components():
    ds = load_dataset(DataConfig(name="grid25", n=500))
    assert ds.num_classes == 25 and 0 <= ds.labels.min() and ds.labels.max() < 25


# ---- label / sample count mismatch -------------------------------------------------------------

@pytest.mark.parametrize("n_labels", [2, 4])
def test_npz_label_count_must_match(tmp_path, n_labels):
    cfg = npz(tmp_path, x=np.zeros((3, 4, 4), np.uint8), y=np.arange(n_labels))
    refused(cfg, "expected 3 integer labels")


def test_idx_label_count_must_match(tmp_path):
    make_idx_folder(tmp_path, n=5, labels_n=4)
    refused(DataConfig(name="mnist", path=str(tmp_path)), "5 images but", "4 labels")


@pytest.mark.parametrize("labels", [[1, 2, 3], 7, b"\x01\x02", [[1], [2]], {1: 2}])
def test_cifar_labels_that_are_not_one_per_image_are_refused(tmp_path, labels):
    folder, _ = make_cifar_folder(tmp_path)
    (folder / "data_batch_1").write_bytes(pickle.dumps(
        {b"data": np.zeros((2, 3072), np.uint8), b"labels": labels}, protocol=2))
    refused(DataConfig(name="cifar10", path=str(folder)), "data_batch_1",
            "n integer b'labels'")


# ---- empty datasets ----------------------------------------------------------------------------

def test_idx_files_with_no_images_are_refused(tmp_path):
    make_idx_folder(tmp_path, n=0, gz=True)
    refused(DataConfig(name="mnist", path=str(tmp_path)), "no samples")


def test_cifar_batches_with_no_images_are_refused(tmp_path):
    folder, _ = make_cifar_folder(tmp_path, n=0)
    refused(DataConfig(name="cifar10", path=str(folder)), "no samples")


@pytest.mark.parametrize("x", [np.zeros((0, 4, 4), np.uint8), np.zeros((0, 2))])
def test_npz_with_no_samples_is_refused(tmp_path, x):
    refused(npz(tmp_path, x=x), "no samples")


def test_npz_with_no_arrays_is_refused(tmp_path):
    refused(npz(tmp_path), "holds no arrays")


def test_mnist5k_csv_with_no_rows_is_refused(tmp_path):
    path = tmp_path / "empty.csv.gz"
    path.write_bytes(gzip.compress(b""))
    refused(DataConfig(name="mnist5k", path=str(path)), "no rows")


def test_image_folder_with_no_images_is_refused(tmp_path):
    (tmp_path / "notes.txt").write_text("no images here")
    refused(DataConfig(name="images", path=str(tmp_path)), "contains no images")


# ---- zero-sized and absurd shapes --------------------------------------------------------------

@pytest.mark.parametrize("x", [np.zeros((3, 0, 4), np.uint8), np.zeros((3, 4, 0, 3), np.uint8),
                               np.zeros((3, 0))])
def test_npz_zero_sized_samples_are_refused(tmp_path, x):
    refused(npz(tmp_path, x=x), "has no elements")


def test_idx_zero_sized_images_are_refused(tmp_path):
    make_idx_folder(tmp_path, n=2, gz=False)
    write_idx(tmp_path / "train-images-idx3-ubyte", 0x803, (2, 0, 28), b"")
    refused(DataConfig(name="mnist", path=str(tmp_path)), "has no elements")


def test_npz_absurd_image_side_is_refused(tmp_path):
    refused(npz(tmp_path, x=np.zeros((1, 1, 9000), np.uint8)), "at most 8192 pixels")


@pytest.mark.parametrize("x", [np.float64(1.5), np.arange(6, dtype=np.uint8),
                               np.zeros((2, 3), np.uint8), np.zeros((2, 2, 2, 2, 2), np.uint8)])
def test_npz_arrays_that_are_neither_points_nor_images_are_refused(tmp_path, x):
    refused(npz(tmp_path, x=x))


def test_idx_header_declaring_more_than_the_gzip_can_hold_is_refused_before_reading(tmp_path):
    make_idx_folder(tmp_path, n=2)
    write_idx(tmp_path / "train-images-idx3-ubyte.gz", 0x803, (60000, 4096, 4096), b"\0" * 64)
    refused(DataConfig(name="mnist", path=str(tmp_path)), "more than a gzip file")


def test_npy_header_declaring_more_than_the_file_holds_is_refused(tmp_path):
    np.save(tmp_path / "n.npy", np.zeros((2, 4, 4), np.uint8))
    raw = (tmp_path / "n.npy").read_bytes().replace(b"(2, 4, 4)", b"(9999999999, 4, 4)", 1)
    (tmp_path / "n.npy").write_bytes(raw)
    refused(DataConfig(name="npz", path=str(tmp_path / "n.npy")), "more than the file")


# ---- one-line messages -------------------------------------------------------------------------

def test_one_line_collapses_whitespace_and_bounds_length():
    assert one_line("a\n  b\r\n\tc\x00d") == "a b c d"
    assert one_line("cannot identify image file <_io.BytesIO object at 0x7f00aa>") == \
        "cannot identify image file <...>"
    long = one_line("x" * 1000, 50)
    assert len(long) == 50 and long.endswith("...")
    assert "\n" not in str(DataError("line one\nline two")) == "line one line two"


def test_a_file_name_with_a_newline_gives_a_one_line_message(tmp_path):
    (tmp_path / "bad\nname.png").write_bytes(b"\x89PNG\r\n\x1a\n not an image")
    msg = refused(DataConfig(name="images", path=str(tmp_path)), "bad name.png",
                  "not a readable image")
    assert "<_io" not in msg
