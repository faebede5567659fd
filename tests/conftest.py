import os

import pytest
import torch

from ganlab.cli import main

torch.set_num_threads(2)


@pytest.fixture(scope="session", autouse=True)
def ganlab_cache(tmp_path_factory):
    """Every test, and every process a test starts, caches real-data statistics in one temporary
    folder ($GANLAB_CACHE, read by ganlab.metrics.evaluate.cache_dir) under pytest's basetemp
    instead of ~/.cache/ganlab. One folder for the whole session, so a statistic is still computed
    only once per session; tests that need an empty cache of their own set GANLAB_CACHE themselves."""
    previous = os.environ.get("GANLAB_CACHE")
    os.environ["GANLAB_CACHE"] = str(tmp_path_factory.mktemp("ganlab-cache"))
    yield os.environ["GANLAB_CACHE"]
    if previous is None:
        os.environ.pop("GANLAB_CACHE", None)
    else:
        os.environ["GANLAB_CACHE"] = previous


@pytest.fixture(scope="module")
def one_thread():
    """Small nets run dispatch-bound: one thread is faster, and much faster on a loaded machine.
    Use with `pytestmark = pytest.mark.usefixtures("one_thread")`."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


class Result:
    def __init__(self, code, out, err):
        self.code, self.out, self.err = code, out, err


@pytest.fixture
def run_cli(capsys):
    """Run `ganlab ARGS` in-process; returns exit code, stdout and stderr."""

    def run(*args):
        capsys.readouterr()
        try:
            main([str(a) for a in args])
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run
