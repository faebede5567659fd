"""Named, paper-faithful presets: dotted-key overrides of the Config defaults, each citing its
source. `ganlab list presets` prints them; `--set` overrides any key on top."""

from ganlab.utils.registry import Registry

PRESETS = Registry("preset")


# Keys of a preset that belong to its own objective (penalty weights, critic schedule): dropped
# when the preset is used with another objective, which then gets its own registered defaults.
OBJECTIVE_KEYS = ("objective_args", "n_critic", "wgan_warmup")


def preset_overrides(name, objective=None):
    """The dotted-key overrides of preset `name`; with `objective` other than the preset's own,
    without the keys that belong to the preset's objective (so `--set objective=hinge` works on
    a WGAN-GP preset whose `objective_args.gp_weight` hinge does not have)."""
    overrides = dict(PRESETS.lookup(name))
    if objective is not None and objective != overrides.get("objective", "nonsaturating"):
        for key in OBJECTIVE_KEYS:
            overrides.pop(key, None)
    return overrides


def run_label(preset, cfg, name=None):
    """The run directory's name after its number: `name` if given, else the preset's name (with the
    objective appended where the config's differs from the preset's), else objective-data."""
    if name:
        return name
    if preset:
        own = PRESETS.lookup(preset).get("objective", "nonsaturating")
        return preset if cfg.objective == own else f"{preset}-{cfg.objective}"
    return f"{cfg.objective}-{cfg.data.name}"


def preset(name, description, **overrides):
    """Register a preset; keys use '__' for '.', e.g. g_opt__lr=1e-4."""
    PRESETS.register(name, description)({"description": description, **{k.replace("__", "."): v for k, v in overrides.items()}})


# Toy 2-D mixtures: PacGAN's data protocol (Lin et al. 2018), MLP networks with a
# 2-D latent. The networks and schedule were tuned on this 2-core CPU for a 2-minute budget
# (see README "Toy presets"); NS and WGAN-GP get the same networks, optimiser and length.
_TOY = dict(
    G__arch="mlp", G__width=128, G__depth=4, D__arch="mlp", D__width=128, D__depth=3,
    z_dim=2, batch_size=256, kimg=3500.0, log_kimg=100.0, snapshot_kimg=1000.0, grid_n=2500,
    lr_decay_kimg=3500.0, g_opt__lr=3e-4, g_opt__beta1=0.5, g_opt__beta2=0.9,
    d_opt__lr=3e-4, d_opt__beta1=0.5, d_opt__beta2=0.9,
)
# WGAN-GP on toy data: penalty weight 0.1 as in Gulrajani et al.'s gan_toy.py (10 is for images),
# n_critic 2 (5 halves the G steps that fit in the budget for no gain here).
_TOY_WGAN_GP = dict(_TOY, objective="wgan-gp", objective_args={"gp_weight": 0.1}, n_critic=2)
_TOY_NS = dict(_TOY, objective="nonsaturating")

preset("toy-ring-ns", "8-Gaussian ring (PacGAN protocol), MLP G 128x4 / D 128x3, z 2, non-saturating GAN, Adam(3e-4, 0.5, 0.9) decayed linearly, 3500 kimg",
       data__name="ring8", **_TOY_NS)
preset("toy-grid-ns", "25-Gaussian grid (PacGAN protocol), MLP G 128x4 / D 128x3, z 2, non-saturating GAN, Adam(3e-4, 0.5, 0.9) decayed linearly, 3500 kimg",
       data__name="grid25", **_TOY_NS)
preset("toy-ring-wgan-gp", "8-Gaussian ring (PacGAN protocol), MLP G 128x4 / D 128x3, z 2, WGAN-GP with gan_toy.py's penalty 0.1 (Gulrajani et al. 2017), n_critic 2, Adam(3e-4, 0.5, 0.9) decayed linearly, 3500 kimg",
       data__name="ring8", **_TOY_WGAN_GP)
preset("toy-grid-wgan-gp", "25-Gaussian grid (PacGAN protocol), MLP G 128x4 / D 128x3, z 2, WGAN-GP with gan_toy.py's penalty 0.1 (Gulrajani et al. 2017), n_critic 2, Adam(3e-4, 0.5, 0.9) decayed linearly, 3500 kimg",
       data__name="grid25", **_TOY_WGAN_GP)

