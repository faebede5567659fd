"""The `ganlab` command line: train, sample, list.

Every error a user can cause ends as one sentence on stderr and exit status 2.
"""

import sys
from pathlib import Path

import click
from omegaconf import OmegaConf

from ganlab import rundir
from ganlab.config import make_config, parse_overrides
from ganlab.errors import ConfigError, GanlabError
from ganlab.presets import PRESETS


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
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

Keys for --set are the fields printed by --dry-run (dotted: g_opt.lr, D.norm, data.path, ...);
objective hyperparameters go under objective_args (see `ganlab list objectives`).
"""


@cli.command(help=TRAIN_HELP)
@click.option("--preset", metavar="NAME", help="Named preset (`ganlab list presets`); defaults otherwise.")
@click.option("--set", "sets", metavar="KEY=VALUE", multiple=True, help="Override a config key (repeatable).")
@click.option("--kimg", type=click.FloatRange(min=0, min_open=True), help="Run length in thousands of real images shown to D.")
@click.option("--epochs", type=click.FloatRange(min=0, min_open=True), help="Run length in passes over the dataset.")
@click.option("--seed", type=int, help="Training seed.")
@click.option("--device", metavar="auto|cpu|cuda", help="Device (default: auto).")
@click.option("--out", default="runs", show_default=True, type=click.Path(file_okay=False), help="Folder for run directories.")
@click.option("--dry-run", is_flag=True, help="Print the resolved config and exit.")
@click.option("--resume", "resume_dir", metavar="RUN_DIR", help="Continue a run from its latest checkpoint.")
@click.option("--force", is_flag=True, help="With --resume: accept a changed config.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def train(preset, sets, kimg, epochs, seed, device, out, dry_run, resume_dir, force, quiet):
    from ganlab.training import training_loop

    if kimg is not None and epochs is not None:
        raise click.UsageError("give --kimg or --epochs, not both")
    overrides = dict(PRESETS.lookup(preset)) if preset else {}
    if preset:
        overrides["description"] = f"{preset}: {overrides['description']}"
    overrides.update(parse_overrides(sets))
    if seed is not None:
        overrides["seed"] = seed
    if device is not None:
        overrides["device"] = device

    state = None
    if resume_dir:
        old_cfg, state = rundir.load_run(resume_dir)
        cfg = make_config({**rundir.flatten(rundir.config_to_dict(old_cfg)), **overrides})
        _check_unchanged(old_cfg, cfg, force)
    else:
        cfg = make_config(overrides)
    dataset = None
    if epochs is not None:
        from ganlab.data import load_dataset

        dataset = load_dataset(cfg.data)
        cfg.kimg = epochs * len(dataset) / 1000
    elif kimg is not None:
        cfg.kimg = kimg

    if dry_run:
        click.echo(OmegaConf.to_yaml(cfg), nl=False)
        return
    from ganlab.utils.device import select_device

    select_device(cfg.device)  # refuse a missing device before anything is written

    opened = []

    def open_run_dir():
        path = Path(resume_dir) if resume_dir else rundir.new_run_dir(out, preset or f"{cfg.objective}-{cfg.data.name}")
        rundir.save_config(path, cfg)
        click.echo(f"run directory: {path}")
        opened.append(path)
        return path

    record = training_loop(cfg, open_run_dir, state=state, progress=not quiet, dataset=dataset)
    click.echo(_summary(record, opened[0]))


def _check_unchanged(old_cfg, new_cfg, force):
    """Refuse a resume whose config differs (other than length and device) unless forced."""
    old = rundir.flatten(rundir.config_to_dict(old_cfg))
    new = rundir.flatten(rundir.config_to_dict(new_cfg))
    changed = [k for k in sorted(set(old) | set(new)) if k not in ("kimg", "device") and old.get(k) != new.get(k)]
    if changed and not force:
        diff = ", ".join(f"{k}: {old.get(k)!r} -> {new.get(k)!r}" for k in changed[:5])
        raise ConfigError(f"--resume with a changed config ({diff}) is refused; expected the run's own config, or --force")


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


SAMPLE_HELP = """Write samples of a trained run: an image grid, or a scatter plot over the data for 2-D data.

\b
Examples:
  ganlab sample runs/00000-demo
  ganlab sample runs/00000-demo --n 100 --seed 7 --out digits.png
  ganlab sample runs/00001-toy-ring-ns --n 2500 --checkpoint final
"""


@cli.command(help=SAMPLE_HELP)
@click.argument("run_dir", type=click.Path())
@click.option("--n", "n", default=64, show_default=True, type=click.IntRange(min=1), help="Number of samples.")
@click.option("--seed", default=0, show_default=True, type=int, help="Seed of the latent codes.")
@click.option("--out", "out_file", type=click.Path(dir_okay=False), help="Output PNG (default RUN_DIR/sample-seedS.png).")
@click.option("--checkpoint", default="latest", show_default=True, help="latest, final or a checkpoint path.")
@click.option("--device", default="auto", show_default=True, help="auto, cpu or cuda.")
def sample(run_dir, n, seed, out_file, checkpoint, device):
    import torch

    from ganlab.data import load_dataset
    from ganlab.objectives import build_objective
    from ganlab.training import build_models, sample_z, save_samples
    from ganlab.utils.device import select_device

    cfg, state = rundir.load_run(run_dir, checkpoint)
    dev = select_device(device)
    dataset = load_dataset(cfg.data)
    G, _ = build_models(cfg, dataset, build_objective(cfg.objective, cfg.objective_args), dev)
    G.load_state_dict(state["G"])
    z = sample_z(n, cfg, dev, generator=torch.Generator(device=dev).manual_seed(seed))
    path = save_samples(G, z, dataset, Path(out_file or Path(run_dir) / f"sample-seed{seed}.png"))
    click.echo(f"wrote {path}")


LIST_KINDS = ("objectives", "networks", "datasets", "presets", "metrics")


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
    from ganlab.objectives import OBJECTIVES, objective_params

    registries = {"objectives": OBJECTIVES, "networks": NETWORKS, "datasets": DATASETS, "presets": PRESETS, "metrics": METRICS}
    for k in [kind] if kind else LIST_KINDS:
        if not kind:
            click.echo(f"# {k}")
        reg = registries[k]
        for name in sorted(reg):
            desc = reg.descriptions.get(name, "")
            if k == "objectives" and objective_params(name):
                desc += " [objective_args: " + ", ".join(f"{a}={v}" for a, v in objective_params(name).items()) + "]"
            click.echo(f"{name}  {desc}".rstrip())


def main(argv=None):
    """Entry point: user errors become one line on stderr and exit status 2."""
    try:
        cli.main(args=argv, prog_name="ganlab", standalone_mode=False)
    except GanlabError as exc:
        click.echo(f"ganlab: error: {exc}", err=True)
        sys.exit(2)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("ganlab: aborted", err=True)
        sys.exit(130)
    except KeyboardInterrupt:
        click.echo("\nganlab: interrupted; the latest checkpoint is intact (resume with --resume)", err=True)
        sys.exit(130)


if __name__ == "__main__":
    main()
