"""Image datasets read from disk: MNIST / Fashion-MNIST (IDX) and any folder or .zip of image files
(CIFAR-10's pickles are in ganlab.data.cifar, .npz arrays in ganlab.data.arrays).

Every reader is strict: a truncated, corrupt or foreign file is a DataError that names the file and
says what was expected, never a reshape error or a silently shorter dataset, and a size declared in a header is checked
against what the file can hold before it is allocated. Nothing here
downloads (see ganlab.data.download) and nothing executes code from a data file.
"""

import gzip
import io
import math
import os
import struct
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
