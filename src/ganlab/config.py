"""Typed run configuration: dataclasses with one source of defaults, presets, overrides.

A run is data x generator x discriminator x objective x schedule. The resolved configuration is
printed by `ganlab train --dry-run` and saved as `config.yaml` in every run directory. Overrides
use dotted keys: `--set objective=wgan-gp --set D.norm=layer --set g_opt.lr=1e-4`.
"""

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException

from ganlab.errors import ConfigError, suggest


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
class Config:
    description: str = ""               # free text, shown in `ganlab list presets`
    data: DataConfig = field(default_factory=DataConfig)
    G: NetConfig = field(default_factory=NetConfig)
    D: NetConfig = field(default_factory=NetConfig)
    z_dim: int = 100                    # latent dimension
    z_prior: str = "normal"             # normal (N(0, I)) | uniform (U[-1, 1])
    objective: str = "nonsaturating"    # entry of OBJECTIVES (`ganlab list objectives`)
    objective_args: Dict[str, Any] = field(default_factory=dict)  # e.g. {a: 0, b: 1, c: 1}
    n_critic: Optional[int] = None      # D steps per G step; None = the objective's default
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
                                        # (losses and the gradient penalty's norm stay fp32)
    cpu_threads: Optional[int] = None   # torch CPU threads; None = 1 for toy points (small MLPs
                                        # run faster single-threaded), all cores for images
    log_kimg: float = 1.0               # metrics.jsonl line every this many kimg
    metrics: List[str] = field(default_factory=list)  # METRICS names for evaluation; the first
                                        # is primary (it picks the `best` checkpoint)
    eval_kimg: Optional[float] = None   # evaluate `metrics` every this many kimg (None = never)
    snapshot_kimg: float = 10.0         # sample grid and checkpoint every this many kimg
    grid_n: int = 64                    # samples in each grid (from one fixed z)
    max_rollbacks: int = 3              # non-finite losses roll the run back to its last good
                                        # checkpoint this many times (lowering both learning
                                        # rates), then stop it; 0 = stop at the first
    rollback_lr_factor: float = 0.5     # learning rates are multiplied by this at each rollback


# --- Resolution: defaults <- preset <- overrides -------------------------------------------------

OPTIMIZERS = ("adam", "rmsprop")
Z_PRIORS = ("normal", "uniform")


def _field_keys(cls=None, prefix=""):
    """All dotted keys of the Config dataclass, e.g. ['description', 'data.name', ..., 'g_opt.lr']."""
    keys = []
    for f in dataclasses.fields(cls or Config):
        if dataclasses.is_dataclass(f.type):
            keys += _field_keys(f.type, f"{prefix}{f.name}.")
        else:
            keys.append(f"{prefix}{f.name}")
    return keys


def _check_key(key):
    """Refuse a dotted key that is not in the schema, listing close matches."""
    if key.startswith("objective_args.") and key.count(".") == 1:
        return  # checked against the objective's own hyperparameters later
    valid = _field_keys()
    if key not in valid:
        raise ConfigError(f"unknown config key {key!r}{suggest(key, valid)}; `ganlab train --dry-run` shows every key")


def parse_overrides(items):
    """['g_opt.lr=1e-4', ...] -> {'g_opt.lr': 1e-4, ...}, values parsed as YAML scalars."""
    parsed = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--set {item!r} is not of the form KEY=VALUE (e.g. --set g_opt.lr=1e-4)")
        parsed[key.strip()] = OmegaConf.from_dotlist([f"v={value}"])["v"] if value != "" else None
    return parsed


def make_config(overrides=None):
    """A validated Config (as an OmegaConf structured DictConfig) from dotted-key overrides."""
    cfg = OmegaConf.structured(Config)
    for key, value in (overrides or {}).items():
        _check_key(key)
        try:
            OmegaConf.update(cfg, key, value, merge=True)
        except OmegaConfBaseException as exc:
            expected = _expected_type(cfg, key)
            raise ConfigError(f"{key} = {value!r} has the wrong type; expected {expected}") from exc
    validate(cfg)
    return cfg


