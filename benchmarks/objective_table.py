"""Every registered objective on the 8-Gaussian ring: the README's objective table.

Each objective runs the `toy-ring-ns` preset (MLP G 128x4 / D 128x3, z 2, Adam(3e-4, 0.5, 0.9)
decayed linearly, 3500 kimg) with `--set objective=NAME` and nothing else, so it gets its own
registered defaults (n_critic, penalty weights, ...) and the same networks, optimiser and length as
every other. Runs are single-threaded; `--jobs 2` runs two side by side on two cores.

    python benchmarks/objective_table.py --out toy-objectives --seeds 0 1 --jobs 2
    python benchmarks/objective_table.py --out toy-objectives --table-only
"""

import argparse
import os
import statistics
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from ganlab.objectives import OBJECTIVES
from ganlab.rundir import read_metrics
from toy_table import fmt  # the same mean ± std formatting (benchmarks/ is on sys.path when run)


def run(out, objective, seed, kimg):
    target = Path(out) / f"{objective}-s{seed}"
    if any(target.glob("*/checkpoint-final.pt")):
        return  # done in an earlier call
    cmd = [sys.executable, "-m", "ganlab.cli", "train", "--preset", "toy-ring-ns", "--set", f"objective={objective}",
           "--seed", str(seed), "--quiet", "--runs", str(target)] + (["--kimg", str(kimg)] if kimg else [])
    env = dict(os.environ, OMP_NUM_THREADS="1")
    result = subprocess.run(cmd, env=env, capture_output=True, text=True)
    status = "ok" if result.returncode == 0 else f"exit {result.returncode}: {result.stderr.strip()[-300:]}"
    print(f"{objective} seed {seed}: {status}", flush=True)


def table(out):
    print("| objective | seeds | modes (of 8) | high quality % | reverse KL | per-seed modes | wall time s |")
    print("|---|---|---|---|---|---|---|")
    for objective in sorted(OBJECTIVES):
        finals, seeds, diverged = [], [], []
        for run_dir in sorted(Path(out).glob(f"{objective}-s*/*/")):
            if run_dir.parent.name.rsplit("-s", 1)[0] != objective:
                continue
            records = [r for r in read_metrics(run_dir) if "modes" in r]
            seed = run_dir.parent.name.rsplit("-s", 1)[1]
            if not (run_dir / "checkpoint-final.pt").is_file():  # stopped: NaN losses (or still running)
                diverged.append(f"seed {seed} stopped after {records[-1]['kimg'] if records else 0:.0f} kimg")
                continue
            finals.append(records[-1])
            seeds.append(seed)
        if not finals:
            print(f"| {objective} | {'; '.join(diverged) or 'not run'} | | | | | |")
            continue
        if diverged:
            seeds.append(f"({'; '.join(diverged)})")
        n_none = sum(r["rkl"] is None for r in finals)
        rkl = fmt([r["rkl"] for r in finals], digits=3) + (f" ({n_none} without HQ samples)" if n_none else "")
        print(f"| {objective} | {', '.join(seeds)} | {fmt([r['modes'] for r in finals])} | "
              f"{fmt([r['hq'] for r in finals], scale=100)} | {rkl} | {', '.join(str(r['modes']) for r in finals)} | "
              f"{statistics.mean(r['time_s'] for r in finals):.0f} |")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="toy-objectives")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--objectives", nargs="+", default=sorted(OBJECTIVES))
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--kimg", type=float, help="override the preset's 3500 kimg")
    parser.add_argument("--table-only", action="store_true")
    args = parser.parse_args()
    if not args.table_only:
        jobs = [(o, s) for s in args.seeds for o in args.objectives]
        with ThreadPoolExecutor(args.jobs) as pool:
            list(pool.map(lambda job: run(args.out, job[0], job[1], args.kimg), jobs))
    table(args.out)


if __name__ == "__main__":
    main()
