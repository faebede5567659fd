"""Image datasets read from disk: MNIST / Fashion-MNIST (IDX), CIFAR-10 (python pickles), any
folder or .zip of image files, and .npz arrays.

Every reader is strict: a truncated, corrupt or foreign file is a DataError that names the file and
says what was expected, never a reshape error or a silently shorter dataset. Nothing here
downloads (see ganlab.data.download) and nothing executes code from a data file: CIFAR's pickles
go through an unpickler that only builds numpy arrays and plain containers.
"""

import gzip
import io
import os
import pickle
import struct
import tarfile
import zipfile
import zlib
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps

from ganlab.data.base import DATASETS, Dataset, check_split, conform_images, require_path
from ganlab.errors import DataError

# ---------------------------------------------------------------------------------------------
# IDX (MNIST, Fashion-MNIST): http://yann.lecun.com/exdb/mnist/ -- a big-endian header
# 0x00 0x00 <type> <ndim>, then ndim uint32 sizes, then the data. Only type 0x08 (ubyte) is used.
IDX_IMAGES, IDX_LABELS = 0x00000803, 0x00000801

IDX_HINT = ("the folder holding {name}'s IDX files (train-images-idx3-ubyte[.gz], "
            "train-labels-idx1-ubyte[.gz], t10k-images-idx3-ubyte[.gz], t10k-labels-idx1-ubyte[.gz])")


def read_idx(path: Path, magic: int) -> np.ndarray:
    """The uint8 array of an IDX file (gzipped when its name ends in .gz), checked byte-exactly."""
    try:
        raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    except (OSError, EOFError, zlib.error) as e:
        raise DataError(f"{path} is not a readable gzip file (truncated or corrupt?): {e}") from e
    ndim = magic & 0xFF
    header = 4 + 4 * ndim
    if len(raw) >= 4:  # the magic number first: a wrong file is more likely than a short one
        (found,) = struct.unpack(">I", raw[:4])
        if found != magic:
            raise DataError(f"{path} is not an IDX {'image' if ndim == 3 else 'label'} file: "
                            f"magic number 0x{found:08x}, expected 0x{magic:08x}")
    if len(raw) < header:
        raise DataError(f"{path} is truncated: an IDX header of {header} bytes was expected, "
                        f"found {len(raw)} bytes")
    dims = struct.unpack(f">{ndim}I", raw[4:header])
    expected, got = int(np.prod(dims)), len(raw) - header
    if got != expected:
        what = "is truncated" if got < expected else "has trailing bytes"
        raise DataError(f"{path} {what}: header says {'×'.join(map(str, dims))} = {expected} "
                        f"bytes of data, found {got}")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims)


def _find_idx(folder: Path, stem: str, name: str) -> Path:
    # Standard names, gzipped or not; the Kaggle copies spell "images.idx3" with a dot.
    for candidate in (stem, stem + ".gz", stem.replace("-idx", ".idx"),
                      stem.replace("-idx", ".idx") + ".gz"):
        if (folder / candidate).is_file():
            return folder / candidate
    raise DataError(f"data.path: '{folder}' has no {stem}[.gz]; expected "
                    + IDX_HINT.format(name=name))


def load_idx_pair(folder: Path, split: str, name: str):
    """(uint8 [N, 1, H, W], int64 [N]) of one split of an MNIST-format folder."""
    prefix = "train" if split == "train" else "t10k"
    images_path = _find_idx(folder, f"{prefix}-images-idx3-ubyte", name)
    labels_path = _find_idx(folder, f"{prefix}-labels-idx1-ubyte", name)
    images, labels = read_idx(images_path, IDX_IMAGES), read_idx(labels_path, IDX_LABELS)
    if len(images) != len(labels):
        raise DataError(f"{images_path} has {len(images)} images but {labels_path} has "
                        f"{len(labels)} labels; expected the same count")
    return images[:, None], labels.astype(np.int64)


def _idx_loader(name: str, title: str):
    def load(cfg) -> Dataset:
        folder = require_path(cfg.path, IDX_HINT.format(name=title))
        if not folder.is_dir():
            raise DataError(f"data.path: '{cfg.path}' is a file; expected "
                            + IDX_HINT.format(name=title))
        images, labels = load_idx_pair(folder, check_split(cfg.split), title)
        x = conform_images(torch.from_numpy(images.copy()), cfg.resolution, cfg.channels)
        return Dataset(name=name, data=x, labels=torch.from_numpy(labels), kind="image")
    return load


