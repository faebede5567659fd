"""Datasets: every source is a loader registered in DATASETS that returns an in-memory Dataset.

    from ganlab.data import load_dataset
    ds = load_dataset(DataConfig(name="ring8", n=10_000))
    x = ds.batch(torch.randint(len(ds), (64,)), "cpu")   # float32 [64, 2]

Loaders never download; `ganlab.data.download` fetches the known archives for online users.
"""

from ganlab.data.base import DATASETS, Dataset, pad_dataset
from ganlab.data import toy, embedded, images  # noqa: F401  (they register their datasets)


def load_dataset(cfg) -> Dataset:
    """The dataset named `cfg.name` (a DataConfig), loaded into memory, padded by `cfg.pad`."""
    return pad_dataset(DATASETS.lookup(cfg.name)(cfg), getattr(cfg, "pad", 0) or 0)


__all__ = ["DATASETS", "Dataset", "load_dataset"]
