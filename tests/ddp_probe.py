"""Run under torchrun by tests/test_distributed.py: the collectives of ganlab.training.distributed.World on
known values, in every process; rank 0 writes what it saw to the JSON file named by argv[1]."""

import json
import sys

import torch
from torch import nn

from ganlab.training.distributed import World
from ganlab.errors import DivergenceError

world = World.from_env()
r, n = world.rank, world.size
out = {"size": n}

x = torch.arange(8.0).view(4, 2)                         # a global batch of 4 rows
out["shard"] = world.shard(x).tolist()                   # rank 0: rows 0-1, rank 1: rows 2-3
out["gather"] = world.gather(world.shard(x)).tolist()    # the global batch again, in rank order

m = nn.Linear(2, 1)
with torch.no_grad():
    m.weight.fill_(r + 1.0)                              # different on purpose: broadcast makes them rank 0's
    m.bias.fill_(-r)
world.broadcast(m)
out["broadcast"] = [m.weight.tolist(), m.bias.tolist()]
world.check_same(m)                                      # now identical: no error
m.weight.grad = torch.full_like(m.weight, float(r + 1))  # rank r's gradient is r + 1 everywhere
m.bias.grad = None                                       # a parameter without a gradient is left out
world.sync(m)
out["sync"] = m.weight.grad.tolist()                     # mean of 1 and 2 = 1.5
out["mean"] = {k: float(v) for k, v in world.mean({"a": torch.tensor(float(r)), "b": torch.tensor(2.0 * r)}).items()}
out["text"] = world.broadcast_text("runs/00007-x/é" if world.main else None)
with torch.no_grad():
    m.weight.add_(1e-3 * r)                              # rank 1 drifts
try:
    world.check_same(m, where=" at 1 kimg")
    out["diverged"] = None
except DivergenceError as e:
    out["diverged"] = str(e)
if world.main:
    with open(sys.argv[1], "w") as f:
        json.dump(out, f)
world.close()
