"""Every command in the README's and the guides' fenced code blocks runs, shrunk to seconds, through
the real CLI (PAGES: README.md, the docs' home, getting started, development and docs/guide/).

Each `ganlab ...` line (continuations joined, trailing comments dropped) runs in-process in a
temporary folder shared by the commands of its code block, in README order, as a reader pasting
the block would run them. `shrink` shortens them: a few steps of width-8 nets, one evaluation of
the primary metric, 2 study trials, at most 2 eval seeds. A run directory that a command names
but its block did not create (`runs/00002-mnist5k-dcgan-ns`) is a tiny run of the preset of that
name, trained once per module with evaluation on, copied under the name; a user's own file the
README names (`real.npz`) is made from MNIST-5k (USER_FILES). ```python blocks run in a subprocess.
A command that cannot run here is in NOT_RUN with its reason, one that takes tens of seconds in
SLOW (run by `make test-slow`); every other README command runs, so a new example is covered
without touching this file.
"""

import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

pytestmark = pytest.mark.usefixtures("one_thread")

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
PAGES = [README] + [ROOT / "docs" / name for name in ("index.md", "getting-started.md", "development.md")] + sorted(
    (ROOT / "docs" / "guide").glob("*.md"))

TINY_KIMG = 0.256      # 4 steps at batch 64, one at 256 (toy presets)
RESUME_KIMG = 0.512    # a resume goes on past TINY_KIMG
# Small nets on one thread: dispatch-bound, and far faster than two threads on a busy machine.
SMALL_NETS = ["--set", "G.width=8", "--set", "D.width=8", "--set", "cpu_threads=1"]
MAX_EVAL_SEEDS = 2     # mean ± std needs two

# README commands (as `command_text` writes them) that are not run, each with its reason.
NOT_RUN = {
    "make demo": "CI runs the make targets themselves; `make` builds .venv from nothing (minutes)",
    "make test": "CI runs the make targets themselves; this test is part of that suite",
    "make bench": "CI runs the make targets themselves; tests/test_scripts.py runs both benchmarks in tiny mode",
    "make docs": "CI runs `make docs` itself (the site built with --strict)",
}
# Commands that run only under `make test-slow` (shrunk, still tens of seconds), with the reason.
SLOW = {
    "ganlab eval runs/00002-mnist5k-dcgan-ns --seeds 3":
        "two evaluations of 5,000 samples (the count is the metric's protocol; it cannot shrink); "
        "tests/test_eval.py runs --seeds 2 by default",
    "ganlab reproduce seed-report --quick":
        "five runs, each evaluated with fid5k_lenet: ~30 s shrunk; tests/test_grid_study.py runs the same "
        "command shrunk by default and checks what it writes",
    "ganlab reproduce wgan-gp-robustness --quick":
        "28 configs, each a one-step run evaluated with fid5k_lenet (5,000 samples): minutes even shrunk; "
        "tests/test_grid_study.py checks its definition and write-up",
    "ganlab train --preset stacked-pacdcgan2 --kimg 200 --eval-every 50":
        "one evaluation of modes26k_stacked, 26,000 samples through the classifier three times (the protocol's "
        "count): ~30 s; tests/test_stacked_mnist.py trains the preset and checks the metric by default",
    "ganlab train --preset toy-ring-wgan-gp --nproc 2":
        "a torchrun launch of 2 processes (~10 s); tests/test_distributed.py launches `--nproc 2` by default",
    "ganlab train --resume runs/00000-toy-ring-wgan-gp --nproc 2 --kimg 5000":
        "a second torchrun launch (~10 s); tests/test_distributed.py resumes a 2-process run by default",
    "ganlab study run --preset-study mnist5k-small":
        "4 objectives x 2 DCGAN-28 trials, each evaluated with fid5k_lenet (5,000 samples): ~20 s shrunk",
}


