"""Unrolled GAN (Metz et al. 2017) at the G-step seam: the second-order gradient against finite
differences, the look-ahead's weights against torch.optim's own steps, K = 0 as the plain
objective exactly, D and its optimiser untouched, and short training contracts."""

import copy
import json

import pytest
import torch
from torch import nn

from ganlab.resolve import make_config
from ganlab.errors import ConfigError
from ganlab.training.gstep import build_g_step, functional_update
from ganlab.objectives import build_objective
from ganlab.presets import PRESETS
from ganlab.training.view import DView
from ganlab.training.loop import training_loop

pytestmark = pytest.mark.usefixtures("one_thread")


def _setup(objective="nonsaturating", opt="adam", bn=False, pack=1, seed=0):
    """Tiny float64 G and D on 2-D points, with D's optimiser already holding state."""
    torch.manual_seed(seed)
    G = nn.Sequential(nn.Linear(3, 8), nn.Tanh(), nn.Linear(8, 2)).double()
    layers = [nn.Linear(2 * pack, 8)] + ([nn.BatchNorm1d(8)] if bn else []) + [nn.Tanh(), nn.Linear(8, 1), nn.Flatten(0)]
    D = nn.Sequential(*layers).double()
    obj = build_objective(objective)
    d_opt = (torch.optim.Adam(D.parameters(), lr=0.05, betas=(0.5, 0.9)) if opt == "adam"
             else torch.optim.RMSprop(D.parameters(), lr=0.01))
    view = DView(D, pack=pack)
    real, z = torch.randn(8, 2, dtype=torch.float64), torch.randn(8, 3, dtype=torch.float64)
    for _ in range(2):  # D's own steps first, as in the loop: the unroll starts from a live state
        loss, _, _ = obj.discriminator_loss(view, real, G(z).detach())
        d_opt.zero_grad()
        loss.backward()
        d_opt.step()
        if obj.constraint is not None:
            obj.constraint(D)
    d_opt.zero_grad(set_to_none=True)
    D.requires_grad_(False)
    return G, D, view, obj, d_opt, real, z


def _g_grad(step, G, view, real, z):
    G.zero_grad()
    loss = step(view, G(z), real)
    loss.backward()
    return loss.detach(), torch.cat([p.grad.flatten() for p in G.parameters()])


def _fd_grad(step, G, view, real, z, h=1e-6):
    flat = []
    for p in G.parameters():
        for i in range(p.numel()):
            old = p.data.view(-1)[i].item()
            p.data.view(-1)[i] = old + h
            up = step(view, G(z), real).item()
            p.data.view(-1)[i] = old - h
            down = step(view, G(z), real).item()
            p.data.view(-1)[i] = old
            flat.append((up - down) / (2 * h))
    return torch.tensor(flat, dtype=torch.float64)


@pytest.mark.parametrize("objective, opt", [("nonsaturating", "adam"), ("wgan", "rmsprop"), ("lsgan", "adam")])
def test_second_order_gradient_matches_finite_differences(objective, opt):
    G, D, view, obj, d_opt, real, z = _setup(objective, opt)
    step = build_g_step("unrolled", {"steps": 3, "second_order": True}, obj, d_opt)
    _, grad = _g_grad(step, G, view, real, z)
    fd = _fd_grad(step, copy.deepcopy(G), view, real, z)
    torch.testing.assert_close(grad, fd, rtol=1e-5, atol=1e-7)
    # The first-order variant drops dD^K/dtheta_G (Eq. 12's second term): measurably different here.
    first = build_g_step("unrolled", {"steps": 3, "second_order": False}, obj, d_opt)
    _, grad_first = _g_grad(first, G, view, real, z)
    assert (grad_first - fd).norm() > 1e-3 * fd.norm()


@pytest.mark.parametrize("objective, opt", [("nonsaturating", "adam"), ("wgan", "rmsprop"), ("wgan-gp", "adam")])
def test_functional_look_ahead_has_the_weights_of_torch_optim_steps(objective, opt):
    """Both variants unroll to the same D^K: the forward values agree, only the gradient differs."""
    G, D, view, obj, d_opt, real, z = _setup(objective, opt)
    second = build_g_step("unrolled", {"steps": 5, "second_order": True}, obj, d_opt)
    first = build_g_step("unrolled", {"steps": 5, "second_order": False}, obj, d_opt)
    x = torch.randn(16, 2, dtype=torch.float64)
    fake = G(z)
    torch.manual_seed(1)
    ahead_2 = second.look_ahead(view, fake, real)
    torch.manual_seed(1)
    ahead_1 = first.look_ahead_copy(view, fake, real)
    torch.testing.assert_close(ahead_2(x), ahead_1(x), rtol=1e-9, atol=1e-9)
    assert (ahead_1(x) - view(x)).abs().max() > 1e-3  # and the look-ahead did move


