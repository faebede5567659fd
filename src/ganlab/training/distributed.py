"""Data-parallel training on torch.distributed: one process per device, started by torchrun
(`torchrun --nproc-per-node N -m ganlab train ...`, or `ganlab train --nproc N`).

The loop's "gradient sync" seam. Every process builds the same G and D from the same seed (and
takes rank 0's weights by broadcast, to be sure), draws the same global batch of data indices and
latent codes, and trains on its own slice of it (`shard`): with N processes of B/N each, the
images and codes of a step are exactly those of one process with batch B. After every backward
the gradients are averaged over the processes by one flattened all-reduce (`sync`; StyleGAN3's
scheme, not a DistributedDataParallel wrapper): it happens after the whole backward, so it works
unchanged with double backward (gradient penalties), unrolled D copies, frozen parameters, heads
that some steps do not use and weight constraints, where DDP's hooks need care (unused
parameters, static graphs silently wrong with penalties; see PyTorch's DistributedDataParallel notes). The price is
no overlap of communication with the backward, which does not matter at these sizes.

What stays per process: BatchNorm batch statistics (and running averages: rank 0's are saved),
minibatch-std groups, LSGAN mean matching's batch means, and the random numbers of penalties and
augmentation (each process draws the same ones for its own slice). Rank 0 alone writes the run
directory, evaluates and shows progress; every process reads the checkpoint it resumes or rolls
back from (several machines need the run directory on a shared file system).
"""

import datetime
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import torch

from ganlab.errors import ConfigError, DivergenceError

TIMEOUT = datetime.timedelta(minutes=60)  # rank 0 evaluates while the others wait at the next sync


