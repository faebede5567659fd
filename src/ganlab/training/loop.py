"""The training loop: one function that reads top to bottom like a recipe.

Progress is counted in real images shown to D (`cur_nimg`), so schedules (learning-rate decay,
EMA half-life, Progressive GAN's growth: ganlab.training.schedule) do not depend on the batch size;
one iteration is n_critic D steps followed by n_gen G steps (one unless the config asks for more).
Everything the loop draws comes from the global torch RNG (noise, penalty interpolation) or the
sampler's own generator (data order); both are saved in every checkpoint (ganlab.training.state),
so a resumed run continues bit for bit, and metrics.jsonl is cut back to the checkpoint's rows on
resume, so its history is exact too. Under torchrun each process trains on its slice of every
global batch and the gradients are averaged after each backward (`world.sync`,
ganlab.training.distributed); rank 0 alone writes.

Techniques plug in at the seams, never as branches here: what D sees (view.py), how a G step is
computed (gstep.py), the label path (latent.py), the objective's own after-D-step work (clipping,
BEGAN's k_t: ganlab.objectives), gradient sync, health (health.py), metrics (evaluation.py).
"""

import time
from pathlib import Path

import torch
from omegaconf import OmegaConf

from ganlab import rundir
from ganlab.data import load_dataset
from ganlab.objectives import objective_of
from ganlab.training.distributed import World
from ganlab.training.evaluation import Evaluation
from ganlab.training.gstep import build_g_step
from ganlab.training.health import RollbackGuard
from ganlab.training.latent import Latent
from ganlab.training.models import training_models
from ganlab.training.output import Interval, NoOutput, Progress, RunOutput, grad_norm
from ganlab.training.schedule import (Ticks, d_steps_for, ema_beta, precision_context, precision_of,
                                      set_learning_rates, set_progress, update_ema)
from ganlab.training.state import TrainState
from ganlab.training.view import seeing
from ganlab.utils.sampler import IndexSampler
from ganlab.utils.signals import TrainingStopped


def training_loop(cfg, run_dir, state=None, progress=True, dataset=None, world=None, stop=None):
    """Train the GAN described by `cfg`, writing to `run_dir`; `state` is a checkpoint to resume.

    `run_dir` may be a function returning the directory: it is called once everything is set up,
    so bad input (a missing dataset, a network that does not fit the data) leaves nothing behind.
    A directory that already holds rows of a run that was killed before its first checkpoint is
    started over in place. `world`: this process among several (ganlab.training.distributed; None:
    one process); rank 0 calls `run_dir` and writes, the others only train. `stop`: a stop request
    read between iterations (ganlab.utils.signals.StopOnSignal; one process only): when set, the
    latest checkpoint is written and TrainingStopped raised. Returns the last metrics record. The
    torch CPU thread count the run sets (cfg.cpu_threads) is the caller's again when it returns or
    raises."""
    threads = torch.get_num_threads()
    try:
        return _training_loop(cfg, run_dir, state, progress, dataset, world, stop)
    finally:
        if torch.get_num_threads() != threads:
            torch.set_num_threads(threads)


