"""data.pad: images padded with background (0 -> -1 in batches) on every side; points refused."""

import pytest
import torch

from ganlab.config import DataConfig
from ganlab.resolve import make_config
from ganlab.data import load_dataset
from ganlab.data.base import Dataset, pad_dataset
from ganlab.errors import ConfigError


def test_mnist5k_padded_to_32():
    plain, padded = load_dataset(DataConfig()), load_dataset(DataConfig(pad=2))
    assert plain.shape == (1, 28, 28) and padded.shape == (1, 32, 32)
    assert len(padded) == len(plain) and torch.equal(padded.labels, plain.labels)
    assert torch.equal(padded.data[:, :, 2:30, 2:30], plain.data)
    x = padded.batch(torch.arange(16), "cpu")  # [16, 1, 32, 32] in [-1, 1]
    border = torch.ones(32, 32, dtype=torch.bool)
    border[2:30, 2:30] = False
    assert (x[:, :, border] == -1).all()


def test_pad_keeps_channels_and_dtype():
    data = torch.randint(0, 256, (5, 3, 8, 8), dtype=torch.uint8)
    out = pad_dataset(Dataset("rgb", data, kind="image"), 3)
    assert out.data.shape == (5, 3, 14, 14) and out.data.dtype == torch.uint8
    assert torch.equal(out.data[:, :, 3:11, 3:11], data) and out.data[:, :, :3].max() == 0
    assert pad_dataset(Dataset("rgb", data, kind="image"), 0).data is data


def test_pad_refuses_points_and_negative_values():
    with pytest.raises(ConfigError, match=r"data.pad = 2 applies to images only; dataset 'ring8' holds points"):
        load_dataset(DataConfig(name="ring8", n=100, pad=2))
    with pytest.raises(ConfigError, match=r"data.pad = -1 is out of range"):
        make_config({"data.pad": -1})


def test_lenet_features_of_padded_mnist_are_those_of_the_digits():
    """The lenet-mnist extractor takes MNIST padded to 32 (Progressive GAN's data) by its centre."""
    from ganlab.metrics.extractors import EXTRACTORS

    lenet = EXTRACTORS["lenet-mnist"]("cpu")
    x = torch.rand(6, 1, 28, 28) * 2 - 1
    padded = torch.nn.functional.pad(x, (2, 2, 2, 2), value=-1.0)
    a, b = lenet(x), lenet(padded)
    torch.testing.assert_close(a["features"], b["features"])
    torch.testing.assert_close(a["probs"], b["probs"])
