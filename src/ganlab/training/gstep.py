"""How a G step is computed: G's loss against D, the seam where look-ahead techniques plug in.

A G step is a callable `(D, fake, real) -> scalar loss` built once per run, with D what D sees
(ganlab.training.view), fake = G(z) with its graph to G, and real the last real batch of the D steps.
The loop owns backward and step. Entries of G_STEPS are factories `(objective, d_opt, **args)`
whose keyword arguments are set with `--set g_step_args.NAME=VALUE`.

- `standard`: the objective's G loss against the current D.
- `unrolled` (Metz et al. 2017, "Unrolled Generative Adversarial Networks"): the G loss against
  D^K, D after K more steps of its own optimiser on this minibatch (the paper's fixed minibatch:
  the same real batch and the same fakes at every step). D's own update is unchanged: the
  look-ahead is thrown away after the G step.
  - `second_order: true` (the paper, Eq. 12): D^K is a function of G's weights through the fakes,
    and the G gradient includes dD^K/dθ_G, "how the discriminator would react to a change in
    the generator". The unrolled updates are written functionally (Adam or RMSProp with the
    optimiser's current state, on a dict of tensors evaluated with torch.func.functional_call),
    so backward goes through them; memory and time grow linearly with K.
  - `second_order: false`: a look-ahead copy of D trained K ordinary steps on detached fakes;
    the G gradient is the first term of Eq. 12 only (the paper, §2.3).
  K = 0 is the standard step exactly. BatchNorm running statistics of D never move during the
  look-ahead (train-mode batch statistics are used, as in D's own steps).
"""

import copy
import inspect

import torch
from torch.func import functional_call

from ganlab.config.validation import config_check
from ganlab.errors import ConfigError, shown, suggest
from ganlab.utils.registry import Registry

G_STEPS = Registry("g_step")


@G_STEPS.register("standard", "G's loss against the current D (every GAN paper's default)")
def standard(objective, d_opt):
    return objective.generator_loss


@G_STEPS.register("unrolled", "Metz et al. 2017: G's loss against D unrolled `steps` steps of its own optimiser (default 5); second_order true backpropagates through the unrolled updates (the paper), false uses a look-ahead copy (first term of Eq. 12 only)")
def unrolled(objective, d_opt, steps=5, second_order=True):
    return UnrolledStep(objective, d_opt, steps, second_order)


class UnrolledStep:
    def __init__(self, objective, d_opt, steps, second_order):
        self.objective, self.d_opt, self.steps, self.second_order = objective, d_opt, steps, second_order
        if second_order and objective.constraint is not None and not hasattr(objective.constraint, "project"):
            raise ConfigError("g_step = 'unrolled' with second_order = true needs the objective's constraint "
                              "written functionally (a `project` method); expected second_order = false")

    def __call__(self, D, fake, real):
        if self.steps == 0:
            return self.objective.generator_loss(D, fake, real)
        ahead = self.look_ahead(D, fake, real) if self.second_order else self.look_ahead_copy(D, fake, real)
        return self.objective.generator_loss(ahead, fake, real)

    def look_ahead_copy(self, D, fake, real):
        """D after K ordinary optimiser steps of a copy, on detached fakes: no path to G."""
        net = copy.deepcopy(D.D).requires_grad_(True)
        opt = type(self.d_opt)(net.parameters(), **self.d_opt.defaults)
        opt.load_state_dict(copy.deepcopy(self.d_opt.state_dict()))  # its own moments, not D's
        ahead, fake = D.through(net), fake.detach()
        for _ in range(self.steps):
            loss, _, _ = self.objective.discriminator_loss(ahead, real, fake)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if self.objective.constraint is not None:
                self.objective.constraint(net)
        net.requires_grad_(False)
        return ahead

    def look_ahead(self, D, fake, real):
        """D at weights theta_D^K(theta_G): K functional optimiser steps whose graph reaches G."""
        net = D.D
        names = [n for n, _ in net.named_parameters()]
        params = {n: p.detach().requires_grad_(True) for n, p in net.named_parameters()}
        buffers = {n: b.clone() for n, b in net.named_buffers()}  # D's running statistics stay put
        update = functional_update(self.d_opt, [p for _, p in net.named_parameters()])
        for _ in range(self.steps):
            ahead = D.through(lambda x, *y, params=params: functional_call(net, {**params, **buffers}, (x, *y)))
            loss, _, _ = self.objective.discriminator_loss(ahead, real, fake)
            grads = torch.autograd.grad(loss, [params[n] for n in names], create_graph=True, allow_unused=True)
            params = dict(zip(names, update([params[n] for n in names], grads)))
            if self.objective.constraint is not None:
                params = self.objective.constraint.project(params)
        return D.through(lambda x, *y: functional_call(net, {**params, **buffers}, (x, *y)))  # *y: the class


