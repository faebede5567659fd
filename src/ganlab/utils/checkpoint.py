"""Checkpoint I/O: atomic writes, and loading that never unpickles code.

A checkpoint is a dict of tensors, numbers, strings and nested dicts/lists of those (state dicts,
optimiser states, RNG states, the resolved config as YAML text), saved with `torch.save` and
loaded with `torch.load(weights_only=True)`, which refuses anything that would import code.

Format version 2 adds identity: `run_id` (the run directory's id, see ganlab.rundir) and
`log_rows` (how many rows of metrics.jsonl the run had logged when it was written). Version 1
files still load; they carry no identity.
"""

import os
from pathlib import Path

import torch

from ganlab.errors import CheckpointError

FORMAT = "ganlab-checkpoint"
VERSION = 2
READABLE_VERSIONS = (1, 2)


def save_checkpoint(path, state):
    """Write `state` to `path` atomically: a reader sees the old file or the new one, never half."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    torch.save({"format": FORMAT, "version": VERSION, **state}, tmp)
    os.replace(tmp, path)


def load_checkpoint(path):
    """The state dict saved by `save_checkpoint`, or a CheckpointError naming the file."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {str(path)!r} does not exist; expected a file written by `ganlab train`")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises several types for corrupt or code-carrying pickles
        reason = "it holds objects that would need code to unpickle" if "weights_only" in str(exc) else "it is corrupt or truncated"
        raise CheckpointError(f"checkpoint {str(path)!r} cannot be read: {reason}; expected a ganlab checkpoint") from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise CheckpointError(f"{str(path)!r} is not a ganlab checkpoint; expected a file written by `ganlab train`")
    if state.get("version") not in READABLE_VERSIONS:
        raise CheckpointError(
            f"checkpoint {str(path)!r} has format version {state.get('version')!r}; this ganlab reads versions "
            f"{' and '.join(map(str, READABLE_VERSIONS))}"
        )
    if not all(key in state for key in ("config", "G", "D", "cur_nimg")):
        raise CheckpointError(f"checkpoint {str(path)!r} lacks the config, networks or progress of a run; expected a "
                              f"file written by `ganlab train`")
    return state