# The frozen toy recipes (docs/reproductions/pacgan-toy/frozen): the best setting of ganlab's searches
# on seeds 0-1 (search.md; chosen there, with the length, before seeds 100-109 were ever run): the
# non-saturating GAN with the R1 penalty on reals, gamma 10 (Mescheder et al. 2018), Adam(1e-3, 0.5,
# 0.9) for G and D decayed linearly to 0. The ring without BatchNorm in G at 3,000 kimg; the grid with
# it (PacGAN's G has it) at 10,000 kimg. Changing these changes what the frozen table reports.
_TOY_R1 = dict(_TOY, objective="r1", objective_args={"gamma": 10.0}, g_opt__lr=1e-3, d_opt__lr=1e-3)
preset("toy-ring-r1", "8-Gaussian ring (PacGAN protocol), the frozen recipe: MLP G 128x4 / D 128x3, z 2, non-saturating GAN "
       "+ R1 gamma 10 (Mescheder et al. 2018), Adam(1e-3, 0.5, 0.9) decayed linearly, 3000 kimg",
       **dict(_TOY_R1, data__name="ring8", kimg=3000.0, lr_decay_kimg=3000.0))
preset("toy-grid-r1", "25-Gaussian grid (PacGAN protocol), the frozen recipe: MLP G 128x4 with BatchNorm / D 128x3, z 2, "
       "non-saturating GAN + R1 gamma 10 (Mescheder et al. 2018), Adam(1e-3, 0.5, 0.9) decayed linearly, 10000 kimg",
       **dict(_TOY_R1, data__name="grid25", G__norm="batch", kimg=10000.0, lr_decay_kimg=10000.0))

# MNIST-5k with DCGAN (Radford et al. 2015: Adam(2e-4, 0.5), batch 64, BatchNorm, z 100).
_DCGAN = dict(data__name="mnist5k", G__arch="dcgan", D__arch="dcgan", G__width=64, D__width=64,
              z_dim=100, batch_size=64, g_opt__lr=2e-4, d_opt__lr=2e-4, log_kimg=5.0, snapshot_kimg=25.0,
              metrics=["fid5k_lenet", "kid5k_lenet", "pr5k_lenet", "mnist_score5k", "classes5k_lenet"])
preset("mnist5k-dcgan-ns", "MNIST-5k, DCGAN-28 (Radford et al. 2015: Adam(2e-4, 0.5), batch 64), non-saturating GAN, 150 kimg",
       objective="nonsaturating", kimg=150.0, **_DCGAN)

# The MNIST-5k default and the `make demo` job: DCGAN-28 tuned for fid5k_lenet per CPU-minute on
# this 2-core machine (docs/demo/README.md: the ablations, and three seeds). On MNIST-5k the run is
# limited by G steps and G's capacity: batch 32 (twice the steps per image), Adam(5e-4, 0.5), D
# width 32 and G width 128 each lower fid5k_lenet at equal time; an EMA of G (5-kimg half-life) is
# what samples and metrics use. DiffAugment and a linear learning-rate decay were slower at 600
# kimg. The demo is the same run stopped earlier (no decay), so it is a prefix of `mnist5k`.
_MNIST5K = dict(_DCGAN, objective="nonsaturating", G__width=128, D__width=32, batch_size=32,
                g_opt__lr=5e-4, d_opt__lr=5e-4, ema_kimg=5.0, eval_kimg=50.0,
                metrics=["fid5k_lenet", "mnist_score5k", "classes5k_lenet"])
preset("mnist5k", "MNIST-5k default: DCGAN-28 G width 128, D width 32, non-saturating GAN, Adam(5e-4, 0.5), batch 32, "
       "G EMA (5-kimg half-life), 600 kimg",
       kimg=600.0, **_MNIST5K)
# `make demo` must end within 5 minutes on the slower machines of this kind (~200 img/s for this
# network): the mnist5k run stopped at 50 kimg, evaluated once at its end. Nothing in the recipe
# depends on the run's length, so its 50-kimg point is that of any longer mnist5k run of one seed.
preset("demo", "the `make demo` job: the mnist5k preset stopped at 50 kimg and evaluated there (its measured "
       "time: docs/results/timings)",
       kimg=50.0, **_MNIST5K)

# Class-conditional MNIST-5k (ganlab.training.latent): the mnist5k run told the digit. G by conditional
# BatchNorm (de Vries et al. 2017), D by projection (Miyato & Koyama 2018) or by ACGAN's auxiliary
# classifier (Odena et al. 2017, class-loss weight 1). Measured by lenet-mnist: the fraction of
# samples classified as the digit they were made for, and the mean FID within each class.
_COND = dict(_MNIST5K, kimg=150.0, metrics=["intra_fid5k_lenet", "cond_acc5k_lenet", "fid5k_lenet", "mnist_score5k"])
preset("mnist5k-cbn-projection", "class-conditional MNIST-5k: the mnist5k DCGAN with conditional BatchNorm in G and a projection "
       "discriminator (Miyato & Koyama 2018), 150 kimg", latent__classes="projection", **_COND)
