"""`ganlab sample` and `ganlab interpolate`: what a trained run's generator draws, and how its
latent space looks along walks (registered on the `ganlab` group by ganlab.cli)."""

from pathlib import Path

import click

from ganlab.errors import ConfigError


SAMPLE_HELP = """Write samples of a trained run: an image grid (a scatter plot over the data for 2-D
data), every sample as arrays in an .npz, or one PNG per sample in a folder.

\b
Examples:
  ganlab sample runs/00000-demo
  ganlab sample runs/00000-demo --n 100 --seed 7 --out digits.png
  ganlab sample runs/00000-demo --n 10000 --out samples.npz
  ganlab sample runs/00000-demo --n 10000 --out samples/
  ganlab sample runs/00001-toy-ring-ns --n 2500 --checkpoint final
  ganlab sample runs/00002-cond --class 3 --n 64      # a class-conditional run: only 3s
  ganlab sample --pretrained mnist5k --n 64 --out digits.png   # a shipped generator (`ganlab list pretrained`)

A class-conditional run's grid has one class per row unless --class fixes one; its .npz and
folder samples draw the classes uniformly (or all --class).

An .npz holds 'x': images as uint8 [N, H, W, C], points as float32 [N, D]; a folder (a path
ending in / or an existing folder, new or empty) gets 000000.png, 000001.png, ... Both can be
scored by other tools, and by `ganlab eval --real REAL --fake OUT`.
"""


def load_source(run_dir, pretrained, checkpoint="latest", force=False):
    """(config, state, label) of a run directory's checkpoint or of a shipped pretrained generator."""
    if (run_dir is None) == (pretrained is None):
        raise click.UsageError("give RUN_DIR or --pretrained NAME (`ganlab list pretrained`)")
    if pretrained is not None:
        from ganlab import pretrained as shipped

        cfg, state = shipped.load(pretrained)
        return cfg, state, f"pretrained {pretrained}"
    from ganlab.resolve import load_run

    cfg, state = load_run(run_dir, checkpoint, force)
    return cfg, state, str(run_dir)


@click.command(help=SAMPLE_HELP)
@click.argument("run_dir", type=click.Path(), required=False)
@click.option("--pretrained", metavar="NAME", help="A generator shipped with ganlab instead of RUN_DIR (`ganlab list pretrained`).")
@click.option("--n", "n", default=64, show_default=True, type=click.IntRange(min=1, max=10_000_000), help="Number of samples.")
@click.option("--seed", default=0, show_default=True, type=int, help="Seed of the latent codes.")
@click.option("--out", "out_file", type=click.Path(), help="Output: FILE.png (grid), FILE.npz or DIR/ (default RUN_DIR/sample-seedS.png, "
              "or NAME-seedS.png for --pretrained).")
@click.option("--checkpoint", default="latest", show_default=True, help="latest, final, best or a checkpoint path.")
@click.option("--class", "klass", type=click.IntRange(min=0), help="Class of every sample (class-conditional runs).")
@click.option("--device", default="auto", show_default=True, help="auto, cpu or cuda.")
@click.option("--force", is_flag=True, help="Use a checkpoint that does not carry this run directory's id.")
def sample(run_dir, pretrained, n, seed, out_file, checkpoint, klass, device, force):
    import torch

    from ganlab import samples
    from ganlab.data import load_dataset
    from ganlab.training.models import load_generator
    from ganlab.training.output import save_samples
    from ganlab.utils.device import select_device

    cfg, state, label = load_source(run_dir, pretrained, checkpoint, force)
    dev = select_device(device)
    dataset = load_dataset(cfg.data)
    G = load_generator(cfg, state, dataset, dev)
    latent = _latent_for(cfg, dataset, klass, label)
    out = out_file or (Path(run_dir) / f"sample-seed{seed}.png" if run_dir else Path(f"{pretrained}-seed{seed}.png"))
    kind = samples.export_kind(out)
    if kind == "grid":
        z, cols = latent.grid(n, dev, torch.Generator(device=dev).manual_seed(seed), y=klass)
        path = save_samples(G, z, dataset, Path(out), cols)
    else:
        samples.check_export(out, dataset.kind, dataset.shape)
        x = samples.generate(G, lambda k, gen: latent.sample(k, dev, gen, y=klass), n, seed, progress=n >= 5000)
        save = samples.save_npz if kind == "npz" else samples.save_png_folder
        path = save(x, dataset.kind, out)
    click.echo(f"wrote {path}" + ("" if kind == "grid" else f" ({n} samples)"))


