"""Typed run configuration, one source of defaults, and its checks.

    schema.py      the dataclasses: every key, its default and what it means
    ranges.py      every numeric key's range; schema(), each dotted key's type and range
    parsing.py     --set values and dotted-key overrides, parsed and checked
    validation.py  validate(cfg): ranges, the config's own rules, and the checks that the modules
                   owning keys register with @config_check (this package imports none of them);
                   parse_config, the defaults with overrides merged in and validated

Overrides use dotted keys: `--set objective=wgan-gp --set D.norm=layer --set g_opt.lr=1e-4`. A
config to train with comes from `ganlab.resolve.make_config`, which imports every module that
registers a check before it validates.
"""

from ganlab.config.parsing import _field_keys, check_value, parse_overrides  # noqa: F401
from ganlab.config.ranges import RANGES, Range, expected, schema  # noqa: F401
from ganlab.config.schema import Config, DataConfig, LatentConfig, NetConfig, OptimConfig  # noqa: F401
from ganlab.config.validation import CHECKS, config_check, parse_config, validate  # noqa: F401
