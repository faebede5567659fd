"""Device selection: the one place that knows about CUDA availability."""

import torch

from ganlab.errors import ConfigError


def select_device(name="auto"):
    """torch.device for 'auto' | 'cpu' | 'cuda' | 'cuda:N', refusing a device that is not there."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cpu":
        return torch.device("cpu")
    if name == "cuda" or name.startswith("cuda:"):
        if not torch.cuda.is_available():
            raise ConfigError(f"device {name!r} is not available: this machine has no CUDA GPU; expected --device cpu or auto")
        index = int(name.split(":")[1]) if ":" in name else 0
        if index >= torch.cuda.device_count():
            raise ConfigError(f"device {name!r} is not available: this machine has {torch.cuda.device_count()} CUDA GPU(s)")
        return torch.device(name)
    raise ConfigError(f"device {name!r} is not a device; expected auto, cpu, cuda or cuda:N")
