"""Every script under benchmarks/ and scripts/ runs end to end in a tiny mode, in a subprocess, in a
temporary folder: a script without a tiny-mode entry in TINY fails, so none can rot unnoticed.

Tiny modes time nothing meaningfully; they prove the code path still runs and prints what the
README and the Makefile rely on (e.g. `make bench`'s last line).
"""

import hashlib
import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = sorted(p.relative_to(ROOT).as_posix() for pattern in ("benchmarks/*.py", "scripts/*.py")
                 for p in ROOT.glob(pattern))


@dataclass
class Tiny:
    args: list                               # "{tmp}" is replaced by the test's temporary folder
    check: Callable                          # check(stdout lines, tmp folder) asserts on the result
    prepare: Optional[Callable] = None       # prepare(tmp folder, run_cli) writes the script's input
    env: dict = field(default_factory=dict)  # extra environment; None removes a variable


def check_metrics_speed(lines, tmp):
    rel = re.fullmatch(r"relative difference (\S+); speed-up sqrtm/ganlab \S+x", lines[1])
    assert rel and float(rel.group(1)) < 1e-8, lines[1]  # both formulas agree on full-rank statistics
    assert re.fullmatch(r"lenet-mnist: \d+ images/s at batch 250 \(\d+ threads\)", lines[2]), lines[2]
    assert lines[-1].startswith("inception-fid: skipped"), lines[-1]


def check_train_throughput(lines, tmp):
    assert re.fullmatch(r"round 1: handwritten +[\d.]+ img/s +ganlab +[\d.]+ img/s +ratio [\d.]+", lines[1]), lines[1]
    assert re.fullmatch(r"ratio ganlab/handwritten: \d+\.\d\d", lines[-1]), lines[-1]  # make bench's last line


def prepare_toy_runs(tmp, run_cli):
    """Two seeds of one toy preset, laid out as toy_table.py's docstring produces them."""
    for seed in (0, 1):
        res = run_cli("train", "--preset", "toy-ring-ns", "--seed", seed, "--kimg", "0.25", "--quiet",
                      "--set", "G.width=16", "--set", "D.width=16", "--out", tmp / "toy-runs" / f"toy-ring-ns-{seed}")
        assert res.code == 0, res.err


def check_toy_table(lines, tmp):
    assert lines[0].startswith("| preset | seeds | modes |"), lines[0]
    assert len(lines) == 3 and re.match(r"\| toy-ring-ns \| 2 \| [\d.]+ ± [\d.]+ \|", lines[2]), lines


def check_objective_table(lines, tmp):
    from ganlab.objectives import OBJECTIVES

    assert lines[0] == "nonsaturating seed 0: ok", lines[0]  # the training subprocess exited 0
    rows = {line.split(" | ")[0].lstrip("| "): line for line in lines[3:]}
    assert sorted(rows) == sorted(OBJECTIVES)
    assert re.match(r"\| nonsaturating \| 0 \| [\d.]+ ± [\d.]+ \|", rows["nonsaturating"]), rows["nonsaturating"]
    assert rows["wgan"].startswith("| wgan | not run |")
    assert any((tmp / "table" / "nonsaturating-s0").glob("*/checkpoint-final.pt"))


def check_ddp_throughput(lines, tmp):
    assert re.fullmatch(r"1 process  x batch 64: \d+ img/s", lines[-3]), lines
    assert re.fullmatch(r"2 processes x batch 32: \d+ img/s", lines[-2]), lines
    assert re.fullmatch(r"ratio 2-process/1-process: \d+\.\d\d", lines[-1]), lines


def check_gpu_throughput(lines, tmp):
    assert [line.split(":")[0] for line in lines[:3]] == ["dcgan32 fp32", "dcgan32 bf16", "dcgan32 channels_last"], lines
    assert all(re.fullmatch(r"dcgan32 \w+: \d+ img/s", line) for line in lines[:3]), lines
    assert lines[-1].startswith("device: CPU, torch "), lines


def check_train_lenet(lines, tmp):
    info = json.loads((tmp / "lenet.json").read_text())
    assert 0 <= info["accuracy"] <= 1 and info["num_test"] == 1000 and info["epochs"] == 1
    assert info["sha256"] == hashlib.sha256((tmp / "lenet.safetensors").read_bytes()).hexdigest()
    assert lines[-1].startswith(f"wrote {tmp / 'lenet.safetensors'} ")
    # The shipped weights are untouched: they still match their own sidecar.
    from ganlab.metrics.lenet import WEIGHTS_PATH

    shipped = json.loads(WEIGHTS_PATH.with_suffix(".json").read_text())
    assert hashlib.sha256(WEIGHTS_PATH.read_bytes()).hexdigest() == shipped["sha256"]


def check_augment_ablation(lines, tmp):
    assert lines[0] == "none seed 0: ok" or lines[0].startswith("none seed 0: ok in "), lines[0]
    assert lines[2].startswith("| augment | seeds | best fid5k_lenet |"), lines[2]
    assert re.match(r"\| none \(off\) \| 1 \| [\d.]+ ± 0\.0 \| 0 \|", lines[4]), lines[4]
    assert re.match(r"\| full \(color,translation,cutout\) \| 1 \|", lines[5]), lines[5]


