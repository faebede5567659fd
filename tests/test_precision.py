"""Precision and memory-format options of the loop, on this CPU: fp16 autocast with a gradient
scaler per network (penalties' D passes in fp32), bf16, channels-last, deterministic kernels.
The same paths on a GPU: tests/test_cuda.py (skipped without one)."""

import pytest
import torch
from torch import nn

from ganlab.resolve import make_config
from ganlab.training.distributed import World
from ganlab.errors import ConfigError
from ganlab.regularizers import dragan_penalty, gradient_penalty, r1_penalty
from ganlab.training.loop import training_loop
from ganlab.training.state import Update
from ganlab.utils.checkpoint import load_checkpoint

pytestmark = pytest.mark.usefixtures("one_thread")

TOY = {"data.name": "ring8", "G.arch": "mlp", "D.arch": "mlp", "G.width": 32, "D.width": 32, "z_dim": 4,
       "batch_size": 64, "log_kimg": 0.32, "snapshot_kimg": 0.64, "tensorboard": False, "cpu_threads": 1}


@pytest.mark.parametrize("make", [gradient_penalty, dragan_penalty, r1_penalty])
def test_penalties_take_the_d_pass_in_fp32_under_fp16_autocast(make):
    """Under fp16 the penalty equals the fp32 one exactly (D's pass for the input gradient leaves
    autocast); under bf16 it is left to autocast (it differs, within bf16's precision)."""
    torch.manual_seed(0)
    D = nn.Sequential(nn.Linear(4, 16), nn.LeakyReLU(0.2), nn.Linear(16, 1))
    real, fake = torch.randn(8, 4), torch.randn(8, 4)

    def penalty(dtype):
        torch.manual_seed(1)  # the same interpolation draws
        with torch.autocast("cpu", dtype=dtype or torch.float16, enabled=dtype is not None):
            return make()(D, real, fake)

    fp32, fp16, bf16 = penalty(None), penalty(torch.float16), penalty(torch.bfloat16)
    assert fp32.dtype == fp16.dtype == torch.float32 and torch.equal(fp32, fp16)
    assert not torch.equal(fp32, bf16) and torch.allclose(fp32, bf16, rtol=0.05, atol=1e-3)


def test_the_scaler_skips_a_step_whose_gradients_overflow_and_halves_its_scale():
    net = nn.Linear(3, 1)
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    update = Update(net, opt, World(), torch.device("cpu"), fp16=True)
    before = [p.detach().clone() for p in net.parameters()]
    scale = update.scaler.get_scale()
    update(net(torch.full((2, 3), 1e30)).sum() * 1e10)  # an inf gradient once scaled
    assert all(torch.equal(a, p) for a, p in zip(before, net.parameters()))  # the step was skipped
    assert update.scaler.get_scale() == scale / 2
    update(net(torch.ones(2, 3)).sum())  # a finite one is taken, unscaled
    assert not torch.equal(before[1], net.bias)
    assert torch.allclose(net.bias.grad, torch.tensor([2.0]))  # d(sum of 2 outputs)/d bias, after unscale
    plain = Update(nn.Linear(3, 1), torch.optim.SGD(net.parameters(), lr=0.1), World(), torch.device("cpu"), fp16=False)
    assert not plain.scaler.is_enabled()


def test_fp16_wgan_gp_trains_finite_and_resumes_bit_for_bit(tmp_path):
    cfg = make_config({**TOY, "objective": "wgan-gp", "precision": "fp16", "kimg": 1.28, "n_critic": 2})
    straight, first = tmp_path / "straight", tmp_path / "first"
    straight.mkdir()
    first.mkdir()
    record = training_loop(cfg, straight, progress=False)
    assert all(torch.isfinite(torch.tensor(record[k])) for k in ("loss_D", "loss_G"))
    state = load_checkpoint(straight / "checkpoint-final.pt")
    assert state["scaler_d"]["scale"] > 0 and state["scaler_g"]["scale"] > 0
    training_loop(make_config({**TOY, "objective": "wgan-gp", "precision": "fp16", "kimg": 0.64, "n_critic": 2}),
                  first, progress=False)
    resumed = load_checkpoint(first / "checkpoint-final.pt")
    training_loop(cfg, first, state=resumed, progress=False)
    again = load_checkpoint(first / "checkpoint-final.pt")
    assert all(torch.equal(again["G"][k], state["G"][k]) for k in state["G"])
    assert again["scaler_d"] == state["scaler_d"]


def test_bf16_flag_and_precision_agree_and_bad_values_are_refused():
    a = make_config({**TOY, "bf16": True, "kimg": 0.128})
    b = make_config({**TOY, "precision": "bf16", "kimg": 0.128})
    assert a.bf16 and b.precision == "bf16"
    with pytest.raises(ConfigError, match=r"precision = 'fp8' is out of range; expected fp32 or bf16 or fp16"):
        make_config({"precision": "fp8"})
    with pytest.raises(ConfigError, match="contradict each other"):
        make_config({"bf16": True, "precision": "fp16"})
    with pytest.raises(ConfigError, match="not supported"):
        make_config({"precision": "fp16", "g_step": "unrolled"})


def test_channels_last_trains_the_same_networks(tmp_path):
    """DCGAN-28 in channels-last memory format: the same weights as the default layout after a few
    steps, to float tolerance (the kernels differ, not the arithmetic)."""
    common = {"G.width": 8, "D.width": 8, "kimg": 0.192, "batch_size": 32, "tensorboard": False, "cpu_threads": 1,
              "snapshot_kimg": 1.0}
    runs = {}
    for cl in (False, True):
        d = tmp_path / str(cl)
        d.mkdir()
        training_loop(make_config({**common, "channels_last": cl}), d, progress=False)
        runs[cl] = load_checkpoint(d / "checkpoint-final.pt")
    for net in ("G", "D"):
        for k, v in runs[False][net].items():
            if v.is_floating_point():
                assert torch.allclose(v, runs[True][net][k], rtol=1e-3, atol=1e-4), (net, k)


def test_deterministic_kernels_are_switched_on(tmp_path):
    before = torch.are_deterministic_algorithms_enabled(), torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark
    try:
        training_loop(make_config({**TOY, "deterministic": True, "kimg": 0.128}), tmp_path, progress=False)
        assert torch.are_deterministic_algorithms_enabled() and torch.backends.cudnn.deterministic
        assert not torch.backends.cudnn.benchmark
    finally:
        torch.use_deterministic_algorithms(before[0])
        torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = before[1], before[2]


def test_compile_is_refused_where_a_double_backward_is_needed(tmp_path):
    for overrides in ({"objective": "wgan-gp"}, {"g_step": "unrolled"}):
        with pytest.raises(ConfigError, match="torch.compile does not; expected compile = false"):
            training_loop(make_config({**TOY, "compile": True, "kimg": 0.064, **overrides}), tmp_path, progress=False)


@pytest.mark.slow  # compiling G and D takes ~30-40 s on this CPU
def test_compiled_networks_train_as_the_eager_ones(tmp_path):
    runs = {}
    for comp in (False, True):
        d = tmp_path / str(comp)
        d.mkdir()
        training_loop(make_config({**TOY, "objective": "nonsaturating", "compile": comp, "kimg": 0.64}), d, progress=False)
        runs[comp] = load_checkpoint(d / "checkpoint-final.pt")
    assert set(runs[True]["G"]) == set(runs[False]["G"])  # state dicts keep the modules' own keys
    for net in ("G", "D"):
        for k, v in runs[False][net].items():
            assert torch.allclose(v, runs[True][net][k], rtol=1e-4, atol=1e-5), (net, k)
