"""GAN objectives: each defines its D and G halves together, as per-sample losses to minimise.

Sign convention, library-wide: D returns raw scores s (larger = more real); s_r = D(x) on real
data, s_f = D(G(z)) on generated data. Each objective applies its own output activation (sigmoid
for minimax/NS, identity for least squares and Wasserstein). softplus(t) = log(1 + e^t).

An entry of OBJECTIVES is a factory whose keyword arguments are the objective's hyperparameters
(set with `--set objective_args.NAME=VALUE`); it returns an `Objective`. The loop owns reduction,
backward and step; the loss functions here stay a few lines each and testable alone.
"""

import inspect
from dataclasses import dataclass
from typing import Callable, Optional

import torch.nn.functional as F

from ganlab.errors import ConfigError, suggest
from ganlab.regularizers import gradient_penalty, mean_matching, weight_clip
from ganlab.utils.registry import Registry

OBJECTIVES = Registry("objective")


@dataclass(frozen=True)
class Objective:
    d_loss: Callable              # (s_r [N], s_f [N]) -> [N]
    g_loss: Callable              # s_f [N] -> [N]
    penalty: Optional[Callable] = None        # (D, real, fake) -> [N], added to the D loss
    constraint: Optional[Callable] = None     # D -> None, after every D step
    g_regularizer: Optional[Callable] = None  # (s_f [N], s_r [N]) -> scalar, added to the G loss
    n_critic: int = 1             # default D steps per G step
    batchnorm_in_d: bool = True   # False where a per-sample gradient penalty forbids it


def _logistic_d_loss(s_r, s_f):
    return F.softplus(-s_r) + F.softplus(s_f)  # -log sigmoid(s_r) - log(1 - sigmoid(s_f))


def _wasserstein_d_loss(s_r, s_f):
    return s_f - s_r  # -(D(x) - D(G(z))): the critic maximises the Kantorovich-Rubinstein gap


def _wasserstein_g_loss(s_f):
    return -s_f


@OBJECTIVES.register("minimax", "Goodfellow et al. 2014, saturating: G minimises log(1 - sigmoid(D(G(z))))")
def minimax():
    return Objective(
        d_loss=_logistic_d_loss,
        g_loss=lambda s_f: -F.softplus(s_f),  # log(1 - sigmoid(s_f))  (saturating)
    )


@OBJECTIVES.register("nonsaturating", "Goodfellow et al. 2014, non-saturating: G minimises -log sigmoid(D(G(z)))")
def nonsaturating():
    return Objective(
        d_loss=_logistic_d_loss,
        g_loss=lambda s_f: F.softplus(-s_f),  # -log sigmoid(s_f)  (non-saturating)
    )


def _lsgan_losses(a, b, c):
    # b - c = 1 and b - a = 2 give the Pearson chi^2 case; other codings (0-1: a=0, b=1, c=1) are
    # valid least-squares GANs without that link.
    d_loss = lambda s_r, s_f: 0.5 * (s_r - b) ** 2 + 0.5 * (s_f - a) ** 2  # noqa: E731
    g_loss = lambda s_f: 0.5 * (s_f - c) ** 2  # noqa: E731
    return d_loss, g_loss


@OBJECTIVES.register("lsgan", "Mao et al. 2017, least squares with codes (a, b, c); (-1, 1, 0) minimises Pearson chi^2")
def lsgan(a=-1.0, b=1.0, c=0.0):
    d_loss, g_loss = _lsgan_losses(a, b, c)
    return Objective(d_loss=d_loss, g_loss=g_loss)


@OBJECTIVES.register("lsgan-mm", "LSGAN + the seed report's G term weight * (E[D(G(z))] - E[D(x)])^2")
def lsgan_mm(a=-1.0, b=1.0, c=0.0, weight=1.0):
    d_loss, g_loss = _lsgan_losses(a, b, c)
    return Objective(d_loss=d_loss, g_loss=g_loss, g_regularizer=mean_matching(weight))


@OBJECTIVES.register("wgan", "Arjovsky et al. 2017: Wasserstein critic with weight clipping to [-clip, clip], n_critic 5")
def wgan(clip=0.01):
    if clip <= 0:
        raise ConfigError(f"objective_args.clip = {clip} is out of range; expected a positive number")
    return Objective(
        d_loss=_wasserstein_d_loss, g_loss=_wasserstein_g_loss, constraint=weight_clip(clip), n_critic=5
    )


@OBJECTIVES.register("wgan-gp", "Gulrajani et al. 2017: Wasserstein + per-sample gradient penalty (weight 10), n_critic 5, no BatchNorm in D")
def wgan_gp(gp_weight=10.0):
    if gp_weight < 0:
        raise ConfigError(f"objective_args.gp_weight = {gp_weight} is out of range; expected >= 0")
    return Objective(
        d_loss=_wasserstein_d_loss,
        g_loss=_wasserstein_g_loss,
        penalty=gradient_penalty(gp_weight),
        n_critic=5,
        batchnorm_in_d=False,
    )


def objective_params(name):
    """{hyperparameter: default} of objective `name`."""
    sig = inspect.signature(OBJECTIVES.lookup(name))
    return {k: p.default for k, p in sig.parameters.items()}


def build_objective(name, args=None):
    """The Objective `name` with hyperparameters `args` (a dict); unknown names are refused."""
    args = dict(args or {})
    params = objective_params(name)
    for key, value in args.items():
        if key not in params:
            valid = ", ".join(params) or "none"
            raise ConfigError(
                f"objective_args.{key} is not a hyperparameter of objective {name!r}{suggest(key, params)}; "
                f"expected one of: {valid}"
            )
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            raise ConfigError(f"objective_args.{key} = {value!r} is not a number; expected a float")
    return OBJECTIVES[name](**{k: float(v) for k, v in args.items()})
