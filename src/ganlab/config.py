"""Typed run configuration: dataclasses with one source of defaults, presets, overrides.

A run is data x generator x discriminator x objective x schedule. The resolved configuration is
printed by `ganlab train --dry-run` and saved as `config.yaml` in every run directory. Overrides
use dotted keys: `--set objective=wgan-gp --set D.norm=layer --set g_opt.lr=1e-4`.
"""

import dataclasses
import functools
import math
import re
import typing
import unicodedata
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

import yaml
from omegaconf import DictConfig, ListConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from ganlab.errors import ConfigError, shown, suggest


@dataclass
class DataConfig:
    name: str = "mnist5k"               # entry of DATASETS (`ganlab list datasets`)
    path: Optional[str] = None          # file or folder, for datasets read from disk
    resolution: Optional[int] = None    # resize images to this side (image folders; None = native)
    channels: Optional[int] = None      # 1 = grey, 3 = RGB (image folders; None = native)
    split: str = "train"                # train | test, for datasets that have both
    pad: int = 0                        # pad images by this many background pixels on each
                                        # side (MNIST 28 -> 32 with pad 2, for Progressive GAN)
    n: int = 100_000                    # points drawn once for toy datasets
    seed: int = 0                       # seed of that draw (independent of the training seed)


@dataclass
class NetConfig:
    arch: str = "dcgan"                 # entry of NETWORKS (`ganlab list networks`)
    width: int = 64                     # hidden units (MLP), base channel count (DCGAN) or the
                                        # channels of every residual block (ResNet)
    depth: int = 3                      # hidden layers (MLP); conv + linear layers (ResNet, 2 per
                                        # residual block); DCGAN depth follows the resolution
    activation: Optional[str] = None    # relu | leaky_relu | elu | tanh | gated (DCGAN, MLP);
                                        # None = the family's rule
    norm: Optional[str] = None          # batch | layer | none; None = the family's rule, and no
                                        # BatchNorm in D for gradient-penalty objectives
    spectral_norm: bool = False         # spectral normalisation of every conv/linear weight
                                        # (Miyato et al. 2018); meant for D
    constant_width: bool = False        # DCGAN: the same channel count (width) at every layer


@dataclass
class OptimConfig:
    name: str = "adam"                  # adam | rmsprop
    lr: float = 2e-4                    # learning rate
    beta1: float = 0.5                  # Adam beta1 (DCGAN: 0.5)
    beta2: float = 0.999                # Adam beta2
    alpha: float = 0.99                 # RMSProp smoothing constant (PyTorch's default)


@dataclass
class LatentConfig:
    classes: Optional[str] = None       # the label path: D judges (x, class) by projection
                                        # (Miyato & Koyama 2018) or acgan (an auxiliary
                                        # classifier, Odena et al. 2017); null = unconditional
    g_input: str = "auto"               # how G is told the class: cbn (conditional BatchNorm) |
                                        # concat (one-hot appended to z) | auto (cbn where G has
                                        # BatchNorm)
    class_weight: float = 1.0           # ACGAN: weight of the class cross-entropy in D's and G's loss
    fake_class_weight: float = 1.0      # ACGAN: weight of the fakes' class cross-entropy in D's
                                        # loss, relative to the reals' (1 = Odena et al. 2017;
                                        # 0 = D's head learns the classes from real data only)
    categorical: int = 0                # InfoGAN (Chen et al. 2016): values of one categorical
                                        # code fed to G (0 = none; MNIST: 10)
    continuous: int = 0                 # InfoGAN: continuous codes ~ U(-1, 1) fed to G (MNIST: 2)
    info_weight: float = 1.0            # InfoGAN: lambda, the weight of the mutual-information
                                        # term in D's (Q's) and G's loss


