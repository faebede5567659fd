"""Metrics registry: name -> description of what is computed and under which protocol."""

from ganlab.utils.registry import Registry

METRICS = Registry("metric")
METRICS.register("modes", "toy mixtures: modes with at least one high-quality sample, of 2,500 (PacGAN protocol)")(None)
METRICS.register("hq", "toy mixtures: fraction of 2,500 samples within 3 std of their nearest mode")(None)
METRICS.register("rkl", "toy mixtures: KL(mode histogram of high-quality samples || uniform)")(None)
