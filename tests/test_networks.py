"""Contracts of every entry of NETWORKS: shape to shape at each supported resolution and channel
count, raw [N] scores, gradients everywhere, normalisation options, helpful errors, DCGAN init;
spectral normalisation (any family), the gated activation and DCGAN's constant width."""

import io
import re

import pytest
import torch
from omegaconf import OmegaConf
from torch import nn

from ganlab.config import NetConfig
from ganlab.errors import ConfigError
from ganlab.networks import NETWORKS, build_network
from ganlab.networks.layers import Gated, Maxout

Z_DIM = 16
N = 4  # > 1 so BatchNorm works in training mode
# Every registered network and the sample shapes it must support (small widths keep this fast).
SHAPES = {
    "mlp": [(2,), (1,), (1, 28, 28), (3, 32, 32)],
    "dcgan": [(1, 28, 28), (1, 32, 32), (3, 32, 32), (3, 64, 64)],
    "resnet": [(1, 28, 28), (1, 32, 32), (3, 32, 32), (3, 64, 64)],
    "mlp-ae": [(2,), (1, 28, 28)],
    "dcgan-ae": [(1, 28, 28), (3, 32, 32), (3, 64, 64)],
    "progressive": [(1, 8, 8), (1, 32, 32), (3, 32, 32), (3, 64, 64)],
}
WIDTH = {"mlp": 16, "dcgan": 8, "resnet": 4, "mlp-ae": 16, "dcgan-ae": 8, "progressive": 4}
D_ONLY = {"mlp-ae": "mlp", "dcgan-ae": "dcgan"}  # auto-encoder D families -> the G family they pair with
CASES = [(arch, shape) for arch, shapes in SHAPES.items() for shape in shapes]
BATCHNORM = (nn.BatchNorm1d, nn.BatchNorm2d)


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


def build(role, arch, shape, image=True, **cfg):
    if role == "G" and arch in D_ONLY:
        arch = D_ONLY[arch]
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
            if unused_at_this_stage(net, pname):
                continue
            assert p.grad is not None and p.grad.abs().sum() > 0, f"{name}.{pname} has no gradient"


def unused_at_this_stage(net, pname):
    """Growing nets (Progressive GAN) hold a to-RGB / from-RGB layer per resolution; only the current
    level's (and, during a fade-in, the previous level's) take part in a forward pass."""
    match = re.match(r"(to|from)_rgb\.(\d+)\.", pname)
    return match is not None and int(match[2]) not in (net.level, net.level - (net.alpha < 1))


@pytest.mark.parametrize("arch,shape", [("mlp", (2,)), ("dcgan", (1, 28, 28))])
def test_toy_output_is_linear(arch, shape):
    G = build("G", arch, shape, image=False)
    assert not has(G, nn.Tanh)
    if arch == "mlp":  # a linear output reaches beyond [-1, 1]
        assert G(100 * torch.randn(64, Z_DIM)).abs().max() > 1


@pytest.mark.parametrize("norm", ["batch", "layer", "none"])
@pytest.mark.parametrize("role", ["G", "D"])
@pytest.mark.parametrize("arch,shape", [("mlp", (2,)), ("dcgan", (1, 28, 28)), ("dcgan", (3, 32, 32)),
                                        ("resnet", (1, 28, 28))])
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
    assert has(build("G", "resnet", (1, 28, 28)), BATCHNORM)
    assert not has(build("D", "resnet", (1, 28, 28)), (*BATCHNORM, nn.GroupNorm))  # SNGAN's D


@pytest.mark.parametrize("norm", ["layer", "none"])
@pytest.mark.parametrize("arch,shape", [("mlp", (2,)), ("dcgan", (1, 28, 28)), ("resnet", (1, 28, 28))])
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
    if shape != (2, 28, 28):  # D judges any number of channels (PacGAN packs): tests/test_pacgan.py
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
    with pytest.raises(ConfigError, match=r"unknown network 'dcgann' \(did you mean 'dcgan'"):
        build_network("G", NetConfig(arch="dcgann"), (1, 28, 28), Z_DIM, True)
    with pytest.raises(ConfigError, match="D.width"):
        build_network("D", NetConfig(arch="dcgan", width=0), (1, 28, 28), Z_DIM, True)
    with pytest.raises(ConfigError, match="G.depth"):
        build_network("G", NetConfig(arch="mlp", depth=0), (2,), Z_DIM, False)


