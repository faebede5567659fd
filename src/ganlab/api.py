"""The Python API: what the CLI does, as one-liners (re-exported by `import ganlab`).

    import ganlab

    cfg = ganlab.configure("mnist5k-dcgan-ns", kimg=2, **{"G.width": 16, "D.width": 16})
    G, D = ganlab.build_networks(cfg)        # torch modules for the config's data
    run = ganlab.train(cfg, out="runs")      # trains; returns the run directory
    gen = ganlab.load_generator(run)         # its generator (EMA weights where the run kept them)
    x = gen.sample(64, seed=0)               # [64, 1, 28, 28] in [-1, 1]
"""

from dataclasses import dataclass
from pathlib import Path

import torch

from ganlab import rundir
from ganlab.resolve import load_run, make_config, train_overrides


def configure(preset=None, **overrides):
    """A validated config: defaults, then `preset` (`ganlab list presets`), then dotted-key
    overrides (`**{"g_opt.lr": 1e-4}`), exactly as `ganlab train --preset P --set K=V`."""
    return make_config(train_overrides(preset, sets=overrides))


def build_networks(cfg, dataset=None, device="cpu"):
    """(G, D) for `cfg` (from `configure`), shaped by its dataset (loaded unless given)."""
    from ganlab.data import load_dataset
    from ganlab.objectives import objective_of
    from ganlab.training.models import build_models

    dataset = dataset or load_dataset(cfg.data)
    return build_models(cfg, dataset, objective_of(cfg), torch.device(device))


def train(cfg, out="runs", name=None, progress=True):
    """Train `cfg` into a new run directory under `out` (named after `name` or the objective and
    data) and return its path; resume it later with `ganlab train --resume PATH`."""
    from ganlab.training.loop import training_loop

    opened = []

    def open_run_dir():
        opened.append(rundir.new_run_dir(out, name or f"{cfg.objective}-{cfg.data.name}", cfg))
        return opened[0]

    training_loop(cfg, open_run_dir, progress=progress)
    return opened[0]


@dataclass
class TrainedGenerator:
    """A run's generator with what sampling needs: its config (latent size and prior) and progress."""

    net: torch.nn.Module
    config: object
    kimg: float
    latent: object = None  # its ganlab.training.latent.Latent (None: the config's, without classes)

    def sample(self, n, seed=0, batch_size=500, y=None):
        """n samples [n, *shape] on the CPU (images in [-1, 1]), deterministic by `seed`; `y` (an
        int or [n] ints) fixes the classes of a class-conditional generator (else uniform)."""
        from ganlab.training.latent import Latent
        from ganlab.samples import generate

        latent = self.latent or Latent(self.config)
        device = next(self.net.parameters()).device
        return generate(self.net, lambda k, gen: latent.sample(k, device, gen, y=y), n, seed, batch_size)


def load_pretrained(name, device="cpu"):
    """A generator shipped with ganlab (`ganlab list pretrained`), checked by its SHA-256, as a
    TrainedGenerator: `ganlab.load_pretrained("toy-ring").sample(2500, seed=0)`."""
    from ganlab import pretrained
    from ganlab.data import load_dataset
    from ganlab.training.latent import Latent
    from ganlab.training.models import load_generator as load
    from ganlab.utils.device import select_device

    cfg, state = pretrained.load(name)
    dataset = load_dataset(cfg.data)
    G = load(cfg, state, dataset, select_device(device))
    return TrainedGenerator(G.eval(), cfg, state["cur_nimg"] / 1000, Latent.of(cfg, dataset))


def load_generator(run_dir, checkpoint="latest", device="cpu", force=False):
    """The generator of a run directory's checkpoint (latest, final, best or a path), as
    `ganlab sample` loads it: EMA weights where kept, identity checked unless `force`."""
    from ganlab.data import load_dataset
    from ganlab.training.latent import Latent
    from ganlab.training.models import load_generator as load
    from ganlab.utils.device import select_device

    cfg, state = load_run(Path(run_dir), checkpoint, force)
    dataset = load_dataset(cfg.data)
    G = load(cfg, state, dataset, select_device(device))
    return TrainedGenerator(G.eval(), cfg, int(state["cur_nimg"]) / 1000, Latent.of(cfg, dataset))