# ACGAN's D loss as published trains the class head on fakes too; here G then writes a class code
# that head reads and lenet-mnist does not (cond_acc 0.15 at 100 kimg, README), so the preset
# trains the head on real digits only (fake_class_weight 0): cond_acc 0.91 at 150 kimg.
preset("mnist5k-acgan", "class-conditional MNIST-5k: the mnist5k DCGAN with conditional BatchNorm in G and ACGAN's auxiliary "
       "classifier on D (Odena et al. 2017), class weight 1, D's head trained on real digits only, 150 kimg",
       latent__classes="acgan", latent__fake_class_weight=0.0, **_COND)

# InfoGAN on MNIST-5k (Chen et al. 2016; openai/InfoGAN's run_mnist_exp.py): 62 uniform noise
# dimensions, one 10-way categorical and two U(-1, 1) codes, lambda 1 for all, G lr 1e-3 and D lr
# 2e-4 with Adam beta1 0.5, batch 128; the networks are the mnist5k DCGAN-28 (the paper's own are
# an FC-conv G and a conv-FC D), Q a linear head on D's body.
preset("mnist5k-infogan", "InfoGAN on MNIST-5k (Chen et al. 2016): z 62 ~ U(-1, 1), Cat(10) + 2 U(-1, 1) codes, lambda 1, "
       "G lr 1e-3 / D lr 2e-4, batch 128, DCGAN-28, 150 kimg; info_err5k_lenet measures the code as a digit classifier",
       **dict(_MNIST5K, kimg=150.0, z_dim=62, z_prior="uniform", latent__categorical=10, latent__continuous=2,
              batch_size=128, g_opt__lr=1e-3, d_opt__lr=2e-4,
              metrics=["info_err5k_lenet", "fid5k_lenet", "mnist_score5k", "classes5k_lenet"]))

# The seed report's five MNIST models: DCGAN, batch 64, lr 1e-4, z 100, Adam(0.5)
# except WGAN (RMSProp). The report trained 20 epochs of full MNIST; these run 20 epochs of MNIST-5k
# (100 kimg): add --set data.name=mnist --set data.path=DIR --epochs 20 for the report's setting.
_REPORT = dict(_DCGAN, kimg=100.0, g_opt__lr=1e-4, d_opt__lr=1e-4)
preset("report-gan", "seed report: GAN on MNIST-5k, DCGAN, Adam(1e-4, 0.5), 20 epochs",
       objective="nonsaturating", **_REPORT)
preset("report-lsgan", "seed report: LSGAN (-1, 1, 0) on MNIST-5k, DCGAN, Adam(1e-4, 0.5), 20 epochs",
       objective="lsgan", **_REPORT)
preset("report-wgan", "seed report: WGAN (clip 0.01, n_critic 5) on MNIST-5k, DCGAN, RMSProp(1e-4), 20 epochs",
       objective="wgan", **dict(_REPORT, g_opt__name="rmsprop", d_opt__name="rmsprop"))
preset("report-wgan-gp", "seed report: WGAN-GP (weight 10, n_critic 5) on MNIST-5k, DCGAN, Adam(1e-4, 0.5), 20 epochs",
       objective="wgan-gp", **_REPORT)
preset("report-lsgan-mm", "seed report: LSGAN + mean matching (weight 1) on MNIST-5k, DCGAN, Adam(1e-4, 0.5), 20 epochs",
       objective="lsgan-mm", **_REPORT)

# The papers' own defaults, on MNIST-5k with DCGAN-28 (the papers used LSUN / CIFAR-10 at 64 / 32 px:
# add --set data.name=cifar10 --set data.path=... for those).
preset("wgan-paper", "Arjovsky et al. 2017 Alg. 1: clip 0.01, RMSProp(5e-5), n_critic 5, batch 64, official 100-step critic warm-up",
       objective="wgan", wgan_warmup=True, **dict(_DCGAN, kimg=200.0, g_opt__name="rmsprop", d_opt__name="rmsprop",
                                                   g_opt__lr=5e-5, d_opt__lr=5e-5))
preset("wgan-gp-paper", "Gulrajani et al. 2017 Alg. 1: gradient penalty 10, Adam(1e-4, 0, 0.9), n_critic 5, no BatchNorm in the critic",
       objective="wgan-gp", **dict(_DCGAN, kimg=200.0, g_opt__lr=1e-4, d_opt__lr=1e-4, g_opt__beta1=0.0,
                                   d_opt__beta1=0.0, g_opt__beta2=0.9, d_opt__beta2=0.9))

