"""The in-memory dataset every loader returns, and the helpers loaders share.

Datasets here are small enough to hold in memory (MNIST is 47 MB as uint8, CIFAR-10 150 MB), so a
dataset is one tensor and a batch is one `index_select`: no DataLoader, no worker processes, no
per-sample Python. Images stay uint8 until they are batched (4x less memory and host-to-device
traffic than float32).
"""

import zipfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Optional

import torch
import torch.nn.functional as F

from ganlab.errors import ConfigError, DataError, one_line, suggest
from ganlab.utils.registry import Registry

# name -> loader(cfg: DataConfig) -> Dataset. Re-exported by ganlab.data; defined here so that the
# loader modules can register themselves without a circular import.
DATASETS = Registry("dataset")

SPLITS = ("train", "test")

# Bounds on what a data file may declare, checked before anything of that size is allocated: a
# corrupt header (or a decompression bomb) must be refused, not turned into gigabytes of zeros.
MAX_SIDE = 8192                 # pixels of an image side (8K; FFHQ is 1024)
MAX_PIXELS = MAX_SIDE ** 2      # pixels of one decoded image
MAX_CLASSES = 2 ** 16           # label values when the dataset does not state its class count
MAX_MEMBER_BYTES = 2 ** 30      # bytes of one file read from inside an archive
# Deflate (gzip, zip, PNG) expands a byte to at most 1032 bytes; a size declared beyond that is a lie.
DEFLATE_RATIO = 1032


@dataclass
class Dataset:
    """N samples held in memory.

    Points are float32 [N, D]; images are uint8 [N, C, H, W] in 0..255 and become float32 in
    [-1, 1] only in :meth:`batch`. Toy mixtures also carry their mode centres and component std so
    that the mode-coverage metric needs no second source of truth.
    """

    name: str
    data: torch.Tensor                      # [N, *shape]
    labels: Optional[torch.Tensor] = None   # [N] int64, when the source has labels
    kind: str = "points"                    # "points" | "image"
    modes: Optional[torch.Tensor] = None    # [M, D] float64 mode centres (toy mixtures only)
    mode_std: Optional[float] = None        # std of each mixture component (toy mixtures only)
    num_classes: Optional[int] = None       # labels lie in 0..num_classes-1, when the source says

    def __post_init__(self):
        # Catch loader bugs here rather than as a shape error deep inside a network.
        if self.kind not in ("points", "image"):
            raise ValueError(f"Dataset.kind must be 'points' or 'image', got {self.kind!r}")
        if self.kind == "image" and (self.data.dtype != torch.uint8 or self.data.dim() != 4):
            raise ValueError(f"image data must be uint8 [N, C, H, W], got {self.data.dtype} "
                             f"{tuple(self.data.shape)}")
        if self.kind == "points" and self.data.dtype != torch.float32:
            raise ValueError(f"point data must be float32, got {self.data.dtype}")
        if self.labels is not None and self.labels.shape != (len(self.data),):
            raise ValueError(f"labels must be [{len(self.data)}], got {tuple(self.labels.shape)}")

    @property
    def shape(self) -> tuple:
        """Shape of one sample: (2,), (1, 28, 28), (3, 32, 32), ..."""
        return tuple(self.data.shape[1:])

    def __len__(self):
        return self.data.shape[0]

    def batch(self, idx: torch.Tensor, device) -> torch.Tensor:
        """Samples `idx` [B] as float32 [B, *shape] on `device`; images mapped to [-1, 1].

        The gather happens where `data` lives (move `data` to the GPU once to gather there), the
        uint8 -> float conversion after the transfer, so only bytes cross the bus.
        """
        x = self.data.index_select(0, idx.to(self.data.device)).to(device, non_blocking=True)
        if self.kind == "image":
            return x.float().div_(127.5).sub_(1.0)  # 0..255 -> [-1, 1]
        return x


def reason(e: BaseException) -> str:
    """A library's exception as a short single line, to end a DataError sentence with."""
    return one_line(str(e) or type(e).__name__, 160)


def validate_dataset(ds: Dataset, source: str) -> Dataset:
    """`ds` itself, or a DataError naming `source` when its content cannot be trained on.

    The checks every loader would otherwise repeat: at least one sample, no zero-sized or absurd
    sample shape, finite points (a NaN in the data otherwise surfaces as a diverged loss that
    blames the learning rate), and labels inside the class range.
    """
    if len(ds) == 0:
        raise DataError(f"{source} holds no samples; expected at least one")
    if ds.kind == "points" and ds.data.dim() != 2:
        raise DataError(f"{source} holds points of shape {tuple(ds.data.shape)}; expected [N, D]")
    if 0 in ds.shape:
        raise DataError(f"{source} holds samples of shape {ds.shape}, which has no elements; "
                        f"expected every dimension to be at least 1")
    if ds.kind == "image":
        c, h, w = ds.shape
        if c not in (1, 3) or max(h, w) > MAX_SIDE:
            raise DataError(f"{source} holds images of shape {ds.shape}; expected 1 or 3 channels "
                            f"and sides of at most {MAX_SIDE} pixels")
    else:
        finite = torch.isfinite(ds.data).all(dim=1)  # [N]
        if not finite.all():
            bad = (~finite).nonzero().flatten()
            raise DataError(f"{source} has {len(bad)} of {len(ds)} points with NaN or infinite "
                            f"coordinates (the first at row {bad[0].item()}); expected finite "
                            f"float32 values")
    if ds.labels is not None:
        classes = ds.num_classes or MAX_CLASSES
        lo, hi = ds.labels.min().item(), ds.labels.max().item()
        if lo < 0 or hi >= classes:
            raise DataError(f"{source} has labels in {lo}..{hi}; expected class indices in "
                            f"0..{classes - 1}")
    return ds


