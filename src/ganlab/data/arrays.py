""".npz and .npy arrays: images (uint8, or float in [0, 1] or [-1, 1]) or float points [N, D].

The .npy format is parsed here rather than by np.load: the shape in a header is checked against the
bytes the file holds before the array is allocated, and object arrays (which need pickle) are
refused before anything is read.
"""

import math
import warnings
import zipfile
from contextlib import ExitStack
from pathlib import Path

import numpy as np
import torch

from ganlab.data.base import DATASETS, Dataset, check_zip_member, reason, require_path
from ganlab.errors import DataError

# .npz arrays: x = images (or points), optional y = labels.
NPZ_HINT = ("an .npz file with array 'x' of images N×H×W, N×H×W×C or N×C×H×W "
            "(uint8, or float in [0, 1] or [-1, 1]) and optionally 'y' labels [N]")


def _read_npy(fp, limit: int, source: str) -> np.ndarray:
    """One array in the .npy format from `fp`, refused before allocation when it declares more
    than the `limit` bytes the file can hold, or an object dtype (which needs pickle)."""
    version = np.lib.format.read_magic(fp)
    if version not in ((1, 0), (2, 0)):
        raise ValueError(f"unsupported .npy format version {version}")
    read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                   else np.lib.format.read_array_header_2_0)
    with warnings.catch_warnings():  # "created on Python 2": a header numpy still parses
        warnings.simplefilter("ignore", UserWarning)
        shape, fortran, dtype = read_header(fp)
    if dtype.hasobject:
        raise DataError(f"{source} is not a readable .npz without pickles: it holds an array of "
                        f"dtype {dtype}; expected numbers")
    nbytes = math.prod(shape) * dtype.itemsize
    if dtype.itemsize == 0 or nbytes > limit:
        raise DataError(f"{source} is corrupt: it declares an array of shape {shape} and dtype "
                        f"{dtype} ({nbytes} bytes), more than the file's {limit} bytes hold")
    buf = bytearray(nbytes)  # writable, so torch.from_numpy needs no copy and warns of nothing
    view, got = memoryview(buf), 0
    while got < nbytes:
        k = fp.readinto(view[got:])
        if not k:
            raise DataError(f"{source} is truncated: the array of shape {shape} needs {nbytes} "
                            f"bytes, found {got}")
        got += k
    return np.frombuffer(buf, dtype=dtype).reshape(shape, order="F" if fortran else "C")


def _read_npz(path: Path):
    """(x, y or None) from an .npz (array 'x', else the first; 'y') or a plain .npy (x only)."""
    size = path.stat().st_size
    with open(path, "rb") as fh, ExitStack() as stack:
        magic = fh.read(6)
        fh.seek(0)
        if magic == b"\x93NUMPY":
            return _read_npy(fh, size, str(path)), None
        if not magic.startswith(b"PK"):
            raise DataError(f"{path} is neither an .npz (zip) nor an .npy file; expected "
                            f"{NPZ_HINT}")
        zf = stack.enter_context(zipfile.ZipFile(fh))
        arrays = {i.filename[:-4]: i for i in zf.infolist() if i.filename.endswith(".npy")}
        if not arrays:
            raise DataError(f"{path} holds no arrays; expected {NPZ_HINT}")

        def read(key):
            info, source = arrays[key], f"{path}:{key}"
            check_zip_member(info, size, source)
            with zf.open(info) as member:
                return _read_npy(member, info.file_size, source)

        return read("x" if "x" in arrays else next(iter(arrays))), \
            (read("y") if "y" in arrays else None)


def _to_uint8(x: np.ndarray, source: str) -> np.ndarray:
    if x.dtype == np.uint8:
        return x
    if x.dtype.kind in "iub":
        if x.size and (x.min() < 0 or x.max() > 255):
            raise DataError(f"{source} has integer pixels outside 0..255; expected {NPZ_HINT}")
        return x.astype(np.uint8)
    if x.dtype.kind != "f":
        raise DataError(f"{source} has dtype {x.dtype}; expected {NPZ_HINT}")
    lo, hi = (float(x.min()), float(x.max())) if x.size else (0.0, 0.0)
    if not (np.isfinite(lo) and np.isfinite(hi)):
        raise DataError(f"{source} has NaN or infinite float pixels; expected values in [0, 1] "
                        f"or [-1, 1]")
    if lo < -1 - 1e-3 or hi > 1 + 1e-3:
        raise DataError(f"{source} has float pixels in [{lo:g}, {hi:g}]; expected [0, 1] or [-1, 1]")
    x = (x.astype(np.float64) + 1) * 127.5 if lo < 0 else x.astype(np.float64) * 255
    return np.clip(np.rint(x), 0, 255).astype(np.uint8)


def _to_nchw(x: np.ndarray, source: str) -> np.ndarray:
    if x.ndim == 3:
        return x[:, None]
    if x.ndim == 4 and x.shape[-1] in (1, 3):  # channels last, the numpy/PIL convention
        return x.transpose(0, 3, 1, 2)
    if x.ndim == 4 and x.shape[1] in (1, 3):
        return x
    raise DataError(f"{source} has images of shape {x.shape}; expected {NPZ_HINT}")


@DATASETS.register("npz", "arrays from an .npz (or .npy) file in data.path: 'x' images "
                          "(N×H×W[×C] or N×C×H×W) or float points [N, D], optional 'y' labels")
def load_npz(cfg) -> Dataset:
    path = require_path(cfg.path, NPZ_HINT)
    if path.is_dir():
        raise DataError(f"data.path: '{path}' is a folder; expected {NPZ_HINT}")
    try:
        x, y = _read_npz(path)
    except DataError:
        raise
    except Exception as e:  # a corrupt zip or .npy header, truncated members, CRC errors, ...
        raise DataError(f"{path} is not a readable .npz without pickles: {reason(e)}") from e
    if x.ndim == 0:
        raise DataError(f"{path} holds a single number; expected {NPZ_HINT}")
    labels = None
    if y is not None:
        if y.shape != (len(x),) or y.dtype.kind not in "iu":
            raise DataError(f"{path}: 'y' has shape {y.shape} and dtype {y.dtype}; expected "
                            f"{len(x)} integer labels")
        labels = torch.from_numpy(y.astype(np.int64))
    if x.ndim == 2 and x.dtype.kind == "f":  # [N, D] points, e.g. a custom toy distribution
        with np.errstate(over="ignore"):  # beyond float32's range is inf: validate_dataset says so
            points = x.astype(np.float32)
        return Dataset(name="npz", data=torch.from_numpy(points), labels=labels)
    images = np.ascontiguousarray(_to_nchw(_to_uint8(x, str(path)), str(path)))
    return Dataset(name="npz", data=torch.from_numpy(images), labels=labels, kind="image")
