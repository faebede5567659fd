"""Datasets: every source is a loader registered in DATASETS that returns an in-memory Dataset.

    from ganlab.data import load_dataset
    ds = load_dataset(DataConfig(name="ring8", n=10_000))
    x = ds.batch(torch.randint(len(ds), (64,)), "cpu")   # float32 [64, 2]

Loaders never download; `ganlab.data.download` fetches the known archives for online users.
"""

from dataclasses import replace

from ganlab.config.validation import config_check
from ganlab.data.base import DATASETS, Dataset, conform_images, pad_dataset, validate_dataset
from ganlab.data import toy, embedded, images, cifar, arrays, stacked  # noqa: F401  (they register their datasets)


def load_dataset(cfg) -> Dataset:
    """The dataset named `cfg.name` (a DataConfig), loaded into memory and checked (see
    `validate_dataset`), images resized to `cfg.resolution` and `cfg.channels`, padded by `cfg.pad`.
    """
    ds = DATASETS.lookup(cfg.name)(cfg)
    validate_dataset(ds, f"data.path '{cfg.path}'" if cfg.path else f"dataset {cfg.name!r}")
    if ds.kind == "image":  # before padding: the pad is added to the requested resolution
        ds = replace(ds, data=conform_images(ds.data, cfg.resolution, cfg.channels))
    return pad_dataset(ds, getattr(cfg, "pad", 0) or 0)


__all__ = ["DATASETS", "Dataset", "load_dataset"]


@config_check("data: the dataset's name")
def _check(cfg):
    DATASETS.lookup(cfg.data.name)
