"""Contracts of every entry of NETWORKS: shape to shape at each supported resolution and channel
count, raw [N] scores, gradients everywhere, normalisation options, helpful errors, DCGAN init."""

import pytest
import torch
from omegaconf import OmegaConf
from torch import nn

from ganlab.config import NetConfig
from ganlab.errors import ConfigError
from ganlab.networks import NETWORKS, build_network

Z_DIM = 16
N = 4  # > 1 so BatchNorm works in training mode
# Every registered network and the sample shapes it must support (small widths keep this fast).
SHAPES = {
    "mlp": [(2,), (1,), (1, 28, 28), (3, 32, 32)],
    "dcgan": [(1, 28, 28), (1, 32, 32), (3, 32, 32), (3, 64, 64)],
}
WIDTH = {"mlp": 16, "dcgan": 8}
CASES = [(arch, shape) for arch, shapes in SHAPES.items() for shape in shapes]
BATCHNORM = (nn.BatchNorm1d, nn.BatchNorm2d)


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


def build(role, arch, shape, image=True, **cfg):
    return build_network(role, NetConfig(arch=arch, width=WIDTH[arch], **cfg), shape, Z_DIM, image)


def has(net, kinds):
    return any(isinstance(m, kinds) for m in net.modules())


def test_every_network_is_tested():
    assert set(SHAPES) == set(NETWORKS)


@pytest.mark.parametrize("arch,shape", CASES)
def test_maps_shape_to_shape(arch, shape):
    G, D = build("G", arch, shape), build("D", arch, shape)
    x = G(100 * torch.randn(N, Z_DIM))  # large z: an unbounded output would leave [-1, 1]
    assert x.shape == (N, *shape)
    assert x.min() >= -1 and x.max() <= 1  # tanh output for image data
    for batch in (x, torch.rand(N, *shape) * 2 - 1):
        score = D(batch)
        assert score.shape == (N,)
        assert torch.isfinite(score).all()


@pytest.mark.parametrize("arch,shape", CASES)
def test_gradients_reach_every_parameter(arch, shape):
    G, D = build("G", arch, shape), build("D", arch, shape)
    D(G(torch.randn(N, Z_DIM))).sum().backward()
    for name, net in (("G", G), ("D", D)):
        for pname, p in net.named_parameters():
            assert p.grad is not None and p.grad.abs().sum() > 0, f"{name}.{pname} has no gradient"


@pytest.mark.parametrize("arch,shape", [("mlp", (2,)), ("dcgan", (1, 28, 28))])
def test_toy_output_is_linear(arch, shape):
    G = build("G", arch, shape, image=False)
    assert not has(G, nn.Tanh)
    if arch == "mlp":  # a linear output reaches beyond [-1, 1]
        assert G(100 * torch.randn(64, Z_DIM)).abs().max() > 1


@pytest.mark.parametrize("norm", ["batch", "layer", "none"])
@pytest.mark.parametrize("role", ["G", "D"])
@pytest.mark.parametrize("arch,shape", [("mlp", (2,)), ("dcgan", (1, 28, 28)), ("dcgan", (3, 32, 32))])
def test_norm_options(arch, shape, role, norm):
    net = build(role, arch, shape, norm=norm)
    out = net(torch.randn(N, Z_DIM) if role == "G" else torch.randn(N, *shape))
    assert out.shape == ((N, *shape) if role == "G" else (N,))
    assert has(net, BATCHNORM) == (norm == "batch")
    assert has(net, (nn.GroupNorm, nn.LayerNorm)) == (norm == "layer")


def test_default_norms():
    assert has(build("D", "dcgan", (1, 28, 28)), BATCHNORM)
    assert has(build("G", "dcgan", (1, 28, 28)), BATCHNORM)
    assert not has(build("D", "mlp", (2,)), BATCHNORM)
    assert not has(build("G", "mlp", (2,)), BATCHNORM)


@pytest.mark.parametrize("norm", ["layer", "none"])
@pytest.mark.parametrize("arch,shape", [("mlp", (2,)), ("dcgan", (1, 28, 28))])
def test_D_without_batchnorm_scores_each_sample_alone(arch, shape, norm):
    # Gradient penalties assume D(x_i) does not depend on the other samples of the batch.
    D = build("D", arch, shape, norm=norm)
    x = torch.randn(N, *shape)
    torch.testing.assert_close(D(x)[:1], D(x[:1]))


