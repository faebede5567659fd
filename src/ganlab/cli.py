"""The `ganlab` command line: train, sample, list.

Every error a user can cause ends as one sentence on stderr and exit status 2.
"""

import contextlib
import shlex
import sys
from pathlib import Path

import click
from omegaconf import OmegaConf

from ganlab import __version__, rundir
from ganlab.config import parse_overrides
from ganlab.cli_options import folder_option
from ganlab.errors import GanlabError, one_line
from ganlab.presets import PRESETS, run_label


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, "--version", "-V", prog_name="ganlab", message="%(prog)s %(version)s")
def cli():
    """ganlab: train, evaluate and compare generative adversarial networks.

    \b
    Examples:
      ganlab list presets
      ganlab train --preset toy-ring-wgan-gp
      ganlab train --preset mnist5k-dcgan-ns --set objective=lsgan --kimg 50
      ganlab sample runs/00000-toy-ring-wgan-gp --n 2500
    """


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


@cli.command(help=TRAIN_HELP)
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


@cli.group()
def theory():
    """Experiments that reproduce the theory's claims as numbers and figures.

    \b
    Examples:
      ganlab theory list
      ganlab theory run optimal-discriminator --quick
      ganlab theory run bilinear-game --out figures/bilinear
      ganlab theory run all --quick
    """


@theory.command(name="list")
def theory_list():
    """List the experiments, one per line: name, then the claim it reproduces."""
    from ganlab.theory import EXPERIMENTS

    for name in EXPERIMENTS:
        click.echo(f"{name}  {EXPERIMENTS.descriptions[name]}")


@theory.command(name="run")
@click.argument("name")
@click.option("--out", type=click.Path(file_okay=False), help="Output folder (default theory/NAME).")
@click.option("--quick", is_flag=True, help="Small version: under a minute of CPU each.")
@click.option("--seed", default=0, show_default=True, type=int)
def theory_run(name, out, quick, seed):
    """Run experiment NAME (or `all`): writes result.json and figure.png, prints the checks.

    Exits with status 1 when a check misses its tolerance.
    """
    from ganlab.theory import EXPERIMENTS, run_experiment

    names = list(EXPERIMENTS) if name == "all" else [EXPERIMENTS.lookup(name) and name]
    failed = []
    for n in names:
        folder = Path(out) / n if out and len(names) > 1 else Path(out or Path("theory") / n)
        result = run_experiment(n, folder, quick=quick, seed=seed)
        click.echo(f"{n}: {'ok' if result['ok'] else 'MISSED'} in {result['time_s']:.1f} s ({folder})")
        for key, c in result["checks"].items():
            err = "" if c["error"] is None else f", error {c['error']:.3g} (tolerance {c['tolerance']:.3g})"
            click.echo(f"  {'ok    ' if c['ok'] else 'MISSED'} {key}: {c['value']:.5g} vs {c['expected']}{err}")
        if not result["ok"]:
            failed.append(n)
    if failed:
        sys.exit(1)


# `ganlab study run | work | status | report`: defined in ganlab/study/commands.py (imports only click).
from ganlab.eval_command import eval_  # noqa: E402
from ganlab.sample_commands import interpolate, neighbours, sample  # noqa: E402
from ganlab.study.commands import study  # noqa: E402

cli.add_command(eval_)
cli.add_command(sample)
cli.add_command(interpolate)
cli.add_command(neighbours)
cli.add_command(study)


LIST_KINDS = ("objectives", "penalties", "constraints", "g_steps", "networks", "datasets", "presets", "metrics",
              "pretrained")


