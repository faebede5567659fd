"""GAN objectives: each defines its D and G halves together, as per-sample losses to minimise.

Sign convention, library-wide: D returns raw scores s (larger = more real); s_r = D(x) on real
data, s_f = D(G(z)) on generated data. Each objective applies its own output activation (sigmoid
for minimax/NS, identity for least squares, Wasserstein and hinge, g_f for f-GAN). BEGAN's D is an
auto-encoder whose score is minus its per-sample L1 reconstruction error, so that larger still
means more real. softplus(t) = log(1 + e^t).

An entry of OBJECTIVES is a factory whose keyword arguments are the objective's hyperparameters
(set with `--set objective_args.NAME=VALUE`); it returns an `Objective`. The loss functions are
per-sample and stay a few lines each, testable alone; `Objective` takes their means, and the loop
(ganlab.training.loop) does backward and step.
"""

import dataclasses
import inspect
import math
from dataclasses import dataclass
from typing import Callable, Optional

import torch
import torch.nn.functional as F

from ganlab.config.validation import config_check
from ganlab.errors import ConfigError, shown, suggest
from ganlab.fdivergences import FDIVERGENCES
from ganlab.regularizers import (CONSTRAINTS, PENALTIES, dragan_penalty, gradient_penalty, mean_matching, r1_penalty,
                                 weight_clip)
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
    norm_free: bool = False       # True where the objective's D has no normalisation (BEGAN)
    discriminator: str = "score"  # "score": any D; "autoencoder": D must be an auto-encoder family
    state: Optional[object] = None  # state carried across steps (BEGAN's k_t): .update(s_r, s_f)
                                  # after every D step -> {name: tensor} to log; state_dict()

    @property
    def batchnorm_in_d(self):
        """Whether D may use BatchNorm: not with a penalty (each is per example, and BatchNorm mixes
        the examples of a batch), nor where the objective itself rules normalisation out."""
        return self.penalty is None and not self.norm_free

    def discriminator_loss(self, D, real, fake):
        """(scalar loss, s_r [N], s_f [N]) of one D step: the mean D loss plus the penalty, with
        D what D sees (ganlab.training.view) and scores in at least fp32."""
        s_r, s_f = _fp32(D(real)), _fp32(D(fake))
        penalty = _fp32(self.penalty(D, real, fake)).mean() if self.penalty is not None else 0
        return self.d_loss(s_r, s_f).mean() + penalty, s_r, s_f

    def after_d_step(self, D, s_r, s_f, gather):
        """After every D step: the constraint on D's weights (WGAN's clipping) and the update of the
        objective's state from the global batch's scores (`gather`: BEGAN's k_t); returns the
        statistics to log ({name: tensor})."""
        if self.constraint is not None:
            self.constraint(D)
        if self.state is None:
            return {}
        return self.state.update(gather(s_r), gather(s_f))

    def generator_loss(self, D, fake, real):
        """The scalar loss of one G step against D: the mean G loss plus the G regulariser, which
        sees D(real) as a constant."""
        s_f = _fp32(D(fake))
        loss = self.g_loss(s_f).mean()
        if self.g_regularizer is not None:
            with torch.no_grad():
                s_r = _fp32(D(real))
            loss = loss + self.g_regularizer(s_f, s_r)
        return loss


def _fp32(x):
    """Scores and losses in fp32 under bf16 autocast; float64 stays float64 (closed-form checks)."""
    return x.to(torch.promote_types(x.dtype, torch.float32))


def _logistic_d_loss(s_r, s_f):
    return F.softplus(-s_r) + F.softplus(s_f)  # -log sigmoid(s_r) - log(1 - sigmoid(s_f))


def _nonsaturating_g_loss(s_f):
    return F.softplus(-s_f)  # -log sigmoid(s_f)  (non-saturating)


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
        g_loss=_nonsaturating_g_loss,
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
    _require_nonnegative(weight=weight)
    d_loss, g_loss = _lsgan_losses(a, b, c)
    return Objective(d_loss=d_loss, g_loss=g_loss, g_regularizer=mean_matching(weight))


@OBJECTIVES.register("wasserstein", "Arjovsky et al. 2017's critic loss alone, D(G(z)) - D(x), n_critic 5: give it a constraint (constraint=clip: WGAN) or a penalty (penalty=gp: WGAN-GP)")
def wasserstein():
    return Objective(d_loss=_wasserstein_d_loss, g_loss=_wasserstein_g_loss, n_critic=5)


@OBJECTIVES.register("wgan", "Arjovsky et al. 2017: wasserstein + constraint clip (weights in [-clip, clip], clip 0.01), n_critic 5")
def wgan(clip=0.01):
    if clip <= 0:
        raise ConfigError(f"objective_args.clip = {clip} is out of range; expected a positive number")
    return Objective(
        d_loss=_wasserstein_d_loss, g_loss=_wasserstein_g_loss, constraint=weight_clip(clip), n_critic=5
    )


