"""Stacked-MNIST: 3-channel images whose channels are three independently drawn MNIST digits, so
the data have 10^3 = 1,000 modes (Metz et al. 2017; Srivastava et al. 2017, VEEGAN; Lin et al.
2018, PacGAN, Tables 2-3).

Stack i takes three digits chosen uniformly with replacement from the source (channel 0 = the
hundreds digit of the mode, channel 1 the tens, channel 2 the units) with
`torch.Generator().manual_seed(cfg.seed)`, so every run of a study trains on the same `cfg.n`
stacks; its label is the mode 100 a + 10 b + c of the three digit labels. The source is MNIST-5k
(embedded, no download) unless `data.path` names a folder of MNIST's IDX files, then the
`data.split` of full MNIST (VEEGAN stacks 128,000 images from all 70k digits; Metz et al. draw
from the 60k training digits on the fly).
"""

import torch

from ganlab.data import embedded  # noqa: F401  (the source loaders register themselves)
from ganlab.data import images as _images  # noqa: F401
from ganlab.data.base import DATASETS, Dataset
from ganlab.errors import ConfigError

DIGITS = 3                # channels, each one digit
MODES = 10 ** DIGITS      # 1,000
MAX_STACKS = 500_000      # 1.2 GB of uint8 images; VEEGAN's protocol uses 128,000


def mode_of(digit_labels: torch.Tensor) -> torch.Tensor:
    """int64 [N] modes 100 a + 10 b + c of digit labels [N, 3] (channel 0 the hundreds)."""
    weights = torch.tensor([10 ** (DIGITS - 1 - k) for k in range(DIGITS)], dtype=torch.int64)
    return (digit_labels.long() * weights).sum(dim=1)


def stack_digits(images: torch.Tensor, labels: torch.Tensor, n: int, seed: int):
    """(uint8 [n, 3, H, W], int64 [n] modes) of n stacks of digits drawn uniformly with
    replacement from images [M, 1, H, W] with digit labels [M]."""
    if not 1 <= n <= MAX_STACKS:
        raise ConfigError(f"data.n: {n} stacks is out of range for stacked-mnist; expected 1..{MAX_STACKS} "
                          f"(VEEGAN's protocol uses 128,000)")
    g = torch.Generator().manual_seed(seed)
    pick = torch.randint(len(images), (n, DIGITS), generator=g)    # [n, 3] source indices
    stacks = images[:, 0][pick]                                     # [n, 3, H, W]
    return stacks.contiguous(), mode_of(labels[pick])


def _source_digits(cfg):
    """(uint8 [M, 1, 28, 28], int64 [M]): MNIST-5k, or one split of full MNIST from data.path (read,
    and refused when missing or corrupt, by those datasets' own loaders)."""
    source = DATASETS.lookup("mnist5k" if cfg.path is None else "mnist")(cfg)
    return source.data, source.labels


@DATASETS.register("stacked-mnist", "Stacked-MNIST: three MNIST digits as the channels of one image, 1,000 "
                                    "modes (labels 100a+10b+c); cfg.n stacks drawn with cfg.seed from "
                                    "MNIST-5k, or from full MNIST in data.path; 3x28x28")
def load_stacked_mnist(cfg) -> Dataset:
    images, labels = _source_digits(cfg)
    stacks, modes = stack_digits(images, labels, cfg.n, cfg.seed)
    return Dataset(name="stacked-mnist", data=stacks, labels=modes, kind="image", num_classes=MODES)