def check_zip_member(info: zipfile.ZipInfo, archive_size: int, source: str, limit=None):
    """A DataError when the sizes in a member's header cannot be true for an archive of
    `archive_size` bytes (or exceed `limit`), checked before zipfile reads or inflates it.

    Used for every zip a reader opens (image archives, .npz).
    """
    inflated = info.file_size
    if info.compress_type == zipfile.ZIP_STORED:
        possible = info.compress_size
    elif info.compress_type == zipfile.ZIP_DEFLATED:
        possible = DEFLATE_RATIO * info.compress_size + 64
    else:  # bzip2 and lzma expand further; only the archive's own size bounds their input
        possible = inflated
    if info.compress_size > archive_size or inflated > possible \
            or (limit is not None and inflated > limit):
        raise DataError(f"{source} is corrupt: its zip header declares {inflated} bytes from "
                        f"{info.compress_size} stored bytes in an archive of {archive_size}")


def require_path(path, expected: str) -> Path:
    """`path` as a Path, or a DataError when it is unset or missing.

    `expected` completes "expected ...", e.g. "the folder holding MNIST's IDX files (...)".
    """
    if path is None:
        raise DataError(f"data.path is not set; expected {expected}")
    p = Path(path).expanduser()
    if not p.exists():
        raise DataError(f"data.path: '{path}' does not exist; expected {expected}")
    return p


def check_split(split: str) -> str:
    if split not in SPLITS:
        raise ConfigError(f"data.split: unknown split {split!r}{suggest(split, SPLITS)}; "
                          f"expected one of: {', '.join(SPLITS)}")
    return split


def conform_images(x: torch.Tensor, resolution: Optional[int], channels: Optional[int],
                   chunk_elements: int = 2 ** 26) -> torch.Tensor:
    """uint8 [N, C, H, W] -> uint8 [N, channels, resolution, resolution]; None keeps the native.

    Used when a config asks for another size than the files have (e.g. MNIST at 32x32 for a DCGAN
    that halves down to 4x4). Non-square images are resized on their shorter side and centre
    cropped. Grey from RGB uses ITU-R 601 luma, as Pillow's convert("L") does. The float32 copy is
    made in chunks of images of at most `chunk_elements` values in all (256 MB).
    """
    n, c, h, w = x.shape
    if channels is not None and channels not in (1, 3):
        raise ConfigError(f"data.channels: {channels} is not supported; expected 1 (grey) or 3 (RGB)")
    if resolution is not None and resolution < 1:
        raise ConfigError(f"data.resolution: {resolution} must be a positive number of pixels")
    if c not in (1, 3) and channels is not None and channels != c:
        raise DataError(f"cannot convert {c}-channel images to {channels} channels")
    resize = resolution is not None and (h, w) != (resolution, resolution)
    if not resize and (channels is None or channels == c):
        return x
    sh, sw = h, w
    if resize:
        s = resolution / min(h, w)
        sh, sw = max(resolution, round(h * s)), max(resolution, round(w * s))
    chunk = max(1, chunk_elements // (3 * max(sh * sw, h * w)))
    out = []
    for part in x.split(chunk):
        y = part.float()
        if channels == 1 and c == 3:
            y = (y * torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)).sum(1, keepdim=True)
        elif channels == 3 and c == 1:
            y = y.expand(-1, 3, -1, -1)
        if resize:
            # antialias=True: a plain bilinear downscale aliases (it samples, not averages).
            y = F.interpolate(y, size=(sh, sw), mode="bilinear", align_corners=False,
                              antialias=True)
            top, left = (sh - resolution) // 2, (sw - resolution) // 2
            y = y[:, :, top:top + resolution, left:left + resolution]
        out.append(y.round_().clamp_(0, 255).to(torch.uint8))
    return torch.cat(out)


def pad_dataset(ds: Dataset, pad: int) -> Dataset:
    """`ds` with every image padded by `pad` pixels of value 0 on each side ([N, C, H, W] ->
    [N, C, H + 2 pad, W + 2 pad]); 0 maps to -1 in batches.

    0 is the background of MNIST and Fashion-MNIST, so `data.pad=2` gives the 1x32x32 digits that
    LeNet-5 used and that networks halving down to 4x4 need; natural images get a black border.
    """
    if pad < 0:
        raise ConfigError(f"data.pad = {pad!r} is out of range; expected an integer >= 0")
    if pad == 0:
        return ds
    if ds.kind != "image":
        raise ConfigError(f"data.pad = {pad} applies to images only; dataset {ds.name!r} holds points of "
                          f"shape {ds.shape} (expected data.pad=0)")
    return replace(ds, data=F.pad(ds.data, (pad, pad, pad, pad), value=0))
