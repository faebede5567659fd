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
from ganlab.config import make_config, parse_overrides, validate
from ganlab.cli_options import folder_option
from ganlab.errors import ConfigError, GanlabError, one_line
from ganlab.presets import PRESETS, preset_overrides, run_label


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
    from ganlab.distributed import World, launch, remember_run, restarted_run
    from ganlab.training import training_loop

    world = World.from_env()  # one process, unless started by torchrun (ganlab.distributed)
    if kimg is not None and epochs is not None:
        raise click.UsageError("give --kimg or --epochs, not both")
    if resume_dir and (config_file or name or preset):
        raise click.UsageError("--resume continues a run with its own config and name; give --set, --kimg or "
                               "--epochs to change it, not --preset, --config or --name")
    raw_sets, sets = list(sets), parse_overrides(sets)
    from_file = rundir.overrides_from_file(config_file) if config_file else {}
    objective = sets.get("objective", from_file.get("objective"))
    overrides = preset_overrides(preset, objective) if preset else {}
    if preset:
        overrides["description"] = f"{preset}: {overrides['description']}"
    overrides.update(from_file)
    overrides.update(sets)
    if "description" not in sets and set(sets) - {"seed"}:  # what changed comes first
        base = from_file.get("description") or (PRESETS.lookup(preset)["description"] if preset else "")
        head = preset or (Path(config_file).name if config_file else "defaults")
        overrides["description"] = f"{head} with {', '.join(raw_sets)}" + (f" (the base: {base})" if base else "")
    if seed is not None:
        overrides["seed"] = seed
    if device is not None:
        overrides["device"] = device
    if eval_every is not None:
        overrides["eval_kimg"] = eval_every

    state = None
    if world.size > 1 and not resume_dir:  # torchrun restarted every process: continue the run it had made
        resume_dir = world.broadcast_text(restarted_run(out) if world.main else None) or None
    if resume_dir:
        old_cfg, state = rundir.load_resume(resume_dir, force)
        cfg = make_config({**rundir.flatten(rundir.config_to_dict(old_cfg)), **overrides})
        changed = rundir.config_changes(old_cfg, cfg)
        if changed and not force:
            raise ConfigError(f"--resume with a changed config ({', '.join(changed[:5])}) is refused; expected the "
                              f"run's own config, or --force")
    else:
        cfg = make_config(overrides)
    dataset = None
    if epochs is not None:
        from ganlab.data import load_dataset

        dataset = load_dataset(cfg.data)
        cfg.kimg = epochs * len(dataset) / 1000
    elif kimg is not None:
        cfg.kimg = kimg
    validate(cfg)  # --kimg / --epochs too (click lets nan through its ranges)

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


EVAL_HELP = """Evaluate a run's generator (or two sample sets) with registered metrics.

\b
Examples:
  ganlab eval runs/00000-demo
  ganlab eval runs/00000-demo --metrics fid5k_lenet,kid5k_lenet,pr5k_lenet --seeds 3
  ganlab eval runs/00000-demo --checkpoint best
  ganlab eval --real real_digits.npz --fake samples/ --extractor lenet-mnist

With RUN_DIR the default metrics are the run's own (config key `metrics`), else those of its data
(MNIST-like: fid5k_lenet, kid5k_lenet, pr5k_lenet, mnist_score5k, classes5k_lenet). Results are
printed and appended to the run's metrics.jsonl. With --real/--fake (folders, zips or .npz files)
every item of both sets is used and the metric names carry no count.
"""

_MNIST_METRICS = ["fid5k_lenet", "kid5k_lenet", "pr5k_lenet", "mnist_score5k", "classes5k_lenet"]
DEFAULT_METRICS = {(1, 28, 28): _MNIST_METRICS, (1, 32, 32): _MNIST_METRICS}  # 32: MNIST with data.pad=2


