"""CIFAR-10 from its python pickles (cifar-10-python.tar.gz or the extracted cifar-10-batches-py):
read strictly (a truncated, corrupt or foreign file is a DataError naming it), and unpickled by an
unpickler that only builds numpy arrays and plain containers, so nothing in a data file executes."""

import gzip
import io
import math
import os
import pickle
import tarfile
from pathlib import Path

import numpy as np
import torch

from ganlab.data.base import DATASETS, DEFLATE_RATIO, MAX_MEMBER_BYTES, Dataset, check_split, reason, require_path
from ganlab.errors import DataError

# ---------------------------------------------------------------------------------------------
# CIFAR-10 (https://www.cs.toronto.edu/~kriz/cifar.html), python version: pickled dicts
# {b"data": uint8 [10000, 3072] (1024 R, 1024 G, 1024 B, row-major), b"labels": [10000] ints, ...}.

CIFAR_HINT = ("cifar-10-python.tar.gz or the extracted folder cifar-10-batches-py "
              "(from https://www.cs.toronto.edu/~kriz/cifar.html)")
CIFAR_BATCHES = {"train": [f"data_batch_{i}" for i in range(1, 6)], "test": ["test_batch"]}


def _numpy_attr(*names):
    # numpy 2 moved numpy.core to numpy._core; pickles name either, depending on who wrote them.
    for mod in ("numpy._core", "numpy.core"):
        try:
            obj = __import__(mod + "." + names[0], fromlist=[names[1]])
            return getattr(obj, names[1])
        except (ImportError, AttributeError):
            continue
    return None


def _latin1_encode(text, encoding="latin1"):
    # Python 3 pickles bytes at protocol < 3 as _codecs.encode(str, "latin1"); allow only that.
    if encoding not in ("latin1", "latin-1") or not isinstance(text, str):
        raise pickle.UnpicklingError(f"_codecs.encode with encoding {encoding!r} is not allowed")
    return text.encode("latin1")


class _NdarrayType:
    """Stands for numpy.ndarray in a pickle. An ndarray pickles as _reconstruct(ndarray, (0,), ...)
    then its bytes, so the class is only needed as that argument: calling ndarray(shape) directly
    would let a 100-byte file allocate any size."""


def _reconstruct(subtype, shape, dtype):
    if subtype is not _NdarrayType or math.prod(shape) > 1:
        raise pickle.UnpicklingError("_reconstruct is allowed only as numpy writes it: an empty "
                                     "ndarray whose bytes follow")
    return _numpy_attr("multiarray", "_reconstruct")(np.ndarray, shape, dtype)


_SAFE_GLOBALS = {
    **{(f"{m}.multiarray", "_reconstruct"): _reconstruct for m in ("numpy.core", "numpy._core")},
    **{(f"{m}.multiarray", "scalar"): _numpy_attr("multiarray", "scalar")
       for m in ("numpy.core", "numpy._core")},
    **{(f"{m}.numeric", "_frombuffer"): _numpy_attr("numeric", "_frombuffer")
       for m in ("numpy.core", "numpy._core")},
    ("numpy", "ndarray"): _NdarrayType,
    ("numpy", "dtype"): np.dtype,
    ("_codecs", "encode"): _latin1_encode,
}


class SafeUnpickler(pickle.Unpickler):
    """Builds numpy arrays, dtypes and builtin containers only: any other global (os.system,
    builtins.eval, subprocess.Popen, ...) is refused before it can be called."""

    def find_class(self, module, name):
        obj = _SAFE_GLOBALS.get((module, name))
        if obj is None:
            raise pickle.UnpicklingError(f"global '{module}.{name}' is not allowed in a data file")
        return obj


def safe_unpickle(raw: bytes, source: str):
    try:
        return SafeUnpickler(io.BytesIO(raw), encoding="bytes").load()
    except Exception as e:  # any failure of untrusted bytes is the file's fault
        raise DataError(f"{source} is not a valid CIFAR-10 python batch (corrupt, truncated or "
                        f"unsafe pickle): {reason(e)}") from e


