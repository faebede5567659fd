"""ganlab: train, evaluate and compare generative adversarial networks.

The Python API (see ganlab.api): `ganlab.configure`, `ganlab.build_networks`, `ganlab.train`,
`ganlab.load_generator`; metrics are in `ganlab.metrics`. They load on first use, so importing
a light submodule (the registries, the config) does not import torch.
"""

__version__ = "0.1.0"  # the one place the version is written (pyproject reads it)

__all__ = ["TrainedGenerator", "build_networks", "configure", "load_generator", "load_pretrained", "train"]


def __getattr__(name):
    if name in __all__:
        from ganlab import api

        return getattr(api, name)
    raise AttributeError(f"module 'ganlab' has no attribute {name!r}")
