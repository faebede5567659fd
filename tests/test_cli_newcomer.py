"""The CLI as a newcomer meets it: help without importing torch, bare groups that show their help,
a version, and Ctrl-C / SIGTERM during training that leaves a checkpoint to resume from."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from ganlab import __version__
from ganlab.cli import main

GANLAB = [sys.executable, "-m", "ganlab"]


def _command_paths():
    """Every command and group of the CLI, as argument lists (walked from click's tree)."""
    import click

    from ganlab.cli import cli

    paths = []

    def walk(cmd, path):
        paths.append(path)
        if isinstance(cmd, click.Group):
            for name, sub in cmd.commands.items():
                walk(sub, path + [name])
    walk(cli, [])
    return paths


def test_every_help_is_printed_without_importing_torch():
    """--help must be instant: no command imports torch (or numpy's heavy users) to print it."""
    paths = _command_paths()
    assert len(paths) > 15 and ["study", "run"] in paths
    code = ("import sys, json\nfrom ganlab.cli import main\nheavy = {}\n"
            f"for path in {paths!r}:\n"
            "    try:\n        main(path + ['--help'])\n    except SystemExit:\n        pass\n"
            "    heavy[' '.join(path)] = [m for m in ('torch', 'matplotlib', 'optuna', 'scipy') if m in sys.modules]\n"
            "print(json.dumps(heavy))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    heavy = json.loads(out.strip().splitlines()[-1])
    assert heavy and not any(heavy.values()), {k: v for k, v in heavy.items() if v}


@pytest.mark.parametrize("group", [[], ["study"], ["theory"]])
def test_a_bare_group_prints_its_help_and_exits_0(group, capsys):
    main(group)  # no SystemExit: exit status 0
    out = capsys.readouterr().out
    assert out.startswith("Usage: ganlab") and "Commands:" in out


def test_version(capsys):
    main(["--version"])  # no SystemExit: exit status 0
    assert capsys.readouterr().out.strip() == f"ganlab {__version__}"
    import tomllib

    project = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())["project"]
    assert "version" in project["dynamic"] and "version" not in project  # one source: ganlab.__version__


def _wait_for(predicate, timeout, proc):
    end = time.time() + timeout
    while time.time() < end:
        if predicate():
            return
        if proc.poll() is not None:
            raise AssertionError(f"training ended early: {proc.communicate()}")
        time.sleep(0.2)
    proc.kill()
    raise AssertionError("timed out waiting for training to make progress")


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_during_training_leaves_a_resumable_checkpoint_past_0_kimg(sig, tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(GANLAB + ["train", "--preset", "toy-ring-ns", "--kimg", "100000", "--quiet", "--out",
                                      str(tmp_path), "--set", "log_kimg=5"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    run = tmp_path / "00000-toy-ring-ns"
    _wait_for(lambda: (run / "metrics.jsonl").is_file() and len((run / "metrics.jsonl").read_text().splitlines()) >= 2,
              120, proc)
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, (out, err)
    assert f"stopped by {sig.name}" in err and f"ganlab train --resume {run}" in err
    state = torch.load(run / "checkpoint-latest.pt", weights_only=True)
    rows = (run / "metrics.jsonl").read_text().splitlines()
    assert state["cur_nimg"] > 0 and state["log_rows"] == len(rows)
    assert state["cur_nimg"] >= json.loads(rows[-1])["nimg"]
    # It continues from there (to a few kimg further), and the stop left nothing half-written.
    target = state["cur_nimg"] / 1000 + 2
    done = subprocess.run(GANLAB + ["train", "--resume", str(run), "--kimg", str(target), "--quiet"],
                          capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert torch.load(run / "checkpoint-final.pt", weights_only=True)["cur_nimg"] >= target * 1000


def test_citation_and_licence_name_this_version():
    root = Path(__file__).parents[1]
    assert f"version: {__version__}\n" in (root / "CITATION.cff").read_text()
    assert (root / "LICENSE").read_text().startswith("MIT License")
    assert "## [Unreleased]" in (root / "CHANGELOG.md").read_text()


def test_the_description_and_directory_follow_the_resolved_config(run_cli, tmp_path):
    r = run_cli("train", "--preset", "toy-ring-ns", "--set", "objective=lsgan", "--kimg", "0.3", "--quiet", "--out", tmp_path)
    assert r.code == 0, r.err
    run = tmp_path / "00000-toy-ring-ns-lsgan"
    import yaml

    description = yaml.safe_load((run / "config.yaml").read_text())["description"]
    assert description.startswith("toy-ring-ns with objective=lsgan (the base: 8-Gaussian ring"), description
    r = run_cli("train", "--preset", "toy-ring-ns", "--name", "my run", "--kimg", "0.3", "--quiet", "--out", tmp_path)
    assert r.code == 0 and (tmp_path / "00001-my-run" / "checkpoint-final.pt").is_file()


def test_train_from_a_config_file(run_cli, tmp_path):
    # A run's own config.yaml reproduces the run's config; a user's file may hold any subset of keys.
    assert run_cli("train", "--preset", "toy-grid-ns", "--kimg", "0.3", "--quiet", "--out", tmp_path / "a").code == 0
    own = tmp_path / "a" / "00000-toy-grid-ns" / "config.yaml"
    r = run_cli("train", "--config", own, "--dry-run")
    assert r.code == 0 and r.out == own.read_text()
    mine = tmp_path / "mine.yaml"
    mine.write_text("kimg: 0.3\nG: {width: 16}\nseed: 7\n")
    r = run_cli("train", "--preset", "toy-ring-ns", "--config", mine, "--set", "seed=8", "--dry-run")
    assert r.code == 0 and "\nseed: 8\n" in r.out and "kimg: 0.3" in r.out and "width: 16" in r.out  # preset < file < --set


@pytest.mark.parametrize("content, words", [
    (None, "no such file"),
    ("[1, 2]", "does not hold a mapping"),
    ("kimg: [\n", "is not valid YAML"),
    ("kimgg: 3\n", "unknown config key 'kimgg'"),
])
def test_a_bad_config_file_is_one_sentence_and_exit_2(content, words, run_cli, tmp_path):
    path = tmp_path / "c.yaml"
    if content is not None:
        path.write_text(content)
    r = run_cli("train", "--config", path, "--out", tmp_path / "runs")
    assert r.code == 2 and words in r.err and len(r.err.strip().splitlines()) == 1
    assert not (tmp_path / "runs").exists()  # nothing written


def test_eval_computes_the_toy_metrics_of_a_toy_run(run_cli, tmp_path):
    assert run_cli("train", "--preset", "toy-ring-r1", "--kimg", "20", "--quiet", "--out", tmp_path).code == 0
    run = tmp_path / "00000-toy-ring-r1"
    r = run_cli("eval", run, "--seeds", "2")
    assert r.code == 0, r.err
    shown = {line.split()[0]: line.split()[1] for line in r.out.splitlines()[1:]}
    assert set(shown) == {"modes", "hq", "rkl"}
    # The same numbers by hand: 2,500 samples of G from z drawn with seeds 0 and 1, PacGAN's rules.
    from ganlab import resolve
    from ganlab.data import load_dataset
    from ganlab.training.latent import Latent
    from ganlab.metrics.toy import toy_metrics
    from ganlab.training.models import load_generator

    cfg, state = resolve.load_run(run)
    data = load_dataset(cfg.data)
    G = load_generator(cfg, state, data, torch.device("cpu")).eval()
    hq = []
    for seed in (0, 1):
        z = Latent.of(cfg, data).sample(2500, torch.device("cpu"), generator=torch.Generator().manual_seed(seed))
        with torch.no_grad():
            hq.append(toy_metrics(G(z), data.modes, data.mode_std)["hq"])
    assert min(hq) > 0 and float(shown["hq"]) == pytest.approx(sum(hq) / 2, abs=1e-4)
    row = json.loads((run / "metrics.jsonl").read_text().splitlines()[-1])
    assert row["eval"] and row["hq"] == pytest.approx(sum(hq) / 2)
    bad = run_cli("eval", run, "--metrics", "fid5k_lenet")
    assert bad.code == 2 and "needs images" in bad.err


def test_eval_reads_ganlabs_own_png_export_at_its_size_and_picks_lenet(run_cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert run_cli("sample", "--pretrained", "mnist5k", "--n", "300", "--out", "fake/").code == 0
    assert run_cli("sample", "--pretrained", "mnist5k", "--n", "300", "--seed", "1", "--out", "real/").code == 0
    r = run_cli("eval", "--real", "real/", "--fake", "fake/")
    assert r.code == 0, r.err
    assert "lenet-mnist features" in r.out and "is_lenet" in r.out


def test_the_inception_weights_error_says_which_file_goes_where(run_cli, tmp_path, monkeypatch):
    from PIL import Image

    monkeypatch.delenv("GANLAB_INCEPTION_WEIGHTS", raising=False)
    (tmp_path / "rgb").mkdir()
    for i in range(4):
        Image.new("RGB", (48, 48), (40 * i, 0, 0)).save(tmp_path / "rgb" / f"{i}.png")
    r = run_cli("eval", "--real", tmp_path / "rgb", "--fake", tmp_path / "rgb")
    assert r.code == 2 and "pt_inception-2015-12-05-6726825d.pth" in r.err and "--inception-weights PATH" in r.err
    from ganlab.metrics.inception import default_path

    assert f"at {default_path()}," in r.err  # the place it is looked for
    r = run_cli("eval", "--real", tmp_path / "rgb", "--fake", tmp_path / "rgb", "--inception-weights", tmp_path / "no.pth")
    assert r.code == 2 and "no.pth does not exist" in r.err


def test_out_means_the_file_or_folder_a_command_writes(run_cli, tmp_path):
    """The folders that hold many runs or studies are --runs / --studies / --docs; --out, their name
    before, is still accepted but not shown, and giving both is refused."""
    from ganlab.cli import cli

    shown = {}
    for path in _command_paths():
        cmd = cli
        for name in path:
            cmd = cmd.commands[name]
        shown[" ".join(path)] = {o for p in cmd.params if not getattr(p, "hidden", False) for o in p.opts}
    assert "--runs" in shown["train"] and "--out" not in shown["train"]
    assert all("--studies" in shown[f"study {c}"] and "--out" not in shown[f"study {c}"]
               for c in ("run", "work", "status", "report", "export"))
    assert "--docs" in shown["reproduce"] and "--out" not in shown["reproduce"]
    assert run_cli("train", "--preset", "toy-ring-ns", "--kimg", "0.3", "--quiet", "--out", tmp_path / "old").code == 0
    assert (tmp_path / "old" / "00000-toy-ring-ns" / "checkpoint-final.pt").is_file()
    r = run_cli("train", "--preset", "toy-ring-ns", "--runs", tmp_path / "a", "--out", tmp_path / "b")
    assert r.code == 2 and "give --runs (--out is its old name), not both" in r.err