INTERPOLATE_HELP = """Walk the latent space of a trained run: a grid whose every row goes from one
random latent code to another in equal steps, slerp for Gaussian z (lerp leaves the shell where
Gaussian codes live; White 2016) and lerp for uniform z. Smooth rows mean G maps nearby codes to
nearby samples; in a class-conditional run each row keeps one class.

\b
Examples:
  ganlab interpolate runs/00000-demo
  ganlab interpolate runs/00000-demo --rows 4 --steps 12 --seed 3 --out walk.png
  ganlab interpolate runs/00000-demo --mode lerp        # compare with the straight line
  ganlab interpolate runs/00002-cond --class 5           # a class-conditional run: only 5s
  ganlab interpolate runs/00003-infogan --traverse 0     # InfoGAN: continuous code 0 from -2 to 2

--traverse J draws InfoGAN's traversal instead: one z, a row per value of the categorical code,
and continuous code J from -2 to 2 along each row (the others at 0).
"""


@click.command(help=INTERPOLATE_HELP)
@click.argument("run_dir", type=click.Path())
@click.option("--rows", default=8, show_default=True, type=click.IntRange(1, 1000), help="Walks (grid rows).")
@click.option("--steps", default=10, show_default=True, type=click.IntRange(2, 1000), help="Samples per walk, both ends included.")
@click.option("--mode", default="auto", show_default=True, type=click.Choice(["auto", "slerp", "lerp"]),
              help="auto: slerp for a normal prior, lerp for a uniform one.")
@click.option("--seed", default=0, show_default=True, type=int, help="Seed of the end points.")
@click.option("--class", "klass", type=click.IntRange(min=0), help="Class of every walk (class-conditional runs).")
@click.option("--traverse", type=click.IntRange(min=0), help="InfoGAN runs: traverse continuous code J instead.")
@click.option("--out", "out_file", type=click.Path(), help="PNG (default RUN_DIR/interpolate-seedS.png).")
@click.option("--checkpoint", default="latest", show_default=True, help="latest, final, best or a checkpoint path.")
@click.option("--device", default="auto", show_default=True, help="auto, cpu or cuda.")
@click.option("--force", is_flag=True, help="Use a checkpoint that does not carry this run directory's id.")
def interpolate(run_dir, rows, steps, mode, seed, klass, traverse, out_file, checkpoint, device, force):
    import torch

    from ganlab.training.latent import interpolation_codes, traversal_codes
    from ganlab.training.models import load_generator
    from ganlab.training.output import save_samples

    cfg, state, dev, dataset = _image_run(run_dir, checkpoint, force, device, "interpolate draws image grids")
    latent = _latent_for(cfg, dataset, klass, run_dir)
    gen = torch.Generator(device=dev).manual_seed(seed)
    if traverse is not None:
        w = traversal_codes(latent, traverse, steps, dev, gen)
        G = load_generator(cfg, state, dataset, dev)
        out = Path(out_file or Path(run_dir) / f"traverse{traverse}-seed{seed}.png")
        click.echo(f"wrote {save_samples(G, w, dataset, out, steps)} (continuous code {traverse} from -2 to 2, "
                   f"{len(w) // steps} rows)")
        return
    G = load_generator(cfg, state, dataset, dev)
    w = interpolation_codes(latent, rows, steps, dev, gen, klass, mode)
    out = Path(out_file or Path(run_dir) / f"interpolate-seed{seed}.png")
    click.echo(f"wrote {save_samples(G, w, dataset, out, steps)} ({rows} walks x {steps} steps, "
               f"{'slerp' if mode == 'auto' and cfg.z_prior != 'uniform' else 'lerp' if mode == 'auto' else mode})")



NEIGHBOURS_HELP = """Did the run copy its training data? Its samples beside their nearest training
images (in pixels, and in lenet-mnist features for MNIST-shaped data), and the memorisation
check: the distances from N samples to the training set against those of N real images G never
saw (the test split where the data has one, else leave-one-out training images).

\b
Examples:
  ganlab neighbours runs/00000-demo
  ganlab neighbours runs/00000-demo --n 2000 --rows 6 --out nn.png --json nn.json

Written by default into the run directory (neighbours-seedS.png and .json), where `ganlab
report RUN_DIR` shows them with the walks of `ganlab interpolate`.

A model that does not copy has a median ratio (sample / held-out distance) near 1 or above and
about 5 % of its samples below the held-out distances' 5th percentile; copying drives them to
0 and 100 %. The one-sided Mann-Whitney p-value tests "samples are closer".
"""


