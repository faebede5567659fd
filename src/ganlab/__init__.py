"""ganlab: train, evaluate and compare generative adversarial networks.

The Python API (see ganlab.api): `ganlab.config`, `ganlab.build_networks`, `ganlab.train`,
`ganlab.load_generator`; metrics are in `ganlab.metrics`.
"""

from ganlab.api import TrainedGenerator, build_networks, config, load_generator, train

__all__ = ["TrainedGenerator", "build_networks", "config", "load_generator", "train"]