# --- WGAN-GP robustness settings (Gulrajani et al. 2017, Fig. 2) ------------------
# Seven G/D architecture pairs on which the paper trains DCGAN, LSGAN, WGAN and WGAN-GP. Here on
# MNIST-5k at 28x28 with width 64 (the paper's DIM), WGAN-GP with the paper's Adam(1e-4, 0, 0.9)
# and the objective's n_critic (5); `--set objective=nonsaturating|lsgan|wgan` gives the table's
# other columns (docs/networks.md lists the optimisers the paper's code pairs with each). D's norm
# is left to the objective (BatchNorm, or layer norm under a gradient penalty), as in that code.
ROBUSTNESS_SETTINGS = {  # preset name -> (the paper's setting, its network overrides)
    "robust-1-dcgan": ("(1) DCGAN G and D", {}),
    "robust-2-g-nobn-constant": ("(2) G without BatchNorm and with a constant number of filters, DCGAN D",
                                 {"G.norm": "none", "G.constant_width": True}),
    "robust-3-g-mlp512": ("(3) G a 4-layer 512-unit ReLU MLP, DCGAN D",
                          {"G.arch": "mlp", "G.width": 512, "G.depth": 4, "G.activation": "relu", "G.norm": "none"}),
    "robust-4-no-norm": ("(4) no normalisation in either G or D", {"G.norm": "none", "D.norm": "none"}),
    "robust-5-gated": ("(5) gated multiplicative nonlinearities sigmoid(a) * tanh(b) everywhere",
                       {"G.activation": "gated", "D.activation": "gated"}),
    "robust-6-tanh": ("(6) tanh nonlinearities everywhere", {"G.activation": "tanh", "D.activation": "tanh"}),
    "robust-7-resnet101": ("(7) 101-layer ResNet G and D (depth 101: 50 two-conv blocks each, G 102 layers, D 101)",
                           {"G.arch": "resnet", "D.arch": "resnet", "G.depth": 101, "D.depth": 101}),
}
_ROBUST = dict(_DCGAN, objective="wgan-gp", kimg=200.0, g_opt__lr=1e-4, d_opt__lr=1e-4, g_opt__beta1=0.0,
               d_opt__beta1=0.0, g_opt__beta2=0.9, d_opt__beta2=0.9)
for _name, (_setting, _nets) in ROBUSTNESS_SETTINGS.items():
    preset(_name, f"Gulrajani et al. 2017 Fig. 2 robustness setting {_setting}; MNIST-5k 28x28, WGAN-GP "
                  f"(penalty 10, n_critic 5), Adam(1e-4, 0, 0.9), 200 kimg; --set objective=... for the other columns",
           **dict(_ROBUST, **{key.replace(".", "__"): value for key, value in _nets.items()}))

# --- Progressive GAN (Karras et al. 2018) -----------------------------------------
# The paper's training settings: WGAN-GP with penalty 10 and drift 0.001 * E[D(x)^2], n_critic 1,
# Adam(1e-3, 0, 0.99), an EMA of G's weights for samples and metrics; growth 4x4 -> R in phases of
# phase_kimg (stable, fade-in, stable, ...). The paper shows 600 kimg per phase and an EMA decay of
# 0.999 per step (half-life ~11 kimg at its batch 16); these presets shorten both so that MNIST-5k
# grows to 32x32 in about ten minutes on a 2-core CPU: width 8 (channels 64@4 -> 32@8 -> 16@16 -> 8@32),
# batch 64, z 128, phases of 20 kimg (the fade-in to 32x32 ends at 120 kimg), 100 kimg at 32x32, a 2-kimg
# EMA half-life. CIFAR-10 gets width 16 and phases of 60 kimg: a longer run (raise width and
# phase_kimg on a GPU).
_PROGRESSIVE = dict(
    G__arch="progressive", D__arch="progressive", z_dim=128, objective="wgan-gp",
    objective_args={"gp_weight": 10.0, "drift": 0.001}, n_critic=1, batch_size=64,
    g_opt__lr=1e-3, d_opt__lr=1e-3, g_opt__beta1=0.0, d_opt__beta1=0.0, g_opt__beta2=0.99, d_opt__beta2=0.99,
)
preset("progressive-mnist5k", "Progressive GAN (Karras et al. 2018) on MNIST-5k padded to 32x32 (data.pad 2), growing "
       "4x4 -> 32x32 in 20-kimg phases, WGAN-GP (10, drift 0.001), n_critic 1, Adam(1e-3, 0, 0.99), G EMA; 220 kimg",
       **dict(_PROGRESSIVE, data__name="mnist5k", data__pad=2, G__width=8, D__width=8, phase_kimg=20.0,
              ema_kimg=2.0, kimg=220.0, log_kimg=1.0, snapshot_kimg=20.0, metrics=_DCGAN["metrics"]))