@dataclass
class Config:
    description: str = ""               # free text, shown in `ganlab list presets`
    data: DataConfig = field(default_factory=DataConfig)
    G: NetConfig = field(default_factory=NetConfig)
    D: NetConfig = field(default_factory=NetConfig)
    z_dim: int = 100                    # latent dimension
    z_prior: str = "normal"             # normal (N(0, I)) | uniform (U[-1, 1])
    latent: LatentConfig = field(default_factory=LatentConfig)  # class labels (ganlab.training.latent)
    objective: str = "nonsaturating"    # entry of OBJECTIVES (`ganlab list objectives`)
    objective_args: Dict[str, Any] = field(default_factory=dict)  # e.g. {a: 0, b: 1, c: 1}
    penalty: Optional[str] = None       # entry of PENALTIES (gp, dragan, r1), or none; None = the
                                        # objective's own (wgan-gp: gp)
    penalty_args: Dict[str, Any] = field(default_factory=dict)  # e.g. {weight: 1}
    constraint: Optional[str] = None    # entry of CONSTRAINTS (clip), or none; None = the objective's
                                        # own (wgan: clip)
    constraint_args: Dict[str, Any] = field(default_factory=dict)  # e.g. {c: 0.05}
    n_critic: Optional[int] = None      # D steps per G step; None = the objective's default
    n_gen: int = 1                      # G steps after each round of D steps (1 in every paper;
                                        # more over-trains G: the "Helvetica scenario")
    g_step: str = "standard"            # how a G step is computed: entry of G_STEPS (standard,
                                        # unrolled: Metz et al. 2017)
    g_step_args: Dict[str, Any] = field(default_factory=dict)  # e.g. {steps: 10, second_order: false}
    wgan_warmup: bool = False           # official WGAN code: 100 D steps for the first 25 G
                                        # steps and every 500th
    ema_kimg: Optional[float] = None    # half-life of an exponential moving average of G's
                                        # weights, in kimg; used for samples and evaluation
                                        # (None = off)
    phase_kimg: float = 100.0           # Progressive GAN: kimg per fade-in and per stable phase
    g_opt: OptimConfig = field(default_factory=OptimConfig)
    d_opt: OptimConfig = field(default_factory=OptimConfig)
    lr_decay_kimg: Optional[float] = None  # decay both learning rates linearly to 0 at this many
                                        # kimg (as WGAN-GP's gan_cifar_resnet.py); None = constant
    batch_size: int = 64                # images per D step and per G step
    kimg: float = 100.0                 # run length in thousands of real images shown to D
    seed: int = 0                       # training seed (weights, noise, data order)
    device: str = "auto"                # auto | cpu | cuda | cuda:N
    bf16: bool = False                  # bfloat16 autocast for the networks' forward passes
                                        # (losses and the gradient penalty's norm stay fp32);
                                        # the same as precision = bf16
    precision: str = "fp32"             # fp32 | bf16 (autocast) | fp16 (autocast and a gradient
                                        # scaler per network; penalties' D passes in fp32)
    channels_last: bool = False         # image nets and batches in channels-last memory format
    deterministic: bool = False         # deterministic cuDNN / torch kernels (exact resume on
                                        # a GPU; slower)
    compile: bool = False               # torch.compile G's and D's forward passes (not with a
                                        # gradient penalty or unrolled G steps: double backward)
    cpu_threads: Optional[int] = None   # torch CPU threads; None = 1 for toy points (small MLPs
                                        # run faster single-threaded), all cores for images
    log_kimg: float = 1.0               # metrics.jsonl line every this many kimg
    metrics: List[str] = field(default_factory=list)  # METRICS names for evaluation; the first
                                        # is primary (it picks the `best` checkpoint)
    eval_kimg: Optional[float] = None   # evaluate `metrics` every this many kimg (None = never)
    eval_at_kimg: List[float] = field(default_factory=list)  # and at these kimg too (e.g. the
                                        # "epochs" a paper reports: [60, 300, 600, 1200])
    snapshot_kimg: float = 10.0         # sample grid and checkpoint every this many kimg
    grid_n: int = 64                    # samples in each grid (from one fixed z)
    augment: Optional[str] = None       # what D sees: a DiffAugment policy applied to reals
                                        # and fakes, e.g. color,translation,cutout (None = off)
    pack: int = 1                       # what D sees: PacGAN packing, D judges this many samples
                                        # at once (Lin et al. 2018; batch_size counts samples)
    tensorboard: bool = True            # TensorBoard event files (scalars, sample grids) in
                                        # RUN_DIR/tensorboard/ beside metrics.jsonl
    max_rollbacks: int = 3              # non-finite losses roll the run back to its last good
                                        # checkpoint this many times (lowering both learning
                                        # rates), then stop it; 0 = stop at the first
    rollback_lr_factor: float = 0.5     # learning rates are multiplied by this at each rollback


