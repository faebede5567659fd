"""What changes with progress, counted in real images shown to D (`cur_nimg`) so that it does not
depend on the batch size: the learning rates (linear decay, scaled down by rollbacks), the D steps
before each G step (n_critic, WGAN's warm-up), the EMA of G, Progressive GAN's growth, and the
points where the loop logs, snapshots and evaluates; and the precision of the forward passes.
"""

import os

import torch

from ganlab.errors import ConfigError


def d_steps_for(g_steps, cfg, objective):
    """D steps before G step number g_steps (0-based)."""
    if cfg.wgan_warmup and (g_steps < 25 or g_steps % 500 == 0):
        return 100  # the official WGAN schedule
    return cfg.n_critic or objective.n_critic


def set_learning_rates(state, cfg):
    """Both optimisers' rates at state.cur_nimg: the base rate times the linear decay (to 0 at
    lr_decay_kimg; none when it is null) times the health guard's scale after rollbacks."""
    decay = 1.0 if cfg.lr_decay_kimg is None else max(0.0, 1 - state.cur_nimg / (cfg.lr_decay_kimg * 1000))
    for opt, base in ((state.g_opt, cfg.g_opt.lr), (state.d_opt, cfg.d_opt.lr)):
        for group in opt.param_groups:
            group["lr"] = base * decay * state.health.lr_scale


def set_progress(nets, cur_nimg, cfg):
    """Tell growing networks (those with `set_progress`, e.g. Progressive GAN) how far training is,
    in phases of `phase_kimg`; returns what they report (resolution, fade-in alpha) for logging."""
    stats = {}
    for net in nets:
        if net is not None and hasattr(net, "set_progress"):
            stats.update(net.set_progress(cur_nimg / (1000 * cfg.phase_kimg)) or {})
    return stats


@torch.no_grad()
def update_ema(G_ema, G, beta):
    """G_ema <- beta * G_ema + (1 - beta) * G for parameters; buffers (BatchNorm statistics) copied."""
    for p_ema, p in zip(G_ema.parameters(), G.parameters()):
        p_ema.lerp_(p, 1 - beta)
    for b_ema, b in zip(G_ema.buffers(), G.buffers()):
        b_ema.copy_(b)


def ema_beta(cfg, n_d):
    """The EMA decay per G step: half-life in images shown, so that after ema_kimg kimg (n_d
    batches of D per round of n_gen G steps) an old weight has half its say."""
    return 0.5 ** (n_d * cfg.batch_size / (cfg.ema_kimg * 1000) / cfg.n_gen)


def eval_schedule(every_kimg, at_kimg=()):
    """due(cur_nimg, next_nimg): whether a step from cur to next images shown crosses an eval point,
    a multiple of `every_kimg` (None: none) or one of `at_kimg`."""
    every = None if every_kimg is None else max(1, int(round(every_kimg * 1000)))
    points = sorted(int(round(k * 1000)) for k in at_kimg)

    def due(cur, nxt):
        return ((every is not None and nxt // every > cur // every)
                or any(cur < p <= nxt for p in points))
    return due


class Ticks:
    """Which of log, snapshot and eval fall in the iteration from `cur` to `nxt` images: every
    log_kimg and snapshot_kimg, at eval_kimg / eval_at_kimg when metrics are asked for, and all
    three at the end (`total`). A snapshot or an eval point is logged too."""

    def __init__(self, cfg, total, evaluating):
        self.total, self.evaluating = total, evaluating
        self.log = max(1, int(round(cfg.log_kimg * 1000)))
        self.snap = max(1, int(round(cfg.snapshot_kimg * 1000)))
        self.eval_due = eval_schedule(cfg.eval_kimg, cfg.eval_at_kimg)

    def __call__(self, cur, nxt):
        end = nxt >= self.total
        snap = nxt // self.snap > cur // self.snap or end
        evaluate = self.evaluating and (self.eval_due(cur, nxt) or end)
        log = nxt // self.log > cur // self.log or snap or evaluate
        return log, snap, evaluate


def precision_context(cfg, device):
    """(autocast context factory, fp16?) for cfg.precision (bf16 = true: bf16); deterministic
    kernels when cfg.deterministic asks (cuDNN without autotuning: exact resume on a GPU)."""
    precision = precision_of(cfg)
    if cfg.deterministic:
        torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = True, False
        torch.use_deterministic_algorithms(True, warn_only=True)
        if device.type == "cuda":
            os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(precision)
    return (lambda: torch.autocast(device.type, dtype=dtype, enabled=dtype is not None)), precision == "fp16"


def precision_of(cfg):
    return "bf16" if cfg.bf16 else cfg.precision


def check_compile(cfg, objective):
    """Refuse torch.compile where the loop needs a double backward, which compiled graphs lack."""
    if objective.penalty is not None or cfg.g_step == "unrolled":
        what = f"objective {cfg.objective!r} (its gradient penalty)" if objective.penalty is not None else "g_step 'unrolled'"
        raise ConfigError(f"compile = true with {what} is not supported: it backpropagates through a gradient, which "
                          f"torch.compile does not; expected compile = false")
