"""Terms that ride alongside an objective: D-side penalties, constraints, G-side regularisers.

They are separate axes, as in compare_gan and Kurach et al. 2019 ("A Large-Scale Study on
Regularization and Normalization in GANs"): WGAN is the Wasserstein objective plus `weight_clip`,
WGAN-GP is the same objective plus `gradient_penalty`, DRAGAN is non-saturating plus
`dragan_penalty`, the regularised LSGAN is LSGAN plus `mean_matching`. PENALTIES and CONSTRAINTS
are the registries a config chooses from (`penalty=gp`, `constraint=clip`: ganlab.objectives
composes them with any objective).
Each factory takes the term's hyperparameters and returns a small callable:

- penalty(D, real, fake) -> [N] per-example D loss term
- constraint(D) -> None, applied after every D step; its `project(params) -> params` does the
  same to a dict of tensors, for a D whose weights are taken functionally (Unrolled GAN)
- g_regularizer(s_f, s_r) -> scalar G loss term (batch statistics)

D here is what D sees (`ganlab.training.view`): with PacGAN packing (D.pack = m > 1) an example is m
consecutive samples, so an interpolation coefficient is drawn per example and the gradient norm is
taken over the whole packed input, the input D judges. For m = 1 (any plain module) nothing changes.
"""

import contextlib

import torch

from ganlab.errors import ConfigError
from ganlab.utils.registry import Registry

PENALTIES = Registry("penalty")
CONSTRAINTS = Registry("constraint")


def _pack(D):
    return getattr(D, "pack", 1)


def _per_example(D, real):
    """U[0, 1) [N, 1, ...], one value per example D judges (repeated over its m packed samples)."""
    m = _pack(D)
    eps = torch.rand([real.shape[0] // m] + [1] * (real.dim() - 1), device=real.device, dtype=real.dtype)
    return eps if m == 1 else eps.repeat_interleave(m, dim=0)


def _input_grad_norm(D, x):
    """||grad_x D(x)||_2 per example D judges [N / pack], over all its inputs, in at least fp32.
    Under fp16 autocast this pass of D runs in fp32: the input gradient of a half-precision D
    underflows or overflows where the penalty needs it (bf16's range is fp32's)."""
    x = x.detach().requires_grad_(True)
    fp16 = _fp16_autocast(x.device.type)
    with torch.autocast(x.device.type, enabled=False) if fp16 else contextlib.nullcontext():
        (grad,) = torch.autograd.grad(D(x).sum(), x, create_graph=True)
    return grad.reshape(x.shape[0] // _pack(D), -1).to(torch.promote_types(grad.dtype, torch.float32)).norm(dim=1)


def _fp16_autocast(device_type):
    return torch.is_autocast_enabled(device_type) and torch.get_autocast_dtype(device_type) == torch.float16


def gradient_penalty(weight=10.0):
    """WGAN-GP (Gulrajani et al. 2017, Alg. 1): weight * (||grad_x D(x_hat)||_2 - 1)^2, with
    x_hat = eps * x + (1 - eps) * x_fake and eps ~ U[0, 1] drawn per sample. The norm is taken over
    all non-batch dimensions, so the same code serves 2-D points and images."""

    def penalty(D, real, fake):
        eps = _per_example(D, real)  # [N, 1, ...]
        x_hat = eps * real + (1 - eps) * fake.detach()
        return weight * (_input_grad_norm(D, x_hat) - 1) ** 2

    return penalty


def dragan_penalty(weight=10.0):
    """DRAGAN (Kodali et al. 2017): weight * (||grad D(x + delta)||_2 - 1)^2 around the real data.

    Perturbation variant "compare_gan v1 / StudioGAN": delta = 0.5 * std(x) * U[0, 1), with one
    std over the whole real batch and the uniform noise drawn per element. (The paper's own code
    also interpolates between x and x + delta; compare_gan v3 perturbs differently again.)"""

    def penalty(D, real, fake):
        x_hat = real + 0.5 * real.std() * torch.rand_like(real)
        return weight * (_input_grad_norm(D, x_hat) - 1) ** 2

    return penalty


def r1_penalty(gamma=10.0):
    """R1 (Mescheder et al. 2018, eq. 9): gamma / 2 * ||grad_x D(x)||_2^2 on real data only."""

    def penalty(D, real, fake):
        return 0.5 * gamma * _input_grad_norm(D, real) ** 2

    return penalty


def weight_clip(c=0.01):
    """WGAN (Arjovsky et al. 2017, Alg. 1): clamp every D parameter to [-c, c] after each D step.
    Like the official code, this includes normalisation-layer parameters."""

    @torch.no_grad()
    def constraint(D):
        for p in D.parameters():
            p.clamp_(-c, c)

    constraint.project = lambda params: {name: p.clamp(-c, c) for name, p in params.items()}
    return constraint


def mean_matching(weight=1.0):
    """The seed report's G regulariser for LSGAN: weight * (mean D(G(z)) - mean D(x))^2 over the
    batch; D(x) enters as a constant for G."""

    def regularizer(s_f, s_r):
        return weight * (s_f.mean() - s_r.detach().mean()) ** 2

    return regularizer


# The registered penalties and constraints (`--set penalty=NAME --set penalty_args.ARG=VALUE`). Every
# penalty here is per example D judges, so a D with BatchNorm (which mixes the examples of a batch)
# would make it meaningless: a run with a penalty builds D without BatchNorm by default.

@PENALTIES.register("gp", "Gulrajani et al. 2017: weight * (||grad D(x_hat)||_2 - 1)^2 on real-fake interpolates, weight 10")
def gp(weight=10.0):
    return gradient_penalty(_nonnegative("weight", weight))


@PENALTIES.register("dragan", "Kodali et al. 2017: weight * (||grad D(x + delta)||_2 - 1)^2 around perturbed reals, weight 10")
def dragan(weight=10.0):
    return dragan_penalty(_nonnegative("weight", weight))


@PENALTIES.register("r1", "Mescheder et al. 2018: gamma / 2 * ||grad D(x)||_2^2 on reals, gamma 10")
def r1(gamma=10.0):
    return r1_penalty(_nonnegative("gamma", gamma))


@CONSTRAINTS.register("clip", "Arjovsky et al. 2017: every D parameter clamped to [-c, c] after each D step, c 0.01")
def clip(c=0.01):
    if c <= 0:
        raise ConfigError(f"constraint_args.c = {c} is out of range; expected a positive number")
    return weight_clip(c)


def _nonnegative(arg, value):
    if value < 0:
        raise ConfigError(f"penalty_args.{arg} = {value} is out of range; expected >= 0")
    return value
