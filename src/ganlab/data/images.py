"""Image datasets read from disk: MNIST / Fashion-MNIST (IDX), CIFAR-10 (python pickles), and any
folder or .zip of image files (.npz arrays are in ganlab.data.arrays).

Every reader is strict: a truncated, corrupt or foreign file is a DataError that names the file and
says what was expected, never a reshape error or a silently shorter dataset, and a size declared in a header is checked
against what the file can hold before it is allocated. Nothing here
downloads (see ganlab.data.download) and nothing executes code from a data file: CIFAR's pickles
go through an unpickler that only builds numpy arrays and plain containers.
"""

import gzip
import io
import math
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

from ganlab.data.base import (DATASETS, DEFLATE_RATIO, MAX_MEMBER_BYTES, MAX_PIXELS, Dataset,
                              check_split, check_zip_member, reason, require_path)
from ganlab.errors import ConfigError, DataError

# ---------------------------------------------------------------------------------------------
# IDX (MNIST, Fashion-MNIST): http://yann.lecun.com/exdb/mnist/ -- a big-endian header
# 0x00 0x00 <type> <ndim>, then ndim uint32 sizes, then the data. Only type 0x08 (ubyte) is used.
IDX_IMAGES, IDX_LABELS = 0x00000803, 0x00000801

IDX_HINT = ("the folder holding {name}'s IDX files (train-images-idx3-ubyte[.gz], "
            "train-labels-idx1-ubyte[.gz], t10k-images-idx3-ubyte[.gz], t10k-labels-idx1-ubyte[.gz])")


def _idx_dims(head: bytes, path: Path, magic: int) -> tuple:
    ndim = magic & 0xFF
    if len(head) >= 4:  # the magic number first: a wrong file is more likely than a short one
        (found,) = struct.unpack(">I", head[:4])
        if found != magic:
            raise DataError(f"{path} is not an IDX {'image' if ndim == 3 else 'label'} file: "
                            f"magic number 0x{found:08x}, expected 0x{magic:08x}")
    if len(head) < 4 + 4 * ndim:
        raise DataError(f"{path} is truncated: an IDX header of {4 + 4 * ndim} bytes was "
                        f"expected, found {len(head)} bytes")
    return struct.unpack(f">{ndim}I", head[4:])


def read_idx(path: Path, magic: int) -> np.ndarray:
    """The uint8 array of an IDX file (gzipped when its name ends in .gz), checked byte-exactly.

    The size the header declares is checked against what the file can hold before it is read, so
    a corrupt header is refused rather than decompressed into gigabytes.
    """
    header = 4 + 4 * (magic & 0xFF)
    raw = path.read_bytes()
    if path.suffix != ".gz":
        dims = _idx_dims(raw[:header], path, magic)
        body = memoryview(raw)[header:]
    else:
        try:
            with gzip.GzipFile(fileobj=io.BytesIO(raw)) as gz:
                dims = _idx_dims(gz.read(header), path, magic)
                size = math.prod(dims)
                if size > DEFLATE_RATIO * len(raw):
                    raise DataError(f"{path} is corrupt: its header says "
                                    f"{'×'.join(map(str, dims))} = {size} bytes of data, more than "
                                    f"a gzip file of {len(raw)} bytes can hold")
                body = gz.read(size + 1)  # one byte more: trailing data, and the CRC is checked
        except (OSError, EOFError, zlib.error) as e:
            raise DataError(f"{path} is not a readable gzip file (truncated or corrupt?): "
                            f"{reason(e)}") from e
    expected, got = math.prod(dims), len(body)
    if got != expected:
        what = "is truncated" if got < expected else "has trailing bytes"
        found = got if path.suffix != ".gz" or got < expected else "more"
        raise DataError(f"{path} {what}: header says {'×'.join(map(str, dims))} = {expected} "
                        f"bytes of data, found {found}")
    return np.frombuffer(body, dtype=np.uint8).reshape(dims)


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
        return Dataset(name=name, data=torch.from_numpy(images.copy()),
                       labels=torch.from_numpy(labels), kind="image", num_classes=10)
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
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".webp", ".gif"}
FOLDER_HINT = "a folder or .zip of images (" + ", ".join(sorted(IMAGE_SUFFIXES)) + ")"


def _decode(raw: bytes, source: str, resolution: int, channels: int) -> np.ndarray:
    """uint8 [channels, resolution, resolution]: shorter side resized, centre cropped.

    The size in the header is checked before the pixels are: a lossless coder packs at most
    8 x 1032 pixels into a byte (1-bit deflate), so a file declaring more is corrupt or a bomb.
    """
    try:
        with Image.open(io.BytesIO(raw)) as img:
            w, h = img.size
            if w * h > min(MAX_PIXELS, 8 * DEFLATE_RATIO * len(raw)):
                raise DataError(f"{source} declares {w}×{h} pixels, more than a {len(raw)}-byte "
                                f"image can hold or than {MAX_PIXELS} (corrupt header or "
                                f"decompression bomb)")
            img = img.convert("RGB" if channels == 3 else "L")  # GIF: the first frame
            img = ImageOps.fit(img, (resolution, resolution), method=Image.LANCZOS)
    except DataError:
        raise
    except Exception as e:  # Pillow's decoders raise many types on corrupt bytes
        raise DataError(f"{source} is not a readable image: {reason(e)}") from e
    a = np.asarray(img, dtype=np.uint8)
    return a[None] if a.ndim == 2 else a.transpose(2, 0, 1)  # [H, W, C] -> [C, H, W]


