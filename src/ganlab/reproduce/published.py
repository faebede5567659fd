"""Published numbers as data: each figure with its spread and number of runs as the paper gives them,
and the citation, so that a comparison with it is a computed test (ganlab.utils.stats.verdict).

A `Figure` keeps what the paper prints: the mean, a spread that is a standard error ("se"), a standard
deviation ("sd") or absent, and the number of runs (None when the paper does not say). `stats()` gives
(mean, sd, n) for the test; a figure without spread or run count is a point.
"""

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Figure:
    mean: float
    spread: float = None     # as printed, of the kind below
    kind: str = None         # "se" (standard error), "sd" (standard deviation), None (no spread printed)
    n: int = None            # runs behind the mean; None: not stated
    decimals: int = None     # as printed (None: as few as the value needs)

    def stats(self):
        """(mean, sd, n) for a Welch test; sd and n None for a point."""
        if self.spread is None or self.n is None:
            return self.mean, None, None
        sd = self.spread * math.sqrt(self.n) if self.kind == "se" else self.spread
        return self.mean, sd, self.n

    def text(self):
        """As the paper prints it: '0.70±0.07', or '99.3'."""
        fmt = (lambda v: f"{v:.{self.decimals}f}") if self.decimals is not None else (lambda v: f"{v:g}")
        return fmt(self.mean) + (f"±{fmt(self.spread)}" if self.spread is not None else "")


def _se10(mean, se, decimals=1):
    return Figure(mean, se, "se", 10, decimals)


PACGAN = ("Lin, Khetan, Fanti, Oh 2018, PacGAN: The power of two samples in generative adversarial networks "
          "(NeurIPS), Table 1: mean ± standard error over 10 trials")
# (modes, high-quality %, reverse KL) per dataset.
PACGAN_TABLE1 = {
    "GAN": {"ring": (_se10(6.3, 0.5), _se10(98.2, 0.2), _se10(0.45, 0.09, 2)),
            "grid": (_se10(17.3, 0.8), _se10(94.8, 0.7), _se10(0.70, 0.07, 2))},
    "ALI": {"ring": (_se10(6.6, 0.3), _se10(97.6, 0.4), _se10(0.36, 0.04, 2)),
            "grid": (_se10(24.1, 0.4), _se10(95.7, 0.6), _se10(0.14, 0.03, 2))},
    "PacGAN2": {"ring": (_se10(7.9, 0.1), _se10(95.6, 2.0), _se10(0.07, 0.03, 2)),
                "grid": (_se10(23.8, 0.7), _se10(91.3, 0.8), _se10(0.13, 0.04, 2))},
    "PacGAN3": {"ring": (_se10(7.8, 0.1), _se10(97.7, 0.3), _se10(0.10, 0.02, 2)),
                "grid": (_se10(24.6, 0.4), _se10(94.2, 0.4), _se10(0.06, 0.02, 2))},
    "PacGAN4": {"ring": (_se10(7.8, 0.1), _se10(95.9, 1.4), _se10(0.07, 0.02, 2)),
                "grid": (_se10(24.8, 0.2), _se10(93.6, 0.6), _se10(0.04, 0.01, 2))},
}
# PacGAN's toy protocol: 400 epochs of 100,000 samples, batch 100 (packed) examples.
PACGAN_TOY_KIMG = 400 * 100.0

VEEGAN = ("Srivastava, Valkov, Russell, Gutmann, Sutton 2017, VEEGAN (NeurIPS), Table 1: modes and high-quality % "
          "(no spread or run count printed)")
VEEGAN_TABLE1 = {
    "GAN": {"ring": (Figure(1), Figure(99.3)), "grid": (Figure(3.3), Figure(0.5))},
    "ALI": {"ring": (Figure(2.8), Figure(0.13)), "grid": (Figure(15.8), Figure(1.6))},
    "Unrolled GAN": {"ring": (Figure(7.6), Figure(35.6)), "grid": (Figure(23.6), Figure(16))},
    "VEEGAN": {"ring": (Figure(8), Figure(52.9)), "grid": (Figure(24.6), Figure(40))},
}

LUCIC = ("Lucic, Kurach, Michalski, Gelly, Bousquet 2018, Are GANs Created Equal? A Large-Scale Study (NeurIPS), "
         "Table 2, MNIST: best FID, mean ± std over re-runs of the best setting (run count not restated here)")
LUCIC_MNIST_FID = {
    "minimax": Figure(9.8, 0.9, "sd"), "nonsaturating": Figure(6.8, 0.5, "sd"), "lsgan": Figure(7.8, 0.6, "sd"),
    "wgan": Figure(6.7, 0.4, "sd"), "wgan-gp": Figure(20.3, 5.0, "sd"), "dragan": Figure(7.6, 0.4, "sd"),
    "began": Figure(13.1, 1.0, "sd"),
}
LUCIC_MNIST_KIMG = 20 * 60.0  # 20 epochs of MNIST's 60,000 training images
LUCIC_NARROW_TRIALS = 50      # settings per objective in the narrow space