def _cifar_batch(raw: bytes, source: str):
    d = safe_unpickle(raw, source)
    data = d.get(b"data") if isinstance(d, dict) else None
    labels = d.get(b"labels") if isinstance(d, dict) else None
    try:  # a list of ints in the real files; anything else a corrupt pickle may hold is refused
        labels = np.asarray(labels) if isinstance(labels, (list, tuple, np.ndarray)) else None
    except (ValueError, TypeError, OverflowError):  # ragged or mixed lists
        labels = None
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 \
            or data.shape[1] != 3072 or labels is None or labels.shape != (len(data),) \
            or (labels.size and labels.dtype.kind not in "iu"):
        raise DataError(f"{source} is not a CIFAR-10 batch: expected a dict with b'data' uint8 "
                        f"[n, 3072] and n integer b'labels'")
    if labels.size and (labels.min() < 0 or labels.max() > 9):
        raise DataError(f"{source} has labels outside 0..9")
    return data.reshape(-1, 3, 32, 32), labels.astype(np.int64)


class _TooLarge(Exception):
    pass


class _CappedReader:
    """A read-only stream that refuses any single read of more than `limit` bytes.

    tarfile reads a member, a long name or a pax header in one call of the size its header
    declares; behind a gzip stream that call allocates the size first, which a corrupt header can
    set to gigabytes.
    """

    def __init__(self, f, limit: int):
        self.f, self.limit = f, limit

    def read(self, n=-1):
        if n is None or n < 0 or n > self.limit:
            raise _TooLarge(n)
        return self.f.read(n)

    def seek(self, *args):
        return self.f.seek(*args)

    def tell(self):
        return self.f.tell()


def _read_tar_members(path: Path, names) -> dict:
    """{base name: bytes} of the members of a .tar or .tar.gz named `names` (any folder)."""
    found = {}
    with open(path, "rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        gzipped = fh.read(2) == b"\x1f\x8b"
        fh.seek(0)
        stream = gzip.GzipFile(fileobj=fh) if gzipped else fh
        limit = min(MAX_MEMBER_BYTES, DEFLATE_RATIO * size if gzipped else size)
        with tarfile.open(fileobj=_CappedReader(stream, limit), mode="r:") as tar:
            for member in tar:
                base = member.name.rsplit("/", 1)[-1]
                if member.isfile() and base in names and base not in found:
                    if member.size > limit:
                        raise _TooLarge(member.size)
                    found[base] = tar.extractfile(member).read()
                    if len(found) == len(names):
                        break  # the rest of a gzip stream need not be decompressed
    return found


def _read_cifar_raw(path: Path, names):
    """{batch name: bytes} from the tarball or the extracted folder; never extracts to disk."""
    if path.is_dir():
        for folder in (path, path / "cifar-10-batches-py"):
            if all((folder / n).is_file() for n in names):
                return {n: (folder / n).read_bytes() for n in names}
        if (path / "cifar-10-python.tar.gz").is_file():
            return _read_cifar_raw(path / "cifar-10-python.tar.gz", names)
        raise DataError(f"data.path: '{path}' has no {', '.join(names)}; expected {CIFAR_HINT}")
    try:
        found = _read_tar_members(path, names)
    except _TooLarge as e:
        raise DataError(f"{path} is corrupt: a header declares {e.args[0]} bytes, more than a "
                        f"CIFAR-10 tarball's files hold or the file can contain") from e
    except Exception as e:  # any failure of untrusted bytes (tarfile, gzip, zlib) is the file's
        raise DataError(f"{path} is not a readable CIFAR-10 tarball (truncated or corrupt?): "
                        f"{reason(e)}") from e
    missing = [n for n in names if n not in found]
    if missing:
        raise DataError(f"{path} has no {', '.join(missing)}; expected {CIFAR_HINT}")
    return found


@DATASETS.register("cifar10", "CIFAR-10 from cifar-10-python.tar.gz or cifar-10-batches-py in "
                              "data.path (Krizhevsky 2009; 50k train / 10k test, 3x32x32)")
def load_cifar10(cfg) -> Dataset:
    path = require_path(cfg.path, CIFAR_HINT)
    names = CIFAR_BATCHES[check_split(cfg.split)]
    raw = _read_cifar_raw(path, names)
    parts = [_cifar_batch(raw[n], f"{path}:{n}") for n in names]
    x = torch.from_numpy(np.concatenate([p[0] for p in parts]))
    y = torch.from_numpy(np.concatenate([p[1] for p in parts]))
    return Dataset(name="cifar10", data=x, labels=y, kind="image", num_classes=10)


# ---------------------------------------------------------------------------------------------
# A folder or .zip of image files (Pillow only).