def test_dcgan_follows_radford():
    G, D = build("G", "dcgan", (1, 28, 28)), build("D", "dcgan", (1, 28, 28))
    for net in (G, D):
        assert not has(net, (nn.Linear, nn.MaxPool2d, nn.AvgPool2d))
    convs = [m for m in G if isinstance(m, nn.ConvTranspose2d)]
    assert convs[0].kernel_size == (7, 7) and convs[0].stride == (1, 1)  # projection 1x1 -> 7x7
    assert [c.out_channels for c in convs] == [16, 8, 1]  # 2w@7 -> w@14 -> C@28
    assert isinstance(G[-1], nn.Tanh) and isinstance(G[-2], nn.ConvTranspose2d)  # no BN on output
    assert isinstance(D[0], nn.Conv2d) and isinstance(D[1], nn.LeakyReLU)  # no BN on input
    assert D[1].negative_slope == 0.2
    assert all(not c.bias for c in convs[:-1])  # BatchNorm's shift replaces the bias
    assert [m.stride for m in D if isinstance(m, nn.Conv2d)] == [(2, 2), (2, 2), (1, 1)]


def test_activation_override():
    net = build("D", "dcgan", (1, 28, 28), activation="elu")
    assert has(net, nn.ELU) and not has(net, (nn.LeakyReLU, nn.ReLU))
    G = build("G", "mlp", (2,), activation="tanh", image=False)
    assert has(G, nn.Tanh) and not has(G, nn.ReLU)


def test_dcgan_init_std():
    G = build_network("G", NetConfig(width=64), (1, 28, 28), 100, True)
    D = build_network("D", NetConfig(width=64), (1, 28, 28), 100, True)
    for net in (G, D):
        for m in net.modules():
            if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
                w = m.weight.detach()
                torch.testing.assert_close(w.std().item(), 0.02, atol=0.002, rtol=0)
                torch.testing.assert_close(w.mean().item(), 0.0, atol=0.002, rtol=0)
                if m.bias is not None:
                    assert m.bias.abs().max() == 0
            if isinstance(m, nn.BatchNorm2d):
                torch.testing.assert_close(m.weight.mean().item(), 1.0, atol=0.01, rtol=0)
                assert m.bias.abs().max() == 0


@pytest.mark.parametrize("shape", [(2,), (1, 48, 48), (2, 28, 28), (1, 28, 32), (28, 28)])
def test_dcgan_rejects_unsupported_shapes(shape):
    with pytest.raises(ConfigError, match=r"sample shape .*supported shapes are \(C, R, R\)") as err:
        build("G", "dcgan", shape)
    assert str(tuple(shape)) in str(err.value)
    with pytest.raises(ConfigError):
        build("D", "dcgan", shape)


@pytest.mark.parametrize("arch", sorted(NETWORKS))
def test_bad_activation_and_norm(arch):
    shape = SHAPES[arch][0]
    with pytest.raises(ConfigError, match=r"D\.activation = 'leaky-relu'.*did you mean 'leaky_relu'.*"
                                          r"expected one of: relu, leaky_relu, elu, tanh"):
        build("D", arch, shape, activation="leaky-relu")
    with pytest.raises(ConfigError, match=r"G\.norm = 'batchnorm'.*did you mean 'batch'.*"
                                          r"expected one of: batch, layer, none"):
        build("G", arch, shape, norm="batchnorm")


def test_unknown_arch_and_bad_sizes():
    with pytest.raises(ConfigError, match=r"unknown network 'dcgann' \(did you mean 'dcgan'\?\)"):
        build_network("G", NetConfig(arch="dcgann"), (1, 28, 28), Z_DIM, True)
    with pytest.raises(ConfigError, match="D.width"):
        build_network("D", NetConfig(arch="dcgan", width=0), (1, 28, 28), Z_DIM, True)
    with pytest.raises(ConfigError, match="G.depth"):
        build_network("G", NetConfig(arch="mlp", depth=0), (2,), Z_DIM, False)


def test_accepts_omegaconf_config():
    cfg = OmegaConf.structured(NetConfig(arch="mlp", width=8))
    assert build_network("G", cfg, [2], Z_DIM, False)(torch.randn(N, Z_DIM)).shape == (N, 2)
