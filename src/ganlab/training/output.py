"""What a training run writes: metrics.jsonl rows, the sinks (TensorBoard), checkpoints and sample
grids, all into its run directory.

`training_loop` talks to one output object. Under several processes (ganlab.training.distributed) rank 0
holds a `RunOutput` and every other rank a `NoOutput`, which writes nothing: the loop itself never
asks which rank it is."""

from pathlib import Path

import torch
from tqdm.auto import tqdm

from ganlab import rundir
from ganlab.report.figures import save_image_grid, save_points_plot
from ganlab.training.sinks import open_sinks
from ganlab.utils.checkpoint import save_checkpoint


@torch.no_grad()
def save_samples(G, z, dataset, path, nrow=None):
    """An image grid of G(z) (`nrow` columns, None: square), or for points a scatter over the data."""
    G.eval()
    fake = G(z)
    G.train()
    if dataset.kind == "image":
        return save_image_grid(fake, path, nrow)
    reference = dataset.data[torch.randperm(len(dataset), generator=torch.Generator().manual_seed(0))[:2500]]
    return save_points_plot(fake, reference, path, title=path.stem)


class RunOutput:
    """The run directory `run_dir` as the loop writes it (rank 0, or the only process)."""

    def __init__(self, run_dir):
        self.dir = Path(run_dir)
        self.run_id = rundir.ensure_identity(self.dir)  # checkpoints carry it: a foreign one is refused on resume
        self.sinks = []

    def rewind(self, rows, nimg=None):
        """Cut metrics.jsonl (and the open sinks) back to `rows` training rows, or to the rows up to
        `nimg` images when `rows` is None (a checkpoint from before row counts); returns the rows kept."""
        rundir.rewind_metrics(self.dir, rows, nimg=nimg)
        for sink in self.sinks if nimg is not None else ():
            sink.rewind(nimg)
        if rows is None:
            rows = sum(map(rundir.is_training_row, rundir.read_metrics(self.dir)))
        return rows

    def open_sinks(self, cfg, nimg):
        """TensorBoard (ganlab.training.sinks) as cfg asks, rewound to `nimg` like metrics.jsonl."""
        self.sinks = open_sinks(cfg, self.dir, nimg)

    def provenance(self, info):
        """One line of provenance.jsonl per start or resume: what ran this stretch of the run (the
        command, ganlab and its commit, torch, device, threads, precision, parameter counts)."""
        import datetime
        import json

        from ganlab.utils import provenance

        line = {"started": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
                "command": provenance.COMMAND, **provenance.versions(), **info}
        with open(self.dir / rundir.PROVENANCE, "a", encoding="utf-8") as f:
            f.write(json.dumps(line) + "\n")

    def log(self, record):
        """One row: metrics.jsonl and every sink."""
        rundir.append_metrics(self.dir, record)
        for sink in self.sinks:
            sink.scalars(record)

    def save(self, name, state):
        """Checkpoint `name` (rundir.LATEST, FINAL, BEST) from `state()`, called only here: the other
        ranks never build the state they would not write."""
        save_checkpoint(self.dir / name, state())

    def best(self, best, record, primary, state):
        """checkpoint-best.pt and best.json kept at the best value so far of the `primary` metric
        (name, lower is better); returns the best record {metric, value, kimg}."""
        name, lower = primary
        value = record[name]
        if best and (value >= best["value"] if lower else value <= best["value"]):
            return best
        best = {"metric": name, "value": value, "kimg": record["kimg"]}
        self.save(rundir.BEST, lambda: {**state(), "best": best})
        rundir.write_json(self.dir / rundir.BEST_JSON, best)
        return best

    def snapshot(self, G, z, dataset, nimg, nrow, state):
        """The sample grid of G(z) at `nimg` images, into the sinks too, then the latest checkpoint
        (the sinks flushed first, so their events are on disk when the checkpoint is)."""
        grid = save_samples(G, z, dataset, self.dir / f"samples-kimg{nimg / 1000:07.1f}.png", nrow)
        for sink in self.sinks:
            sink.image(grid, nimg)
            sink.flush()
        self.save(rundir.LATEST, state)

    def close(self):
        for sink in self.sinks:
            sink.close()