@cli.command(name="list")
@click.argument("kind", required=False, type=click.Choice(LIST_KINDS))
def list_(kind):
    """List registered names, one per line (name first, then a description).

    \b
    Examples:
      ganlab list
      ganlab list objectives
      ganlab list presets
    """
    from ganlab.data import DATASETS
    from ganlab.metrics import METRICS
    from ganlab.networks import NETWORKS
    from ganlab.objectives import OBJECTIVES, objective_params, term_params
    from ganlab.regularizers import CONSTRAINTS, PENALTIES
    from ganlab.training.gstep import G_STEPS, g_step_params

    registries = {"objectives": OBJECTIVES, "penalties": PENALTIES, "constraints": CONSTRAINTS, "g_steps": G_STEPS,
                  "networks": NETWORKS, "datasets": DATASETS, "presets": PRESETS, "metrics": METRICS}
    for k in [kind] if kind else LIST_KINDS:
        if not kind:
            click.echo(f"# {k}")
        if k == "pretrained":
            from ganlab.pretrained import describe, index

            for name in sorted(index()):
                click.echo(f"{name}  {describe(name)}")
            continue
        reg = registries[k]
        for name in sorted(reg):
            desc = reg.descriptions.get(name, "")
            if k == "objectives" and objective_params(name):
                desc += " [objective_args: " + ", ".join(f"{a}={v}" for a, v in objective_params(name).items()) + "]"
            if k in ("penalties", "constraints"):
                key = "penalty_args" if k == "penalties" else "constraint_args"
                desc += f" [{key}: " + ", ".join(f"{a}={v}" for a, v in term_params(reg, name).items()) + "]"
            if k == "g_steps" and g_step_params(name):
                desc += " [g_step_args: " + ", ".join(f"{a}={v}" for a, v in g_step_params(name).items()) + "]"
            click.echo(f"{name}  {desc}".rstrip())


REPORT_HELP = """Write one self-contained HTML report (images inline, no network, no JavaScript):
of a run, of a study's trials, or a comparison of several runs.

\b
Examples:
  ganlab report runs/00000-demo
  ganlab report studies/ring
  ganlab report runs/00001-toy-ring-ns runs/00002-toy-ring-lsgan --out ring.html

Default output: RUN_DIR/report.html, STUDY_DIR/report.html, or ./report.html for several runs.
"""


@cli.command(help=REPORT_HELP)
@click.argument("paths", nargs=-1, required=True, type=click.Path(), metavar="RUN_DIR|STUDY_DIR [RUN_DIR ...]")
@click.option("--out", "out_file", type=click.Path(dir_okay=False), help="Output HTML file.")
def report(paths, out_file):
    from ganlab.report.html import write_report

    click.echo(f"wrote {write_report(paths, out_file)}")


REPRODUCE_HELP = """Run a registered reproduction as a study and write its docs folder: tables (mean ± std over
seeds, a 95 % interval from three), the published numbers beside ours, figures, the command, the wall
time and the HTML report of every trial.

\b
Reproductions:
  seed-report         the seed report's five GANs on MNIST (1,200 kimg; --quick: 100 kimg)
  wgan-gp-robustness  NS, LSGAN, WGAN, WGAN-GP x the seven architectures of WGAN-GP's Fig. 2
  lucic-mnist5k       Lucic et al.'s random search on MNIST-5k (--seeds: trials per objective)
  pacgan-toy          GAN, WGAN-GP, Unrolled GAN, PacGAN on the ring and grid, beside PacGAN Table 1 (10 seeds)
  pacgan-stacked      DCGAN, Unrolled GAN, PacDCGAN2 on Stacked-MNIST, beside PacGAN Tables 2-3 (10 seeds)
  latent-dim          z_dim 1 ... 100 on MNIST-5k: does quality saturate near 6? (3 seeds)

\b
Examples:
  ganlab reproduce seed-report --quick                 # docs/reproductions/seed-report/quick/
  ganlab reproduce seed-report --seeds 3 --workers 2   # docs/reproductions/seed-report/
  ganlab reproduce wgan-gp-robustness --quick --docs /tmp/docs --studies /tmp/studies

Interrupted? Run the same command again: finished trials are kept (the study lives in
STUDIES/reproduce-NAME[-quick]); the docs are rewritten from every trial that finished.
--docs-only writes them from the trials finished so far and runs none (a long reproduction
that is still going, or one stopped part-way); give it the same --seeds, --kimg and --set.
Study folder gone (a fresh checkout)? The trials the docs' results.json holds as complete are
carried over and not run again, also with more --seeds or added rows (same --kimg and --set).

\b
Every page with results is generated from committed results files:
  ganlab reproduce --check    # regenerate every page in memory; exit 1 naming the first page that differs
  ganlab reproduce --update   # rewrite every generated page and marked block from the committed data
"""


