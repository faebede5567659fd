"""The training loop: one function that reads top to bottom like a recipe.

Progress is counted in real images shown to D (`cur_nimg`), so schedules (learning-rate decay,
EMA half-life, Progressive GAN's growth) do not depend on the batch size; one iteration is
n_critic D steps followed by n_gen G steps (one unless the config asks for more). Everything the loop draws
comes from the global torch RNG (noise, penalty interpolation) or the sampler's own generator
(data order); both are saved in every checkpoint, so a resumed run continues bit for bit, and
metrics.jsonl is cut back to the checkpoint's rows on resume, so its history is exact too.
Under torchrun each process trains on its slice of every global batch and the gradients are
averaged after each backward (`world.sync`, ganlab.training.distributed); rank 0 alone writes.
"""

import copy
import os
import time
from pathlib import Path

import torch
from omegaconf import OmegaConf
from tqdm.auto import tqdm

from ganlab import rundir
from ganlab.data import load_dataset
from ganlab.training.distributed import World
from ganlab.errors import ConfigError
from ganlab.training.gstep import build_g_step
from ganlab.training.health import RollbackGuard
from ganlab.training.latent import Latent, sample_z  # noqa: F401  (sample_z: re-exported)
from ganlab.metrics.toy import toy_metrics
from ganlab.networks import NETWORKS, build_network
from ganlab.networks.conditional import conditional_models, g_input_of
from ganlab.objectives import build_objective
from ganlab.training.output import NoOutput, RunOutput, save_samples  # noqa: F401  (save_samples: re-exported)
from ganlab.training.view import packed_shape, seeing
from ganlab.utils.sampler import IndexSampler
from ganlab.utils.signals import TrainingStopped

TOY_EVAL_SAMPLES = 2500  # PacGAN / VEEGAN protocol


def build_models(cfg, dataset, objective, device):
    """G and D for this data. D gets no BatchNorm by default where the objective forbids it, and
    an objective that needs an auto-encoder D (BEGAN) gets the auto-encoder of D's family; with
    PacGAN packing D's input is `pack` samples wide; a class-conditional run (latent.classes) gets
    both wrapped for the labels (ganlab.networks.conditional)."""
    image, latent = dataset.kind == "image", Latent.of(cfg, dataset)
    if (latent.mode or latent.aux_dim) and objective.discriminator == "autoencoder":
        raise ConfigError(f"objective {cfg.objective!r} judges with an auto-encoder, which takes no class labels or "
                          f"code head; expected latent.classes=null and no InfoGAN codes, or another objective")
    d_cfg = OmegaConf.to_object(cfg.D)
    if objective.discriminator == "autoencoder" and not d_cfg.arch.endswith("-ae"):
        if d_cfg.arch + "-ae" not in NETWORKS:
            families = ", ".join(sorted(n for n in NETWORKS if n.endswith("-ae")))
            raise ConfigError(f"objective {cfg.objective!r} needs an auto-encoder discriminator and D.arch = "
                              f"{d_cfg.arch!r} has none; expected D.arch one of: {families}")
        d_cfg.arch += "-ae"
    if d_cfg.norm is None and not objective.batchnorm_in_d:
        d_cfg.norm = "layer" if d_cfg.arch == "dcgan" else "none"
    g_cfg = OmegaConf.to_object(cfg.G)
    G = build_network("G", g_cfg, dataset.shape, cfg.z_dim + latent.g_extra, image)  # z and InfoGAN's codes
    if latent.mode and g_input_of(cfg.latent.g_input, G, cfg.G.arch) == "concat":  # and the one-hot class
        G = build_network("G", g_cfg, dataset.shape, cfg.z_dim + latent.g_extra + latent.num_classes, image)
    D = build_network("D", d_cfg, packed_shape(dataset.shape, cfg.pack), cfg.z_dim, image)
    G, D = conditional_models(G, D, latent, cfg, packed_shape(dataset.shape, cfg.pack))  # the label path
    return G.to(device), D.to(device)