@cli.command(name="eval", help=EVAL_HELP)
@click.argument("run_dir", required=False, type=click.Path())
@click.option("--pretrained", metavar="NAME", help="A generator shipped with ganlab instead of RUN_DIR (`ganlab list pretrained`).")
@click.option("--metrics", "metric_list", metavar="LIST", help="Comma-separated metric names (`ganlab list metrics`).")
@click.option("--checkpoint", default="latest", show_default=True, help="latest, final, best or a checkpoint path.")
@click.option("--seeds", default=1, show_default=True, type=click.IntRange(min=1), help="Report mean ± std over N generator seeds.")
@click.option("--real", type=click.Path(), help="Real samples: a folder, zip or .npz (with --fake, instead of RUN_DIR).")
@click.option("--fake", type=click.Path(), help="Generated samples: a folder, zip or .npz.")
@click.option("--extractor", help="With --real/--fake: lenet-mnist or inception-fid (default: lenet-mnist for "
              "1x28x28 images, else inception-fid).")
@click.option("--inception-weights", "inception_weights", type=click.Path(dir_okay=False), metavar="PATH",
              help="The FID Inception weights file, for the *_inception metrics (or $GANLAB_INCEPTION_WEIGHTS).")
@click.option("--device", default="auto", show_default=True, help="auto, cpu or cuda.")
@click.option("--force", is_flag=True, help="Use a checkpoint that does not carry this run directory's id.")
def eval_(run_dir, pretrained, metric_list, checkpoint, seeds, real, fake, extractor, inception_weights, device, force):
    from ganlab.utils.device import select_device

    if inception_weights:
        import os

        from ganlab.metrics.inception import ENV_VAR

        os.environ[ENV_VAR] = str(inception_weights)  # read where the extractor is built
    dev = select_device(device)
    if (real is None) != (fake is None) or (real is not None) == (run_dir is not None or pretrained is not None):
        raise click.UsageError("give RUN_DIR, --pretrained NAME, or --real and --fake")
    if real is not None:
        return _eval_sets(real, fake, extractor, dev)
    import statistics

    from ganlab.data import load_dataset
    from ganlab.metrics.evaluate import Evaluator
    from ganlab.latent import Latent
    from ganlab.training import load_generator

    from ganlab.sample_commands import load_source

    cfg, state, label = load_source(run_dir, pretrained, checkpoint, force)
    dataset = load_dataset(cfg.data)
    toy = dataset.modes is not None  # a toy mixture: PacGAN's mode metrics, on 2,500 samples per seed
    names = (metric_list.split(",") if metric_list else (TOY_METRICS if toy else list(cfg.metrics))
             or DEFAULT_METRICS.get(dataset.shape))
    if not names:
        raise ConfigError(f"no default metrics for data of shape {dataset.shape}; expected --metrics (see `ganlab list metrics`)")
    latent = Latent.of(cfg, dataset)
    G = load_generator(cfg, state, dataset, dev)
    if toy:
        from ganlab.training import evaluate_toy

        _check_toy_names(names)
        runs = [{k: v for k, v in evaluate_toy(G, cfg, dataset, dev, seed=s).items() if k in names}
                for s in tqdm_range(seeds, "evaluating")]
    else:
        evaluator = Evaluator(names, dataset, cfg.data, dev, latent, progress=True)
        runs = [evaluator(G, lambda n, gen: latent.sample(n, dev, gen), seed=s) for s in tqdm_range(seeds, "evaluating")]
    summary = {}
    for key in runs[0]:
        values = [r[key] for r in runs if r[key] is not None]  # rkl: None without a high-quality sample
        if values:
            summary[key] = {"mean": statistics.mean(values), "std": statistics.stdev(values) if len(values) > 1 else 0.0,
                            "n": len(values)}
    kimg = int(state["cur_nimg"]) / 1000
    click.echo(f"{label} ({kimg:.1f} kimg, {seeds} seed(s)):" if pretrained else
               f"{label} ({checkpoint} checkpoint, {kimg:.1f} kimg, {seeds} seed(s)):")
    for key in runs[0]:
        v = summary.get(key)
        if v is None:
            click.echo(f"  {key:28s} n/a (no high-quality sample)" if key == "rkl" else f"  {key:28s} n/a")
            continue
        click.echo(f"  {key:28s} {v['mean']:.4f}" + (f" ± {v['std']:.4f}" if seeds > 1 else "")
                   + (f" (from {v['n']} of {seeds} seeds; the others have no high-quality sample)" if v["n"] < seeds else ""))
    if pretrained:
        return
    rundir.append_metrics(run_dir, {"eval": True, "checkpoint": str(checkpoint), "kimg": kimg, "seeds": seeds,
                                    **{k: v["mean"] for k, v in summary.items()},
                                    **({f"{k}_seed_std": v["std"] for k, v in summary.items()} if seeds > 1 else {})})