@OBJECTIVES.register("wgan-gp", "Gulrajani et al. 2017: wasserstein + penalty gp (weight gp_weight 10), n_critic 5, no BatchNorm in D; drift adds drift * D(x)^2 (Karras et al. 2018: 0.001)")
def wgan_gp(gp_weight=10.0, drift=0.0):
    _require_nonnegative(gp_weight=gp_weight, drift=drift)
    d_loss = _wasserstein_d_loss
    if drift:
        d_loss = lambda s_r, s_f: s_f - s_r + drift * s_r ** 2  # noqa: E731  Progressive GAN's eps_drift
    return Objective(
        d_loss=d_loss,
        g_loss=_wasserstein_g_loss,
        penalty=gradient_penalty(gp_weight),
        n_critic=5,
    )


@OBJECTIVES.register("dragan", "Kodali et al. 2017: nonsaturating + penalty dragan, the gradient penalty around perturbed reals x + 0.5 std(x) U[0,1) (compare_gan v1 / StudioGAN variant), weight 10")
def dragan(gp_weight=10.0):
    _require_nonnegative(gp_weight=gp_weight)
    return Objective(
        d_loss=_logistic_d_loss,
        g_loss=_nonsaturating_g_loss,
        penalty=dragan_penalty(gp_weight),
    )


@OBJECTIVES.register("r1", "Mescheder et al. 2018: nonsaturating + penalty r1, gamma/2 ||grad D(x)||^2 on reals, gamma 10")
def r1(gamma=10.0):
    _require_nonnegative(gamma=gamma)
    return Objective(
        d_loss=_logistic_d_loss,
        g_loss=_nonsaturating_g_loss,
        penalty=r1_penalty(gamma),
    )


@OBJECTIVES.register("hinge", "hinge loss (Lim & Ye 2017; Miyato et al. 2018): D relu(1 - D(x)) + relu(1 + D(G(z))), G -D(G(z))")
def hinge():
    return Objective(
        d_loss=lambda s_r, s_f: F.relu(1 - s_r) + F.relu(1 + s_f),
        g_loss=_wasserstein_g_loss,  # -s_f
    )


class BeganState:
    """BEGAN's equilibrium control (Berthelot et al. 2017, eq. 4), advanced after every D step:
    k <- clip(k + lambda_k * (gamma L(x) - L(G(z))), 0, 1), with the batch means of L; logs k and
    the convergence measure M = L(x) + |gamma L(x) - L(G(z))|. k stays a tensor: no host sync."""

    def __init__(self, gamma, lambda_k, k=0.0):
        self.gamma, self.lambda_k = gamma, lambda_k
        self.k = torch.tensor(float(k))

    def update(self, s_r, s_f):
        l_r, l_f = -s_r.detach().mean(), -s_f.detach().mean()  # L(x), L(G(z)): scores are -L
        balance = self.gamma * l_r - l_f
        self.k = (self.k.to(l_r.device) + self.lambda_k * balance).clamp(0, 1)
        return {"k": self.k, "M": l_r + balance.abs()}

    def state_dict(self):
        return {"k": self.k.detach().cpu()}

    def load_state_dict(self, state):
        self.k = state["k"].clone()


@OBJECTIVES.register("began", "Berthelot et al. 2017: auto-encoder D, L(v) = mean |v - D(v)|; D: L(x) - k_t L(G(z)), G: L(G(z)); gamma 0.75, lambda_k 0.001")
def began(gamma=0.75, lambda_k=0.001):
    if not 0 < gamma <= 1:
        raise ConfigError(f"objective_args.gamma = {gamma} is out of range; expected a diversity ratio in (0, 1]")
    _require_nonnegative(lambda_k=lambda_k)
    state = BeganState(gamma, lambda_k)
    return Objective(
        d_loss=lambda s_r, s_f: -s_r + state.k.to(s_f) * s_f,  # L(x) - k_t L(G(z))
        g_loss=lambda s_f: -s_f,  # L(G(z))
        norm_free=True,  # the paper's auto-encoder has no normalisation
        discriminator="autoencoder",
        state=state,
    )


FGAN_G_LOSSES = ("ns", "saddle")


def _fgan(divergence):
    """f-GAN objective for one row of the divergence table (Nowozin et al. 2016, eq. 6 and 3.2)."""
    d = FDIVERGENCES[divergence]

    def fgan(g_loss="ns"):
        if g_loss not in FGAN_G_LOSSES:
            raise ConfigError(f"objective_args.g_loss = {g_loss!r} is not an f-GAN G loss; expected ns or saddle")
        return Objective(
            d_loss=lambda s_r, s_f: d.composite(s_f) - d.activation(s_r),  # -(g_f(s_r) - f*(g_f(s_f)))
            g_loss=(lambda s_f: -d.activation(s_f)) if g_loss == "ns"   # -g_f(s_f): the paper's practice
            else (lambda s_f: -d.composite(s_f)),                        # -f*(g_f(s_f)): the saddle point
        )

    return fgan