def _image_sources(path: Path, stack: ExitStack):
    """Sorted [(name, read(), relative path)] of the image files under a folder or inside a zip."""
    if path.is_dir():
        files = sorted((p for p in path.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES
                        and p.is_file()), key=lambda p: p.relative_to(path).as_posix())
        return [(str(p), p.read_bytes, p.relative_to(path).as_posix()) for p in files]
    if not zipfile.is_zipfile(path):
        raise DataError(f"data.path: '{path}' is neither a folder nor a zip; expected {FOLDER_HINT}")
    zf = _open_zip(path, stack)
    infos = sorted((i for i in zf.infolist() if not i.filename.endswith("/") and not
                    i.filename.startswith("__MACOSX/") and
                    os.path.splitext(i.filename)[1].lower() in IMAGE_SUFFIXES),
                   key=lambda i: i.filename)
    size = path.stat().st_size

    def reader(info):
        def read():
            check_zip_member(info, size, f"{path}:{info.filename}", MAX_MEMBER_BYTES)
            try:
                return zf.read(info)
            except Exception as e:  # zipfile, zlib, bz2, lzma on corrupt bytes
                raise DataError(f"{path}:{info.filename} cannot be read from the zip: "
                                f"{reason(e)}") from e
        return read

    return [(f"{path}:{i.filename}", reader(i), i.filename) for i in infos]


def _open_zip(path: Path, stack: ExitStack) -> zipfile.ZipFile:
    try:
        return stack.enter_context(zipfile.ZipFile(path))
    except Exception as e:  # BadZipFile, and what a corrupt central directory makes zipfile raise
        raise DataError(f"{path} is not a readable zip (truncated or corrupt?): {reason(e)}") from e


GREY_MODES = {"1", "L", "LA", "I", "I;16", "F"}  # Pillow modes read as one channel


def _native(source):
    """(side, channels) of the first image: its shorter side, and 1 for a grey mode, else 3."""
    name, read, _ = source
    raw = read()
    try:
        with Image.open(io.BytesIO(raw)) as img:
            return min(img.size), 1 if img.mode in GREY_MODES else 3
    except Exception as e:  # Pillow's decoders raise many types on corrupt bytes
        raise DataError(f"{name} is not a readable image: {reason(e)}") from e


@DATASETS.register("images", "any folder or .zip of png/jpg/jpeg/bmp/webp/gif images in "
                             "data.path, recursive, sorted; at the first image's size and colour "
                             "unless data.resolution / data.channels say otherwise (others are "
                             "resized and centre-cropped to it); one subfolder per class gives class labels")
def load_image_folder(cfg) -> Dataset:
    path = require_path(cfg.path, FOLDER_HINT)
    if cfg.channels not in (None, 1, 3):
        raise ConfigError(f"data.channels: {cfg.channels} is not supported; expected 1 (grey) or 3 "
                          f"(RGB)")
    with ExitStack() as stack:
        sources = _image_sources(path, stack)
        if not sources:
            raise DataError(f"data.path: '{path}' contains no images; expected {FOLDER_HINT}")
        side, colour = _native(sources[0]) if cfg.resolution is None or cfg.channels is None else (None, None)
        resolution, channels = cfg.resolution or side, cfg.channels or colour
        # Pillow releases the GIL while decoding and resizing, so threads scale on large folders;
        # zipfile supports concurrent reads of one ZipFile.
        with ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1)) as pool:
            arrays = list(pool.map(lambda s: _decode(s[1](), s[0], resolution, channels),
                                   sources))
    labels, classes = folder_labels([s[2] for s in sources])
    return Dataset(name="images", data=torch.from_numpy(np.stack(arrays)), kind="image", labels=labels,
                   num_classes=classes)


def folder_labels(relative_paths):
    """(int64 [N] labels, class count) when every image lies in a first-level subfolder and there
    are at least two of them (one subfolder per class, classes numbered in sorted name order, as
    ImageFolder does); (None, None) otherwise."""
    parts = [r.split("/") for r in relative_paths]
    if any(len(p) < 2 for p in parts):
        return None, None
    names = sorted({p[0] for p in parts})
    if len(names) < 2:
        return None, None
    index = {n: i for i, n in enumerate(names)}
    return torch.tensor([index[p[0]] for p in parts], dtype=torch.int64), len(names)
