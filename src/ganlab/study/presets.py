"""Named study definitions: `ganlab study run --preset-study NAME` runs one reproducibly."""

from ganlab.utils.registry import Registry

STUDY_PRESETS = Registry("study preset")

# Sized for about 12-15 minutes with one worker on this project's 2-core CPU (docs/study.md): 16
# trials of 25 kimg (about 45 s each), FID every 5 kimg. Only fid5k_lenet is evaluated: the
# preset's other four metrics would more than double the cost of each eval point.
STUDY_PRESETS.register(
    "mnist5k-small",
    "MNIST-5k DCGAN-28: nonsaturating, lsgan, lsgan-mm, wgan-gp; narrow space, 4 trials each, 25 kimg, fid5k_lenet every 5 kimg",
)({"preset": "mnist5k-dcgan-ns", "objectives": ["nonsaturating", "lsgan", "lsgan-mm", "wgan-gp"], "space": "narrow",
   "trials": 4, "kimg": 25.0, "eval_every": 5.0, "metric": "fid5k_lenet", "seed": 0, "sets": {"metrics": ["fid5k_lenet"]}})