def prepare_demo_runs(tmp, run_cli):
    """Two seeds of a width-8 mnist5k run, evaluated at 0.128 kimg, laid out as demo_table.py's docstring has them."""
    for seed in (0, 1):
        res = run_cli("train", "--preset", "mnist5k", "--seed", seed, "--kimg", "0.128", "--eval-every", "0.128",
                      "--quiet", "--set", "G.width=8", "--set", "D.width=8", "--set", "cpu_threads=1",
                      "--set", "metrics=[fid5k_lenet,mnist_score5k]", "--out", tmp / "demo-runs" / f"mnist5k-{seed}")
        assert res.code == 0, res.err


def check_demo_table(lines, tmp):
    assert lines[0].startswith("| run | kimg | seeds | fid5k_lenet | mnist_score5k |"), lines[0]
    assert re.match(r"\| mnist5k \| 0\.128 \| 2 \| [\d.]+ ± [\d.]+ \| [\d.]+ ± [\d.]+ \| s0 [\d.]+ / [\d.]+, s1 ", lines[2]), lines[2]
    assert len(lines) == 4, lines  # 1 kimg x 1 preset (0.5 kimg was never evaluated), then the reference
    ref = re.match(r"\| MNIST-5k itself .* \| 3 splits \| ([\d.]+) ± [\d.]+ \| ([\d.]+) \|", lines[3])
    assert ref, lines[3]
    # Two halves of the same 5,000 digits are close in LeNet features, and the digits are confidently
    # classified into 10 balanced classes: a score near its maximum of 10.
    assert 0 < float(ref.group(1)) < 20 and 9 < float(ref.group(2)) <= 10, lines[3]


def prepare_stacked_run(tmp, run_cli):
    """A width-8 Stacked-MNIST run of 0.128 kimg (its digits are noise; the script's arithmetic is what counts)."""
    res = run_cli("train", "--preset", "stacked-dcgan", "--kimg", "0.128", "--quiet", "--set", "G.width=8",
                  "--set", "D.width=8", "--set", "data.n=2000", "--set", "cpu_threads=1", "--set", "metrics=[]",
                  "--out", tmp / "stacked")
    assert res.code == 0, res.err


def check_stacked_channels(lines, tmp):
    head = re.fullmatch(r".* at 0\.128 kimg, 500 samples: modes (\d+), KL ([\d.]+) \(a uniform histogram drawn 500 "
                        r"times: ([\d.]+)\)", lines[0])
    assert head and 1 <= int(head.group(1)) <= 500, lines[0]
    shares = [[float(v) for v in re.match(r"channel \d: digit shares % ([\d. ]+);", line).group(1).split()]
              for line in lines[1:4]]
    assert all(len(s) == 10 and abs(sum(s) - 100) < 0.1 for s in shares), lines
    parts = re.fullmatch(r"channels ([\d.]+) \+ dependence (-?[\d.]+) = ([\d.]+)", lines[4])
    assert parts and float(parts.group(2)) >= 0 and abs(float(parts.group(3)) - float(head.group(2))) <= 1e-4, lines[4]


def check_first_commands(lines, tmp):
    import json

    assert re.fullmatch(r"reference step \(the demo network, batch 32, \d+ threads\): \d+ img/s", lines[0]), lines
    assert lines[1].startswith("ganlab --help: median ") and lines[2].startswith("ganlab train --preset demo: ")
    data = json.loads((tmp / "timings.json").read_text())
    assert data["tiny"] and data["reference_img_s"] > 0 and data["demo_s"] > 0 and len(data["help_s"]) == 1


def check_gpu_tables(lines, tmp):
    import json

    assert lines[0] == "2 reproduction(s) on cpu, 1 worker(s), budget 20 s", lines
    assert re.match(r"lucic-mnist5k: (complete|interrupted at the deadline) after \d+ s; wrote ", lines[1]), lines
    assert lines[2].startswith("seed-report: "), lines
    results = json.loads((tmp / "docs/lucic-mnist5k/quick/results.json").read_text())
    assert results["definition"]["sets"]["device"] == "cpu"  # every trial on the asked device


def prepare_pretrained_run(tmp, run_cli):
    """A 2-kimg toy run to ship, and an empty package folder to ship it into."""
    res = run_cli("train", "--preset", "toy-ring-r1", "--kimg", "2", "--quiet", "--out", tmp / "runs")
    assert res.code == 0, res.err
    (tmp / "pkg").mkdir()


def check_export_pretrained(lines, tmp):
    import json

    import torch
    from safetensors.torch import load_file

    assert lines[-1].startswith("tiny: a test (2.048 kimg; measured: hq "), lines
    entry = json.loads((tmp / "pkg" / "index.json").read_text())["tiny"]
    assert entry["nimg"] == torch.load(tmp / "runs/00000-toy-ring-r1/checkpoint-final.pt", weights_only=True)["cur_nimg"]
    assert set(entry["metrics"]) == {"modes", "hq", "rkl"} and entry["source"]["seed"] == 0
    assert all(v.dtype in (torch.float16, torch.int64) for v in load_file(tmp / "pkg" / "tiny.safetensors").values())