# --- Ranges: every numeric field has one, and `validate` walks the schema to check them all ------

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


def _show(value):
    return shown(OmegaConf.to_container(value) if isinstance(value, (DictConfig, ListConfig)) else value)


def _bad_text(key, text):
    """A message for a string holding a control character or an interpolation, else None."""
    ch = next((c for c in text if unicodedata.category(c)[0] == "C" or unicodedata.category(c) in ("Zl", "Zp")), None)
    if ch is not None:
        return f"{key} = {_show(text)} holds the control character {ch!r}; expected printable text"
    if "${" in text:
        return f"{key} = {_show(text)} holds an interpolation (${{...}}), which ganlab does not resolve; expected {expected(key)}"
    return None


def _to_number(key, value, spec):
    """`value` as spec.kind (int or float), or a ConfigError naming the key."""
    wrong = ConfigError(f"{key} = {_show(value)} has the wrong type; expected {spec.kind.__name__}, {expected(key)}")
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise wrong
    if isinstance(value, str):
        try:
            value = int(value) if spec.kind is int else float(value)
        except ValueError:
            try:
                value = float(value)
            except ValueError:
                raise wrong from None
    if isinstance(value, int) and spec.kind is float:
        try:
            return float(value)
        except OverflowError:
            raise ConfigError(f"{key} = {_show(value)} is out of range; expected {expected(key)}") from None
    if isinstance(value, float) and spec.kind is int:
        if not math.isfinite(value):
            raise ConfigError(f"{key} = {value!r} is out of range; expected {expected(key)}")
        if not value.is_integer():
            raise wrong
        return int(value)
    return value


def check_value(key, value):
    """`value` for `key` as the schema types it (numbers parsed from text), refused with a one-line
    ConfigError when it is out of range, not finite, of the wrong shape or holds control text."""
    spec = schema().get(key)
    if isinstance(value, str) and (problem := _bad_text(key, value)):
        raise ConfigError(problem)
    if spec is None or value is None:
        return value
    if spec.kind in (int, float):
        value = _to_number(key, value, spec)
        if value not in spec.range:
            raise ConfigError(f"{key} = {_show(value)} is out of range; expected {expected(key)}")
    elif spec.kind is list or spec.kind is dict:
        items = value.values() if isinstance(value, (dict, DictConfig)) else value
        keys = value.keys() if isinstance(value, (dict, DictConfig)) else []
        shaped = isinstance(value, (dict, DictConfig) if spec.kind is dict else (list, tuple, ListConfig))
        if not shaped or not all(isinstance(k, str) for k in keys) or not all(_scalar(v) for v in items):
            raise ConfigError(f"{key} = {_show(value)} has the wrong type; expected {expected(key)} (plain values, not nested)")
        for v in [*keys, *items]:
            if isinstance(v, str) and (problem := _bad_text(key, v)):
                raise ConfigError(problem)
    return value


def _scalar(v):
    return v is None or isinstance(v, (bool, int, float, str))


# --- Resolution: defaults <- preset <- overrides -------------------------------------------------

OPTIMIZERS = ("adam", "rmsprop")
Z_PRIORS = ("normal", "uniform")


def _field_keys():
    """All dotted keys of the Config dataclass, e.g. ['description', 'data.name', ..., 'g_opt.lr']."""
    return list(schema())


