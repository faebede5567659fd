"""The `ganlab` command line: a thin layer of commands over the library, one file per command family.

    train.py    ganlab train (config resolution: ganlab.resolve)
    eval.py     ganlab eval (a run's generator, or two sample sets)
    sample.py   ganlab sample | interpolate | neighbours
    listing.py  ganlab list
    theory.py   ganlab theory list | run
    report.py   ganlab report, ganlab reproduce
    (ganlab study: ganlab/study/commands.py)
    options.py  shared options (--runs, --studies, --docs)

Every error a user can cause ends as one sentence on stderr and exit status 2 (`main`, the one
place errors are formatted). Modules import their heavy dependencies inside the commands, so
`ganlab --help` stays fast.
"""

import shlex
import sys

import click

from ganlab import __version__
from ganlab.cli.eval import eval_
from ganlab.cli.listing import list_
from ganlab.cli.report import report, reproduce
from ganlab.cli.sample import interpolate, neighbours, sample
from ganlab.cli.theory import theory
from ganlab.cli.train import train
from ganlab.errors import GanlabError, one_line
from ganlab.study.commands import study


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


for _command in (train, eval_, sample, interpolate, neighbours, study, list_, report, reproduce, theory):
    cli.add_command(_command)


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
