"""Training throughput of DCGAN-32 and Progressive GAN in each precision and compile mode: the
prepared device check for a machine with a GPU (it runs on a CPU too, for its tiny mode).

Usage: python benchmarks/gpu_throughput.py [--device cuda] [--steps 200] [--warm 50]
           [--modes fp32,bf16,fp16,compile,channels_last] [--nets dcgan32,progressive]
       python benchmarks/gpu_throughput.py --device cpu --steps 2 --warm 1 --modes fp32,bf16 --nets dcgan32
Nets: DCGAN (width 64, non-saturating) and Progressive GAN (width 64, WGAN-GP, at its last
stage, 32x32) on MNIST-5k padded to 32x32, batch 64 (the data is what the machine has; the speed
is the networks'). Modes: fp32, bf16 / fp16 autocast (fp16 with gradient scalers), compile
(fp32, torch.compile; skipped for WGAN-GP, whose penalty needs a double backward), channels_last
(fp32). Images per second between the log row after `warm` steps and the last one; one line per
(net, mode), then the device's name.
"""

import argparse
import json
import tempfile
from pathlib import Path

import torch

from ganlab.resolve import make_config
from ganlab.errors import ConfigError
from ganlab.training.loop import training_loop

NETS = {
    "dcgan32": {"data.name": "mnist5k", "data.pad": 2, "G.arch": "dcgan", "D.arch": "dcgan", "G.width": 64,
                "D.width": 64, "objective": "nonsaturating"},
    "progressive": {"data.name": "mnist5k", "data.pad": 2, "G.arch": "progressive", "D.arch": "progressive",
                    "G.width": 64, "D.width": 64, "z_dim": 128, "objective": "wgan-gp", "n_critic": 1,
                    "phase_kimg": 1e-3},  # fully grown after a few images: the 32x32 networks are timed
}
MODES = {"fp32": {}, "bf16": {"precision": "bf16"}, "fp16": {"precision": "fp16"}, "compile": {"compile": True},
         "channels_last": {"channels_last": True}}
BATCH = 64


def throughput(net, mode, device, steps, warm):
    overrides = {**NETS[net], **MODES[mode], "device": device, "batch_size": BATCH, "kimg": steps * BATCH / 1000,
                 "log_kimg": warm * BATCH / 1000, "snapshot_kimg": 1e6, "tensorboard": False, "metrics": []}
    with tempfile.TemporaryDirectory() as tmp:
        training_loop(make_config(overrides), Path(tmp), progress=False)
        rows = [json.loads(line) for line in (Path(tmp) / "metrics.jsonl").read_text().splitlines()]
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    first, last = rows[0], rows[-1]
    if len(rows) < 2:
        return last["nimg"] / last["time_s"]
    return (last["nimg"] - first["nimg"]) / (last["time_s"] - first["time_s"])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--steps", type=int, default=200, help="G steps per run (a multiple of --warm)")
    parser.add_argument("--warm", type=int, default=50, help="steps left out of the timing (compile happens here)")
    parser.add_argument("--modes", default=",".join(MODES))
    parser.add_argument("--nets", default=",".join(NETS))
    a = parser.parse_args()
    for net in a.nets.split(","):
        for mode in a.modes.split(","):
            try:
                ips = throughput(net, mode, a.device, a.steps, a.warm)
                print(f"{net} {mode}: {ips:.0f} img/s")
            except ConfigError as exc:
                print(f"{net} {mode}: skipped ({str(exc).split(';')[0]})")
    name = torch.cuda.get_device_name() if a.device.startswith("cuda") else "CPU"
    print(f"device: {name}, torch {torch.__version__}")


if __name__ == "__main__":
    main()
