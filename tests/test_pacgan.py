"""PacGAN (Lin et al. 2018) at the what-D-sees seam: packing shapes and order, D built for the
packed input, penalties per packed example in closed form, refusals, and training contracts on
points and images with every kind of objective."""

import json

import pytest
import torch
from torch import nn

from ganlab.resolve import make_config
from ganlab.errors import ConfigError
from ganlab.presets import PRESETS
from ganlab.regularizers import gradient_penalty, r1_penalty
from ganlab.training.view import DView, pack, packed_shape
from ganlab.training.loop import training_loop

pytestmark = pytest.mark.usefixtures("one_thread")


def test_packing_puts_consecutive_samples_side_by_side():
    x = torch.arange(12.0).reshape(6, 2)  # 6 points
    assert torch.equal(pack(x, 3), torch.tensor([[0.0, 1, 2, 3, 4, 5], [6, 7, 8, 9, 10, 11]]))
    images = torch.randn(4, 3, 5, 5)
    packed = pack(images, 2)
    assert packed.shape == (2, 6, 5, 5) == (2, *packed_shape((3, 5, 5), 2))
    assert torch.equal(packed[1, 3:], images[3])  # example 1, second sample: channels 3..5
    assert pack(images, 1) is images


def test_gradient_penalty_is_taken_over_the_packed_input():
    """A linear D(y) = <w, y> on packs of m = 2 points: grad = w for every example, so the WGAN-GP
    term is weight * (||w|| - 1)^2 per packed example (not per raw sample, whose block norms differ)."""
    w = torch.tensor([3.0, 0.0, 0.0, 4.0], dtype=torch.float64)  # ||w|| = 5; the blocks' norms are 3 and 4
    D = DView(lambda y: y @ w, pack=2)
    real, fake = torch.randn(6, 2, dtype=torch.float64), torch.randn(6, 2, dtype=torch.float64)
    gp = gradient_penalty(10.0)(D, real, fake)
    torch.testing.assert_close(gp, torch.full((3,), 10.0 * (5 - 1) ** 2, dtype=torch.float64))
    r1 = r1_penalty(2.0)(D, real, fake)
    torch.testing.assert_close(r1, torch.full((3,), 0.5 * 2.0 * 25, dtype=torch.float64))


def test_gradient_penalty_interpolates_once_per_packed_example():
    seen = []
    D = DView(lambda y: seen.append(y) or y.sum(dim=1), pack=2)
    real, fake = torch.ones(8, 2), torch.zeros(8, 2)
    torch.manual_seed(0)
    gradient_penalty()(D, real, fake)
    x_hat = seen[0]  # [4, 4]: eps * 1 + (1 - eps) * 0 = eps, the same over each pack
    assert x_hat.shape == (4, 4) and torch.all(x_hat == x_hat[:, :1]) and len(set(x_hat[:, 0].tolist())) == 4


def test_view_without_packing_or_augmentation_is_d():
    D = nn.Sequential(nn.Linear(2, 1), nn.Flatten(0))
    x = torch.randn(5, 2)
    assert torch.equal(DView(D)(x), D(x))


def test_a_batch_that_does_not_split_into_packs_is_refused():
    with pytest.raises(ConfigError, match="batch_size = 10 does not split into packs of pack = 3; expected a multiple of 3"):
        make_config({"pack": 3, "batch_size": 10})
    with pytest.raises(ConfigError, match=r"pack = 0 is out of range; expected an integer in \[1, 1024\]"):
        make_config({"pack": 0})


def _train(tmp_path, preset, **extra):
    cfg = make_config({**PRESETS[preset], "kimg": 1.0, "log_kimg": 0.5, "snapshot_kimg": 1.0, **extra})
    record = training_loop(cfg, tmp_path, progress=False)
    rows = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert rows and all(torch.isfinite(torch.tensor([r["loss_D"], r["loss_G"]])).all() for r in rows)
    return record


@pytest.mark.parametrize("objective", ["nonsaturating", "wgan-gp", "wgan", "dragan", "lsgan-mm", "began"])
def test_packed_d_trains_on_points_with_every_kind_of_objective(objective, tmp_path):
    extra = {"objective": objective, "objective_args": {}, "n_critic": None}
    record = _train(tmp_path, "toy-ring-ns", pack=4, **extra)
    assert "modes" in record


def test_packed_dcgan_trains_on_images_with_augmentation(tmp_path):
    _train(tmp_path, "mnist5k-dcgan-ns", pack=2, augment="color,translation", **{"G.width": 16, "D.width": 16})


def test_packed_d_sees_pack_times_the_input():
    from ganlab.data import load_dataset
    from ganlab.objectives import build_objective
    from ganlab.training.models import build_models

    cfg = make_config({**PRESETS["toy-ring-ns"], "pack": 3, "batch_size": 255})
    G, D = build_models(cfg, load_dataset(cfg.data), build_objective(cfg.objective), torch.device("cpu"))
    assert D(torch.randn(7, 6)).shape == (7,)
    assert G(torch.randn(7, 2)).shape == (7, 2)


@pytest.mark.parametrize("arch, shape", [("dcgan", (1, 28, 28)), ("resnet", (3, 32, 32)), ("progressive", (3, 32, 32)),
                                         ("dcgan-ae", (1, 28, 28)), ("mlp", (1, 28, 28))])
def test_every_image_family_builds_a_d_for_packed_images(arch, shape):
    from omegaconf import OmegaConf

    from ganlab.config import NetConfig
    from ganlab.networks import build_network

    cfg = OmegaConf.to_object(OmegaConf.merge(OmegaConf.structured(NetConfig), {"arch": arch, "width": 8}))
    D = build_network("D", cfg, packed_shape(shape, 3), 16, True)
    assert D(torch.randn(2, *packed_shape(shape, 3))).shape == (2,)
