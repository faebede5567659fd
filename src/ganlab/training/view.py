"""What D sees: the one object between the loop's batches and D.

The loop hands it raw batches, [N, *shape] samples as the data and G make them, and it returns one
score per example D judges. Two techniques live here, each combinable with the other and with
every objective, penalty and network:

- DiffAugment (ganlab.training.augment, Zhao et al. 2020): every image is transformed before D;
- PacGAN packing (Lin et al. 2018, "PacGAN: The power of two samples in generative adversarial
  networks"): D judges `pack` = m samples at once, concatenated along features for points and
  along channels for images, so that it can see a lack of variety within the pack. Samples
  i*m .. i*m + m - 1 of a batch form example i, so N raw samples give N / m scores, and fakes
  come from N independent z. Only D's input layer grows (it is built for `packed_shape`).

Penalties take the gradient with respect to what D judges: one norm per packed example, and one
interpolation coefficient per packed example (`ganlab.regularizers`, which reads `pack`). At
pack = 1 and no augmentation, the view is D itself, call for call.
"""

from ganlab.config.validation import config_check
from ganlab.errors import ConfigError
from ganlab.training.augment import parse_policy


def packed_shape(shape, m):
    """The shape of one example D judges when m samples of `shape` are packed: (m * d,) for points,
    (m * C, H, W) for images."""
    return (shape[0] * m, *shape[1:])


def pack(x, m):
    """[N * m, *shape] -> [N, *packed_shape(shape, m)]: consecutive samples side by side."""
    if m == 1:
        return x
    return x.reshape(x.shape[0] // m, x.shape[1] * m, *x.shape[2:])


class DView:
    """x [N * pack, *shape] -> scores [N]: D after the augmentation ops and the packing, told the
    classes `y` [N] of the examples in a class-conditional run (ganlab.training.latent).

    A D with heads beside its score (`judge`: ACGAN's classifier) gives their outputs in the same
    pass; the view keeps them for the batches it judged, so `aux(x)` on the real or fake batch an
    objective already scored costs no second pass."""

    def __init__(self, D, ops=(), pack=1, y=None):
        self.D, self.ops, self.pack, self.y = D, tuple(ops), pack, y
        self._judge = getattr(D, "judge", None)
        self._aux = {}  # id(x) -> (x, head outputs) for the batches judged through this view

    def __call__(self, x):
        raw = x
        for op in self.ops:  # per raw sample, before packing (colour ops must not mix images)
            x = op(x)
        x = pack(x, self.pack)
        if self._judge is None:
            return self.D(x) if self.y is None else self.D(x, self.y)
        score, aux = self._judge(x, self.y)
        if aux is not None:
            self._aux[id(raw)] = (raw, aux)  # the tensor is kept, so its id cannot be reused meanwhile
        return score

    def aux(self, x):
        """D's head outputs [N, k] for the batch x: those of the pass that scored x, else a new pass."""
        if id(x) not in self._aux:
            self(x)
        return self._aux[id(x)][1]

    def given(self, y):
        """This view told the classes `y` [N] (a fresh view, with nothing kept); y None: itself,
        for an unconditional D."""
        if y is None and self._judge is None:
            return self
        return DView(self.D, self.ops, self.pack, y)

    def through(self, D):
        """The same view in front of another D (a look-ahead copy, or D at other weights)."""
        return DView(D, self.ops, self.pack, self.y)


@config_check("pack: PacGAN packing")
def _check(cfg):
    check_pack(cfg.pack, cfg.batch_size)


def check_pack(m, batch_size):
    """Refuse a batch that does not split into packs of m."""
    if batch_size % m:
        raise ConfigError(f"batch_size = {batch_size} does not split into packs of pack = {m}; expected a "
                          f"multiple of {m} (PacGAN's batch counts packed examples: batch_size = m x examples)")


def seeing(D, cfg, data_kind):
    """The DView the loop trains with: cfg.augment's ops (images only) and cfg.pack (validated
    against batch_size with the config, `check_pack`)."""
    ops = parse_policy(cfg.augment)
    if ops and data_kind != "image":
        raise ConfigError(f"augment = {cfg.augment!r} transforms images; this data holds points (expected augment=null)")
    return DView(D, ops, cfg.pack)