def _check_key(key):
    """Refuse a dotted key that is not in the schema, listing close matches."""
    if re.fullmatch(r"(objective|penalty|constraint|g_step)_args\.[A-Za-z_]\w{0,63}", key):
        return  # checked against the objective's (penalty's, constraint's, G step's) own arguments later
    valid = _field_keys()
    if key not in valid:
        raise ConfigError(f"unknown config key {_show(key)}{suggest(key, valid)}; `ganlab train --dry-run` shows every key")


_YAML_EXTRAS = {  # token -> the YAML feature it belongs to; none has a use in one --set value
    yaml.TagToken: "a YAML tag", yaml.AnchorToken: "a YAML anchor", yaml.AliasToken: "a YAML alias",
    yaml.DirectiveToken: "a YAML directive", yaml.DocumentStartToken: "a YAML document marker",
    yaml.DocumentEndToken: "a YAML document marker",
}


def parse_overrides(items):
    """['g_opt.lr=1e-4', ...] -> {'g_opt.lr': 1e-4, ...}. Values are YAML scalars (flat lists for
    list keys such as metrics, flat mappings for objective_args); tags, anchors, aliases, comments,
    documents, nesting and control characters are refused, and numbers are range-checked here."""
    parsed = {}
    for item in items:
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ConfigError(f"--set {_show(item)} is not of the form KEY=VALUE (e.g. --set g_opt.lr=1e-4)")
        _check_key(key)
        parsed[key] = check_value(key, _parse_value(key, text))
    return parsed


def _parse_value(key, text):
    """One --set value as a Python value; see parse_overrides."""
    def refuse(problem):
        return ConfigError(f"--set {key}={_show(text)} {problem}; expected {expected(key)}")

    if text.strip() == "":
        return None
    if problem := _bad_text(key, text):
        raise ConfigError("--set " + problem)
    try:
        tokens = [t for t in yaml.scan(text, Loader=yaml.SafeLoader)
                  if not isinstance(t, (yaml.StreamStartToken, yaml.StreamEndToken))]
    except yaml.YAMLError:
        raise refuse("is not a valid YAML value") from None
    depth = 0
    for token in tokens:
        if type(token) in _YAML_EXTRAS:
            raise refuse(f"uses {_YAML_EXTRAS[type(token)]}")
        if isinstance(token, yaml.ScalarToken) and token.style in ("|", ">"):
            raise refuse("uses a YAML block scalar")
        depth += isinstance(token, (yaml.FlowSequenceStartToken, yaml.FlowMappingStartToken))
        depth -= isinstance(token, (yaml.FlowSequenceEndToken, yaml.FlowMappingEndToken))
        if depth > 1 or isinstance(token, (yaml.BlockSequenceStartToken, yaml.BlockMappingStartToken)) and tokens[0] is not token:
            raise refuse("is nested")
    if not tokens or tokens[-1].end_mark.index < len(text.rstrip()):
        raise refuse("holds a YAML comment (#); quote the value to keep the #")
    try:
        value = OmegaConf.from_dotlist([f"v={text}"])["v"]  # YAML as OmegaConf reads it (1e-4 is a float)
    except (yaml.YAMLError, OmegaConfBaseException, ValueError):
        raise refuse("is not a valid YAML value") from None
    if isinstance(value, (DictConfig, ListConfig)):
        value = OmegaConf.to_container(value)
    spec = schema().get(key)
    kind = spec.kind if spec else None
    if isinstance(value, list) and kind is not list:
        raise refuse("is a list")
    if isinstance(value, dict) and kind is not dict:
        raise refuse("is a mapping (quote it if it is text)")
    if kind is str and not isinstance(value, str) and value is not None and tokens[0].plain:
        return text.strip()  # data.path=yes is the folder 'yes', not True; description=1:20 is not 80
    if kind in (int, float) and isinstance(value, (int, float)) and ":" in text:
        raise refuse("uses YAML's base-60 notation")
    return value


def make_config(overrides=None):
    """A validated Config (as an OmegaConf structured DictConfig) from dotted-key overrides."""
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