TOY_METRICS = ["modes", "hq", "rkl"]


def _check_toy_names(names):
    for name in names:
        if name not in TOY_METRICS:
            from ganlab.metrics import METRICS

            METRICS.lookup(name)  # an unknown name: its own sentence
            raise ConfigError(f"metric {name!r} needs images; this run's data are 2-D points (its metrics are "
                              f"{', '.join(TOY_METRICS)})")


def tqdm_range(n, desc):
    """range(n) with a progress bar on stderr when there is more than one step."""
    from tqdm.auto import tqdm

    return tqdm(range(n), desc=desc, disable=n < 2, leave=False)


def _eval_sets(real, fake, extractor, dev):
    import torch

    from ganlab.config import DataConfig
    from ganlab.data import load_dataset
    from ganlab.metrics import MetricSpec, extract_features
    from ganlab.metrics.evaluate import compute_metrics
    from ganlab.metrics.extractors import EXTRACTORS

    def load(path, shape=None):
        name = "npz" if str(path).endswith((".npz", ".npy")) else "images"
        cfg = DataConfig(name=name, path=str(path))
        if shape is not None:
            cfg.channels, cfg.resolution = shape[0], shape[1]
        return load_dataset(cfg)

    real_ds = load(real, (1, 28) if extractor == "lenet-mnist" else None)
    fake_ds = load(fake, (real_ds.shape[0], real_ds.shape[1]))
    extractor = extractor or ("lenet-mnist" if real_ds.shape == (1, 28, 28) else "inception-fid")
    ext = EXTRACTORS.lookup(extractor)(device=dev).eval()
    feats = {label: extract_features(ext, (ds.batch(i, dev) for i in torch.arange(len(ds)).split(250)), device=dev)
             for label, ds in (("real", real_ds), ("fake", fake_ds))}
    short = extractor.split("-")[0]
    n = min(len(real_ds), len(fake_ds))
    subset = 1000 if n >= 1000 else n // 2  # torch-fidelity's 1000 when possible; below that, subsets must differ
    specs = {f"fid_{short}": MetricSpec("fid", extractor), f"pr_{short}": MetricSpec("pr", extractor, lower_is_better=False)}
    if subset >= 2:
        specs[f"kid_{short}"] = MetricSpec("kid", extractor, subset_size=subset)
    if ext.num_classes:
        specs[f"is_{short}"] = MetricSpec("is", extractor, lower_is_better=False)
        specs[f"classes_{short}"] = MetricSpec("classes", extractor, lower_is_better=False)
    results = compute_metrics(specs, fake={extractor: (feats["fake"]["features"], feats["fake"]["probs"])},
                              real={extractor: feats["real"]["features"]})
    click.echo(f"real {real} ({len(real_ds)} items) vs fake {fake} ({len(fake_ds)} items), {extractor} features"
               + (f", KID over 100 subsets of {subset}" if subset >= 2 else "") + ":")
    for key, value in results.items():
        click.echo(f"  {key:20s} {value:.4f}")


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
from ganlab.sample_commands import interpolate, neighbours, sample  # noqa: E402
from ganlab.study.commands import study  # noqa: E402

cli.add_command(sample)
cli.add_command(interpolate)
cli.add_command(neighbours)
cli.add_command(study)


LIST_KINDS = ("objectives", "g_steps", "networks", "datasets", "presets", "metrics", "pretrained")


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
    from ganlab.gsteps import G_STEPS, g_step_params
    from ganlab.objectives import OBJECTIVES, objective_params

    registries = {"objectives": OBJECTIVES, "g_steps": G_STEPS, "networks": NETWORKS, "datasets": DATASETS,
                  "presets": PRESETS, "metrics": METRICS}
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
