import pytest
import torch

from ganlab.cli import main

torch.set_num_threads(2)


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
