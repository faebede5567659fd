"""`ganlab report` (HTML reports of runs, studies, comparisons) and `ganlab reproduce` (registered
reproductions, and the check that regenerates every results page)."""

import sys

import click

from omegaconf import OmegaConf

from ganlab.cli.options import folder_option
from ganlab.config import parse_overrides


REPORT_HELP = """Write one self-contained HTML report (images inline, no network, no JavaScript):
of a run, of a study's trials, or a comparison of several runs.

\b
Examples:
  ganlab report runs/00000-demo
  ganlab report studies/ring
  ganlab report runs/00001-toy-ring-ns runs/00002-toy-ring-lsgan --out ring.html

Default output: RUN_DIR/report.html, STUDY_DIR/report.html, or ./report.html for several runs.
"""


@click.command(help=REPORT_HELP)
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


@click.command(help=REPRODUCE_HELP)
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