def _mnist5k_npz(path):
    """The reader's reference images: 1,000 MNIST-5k digits as uint8 [N, 28, 28, 1] under 'x'."""
    import numpy as np

    from ganlab.config import DataConfig
    from ganlab.data import load_dataset

    data = load_dataset(DataConfig(name="mnist5k")).data[::5]  # [1000, 1, 28, 28] uint8, all classes
    np.savez(path, x=data.permute(0, 2, 3, 1).numpy())


# Files the README leaves to the reader ("your own images"): made here when a command names them.
def _grid_yaml(path):
    """The reader's grid of configs: two toy configs."""
    path.write_text("configs:\n  - {name: ns, preset: toy-ring-ns}\n"
                    "  - {name: lsgan, preset: toy-ring-ns, objective: lsgan}\n")


USER_FILES = {"real.npz": _mnist5k_npz, "grid.yaml": _grid_yaml}


@dataclass
class Command:
    block: int   # index of the fenced block among all pages' blocks
    index: int   # position within the block's commands
    line: int    # line number in its page where it starts
    kind: str    # "ganlab", "make" or "python"
    text: str    # the command as one line (or the Python source)
    page: str = "README.md"  # the page, relative to the repository root


def fenced_blocks(text):
    """(language, first line number, lines) of every ``` block."""
    blocks, lang, start, lines = [], None, 0, None
    for number, line in enumerate(text.splitlines(), 1):
        fence = re.match(r"\s*```\s*([\w+-]*)", line)
        if fence and lines is None:
            lang, start, lines = fence.group(1).lower(), number + 1, []
        elif fence and line.strip() == "```":
            blocks.append((lang, start, lines))
            lines = None
        elif lines is not None:
            lines.append(line)
    return blocks


def readme_commands(text=None):
    """The commands of `text`, or of every page in PAGES (blocks numbered across the pages)."""
    if text is not None:
        return page_commands(text)
    commands = []
    for page in PAGES:
        offset = 1 + max((c.block for c in commands), default=-1)
        found = page_commands(page.read_text(), str(page.relative_to(ROOT)))
        commands += [Command(c.block + offset, c.index, c.line, c.kind, c.text, c.page) for c in found]
    return commands


def page_commands(text, page="README.md"):
    commands = []
    for b, (lang, start, lines) in enumerate(fenced_blocks(text)):
        if lang in ("python", "py"):
            commands.append(Command(b, 0, start, "python", "\n".join(lines), page))
            continue
        joined, first = "", None
        for number, raw in enumerate(lines, start):
            first = first or number
            line = raw.rstrip()
            if line.endswith("\\"):
                joined += line[:-1] + " "
                continue
            joined, entry, first = "", (first, joined + line), None
            try:
                tokens = shlex.split(re.sub(r"^\s*\$\s+", "", entry[1]), comments=True)
            except ValueError:  # an unbalanced quote: output or prose, unless it starts like a command
                tokens = entry[1].split()
            if tokens and tokens[0] in ("ganlab", "make"):
                commands.append(Command(b, sum(c.block == b for c in commands), entry[0], tokens[0],
                                        command_text(tokens), page))
    return commands


def command_text(tokens):
    return " ".join(shlex.quote(t) for t in tokens)


def set_option(argv, name, value):
    """argv with option `name` set to `value` (replaced where given, else appended)."""
    argv = list(argv)
    if name in argv:
        argv[argv.index(name) + 1] = str(value)
    else:
        argv += [name, str(value)]
    return argv


def drop_option(argv, name):
    argv = list(argv)
    if name in argv:
        del argv[argv.index(name):argv.index(name) + 2]
    return argv


