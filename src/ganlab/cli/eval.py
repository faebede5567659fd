"""`ganlab eval`: the metrics of a run's generator, of a shipped pretrained generator, or of two
sample sets (registered on the `ganlab` group by ganlab.cli)."""

import click

from ganlab import rundir
from ganlab.errors import ConfigError


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


@click.command(name="eval", help=EVAL_HELP)
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
    from ganlab.training.latent import Latent
    from ganlab.training.models import load_generator

    from ganlab.cli.sample import load_source

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
        from ganlab.training.evaluation import evaluate_toy

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
    from ganlab.metrics import extract_features, metric_spec
    from ganlab.metrics.evaluate import MetricInputs, compute_metrics
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
    specs = {f"fid_{short}": metric_spec("fid", extractor), f"pr_{short}": metric_spec("pr", extractor)}
    if subset >= 2:
        specs[f"kid_{short}"] = metric_spec("kid", extractor, subset_size=subset)
    if ext.num_classes:
        specs[f"is_{short}"] = metric_spec("is", extractor)
        specs[f"classes_{short}"] = metric_spec("classes", extractor)
    inputs = MetricInputs(feats["fake"]["features"], feats["fake"]["probs"], feats["real"]["features"])
    results = compute_metrics(specs, {extractor: inputs})
    click.echo(f"real {real} ({len(real_ds)} items) vs fake {fake} ({len(fake_ds)} items), {extractor} features"
               + (f", KID over 100 subsets of {subset}" if subset >= 2 else "") + ":")
    for key, value in results.items():
        click.echo(f"  {key:20s} {value:.4f}")
