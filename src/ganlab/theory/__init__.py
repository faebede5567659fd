"""The theory lab: experiments that reproduce a claim of the GAN literature as a number and a figure.

Each experiment is a function registered in EXPERIMENTS:

    @EXPERIMENTS.register("name", "the claim, citing its source")
    def name(out: Path, quick: bool, seed: int) -> dict

It writes `out / "figure.png"` and returns {"claim": str, "checks": {check_name: {"value": float,
"expected": float, "error": float, "tolerance": float, "ok": bool}}, ...any other numbers}.
`run_experiment` adds timing, writes `out / "result.json"` and returns the dict. Quick mode must
finish in under a minute of CPU; full mode in a few minutes.
"""

import json
import os
import time
from pathlib import Path

import torch

from ganlab.utils.registry import Registry

EXPERIMENTS = Registry("theory experiment")


def check(value, expected, tolerance, relative=False):
    """One check: |value - expected| (relative to |expected| when `relative`) within tolerance."""
    error = abs(value - expected) / (abs(expected) if relative else 1.0)
    return {"value": float(value), "expected": float(expected), "error": float(error),
            "tolerance": float(tolerance), "relative": relative, "ok": bool(error <= tolerance)}


def bound(value, limit, above=False):
    """One check that value <= limit (or >= limit when `above`)."""
    ok = value >= limit if above else value <= limit
    return {"value": float(value), "expected": f"{'>=' if above else '<='} {limit}", "error": None,
            "tolerance": None, "ok": bool(ok)}


def save_figure(fig, out):
    """Write a matplotlib figure as out/figure.png (the experiment contract) and close it."""
    import matplotlib.pyplot as plt

    fig.tight_layout()
    fig.savefig(Path(out) / "figure.png", dpi=110)
    plt.close(fig)


def run_experiment(name, out, quick=False, seed=0):
    """Run experiment `name`, writing figure.png and result.json into `out`; returns the result."""
    fn = EXPERIMENTS.lookup(name)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # small MLPs run faster single-threaded
    torch.manual_seed(seed)
    start = time.time()
    try:
        result = fn(out=out, quick=quick, seed=seed)
    finally:
        torch.set_num_threads(threads)
    result = {"experiment": name, "quick": quick, "seed": seed, "time_s": round(time.time() - start, 2), **result}
    result["ok"] = all(c["ok"] for c in result["checks"].values())
    tmp = out / "result.json.tmp"
    tmp.write_text(json.dumps(result, indent=1) + "\n")
    os.replace(tmp, out / "result.json")
    return result


def _register_all():
    # Each module registers its experiments on import.
    from ganlab.theory import discriminators, dynamics, divergences, meanmatching  # noqa: F401


_register_all()
