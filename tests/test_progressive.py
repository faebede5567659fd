"""Progressive GAN (Karras et al. 2018): shapes at every stage, the growth schedule, exact fade-in
continuity, the family's layers against their closed forms, checkpoints across stages, and a short
run through the training loop that grows and logs resolution and alpha."""

import math

import pytest
import torch
import torch.nn.functional as F

from ganlab import rundir
from ganlab.config import NetConfig
from ganlab.resolve import make_config
from ganlab.data.base import Dataset
from ganlab.errors import ConfigError
from ganlab.networks import NETWORKS, build_network
from ganlab.networks import progressive as P  # registers "progressive" on import
from ganlab.training.loop import training_loop

Z_DIM = 8
N = 8


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


pytestmark = pytest.mark.usefixtures("one_thread")


def build(role, shape, width=4, image=True, **cfg):
    return build_network(role, NetConfig(arch="progressive", width=width, **cfg), shape, Z_DIM, image)


def phases(top):
    """A phase inside every stable and fade interval, their boundaries, and past the end."""
    return sorted({x / 2 for x in range(0, 4 * top + 3)} | {2 * top + 10.0})


def test_registered():
    assert "progressive" in NETWORKS


@pytest.mark.parametrize("c", [1, 3])
@pytest.mark.parametrize("resolution", [8, 16, 32, 64])
def test_shapes_at_every_stage(resolution, c):
    shape = (c, resolution, resolution)
    G, D = build("G", shape), build("D", shape)
    top = int(math.log2(resolution)) - 2
    seen = set()
    for phase in phases(top):
        stage = G.set_progress(phase)
        assert D.set_progress(phase) == stage
        seen.add(stage["resolution"])
        x = G(10 * torch.randn(N, Z_DIM))
        assert x.shape == (N, *shape) and x.min() >= -1 and x.max() <= 1  # tanh output, full size
        side = stage["resolution"]
        if side < resolution:  # the current image, nearest-upsampled: constant f x f blocks
            f = resolution // side
            torch.testing.assert_close(x, P.upsample(x[:, :, ::f, ::f], f), rtol=0, atol=0)
        for batch in (x, torch.rand(N, *shape) * 2 - 1):
            score = D(batch)
            assert score.shape == (N,) and torch.isfinite(score).all()
    assert seen == {4 * 2**k for k in range(top + 1)}


def test_schedule():
    top = 3  # 4 -> 32
    table = [
        (0.0, 0, 1.0), (0.99, 0, 1.0),          # 4x4 stable
        (1.0, 1, 0.0), (1.25, 1, 0.25),         # fade in 8x8
        (2.0, 1, 1.0), (2.5, 1, 1.0),           # 8x8 stable
        (3.5, 2, 0.5), (4.0, 2, 1.0),           # fade in 16x16, then stable
        (5.75, 3, 0.75), (6.0, 3, 1.0), (1e6, 3, 1.0),  # fade in 32x32, then stable for ever
    ]
    for phase, level, alpha in table:
        got_level, got_alpha = P.schedule(phase, top)
        assert got_level == level, phase
        assert got_alpha == pytest.approx(alpha), phase
    G = build("G", (1, 32, 32))
    assert G.set_progress(3.5) == {"resolution": 16, "alpha": 0.5}
    assert build("G", (1, 32, 32)).set_progress(1e9) == {"resolution": 32, "alpha": 1.0}


@pytest.mark.parametrize("shape", [(1, 32, 32), (3, 16, 16)])
def test_fade_in_starts_exactly_at_the_previous_stage_and_ends_at_the_next(shape):
    G, D = build("G", shape), build("D", shape)
    z, x = torch.randn(N, Z_DIM), torch.rand(N, *shape) * 2 - 1
    for level in range(1, G.top + 1):
        outs = {}
        for name, phase in (("prev", 2 * level - 2), ("start", 2 * level - 1), ("end", 2 * level - 1e-9),
                            ("next", 2 * level)):
            G.set_progress(phase), D.set_progress(phase)
            outs[name] = G(z), D(x), D(G(z))
        for a, b in zip(outs["prev"], outs["start"]):
            assert torch.equal(a, b), f"fade to level {level} is not continuous at alpha = 0"
        for a, b in zip(outs["end"], outs["next"]):
            torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)
        assert not torch.equal(outs["prev"][0], outs["next"][0])  # the new level does change G


