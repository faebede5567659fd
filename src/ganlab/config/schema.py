"""The typed run configuration: one dataclass per section, each field with its default and a
comment saying what it means. A run is data x generator x discriminator x objective (x penalty x
constraint) x schedule; the resolved configuration is printed by `ganlab train --dry-run` and saved
as `config.yaml` in every run directory."""

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional


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