def shrink(argv):
    """A README command (without `ganlab`) made to run in seconds: same code path, shorter runs."""
    if argv[:1] == ["train"] and "--dry-run" not in argv:
        argv = drop_option(argv, "--epochs")
        if "--resume" in argv:  # its config is the run's own: only the length changes
            return set_option(argv, "--kimg", RESUME_KIMG)
        argv = set_option(argv, "--kimg", TINY_KIMG)
        if "--eval-every" in argv:  # one evaluation, of the primary metric only (5,000 samples)
            argv = set_option(argv, "--eval-every", TINY_KIMG) + primary_metric(argv)
        return argv + SMALL_NETS + ["--set", f"log_kimg={TINY_KIMG}", "--set", f"snapshot_kimg={TINY_KIMG}", "--quiet"]
    if argv[:2] == ["study", "run"] and ({"--preset", "--preset-study"} & set(argv)):
        for name, value in (("--trials", 2), ("--kimg", TINY_KIMG), ("--eval-every", TINY_KIMG), ("--workers", 1)):
            argv = set_option(argv, name, value)
        return argv + SMALL_NETS
    if argv[:2] == ["study", "run"] and "--grid" in argv:
        return set_option(set_option(argv, "--kimg", TINY_KIMG), "--workers", 1)
    if argv[:1] == ["reproduce"]:  # every run one step of width-8 nets, evaluated once on the primary metric
        return argv + ["--kimg", "0.064", "--set", "metrics=[fid5k_lenet]"] + SMALL_NETS
    if argv[:1] == ["neighbours"] and "--n" in argv:  # the distances of a few hundred samples, not thousands
        return set_option(argv, "--n", min(int(argv[argv.index("--n") + 1]), 200))
    if argv[:1] == ["eval"] and "--seeds" in argv:
        return set_option(argv, "--seeds", min(int(argv[argv.index("--seeds") + 1]), MAX_EVAL_SEEDS))
    return argv


def primary_metric(argv):
    """`--set metrics=[FIRST]` for the preset's first metric (nothing without a preset)."""
    from ganlab.presets import PRESETS

    if "--preset" not in argv:
        return []
    first = PRESETS.lookup(argv[argv.index("--preset") + 1]).get("metrics", [])[:1]
    return ["--set", f"metrics=[{','.join(first)}]"]


RUN_DIR = re.compile(r"(?:.*/)?\d{5}-(?P<name>[A-Za-z0-9._-]+?)/?")

COMMANDS = readme_commands()


def param(c):
    marks = []
    if c.text in SLOW:
        marks.append(pytest.mark.slow)
    return pytest.param(c, id=f"{c.page}:{c.line}:{c.text[:70]}", marks=marks)


# --- Running them -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    """Per-module state: a block's folder and results, tiny runs by preset, the feature cache."""
    return {"root": tmp_path_factory.mktemp("readme"), "blocks": {}, "runs": {}}


@pytest.fixture
def env(workspace, monkeypatch):
    monkeypatch.setenv("GANLAB_CACHE", str(workspace["root"] / "cache"))
    monkeypatch.delenv("GANLAB_INCEPTION_WEIGHTS", raising=False)


def tiny_run(workspace, run_cli, name):
    """A tiny run of preset `name`, made once; evaluated once (on its first metric, see `shrink`)
    so that it has checkpoint-best.pt. An `eval` of it computes that metric by default."""
    from ganlab.presets import PRESETS

    if name not in workspace["runs"]:
        assert name in PRESETS, f"README names a run directory of {name!r}, which is no preset; teach tiny_run its command"
        out = workspace["root"] / "tiny-runs" / name
        res = run_cli(*shrink(["train", "--preset", name, "--eval-every", "1", "--out", out]))
        assert res.code == 0, f"tiny run of {name} failed: {res.err}"
        (workspace["runs"][name],) = out.iterdir()
    return workspace["runs"][name]


def execute(c, workspace, run_cli, monkeypatch):
    """Run command `c` in its block's folder; returns (argv, result)."""
    folder = workspace["root"] / f"block{c.block}"
    folder.mkdir(exist_ok=True)
    monkeypatch.chdir(folder)
    argv = shrink(shlex.split(c.text)[1:])
    for token in argv:
        if token in USER_FILES and not Path(token).exists():
            USER_FILES[token](Path(token))
        m = RUN_DIR.fullmatch(token)
        if m and not token.startswith("-") and not Path(token).exists():
            shutil.copytree(tiny_run(workspace, run_cli, m.group("name")), token)
    return argv, run_cli(*argv)