for _name, _div in FDIVERGENCES.items():
    OBJECTIVES.register(f"fgan-{_name}", f"f-GAN (Nowozin et al. 2016), {_div.description}; g_loss ns (default) or saddle")(_fgan(_name))


def _require_nonnegative(**values):
    for key, value in values.items():
        if value < 0:
            raise ConfigError(f"objective_args.{key} = {value} is out of range; expected >= 0")


def objective_params(name):
    """{hyperparameter: default} of objective `name`."""
    return _params(OBJECTIVES, name)


def term_params(registry, name):
    """{hyperparameter: default} of entry `name` of PENALTIES or CONSTRAINTS."""
    return _params(registry, name)


def _params(registry, name):
    sig = inspect.signature(registry.lookup(name))
    return {k: p.default for k, p in sig.parameters.items()}


def _checked_args(registry, name, args, key):
    """`args` for entry `name` of `registry`, each refused in one sentence naming `key`.ARG when the
    entry has no such hyperparameter or the value is not of its kind (numbers read as finite floats)."""
    args = dict(args or {})
    params = _params(registry, name)
    for arg, value in args.items():
        if arg not in params:
            valid = ", ".join(params) or "none"
            raise ConfigError(f"{key}.{arg} is not a hyperparameter of {registry.kind} {name!r}{suggest(arg, params)}; "
                              f"expected one of: {valid}")
        if isinstance(params[arg], str):
            if not isinstance(value, str):
                raise ConfigError(f"{key}.{arg} = {shown(value)} is not a name; expected a string")
        else:
            args[arg] = _finite(f"{key}.{arg}", value)
    return args


def build_objective(name, args=None, penalty=None, penalty_args=None, constraint=None, constraint_args=None):
    """The Objective `name` with hyperparameters `args` (a dict); unknown names are refused.

    `penalty` and `constraint` compose it with an entry of PENALTIES / CONSTRAINTS (ganlab.regularizers)
    with its own arguments: None keeps the objective's own (WGAN-GP's gradient penalty, WGAN's
    clipping), "none" removes it, a name replaces it. `wgan`, `wgan-gp`, `dragan` and `r1` are thus
    `wasserstein + constraint clip`, `wasserstein + penalty gp`, `nonsaturating + penalty dragan`
    and `nonsaturating + penalty r1`, with their papers' defaults."""
    objective = OBJECTIVES.lookup(name)(**_checked_args(OBJECTIVES, name, args, "objective_args"))
    if penalty is not None:
        term = None if penalty == "none" else PENALTIES.lookup(penalty)(**_checked_args(PENALTIES, penalty, penalty_args, "penalty_args"))
        objective = dataclasses.replace(objective, penalty=term)
    if constraint is not None:
        term = None if constraint == "none" else CONSTRAINTS.lookup(constraint)(
            **_checked_args(CONSTRAINTS, constraint, constraint_args, "constraint_args"))
        objective = dataclasses.replace(objective, constraint=term)
    return objective


@config_check("objective: with its penalty and constraint")
def _check(cfg):
    for key, registry in (("penalty", PENALTIES), ("constraint", CONSTRAINTS)):
        if cfg[key] not in (None, "none"):
            registry.lookup(cfg[key])
        elif cfg[key] is None and cfg[f"{key}_args"]:
            raise ConfigError(f"{key}_args = {shown(dict(cfg[f'{key}_args']))} is set without a {key}; expected {key} "
                              f"= one of: {', '.join(sorted(registry))}")
    objective_of(cfg)


def objective_of(cfg):
    """The objective a config trains: cfg.objective (objective_args) with cfg.penalty (penalty_args)
    and cfg.constraint (constraint_args) composed as `build_objective` does."""
    return build_objective(cfg.objective, cfg.objective_args, cfg.get("penalty"), cfg.get("penalty_args"),
                           cfg.get("constraint"), cfg.get("constraint_args"))


def _finite(key, value):
    """A numeric hyperparameter `key` as a finite float (text such as '1e-3' or 'nan' is read as a number)."""
    number = value
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            number = None
    if not isinstance(number, (int, float)) or isinstance(number, bool):
        raise ConfigError(f"{key} = {shown(value)} is not a number; expected a float")
    try:
        number = float(number)
    except OverflowError:
        number = math.inf
    if not math.isfinite(number):
        raise ConfigError(f"{key} = {shown(value)} is out of range; expected a finite number")
    return number
