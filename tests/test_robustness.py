"""WGAN-GP's robustness settings (Gulrajani et al. 2017, Fig. 2) as presets: each builds on 1x28x28
data, takes a D and a G step under each of the table's four objectives with finite losses and
non-zero gradients, and has the property that defines it."""

import pytest
import torch
from torch import nn

from ganlab.resolve import make_config
from ganlab.data.base import Dataset
from ganlab.networks.layers import Gated
from ganlab.objectives import build_objective, objective_of
from ganlab.presets import PRESETS, ROBUSTNESS_SETTINGS
from ganlab.training.models import build_models
from test_contracts import assert_d_and_g_step

# The table's columns: DCGAN (non-saturating), LSGAN, WGAN with clipping, WGAN-GP.
OBJECTIVES = ("wgan-gp", "nonsaturating", "lsgan", "wgan")
NORMS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.GroupNorm, nn.LayerNorm)
ACTIVATIONS = (nn.ReLU, nn.LeakyReLU, nn.ELU, nn.Tanh, Gated)
N = 8


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def data():
    torch.manual_seed(0)
    return Dataset("img", torch.randint(0, 256, (16, 1, 28, 28), dtype=torch.uint8), kind="image")


def config(name, **overrides):
    return make_config({**PRESETS[name], **overrides})


def models(name, data, **overrides):
    cfg = config(name, **overrides)
    obj = objective_of(cfg)
    return (*build_models(cfg, data, obj, torch.device("cpu")), cfg, obj)


def test_settings_are_the_papers_seven():
    assert len(ROBUSTNESS_SETTINGS) == 7
    for i, (name, (setting, _)) in enumerate(ROBUSTNESS_SETTINGS.items(), 1):
        assert name.startswith(f"robust-{i}-") and setting.startswith(f"({i}) ")
        assert name in PRESETS and "Gulrajani et al. 2017 Fig. 2" in PRESETS.descriptions[name]


@pytest.mark.parametrize("name", sorted(ROBUSTNESS_SETTINGS))
def test_preset_uses_the_wgan_gp_paper_defaults(name):
    cfg = config(name)
    assert (cfg.objective, cfg.data.name, cfg.n_critic) == ("wgan-gp", "mnist5k", None)
    assert build_objective(cfg.objective).n_critic == 5  # the objective's default
    for opt in (cfg.g_opt, cfg.d_opt):
        assert (opt.name, opt.lr, opt.beta1, opt.beta2) == ("adam", 1e-4, 0.0, 0.9)
    assert config(name, objective="lsgan").objective == "lsgan"  # the table's other columns


@pytest.mark.parametrize("objective", OBJECTIVES)
@pytest.mark.parametrize("name", sorted(ROBUSTNESS_SETTINGS))
def test_one_d_and_one_g_step(name, objective, data):
    small = {"G.width": 2, "D.width": 2} if "resnet" in name else {}  # the 101-layer nets
    G, D, cfg, obj = models(name, data, objective=objective, **small)
    assert_d_and_g_step(G, D, obj, cfg, data.batch(torch.arange(N), "cpu"))


def kinds(net, types):
    return [m for m in net.modules() if isinstance(m, types)]


def test_1_dcgan(data):
    G, D, *_ = models("robust-1-dcgan", data)
    assert kinds(G, nn.ConvTranspose2d) and kinds(G, nn.BatchNorm2d)
    assert kinds(D, nn.Conv2d) and kinds(D, nn.GroupNorm)  # layer norm: a gradient penalty
    _, D_ns, *_ = models("robust-1-dcgan", data, objective="nonsaturating")
    assert kinds(D_ns, nn.BatchNorm2d)


def test_2_g_without_bn_constant_filters(data):
    G, D, *_ = models("robust-2-g-nobn-constant", data)
    assert not kinds(G, NORMS)
    convs = kinds(G, nn.ConvTranspose2d)
    assert len(convs) == 3 and {c.out_channels for c in convs[:-1]} == {64}  # width 64 everywhere
    assert [c.in_channels for c in convs[1:]] == [64, 64]
    assert len({c.out_channels for c in kinds(D, nn.Conv2d)[:-1]}) > 1  # D is the plain DCGAN D


def test_3_g_mlp512(data):
    G, D, *_ = models("robust-3-g-mlp512", data)
    linears = kinds(G, nn.Linear)
    assert not kinds(G, (nn.Conv2d, nn.ConvTranspose2d)) and not kinds(G, NORMS)
    assert [lin.out_features for lin in linears] == [512] * 4 + [28 * 28]  # 4 hidden ReLU layers
    assert len(kinds(G, nn.ReLU)) == 4 and len(kinds(G, ACTIVATIONS)) == 5  # + the tanh output
    assert kinds(D, nn.Conv2d)


def test_4_no_normalisation(data):
    for objective in ("wgan-gp", "nonsaturating"):
        G, D, *_ = models("robust-4-no-norm", data, objective=objective)
        assert not kinds(G, NORMS) and not kinds(D, NORMS)


def test_5_gated_everywhere(data):
    G, D, *_ = models("robust-5-gated", data)
    assert len(kinds(G, Gated)) == 2 and len(kinds(D, Gated)) == 2  # every hidden layer of DCGAN-28
    assert not kinds(G, (nn.ReLU, nn.LeakyReLU, nn.ELU)) and not kinds(D, (nn.ReLU, nn.LeakyReLU, nn.ELU))
    assert kinds(G, nn.ConvTranspose2d)[0].out_channels == 2 * 128  # doubled before the gate


def test_6_tanh_everywhere(data):
    G, D, *_ = models("robust-6-tanh", data)
    for net in (G, D):
        acts = kinds(net, ACTIVATIONS)
        assert acts and all(type(a) is nn.Tanh for a in acts)
    assert len(kinds(G, nn.Tanh)) == 3 and len(kinds(D, nn.Tanh)) == 2


def test_7_resnet101(data):
    G, D, *_ = models("robust-7-resnet101", data, **{"G.width": 2, "D.width": 2})

    def weight_layers(net):  # the 1x1 shortcut convs are not counted
        return sum(isinstance(m, (nn.Conv2d, nn.Linear)) and not n.endswith("shortcut") for n, m in net.named_modules())

    assert weight_layers(D) == 101 and weight_layers(G) == 102  # 50 two-conv blocks each; see resnet.py
