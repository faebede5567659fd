"""ganlab.training.output: what a run writes (rank 0) and what the other ranks write (nothing)."""

import json

from ganlab import rundir
from ganlab.training.output import NoOutput, RunOutput


def _rows(path):
    return [json.loads(line) for line in (path / rundir.METRICS).read_text().splitlines()]


def test_rows_rewind_to_a_count_or_to_images_shown(tmp_path):
    out = RunOutput(tmp_path)
    assert out.run_id == rundir.read_identity(tmp_path)
    for k in range(1, 6):
        out.log({"kimg": k, "nimg": 1000 * k, "loss_D": 0.1 * k})
    assert [r["nimg"] for r in _rows(tmp_path)] == [1000, 2000, 3000, 4000, 5000]
    assert out.rewind(3) == 3 and [r["nimg"] for r in _rows(tmp_path)] == [1000, 2000, 3000]
    # A checkpoint from before row counts: cut by images shown, and the rows kept are counted.
    assert out.rewind(None, nimg=2000) == 2 and [r["nimg"] for r in _rows(tmp_path)] == [1000, 2000]


def test_best_keeps_the_best_value_and_its_checkpoint(tmp_path):
    out, calls = RunOutput(tmp_path), []

    def state():
        calls.append(1)
        return {"x": len(calls)}

    best = None
    for kimg, fid in ((1, 30.0), (2, 20.0), (3, 25.0)):
        best = out.best(best, {"kimg": kimg, "fid": fid}, ("fid", True), state)
    assert best == {"metric": "fid", "value": 20.0, "kimg": 2} and len(calls) == 2  # the worse value saved nothing
    assert json.loads((tmp_path / rundir.BEST_JSON).read_text()) == best
    assert (tmp_path / rundir.BEST).is_file()


def test_the_other_ranks_write_nothing_and_build_no_state(tmp_path):
    out = NoOutput(tmp_path)

    def state():
        raise AssertionError("a rank other than 0 built a checkpoint state")

    out.log({"kimg": 1, "nimg": 1000})
    out.save(rundir.LATEST, state)
    assert out.best(None, {"kimg": 1, "fid": 1.0}, ("fid", True), state) is None
    out.snapshot(None, None, None, 1000, None, state)
    assert out.rewind(7, nimg=1000) == 7 and out.run_id is None
    out.close()
    assert list(tmp_path.iterdir()) == []