def test_accepts_omegaconf_config():
    cfg = OmegaConf.structured(NetConfig(arch="mlp", width=8))
    assert build_network("G", cfg, [2], Z_DIM, False)(torch.randn(N, Z_DIM)).shape == (N, 2)


# --- Spectral normalisation (Miyato et al. 2018), applied by build_network to any family ---------

WEIGHTS = (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)


def spectral_norms(net):
    """Largest singular value of each conv/linear weight as the forward pass uses it, [out, -1]."""
    sigmas = []
    for m in net.modules():
        if isinstance(m, WEIGHTS):
            w = m.weight.detach().double()  # the normalised weight W / sigma(W)
            w = w.transpose(0, 1) if isinstance(m, nn.ConvTranspose2d) else w  # [in, out, k, k]
            sigmas.append(torch.linalg.matrix_norm(w.reshape(w.shape[0], -1), ord=2).item())
    return sigmas


SN_CASES = [(arch, role, shapes[0]) for arch, shapes in SHAPES.items() for role in ("G", "D")]


@pytest.mark.parametrize("arch,role,shape", SN_CASES)
def test_spectral_norm_bounds_every_weight(arch, role, shape):
    net = build(role, arch, shape, spectral_norm=True)  # G of a D-only family: its G family's
    n_weights = sum(isinstance(m, WEIGHTS) for m in net.modules())
    assert n_weights == sum(hasattr(m, "parametrizations") for m in net.modules())  # every one wrapped
    plain = spectral_norms(build(role, arch, shape))
    assert max(abs(s - 1) for s in plain) > 0.05  # without it the weights are not normalised
    layers = [m for m in net.modules() if isinstance(m, WEIGHTS)]
    u = [m.parametrizations.weight[0]._u.clone() for m in layers]
    with torch.no_grad():
        for _ in range(3):  # one power iteration per training-mode forward...
            net(torch.randn(N, Z_DIM) if role == "G" else torch.randn(N, *shape))
        assert any(not torch.equal(m.parametrizations.weight[0]._u, u0) for m, u0 in zip(layers, u))
        for _ in range(100):  # ... and per weight read: as ~100 forwards, without the convolutions
            [m.weight for m in layers]  # (spectral gaps near 0.93 need that many)
    net.eval()
    sigmas = spectral_norms(net)
    assert len(sigmas) == n_weights
    # The power iteration underestimates sigma(W), so W / sigma_est has norm >= 1, converging to 1.
    assert min(sigmas) > 1 - 1e-5 and max(sigmas) < 1.01, sigmas


def test_spectral_norm_d_gets_gradients_and_round_trips():
    shape = (1, 28, 28)
    D = build("D", "dcgan", shape, spectral_norm=True, norm="none")
    x = torch.randn(N, *shape)
    D(x).sum().backward()
    for pname, p in D.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, pname
    assert any(name.endswith("parametrizations.weight.original") for name, _ in D.named_parameters())

    # Checkpoint round trip: the weights and the power iteration's u, v buffers.
    state = D.state_dict()
    assert any(k.endswith("_u") for k in state) and any(k.endswith("_v") for k in state)
    buf = io.BytesIO()
    torch.save(state, buf)
    buf.seek(0)
    D2 = build("D", "dcgan", shape, spectral_norm=True, norm="none")
    D2.load_state_dict(torch.load(buf, weights_only=True))
    D.eval(), D2.eval()
    torch.testing.assert_close(D2(x), D(x), rtol=0, atol=0)


# --- Gated activation (WGAN-GP's multiplicative nets) and DCGAN's constant width ------------------

GATED_FAMILIES = ("dcgan", "mlp", "dcgan-ae", "mlp-ae")  # the auto-encoders reuse the dcgan and mlp blocks