def functional_update(opt, params):
    """A differentiable copy of `opt`'s update for `params` (its parameters, in order), starting
    from its current state: update(weights, grads) -> new weights, each step a graph of tensors.
    A None gradient leaves that weight and its state unchanged, as torch.optim does."""
    group = opt.param_groups[0]
    lr, eps = group["lr"], group["eps"]
    # Running statistics as plain tensors (no graph yet); a parameter never stepped starts at zero.
    # sqrt'(0) is infinite: a clamp far below any squared gradient keeps the graph finite.
    state = [dict(opt.state.get(p, {})) for p in params]
    if isinstance(opt, torch.optim.Adam):
        beta1, beta2 = group["betas"]

        def step(w, g, s):
            s["step"] = float(s.get("step", 0)) + 1
            m = s["exp_avg"] = s.get("exp_avg", torch.zeros_like(w)) * beta1 + (1 - beta1) * g
            v = s["exp_avg_sq"] = s.get("exp_avg_sq", torch.zeros_like(w)) * beta2 + (1 - beta2) * g * g
            denom = v.clamp_min(1e-30).sqrt() / (1 - beta2 ** s["step"]) ** 0.5 + eps
            return w - lr / (1 - beta1 ** s["step"]) * m / denom
    elif isinstance(opt, torch.optim.RMSprop):
        alpha = group["alpha"]

        def step(w, g, s):
            v = s["square_avg"] = s.get("square_avg", torch.zeros_like(w)) * alpha + (1 - alpha) * g * g
            return w - lr * g / (v.clamp_min(1e-30).sqrt() + eps)
    else:
        raise ConfigError(f"g_step = 'unrolled' unrolls Adam or RMSProp; D's optimiser is {type(opt).__name__}")

    def update(weights, grads):
        return [w if g is None else step(w, g, s) for w, g, s in zip(weights, grads, state)]
    return update


def g_step_params(name):
    """{argument: default} of G step `name`."""
    params = inspect.signature(G_STEPS.lookup(name)).parameters.items()
    return {k: p.default for k, p in params if k not in ("objective", "d_opt")}


def build_g_step(name, args, objective, d_opt):
    """The G step `name` with arguments `args` for this objective and D optimiser."""
    return G_STEPS[name](objective, d_opt, **check_g_step(name, args))


def check_g_step(name, args):
    """`args` as a dict, refusing an unknown G step, argument or value with one sentence."""
    args = dict(args or {})
    params = g_step_params(name)
    for key, value in args.items():
        if key not in params:
            raise ConfigError(f"g_step_args.{key} is not an argument of g_step {name!r}{suggest(key, params)}; "
                              f"expected one of: {', '.join(params) or 'none'}")
        kind = type(params[key])
        ok = isinstance(value, kind) and (kind is bool or not isinstance(value, bool))
        if kind is int and ok and not 0 <= value <= 100:
            ok = False
        if not ok:
            expected = "true or false" if kind is bool else "an integer in [0, 100]"
            raise ConfigError(f"g_step_args.{key} = {shown(value)} is out of range; expected {expected}")
    return args


@config_check("g_step: how a G step is computed")
def _check(cfg):
    G_STEPS.lookup(cfg.g_step)
    check_g_step(cfg.g_step, cfg.g_step_args)
    if cfg.precision == "fp16" and cfg.g_step == "unrolled":
        raise ConfigError("precision = 'fp16' with g_step = 'unrolled' is not supported (the unrolled D updates "
                          "take gradients outside the loss scaler); expected precision fp32 or bf16")
