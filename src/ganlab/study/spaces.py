"""Search spaces of "Are GANs Created Equal?" (Lucic et al. 2018), as data.

A space is a base (Adam beta1, learning rate, n_critic, BatchNorm in D) plus per-objective extras
(WGAN's clip, a penalty weight, BEGAN's gamma and lambda_k, ...), looked up by objective name; an
objective without extras gets the base alone, so every registered objective can be studied.

A trial setting is a dict of dotted config keys -> values (`{"g_opt.lr": 0.00031, ...}`), applied
on top of the study's preset. Trial 0 of every objective is the preset's own config: `{}`.
"""

import random
from dataclasses import dataclass
from typing import Any, Tuple

from ganlab.objectives import OBJECTIVES, build_objective, objective_params
from ganlab.utils.registry import Registry


@dataclass(frozen=True)
class Uniform:
    low: float
    high: float
    log = False

    def sample(self, rng):
        # Four decimals; the upper end stays excluded (Adam's beta1 must be < 1).
        return min(round(rng.uniform(self.low, self.high), 4), round(self.high - 1e-4, 4))

    def __str__(self):
        return f"U[{self.low:g}, {self.high:g}]"


@dataclass(frozen=True)
class LogUniform:
    low_exp: float  # 10^U[low_exp, high_exp]
    high_exp: float
    log = True

    def sample(self, rng):
        value = 10 ** rng.uniform(self.low_exp, self.high_exp)
        return float(f"{value:.4g}")  # four significant digits

    def __str__(self):
        return f"10^U[{self.low_exp:g}, {self.high_exp:g}]"


@dataclass(frozen=True)
class Choice:
    values: Tuple[Any, ...]
    log = False

    def sample(self, rng):
        return rng.choice(self.values)

    def __str__(self):
        return "{" + ", ".join(str(v) for v in self.values) + "}"


@dataclass(frozen=True)
class Fixed:
    value: Any
    log = False

    def sample(self, rng):
        return self.value

    def __str__(self):
        return str(self.value)


@dataclass(frozen=True)
class Dim:
    """One hyperparameter: a label, the config keys it sets (together) and its distribution."""
    label: str
    keys: Tuple[str, ...]
    dist: Any


def _both(key):
    return (f"g_opt.{key}", f"d_opt.{key}")


def _arg(name):
    return (f"objective_args.{name}",)


BN_IN_D = Dim("D.norm", ("D.norm",), Choice(("batch", "none")))  # "BatchNorm in D: yes / no"

SPACES = Registry("search space")
SPACES.register("wide", "Lucic et al. 2018's wide ranges (their 100-sample study)")({
    "base": (Dim("beta1", _both("beta1"), Uniform(0.0, 1.0)),
             Dim("lr", _both("lr"), LogUniform(-5, -2)),
             Dim("n_critic", ("n_critic",), Choice((1, 2, 3, 4, 5))),
             BN_IN_D),
    "extras": {
        "wgan": (Dim("clip", _arg("clip"), LogUniform(-3, 0)),),
        "wgan-gp": (Dim("gp_weight", _arg("gp_weight"), LogUniform(-1, 2)),),
        "dragan": (Dim("gp_weight", _arg("gp_weight"), LogUniform(-1, 2)),),
        "began": (Dim("gamma", _arg("gamma"), Uniform(1e-4, 1.0)),  # U(0, 1]: gamma = 0 is no ratio
                  Dim("lambda_k", _arg("lambda_k"), LogUniform(-4, -2))),
        # Beyond the paper (ganlab's own choices):
        "lsgan-mm": (Dim("weight", _arg("weight"), LogUniform(-2, 1)),),
        "r1": (Dim("gamma", _arg("gamma"), LogUniform(-1, 2)),),
    },
})
SPACES.register("narrow", "Lucic et al. 2018's narrow ranges (their 50-sample study): beta1 0.5, n_critic 1")({
    "base": (Dim("beta1", _both("beta1"), Fixed(0.5)),
             Dim("lr", _both("lr"), LogUniform(-4, -3)),
             Dim("n_critic", ("n_critic",), Fixed(1)),
             BN_IN_D),
    "extras": {
        "wgan": (Dim("clip", _arg("clip"), LogUniform(-2, 0)),),
        "wgan-gp": (Dim("gp_weight", _arg("gp_weight"), LogUniform(-1, 1)),),
        "dragan": (Dim("gp_weight", _arg("gp_weight"), LogUniform(-1, 1)),),
        # The paper narrows gamma only; lambda_k keeps the wide range.
        "began": (Dim("gamma", _arg("gamma"), Uniform(0.6, 0.9)),
                  Dim("lambda_k", _arg("lambda_k"), LogUniform(-4, -2))),
        "lsgan-mm": (Dim("weight", _arg("weight"), LogUniform(-2, 1)),),
        "r1": (Dim("gamma", _arg("gamma"), LogUniform(-1, 2)),),
    },
})


def space_for(objective, space="wide"):
    """The dimensions searched for `objective` (a registered name) in `space` (wide or narrow).

    BatchNorm in D is left out where the objective forbids it (gradient penalties); an extra whose
    argument the objective does not have is left out too (the tests check none is)."""
    spec = SPACES.lookup(space)
    OBJECTIVES.lookup(objective)
    dims = list(spec["base"])
    if not build_objective(objective).batchnorm_in_d:
        dims.remove(BN_IN_D)
    params = objective_params(objective)
    for dim in spec["extras"].get(objective, ()):
        if all(k.split(".", 1)[1] in params for k in dim.keys):
            dims.append(dim)
    return tuple(dims)


def trial_seed(seed, objective):
    """The RNG seed of one objective's draws: a study's objectives do not depend on each other."""
    return f"ganlab-study:{seed}:{objective}"  # str seeds are hashed deterministically (sha512)


def sample_settings(objective, space, k, seed=0):
    """k trial settings for `objective`, all drawn up front: [{}, {key: value, ...}, ...].

    Setting 0 is the preset's own config (no overrides); settings 1..k-1 draw every dimension of
    the space in order from one `random.Random`, so the list depends only on its arguments."""
    dims = space_for(objective, space)
    rng = random.Random(trial_seed(seed, objective))
    settings = [{}]
    for _ in range(k - 1):
        setting = {}
        for dim in dims:
            value = dim.dist.sample(rng)
            setting.update({key: value for key in dim.keys})
        settings.append(setting)
    return settings[:k]


def dim_values(objective, space, setting):
    """{label: value} of one setting, for the report's sensitivity plots (None where unset)."""
    return {dim.label: setting.get(dim.keys[0]) for dim in space_for(objective, space)}


def is_log(dist):
    return bool(getattr(dist, "log", False))


def describe(objective, space):
    """'beta1 ~ U[0, 1], lr ~ 10^U[-5, -2], ...' for `objective` in `space`."""
    return ", ".join(f"{d.label} ~ {d.dist}" if not isinstance(d.dist, Fixed) else f"{d.label} = {d.dist}"
                     for d in space_for(objective, space))