def test_avg_pool_inverts_nearest_upsampling():
    # Why D can take full-size input at every stage: pooling G's upsampled image returns it exactly.
    x = torch.randn(N, 3, 4, 4)
    for factor in (2, 4, 8):
        y = P.upsample(x, factor)
        assert y.shape == (N, 3, 4 * factor, 4 * factor)
        for _ in range(int(math.log2(factor))):
            y = P.downsample(y)
        assert torch.equal(y, x)


def test_equalized_learning_rate():
    conv = P.EqualizedConv2d(256, 128, 3)
    fan_in = 256 * 9
    torch.testing.assert_close(conv.weight.std().item(), 1.0, atol=0.01, rtol=0)  # stored ~ N(0, 1)
    torch.testing.assert_close((conv.weight * conv.scale).std().item(), math.sqrt(2 / fan_in), rtol=0.01, atol=0)
    assert conv.bias.abs().max() == 0
    x = torch.randn(2, 256, 5, 5)
    torch.testing.assert_close(conv(x), F.conv2d(x, conv.weight * math.sqrt(2 / fan_in), conv.bias, padding=1))
    lin = P.EqualizedLinear(512, 64, gain=1.0)  # gain 1: to-RGB and final layers
    assert lin.scale == pytest.approx(1 / math.sqrt(512))
    v = torch.randn(3, 512)
    torch.testing.assert_close(lin(v), v @ (lin.weight / math.sqrt(512)).T + lin.bias)
    G = build("G", (3, 16, 16))
    assert all(rgb.scale == pytest.approx(1 / math.sqrt(rgb.in_channels)) for rgb in G.to_rgb)


def test_pixel_norm_closed_form():
    x = torch.randn(4, 6, 3, 3, dtype=torch.float64) * 5
    expected = x / torch.sqrt((x**2).mean(dim=1, keepdim=True) + 1e-8)
    torch.testing.assert_close(P.PixelNorm()(x), expected)
    torch.testing.assert_close((P.PixelNorm()(x) ** 2).mean(dim=1), torch.ones(4, 3, 3, dtype=torch.float64))
    z = torch.randn(5, 7)
    torch.testing.assert_close(P.PixelNorm()(z), z / torch.sqrt((z**2).mean(dim=1, keepdim=True) + 1e-8))


