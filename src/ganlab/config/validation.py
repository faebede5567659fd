"""`validate(cfg)`: every numeric key against its range (by walking the schema), the config's own
rules (choices, precision, device), then the checks registered by the modules that own keys: the
data's name, the networks, the objective with its penalty and constraint, the G step, PacGAN
packing, DiffAugment's policy, the label path, the metrics. Each module registers its own check
(`@config_check`), so this package imports none of them; `ganlab.resolve` imports them all."""

import re

from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException

from ganlab.config.parsing import _check_key, _expected_type, _show, check_value
from ganlab.config.schema import Config
from ganlab.config.ranges import schema
from ganlab.errors import ConfigError

OPTIMIZERS = ("adam", "rmsprop")
Z_PRIORS = ("normal", "uniform")
CHECKS = {}  # "module: what it checks" -> check(cfg), raising a one-sentence ConfigError


def config_check(name):
    """Decorator: register `check(cfg)` under `name`, run by every `validate` after the config's own rules."""
    def register(check):
        CHECKS[name] = check
        return check
    return register


PRECISIONS = ("fp32", "bf16", "fp16")


def validate(cfg):
    """Range checks (every numeric key, by walking the schema), the config's own rules and every
    registered check, each failing with one sentence naming the key. Call it again after changing a
    value of a made config."""
    def require(ok, key, expected):
        if not ok:
            raise ConfigError(f"{key} = {_show(OmegaConf.select(cfg, key))} is out of range; expected {expected}")

    for key, spec in schema().items():
        if spec.range is not None:
            check_value(key, OmegaConf.select(cfg, key))
    for point in cfg.eval_at_kimg:
        if isinstance(point, bool) or not isinstance(point, (int, float)) or not 1e-6 <= point <= 1e9:
            raise ConfigError(f"eval_at_kimg = {_show(cfg.eval_at_kimg)} holds {point!r}; expected a list of kimg "
                              f"between 1e-06 and 1e+09, such as [5, 25, 50, 100]")
    require(cfg.z_prior in Z_PRIORS, "z_prior", " or ".join(Z_PRIORS))
    require(cfg.precision in PRECISIONS, "precision", " or ".join(PRECISIONS))
    if cfg.bf16 and cfg.precision == "fp16":
        raise ConfigError("bf16 = true and precision = 'fp16' contradict each other; expected one of them "
                          "(bf16 = true is the same as precision = 'bf16')")
    for opt in ("g_opt", "d_opt"):
        require(cfg[opt].name in OPTIMIZERS, f"{opt}.name", " or ".join(OPTIMIZERS))
    dev = cfg.device
    require(dev in ("auto", "cpu", "cuda") or re.fullmatch(r"cuda:\d{1,4}", dev), "device", "auto, cpu, cuda or cuda:N")
    for check in CHECKS.values():
        check(cfg)


def parse_config(overrides=None):
    """A Config (an OmegaConf structured DictConfig) from dotted-key overrides, checked by
    `validate`: every key and value, and the checks the modules owning the keys registered
    (`ganlab.resolve.make_config` is the one to call: it makes sure they are registered)."""
    cfg = OmegaConf.structured(Config)
    for key, value in (overrides or {}).items():
        key = str(key)
        _check_key(key)
        value = check_value(key, value)
        try:
            OmegaConf.update(cfg, key, value, merge=True)
        except (OmegaConfBaseException, ValueError, TypeError, OverflowError) as exc:
            raise ConfigError(f"{key} = {_show(value)} has the wrong type; expected {_expected_type(cfg, key)}") from exc
    validate(cfg)
    return cfg
