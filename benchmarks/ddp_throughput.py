"""Data-parallel training throughput on this machine: `ganlab train` of DCGAN-28 on MNIST-5k
(global batch 64) in one process with all cores' threads against `--nproc 2` (two processes of
one thread, 32 images each, gradients all-reduced over gloo), run one after the other.

Usage: python benchmarks/ddp_throughput.py [--steps 60] [--warm 10]
       python benchmarks/ddp_throughput.py --steps 2 --warm 1   # a smoke run
Images per second are taken between the log row after `warm` steps and the last one (process
start, model building and the first steps excluded), from each run's metrics.jsonl (rank 0's
clock for two processes). On 2 CPU cores expect no speed-up: the number is for the record.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

BATCH = 64


def run(nproc, steps, warm, out):
    args = [sys.executable, "-m", "ganlab", "train", "--preset", "mnist5k-dcgan-ns", "--quiet", "--runs", str(out),
            "--kimg", f"{steps * BATCH / 1000:g}", "--set", f"batch_size={BATCH}", "--set", f"log_kimg={warm * BATCH / 1000:g}",
            "--set", "snapshot_kimg=1000000", "--set", "tensorboard=false", "--set", "device=cpu", "--set", "metrics=[]"]
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    if nproc > 1:
        args += ["--nproc", str(nproc)]
    else:
        args += ["--set", f"cpu_threads={cores}"]
    env = {**os.environ, "OMP_NUM_THREADS": "1" if nproc > 1 else str(cores)}
    subprocess.run(args, check=True, env=env, stdout=subprocess.DEVNULL)
    run_dir = next(p for p in Path(out).iterdir() if p.is_dir() and not p.name.startswith("."))
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    first, last = rows[0], rows[-1]
    if len(rows) < 2:
        return (last["nimg"]) / last["time_s"]
    return (last["nimg"] - first["nimg"]) / (last["time_s"] - first["time_s"])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=60, help="G steps per run (a multiple of --warm)")
    parser.add_argument("--warm", type=int, default=10, help="steps left out of the timing (and the log interval)")
    a = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        one = run(1, a.steps, a.warm, Path(tmp) / "one")
        two = run(2, a.steps, a.warm, Path(tmp) / "two")
    print(f"1 process  x batch {BATCH}: {one:.0f} img/s")
    print(f"2 processes x batch {BATCH // 2}: {two:.0f} img/s")
    print(f"ratio 2-process/1-process: {two / one:.2f}")


if __name__ == "__main__":
    main()