def load_generator(cfg, state, dataset, device):
    """The generator of a checkpoint, for sampling and evaluation: its EMA weights where the run
    kept them, at the growth stage it had reached (Progressive GAN)."""
    G, _ = build_models(cfg, dataset, build_objective(cfg.objective, cfg.objective_args), device)
    G.load_state_dict(state.get("G_ema") or state["G"])
    set_progress([G], int(state["cur_nimg"]), cfg)
    return G


def set_progress(nets, cur_nimg, cfg):
    """Tell growing networks (those with `set_progress`, e.g. Progressive GAN) how far training is,
    in phases of `phase_kimg`; returns what they report (resolution, fade-in alpha) for logging."""
    stats = {}
    for net in nets:
        if hasattr(net, "set_progress"):
            stats.update(net.set_progress(cur_nimg / (1000 * cfg.phase_kimg)) or {})
    return stats


@torch.no_grad()
def update_ema(G_ema, G, beta):
    """G_ema <- beta * G_ema + (1 - beta) * G for parameters; buffers (BatchNorm statistics) copied."""
    for p_ema, p in zip(G_ema.parameters(), G.parameters()):
        p_ema.lerp_(p, 1 - beta)
    for b_ema, b in zip(G_ema.buffers(), G.buffers()):
        b_ema.copy_(b)


def build_optimizer(params, opt):
    if opt.name == "rmsprop":
        return torch.optim.RMSprop(params, lr=opt.lr, alpha=opt.alpha)
    return torch.optim.Adam(params, lr=opt.lr, betas=(opt.beta1, opt.beta2))


def d_steps_for(g_steps, cfg, objective):
    """D steps before G step number g_steps (0-based)."""
    if cfg.wgan_warmup and (g_steps < 25 or g_steps % 500 == 0):
        return 100  # the official WGAN schedule
    return cfg.n_critic or objective.n_critic


@torch.no_grad()
def evaluate_toy(G, cfg, dataset, device, seed):
    """Mode metrics on a fixed set of 2,500 latent codes (its own generator: no global RNG use)."""
    gen = torch.Generator(device=device).manual_seed(seed)
    G.eval()
    fake = G(Latent.of(cfg, dataset).sample(TOY_EVAL_SAMPLES, device, generator=gen))
    G.train()
    return toy_metrics(fake, dataset.modes, dataset.mode_std)