DATASETS.register("mnist", "MNIST from its IDX files in data.path (LeCun et al. 1998; 60k train / "
                           "10k test, 1x28x28)")(_idx_loader("mnist", "MNIST"))
DATASETS.register("fashion-mnist", "Fashion-MNIST from its IDX files in data.path (Xiao et al. "
                                   "2017; 60k/10k, 1x28x28)")(_idx_loader("fashion-mnist",
                                                                         "Fashion-MNIST"))

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


_SAFE_GLOBALS = {
    **{(f"{m}.multiarray", "_reconstruct"): _numpy_attr("multiarray", "_reconstruct")
       for m in ("numpy.core", "numpy._core")},
    **{(f"{m}.multiarray", "scalar"): _numpy_attr("multiarray", "scalar")
       for m in ("numpy.core", "numpy._core")},
    **{(f"{m}.numeric", "_frombuffer"): _numpy_attr("numeric", "_frombuffer")
       for m in ("numpy.core", "numpy._core")},
    ("numpy", "ndarray"): np.ndarray,
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
                        f"unsafe pickle): {e}") from e


def _cifar_batch(raw: bytes, source: str):
    d = safe_unpickle(raw, source)
    data = d.get(b"data") if isinstance(d, dict) else None
    labels = d.get(b"labels") if isinstance(d, dict) else None
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 \
            or data.shape[1] != 3072 or labels is None or len(labels) != len(data):
        raise DataError(f"{source} is not a CIFAR-10 batch: expected a dict with b'data' uint8 "
                        f"[n, 3072] and n b'labels'")
    labels = np.asarray(labels, dtype=np.int64)
    if labels.size and (labels.min() < 0 or labels.max() > 9):
        raise DataError(f"{source} has labels outside 0..9")
    return data.reshape(-1, 3, 32, 32), labels


def _read_cifar_raw(path: Path, names):
    """{batch name: bytes} from the tarball or the extracted folder; never extracts to disk."""
    if path.is_dir():
        for folder in (path, path / "cifar-10-batches-py"):
            if all((folder / n).is_file() for n in names):
                return {n: (folder / n).read_bytes() for n in names}
        if (path / "cifar-10-python.tar.gz").is_file():
            return _read_cifar_raw(path / "cifar-10-python.tar.gz", names)
        raise DataError(f"data.path: '{path}' has no {', '.join(names)}; expected {CIFAR_HINT}")
    found = {}
    try:
        with tarfile.open(path, "r:*") as tar:
            for member in tar:
                base = member.name.rsplit("/", 1)[-1]
                if member.isfile() and base in names:
                    found[base] = tar.extractfile(member).read()
    except (tarfile.TarError, OSError, EOFError, zlib.error) as e:
        raise DataError(f"{path} is not a readable CIFAR-10 tarball (truncated or corrupt?): "
                        f"{e}") from e
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
    return Dataset(name="cifar10", data=conform_images(x, cfg.resolution, cfg.channels),
                   labels=y, kind="image")


# ---------------------------------------------------------------------------------------------
# A folder or .zip of image files (Pillow only).
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".webp", ".gif"}
FOLDER_HINT = "a folder or .zip of images (" + ", ".join(sorted(IMAGE_SUFFIXES)) + ")"


def _decode(raw: bytes, source: str, resolution: int, channels: int) -> np.ndarray:
    """uint8 [channels, resolution, resolution]: shorter side resized, centre cropped."""
    try:
        with Image.open(io.BytesIO(raw)) as img:
            img = img.convert("RGB" if channels == 3 else "L")  # GIF: the first frame
            img = ImageOps.fit(img, (resolution, resolution), method=Image.LANCZOS)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as e:
        raise DataError(f"{source} is not a readable image: {e}") from e
    a = np.asarray(img, dtype=np.uint8)
    return a[None] if a.ndim == 2 else a.transpose(2, 0, 1)  # [H, W, C] -> [C, H, W]


