"""The resnet family: shapes at every supported resolution, channel count and several depths; the
documented depth -> layer mapping (WGAN-GP's 101-layer setting); SNGAN's block structure."""

import pytest
import torch
from torch import nn

from ganlab.config import NetConfig
from ganlab.errors import ConfigError
from ganlab.networks import build_network
from ganlab.networks.resnet import FirstBlock, ResBlock, layout

Z_DIM = 8
N = 2


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


def build(role, shape, depth, width=4, **cfg):
    return build_network(role, NetConfig(arch="resnet", width=width, depth=depth, **cfg), shape, Z_DIM, True)


def weight_layers(net):
    """conv + linear layers on the main path: the 1x1 shortcut convs are not counted."""
    return sum(isinstance(m, (nn.Conv2d, nn.Linear)) and not name.endswith("shortcut")
               for name, m in net.named_modules())


def blocks(net):
    return [m for m in net.modules() if isinstance(m, (ResBlock, FirstBlock))]


@pytest.mark.parametrize("depth", [3, 9, 16])
@pytest.mark.parametrize("c", [1, 3])
@pytest.mark.parametrize("r", [28, 32, 64])
def test_maps_shape_to_shape(r, c, depth):
    G, D = build("G", (c, r, r), depth), build("D", (c, r, r), depth)
    x = G(100 * torch.randn(N, Z_DIM))
    assert x.shape == (N, c, r, r) and x.abs().max() <= 1
    score = D(x)
    assert score.shape == (N,) and torch.isfinite(score).all()
    score.sum().backward()
    for net in (G, D):
        assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in net.parameters())


@pytest.mark.parametrize("r, base", [(28, 7), (32, 4), (64, 4), (16, 4), (56, 7)])
@pytest.mark.parametrize("depth", [1, 5, 9, 10, 25, 101])
def test_depth_counts_weight_layers(r, base, depth):
    # B = max(n, (depth - 1) // 2) blocks, n = log2(R / b) resampling; G has 2B + 2 layers, D 2B + 1.
    n = (r // base).bit_length() - 1
    b = max(n, (depth - 1) // 2)
    _, _, got_base, per_grid = layout((1, r, r), depth)
    assert got_base == base and len(per_grid) == n and sum(per_grid) == b - n
    assert max(per_grid) - min(per_grid) <= 1 and per_grid == sorted(per_grid, reverse=True)  # coarse first
    if r <= 32:  # building is cheap at width 1; the count is the contract
        G, D = build("G", (1, r, r), depth, width=1), build("D", (1, r, r), depth, width=1)
        assert (weight_layers(G), weight_layers(D)) == (2 * b + 2, 2 * b + 1)
        assert len(blocks(G)) == len(blocks(D)) == b


def test_101_layer_setting():
    # WGAN-GP's robustness table, setting 7 (Gulrajani et al. 2017, Fig. 2): depth 101 -> 50 blocks.
    G, D = build("G", (1, 28, 28), 101, width=2), build("D", (1, 28, 28), 101, width=2)
    assert weight_layers(D) == 101 and weight_layers(G) == 102  # G's output conv: 2B + 2 is even
    assert len(blocks(G)) == len(blocks(D)) == 50
    assert layout((1, 28, 28), 101)[3] == [24, 24]  # non-resampling blocks on 7x7 and 14x14
    assert layout((3, 64, 64), 101)[3] == [12, 12, 11, 11]  # 4, 8, 16, 32


def test_sngan_structure():
    G, D = build("G", (3, 32, 32), 8, width=4), build("D", (3, 32, 32), 9, width=4)
    # G: linear to 4x4, three up-blocks (SNGAN's CIFAR G), BN -> ReLU -> conv3x3 -> tanh.
    assert isinstance(G[0], nn.Linear) and G[0].out_features == 4 * 4 * 4
    assert [b.resample for b in blocks(G)] == ["up"] * 3
    assert [type(m) for m in G[-4:]] == [nn.BatchNorm2d, nn.ReLU, nn.Conv2d, nn.Tanh]
    # D (depth 9: 4 blocks): optimised first block, down-blocks to the base grid, one more block
    # there, ReLU, sum pooling, linear.
    assert isinstance(blocks(D)[0], FirstBlock)
    assert [b.resample for b in blocks(D)[1:]] == ["down", "down", None]
    assert isinstance(D[-2], nn.Linear) and D[-2].in_features == 4
    assert not any(isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)) for m in D.modules())  # D default: none
    assert all(m.kernel_size == (1, 1) for name, m in G.named_modules() if name.endswith("shortcut"))
    # Non-resampling blocks have identity shortcuts; resampling ones a learnable 1x1 conv.
    for b in blocks(G) + blocks(D)[1:]:
        assert isinstance(b.shortcut, nn.Identity) == (b.resample is None)
    assert blocks(D)[0].shortcut.kernel_size == (1, 1)


def test_global_sum_pooling():
    # D sums its last features over the grid: a constant feature map scores as grid area x value.
    D = build("D", (1, 32, 32), 5, width=2)
    feats = torch.ones(1, 2, 4, 4)
    torch.testing.assert_close(D[-3](feats), torch.full((1, 2), 16.0))


@pytest.mark.parametrize("norm", ["batch", "layer", "none"])
def test_norm_options(norm):
    for role in ("G", "D"):
        net = build(role, (1, 28, 28), 7, norm=norm)
        assert any(isinstance(m, nn.BatchNorm2d) for m in net.modules()) == (norm == "batch")
        assert any(isinstance(m, nn.GroupNorm) for m in net.modules()) == (norm == "layer")
    D = build("D", (1, 28, 28), 7, norm="layer")
    x = torch.randn(3, 1, 28, 28)
    torch.testing.assert_close(D(x)[:1], D(x[:1]))  # per-sample scores, as gradient penalties assume


def test_activation_option():
    net = build("D", (1, 28, 28), 7, activation="tanh")
    assert any(isinstance(m, nn.Tanh) for m in net.modules())
    assert not any(isinstance(m, nn.ReLU) for m in net.modules())
    with pytest.raises(ConfigError, match=r"^G\.activation = 'gated' is not supported by the resnet network; expected one of: relu, leaky_relu, elu, tanh$"):
        build("G", (1, 28, 28), 7, activation="gated")  # the gate needs doubled convs: dcgan and mlp only


@pytest.mark.parametrize("shape", [(2,), (1,), (1, 48, 48), (2, 28, 28), (1, 28, 32), (28, 28), (1, 4, 4), (3, 7, 7)])
def test_rejects_unsupported_shapes(shape):
    for role in ("G", "D") if shape != (2, 28, 28) else ("G",):  # D judges any channels (PacGAN packs)
        with pytest.raises(ConfigError, match=r"^the resnet network does not support sample shape .*supported shapes are \(C, R, R\)") as err:
            build(role, shape, 7)
        assert str(tuple(shape)) in str(err.value) and str(err.value).count(". ") == 0  # one sentence