@pytest.mark.parametrize("n, group", [(8, 4), (4, 4), (2, 2), (6, 6), (1, 1)])
def test_minibatch_stddev_closed_form(n, group):
    x = torch.randn(n, 3, 2, 2)
    out = P.MinibatchStddev()(x)
    assert out.shape == (n, 4, 2, 2)
    assert torch.equal(out[:, :3], x)
    xd, m = x.double(), n // group  # by hand: sample i's group is {j : j = i mod m}
    for i in range(n):
        members = xd[[j for j in range(n) if j % m == i % m]]
        assert len(members) == group
        var = ((members - members.mean(0)) ** 2).mean(0)  # biased, per feature and pixel
        stat = torch.sqrt(var + 1e-8).mean()
        torch.testing.assert_close(out[i, 3].double(), stat.expand(2, 2), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("shape", [(1, 28, 28), (3, 32, 16), (2, 32, 32), (1, 4, 4), (1, 48, 48), (2,), (32, 32)])
def test_unsupported_shapes(shape):
    for role in ("G", "D") if shape != (2, 32, 32) else ("G",):  # D judges any channels (PacGAN packs)
        with pytest.raises(ConfigError, match=r"progressive network does not support sample shape .*power of two >= 8") as err:
            build(role, shape)
        assert str(tuple(shape)) in str(err.value)


def test_norm_and_activation_options():
    with pytest.raises(ConfigError, match=r"G\.norm = 'batch' is not supported by the progressive network"):
        build("G", (1, 8, 8), norm="batch")
    with pytest.raises(ConfigError, match=r"D\.activation = 'relus'"):
        build("D", (1, 8, 8), activation="relus")
    assert any(isinstance(m, P.PixelNorm) for m in build("G", (1, 8, 8)).modules())
    assert not any(isinstance(m, P.PixelNorm) for m in build("G", (1, 8, 8), norm="none").modules())
    assert any(isinstance(m, torch.nn.ELU) for m in build("D", (1, 8, 8), activation="elu").modules())
    assert isinstance(build("G", (1, 8, 8), image=False).out, torch.nn.Identity)


def test_channels_rule():
    assert P.level_channels(32, 16) == [128, 64, 32, 16]
    assert P.level_channels(64, 16) == [128, 128, 64, 32, 16]  # capped at 8 x width


def test_state_dict_saved_at_4x4_loads_at_32x32():
    shape = (1, 32, 32)
    G, D = build("G", shape), build("D", shape)
    G.set_progress(0.5), D.set_progress(0.5)
    z, x = torch.randn(N, Z_DIM), torch.rand(N, *shape) * 2 - 1
    G2, D2 = build("G", shape), build("D", shape)  # fresh: final stage, 32x32
    assert G2.set_progress(1e9)["resolution"] == 32
    G2.load_state_dict(G.state_dict())
    D2.load_state_dict(D.state_dict())
    assert (G2.level, D2.level) == (0, 0)  # the checkpoint carries its stage
    assert torch.equal(G2(z), G(z)) and torch.equal(D2(x), D(x))
    G2.set_progress(6.0)  # and the loaded net grows on from there
    assert G2(z).shape == (N, *shape)


def test_gradients_reach_the_active_levels_only():
    G, D = build("G", (1, 16, 16)), build("D", (1, 16, 16))
    G.set_progress(1.5), D.set_progress(1.5)  # fading in 8x8
    D(G(torch.randn(N, Z_DIM))).sum().backward()
    for net, rgb in ((G, G.to_rgb), (D, D.from_rgb)):
        for k, block in enumerate(net.blocks):
            used = k <= 1
            assert all((p.grad is not None) == used for p in block.parameters()), k
            assert all((p.grad is not None) == used for p in rgb[k].parameters()), k


def test_training_loop_grows_and_logs(tmp_path):
    data = Dataset("img16", torch.randint(0, 256, (256, 1, 16, 16), dtype=torch.uint8), kind="image")
    cfg = make_config({
        "G.arch": "progressive", "D.arch": "progressive", "G.width": 4, "D.width": 4, "z_dim": Z_DIM,
        "objective": "wgan-gp", "objective_args": {"drift": 0.001}, "n_critic": 1, "batch_size": 16,
        "kimg": 1.5, "phase_kimg": 0.25, "log_kimg": 0.125, "snapshot_kimg": 1.5, "ema_kimg": 0.1,
        "g_opt.lr": 1e-3, "d_opt.lr": 1e-3, "g_opt.beta1": 0.0, "d_opt.beta1": 0.0,
        "g_opt.beta2": 0.99, "d_opt.beta2": 0.99, "cpu_threads": 1,
    })
    training_loop(cfg, tmp_path, progress=False, dataset=data)
    records = rundir.read_metrics(tmp_path)
    assert all(math.isfinite(r["loss_D"]) for r in records)
    stages = [(r["resolution"], r["alpha"]) for r in records]
    sides = [s for s, _ in stages]
    assert sides == sorted(sides) and set(sides) == {4, 8, 16}
    assert any(0 < a < 1 for _, a in stages)  # a fade was logged mid-way
    assert stages[-1] == (16, 1.0)
    assert (tmp_path / rundir.FINAL).is_file()
