"""TrainState: everything that trains, in one object, and the one place a checkpoint's contents
are defined (`state_dict` / `load_state_dict`).

A checkpoint holds the networks (G, D, G_ema), the optimisers and their fp16 gradient scalers, the
sampler's position in the data, both RNG states, the objective's own state (BEGAN's k_t), the
health guard's rollbacks and the progress counters. Everything the loop draws comes from the global
torch RNG or the sampler's generator, so loading a checkpoint continues a run bit for bit. The keys
are those of every earlier ganlab checkpoint: old run directories resume unchanged.
"""

import torch


class Update:
    """A network's update from its loss: backward, gradients averaged over the processes
    (`world.sync`, the gradient-sync seam: nothing in one process), the optimiser step. With fp16,
    through a gradient scaler of its own (torch.amp): the scaled gradients are averaged before the
    inf check, so every process skips or takes the step together."""

    def __init__(self, module, opt, world, device, fp16):
        self.module, self.opt, self.world = module, opt, world
        self.scaler = torch.amp.GradScaler(device.type, enabled=fp16)

    def __call__(self, loss):
        self.opt.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        self.world.sync(self.module)
        self.scaler.unscale_(self.opt)  # no-ops without fp16
        self.scaler.step(self.opt)
        self.scaler.update()


def build_optimizer(params, opt):
    if opt.name == "rmsprop":
        return torch.optim.RMSprop(params, lr=opt.lr, alpha=opt.alpha)
    return torch.optim.Adam(params, lr=opt.lr, betas=(opt.beta1, opt.beta2))


class TrainState:
    """G, D, G_ema (None without EMA), their optimisers and updates, the sampler, the objective,
    the health guard, and the counters: images shown (`cur_nimg`), G steps, seconds trained, the
    best metric record, metrics.jsonl rows written; `run_id` ties the checkpoints to their run."""

    def __init__(self, cfg, G, D, G_ema, objective, sampler, health, world, device, fp16):
        self.config_yaml = None  # set by the loop: the resolved config, saved with every checkpoint
        self.G, self.D, self.G_ema, self.objective = G, D, G_ema, objective
        self.g_opt = build_optimizer(G.parameters(), cfg.g_opt)
        self.d_opt = build_optimizer(D.parameters(), cfg.d_opt)
        self.update_g, self.update_d = Update(G, self.g_opt, world, device, fp16), Update(D, self.d_opt, world, device, fp16)
        self.sampler, self.health, self.device, self.fp16 = sampler, health, device, fp16
        self.cur_nimg, self.g_steps, self.elapsed, self.best, self.log_rows, self.run_id = 0, 0, 0.0, None, 0, None

    @property
    def G_eval(self):
        """The generator that samples and metrics see: the EMA weights where the run keeps them."""
        return self.G_ema if self.G_ema is not None else self.G

    def state_dict(self):
        saved = {
            "config": self.config_yaml, "G": self.G.state_dict(), "D": self.D.state_dict(),
            "g_opt": self.g_opt.state_dict(), "d_opt": self.d_opt.state_dict(), "sampler": self.sampler.state_dict(),
            "rng_cpu": torch.get_rng_state(), "cur_nimg": self.cur_nimg, "g_steps": self.g_steps,
            "elapsed": self.elapsed, "best": self.best or {}, "run_id": self.run_id, "log_rows": self.log_rows,
            "health": self.health.state_dict(),
        }
        if self.G_ema is not None:
            saved["G_ema"] = self.G_ema.state_dict()
        if self.fp16:
            saved["scaler_d"], saved["scaler_g"] = self.update_d.scaler.state_dict(), self.update_g.scaler.state_dict()
        if self.objective.state is not None:
            saved["objective"] = self.objective.state.state_dict()
        if self.device.type == "cuda":
            saved["rng_cuda"] = torch.cuda.get_rng_state(self.device)
        return saved

    def load_state_dict(self, state):
        """Load a checkpoint into everything that trains, counters included (`log_rows` kept where
        the checkpoint predates row counts)."""
        self.G.load_state_dict(state["G"])
        self.D.load_state_dict(state["D"])
        if self.G_ema is not None:
            self.G_ema.load_state_dict(state.get("G_ema") or state["G"])  # EMA switched on at resume: start at G
        if self.objective.state is not None and state.get("objective"):
            self.objective.state.load_state_dict(state["objective"])
        self.g_opt.load_state_dict(state["g_opt"])
        self.d_opt.load_state_dict(state["d_opt"])
        self.sampler.load_state_dict(state["sampler"])
        torch.set_rng_state(state["rng_cpu"])
        if self.device.type == "cuda" and "rng_cuda" in state:
            torch.cuda.set_rng_state(state["rng_cuda"], self.device)
        self.health.load_state_dict(state.get("health") or {})
        for update, key in ((self.update_d, "scaler_d"), (self.update_g, "scaler_g")):
            if state.get(key):
                update.scaler.load_state_dict(state[key])
        self.cur_nimg, self.g_steps = int(state["cur_nimg"]), int(state["g_steps"])
        self.elapsed, self.best = float(state["elapsed"]), state.get("best") or None
        self.log_rows = state.get("log_rows", self.log_rows)