class NoOutput(RunOutput):
    """What the ranks other than 0 write: nothing (they train, rank 0 reports)."""

    def __init__(self, run_dir):
        self.dir, self.run_id, self.sinks = Path(run_dir), None, []

    def rewind(self, rows, nimg=None):
        return rows

    def open_sinks(self, cfg, nimg):
        pass

    def provenance(self, info):
        pass

    def log(self, record):
        pass

    def save(self, name, state):
        pass

    def best(self, best, record, primary, state):
        return best

    def snapshot(self, G, z, dataset, nimg, nrow, state):
        pass


class Progress:
    """The progress bar of a run, counted in images (integers: no float drift past the total) and
    shown in kimg, with the last row's losses (and modes) beside it; silent when not `shown`."""

    def __init__(self, total, initial, shown):
        self.total = total
        self.bar = tqdm(total=total, initial=min(initial, total), unit_scale=1e-3, disable=not shown,
                        bar_format="{l_bar}{bar}| {n:.1f}/{total:.1f} kimg [{elapsed}<{remaining}{postfix}]")

    def advance(self, cur, nxt):
        self.bar.update(min(nxt, self.total) - min(cur, self.total))

    def show(self, record):
        text = f"D {record['loss_D']:.3f} G {record['loss_G']:.3f}"
        if "modes" in record:
            text += f" modes {record['modes']} hq {record['hq']:.0%}"
        self.bar.set_postfix_str(text, refresh=False)

    def rolled_back(self, nimg, rollbacks):
        self.bar.reset(total=self.total)
        self.bar.update(nimg)
        self.bar.set_postfix_str(f"rollback {rollbacks} to {nimg / 1000:.1f} kimg", refresh=False)

    def close(self):
        self.bar.close()


def grad_norm(module):
    """The global L2 norm of a module's gradients (0 when it has none)."""
    norms = [p.grad.detach().norm() for p in module.parameters() if p.grad is not None]
    return torch.stack(norms).norm() if norms else torch.zeros(())


class Interval:
    """The statistics of one logging interval, summed on the device (no host sync per step), and the
    metrics row they make: mean losses and scores, the objective's own statistics (BEGAN's k and M)
    averaged over D steps, gradient norms and learning rates."""

    def __init__(self, device):
        self.device = device
        self.reset()

    def reset(self):
        self.sums = {k: torch.zeros((), device=self.device) for k in ("loss_D", "loss_G", "D_real", "D_fake")}
        self.extra, self.n_d, self.n_g = {}, 0, 0

    def d_step(self, loss, s_r, s_f, stats):
        self.sums["loss_D"] += loss.detach()
        self.sums["D_real"] += s_r.detach().mean()
        self.sums["D_fake"] += s_f.detach().mean()
        for key, value in stats.items():
            self.extra[key] = self.extra.get(key, 0) + value.detach()
        self.n_d += 1

    def g_step(self, loss):
        self.sums["loss_G"] += loss.detach()
        self.n_g += 1

    def row(self, state, world, grad_norm_d):
        """The row at state's progress, averaged over the processes (what one process would log);
        the sums start again."""
        means = world.mean({**self.sums, **self.extra})
        record = {
            "kimg": state.cur_nimg / 1000, "nimg": state.cur_nimg, "g_steps": state.g_steps,
            "time_s": round(state.elapsed, 3),
            "loss_D": (means["loss_D"] / self.n_d).item(), "loss_G": (means["loss_G"] / self.n_g).item(),
            "D_real": (means["D_real"] / self.n_d).item(), "D_fake": (means["D_fake"] / self.n_d).item(),
            "grad_norm_D": grad_norm_d.item(), "grad_norm_G": grad_norm(state.G).item(),
            "lr_G": state.g_opt.param_groups[0]["lr"], "lr_D": state.d_opt.param_groups[0]["lr"],
        }
        record.update({k: (means[k] / self.n_d).item() for k in self.extra})
        self.reset()
        return record
