"""`ganlab study run | work | status | report`: the study's command-line group (added to the `ganlab` group in ganlab/cli/)."""

import sys
from pathlib import Path

import click

from ganlab.cli.options import folder_option
from ganlab.errors import ConfigError

STORAGE_HELP = "Storage URL (default sqlite:///OUT/NAME/study.db; postgresql+psycopg2://USER@HOST/DB for many machines)."
OUT_HELP = "Folder of studies: a study lives in DIR/NAME."


@click.group()
def study():
    """Random-search studies of GAN objectives ("Are GANs Created Equal?", Lucic et al. 2018).

    \b
    Examples:
      ganlab study run --name ring --preset toy-ring-ns --objectives nonsaturating,lsgan,wgan-gp \\
                       --space narrow --trials 10 --kimg 200 --workers 2
      ganlab study run --preset-study mnist5k-small
      ganlab study status ring
      ganlab study report ring
      ganlab study work --name ring --storage postgresql+psycopg2://me@dbhost/studies   # on another machine
    """


def _interrupted():
    click.echo("\nganlab: interrupted; finished trials are kept: run the same command again to continue", err=True)
    sys.exit(130)


def _location(name, storage, out):
    from ganlab.study.storage import default_url, study_dir

    folder = study_dir(out, name)
    return folder, storage or default_url(folder)


RUN_HELP = """Create a study (or continue it) and run its trials with local workers.

\b
Examples:
  ganlab study run --name ring --preset toy-ring-ns --objectives nonsaturating,lsgan,wgan-gp --trials 10 --kimg 200
  ganlab study run --name mnist --preset mnist5k-dcgan-ns --objectives nonsaturating,wgan-gp --space narrow \\
                   --trials 20 --kimg 50 --eval-every 10 --metric fid5k_lenet --workers 2
  ganlab study run --preset-study mnist5k-small --dry-run   # print every trial's setting
  ganlab study run --name ring            # continue a study: its definition is read back from the storage
  ganlab study run --name table --grid grid.yaml --seeds 3 --workers 2   # a fixed grid of configs x seeds

Every objective gets K trials: trial 0 is the preset's own config, trials 1..K-1 are drawn up front
from the search space (`wide` or `narrow`, Lucic et al. 2018) with --seed. A trial's score is the
best value of --metric over its eval points (every --eval-every kimg; default kimg/5). Interrupted
(Ctrl-C, a killed worker or launcher)? Run the same command again: finished trials are kept,
killed ones are retried from their last checkpoint, none runs twice.

--grid FILE runs a grid study instead (what `ganlab reproduce` uses): every config of a YAML list
`configs: [{name: ns, preset: report-gan}, {name: lsgan, preset: report-lsgan, sets: {kimg: 50}}]`
once per seed (--seeds N: seeds --seed .. --seed+N-1), with the same workers, storage and crash safety.
"""


@study.command(name="run", help=RUN_HELP)
@click.option("--name", help="Study name (default: the --preset-study name).")
@click.option("--preset-study", "preset_study", metavar="NAME", help="A named study definition (mnist5k-small).")
@click.option("--preset", metavar="NAME", help="Training preset every trial starts from (`ganlab list presets`).")
@click.option("--objectives", metavar="A,B,...", help="Comma-separated objectives (`ganlab list objectives`).")
@click.option("--space", metavar="wide|narrow", help="Search space (default wide).")
@click.option("--trials", type=int, metavar="K", help="Trials per objective, trial 0 being the preset's config (default 10).")
@click.option("--kimg", type=float, help="Run length of every trial (default: the preset's).")
@click.option("--eval-every", "eval_every", type=float, metavar="KIMG", help="Eval interval (default kimg/5).")
@click.option("--metric", metavar="NAME", help="Score metric (default: the preset's first metric; rkl for toy data).")
@click.option("--seed", type=int, help="Seed of the trial settings (default 0); with --grid, the first training seed.")
@click.option("--grid", "grid_file", type=click.Path(dir_okay=False), metavar="FILE.yaml",
              help="A grid study: the configs of FILE, each trained once per seed.")
@click.option("--seeds", type=click.IntRange(min=1), metavar="N", help="With --grid: seeds per config (default 1).")
@click.option("--set", "sets", metavar="KEY=VALUE", multiple=True, help="Override a config key in every trial (repeatable).")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(min=1), help="Local worker processes.")
@click.option("--storage", metavar="URL", help=STORAGE_HELP)
@folder_option("--studies", "out", "studies", OUT_HELP)
@click.option("--continue-from", "continue_from", type=click.Path(dir_okay=False), metavar="FILE.json",
              help="A results file of this study (`ganlab study export`): its complete trials are carried over, not "
                   "run again (a study folder lost, a fresh checkout).")
