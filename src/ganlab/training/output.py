"""What a training run writes: metrics.jsonl rows, the sinks (TensorBoard), checkpoints and sample
grids, all into its run directory.

`training_loop` talks to one output object. Under several processes (ganlab.training.distributed) rank 0
holds a `RunOutput` and every other rank a `NoOutput`, which writes nothing: the loop itself never
asks which rank it is."""

from pathlib import Path

import torch

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
