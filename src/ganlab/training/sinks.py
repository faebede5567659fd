"""Statistics sinks of the training loop: where logging rows and sample grids go besides
metrics.jsonl (which the run directory owns, see ganlab.rundir).

`TensorBoardSink` writes the numeric entries of every row as scalars (step = images shown) and
every sample grid as an image, as event files in RUN_DIR/tensorboard/; `tensorboard --logdir runs`
shows them. On resume and on a rollback the loop rewinds the sinks to the checkpoint's images
shown: TensorBoard then drops the events logged after it (`purge_step`), so its curves have the
same history as metrics.jsonl. Switch it off with `tensorboard: false`.
"""

import math
from pathlib import Path

import numpy as np
from PIL import Image

TENSORBOARD_DIR = "tensorboard"
TAGS = {"loss_D": "loss/D", "loss_G": "loss/G", "D_real": "D/real", "D_fake": "D/fake",
        "grad_norm_D": "grad_norm/D", "grad_norm_G": "grad_norm/G", "time_s": "time/seconds"}
NOT_SCALARS = ("kimg", "nimg", "g_steps")  # the step axis itself


class TensorBoardSink:
    def __init__(self, run_dir, start_nimg=0):
        self.folder = Path(run_dir) / TENSORBOARD_DIR
        self.writer = None
        self.rewind(start_nimg)

    def rewind(self, nimg):
        """Continue after `nimg` images shown: events logged past it are purged when read."""
        from torch.utils.tensorboard import SummaryWriter

        self.close()
        self.writer = SummaryWriter(str(self.folder), purge_step=nimg + 1 if nimg else None)

    def scalars(self, record):
        """The numeric entries of a metrics row, at its images shown (a rollback row: as text)."""
        step = int(record.get("nimg", 0))
        if record.get("event") == "rollback":
            self.writer.add_scalar("health/lr_scale", record["lr_scale"], step)
            self.writer.add_text("health/rollback", f"diverged at {record['diverged_kimg']} kimg ({record['problem']}); "
                                                    f"back to {record['kimg']} kimg, learning rates x{record['lr_scale']:g}", step)
            return
        for key, value in record.items():
            if key in NOT_SCALARS or isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                continue
            self.writer.add_scalar(TAGS.get(key, f"metrics/{key}"), value, step)

    def image(self, path, nimg):
        """A sample grid (a PNG written by the loop) at `nimg` images shown."""
        with Image.open(path) as img:
            array = np.asarray(img.convert("RGB"))  # [H, W, 3]
        self.writer.add_image("samples", array, int(nimg), dataformats="HWC")

    def flush(self):
        if self.writer is not None:
            self.writer.flush()

    def close(self):
        if self.writer is not None:
            self.writer.close()
            self.writer = None


def open_sinks(cfg, run_dir, start_nimg):
    """The sinks a config asks for, rewound to `start_nimg` (0 for a fresh run)."""
    return [TensorBoardSink(run_dir, start_nimg)] if cfg.tensorboard else []