@click.option("--dry-run", is_flag=True, help="Print the definition and every trial's setting; run and write nothing.")
def study_run(name, preset_study, preset, objectives, space, trials, kimg, eval_every, metric, seed, grid_file, seeds,
              sets, workers, storage, out, continue_from, dry_run):
    from omegaconf import DictConfig, ListConfig, OmegaConf

    from ganlab.config import parse_overrides
    from ganlab.study.launcher import existing_definition, make_definition
    from ganlab.study.presets import STUDY_PRESETS

    args = {"preset": preset, "objectives": objectives.split(",") if objectives else None, "space": space,
            "trials": trials, "kimg": kimg, "eval_every": eval_every, "metric": metric, "seed": seed, "sets": None}
    if sets:
        parsed = parse_overrides(sets)
        args["sets"] = {k: OmegaConf.to_container(v) if isinstance(v, (DictConfig, ListConfig)) else v
                        for k, v in parsed.items()}
    if grid_file or seeds:
        return _grid_run(name, grid_file, seeds, args, workers, storage, out, dry_run, continue_from)
    if preset_study:
        given = STUDY_PRESETS.lookup(preset_study)
        if args["sets"] is not None:
            args["sets"] = {**given.get("sets", {}), **args["sets"]}
        args = {k: given.get(k) if v is None else v for k, v in args.items()}
        name = name or preset_study
    if not name:
        raise ConfigError("ganlab study run needs --name (or --preset-study); expected e.g. --name ring")
    folder, url = _location(name, storage, out)
    existing = existing_definition(name, url, folder)
    if existing and existing.get("grid"):
        return _launch(name, existing, workers, storage, out, url, dry_run, continue_from)
    if existing:
        args = {k: existing.get(k) if v is None else v for k, v in args.items()}
    elif not args["preset"] or not args["objectives"]:
        raise ConfigError(f"study {name!r} is new and needs --preset and --objectives; expected e.g. "
                          f"--preset toy-ring-ns --objectives nonsaturating,wgan-gp")
    defaults = {"space": "wide", "trials": 10, "seed": 0}
    args = {k: defaults.get(k) if v is None else v for k, v in args.items()}
    _launch(name, make_definition(**args), workers, storage, out, url, dry_run, continue_from)


def _grid_run(name, grid_file, seeds, args, workers, storage, out, dry_run, continue_from=None):
    from ganlab.study.grid import make_grid_definition, read_grid_file
    from ganlab.study.launcher import existing_definition

    unused = [f"--{k.replace('_', '-')}" for k in ("preset", "objectives", "space", "trials") if args[k] is not None]
    if unused:
        raise ConfigError(f"{', '.join(unused)} do not apply to a grid study; expected the grid file to name each "
                          f"config's preset and objective")
    if not name:
        raise ConfigError("a grid study needs --name; expected e.g. --name table --grid grid.yaml")
    folder, url = _location(name, storage, out)
    existing = existing_definition(name, url, folder)
    if not grid_file:
        if not existing or not existing.get("grid"):
            raise ConfigError(f"--seeds needs --grid FILE for study {name!r}, which is not an existing grid study")
        return _launch(name, existing, workers, storage, out, url, dry_run, continue_from)
    definition = make_grid_definition(read_grid_file(grid_file), seeds or 1, args["kimg"], args["eval_every"], (),
                                      args["metric"], args["seed"] or 0, args["sets"])
    _launch(name, definition, workers, storage, out, url, dry_run, continue_from)


def _launch(name, definition, workers, storage, out, url, dry_run, continue_from=None):
    from ganlab.study.launcher import run_study, status_lines
    from ganlab.study.results import committed_trials

    if dry_run:
        return _print_plan(name, definition)
    finished = None
    if continue_from is not None:
        if not Path(continue_from).is_file():
            raise ConfigError(f"--continue-from {continue_from}: no such file; expected a results file that "
                              f"`ganlab study export` wrote for this study")
        finished = committed_trials(continue_from, definition, click.echo)
    try:
        study_obj = run_study(name, out, url, definition, workers, log=click.echo, finished=finished)
    except KeyboardInterrupt:
        _interrupted()
    click.echo(f"study {name}:")
    for line in status_lines(study_obj, definition):
        click.echo(f"  {line}")
    click.echo(f"report: ganlab study report {name}" + (f" --storage {storage}" if storage else "")
               + (f" --out {out}" if out != "studies" else ""))


def _print_plan(name, definition):
    import json

    from ganlab.study.trials import group_recipe, group_settings, is_grid
    from ganlab.study.spaces import describe

    click.echo(f"study {name}: " + json.dumps(definition))
    cfg_id = 0
    for objective in definition["objectives"]:
        if is_grid(definition):
            preset, obj, sets = group_recipe(definition, objective)
            click.echo(f"{objective}: preset {preset}, objective {obj}" + "".join(f", {k}={v}" for k, v in sets.items()))
        else:
            click.echo(f"{objective}: {describe(objective, definition['space'])}")
        for setting in group_settings(definition, objective):
            click.echo(f"  cfg {cfg_id:04d}: " + (", ".join(f"{k}={v}" for k, v in setting.items()) or "the preset's own config"))
            cfg_id += 1