def test_gated_unit():
    a, b = torch.randn(3, 2, 5), torch.randn(3, 2, 5)
    torch.testing.assert_close(Gated()(torch.cat([a, b], dim=1)), torch.sigmoid(a) * torch.tanh(b))


@pytest.mark.parametrize("role", ["G", "D"])
@pytest.mark.parametrize("arch,shape", [("dcgan", (1, 28, 28)), ("dcgan", (3, 64, 64)), ("mlp", (2,))])
def test_gated_activation(arch, shape, role):
    net, plain = build(role, arch, shape, activation="gated"), build(role, arch, shape)
    gates = [m for m in net.modules() if isinstance(m, Gated)]
    hidden = [m for m in plain.modules() if isinstance(m, (nn.ReLU, nn.LeakyReLU))]
    assert len(gates) == len(hidden) and not has(net, (nn.ReLU, nn.LeakyReLU))
    # Each layer before a gate is twice as wide; the layers after it see the plain widths.
    w_net = [m.weight.shape for m in net.modules() if isinstance(m, WEIGHTS)]
    w_plain = [m.weight.shape for m in plain.modules() if isinstance(m, WEIGHTS)]
    out_dim = [1 if arch == "dcgan" and role == "G" else 0]  # ConvTranspose2d: [in, out, k, k]
    assert [s[out_dim[0]] for s in w_net[:-1]] == [2 * s[out_dim[0]] for s in w_plain[:-1]]
    assert w_net[-1] == w_plain[-1]
    out = net(torch.randn(N, Z_DIM) if role == "G" else torch.randn(N, *shape))
    assert out.shape == ((N, *shape) if role == "G" else (N,))
    out.sum().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in net.parameters())


def test_maxout_unit_and_mlp_d():
    x = torch.tensor([[1.0, 5, 2, 0, 3, -1, -2, -3, -4, -5]])  # two units of 5 pieces
    assert torch.equal(Maxout(5)(x), torch.tensor([[5.0, -1]]))
    D = build("D", "mlp", (2,), activation="maxout")  # PacGAN's toy D: maxout of 5 pieces
    widths = [m.out_features for m in D.modules() if isinstance(m, nn.Linear)]
    plain = [m.out_features for m in build("D", "mlp", (2,)).modules() if isinstance(m, nn.Linear)]
    assert widths == [5 * w for w in plain[:-1]] + [1]
    assert D(torch.randn(N, 2)).shape == (N,)


@pytest.mark.parametrize("arch", sorted(NETWORKS))
def test_gated_refused_where_unsupported(arch):
    if arch in GATED_FAMILIES:
        return
    with pytest.raises(ConfigError, match=rf"^D\.activation = 'gated' is not supported by the {arch} network; "
                                          r"expected one of: relu, leaky_relu, elu, tanh$"):
        build_network("D", NetConfig(arch=arch, width=4, activation="gated"), (1, 32, 32), Z_DIM, True)


@pytest.mark.parametrize("shape", [(1, 28, 28), (3, 64, 64)])
def test_dcgan_constant_width(shape):
    def hidden_channels(net):  # out channels of every conv but the output one
        return [m.out_channels for m in net.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))][:-1]

    for role in ("G", "D"):
        constant = hidden_channels(build(role, "dcgan", shape, constant_width=True))
        default = hidden_channels(build(role, "dcgan", shape))
        assert constant == [WIDTH["dcgan"]] * len(default)
        assert sorted(set(default)) == [WIDTH["dcgan"] * 2**k for k in range(len(default))]  # doubling


@pytest.mark.parametrize("arch, shape", [("mlp-ae", (2,)), ("dcgan-ae", (1, 28, 28))])
def test_auto_encoder_applies_d_options(arch, shape):
    D = build("D", arch, shape, norm="layer", activation="gated")
    assert has(D.encoder, (nn.GroupNorm, nn.LayerNorm)) and has(D.encoder, Gated)
    assert D(torch.randn(N, *shape)).shape == (N,)
    with pytest.raises(ConfigError, match=rf"G\.arch = '{arch}' is a discriminator-only family"):
        build_network("G", NetConfig(arch=arch), shape, Z_DIM, True)
