"""DiffAugment ablation on MNIST-5k: the `mnist5k-dcgan-ns` preset (DCGAN-28, NS, Adam(2e-4, 0.5),
batch 64) with and without differentiable augmentation before D (Zhao et al. 2020), evaluated
every `--eval-every` kimg with the preset's metrics. Runs are sequential (each uses the cores).

    python benchmarks/augment_ablation.py --out ablation --policies none full --seeds 0 1 --kimg 150
    python benchmarks/augment_ablation.py --out ablation --table-only

Prints a markdown table: per policy, mean ± std over seeds of the best fid5k_lenet (and where it
was reached) and of fid5k_lenet and mnist_score5k at the end.
"""

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

from ganlab.rundir import read_metrics
from toy_table import fmt  # mean ± std formatting (benchmarks/ is on sys.path when run)

# name -> `augment` policy; "full" is the paper's choice for small data.
POLICIES = {"none": None, "translation": "translation", "full": "color,translation,cutout"}


def run(out, name, policy, seed, kimg, every, sets):
    target = Path(out) / f"{name}-s{seed}"
    if any(target.glob("*/checkpoint-final.pt")):
        return  # done in an earlier call
    cmd = [sys.executable, "-m", "ganlab.cli", "train", "--preset", "mnist5k-dcgan-ns", "--seed", str(seed),
           "--kimg", str(kimg), "--eval-every", str(every), "--set", f"augment={policy or 'null'}", "--quiet",
           "--runs", str(target)] + [a for s in sets for a in ("--set", s)]
    start = time.time()
    result = subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ))
    status = "ok" if result.returncode == 0 else f"exit {result.returncode}: {result.stderr.strip()[-300:]}"
    print(f"{name} seed {seed}: {status} in {time.time() - start:.0f} s", flush=True)


def table(out, names):
    print("| augment | seeds | best fid5k_lenet | at kimg | final fid5k_lenet | final mnist_score5k |")
    print("|---|---|---|---|---|---|")
    for name in names:
        best, at, final_fid, final_score = [], [], [], []
        for metrics in sorted(Path(out).glob(f"{name}-s*/*/metrics.jsonl")):
            evals = [r for r in read_metrics(metrics.parent) if "fid5k_lenet" in r and not r.get("eval")]
            if not evals:
                continue
            top = min(evals, key=lambda r: r["fid5k_lenet"])
            best.append(top["fid5k_lenet"])
            at.append(top["kimg"])
            final_fid.append(evals[-1]["fid5k_lenet"])
            final_score.append(evals[-1]["mnist_score5k"])
        if best:
            print(f"| {name} ({POLICIES[name] or 'off'}) | {len(best)} | {fmt(best)} | {', '.join(f'{k:.0f}' for k in at)} | "
                  f"{fmt(final_fid)} | {fmt(final_score, digits=2)} |")
        else:
            print(f"| {name} | not run | | | | |")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default="augment-ablation")
    parser.add_argument("--policies", nargs="+", default=["none", "full"], choices=list(POLICIES),
                        help="none, translation, full (color,translation,cutout)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--kimg", type=float, default=150)
    parser.add_argument("--eval-every", type=float, default=25)
    parser.add_argument("--set", dest="sets", action="append", default=[], help="extra --set for every run (tiny runs)")
    parser.add_argument("--table-only", action="store_true")
    args = parser.parse_args()
    names = args.policies
    if not args.table_only:
        for name in names:
            for seed in args.seeds:
                run(args.out, name, POLICIES[name], seed, args.kimg, args.eval_every, args.sets)
    table(args.out, names)


if __name__ == "__main__":
    main()