def test_functional_adam_step_is_torch_adam_step():
    torch.manual_seed(0)
    w = [torch.randn(4, 3, dtype=torch.float64, requires_grad=True), torch.randn(3, dtype=torch.float64, requires_grad=True)]
    opt = torch.optim.Adam(w, lr=0.1, betas=(0.5, 0.9))
    update = functional_update(opt, w)  # from an empty state, as torch starts
    weights = [p.detach().clone() for p in w]
    for k in range(4):
        grads = [torch.randn_like(p) for p in w]
        for p, g in zip(w, grads):
            p.grad = g.clone()
        opt.step()
        weights = update(weights, grads)
        for a, b in zip(weights, w):
            torch.testing.assert_close(a, b.detach(), rtol=1e-12, atol=1e-12)


def test_zero_unroll_steps_is_the_plain_objective_exactly():
    G, D, view, obj, d_opt, real, z = _setup("nonsaturating")
    standard = build_g_step("standard", {}, obj, d_opt)
    loss_0, grad_0 = _g_grad(standard, G, view, real, z)
    for second_order in (True, False):
        step = build_g_step("unrolled", {"steps": 0, "second_order": second_order}, obj, d_opt)
        loss, grad = _g_grad(step, G, view, real, z)
        assert torch.equal(loss, loss_0) and torch.equal(grad, grad_0)


@pytest.mark.parametrize("second_order", [True, False])
def test_d_and_its_optimiser_and_running_statistics_are_untouched(second_order):
    G, D, view, obj, d_opt, real, z = _setup("nonsaturating", bn=True)
    before = copy.deepcopy(D.state_dict())
    opt_before = copy.deepcopy(d_opt.state_dict())
    step = build_g_step("unrolled", {"steps": 4, "second_order": second_order}, obj, d_opt)
    _g_grad(step, G, view, real, z)
    for k, v in D.state_dict().items():
        assert torch.equal(v, before[k]), k
    for p, s in opt_before["state"].items():
        for k, v in s.items():
            assert torch.equal(d_opt.state_dict()["state"][p][k], v)
    assert all(p.grad is None for p in D.parameters())


def test_unrolled_through_a_gradient_penalty_and_packing_has_a_finite_gradient():
    G, D, view, obj, d_opt, real, z = _setup("wgan-gp", pack=2)
    step = build_g_step("unrolled", {"steps": 2}, obj, d_opt)
    loss, grad = _g_grad(step, G, view, real, z)
    assert torch.isfinite(loss) and torch.isfinite(grad).all() and grad.abs().sum() > 0


def test_bad_g_step_settings_are_one_sentence_errors():
    with pytest.raises(ConfigError, match="unknown g_step 'unroled'.*did you mean 'unrolled'"):
        make_config({"g_step": "unroled"})
    with pytest.raises(ConfigError, match="g_step_args.step is not an argument of g_step 'unrolled'.*did you mean 'steps'"):
        make_config({"g_step": "unrolled", "g_step_args": {"step": 3}})
    with pytest.raises(ConfigError, match=r"g_step_args.steps = -1 is out of range; expected an integer in \[0, 100\]"):
        make_config({"g_step": "unrolled", "g_step_args": {"steps": -1}})
    with pytest.raises(ConfigError, match="g_step_args.second_order = 'yes' is out of range; expected true or false"):
        make_config({"g_step": "unrolled", "g_step_args": {"second_order": "yes"}})


@pytest.mark.parametrize("args", [{"steps": 3}, {"steps": 3, "second_order": False}])
def test_unrolled_training_contract_on_the_ring(args, tmp_path):
    cfg = make_config({**PRESETS["toy-ring-ns"], "kimg": 2.0, "log_kimg": 1.0, "snapshot_kimg": 2.0,
                       "g_step": "unrolled", "g_step_args": args})
    record = training_loop(cfg, tmp_path, progress=False)
    rows = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert record["kimg"] == 2.048 and len(rows) == 2
    assert all(torch.isfinite(torch.tensor([r["loss_D"], r["loss_G"]])).all() for r in rows)


def test_n_gen_takes_that_many_g_steps_per_round_and_the_same_images(tmp_path):
    base = {**PRESETS["toy-ring-ns"], "kimg": 1.0, "log_kimg": 1.0, "snapshot_kimg": 1.0, "batch_size": 100}
    rows = {}
    for n_gen in (1, 3):
        out = tmp_path / f"n{n_gen}"
        out.mkdir()
        training_loop(make_config({**base, "n_gen": n_gen}), out, progress=False)
        rows[n_gen] = json.loads((out / "metrics.jsonl").read_text().splitlines()[-1])
    assert rows[1]["nimg"] == rows[3]["nimg"] == 1000  # D sees the same images
    assert rows[3]["g_steps"] == 3 * rows[1]["g_steps"] == 30
