"""`ganlab train`: a config resolved from a preset, a config file, --set and options (or a run to
resume: ganlab.resolve), then the training loop, in this process or in N (torchrun)."""

import contextlib
import shlex
import sys
from pathlib import Path

import click
from omegaconf import OmegaConf

from ganlab import rundir
from ganlab.cli.options import folder_option
from ganlab.config import parse_overrides
from ganlab.presets import run_label


TRAIN_HELP = """Train a GAN and write a run directory (config, metrics.jsonl, sample grids, checkpoints).

\b
Examples:
  ganlab train --preset toy-ring-wgan-gp
  ganlab train --preset toy-grid-ns --seed 3 --kimg 500
  ganlab train --preset mnist5k-dcgan-ns --set objective=wgan-gp --set g_opt.beta1=0
  ganlab train --preset demo --set data.name=mnist --set data.path=~/data/mnist --epochs 20
  ganlab train --preset report-lsgan-mm --set objective_args.weight=0.5 --dry-run
  ganlab train --resume runs/00003-demo --kimg 300
  ganlab train --preset toy-ring-wgan-gp --nproc 2       # 2 processes (torchrun), global batch split
  torchrun --nproc-per-node 4 -m ganlab train --preset demo --set device=cuda

Several processes (--nproc N, or torchrun) train one run data-parallel: each takes batch_size / N
of every batch and gradients are averaged after each backward; rank 0 writes the run directory.

Keys for --set are the fields printed by --dry-run (dotted: g_opt.lr, D.norm, data.path, ...);
objective hyperparameters go under objective_args (see `ganlab list objectives`).
"""


@click.command(help=TRAIN_HELP)
@click.option("--preset", metavar="NAME", help="Named preset (`ganlab list presets`); defaults otherwise.")
@click.option("--config", "config_file", metavar="FILE.yaml", type=click.Path(dir_okay=False),
              help="A YAML config (a run's config.yaml, or yours with the keys --dry-run prints): over the preset, under --set.")
@click.option("--set", "sets", metavar="KEY=VALUE", multiple=True, help="Override a config key (repeatable).")
@click.option("--name", metavar="NAME", help="The run directory's name after its number (default: the preset, and the "
              "objective where it differs from the preset's).")
@click.option("--kimg", type=click.FloatRange(min=0, min_open=True), help="Run length in thousands of real images shown to D.")
@click.option("--epochs", type=click.FloatRange(min=0, min_open=True), help="Run length in passes over the dataset.")
@click.option("--seed", type=int, help="Training seed.")
@click.option("--device", metavar="auto|cpu|cuda", help="Device (default: auto).")
@click.option("--eval-every", "eval_every", type=click.FloatRange(min=0, min_open=True), metavar="KIMG",
              help="Evaluate the config's metrics every KIMG and keep checkpoint-best.pt by the first.")