def _training_loop(cfg, run_dir, checkpoint, progress, dataset, world, stop):
    # Set up: data, networks, what D sees, optimisers (in the TrainState), metrics, the run directory.
    world = world or World()
    world.check_batch(cfg.batch_size, cfg.pack)
    device = world.device(cfg.device)
    if checkpoint is None:
        torch.manual_seed(cfg.seed)
    dataset = dataset or load_dataset(cfg.data)
    world.set_threads(cfg, device, dataset.kind)
    objective = objective_of(cfg)
    G, D, G_ema = training_models(cfg, dataset, objective, device, world)  # on rank 0's weights; EMA copy; compile
    latent = Latent.of(cfg, dataset)  # the label path: what G gets besides noise, and D's class heads
    D_sees = seeing(D, cfg, dataset.kind)  # what D sees: D after DiffAugment and PacGAN packing
    autocast, fp16 = precision_context(cfg, device)  # fp32, or bf16 / fp16 autocast of the forward passes
    health = RollbackGuard(cfg.max_rollbacks, cfg.rollback_lr_factor)
    state = TrainState(cfg, G, D, G_ema, objective, IndexSampler(len(dataset), cfg.seed), health, world, device, fp16)
    g_step = build_g_step(cfg.g_step, cfg.g_step_args, objective, state.d_opt)  # G's loss: plain, or unrolled
    grid_z, grid_cols = latent.grid(cfg.grid_n, device, torch.Generator(device=device).manual_seed(cfg.seed + 1))
    evaluation = Evaluation(cfg, dataset, latent, device, main=world.main)
    run_dir = Path(world.broadcast_text(str(run_dir() if callable(run_dir) else run_dir) if world.main else None))
    out = (RunOutput if world.main else NoOutput)(run_dir)  # what the run writes: rank 0 only
    state.config_yaml, state.run_id = OmegaConf.to_yaml(cfg), out.run_id

    # Resume: the state, and metrics.jsonl cut back to the rows logged when the checkpoint was written.
    if checkpoint is not None:
        state.load_state_dict(checkpoint)
        state.log_rows = out.rewind(checkpoint.get("log_rows"), nimg=state.cur_nimg)  # None: before row counts
    else:
        out.rewind(0)
        out.save(rundir.LATEST, state.state_dict)  # the first good checkpoint: a rollback target before any snapshot
    out.open_sinks(cfg, state.cur_nimg)  # TensorBoard, rewound like metrics.jsonl
    out.provenance({"nimg": state.cur_nimg, "device": str(device), "threads": torch.get_num_threads(),
                    "processes": world.size, "precision": precision_of(cfg),
                    "G_params": sum(p.numel() for p in G.parameters()), "D_params": sum(p.numel() for p in D.parameters())})

    # Train.
    total = int(round(cfg.kimg * 1000))
    ticks, interval, record = Ticks(cfg, total, evaluation.asked), Interval(device), {}
    bar = Progress(total, state.cur_nimg, progress and world.main)
    start = time.time() - state.elapsed
    while state.cur_nimg < total:
        n_d = d_steps_for(state.g_steps, cfg, objective)
        growth = set_progress([G, D, G_ema], state.cur_nimg, cfg)  # Progressive GAN's resolution and fade-in
        set_learning_rates(state, cfg)  # decayed with images shown, scaled down by rollbacks
        next_nimg = state.cur_nimg + n_d * cfg.batch_size
        log_now, snap_now, eval_now = ticks(state.cur_nimg, next_nimg)

        # D steps.
        G.requires_grad_(False)
        D.requires_grad_(True)
        for _ in range(n_d):
            real, codes = latent.batch(dataset, state.sampler.next(cfg.batch_size), device)  # [N, *shape], the fakes' codes
            real, w = world.shard(real), world.shard(codes)  # this process's slice of the global batch
            with torch.no_grad(), autocast():
                fake = G(w).float()
            view = D_sees.given(latent.labels(w))  # told the step's classes (the same view when unconditional)
            with autocast():
                loss_d, s_r, s_f = objective.discriminator_loss(view, real, fake)  # penalty included; fp32
                loss_aux, stats = latent.d_loss(view, real, fake, w)  # D's class head (ACGAN), else 0
                loss_d = loss_d + loss_aux
            state.update_d(loss_d)  # backward, gradients averaged over the processes, step
            stats.update(objective.after_d_step(D, s_r, s_f, world.gather))  # clipping; BEGAN's k_t
            interval.d_step(loss_d, s_r, s_f, stats)
        grad_norm_d = grad_norm(D) if log_now else None

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
            state.update_g(loss_g)
            if G_ema is not None:
                update_ema(G_ema, G, ema_beta(cfg, n_d))
            interval.g_step(loss_g)
        bar.advance(state.cur_nimg, next_nimg)
        state.cur_nimg, state.g_steps = next_nimg, state.g_steps + cfg.n_gen

        # Log; at a logging point, health first: non-finite losses roll back to the last good checkpoint.
        if log_now:
            state.elapsed = time.time() - start
            record = {**interval.row(state, world, grad_norm_d), **growth}
            if health.check(record, state, out, world):  # rolled back (or DivergenceError when none is left)
                bar.rolled_back(state.cur_nimg, health.rollbacks)
                continue
            record.update(evaluation.at_log(state.G_eval))  # toy data: the mode metrics
            if eval_now:
                record.update(evaluation.at_eval(state.G_eval))
                state.best = out.best(state.best, record, evaluation.primary, state.state_dict)  # checkpoint-best.pt
            out.log(record)
            state.log_rows += 1
            bar.show(record)

        # Snapshot: the sample grid and the latest checkpoint.
        if snap_now:
            world.check_same(G, D, where=f" at {state.cur_nimg / 1000:g} kimg")  # every process on rank 0's weights
            out.snapshot(state.G_eval, grid_z, dataset, state.cur_nimg, grid_cols, state.state_dict)

        # Stop on request (Ctrl-C, SIGTERM): the latest checkpoint here, between iterations.
        if stop is not None and stop.requested and state.cur_nimg < total:
            bar.close()
            out.save(rundir.LATEST, state.state_dict)
            out.close()
            raise TrainingStopped(run_dir, state.cur_nimg, stop.requested)

    bar.close()
    out.close()
    if checkpoint is not None and not record:
        record = (rundir.read_metrics(run_dir) or [{}])[-1]  # already at the requested length
    out.save(rundir.FINAL, state.state_dict)
    world.barrier()
    return record
