"""What produced a result: ganlab's version and, in a checkout, its git commit (with `-dirty` when
tracked files differ from it); torch and Python versions."""

import functools
import platform
import subprocess
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parents[3]  # the repository root, when ganlab runs from a checkout
COMMAND = None  # the `ganlab ...` command line being run, set by the CLI (None: called from Python)


@functools.lru_cache(maxsize=1)
def git_commit():
    """The checkout's short commit (+ '-dirty'), or None for an installed package or without git."""
    if not (CHECKOUT / ".git").exists() or not (CHECKOUT / "src" / "ganlab").is_dir():
        return None
    try:
        run = functools.partial(subprocess.run, capture_output=True, text=True, timeout=10, cwd=CHECKOUT)
        commit = run(["git", "rev-parse", "--short", "HEAD"]).stdout.strip() or None
        dirty = run(["git", "status", "--porcelain", "--untracked-files=no"]).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return commit and commit + ("-dirty" if dirty else "")


def versions():
    """{ganlab, commit, torch, python}."""
    import torch

    from ganlab import __version__

    return {"ganlab": __version__, "commit": git_commit(), "torch": torch.__version__, "python": platform.python_version()}
