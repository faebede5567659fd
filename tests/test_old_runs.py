"""Run directories written by ganlab 0.1 before the loop moved into ganlab/training/ (and before
objective, penalty and constraint became separate axes) still resume, and continue exactly as the
old code continued them.

tests/data/runs-0.1/NAME holds a tiny toy run (MLP 8 x 2, objective NAME) stopped at 0.5 kimg by the
old code: its config, metrics, identity and latest checkpoint, and `expected-metrics.jsonl`, the
rows the old code wrote when it resumed the same run to 1 kimg (`ganlab train --resume DIR --kimg 1`).
"""

import json
import math
import shutil
from pathlib import Path

import pytest

from ganlab.cli import main

DATA = Path(__file__).parent / "data" / "runs-0.1"
SAME = ("nimg", "g_steps", "loss_D", "loss_G", "D_real", "D_fake", "grad_norm_D", "grad_norm_G", "lr_G", "lr_D",
        "k", "M", "modes", "hq", "rkl")


def _rows(path):
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]


@pytest.mark.parametrize("name", ["wgan-gp", "wgan", "began"])
def test_a_run_made_before_the_redesign_resumes_and_continues_as_the_old_code_did(tmp_path, name, monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    run = tmp_path / name
    shutil.copytree(DATA / name, run)
    expected = _rows(run / "expected-metrics.jsonl")
    assert main(["train", "--resume", str(run), "--kimg", "1", "--quiet"]) in (0, None)
    rows = _rows(run / "metrics.jsonl")
    assert [r["nimg"] for r in rows] == [r["nimg"] for r in expected] == [250, 500, 750, 1000]
    for new, old in zip(rows, expected):
        for key in SAME:
            if key not in old:
                continue
            a, b = new[key], old[key]
            if isinstance(b, float) and not (b is None or math.isnan(b)):
                assert a == pytest.approx(b, rel=1e-5, abs=1e-7), (name, key, new["nimg"])
            else:
                assert a == b, (name, key, new["nimg"])
