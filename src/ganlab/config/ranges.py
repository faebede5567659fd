"""Every numeric field's range, and `schema()`: each dotted key's type and range. `validate` walks
the schema, so a numeric field without a range fails every config until it has one."""

import dataclasses
import functools
import math
import re
import typing
from dataclasses import dataclass
from typing import Optional

from ganlab.config.schema import Config, DataConfig, LatentConfig, NetConfig, OptimConfig


@dataclass(frozen=True)
class Range:
    """Allowed values of a numeric field: finite, lo <= v <= hi (or < at an open end), or one of
    `values`. Upper bounds keep values that become tensor sizes, seeds or image counts in what
    torch and int64 accept."""
    lo: float
    hi: float
    what: str = "number"        # the noun of the message: "a finite learning rate in (0, 10]"
    lo_open: bool = False
    hi_open: bool = False
    values: tuple = ()          # a fixed set instead of an interval (data.channels: 1 or 3)
    null: str = ""              # what null means, for Optional fields

    def __contains__(self, v):
        if self.values:
            return v in self.values
        above = self.lo < v if self.lo_open else self.lo <= v
        below = v < self.hi if self.hi_open else v <= self.hi
        return (isinstance(v, int) or math.isfinite(v)) and above and below  # ints are exact, any size

    def expected(self, integer):
        if self.values:
            text = " or ".join(str(v) for v in self.values)
        else:
            interval = f"{'(' if self.lo_open else '['}{_num(self.lo)}, {_num(self.hi)}{')' if self.hi_open else ']'}"
            text = f"an integer in {interval}" if integer else f"a finite {self.what} in {interval}"
        return text + (f" (or null for {self.null})" if self.null else "")


def _num(v):
    return str(v) if isinstance(v, int) else re.sub(r"e\+?(-?)0*(\d)", r"e\1\2", f"{v:g}")  # 1e9, 1e-6


KIMG = dict(lo=1e-6, hi=1e9, what="kimg")  # one thousandth of an image .. 1e12 images (int64 counts)
SEED = Range(0, 2**32 - 1)                 # what torch, numpy and random all accept
SIZE = 65536                               # a tensor dimension: batch, latent, grid

RANGES = {  # dataclass -> field -> Range; `test_every_numeric_key_has_a_range` keeps this complete
    DataConfig: {
        "resolution": Range(1, 4096, null="the native size"),
        "channels": Range(1, 3, values=(1, 3), null="the native channels"),
        "pad": Range(0, 1024),
        "n": Range(1, 100_000_000),
        "seed": SEED,
    },
    NetConfig: {"width": Range(1, 16384), "depth": Range(1, 1024)},
    OptimConfig: {
        "lr": Range(0, 10, "learning rate", lo_open=True),
        "beta1": Range(0, 1, hi_open=True),
        "beta2": Range(0, 1, hi_open=True),
        "alpha": Range(0, 1, hi_open=True),
    },
    LatentConfig: {"class_weight": Range(0, 1e6, "weight"), "fake_class_weight": Range(0, 1e6, "weight"),
                   "categorical": Range(0, SIZE),
                   "continuous": Range(0, SIZE), "info_weight": Range(0, 1e6, "weight")},
    Config: {
        "z_dim": Range(1, SIZE),
        "n_critic": Range(1, 1000, null="the objective's default"),
        "n_gen": Range(1, 1000),
        "pack": Range(1, 1024),
        "ema_kimg": Range(**KIMG, null="no EMA"),
        "phase_kimg": Range(**KIMG),
        "lr_decay_kimg": Range(**KIMG, null="constant learning rates"),
        "batch_size": Range(1, SIZE),
        "kimg": Range(**KIMG),
        "seed": SEED,
        "cpu_threads": Range(1, 1024, null="the data's rule"),
        "log_kimg": Range(**KIMG),
        "eval_kimg": Range(**KIMG, null="never"),
        "snapshot_kimg": Range(**KIMG),
        "grid_n": Range(1, 100_000),
        "max_rollbacks": Range(0, 1000),
        "rollback_lr_factor": Range(0, 1, "factor", lo_open=True),
    },
}


@dataclass(frozen=True)
class Spec:
    """One leaf of the schema: its Python type (int, float, bool, str, list, dict) and range."""
    kind: type
    optional: bool
    range: Optional[Range]


def _kind(hint):
    """(kind, optional) of a field's type hint: Optional[int] -> (int, True), List[str] -> (list, False)."""
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    optional = typing.get_origin(hint) is typing.Union and len(args) < len(typing.get_args(hint))
    if optional:
        hint = args[0]
    return typing.get_origin(hint) or hint, optional


@functools.lru_cache(maxsize=None)
def schema(cls=Config, prefix=""):
    """{dotted key: Spec} for every leaf of the Config dataclass. A numeric field without an entry
    in RANGES is a programming error, raised here so that every config fails until it has one."""
    out = {}
    for name, hint in typing.get_type_hints(cls).items():
        if dataclasses.is_dataclass(hint):
            out.update(schema(hint, f"{prefix}{name}."))
            continue
        kind, optional = _kind(hint)
        rng = RANGES.get(cls, {}).get(name)
        if kind in (int, float) and rng is None:
            raise TypeError(f"{cls.__name__}.{name} is numeric but has no Range in config.RANGES")
        out[f"{prefix}{name}"] = Spec(kind, optional, rng)
    return out


def expected(key):
    """What `key` accepts, in words (the end of every message about its value)."""
    spec = schema().get(key)
    if spec is None:
        return "a number or a name (`ganlab list objectives` shows each objective's arguments)"
    if spec.range is not None:
        return spec.range.expected(spec.kind is int)
    words = {bool: "true or false", str: "a string", list: "a list such as [fid5k_lenet, kid5k_lenet]",
             dict: "a mapping such as {a: 0, b: 1} (or objective_args.NAME=VALUE)"}[spec.kind]
    return words + (" or null" if spec.optional else "")