def _expected_type(cfg, key):
    parent_key, _, leaf = key.rpartition(".")
    parent = OmegaConf.select(cfg, parent_key) if parent_key else cfg
    node = parent._get_node(leaf)
    kind = getattr(node, "_metadata", None)
    ref = getattr(kind, "ref_type", None)
    return getattr(ref, "__name__", str(ref)).replace("Optional[", "").rstrip("]") if ref else "another type"


def validate(cfg):
    """Range checks and registry names, each failing with one sentence naming the key."""
    # Imported here: the registries import this module's dataclasses.
    from ganlab.data import DATASETS
    from ganlab.networks import NETWORKS
    from ganlab.objectives import build_objective

    def require(ok, key, expected):
        if not ok:
            raise ConfigError(f"{key} = {OmegaConf.select(cfg, key)!r} is out of range; expected {expected}")

    DATASETS.lookup(cfg.data.name)
    NETWORKS.lookup(cfg.G.arch)
    NETWORKS.lookup(cfg.D.arch)
    build_objective(cfg.objective, cfg.objective_args)
    for key in ("z_dim", "batch_size", "grid_n", "data.n"):
        require(OmegaConf.select(cfg, key) >= 1, key, "an integer >= 1")
    for key in ("kimg", "log_kimg", "snapshot_kimg"):
        require(OmegaConf.select(cfg, key) > 0, key, "a number > 0")
    require(cfg.eval_kimg is None or cfg.eval_kimg > 0, "eval_kimg", "a number > 0 (or null)")
    if cfg.metrics:
        from ganlab.metrics import METRICS

        for name in cfg.metrics:
            METRICS.lookup(name)
        if METRICS[cfg.metrics[0]].kind not in ("fid", "kid", "is", "classes"):
            raise ConfigError(f"metrics[0] = {cfg.metrics[0]!r} cannot be the primary metric; expected an fid, kid, score or classes metric first")
    require(cfg.cpu_threads is None or cfg.cpu_threads >= 1, "cpu_threads", "an integer >= 1 (or null)")
    require(cfg.n_critic is None or cfg.n_critic >= 1, "n_critic", "an integer >= 1 (or null for the objective's default)")
    require(cfg.ema_kimg is None or cfg.ema_kimg > 0, "ema_kimg", "a half-life in kimg > 0 (or null)")
    require(cfg.phase_kimg > 0, "phase_kimg", "a number > 0")
    require(cfg.data.pad >= 0, "data.pad", "an integer >= 0")
    require(cfg.lr_decay_kimg is None or cfg.lr_decay_kimg > 0, "lr_decay_kimg", "a number > 0 (or null)")
    require(cfg.max_rollbacks >= 0, "max_rollbacks", "an integer >= 0")
    require(0 < cfg.rollback_lr_factor <= 1, "rollback_lr_factor", "a factor in (0, 1]")
    require(cfg.z_prior in Z_PRIORS, "z_prior", " or ".join(Z_PRIORS))
    for net in ("G", "D"):
        require(cfg[net].width >= 1, f"{net}.width", "an integer >= 1")
        require(cfg[net].depth >= 1, f"{net}.depth", "an integer >= 1")
    for opt in ("g_opt", "d_opt"):
        require(cfg[opt].name in OPTIMIZERS, f"{opt}.name", " or ".join(OPTIMIZERS))
        require(cfg[opt].lr > 0, f"{opt}.lr", "a learning rate > 0")
        require(0 <= cfg[opt].beta1 < 1, f"{opt}.beta1", "a number in [0, 1)")
        require(0 <= cfg[opt].beta2 < 1, f"{opt}.beta2", "a number in [0, 1)")
        require(0 <= cfg[opt].alpha < 1, f"{opt}.alpha", "a number in [0, 1)")
    dev = cfg.device
    require(dev in ("auto", "cpu", "cuda") or dev.startswith("cuda:"), "device", "auto, cpu, cuda or cuda:N")
