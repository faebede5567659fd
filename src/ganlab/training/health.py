"""The health seam of the training loop: what happens at a logging point when the run is unwell.

A run whose mean losses (or weights) have become NaN or infinite has diverged. The guard rolls it
back to its last good checkpoint, `checkpoint-latest.pt` (the loop writes it only from states that
passed this check), multiplies both learning rates by `rollback_lr_factor`, and lets it go on.
After `max_rollbacks` rollbacks it stops the run with one line (a DivergenceError). The number of
rollbacks and the learning-rate scale are state: they are saved in every checkpoint, so a resumed
run keeps them.
"""

import math

import torch

from ganlab import rundir
from ganlab.errors import DivergenceError
from ganlab.utils.checkpoint import load_checkpoint

WATCHED = ("loss_D", "loss_G", "D_real", "D_fake")  # the means of a logging interval


def finite_weights(nets):
    """True when every parameter of `nets` is finite (one host sync per network)."""
    for net in nets:
        peaks = [p.detach().abs().amax() for p in net.parameters() if p.numel()]
        if peaks and not bool(torch.stack(peaks).isfinite().all()):
            return False
    return True


class RollbackGuard:
    def __init__(self, max_rollbacks, lr_factor):
        self.max_rollbacks, self.lr_factor = max_rollbacks, lr_factor
        self.rollbacks, self.lr_scale = 0, 1.0

    def state_dict(self):
        return {"rollbacks": self.rollbacks, "lr_scale": self.lr_scale}

    def load_state_dict(self, state):
        self.rollbacks, self.lr_scale = int(state.get("rollbacks", 0)), float(state.get("lr_scale", 1.0))

    def check(self, record, state, out, world):
        """At a logging point: False when all is well. Otherwise roll `state` (a TrainState) back
        to the last good checkpoint, with metrics.jsonl cut back to that checkpoint's rows and a
        row recording the rollback, write it as the latest checkpoint and return True; raises
        DivergenceError when no rollback is left."""
        problem = self.problem(record, (state.G, state.D))
        if problem is None:
            return False
        good, row = self.rollback(problem, state.cur_nimg, out.dir / rundir.LATEST, out.dir)
        elapsed = state.elapsed  # training time is not rolled back
        state.load_state_dict(good)
        state.elapsed = elapsed
        world.barrier()  # every process has read the checkpoint before rank 0 rewrites it
        out.rewind(state.log_rows, nimg=state.cur_nimg)
        out.log(row)
        state.log_rows += 1
        out.save(rundir.LATEST, state.state_dict)
        return True

    @staticmethod
    def problem(record, nets):
        """What is wrong at this logging point ('loss_D=nan, ...'), or None when all is well."""
        bad = [f"{k}={record[k]}" for k in WATCHED if not math.isfinite(record[k])]
        if not bad and not finite_weights(nets):
            bad = ["non-finite weights"]
        return ", ".join(bad) or None

    def rollback(self, problem, cur_nimg, checkpoint, run_dir):
        """The state of `checkpoint` to continue from, with this rollback counted in its "health"
        entry, and the metrics row that records it; raises DivergenceError when none is left."""
        where = f"training diverged at {cur_nimg / 1000:.1f} kimg: the losses became NaN or infinite ({problem})"
        if self.rollbacks >= self.max_rollbacks:
            tried = (f" after {self.rollbacks} rollback(s) to the last good checkpoint with the learning rates "
                     f"scaled by {self.lr_scale:g}" if self.rollbacks else "")
            raise DivergenceError(f"{where}{tried}; expected finite losses — lower the learning rates or change the "
                                  f"objective; the last good checkpoint in {str(run_dir)!r} is untouched")
        state = load_checkpoint(checkpoint)
        health = {"rollbacks": self.rollbacks + 1, "lr_scale": self.lr_scale * self.lr_factor}
        state["health"] = health
        row = {"event": "rollback", "kimg": int(state["cur_nimg"]) / 1000, "nimg": int(state["cur_nimg"]),
               "diverged_kimg": cur_nimg / 1000, "problem": problem, **health}
        return state, row