TINY = {
    "benchmarks/augment_ablation.py": Tiny(["--out", "{tmp}/abl", "--seeds", "0", "--kimg", "0.128", "--eval-every", "0.128",
                                            "--set", "G.width=8", "--set", "D.width=8", "--set", "metrics=[fid5k_lenet,mnist_score5k]"],
                                           check_augment_ablation),
    "benchmarks/metrics_speed.py": Tiny(["--dim", "32", "--n", "200", "--repeats", "1"], check_metrics_speed,
                                        env={"GANLAB_INCEPTION_WEIGHTS": None}),
    "benchmarks/train_throughput.py": Tiny(["--steps", "1", "--rounds", "1"], check_train_throughput),
    "benchmarks/ddp_throughput.py": Tiny(["--steps", "2", "--warm", "1"], check_ddp_throughput),
    "benchmarks/gpu_throughput.py": Tiny(["--device", "cpu", "--steps", "2", "--warm", "1", "--modes", "fp32,bf16,channels_last",
                                          "--nets", "dcgan32"], check_gpu_throughput),
    "benchmarks/demo_table.py": Tiny(["{tmp}/demo-runs", "--at", "0.128", "0.5", "--reference"], check_demo_table,
                                     prepare=prepare_demo_runs),
    "benchmarks/toy_table.py": Tiny(["{tmp}/toy-runs"], check_toy_table, prepare=prepare_toy_runs),
    "benchmarks/stacked_channels.py": Tiny(["{tmp}/stacked/00000-stacked-dcgan", "--n", "500"], check_stacked_channels,
                                           prepare=prepare_stacked_run),
    "benchmarks/objective_table.py": Tiny(["--out", "{tmp}/table", "--objectives", "nonsaturating", "--seeds", "0",
                                           "--kimg", "0.25"], check_objective_table),
    "benchmarks/first_commands.py": Tiny(["--tiny", "--out", "{tmp}/timings.json"], check_first_commands),
    "scripts/gpu_tables.py": Tiny(["--tiny", "--device", "cpu", "--workers", "1", "--budget", "20", "--only",
                                   "lucic-mnist5k,seed-report", "--docs", "{tmp}/docs", "--studies", "{tmp}/studies"],
                                  check_gpu_tables),
    "scripts/export_pretrained.py": Tiny(["tiny", "{tmp}/runs/00000-toy-ring-r1", "--description", "a test", "--seed", "0",
                                          "--folder", "{tmp}/pkg", "--source",
                                          str(ROOT / "docs/reproductions/pacgan-toy/frozen/ring.json")],
                                         check_export_pretrained, prepare=prepare_pretrained_run),
    "scripts/train_lenet.py": Tiny(["--epochs", "1", "--limit", "256", "--out", "{tmp}/lenet.safetensors"],
                                   check_train_lenet),
}


def script_env(extra):
    env = dict(os.environ, OMP_NUM_THREADS="1",
               PYTHONPATH=os.pathsep.join([str(ROOT / "src"), *filter(None, [os.environ.get("PYTHONPATH")])]))
    for key, value in extra.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def test_every_tiny_entry_names_an_existing_script():
    assert set(TINY) <= set(SCRIPTS), f"TINY names scripts that are gone: {sorted(set(TINY) - set(SCRIPTS))}"


@pytest.mark.parametrize("script", SCRIPTS)
def test_script_runs_in_tiny_mode(script, tmp_path, run_cli):
    assert script in TINY, f"{script} has no tiny-mode entry in tests/test_scripts.py::TINY; add one"
    tiny = TINY[script]
    if tiny.prepare:
        tiny.prepare(tmp_path, run_cli)
    args = [a.replace("{tmp}", str(tmp_path)) for a in tiny.args]
    # cwd is the temporary folder: a script's default output paths land there, never in the repo.
    result = subprocess.run([sys.executable, str(ROOT / script), *args], cwd=tmp_path, env=script_env(tiny.env),
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, f"{script} exited {result.returncode}:\n{result.stderr[-3000:]}"
    lines = result.stdout.splitlines()
    assert lines, f"{script} printed nothing"
    tiny.check(lines, tmp_path)


def test_make_bench_ends_with_the_throughput_ratio():
    """The README quotes `make bench`'s last line: train_throughput.py must be the target's last command."""
    recipe = re.search(r"^bench:.*\n((?:\t.*\n)+)", (ROOT / "Makefile").read_text(), re.M)
    assert recipe, "Makefile has no bench target"
    commands = recipe.group(1).strip().splitlines()
    scripts = [next(w for w in command.split() if w.endswith(".py")) for command in commands]
    assert scripts[-1] == "benchmarks/train_throughput.py", commands
    for script in scripts:
        assert script in TINY, f"make bench runs {script}, which has no tiny mode"