def _cores():
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def eval_schedule(every_kimg, at_kimg=()):
    """due(cur_nimg, next_nimg): whether a step from cur to next images shown crosses an eval point,
    a multiple of `every_kimg` (None: none) or one of `at_kimg`."""
    every = None if every_kimg is None else max(1, int(round(every_kimg * 1000)))
    points = sorted(int(round(k * 1000)) for k in at_kimg)

    def due(cur, nxt):
        return ((every is not None and nxt // every > cur // every)
                or any(cur < p <= nxt for p in points))
    return due


def precision_context(cfg, device):
    """(autocast context factory, fp16?) for cfg.precision (bf16 = true: bf16); deterministic
    kernels when cfg.deterministic asks (cuDNN without autotuning: exact resume on a GPU)."""
    precision = "bf16" if cfg.bf16 else cfg.precision
    if cfg.deterministic:
        torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = True, False
        torch.use_deterministic_algorithms(True, warn_only=True)
        if device.type == "cuda":
            os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(precision)
    return (lambda: torch.autocast(device.type, dtype=dtype, enabled=dtype is not None)), precision == "fp16"


def check_compile(cfg, objective):
    """Refuse torch.compile where the loop needs a double backward, which compiled graphs lack."""
    if objective.penalty is not None or cfg.g_step == "unrolled":
        what = f"objective {cfg.objective!r} (its gradient penalty)" if objective.penalty is not None else "g_step 'unrolled'"
        raise ConfigError(f"compile = true with {what} is not supported: it backpropagates through a gradient, which "
                          f"torch.compile does not; expected compile = false")


class Update:
    """A network's update from its loss: backward, gradients averaged over the processes
    (`world.sync`, the gradient-sync seam: nothing in one process), the optimiser step. With fp16,
    through a gradient scaler of its own (torch.amp): the scaled gradients are averaged before the
    inf check, so every process skips or takes the step together."""

    def __init__(self, module, opt, world, device, fp16):
        self.module, self.opt, self.world = module, opt, world
        self.scaler = torch.amp.GradScaler(device.type, enabled=fp16)

    def __call__(self, loss):
        self.opt.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        self.world.sync(self.module)
        self.scaler.unscale_(self.opt)  # no-ops without fp16
        self.scaler.step(self.opt)
        self.scaler.update()


def _grad_norm(module):
    norms = [p.grad.detach().norm() for p in module.parameters() if p.grad is not None]
    return torch.stack(norms).norm() if norms else torch.zeros(())


def training_loop(cfg, run_dir, state=None, progress=True, dataset=None, world=None, stop=None):
    """Train the GAN described by `cfg`, writing to `run_dir`; `state` is a checkpoint to resume.

    `run_dir` may be a function returning the directory: it is called once everything is set up,
    so bad input (a missing dataset, a network that does not fit the data) leaves nothing behind.
    A directory that already holds rows of a run that was killed before its first checkpoint is
    started over in place. `world`: this process among several (ganlab.training.distributed; None: one
    process); rank 0 calls `run_dir` and writes, the others only train. `stop`: a stop request read
    between iterations (ganlab.utils.signals.StopOnSignal; one process only): when set, the latest
    checkpoint is written and TrainingStopped raised. Returns the last metrics record. The torch CPU thread count the run sets (cfg.cpu_threads) is the caller's again when
    it returns or raises."""
    threads = torch.get_num_threads()
    try:
        return _training_loop(cfg, run_dir, state, progress, dataset, world, stop)
    finally:
        if torch.get_num_threads() != threads:
            torch.set_num_threads(threads)


def _training_loop(cfg, run_dir, state, progress, dataset, world, stop):
    # Set up.
    world = world or World()
    world.check_batch(cfg.batch_size, cfg.pack)
    device = world.device(cfg.device)
    if state is None:
        torch.manual_seed(cfg.seed)
    dataset = dataset or load_dataset(cfg.data)
    if device.type == "cpu":
        torch.set_num_threads(cfg.cpu_threads or (1 if dataset.kind == "points" else max(1, _cores() // world.size)))
    objective = build_objective(cfg.objective, cfg.objective_args)
    G, D = build_models(cfg, dataset, objective, device)
    if cfg.channels_last and dataset.kind == "image":
        G, D = G.to(memory_format=torch.channels_last), D.to(memory_format=torch.channels_last)
    world.broadcast(G, D)  # every process starts from rank 0's weights
    latent = Latent.of(cfg, dataset)  # the label path: what G gets besides noise, and D's class heads (ganlab.training.latent)
    D_sees = seeing(D, cfg, dataset.kind)  # what D sees: D after DiffAugment and PacGAN packing (ganlab.training.view)
    G_ema = copy.deepcopy(G).requires_grad_(False) if cfg.ema_kimg else None
    if cfg.compile:  # in place: the modules, their state dicts and G_ema stay as they are
        check_compile(cfg, objective)
        G.compile()
        D.compile()
    G_eval = G_ema or G  # the generator that samples and metrics see
    autocast, fp16 = precision_context(cfg, device)  # fp32, or bf16 / fp16 autocast of the forward passes
    g_opt = build_optimizer(G.parameters(), cfg.g_opt)
    d_opt = build_optimizer(D.parameters(), cfg.d_opt)
    update_d, update_g = Update(D, d_opt, world, device, fp16), Update(G, g_opt, world, device, fp16)
    g_step = build_g_step(cfg.g_step, cfg.g_step_args, objective, d_opt)  # G's loss: plain, or unrolled (ganlab.training.gstep)
    sampler = IndexSampler(len(dataset), cfg.seed)
    health = RollbackGuard(cfg.max_rollbacks, cfg.rollback_lr_factor)
    grid_z, grid_cols = latent.grid(cfg.grid_n, device, torch.Generator(device=device).manual_seed(cfg.seed + 1))
    evaluating, evaluator = bool((cfg.eval_kimg is not None or cfg.eval_at_kimg) and cfg.metrics), None
    if evaluating and world.main:  # rank 0 evaluates
        from ganlab.metrics.evaluate import Evaluator  # extractors load only when asked for

        evaluator = Evaluator(list(cfg.metrics), dataset, cfg.data, device, latent)
    cur_nimg, g_steps, elapsed, best, log_rows = 0, 0, 0.0, None, 0
    run_dir = Path(world.broadcast_text(str(run_dir() if callable(run_dir) else run_dir) if world.main else None))
    out = (RunOutput if world.main else NoOutput)(run_dir)  # what the run writes (ganlab.training.output): rank 0 only

    def restore(state):
        """Load a checkpoint into everything that trains; returns its progress counters."""
        G.load_state_dict(state["G"])
        D.load_state_dict(state["D"])
        if G_ema is not None:
            G_ema.load_state_dict(state.get("G_ema") or state["G"])  # EMA switched on at resume: start at G
        if objective.state is not None and state.get("objective"):
            objective.state.load_state_dict(state["objective"])
        g_opt.load_state_dict(state["g_opt"])
        d_opt.load_state_dict(state["d_opt"])
        sampler.load_state_dict(state["sampler"])
        torch.set_rng_state(state["rng_cpu"])
        if device.type == "cuda" and "rng_cuda" in state:
            torch.cuda.set_rng_state(state["rng_cuda"], device)
        health.load_state_dict(state.get("health") or {})
        for update, key in ((update_d, "scaler_d"), (update_g, "scaler_g")):
            if state.get(key):
                update.scaler.load_state_dict(state[key])
        return int(state["cur_nimg"]), int(state["g_steps"]), float(state["elapsed"]), state.get("best") or None

    # Resume: the state, and metrics.jsonl cut back to the rows logged when the checkpoint was written.
    if state is not None:
        cur_nimg, g_steps, elapsed, best = restore(state)
        log_rows = out.rewind(state.get("log_rows"), nimg=cur_nimg)  # None: a checkpoint from before row counts
    else:
        out.rewind(0)

    total_nimg = int(round(cfg.kimg * 1000))
    log_nimg = max(1, int(round(cfg.log_kimg * 1000)))
    snap_nimg = max(1, int(round(cfg.snapshot_kimg * 1000)))
    eval_due = eval_schedule(cfg.eval_kimg, cfg.eval_at_kimg)
    config_yaml = OmegaConf.to_yaml(cfg)

    def checkpoint_state():
        saved = {
            "config": config_yaml, "G": G.state_dict(), "D": D.state_dict(),
            "g_opt": g_opt.state_dict(), "d_opt": d_opt.state_dict(), "sampler": sampler.state_dict(),
            "rng_cpu": torch.get_rng_state(), "cur_nimg": cur_nimg, "g_steps": g_steps, "elapsed": elapsed,
            "best": best or {}, "run_id": out.run_id, "log_rows": log_rows, "health": health.state_dict(),
        }
        if G_ema is not None:
            saved["G_ema"] = G_ema.state_dict()
        if fp16:
            saved["scaler_d"], saved["scaler_g"] = update_d.scaler.state_dict(), update_g.scaler.state_dict()
        if objective.state is not None:
            saved["objective"] = objective.state.state_dict()
        if device.type == "cuda":
            saved["rng_cuda"] = torch.cuda.get_rng_state(device)
        return saved

    if state is None:  # a fresh run's first good checkpoint: a rollback target before the first snapshot
        out.save(rundir.LATEST, checkpoint_state)
    out.open_sinks(cfg, cur_nimg)  # TensorBoard (ganlab.training.sinks), rewound like metrics.jsonl
    out.provenance({"nimg": cur_nimg, "device": str(device), "threads": torch.get_num_threads(), "processes": world.size,
                    "precision": "bf16" if cfg.bf16 else cfg.precision,
                    "G_params": sum(p.numel() for p in G.parameters()), "D_params": sum(p.numel() for p in D.parameters())})

    # Train.
    sums = {k: torch.zeros((), device=device) for k in ("loss_D", "loss_G", "D_real", "D_fake")}
    counts = {"D": 0, "G": 0}
    state_sums = {}  # the objective's own statistics (BEGAN's k and M), summed over D steps
    record = {}
    start = time.time() - elapsed
    # Counted in images (integers: no float drift past the total), shown in kimg.
    bar = tqdm(total=total_nimg, initial=min(cur_nimg, total_nimg), unit_scale=1e-3, disable=not (progress and world.main),
               bar_format="{l_bar}{bar}| {n:.1f}/{total:.1f} kimg [{elapsed}<{remaining}{postfix}]")
    while cur_nimg < total_nimg:
        n_d = d_steps_for(g_steps, cfg, objective)
        growth = set_progress([G, D] + ([G_ema] if G_ema is not None else []), cur_nimg, cfg)
        # Learning rates: a function of cur_nimg (linear decay) and of the rollbacks so far.
        decay = 1.0 if cfg.lr_decay_kimg is None else max(0.0, 1 - cur_nimg / (cfg.lr_decay_kimg * 1000))
        for opt, base in ((g_opt, cfg.g_opt.lr), (d_opt, cfg.d_opt.lr)):
            for group in opt.param_groups:
                group["lr"] = base * decay * health.lr_scale
        next_nimg = cur_nimg + n_d * cfg.batch_size
        log_now = (next_nimg // log_nimg > cur_nimg // log_nimg or next_nimg // snap_nimg > cur_nimg // snap_nimg
                   or next_nimg >= total_nimg)
        snap_now = next_nimg // snap_nimg > cur_nimg // snap_nimg or next_nimg >= total_nimg
        eval_now = evaluating and (eval_due(cur_nimg, next_nimg) or next_nimg >= total_nimg)
        log_now = log_now or eval_now

        # D steps.
        G.requires_grad_(False)
        D.requires_grad_(True)
        for _ in range(n_d):
            real, codes = latent.batch(dataset, sampler.next(cfg.batch_size), device)  # [N, *shape], codes for the fakes
            real, w = world.shard(real), world.shard(codes)  # this process's slice of the global batch
            with torch.no_grad(), autocast():
                fake = G(w).float()
            view = D_sees.given(latent.labels(w))  # told the step's classes (the same view when unconditional)
            with autocast():
                loss_d, s_r, s_f = objective.discriminator_loss(view, real, fake)  # penalty included; fp32
                loss_aux, aux_stats = latent.d_loss(view, real, fake, w)  # D's class head (ACGAN), else 0
                loss_d = loss_d + loss_aux
            update_d(loss_d)  # backward, gradients averaged over the processes (ganlab.training.distributed), step
            if objective.constraint is not None:
                objective.constraint(D)
            if objective.state is not None:
                aux_stats.update(objective.state.update(world.gather(s_r), world.gather(s_f)))  # the global batch
            for key, value in aux_stats.items():
                state_sums[key] = state_sums.get(key, 0) + value.detach()
            sums["loss_D"] += loss_d.detach()
            sums["D_real"] += s_r.detach().mean()
            sums["D_fake"] += s_f.detach().mean()
            counts["D"] += 1
        grad_norm_d = _grad_norm(D) if log_now else None

        # G steps (one, unless n_gen asks for more).
        G.requires_grad_(True)
        D.requires_grad_(False)
        view = D_sees.given(latent.labels(w))
        for _ in range(cfg.n_gen):
            codes = latent.sample(cfg.batch_size, device, y=latent.labels(codes))  # fresh noise, the real batch's classes
            w = world.shard(codes)
            with autocast():
                fake = G(w)
                loss_g = g_step(view, fake, real) + latent.g_loss(view, fake, w)
            update_g(loss_g)
            if G_ema is not None:
                # Half-life in images shown: after ema_kimg kimg (n_d batches per round) an old
                # weight has half its say.
                update_ema(G_ema, G, 0.5 ** (n_d * cfg.batch_size / (cfg.ema_kimg * 1000) / cfg.n_gen))
            sums["loss_G"] += loss_g.detach()
            counts["G"] += 1
        bar.update(min(next_nimg, total_nimg) - min(cur_nimg, total_nimg))
        cur_nimg, g_steps = next_nimg, g_steps + cfg.n_gen

        # Log.
        if log_now:
            elapsed = time.time() - start
            means = world.mean({**sums, **state_sums})  # over the processes: what one process would log
            record = {
                "kimg": cur_nimg / 1000, "nimg": cur_nimg, "g_steps": g_steps, "time_s": round(elapsed, 3),
                "loss_D": (means["loss_D"] / counts["D"]).item(), "loss_G": (means["loss_G"] / counts["G"]).item(),
                "D_real": (means["D_real"] / counts["D"]).item(), "D_fake": (means["D_fake"] / counts["D"]).item(),
                "grad_norm_D": grad_norm_d.item(), "grad_norm_G": _grad_norm(G).item(),
                "lr_G": g_opt.param_groups[0]["lr"], "lr_D": d_opt.param_groups[0]["lr"],
            }
            record.update({k: (means[k] / counts["D"]).item() for k in state_sums})
            record.update(growth)
            for k in sums:
                sums[k].zero_()
            state_sums = {}
            counts = {"D": 0, "G": 0}

            # Health: non-finite losses roll back to the last good checkpoint (ganlab.training.health).
            problem = health.problem(record, (G, D))
            if problem is not None:
                good, row = health.rollback(problem, cur_nimg, run_dir / rundir.LATEST, run_dir)  # or DivergenceError
                cur_nimg, g_steps, _, best = restore(good)
                log_rows = good.get("log_rows", log_rows)
                world.barrier()  # every process has read the checkpoint before rank 0 rewrites it
                out.rewind(log_rows, nimg=cur_nimg)
                out.log(row)
                log_rows += 1
                out.save(rundir.LATEST, checkpoint_state)
                bar.reset(total=total_nimg)
                bar.update(cur_nimg)
                bar.set_postfix_str(f"rollback {health.rollbacks} to {cur_nimg / 1000:.1f} kimg", refresh=False)
                continue
            if dataset.modes is not None:
                record.update(evaluate_toy(G_eval, cfg, dataset, device, cfg.seed + 2))
            if eval_now and evaluator is not None:
                record.update(evaluator(G_eval, lambda n, gen: latent.sample(n, device, gen), seed=cfg.seed + 3))
                best = out.best(best, record, evaluator.primary, checkpoint_state)  # checkpoint-best.pt
            out.log(record)
            log_rows += 1
            bar.set_postfix_str(_postfix(record), refresh=False)

        # Snapshot.
        if snap_now:
            world.check_same(G, D, where=f" at {cur_nimg / 1000:g} kimg")  # every process on rank 0's weights
            out.snapshot(G_eval, grid_z, dataset, cur_nimg, grid_cols, checkpoint_state)  # samples, checkpoint

        # Stop on request (Ctrl-C, SIGTERM): the latest checkpoint here, between iterations.
        if stop is not None and stop.requested and cur_nimg < total_nimg:
            bar.close()
            out.save(rundir.LATEST, checkpoint_state)
            out.close()
            raise TrainingStopped(run_dir, cur_nimg, stop.requested)

    bar.close()
    out.close()
    if cur_nimg >= total_nimg and state is not None and not record:
        record = (rundir.read_metrics(run_dir) or [{}])[-1]  # already at the requested length
    out.save(rundir.FINAL, checkpoint_state)
    world.barrier()
    return record


def _postfix(record):
    text = f"D {record['loss_D']:.3f} G {record['loss_G']:.3f}"
    if "modes" in record:
        text += f" modes {record['modes']} hq {record['hq']:.0%}"
    return text
