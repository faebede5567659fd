"""Options shared by several commands, so that one option name means one thing everywhere:
`--out` is the file or folder a command writes; the folders that hold many runs, studies or
reproduction pages are `--runs`, `--studies` and `--docs`."""

import functools

import click


def folder_option(flag, param, default, help):
    """`flag DIR` (default `default`) into the keyword `param`, with `--out`, its name before
    ganlab 0.2, still accepted (hidden from --help)."""
    def decorate(fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            legacy = kwargs.pop("legacy_out")
            if kwargs[param] is not None and legacy is not None:
                raise click.UsageError(f"give {flag} (--out is its old name), not both")
            kwargs[param] = kwargs[param] or legacy or default
            return fn(*args, **kwargs)

        wrapper = click.option("--out", "legacy_out", hidden=True, type=click.Path(file_okay=False))(wrapper)
        return click.option(flag, param, type=click.Path(file_okay=False), metavar="DIR",
                            help=f"{help}  [default: {default}]")(wrapper)
    return decorate