preset("progressive-cifar10", "Progressive GAN (Karras et al. 2018) on CIFAR-10 (set data.path), growing 4x4 -> 32x32 "
       "in 60-kimg phases, WGAN-GP (10, drift 0.001), n_critic 1, Adam(1e-3, 0, 0.99), G EMA; 600 kimg",
       **dict(_PROGRESSIVE, data__name="cifar10", G__width=16, D__width=16, phase_kimg=60.0,
              ema_kimg=5.0, kimg=600.0, log_kimg=5.0, snapshot_kimg=30.0))

# --- Stacked-MNIST (1,000 modes; Lin et al. 2018, PacGAN, Tables 2-3; research wave2 §2.3) ---------
# VEEGAN's setting (PacGAN Table 2): 128,000 stacks, DCGAN, z 100, batch 64, Adam(2e-4, 0.5), 50
# epochs (6,400 kimg), modes and KL over 26,000 samples. Here the stacks come from MNIST-5k (set
# data.path to MNIST's IDX folder for full MNIST) and the networks are ganlab's DCGAN-28 at width 64
# (G z -> 128@7 -> 64@14 -> 3@28). PacDCGAN-m judges m images per D example and, as in PacGAN, keeps
# the batch of packed examples: batch_size counts images, so it is 64 * m.
_STACKED = dict(_DCGAN, data__name="stacked-mnist", data__n=128_000, objective="nonsaturating", kimg=6400.0,
                log_kimg=10.0, snapshot_kimg=320.0, eval_kimg=640.0, metrics=["modes26k_stacked"])
preset("stacked-dcgan", "Stacked-MNIST, VEEGAN setting (PacGAN Table 2): DCGAN-28 width 64, z 100, batch 64, "
       "Adam(2e-4, 0.5), non-saturating GAN, 50 epochs of 128,000 stacks (6,400 kimg); modes26k_stacked",
       **_STACKED)
for _m in (2, 3, 4):
    preset(f"stacked-pacdcgan{_m}", f"Stacked-MNIST, VEEGAN setting: PacDCGAN{_m} (Lin et al. 2018), D judges {_m} "
           f"images per example, batch {64 * _m} images = 64 packed examples; otherwise stacked-dcgan",
           **dict(_STACKED, pack=_m, batch_size=64 * _m))
preset("stacked-unrolled", "Stacked-MNIST, VEEGAN setting: Unrolled GAN (Metz et al. 2017), G's loss against D "
       "unrolled 5 Adam steps with the second-order term; otherwise stacked-dcgan",
       **dict(_STACKED, g_step="unrolled", g_step_args={"steps": 5}))

# Metz et al.'s small-D setting (PacGAN Table 3): stacks of 32x32 (data.pad 2), z 256, batch 128, D
# Adam(2e-4, 0.5, 0.99), G Adam(1e-4, 0.5, 0.99), 500,000 steps (64,000 kimg). Their G is linear ->
# 64@4 then 3x3 deconvs 32/16/8 and a conv to 3 channels; ganlab's DCGAN-32 at G width 8 is 32@4 ->
# 16@8 -> 8@16 -> 3@32 (4x4 kernels). D at width 2 is 2@16 -> 4@8 -> 8@4 -> 1 (Metz's 1/4-size D,
# conv 2/4/8) and at width 4 is 4/8/16 (the 1/2-size D).
_SMALL_D = dict(_STACKED, data__pad=2, z_dim=256, batch_size=128, G__width=8, kimg=64_000.0,
                g_opt__lr=1e-4, d_opt__lr=2e-4, g_opt__beta2=0.99, d_opt__beta2=0.99,
                log_kimg=20.0, snapshot_kimg=1000.0, eval_kimg=2000.0)
for _quarter, _width in (("d4", 2), ("d2", 4)):
    _share = "1/4" if _width == 2 else "1/2"
    preset(f"stacked-small-{_quarter}", f"Stacked-MNIST, Metz et al.'s small-D setting (PacGAN Table 3): D {_share} of G "
           f"(conv {_width}/{2 * _width}/{4 * _width} channels), G deconv 32/16/8, z 256, batch 128, Adam D 2e-4 / "
           f"G 1e-4 (0.5, 0.99), 32x32, 64,000 kimg; --set pack=2 batch_size=256 for PacDCGAN2",
           **dict(_SMALL_D, D__width=_width))
