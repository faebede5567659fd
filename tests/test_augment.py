"""DiffAugment (Zhao et al. 2020): each op against its definition, differentiable, deterministic by
seed, refused on points, and the seam: D sees augmented reals and fakes, and resume stays exact."""

import pytest
import torch

from omegaconf import OmegaConf

from ganlab.training.augment import contrast, cutout, parse_policy, saturation, translation
from ganlab.errors import ConfigError
from ganlab.training.view import seeing


def _cfg(policy):
    return OmegaConf.create({"augment": policy, "pack": 1, "batch_size": 4})

pytestmark = pytest.mark.usefixtures("one_thread")


def test_translation_is_a_zero_filled_shift_by_whole_pixels():
    torch.manual_seed(0)
    x = torch.arange(2 * 1 * 8 * 8, dtype=torch.float64).reshape(2, 1, 8, 8) + 1  # no zeros inside
    y = translation(x)
    for i in range(2):
        # Recover the shift from where the content went, and check the whole image against it.
        found = None
        for dy in range(-1, 2):
            for dx in range(-1, 2):
                expected = torch.zeros(8, 8, dtype=torch.float64)
                src = x[i, 0, max(0, -dy):8 - max(0, dy), max(0, -dx):8 - max(0, dx)]
                expected[max(0, dy):8 - max(0, -dy), max(0, dx):8 - max(0, -dx)] = src
                if torch.equal(y[i, 0], expected):
                    found = (dy, dx)
        assert found is not None  # ratio 1/8 of 8 pixels: shifts of at most 1


def test_cutout_zeroes_one_square_of_half_the_side():
    torch.manual_seed(1)
    y = cutout(torch.ones(200, 3, 28, 28))
    zeros = (y == 0).all(dim=1)                                       # [N, H, W], all channels together
    assert ((y == 0) | (y == 1)).all()
    counts = zeros.flatten(1).sum(1)
    assert counts.max() == 14 * 14 and counts.min() > 0               # whole squares, some cut by the border
    rows, cols = zeros.any(2), zeros.any(1)                           # the zeroed region is one rectangle
    assert torch.equal(counts, rows.sum(1) * cols.sum(1))


def test_colour_ops_keep_the_mean_they_are_defined_around():
    torch.manual_seed(2)
    x = torch.rand(16, 3, 8, 8, dtype=torch.float64) * 2 - 1
    torch.testing.assert_close(contrast(x).mean(dim=(1, 2, 3)), x.mean(dim=(1, 2, 3)))
    torch.testing.assert_close(saturation(x).mean(dim=1), x.mean(dim=1))
    grey = x[:, :1]
    torch.testing.assert_close(saturation(grey), grey)  # one channel: nothing to saturate


def test_policy_is_differentiable_and_deterministic_by_seed():
    D = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 16 * 16, 1), torch.nn.Flatten(0))
    D_sees = seeing(D, _cfg("color,translation,cutout"), "image")
    x = torch.randn(4, 3, 16, 16, requires_grad=True)
    torch.manual_seed(3)
    a = D_sees(x)
    a.sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    torch.manual_seed(3)
    torch.testing.assert_close(D_sees(x), a)
    x = torch.randn(4, 3, 16, 16)
    torch.testing.assert_close(seeing(D, _cfg(None), "image")(x), D(x))  # no policy: D itself
    torch.testing.assert_close(seeing(D, _cfg(""), "image")(x), D(x))


def test_bad_policies_are_one_line_config_errors():
    with pytest.raises(ConfigError, match="'colour'.*did you mean 'color'"):
        parse_policy("colour,translation")
    with pytest.raises(ConfigError, match="points"):
        seeing(torch.nn.Identity(), _cfg("translation"), "points")


def test_training_with_augmentation_resumes_bit_exactly(run_cli, tmp_path):
    from ganlab import rundir
    from ganlab.utils.checkpoint import load_checkpoint

    args = ["--preset", "mnist5k-dcgan-ns", "--set", "G.width=8", "--set", "D.width=8", "--set", "augment=color,translation,cutout",
            "--set", "snapshot_kimg=0.256", "--set", "log_kimg=0.256", "--quiet"]
    assert run_cli("train", *args, "--kimg", "0.512", "--out", tmp_path / "a").code == 0
    assert run_cli("train", *args, "--kimg", "0.256", "--out", tmp_path / "b").code == 0
    (b,) = (tmp_path / "b").iterdir()
    assert run_cli("train", "--resume", b, "--kimg", "0.512", "--quiet").code == 0
    (a,) = (tmp_path / "a").iterdir()
    sa, sb = load_checkpoint(a / rundir.FINAL), load_checkpoint(b / rundir.FINAL)
    for key in sa["G"]:
        assert torch.equal(sa["G"][key], sb["G"][key]), key
    res = run_cli("train", "--preset", "toy-ring-ns", "--set", "augment=cutout", "--dry-run")
    assert res.code == 0  # validated per data at train time, not at parse time
    res = run_cli("train", "--preset", "toy-ring-ns", "--set", "augment=cutout", "--kimg", "0.1", "--quiet", "--out", tmp_path / "c")
    assert res.code == 2 and "points" in res.err and not (tmp_path / "c").exists()


def test_brightness_adds_one_offset_per_image_in_half_open_unit_range():
    from ganlab.training.augment import brightness

    torch.manual_seed(4)
    x = torch.rand(500, 3, 4, 4, dtype=torch.float64)
    shift = brightness(x) - x                                  # [N, C, H, W]
    per_image = shift.flatten(1)
    torch.testing.assert_close(per_image, per_image[:, :1].expand_as(per_image))  # one offset per image
    assert per_image[:, 0].min() >= -0.5 and per_image[:, 0].max() < 0.5 and per_image[:, 0].std() > 0.25