@study.command(name="work")
@click.option("--name", required=True, help="Study name.")
@click.option("--storage", metavar="URL", help=STORAGE_HELP)
@folder_option("--studies", "out", "studies", OUT_HELP)
@click.option("--threads", type=click.IntRange(min=1), help="torch CPU threads for image runs (default: all cores).")
@click.option("--device", metavar="cpu|cuda|cuda:K", help="Train every trial of this worker on this device (default: the trials' own).")
def study_work(name, storage, out, threads, device):
    """Join an existing study as one worker: run its waiting trials until none is left.

    Start one per GPU or machine, all pointing at the same storage; run directories go to
    OUT/NAME/trials on the machine that trains them.

    \b
    Examples:
      ganlab study work --name ring
      ganlab study work --name mnist --device cuda:0 &     # one worker per GPU of this machine
      ganlab study work --name mnist --device cuda:1 &
      CUDA_VISIBLE_DEVICES=1 ganlab study work --name mnist --storage postgresql+psycopg2://me@dbhost/studies
    """
    from ganlab.study.worker import work

    if device is not None:
        from ganlab.utils.device import select_device

        select_device(device)  # refuse a device that is not there before taking a trial
    folder, url = _location(name, storage, out)
    try:
        n = work(name, url, folder, threads=threads, log=click.echo, device=device)
    except KeyboardInterrupt:
        _interrupted()
    click.echo(f"worker done: {n} trial(s) finished here; nothing left to run in study {name}")


@study.command(name="status")
@click.argument("name")
@click.option("--storage", metavar="URL", help=STORAGE_HELP)
@folder_option("--studies", "out", "studies", OUT_HELP)
def study_status(name, storage, out):
    """Per objective: trials complete / running / waiting / failed, and the best score so far.

    \b
    Examples:
      ganlab study status ring
      ganlab study status mnist --storage postgresql+psycopg2://me@dbhost/studies
    """
    from ganlab.study.launcher import status_lines
    from ganlab.study.storage import load_study

    folder, url = _location(name, storage, out)
    study_obj, definition = load_study(name, url, folder)
    click.echo(f"study {name}:")
    for line in status_lines(study_obj, definition):
        click.echo(f"  {line}")


@study.command(name="report")
@click.argument("name")
@click.option("--storage", metavar="URL", help=STORAGE_HELP)
@folder_option("--studies", "out", "studies", OUT_HELP)
@click.option("--report-dir", "report_dir", type=click.Path(file_okay=False), help="Output folder (default OUT/NAME/report).")
def study_report(name, storage, out, report_dir):
    """Write the study's analysis from its completed trials: best score vs budget (bootstrap),
    score distributions, sensitivity to each hyperparameter (PNG) and summary.md.

    \b
    Examples:
      ganlab study report ring
      ganlab study report mnist5k-small --report-dir docs/study
    """
    from ganlab.study.report import write_study_report
    from ganlab.study.storage import load_study

    folder, url = _location(name, storage, out)
    study_obj, definition = load_study(name, url, folder)
    path = write_study_report(study_obj, definition, Path(report_dir or folder / "report"))
    click.echo(f"wrote {path} and its figures")


@study.command(name="export")
@click.argument("name")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--command", "command", metavar="TEXT", help="The command that ran the study, recorded in FILE.")
@click.option("--storage", metavar="URL", help=STORAGE_HELP)
@folder_option("--studies", "out", "studies", OUT_HELP)
def study_export(name, file, command, storage, out):
    """Write the study's trials as a results file (JSON): per trial its config, seed, state, score,
    training time and every logged metric at every evaluation point, with the definition and how it
    ran (ganlab's version and commit, torch, threads, cores). Commit it beside the page it backs:
    pages are generated from such files (`ganlab reproduce --check`). Trials still running are
    written as they stand; run it again as more finish.

    \b
    Examples:
      ganlab study export toy-frozen-ring docs/reproductions/pacgan-toy/frozen/ring.json
    """
    import json

    from ganlab.reproduce.run import study_results, write_atomic
    from ganlab.study.storage import load_study

    folder, url = _location(name, storage, out)
    study_obj, definition = load_study(name, url, folder)
    data = study_results(study_obj, definition, folder, name, command)
    Path(file).parent.mkdir(parents=True, exist_ok=True)
    write_atomic(Path(file), json.dumps(data, indent=1, sort_keys=True) + "\n")
    done = sum(t["state"] == "COMPLETE" for t in data["trials"])
    click.echo(f"wrote {file}: {done} of {len(data['trials'])} trials complete")