@cli.command(help=REPRODUCE_HELP)
@click.argument("name", metavar="NAME", required=False)
@click.option("--quick", is_flag=True, help="The short variant (minutes to an hour on a CPU), written to NAME/quick/.")
@click.option("--seeds", type=click.IntRange(min=1), help="Seeds per config (default: the reproduction's).")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(min=1), help="Local worker processes.")
@folder_option("--docs", "out", "docs/reproductions", "Folder of reproduction docs.")
@click.option("--studies", default="studies", show_default=True, type=click.Path(file_okay=False),
              help="Folder of studies (the trials' run directories).")
@click.option("--storage", metavar="URL", help="Study storage (default sqlite:///STUDIES/NAME/study.db).")
@click.option("--kimg", type=click.FloatRange(min=0, min_open=True),
              help="Every run this long instead (eval points and snapshots scaled with it).")
@click.option("--set", "sets", metavar="KEY=VALUE", multiple=True, help="Override a config key in every run (repeatable).")
@click.option("--docs-only", is_flag=True, help="Write the docs from the trials finished so far; run none.")
@click.option("--check", is_flag=True, help="Regenerate every generated page from the committed data and compare; "
              "exit 1 at a difference (no NAME).")
@click.option("--update", is_flag=True, help="Rewrite every generated page from the committed data (no NAME).")
@click.option("--root", default=".", show_default=True, type=click.Path(file_okay=False, exists=True),
              help="With --check / --update: the repository root (README.md and docs/).")
def reproduce(name, quick, seeds, workers, out, studies, storage, kimg, sets, docs_only, check, update, root):
    from ganlab.reproduce import REPRODUCTIONS
    from ganlab.reproduce.run import reproduce as run

    if check or update:
        if name is not None or (check and update):
            raise click.UsageError("--check and --update take no NAME and not each other")
        from ganlab.reproduce.pages import run_check, run_update

        code = run_check(root, click.echo) if check else run_update(root, click.echo)
        if code:
            sys.exit(code)
        return
    if name is None:
        raise click.UsageError("missing NAME (one of: " + ", ".join(REPRODUCTIONS) + "), or --check / --update")
    REPRODUCTIONS.lookup(name)
    overrides = {k: OmegaConf.to_container(v) if OmegaConf.is_config(v) else v for k, v in parse_overrides(sets).items()}
    try:
        path = run(name, quick, seeds, 0 if docs_only else workers, out, studies, storage, kimg, overrides,
                   log=click.echo)
    except KeyboardInterrupt:
        click.echo("\nganlab: interrupted; finished trials are kept: run the same command again to continue", err=True)
        sys.exit(130)
    click.echo(f"wrote {path}")


def _usage_line(exc):
    """A click usage error as one sentence, with where to read more."""
    ctx = getattr(exc, "ctx", None)
    where = f" (see `{ctx.command_path} --help`)" if ctx is not None else ""
    return exc.format_message() + where


def main(argv=None):
    """Entry point: every user error becomes one line on stderr and exit status 2 (this is the
    one place errors are formatted; `one_line` folds any library text that spans lines)."""
    from ganlab.utils import provenance

    provenance.COMMAND = " ".join(shlex.quote(str(a)) for a in ["ganlab", *(sys.argv[1:] if argv is None else argv)])
    try:
        cli.main(args=argv, prog_name="ganlab", standalone_mode=False)
    except click.exceptions.NoArgsIsHelpError as exc:  # a bare group (`ganlab`, `ganlab study`): its help
        click.echo(exc.ctx.get_help())
    except GanlabError as exc:
        click.echo(f"ganlab: error: {one_line(exc)}", err=True)
        sys.exit(2)
    except click.ClickException as exc:  # a wrong option or argument
        click.echo(f"ganlab: error: {one_line(_usage_line(exc))}", err=True)
        sys.exit(2)
    except OSError as exc:  # a path that cannot be written or read (permissions, a full disk, a file for a folder)
        where = f": {exc.filename!r}" if exc.filename else ""
        click.echo(f"ganlab: error: {one_line((exc.strerror or str(exc)) + where)}; expected a path this user can write to and read", err=True)
        sys.exit(2)
    except click.exceptions.Abort:
        click.echo("ganlab: aborted", err=True)
        sys.exit(130)
    except KeyboardInterrupt:
        click.echo("\nganlab: interrupted; the latest checkpoint is intact (resume with --resume)", err=True)
        sys.exit(130)


if __name__ == "__main__":
    main()