def _expected_type(cfg, key):
    parent_key, _, leaf = key.rpartition(".")
    parent = OmegaConf.select(cfg, parent_key) if parent_key else cfg
    node = parent._get_node(leaf)
    kind = getattr(node, "_metadata", None)
    ref = getattr(kind, "ref_type", None)
    name = getattr(ref, "__name__", str(ref)).replace("Optional[", "").rstrip("]") if ref else "another type"
    return f"{name}, {expected(key)}" if key in schema() else name


PRECISIONS = ("fp32", "bf16", "fp16")


def validate(cfg):
    """Range checks (every numeric key, by walking the schema) and registry names, each failing
    with one sentence naming the key. Call it again after changing a value of a made config."""
    # Imported here: the registries import this module's dataclasses.
    from ganlab.data import DATASETS
    from ganlab.networks import NETWORKS
    from ganlab.training.augment import parse_policy
    from ganlab.training.gstep import G_STEPS, check_g_step
    from ganlab.objectives import objective_of
    from ganlab.regularizers import CONSTRAINTS, PENALTIES
    from ganlab.training.latent import check_latent
    from ganlab.training.view import check_pack

    parse_policy(cfg.augment)

    def require(ok, key, expected):
        if not ok:
            raise ConfigError(f"{key} = {_show(OmegaConf.select(cfg, key))} is out of range; expected {expected}")

    for key, spec in schema().items():
        if spec.range is not None:
            check_value(key, OmegaConf.select(cfg, key))
    DATASETS.lookup(cfg.data.name)
    NETWORKS.lookup(cfg.G.arch)
    NETWORKS.lookup(cfg.D.arch)
    for key, registry in (("penalty", PENALTIES), ("constraint", CONSTRAINTS)):
        if cfg[key] not in (None, "none"):
            registry.lookup(cfg[key])
        elif cfg[key] is None and cfg[f"{key}_args"]:
            raise ConfigError(f"{key}_args = {_show(cfg[f'{key}_args'])} is set without a {key}; expected {key} "
                              f"= one of: {', '.join(sorted(registry))}")
    objective_of(cfg)
    G_STEPS.lookup(cfg.g_step)
    check_g_step(cfg.g_step, cfg.g_step_args)
    check_pack(cfg.pack, cfg.batch_size)
    check_latent(cfg)
    for point in cfg.eval_at_kimg:
        if isinstance(point, bool) or not isinstance(point, (int, float)) or not 1e-6 <= point <= 1e9:
            raise ConfigError(f"eval_at_kimg = {_show(cfg.eval_at_kimg)} holds {point!r}; expected a list of kimg "
                              f"between 1e-06 and 1e+09, such as [5, 25, 50, 100]")
    if cfg.metrics:
        from ganlab.metrics import METRICS

        for name in cfg.metrics:
            METRICS.lookup(name)
        first = METRICS[cfg.metrics[0]]
        if not first.scalar or "modes" in first.needs:  # toy metrics come with the log rows, not at eval points
            raise ConfigError(f"metrics[0] = {cfg.metrics[0]!r} cannot be the primary metric; expected an fid, kid, score, classes or class-conditional metric first")
    require(cfg.z_prior in Z_PRIORS, "z_prior", " or ".join(Z_PRIORS))
    require(cfg.precision in PRECISIONS, "precision", " or ".join(PRECISIONS))
    if cfg.bf16 and cfg.precision == "fp16":
        raise ConfigError("bf16 = true and precision = 'fp16' contradict each other; expected one of them "
                          "(bf16 = true is the same as precision = 'bf16')")
    if cfg.precision == "fp16" and cfg.g_step == "unrolled":
        raise ConfigError("precision = 'fp16' with g_step = 'unrolled' is not supported (the unrolled D updates "
                          "take gradients outside the loss scaler); expected precision fp32 or bf16")
    for opt in ("g_opt", "d_opt"):
        require(cfg[opt].name in OPTIMIZERS, f"{opt}.name", " or ".join(OPTIMIZERS))
    dev = cfg.device
    require(dev in ("auto", "cpu", "cuda") or re.fullmatch(r"cuda:\d{1,4}", dev), "device", "auto, cpu, cuda or cuda:N")
