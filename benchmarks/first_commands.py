"""How long a newcomer's first commands take on this machine, with the machine's speed beside them.

Times, each as a whole command in a fresh process: `ganlab --help` (median of 5), and `ganlab train
--preset demo` (what `make demo` runs once .venv exists: 50 kimg of the mnist5k network and one
evaluation). The machine's speed is the img/s of a fixed reference step: the demo network's training
step (mnist5k preset, batch 32) on all cores for 2 kimg after a 0.5-kimg warm-up, so a reader can
scale the times to a machine of another speed. Writes a results file (default
docs/results/timings/results.json) that the timings page is generated from.

Usage: python benchmarks/first_commands.py [--out FILE]
       python benchmarks/first_commands.py --tiny --out /tmp/t.json   # seconds: shortened runs
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def timed(args, cwd, env):
    start = time.perf_counter()
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"{' '.join(args)} failed:\n{done.stderr[-2000:]}")
    return wall, done.stdout


def reference_img_s(kimg, warm):
    """img/s of the demo network's training step, measured in this process."""
    import torch

    from ganlab.api import configure
    from ganlab.training.loop import training_loop

    cfg = configure("demo", kimg=warm + kimg, log_kimg=warm, snapshot_kimg=1e6, eval_kimg=None, metrics=[], ema_kimg=None)
    torch.set_num_threads(os.cpu_count() or 1)
    with tempfile.TemporaryDirectory() as tmp:
        training_loop(cfg, tmp, progress=False)
        rows = [json.loads(line) for line in (Path(tmp) / "metrics.jsonl").read_text().splitlines()]
    (first, last) = rows[0], rows[-1]
    return (last["nimg"] - first["nimg"]) / (last["time_s"] - first["time_s"])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "results" / "timings" / "results.json")
    ap.add_argument("--tiny", action="store_true", help="shortened runs (the test suite's smoke run)")
    args = ap.parse_args()
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT / "src"), *filter(None, [os.environ.get("PYTHONPATH")])]))
    ganlab = [sys.executable, "-m", "ganlab"]

    ref = reference_img_s(0.1 if args.tiny else 2.0, 0.05 if args.tiny else 0.5)
    print(f"reference step (the demo network, batch 32, {os.cpu_count()} threads): {ref:.0f} img/s", flush=True)
    helps = [timed(ganlab + ["--help"], ROOT, env)[0] for _ in range(1 if args.tiny else 5)]
    print(f"ganlab --help: median {statistics.median(helps):.2f} s of {len(helps)}", flush=True)
    demo = ganlab + ["train", "--preset", "demo"] + (["--kimg", "0.128", "--set", "G.width=8", "--set", "metrics=[]"]
                                                     if args.tiny else [])
    with tempfile.TemporaryDirectory() as tmp:
        demo_s, out = timed(demo + ["--runs", tmp, "--quiet"], tmp, env)
    metrics = {k: float(v.split()[0]) for line in out.splitlines() if ": best " in line
               for k, v in [line.split(": best ", 1)]}
    print(f"ganlab train --preset demo: {demo_s:.0f} s" + (f" ({metrics})" if metrics else ""), flush=True)

    import torch

    from ganlab import __version__
    from ganlab.reproduce.run import provenance

    result = {"command": "python benchmarks/first_commands.py" + (" --tiny" if args.tiny else ""),
              "tiny": args.tiny, "reference_img_s": ref, "help_s": helps, "demo_s": demo_s, "demo_command": " ".join(demo[2:]),
              "demo_metrics": metrics, "machine": {"cores": os.cpu_count(), "processor": platform.processor() or platform.machine(),
                                                   "loadavg_before": os.getloadavg()[0]},
              "ganlab": __version__, "torch": torch.__version__, "provenance": provenance(None)}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