@click.command(help=NEIGHBOURS_HELP)
@click.argument("run_dir", type=click.Path())
@click.option("--n", "n", default=1000, show_default=True, type=click.IntRange(min=2, max=1_000_000),
              help="Samples (and held-out images) whose distances are compared.")
@click.option("--rows", default=8, show_default=True, type=click.IntRange(1, 100), help="Samples shown in the panel.")
@click.option("--k", "k", default=3, show_default=True, type=click.IntRange(1, 20), help="Neighbours shown per sample and space.")
@click.option("--seed", default=0, show_default=True, type=int, help="Seed of the samples and of the held-out draw.")
@click.option("--out", "out_file", type=click.Path(), help="PNG (default RUN_DIR/neighbours-seedS.png).")
@click.option("--json", "json_file", type=click.Path(), help="JSON of the check's numbers (default: the PNG's path with .json).")
@click.option("--checkpoint", default="latest", show_default=True, help="latest, final, best or a checkpoint path.")
@click.option("--device", default="auto", show_default=True, help="auto, cpu or cuda.")
@click.option("--force", is_flag=True, help="Use a checkpoint that does not carry this run directory's id.")
def neighbours(run_dir, n, rows, k, seed, out_file, json_file, checkpoint, device, force):
    import json

    import torch

    from ganlab import neighbours as nn_check
    from ganlab import samples
    from ganlab.training.latent import Latent
    from ganlab.training.models import load_generator

    cfg, state, dev, dataset = _image_run(run_dir, checkpoint, force, device, "neighbours shows images")
    if k >= len(dataset):
        raise ConfigError(f"--k {k}: the training set has {len(dataset)} images; expected k below that")
    G = load_generator(cfg, state, dataset, dev)
    latent = Latent.of(cfg, dataset)
    fake = samples.generate(G, lambda m, gen: latent.sample(m, dev, gen), n, seed, progress=n >= 5000)
    held, exclude, held_text = nn_check.held_out(cfg, dataset, n, torch.Generator().manual_seed(seed))
    train = dataset.batch(torch.arange(len(dataset)), "cpu")
    checks = nn_check.check(fake, train, held, exclude, nn_check.feature_spaces(dataset.shape, dev), k=k)
    out = Path(out_file or Path(run_dir) / f"neighbours-seed{seed}.png")
    nn_check.panel(fake, train, checks, out, rows=rows,
                   title=f"{Path(run_dir).name}: {n} samples vs {held_text}, against {len(train)} training images")
    click.echo(f"held-out: {held_text}")
    for c in checks:
        s = c.summary()
        click.echo(f"{c.space:>7}: median distance to train {s['fake_median']:.3g} (samples) vs {s['held_out_median']:.3g} "
                   f"(held-out), ratio {c.median_ratio:.2f}; {100 * c.below_low:.1f} % of samples below the held-out "
                   f"5th percentile; p = {c.p_closer:.2g} — {c.verdict()}")
    json_path = Path(json_file) if json_file else out.with_suffix(".json")
    json_path.write_text(json.dumps({"run": str(run_dir), "n": n, "held_out": held_text,
                                     "spaces": [c.summary() for c in checks]}, indent=2) + "\n")
    click.echo(f"wrote {out} and {json_path} (`ganlab report {run_dir}` shows them)")

def _image_run(run_dir, checkpoint, force, device, what):
    """(config, checkpoint state, device, dataset) of a run on images; refused for point data."""
    from ganlab.data import load_dataset
    from ganlab.resolve import load_run
    from ganlab.utils.device import select_device

    cfg, state = load_run(run_dir, checkpoint, force)
    dev = select_device(device)
    dataset = load_dataset(cfg.data)
    if dataset.kind != "image":
        raise ConfigError(f"run {run_dir} generates points of shape {dataset.shape}; {what} (expected a run on images)")
    return cfg, state, dev, dataset


def _latent_for(cfg, dataset, klass, run_dir):
    """The run's latent space, refusing a --class it cannot honour."""
    from ganlab.training.latent import Latent

    latent = Latent.of(cfg, dataset)
    if klass is not None and not latent.mode:
        raise ConfigError(f"--class {klass}: run {run_dir} is not class-conditional (latent.classes is null); "
                          f"expected no --class")
    if klass is not None and klass >= latent.num_classes:
        raise ConfigError(f"--class {klass}: run {run_dir} has {latent.num_classes} classes; expected a class "
                          f"in 0..{latent.num_classes - 1}")
    return latent
