"""The reproductions at their full length on one GPU, within a time budget: the command to run when a
GPU is lent (CI never runs it there; its tiny mode runs on the CPU in `make test`).

Each reproduction runs as `ganlab reproduce NAME --workers K --set device=cuda` (K workers share the
GPU), in the order below, until the budget is spent: at the deadline the running one is interrupted
(its finished trials are kept) and every started one's page and results.json are written from the
trials finished so far (`--docs-only`). Rerunning continues: the trials the committed results.json
holds as complete are carried over, so several short GPU sessions add up to the full tables.

    python scripts/gpu_tables.py                      # about 9 minutes, 4 workers on cuda
    python scripts/gpu_tables.py --budget 1800 --only lucic-mnist5k
    python scripts/gpu_tables.py --tiny --device cpu  # seconds: the smoke run of the test suite

Full variants (the papers' protocols as ganlab registers them):
  seed-report         GAN, LSGAN, WGAN, WGAN-GP, LSGAN + mean matching at 1,200 kimg, 1 seed
  wgan-gp-robustness  4 objectives x 7 architectures at 100 kimg, 1 seed
  lucic-mnist5k       7 objectives x 20 trials of the narrow space at 100 kimg
Each page states its precision, commit and device through its results file's provenance.
"""

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# (name, extra arguments of the full run): the order is the priority when the budget runs out.
FULL = (("seed-report", ["--seeds", "1"]),
        ("wgan-gp-robustness", ["--kimg", "100"]),
        ("lucic-mnist5k", ["--seeds", "20", "--kimg", "100"]))
TINY = {"seed-report": ["--quick", "--seeds", "1", "--kimg", "0.128"],
        "wgan-gp-robustness": ["--quick", "--kimg", "0.128"],
        "lucic-mnist5k": ["--quick", "--seeds", "1", "--kimg", "0.128"]}
TINY_SETS = ["--set", "G.width=8", "--set", "D.width=8", "--set", "metrics=[fid5k_lenet]"]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--budget", type=float, default=540, help="seconds in all (default 540: 9 minutes)")
    ap.add_argument("--workers", type=int, default=4, help="worker processes sharing the device")
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--only", help="comma-separated reproductions (default: all, in priority order)")
    ap.add_argument("--docs", default=str(ROOT / "docs" / "reproductions"), help="folder of the reproduction pages")
    ap.add_argument("--studies", default="studies", help="folder of the studies (trial run directories)")
    ap.add_argument("--tiny", action="store_true", help="quick variants at 0.128 kimg with width-8 networks")
    args = ap.parse_args(argv)
    names = [n for n, _ in FULL] if not args.only else args.only.split(",")
    unknown = sorted(set(names) - {n for n, _ in FULL})
    if unknown:
        ap.error(f"unknown reproduction(s) {', '.join(unknown)}; expected some of: {', '.join(n for n, _ in FULL)}")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT / "src"), *filter(None, [os.environ.get("PYTHONPATH")])]))
    deadline = time.monotonic() + args.budget
    print(f"{len(names)} reproduction(s) on {args.device}, {args.workers} worker(s), budget {args.budget:g} s", flush=True)
    for name in names:
        left = deadline - time.monotonic()
        if left < 5:
            print(f"{name}: not started (budget spent)", flush=True)
            continue
        extra = TINY[name] + TINY_SETS if args.tiny else dict(FULL)[name]
        cmd = [sys.executable, "-m", "ganlab", "reproduce", name, *extra, "--workers", str(args.workers),
               "--set", f"device={args.device}", "--docs", args.docs, "--studies", args.studies]
        start = time.monotonic()
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                start_new_session=True)
        try:
            out, _ = proc.communicate(timeout=left)
            state = "complete" if proc.returncode == 0 else f"failed (exit {proc.returncode})"
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGINT)  # the study keeps its finished trials
            out, _ = proc.communicate()
            state = "interrupted at the deadline"
            docs = subprocess.run(cmd[:4] + [name, *extra, "--docs-only", "--docs", args.docs, "--studies",
                                             args.studies, "--set", f"device={args.device}"],
                                  env=env, capture_output=True, text=True)
            out += docs.stdout + docs.stderr
        last = [line for line in out.splitlines() if line.strip()][-1:] or [""]
        print(f"{name}: {state} after {time.monotonic() - start:.0f} s; {last[0]}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
