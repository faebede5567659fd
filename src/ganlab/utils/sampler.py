"""Index sampling for in-memory datasets, with state for bit-exact resume."""

import torch


class IndexSampler:
    """Epoch-wise random permutations of range(n), served in batches. One generator of its own,
    so the data order does not depend on anything else drawn during training."""

    def __init__(self, n, seed):
        self.n = n
        self.gen = torch.Generator().manual_seed(seed)
        self.perm = torch.randperm(n, generator=self.gen)
        self.pos = 0

    def next(self, batch_size):
        """[batch_size] int64 indices; an epoch boundary inside a batch continues in the next one."""
        parts, need = [], batch_size
        while need > 0:
            if self.pos == self.n:
                self.perm = torch.randperm(self.n, generator=self.gen)
                self.pos = 0
            take = min(need, self.n - self.pos)
            parts.append(self.perm[self.pos:self.pos + take])
            self.pos += take
            need -= take
        return parts[0] if len(parts) == 1 else torch.cat(parts)

    def state_dict(self):
        return {"gen": self.gen.get_state(), "perm": self.perm, "pos": self.pos}

    def load_state_dict(self, state):
        self.gen.set_state(state["gen"])
        self.perm = state["perm"]
        self.pos = int(state["pos"])