@dataclass
class World:
    """This process's place among the training processes (one process: rank 0 of 1)."""

    rank: int = 0
    size: int = 1
    local_rank: int = 0

    @classmethod
    def from_env(cls):
        """The world torchrun describes in RANK / WORLD_SIZE / LOCAL_RANK (a single process without
        them), its process group initialised: gloo on CPU, nccl where the process has a GPU."""
        size = int(os.environ.get("WORLD_SIZE", "1"))
        if size <= 1:
            return cls()
        import torch.distributed as dist

        world = cls(int(os.environ["RANK"]), size, int(os.environ.get("LOCAL_RANK", "0")))
        if not dist.is_initialized():
            backend = "nccl" if torch.cuda.is_available() and os.environ.get("GANLAB_DIST_BACKEND") != "gloo" else "gloo"
            if backend == "nccl":
                torch.cuda.set_device(world.local_rank)
            dist.init_process_group(backend, timeout=TIMEOUT)
        return world

    @property
    def main(self):
        """Whether this process writes, evaluates and reports (rank 0)."""
        return self.rank == 0

    def device(self, name):
        """The torch.device of this process for the configured device name: cuda:LOCAL_RANK for a
        CUDA device under torchrun (one GPU per process)."""
        from ganlab.utils.device import select_device

        device = select_device(name)
        if self.size > 1 and device.type == "cuda":
            if self.local_rank >= torch.cuda.device_count():
                raise ConfigError(f"process {self.rank} has local rank {self.local_rank} and this machine has "
                                  f"{torch.cuda.device_count()} GPU(s); expected at most one process per GPU")
            return torch.device("cuda", self.local_rank)
        return device

    def set_threads(self, cfg, device, data_kind):
        """On a CPU, torch's thread count for this process: cfg.cpu_threads, else one for points
        (small MLPs lose time to threading) and the cores shared between the processes for images."""
        if device.type == "cpu":
            torch.set_num_threads(cfg.cpu_threads or (1 if data_kind == "points" else max(1, _cores() // self.size)))

    def check_batch(self, batch_size, pack=1):
        """Refuse a global batch that does not split into equal per-process parts (of whole packs)."""
        if batch_size % self.size or (batch_size // self.size) % pack:
            whole = f" of whole packs of {pack}" if pack > 1 else ""
            raise ConfigError(f"batch_size = {batch_size} does not split into {self.size} equal parts{whole}; expected "
                              f"a multiple of {self.size * pack} (the batch is global: each of the {self.size} "
                              f"processes takes batch_size / {self.size})")

    def shard(self, x):
        """This process's slice of a global batch [B, ...] (rows rank * B/N to (rank + 1) * B/N)."""
        if self.size == 1:
            return x
        part = x.shape[0] // self.size
        return x[self.rank * part:(self.rank + 1) * part]

    def gather(self, x):
        """The global batch [B, ...] from every process's slice x [B/N, ...], in rank order."""
        if self.size == 1:
            return x
        import torch.distributed as dist

        parts = [torch.empty_like(x) for _ in range(self.size)]
        dist.all_gather(parts, x.contiguous())
        return torch.cat(parts)

    def sync(self, module):
        """Average the gradients of `module` over the processes (after backward, before the step):
        one all-reduce of all of them, flattened. Parameters without a gradient on every process
        (frozen, unused) are left out; nothing happens in one process."""
        if self.size == 1:
            return
        import torch.distributed as dist

        grads = [p.grad for p in module.parameters() if p.grad is not None]
        if not grads:
            return
        flat = torch.cat([g.reshape(-1) for g in grads])
        dist.all_reduce(flat)
        flat /= self.size
        offset = 0
        for g in grads:
            g.copy_(flat[offset:offset + g.numel()].view_as(g))
            offset += g.numel()

    def broadcast(self, *modules):
        """Rank 0's parameters and buffers into every process's copy of `modules`."""
        if self.size == 1:
            return
        import torch.distributed as dist

        for module in modules:
            for t in list(module.parameters()) + list(module.buffers()):
                with torch.no_grad():
                    dist.broadcast(t.data, src=0)

    def mean(self, values):
        """{name: scalar tensor} averaged over the processes (one all-reduce): what is logged."""
        if self.size == 1 or not values:
            return values
        import torch.distributed as dist

        keys = list(values)
        flat = torch.stack([torch.as_tensor(values[k], dtype=torch.float64) for k in keys])
        device = next((v.device for v in values.values() if torch.is_tensor(v)), flat.device)
        flat = flat.to(device)
        dist.all_reduce(flat)
        flat /= self.size
        return dict(zip(keys, flat.unbind()))

    def check_same(self, *modules, where=""):
        """Raise DivergenceError unless every process holds rank 0's parameters of `modules`
        exactly (the loop checks at every snapshot; buffers such as BatchNorm's running averages
        may differ and are not compared)."""
        if self.size == 1:
            return
        import torch.distributed as dist

        flat = torch.cat([p.detach().reshape(-1).double() for m in modules for p in m.parameters()])
        ref = flat.clone()
        dist.broadcast(ref, src=0)
        worst = (flat - ref).abs().max().reshape(1)
        dist.all_reduce(worst, op=dist.ReduceOp.MAX)
        if float(worst) > 0:
            raise DivergenceError(f"the {self.size} training processes hold different weights{where} (up to {float(worst):.3g} "
                                  f"from rank 0's); expected identical weights after every step — an operation that is "
                                  f"not deterministic across processes, or gradients that were not averaged")

    def broadcast_text(self, text):
        """Rank 0's `text` (a run directory path) in every process, as bytes (nothing is pickled)."""
        if self.size == 1:
            return text
        import torch.distributed as dist

        dev = torch.device("cuda", torch.cuda.current_device()) if dist.get_backend() == "nccl" else torch.device("cpu")
        data = torch.tensor(list((text or "").encode()) if self.main else [], dtype=torch.uint8, device=dev)
        length = torch.tensor([len(data)], dtype=torch.int64, device=dev)
        dist.broadcast(length, src=0)  # NCCL moves only GPU tensors: both live on this process's GPU there
        if not self.main:
            data = torch.empty(int(length), dtype=torch.uint8, device=dev)
        dist.broadcast(data, src=0)
        return bytes(data.cpu().tolist()).decode()

    def barrier(self):
        if self.size > 1:
            import torch.distributed as dist

            dist.barrier()

    def close(self, code=0):
        """End a distributed process: barrier, destroy the group, flush, os._exit (gloo can abort at
        interpreter exit otherwise). Returns in one process."""
        if self.size == 1:
            return
        import torch.distributed as dist

        try:
            if code == 0:
                dist.barrier()
            dist.destroy_process_group()
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)


# --- Launching: `ganlab train --nproc N`, and what torchrun's restarts find -------------------------

def _cores():
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def launch(nproc, max_restarts, args):
    """Run `ganlab train ARGS` (a --resume of one run directory) in `nproc` processes under torchrun
    on this machine; its exit status. Every process, and every restart, continues that run."""
    argv = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={nproc}",
            f"--max-restarts={max_restarts}", "-m", "ganlab", "train", *args]
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", str(max(1, cores // nproc)))}
    return subprocess.run(argv, env=env).returncode


def _torchrun_marker(out):
    run_id = os.environ.get("TORCHELASTIC_RUN_ID")
    return Path(out) / f".torchrun-{run_id}" if run_id and run_id != "none" else None


def remember_run(out, path):
    """Under torchrun, note the run directory this launch made, for its restarts (restarted_run)."""
    marker = _torchrun_marker(out)
    if marker is not None:
        marker.write_text(str(path))


def restarted_run(out):
    """The run directory an earlier attempt of this torchrun launch made (torchrun restarts every
    process after a failure with the same command), or '' on a first attempt."""
    marker = _torchrun_marker(out)
    if marker is None or int(os.environ.get("TORCHELASTIC_RESTART_COUNT", "0")) == 0 or not marker.is_file():
        return ""
    return marker.read_text().strip()
