"""Metrics during training: on toy data the mode metrics at every logging point (PacGAN's protocol:
2,500 samples of a fixed set of latent codes), and the configured metrics (cfg.metrics, through the
metrics registry's Evaluator) at the eval points, on rank 0 only.
"""

import torch

from ganlab.metrics.toy import toy_metrics
from ganlab.training.latent import Latent

TOY_EVAL_SAMPLES = 2500  # PacGAN / VEEGAN protocol


@torch.no_grad()
def evaluate_toy(G, cfg, dataset, device, seed):
    """Mode metrics on a fixed set of 2,500 latent codes (its own generator: no global RNG use)."""
    gen = torch.Generator(device=device).manual_seed(seed)
    G.eval()
    fake = G(Latent.of(cfg, dataset).sample(TOY_EVAL_SAMPLES, device, generator=gen))
    G.train()
    return toy_metrics(fake, dataset.modes, dataset.mode_std)


class Evaluation:
    """`at_log(G)`: what every logged row gets (the toy metrics where the data has modes, else
    nothing); `at_eval(G)`: the configured metrics, or {} where none are asked for or on a rank
    other than 0; `primary`: (metric, lower is better) that picks checkpoint-best.pt."""

    def __init__(self, cfg, dataset, latent, device, main=True):
        self.cfg, self.dataset, self.latent, self.device = cfg, dataset, latent, device
        self.asked = bool((cfg.eval_kimg is not None or cfg.eval_at_kimg) and cfg.metrics)
        self.evaluator = None
        if self.asked and main:  # rank 0 evaluates
            from ganlab.metrics.evaluate import Evaluator  # extractors load only when asked for

            self.evaluator = Evaluator(list(cfg.metrics), dataset, cfg.data, device, latent)

    @property
    def primary(self):
        return self.evaluator.primary if self.evaluator is not None else None

    def at_log(self, G):
        if self.dataset.modes is None:
            return {}
        return evaluate_toy(G, self.cfg, self.dataset, self.device, self.cfg.seed + 2)

    def at_eval(self, G):
        if self.evaluator is None:
            return {}
        return self.evaluator(G, lambda n, gen: self.latent.sample(n, self.device, gen), seed=self.cfg.seed + 3)
