"""Pretrained generators shipped inside the package, to sample and evaluate before training anything.

Each is a generator's weights in fp16 safetensors (tensors only: loading runs no code), checked
against the SHA-256 recorded in `index.json` before use, with the run's resolved config, how far it
trained, where it came from (the committed results file, config and seed of its run, the command)
and the metrics measured on the shipped weights by `scripts/export_pretrained.py`.

    ganlab list pretrained
    ganlab sample --pretrained mnist5k --n 64 --out digits.png
    ganlab eval --pretrained toy-ring
    gen = ganlab.load_pretrained("mnist5k"); x = gen.sample(16, seed=0)
"""

import hashlib
import json
from pathlib import Path

from ganlab.errors import CheckpointError, ConfigError, suggest

FOLDER = Path(__file__).parent
INDEX = FOLDER / "index.json"


def index():
    """{name: entry} of the shipped generators (empty when none is)."""
    if not INDEX.is_file():
        return {}
    return json.loads(INDEX.read_text(encoding="utf-8"))


def entry(name):
    """The index entry of `name`, or one sentence naming the choices."""
    shipped = index()
    if name not in shipped:
        raise ConfigError(f"unknown pretrained generator {name!r}{suggest(name, shipped)}; expected one of: "
                          f"{', '.join(sorted(shipped)) or 'none shipped'} (`ganlab list pretrained`)")
    return shipped[name]


def sha256(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def load(name):
    """(config, state) of pretrained generator `name`, as `ganlab.resolve.load_run` gives a run's: the state
    holds G's weights in fp32 (from the shipped fp16) and the images it was trained on (cur_nimg)."""
    from safetensors.torch import load_file

    from ganlab.resolve import config_from_yaml

    e = entry(name)
    path = FOLDER / e["file"]
    if not path.is_file():
        raise CheckpointError(f"pretrained generator {name!r}: {e['file']} is missing from the installed package; "
                              f"expected it beside {INDEX.name} (reinstall ganlab)")
    if sha256(path) != e["sha256"]:
        raise CheckpointError(f"pretrained generator {name!r}: {e['file']} does not match its recorded SHA-256; "
                              f"expected the file shipped with ganlab (reinstall ganlab)")
    weights = load_file(str(path))
    cfg = config_from_yaml(e["config"], f"pretrained generator {name!r}")
    state = {"G": {k: v.float() if v.is_floating_point() else v for k, v in weights.items()},
             "cur_nimg": int(e["nimg"])}
    return cfg, state


def export(run_dir, name, out_folder=FOLDER, checkpoint="final"):
    """Write run `run_dir`'s generator (its EMA weights where kept) as `out_folder/NAME.safetensors`
    in fp16; returns the partial index entry (file, sha256, config, nimg, parameter count)."""
    from omegaconf import OmegaConf
    from safetensors.torch import save_file

    from ganlab.resolve import load_run

    cfg, state = load_run(run_dir, checkpoint)
    weights = state.get("G_ema") or state["G"]
    half = {k: (v.half() if v.is_floating_point() else v).contiguous() for k, v in weights.items()}
    path = Path(out_folder) / f"{name}.safetensors"
    save_file(half, str(path))
    return {"file": path.name, "sha256": sha256(path), "config": OmegaConf.to_yaml(cfg), "nimg": int(state["cur_nimg"]),
            "parameters": sum(v.numel() for k, v in weights.items() if v.is_floating_point() and "running" not in k)}


def describe(name):
    """One line: what the generator is, how long it trained, and the metrics measured on it."""
    e = entry(name)
    measured = ", ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in e["metrics"].items())
    return f"{e['description']} ({e['nimg'] / 1000:g} kimg; measured: {measured}; {e['parameters']:,} parameters)"