def _image_sources(path: Path, stack: ExitStack):
    """Sorted [(name, read())] of the image files under a folder or inside a zip."""
    if path.is_dir():
        files = sorted((p for p in path.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES
                        and p.is_file()), key=lambda p: p.relative_to(path).as_posix())
        return [(str(p), p.read_bytes) for p in files]
    if not zipfile.is_zipfile(path):
        raise DataError(f"data.path: '{path}' is neither a folder nor a zip; expected {FOLDER_HINT}")
    zf = stack.enter_context(zipfile.ZipFile(path))
    names = sorted(n for n in zf.namelist() if not n.endswith("/") and not
                   n.startswith("__MACOSX/") and os.path.splitext(n)[1].lower() in IMAGE_SUFFIXES)

    def reader(n):
        def read():
            try:
                return zf.read(n)
            except (zipfile.BadZipFile, zlib.error, OSError, EOFError) as e:
                raise DataError(f"{path}:{n} cannot be read from the zip: {e}") from e
        return read

    return [(f"{path}:{n}", reader(n)) for n in names]


@DATASETS.register("images", "any folder or .zip of png/jpg/jpeg/bmp/webp/gif images in "
                             "data.path, recursive, sorted; resized to data.resolution (64)")
def load_image_folder(cfg) -> Dataset:
    path = require_path(cfg.path, FOLDER_HINT)
    resolution = cfg.resolution or 64  # files may differ in size, so there is no "native" one
    channels = cfg.channels or 3
    if channels not in (1, 3):
        raise DataError(f"data.channels: {channels} is not supported; expected 1 (grey) or 3 (RGB)")
    with ExitStack() as stack:
        sources = _image_sources(path, stack)
        if not sources:
            raise DataError(f"data.path: '{path}' contains no images; expected {FOLDER_HINT}")
        # Pillow releases the GIL while decoding and resizing, so threads scale on large folders;
        # zipfile supports concurrent reads of one ZipFile.
        with ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1)) as pool:
            arrays = list(pool.map(lambda s: _decode(s[1](), s[0], resolution, channels),
                                   sources))
    return Dataset(name="images", data=torch.from_numpy(np.stack(arrays)), kind="image")


# ---------------------------------------------------------------------------------------------
# .npz arrays: x = images (or points), optional y = labels.
NPZ_HINT = ("an .npz file with array 'x' of images N×H×W, N×H×W×C or N×C×H×W "
            "(uint8, or float in [0, 1] or [-1, 1]) and optionally 'y' labels [N]")


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
    if not (np.isfinite(lo) and np.isfinite(hi)) or lo < -1 - 1e-3 or hi > 1 + 1e-3:
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
    try:
        # Our own handle: np.load leaks the one it opens when the file is not a valid archive.
        with open(path, "rb") as fh:
            f = np.load(fh, allow_pickle=False)
            if isinstance(f, np.ndarray):  # a plain .npy: images only
                x, y = f, None
            else:
                with f:
                    if not f.files:
                        raise DataError(f"{path} holds no arrays; expected {NPZ_HINT}")
                    x = f["x"] if "x" in f.files else f[f.files[0]]
                    y = f["y"] if "y" in f.files else None
    except DataError:
        raise
    except Exception as e:  # not a zip, object arrays (need pickle), truncated members, ...
        raise DataError(f"{path} is not a readable .npz without pickles: {e}") from e
    if len(x) == 0:
        raise DataError(f"{path}: the image array is empty")
    labels = None
    if y is not None:
        if y.shape != (len(x),) or y.dtype.kind not in "iu":
            raise DataError(f"{path}: 'y' has shape {y.shape} and dtype {y.dtype}; expected "
                            f"{len(x)} integer labels")
        labels = torch.from_numpy(y.astype(np.int64))
    if x.ndim == 2 and x.dtype.kind == "f":  # [N, D] points, e.g. a custom toy distribution
        return Dataset(name="npz", data=torch.from_numpy(x.astype(np.float32)), labels=labels)
    images = np.ascontiguousarray(_to_nchw(_to_uint8(x, str(path)), str(path)))
    data = conform_images(torch.from_numpy(images), cfg.resolution, cfg.channels)
    return Dataset(name="npz", data=data, labels=labels, kind="image")
