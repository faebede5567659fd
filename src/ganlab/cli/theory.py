"""`ganlab theory list | run`: the experiments that reproduce the theory's claims."""

import sys
from pathlib import Path

import click


@click.group()
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
