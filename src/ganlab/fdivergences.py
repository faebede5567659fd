"""The f-GAN divergence table (Nowozin et al. 2016, Table 2) as data.

An f-divergence is D_f(P || Q) = E_Q[f(p/q)] = ∫ q(x) f(p(x)/q(x)) dx for a convex f with f(1) = 0.
Its variational lower bound, which f-GAN maximises over T, is

    D_f(P || Q) >= E_P[T(x)] - E_Q[f*(T(x))],   T(x) = g_f(V(x)),

where f*(t) = sup_u (t·u - f(u)) is the convex conjugate of f, V is an unconstrained network
output (the raw score s of the rest of the library) and the output activation g_f maps all reals
into dom f*. The bound is tight at T = f'(p/q).

Each entry of FDIVERGENCES gives f, g_f and f* as elementwise torch functions (any float dtype),
plus `domain`, the open interval (lo, hi) of dom f* that g_f maps into (for "tv" it is the closed
interval [-1/2, 1/2]). A later f-GAN objective builds its D loss -(g_f(s_r) - f*(g_f(s_f))) on it.

Three conventions to know:
- "js" uses Nowozin's f, for which ∫ q f(p/q) = 2·JSD(P || Q) (natural log), at most 2 log 2; the
  table's "1/2" belongs to JSD, not to D_f of this f.
- "gan" is f-GAN's GAN row: ∫ q f(p/q) = 2·JSD(P || Q) - log 4, the value of Goodfellow's
  minimax game at the optimal discriminator.
- "pearson": f(u) = (u - 1)^2 is taken on all reals, as in the paper, so f* = t^2/4 + t on all of
  R. Restricted to u >= 0 (density ratios) the sup equals that formula only for t >= -2.
"""

import math
from dataclasses import dataclass
from typing import Callable, Tuple

import torch
import torch.nn.functional as F

LOG2 = math.log(2.0)


@dataclass(frozen=True)
class FDivergence:
    f: Callable            # u > 0 -> f(u), the generator; convex, f(1) = 0 (gan: -log 4)
    activation: Callable   # v in R -> g_f(v) in dom f*
    conjugate: Callable    # t in dom f* -> f*(t) = sup_u (t·u - f(u))
    domain: Tuple[float, float]  # dom f* as an interval (lo, hi)
    composite: Callable    # v in R -> f*(g_f(v)) in closed form (stable where the composition
                           # of the two would overflow or lose digits, e.g. gan at large v)
    description: str = ""


def _xlogx(u):
    return torch.xlogy(u, u)  # u log u, with 0 log 0 = 0


FDIVERGENCES = {
    "kl": FDivergence(
        f=_xlogx,
        activation=lambda v: v,
        conjugate=lambda t: torch.exp(t - 1),
        domain=(-math.inf, math.inf),
        composite=lambda v: torch.exp(v - 1),
        description="Kullback-Leibler KL(P || Q) = ∫ p log(p/q)",
    ),
    "reverse-kl": FDivergence(
        f=lambda u: -torch.log(u),
        activation=lambda v: -torch.exp(-v),
        conjugate=lambda t: -1 - torch.log(-t),
        domain=(-math.inf, 0.0),
        composite=lambda v: v - 1,  # -1 - log(exp(-v))
        description="reverse Kullback-Leibler KL(Q || P) = ∫ q log(q/p)",
    ),
    "pearson": FDivergence(
        f=lambda u: (u - 1) ** 2,
        activation=lambda v: v,
        conjugate=lambda t: t ** 2 / 4 + t,
        domain=(-math.inf, math.inf),
        composite=lambda v: v ** 2 / 4 + v,
        description="Pearson chi^2 = ∫ (p - q)^2 / q",
    ),
    "neyman": FDivergence(
        f=lambda u: (1 - u) ** 2 / u,
        activation=lambda v: -torch.expm1(-v),  # 1 - exp(-v)
        conjugate=lambda t: 2 - 2 * torch.sqrt(1 - t),
        domain=(-math.inf, 1.0),
        composite=lambda v: 2 - 2 * torch.exp(-v / 2),  # 2 - 2 sqrt(exp(-v))
        description="Neyman chi^2 = ∫ (q - p)^2 / p",
    ),
    "hellinger": FDivergence(
        f=lambda u: (torch.sqrt(u) - 1) ** 2,
        activation=lambda v: -torch.expm1(-v),  # 1 - exp(-v)
        conjugate=lambda t: t / (1 - t),
        domain=(-math.inf, 1.0),
        composite=lambda v: torch.expm1(v),  # (1 - e^-v) / e^-v
        description="squared Hellinger ∫ (sqrt(p) - sqrt(q))^2 (no factor 1/2)",
    ),
    "js": FDivergence(
        f=lambda u: -(u + 1) * torch.log((1 + u) / 2) + _xlogx(u),
        activation=lambda v: LOG2 - F.softplus(-v),  # log 2 - log(1 + exp(-v))
        conjugate=lambda t: -torch.log(2 - torch.exp(t)),
        domain=(-math.inf, LOG2),
        composite=lambda v: F.softplus(v) - LOG2,  # -log(2 - 2 sigmoid(v))
        description="Jensen-Shannon, Nowozin's f: ∫ q f(p/q) = 2·JSD(P || Q) <= 2 log 2",
    ),
    "gan": FDivergence(
        f=lambda u: _xlogx(u) - (u + 1) * torch.log1p(u),
        activation=lambda v: -F.softplus(-v),  # log sigmoid(v)
        conjugate=lambda t: -torch.log(-torch.expm1(t)),  # -log(1 - exp(t))
        domain=(-math.inf, 0.0),
        composite=lambda v: F.softplus(v),  # -log(1 - sigmoid(v))
        description="GAN: ∫ q f(p/q) = 2·JSD(P || Q) - log 4 (Goodfellow's game at the optimal D)",
    ),
    "tv": FDivergence(
        f=lambda u: 0.5 * torch.abs(u - 1),
        activation=lambda v: 0.5 * torch.tanh(v),
        conjugate=lambda t: t,
        domain=(-0.5, 0.5),
        composite=lambda v: 0.5 * torch.tanh(v),
        description="total variation ½∫ |p - q| (f* = t on [-1/2, 1/2])",
    ),
}


def variational_bound(name, v_p, v_q):
    """Per-term f-GAN lower bound on D_f(P || Q): mean g_f(V(x_P)) - mean f*(g_f(V(x_Q)));
    v_p [N], v_q [M] are raw scores on samples of P and Q. Returns a scalar tensor."""
    d = FDIVERGENCES[name]
    return d.activation(v_p).mean() - d.composite(v_q).mean()