@folder_option("--runs", "out", "runs", "Folder for run directories.")
@click.option("--dry-run", is_flag=True, help="Print the resolved config and exit.")
@click.option("--resume", "resume_dir", metavar="RUN_DIR", help="Continue a run from its latest checkpoint.")
@click.option("--force", is_flag=True, help="With --resume: accept a changed config, or a checkpoint of another run.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@click.option("--nproc", type=click.IntRange(min=1, max=1024), help="Train with N processes on this machine (torchrun, data-parallel).")
@click.option("--max-restarts", "max_restarts", default=0, show_default=True, type=click.IntRange(min=0),
              help="With --nproc: restart every process this often after a failure (each continues the run).")
def train(preset, config_file, sets, name, kimg, epochs, seed, device, eval_every, out, dry_run, resume_dir, force, quiet,
          nproc, max_restarts):
    from ganlab.resolve import resolve_train, train_overrides
    from ganlab.training.distributed import World, launch, remember_run, restarted_run
    from ganlab.training.loop import training_loop

    world = World.from_env()  # one process, unless started by torchrun (ganlab.training.distributed)
    if kimg is not None and epochs is not None:
        raise click.UsageError("give --kimg or --epochs, not both")
    if resume_dir and (config_file or name or preset):
        raise click.UsageError("--resume continues a run with its own config and name; give --set, --kimg or "
                               "--epochs to change it, not --preset, --config or --name")
    raw_sets, sets = list(sets), parse_overrides(sets)
    overrides = train_overrides(preset, config_file, sets, raw_sets, seed, device, eval_every)
    if world.size > 1 and not resume_dir:  # torchrun restarted every process: continue the run it had made
        resume_dir = world.broadcast_text(restarted_run(out) if world.main else None) or None
    cfg, state, dataset = resolve_train(overrides, resume_dir, force, kimg, epochs)

    if dry_run:
        click.echo(OmegaConf.to_yaml(cfg), nl=False)
        return
    world.device(cfg.device)  # refuse a missing device before anything is written
    world.check_batch(cfg.batch_size, cfg.pack)
    if nproc is not None and world.size == 1:
        World(size=nproc).check_batch(cfg.batch_size, cfg.pack)
        if resume_dir:  # the processes resume it with this command's changes
            args = ["--resume", resume_dir] + [f"--set={text}" for text in raw_sets]
            args += [f"--{name}={value}" for name, value in (("kimg", kimg), ("epochs", epochs), ("seed", seed),
                                                              ("device", device), ("eval-every", eval_every)) if value is not None]
            args += ["--force"] if force else []
        else:  # a new run directory, holding the whole config: the processes start it in place
            args = ["--resume", str(rundir.new_run_dir(out, run_label(preset, cfg, name), cfg))]
        click.echo(f"run directory: {args[1]}")
        click.echo(f"training in {nproc} processes (torchrun --standalone); rank 0 writes the run directory")
        sys.exit(launch(nproc, max_restarts, args + (["--quiet"] if quiet else [])))

    opened = []

    def open_run_dir():
        if resume_dir:
            path = Path(resume_dir)
            rundir.save_config(path, cfg)  # the resumed config (a longer kimg, a --force change)
        else:
            path = rundir.new_run_dir(out, run_label(preset, cfg, name), cfg)
            remember_run(out, path)
        click.echo(f"run directory: {path}")
        opened.append(path)
        return path

    from ganlab.utils.signals import StopOnSignal, TrainingStopped

    try:  # Ctrl-C or SIGTERM: a checkpoint at the next iteration's end, then the command that continues
        with StopOnSignal() if world.size == 1 else contextlib.nullcontext() as stop:
            record = training_loop(cfg, open_run_dir, state=state, progress=not quiet, dataset=dataset, world=world,
                                   stop=stop)
    except TrainingStopped as exc:
        click.echo(f"\nganlab: {exc}; checkpoint written to {Path(exc.run_dir) / rundir.LATEST}. Continue with:\n"
                   f"  ganlab train --resume {shlex.quote(str(exc.run_dir))}", err=True)
        sys.exit(130)
    if not world.main:
        world.close()
    click.echo(_summary(record, opened[0]))
    best = Path(opened[0]) / rundir.BEST_JSON
    if (cfg.eval_kimg or cfg.eval_at_kimg) and cfg.metrics and best.is_file():
        import json

        b = json.loads(best.read_text())
        last = record.get(b["metric"])
        click.echo(f"{b['metric']}: best {b['value']:.4g} at {b['kimg']:.1f} kimg ({rundir.BEST}); last {last:.4g}"
                   if last is not None else f"{b['metric']}: best {b['value']:.4g} at {b['kimg']:.1f} kimg")
    world.close()


def _summary(record, run_dir):
    if not record:
        return f"done; samples and checkpoints are in {run_dir}"
    text = f"done at {record['kimg']:.1f} kimg in {record['time_s']:.0f} s: loss_D {record['loss_D']:.4f}, loss_G {record['loss_G']:.4f}"
    if "modes" in record:
        rkl = "n/a (no high-quality sample)" if record["rkl"] is None else f"{record['rkl']:.3f}"
        text += f"; modes {record['modes']}, high quality {record['hq']:.1%}, reverse KL {rkl}"
    grids = sorted(Path(run_dir).glob("samples-kimg*.png"))
    where = f"latest samples: {grids[-1]}\n" if grids else ""
    return text + f"\n{where}checkpoint: {Path(run_dir) / rundir.LATEST}"