def check(argv, res):
    assert res.code == 0, f"ganlab {command_text(argv)} exited {res.code}:\n{res.err[-3000:]}"
    if argv[0] == "train" and "--dry-run" not in argv:
        (run,) = re.findall(r"^run directory: (.+)$", res.out, re.M)
        assert (Path(run) / "checkpoint-final.pt").is_file(), res.out
    if "--out" in argv:  # whatever the command was told to write is there
        assert Path(argv[argv.index("--out") + 1]).exists(), res.out


def run_ganlab(c, workspace, run_cli, monkeypatch):
    """Run the block's earlier commands first (once each), then `c`."""
    done = workspace["blocks"].setdefault(c.block, {})
    for earlier in COMMANDS:
        if earlier.block == c.block and earlier.index < c.index and earlier.kind == "ganlab" \
                and earlier.index not in done and earlier.text not in NOT_RUN and earlier.text not in SLOW:
            argv, res = execute(earlier, workspace, run_cli, monkeypatch)
            done[earlier.index] = res.code
    failed = [e.text for e in COMMANDS if e.block == c.block and done.get(e.index, 0) != 0]
    assert not failed, f"an earlier command of this README block failed: {failed}"
    argv, res = execute(c, workspace, run_cli, monkeypatch)
    done[c.index] = res.code
    check(argv, res)


def run_python(c, tmp_path):
    source = c.text
    env = dict(os.environ, OMP_NUM_THREADS="1", GANLAB_CACHE=str(tmp_path / "cache"),
               PYTHONPATH=os.pathsep.join([str(ROOT / "src"), *filter(None, [os.environ.get("PYTHONPATH")])]))
    try:
        result = subprocess.run([sys.executable, "-c", source], cwd=tmp_path, env=env, capture_output=True,
                                text=True, timeout=120)
    except subprocess.TimeoutExpired:
        pytest.fail(f"the python block at {c.page} line {c.line} ran over 2 minutes: make the example smaller")
    assert result.returncode == 0, f"python block at {c.page} line {c.line}:\n{result.stderr[-3000:]}"


@pytest.mark.parametrize("c", [param(c) for c in COMMANDS])
def test_readme_command(c, workspace, env, run_cli, monkeypatch, tmp_path):
    key = c.text if c.kind != "python" else next((x for x in c.text.splitlines() if x.strip()), "")
    if key in NOT_RUN:
        pytest.skip(NOT_RUN[key])
    assert c.kind != "make", f"{c.page} line {c.line}: `{c.text}` is a make target: list it in NOT_RUN with its reason"
    if c.kind == "python":
        run_python(c, tmp_path)
    else:
        run_ganlab(c, workspace, run_cli, monkeypatch)


def test_every_listed_command_is_in_the_readme():
    keys = {c.text for c in COMMANDS} | {next((x for x in c.text.splitlines() if x.strip()), "")
                                          for c in COMMANDS if c.kind == "python"}
    for table in (NOT_RUN, SLOW):
        stale = sorted(set(table) - keys)
        assert not stale, f"listed here but no longer in any page (update the table): {stale}"


def test_the_parser_finds_continued_commented_and_python_lines():
    text = ("intro `ganlab inline` is prose\n```\nganlab train --preset a \\\n"
            "             --set x=1   # why\n# a comment\nmake demo  # builds\n$ ganlab list\n```\n"
            "```python\nimport ganlab\n```\n")
    found = [(c.kind, c.text, c.line) for c in readme_commands(text)]
    assert found == [("ganlab", "ganlab train --preset a --set x=1", 3), ("make", "make demo", 6),
                     ("ganlab", "ganlab list", 7), ("python", "import ganlab", 10)]
    assert shrink(["train", "--preset", "demo", "--epochs", "20"])[:5] == ["train", "--preset", "demo", "--kimg",
                                                                          str(TINY_KIMG)]
    assert shrink(["eval", "r", "--seeds", "3"]) == ["eval", "r", "--seeds", str(MAX_EVAL_SEEDS)]
