"""The latent code and the label path: what G is given besides noise, and what D learns from it.

A latent code w is one float tensor [N, dim] that G maps to one sample each; samplers, metrics and
CLI commands draw it with `Latent.sample` and never look inside. Its columns:

    [ z (z_dim) | y (1 column, class-conditional runs only) | c_cat (K) | c_cont (L) ]

- z: noise from `z_prior`, drawn by exactly the calls an unconditional run makes (so w = z and
  every unconditional run is unchanged, bit for bit);
- y: the class index stored as a float (exact: classes < 2^24), uniform over the classes unless
  given; `labels(w)` reads it back. G is told the class by conditional BatchNorm or a one-hot
  input (`ganlab.networks.conditional`); D by a projection term (Miyato & Koyama 2018) or an
  auxiliary classifier (ACGAN, Odena et al. 2017), chosen by `latent.classes`;
- c_cat, c_cont: InfoGAN's codes (Chen et al. 2016): one categorical code of K =
  `latent.categorical` values, one-hot, uniform, and L = `latent.continuous` codes ~ U(-1, 1), fed
  to G with z. A head Q on D's body predicts them from a fake; the mutual-information term
  info_weight * (CE(Q_cat, c_cat) + 1/2 sum (Q_cont - c_cont)^2) (a factored Gaussian of std 1,
  as the official code's fix_std; constants dropped) is added to both D's and G's loss, so Q
  trains with D (openai/InfoGAN's trainer). L_I = ln K - CE is the bound on I(c_cat; G(z, c)).

In the loop, the fakes of every step are made for the classes of that step's real batch
(`batch`), so real and fake batches hold the same classes, a penalty's interpolate between the
i-th real and the i-th fake has one class, and the G step's view of D (which may judge the real
batch again, as LSGAN + mean matching does) is told one set of labels. The extra loss terms of
heads on D (ACGAN's class cross-entropy) are `d_loss` and `g_loss`; they are 0 when no head is
configured.
"""

import math

import torch
import torch.nn.functional as F

from ganlab.config.validation import config_check
from ganlab.errors import ConfigError

CLASS_MODES = ("projection", "acgan")  # how D uses the class (latent.classes)
G_INPUTS = ("auto", "cbn", "concat")   # how G is told it (latent.g_input)


def sample_z(n, cfg, device, generator=None):
    """Noise [n, z_dim] from the configured prior."""
    if cfg.z_prior == "uniform":
        return torch.rand(n, cfg.z_dim, device=device, generator=generator) * 2 - 1  # U[-1, 1]
    return torch.randn(n, cfg.z_dim, device=device, generator=generator)  # N(0, I)


@config_check("latent: the label path")
def check_latent(cfg):
    """Refuse latent settings that cannot be combined with the rest of the config (one sentence)."""
    lat = cfg.latent
    if lat.classes is not None and lat.classes not in CLASS_MODES:
        raise ConfigError(f"latent.classes = {lat.classes!r} is not a way for D to use labels; expected "
                          f"{' or '.join(CLASS_MODES)} (or null: unconditional)")
    if lat.g_input not in G_INPUTS:
        raise ConfigError(f"latent.g_input = {lat.g_input!r} is not a way to tell G the class; expected "
                          f"{', '.join(G_INPUTS)}")
    if lat.classes is not None and cfg.pack != 1:
        raise ConfigError(f"latent.classes = {lat.classes} with pack = {cfg.pack}: a pack of samples has no "
                          f"single class; expected pack=1 for a class-conditional run")
    if lat.categorical == 1:
        raise ConfigError("latent.categorical = 1 is a code with one value, which carries no information; expected "
                          "0 (none) or at least 2 categories")
    if (lat.categorical or lat.continuous) and cfg.pack != 1:
        raise ConfigError(f"InfoGAN codes (latent.categorical, latent.continuous) with pack = {cfg.pack}: Q predicts "
                          f"one sample's code; expected pack=1")


class Latent:
    """The latent space of one run: its layout, its sampler, and the loss terms of D's heads."""

    def __init__(self, cfg, num_classes=None):
        check_latent(cfg)
        self.cfg, self.z_dim = cfg, cfg.z_dim
        self.mode = cfg.latent.classes                    # None | projection | acgan
        self.num_classes = int(num_classes or 0) if self.mode else 0
        if self.mode and self.num_classes < 2:
            raise ConfigError(f"latent.classes = {self.mode} needs a dataset with class labels (at least "
                              f"2 classes); this dataset has {'none' if not num_classes else num_classes}")
        self.k, self.l = cfg.latent.categorical, cfg.latent.continuous  # InfoGAN codes
        self.codes_at = self.z_dim + (1 if self.mode else 0)  # the first code column
        self.dim = self.codes_at + self.k + self.l
        self.class_weight, self.info_weight = cfg.latent.class_weight, cfg.latent.info_weight
        self.fake_class_weight = cfg.latent.fake_class_weight

    @classmethod
    def of(cls, cfg, dataset):
        """The latent space of `cfg` trained on `dataset` (its class count, when it has labels)."""
        classes = None
        if dataset.labels is not None:
            classes = dataset.num_classes or int(dataset.labels.max()) + 1
        return cls(cfg, classes)

    @property
    def aux_dim(self):
        """Outputs of the head D carries beside its score: ACGAN's class logits, then InfoGAN's Q
        (K category logits, L means); 0: no head."""
        return (self.num_classes if self.mode == "acgan" else 0) + self.k + self.l

    @property
    def g_extra(self):
        """Inputs G takes beside z: the codes (the class enters through ganlab.networks.conditional)."""
        return self.k + self.l

    def sample(self, n, device, generator=None, y=None):
        """Latent codes [n, dim]: fresh noise, and class `y` ([n] int, an int, or None: uniform)."""
        z = sample_z(n, self.cfg, device, generator)
        parts = [z]
        if self.mode:
            parts.append(self._classes(n, device, generator, y).to(z.dtype).view(n, 1))
        if self.k:
            cat = torch.randint(self.k, (n,), device=device, generator=generator)
            parts.append(F.one_hot(cat, self.k).to(z.dtype))
        if self.l:
            parts.append(torch.rand(n, self.l, device=device, generator=generator) * 2 - 1)
        return parts[0] if len(parts) == 1 else torch.cat(parts, dim=1)

    def _classes(self, n, device, generator, y):
        if y is None:
            y = torch.randint(self.num_classes, (n,), device=device, generator=generator)
        elif isinstance(y, int):
            if not 0 <= y < self.num_classes:
                raise ConfigError(f"class {y} does not exist; expected a class in 0..{self.num_classes - 1}")
            y = torch.full((n,), y, device=device)
        return y.to(device)

    def grid(self, n, device, generator=None, y=None):
        """(w, columns) for a sample grid of about n: one class per row (n // classes columns, at
        least 1) in a class-conditional run unless `y` fixes the class; n codes and the default
        layout (None) otherwise."""
        if not self.mode or y is not None:
            return self.sample(n, device, generator, y=y), None
        cols = max(1, n // self.num_classes)
        rows = torch.arange(self.num_classes, device=device).repeat_interleave(cols)
        return self.sample(len(rows), device, generator, y=rows), cols

    def labels(self, w):
        """The classes [N] (int64) of latent codes `w`, or None in an unconditional run."""
        return w[:, self.z_dim].round().long() if self.mode else None

    def noise(self, w):
        return w[:, :self.z_dim]

    def categories(self, w):
        """The categorical InfoGAN code [N] (int64) of latent codes `w`, or None without one."""
        return w[:, self.codes_at:self.codes_at + self.k].argmax(dim=1) if self.k else None

    def _info(self, q, w):
        """(info_weight * InfoGAN's loss on Q's outputs q [N, K + L], its statistics)."""
        loss, stats = 0.0, {}
        if self.k:
            ce = F.cross_entropy(q[:, :self.k].float(), self.categories(w))
            loss, stats["info_mi_cat"] = ce, math.log(self.k) - ce.detach()  # L_I in nats (max ln K)
        if self.l:
            cont = w[:, self.codes_at + self.k:]
            sq = 0.5 * (q[:, self.k:].float() - cont).pow(2).sum(dim=1).mean()
            loss, stats["info_cont_nll"] = loss + sq, sq.detach()  # Gaussian NLL, std 1, constant dropped
        return self.info_weight * loss, stats

    def batch(self, dataset, idx, device):
        """(real [B, *shape], w [B, dim]): the real samples `idx` and latent codes for this step's
        fakes, made for the same classes as the reals."""
        real = dataset.batch(idx, device)
        y = dataset.labels.index_select(0, idx.to(dataset.labels.device)) if self.mode else None
        return real, self.sample(len(idx), device, y=y)

    def d_loss(self, view, real, fake, w):
        """(D's extra loss, its statistics): ACGAN's class_weight * (CE on reals + fake_class_weight *
        CE on fakes), both labelled with the step's classes; (0, {}) without a head."""
        loss, stats = 0.0, {}
        c = self.num_classes if self.mode == "acgan" else 0
        if c:
            y = self.labels(w)
            a_r, a_f = view.aux(real)[:, :c].float(), view.aux(fake)[:, :c].float()
            ce_r, ce_f = F.cross_entropy(a_r, y), F.cross_entropy(a_f, y)
            stats = {"class_ce_real": ce_r.detach(), "class_ce_fake": ce_f.detach(),
                     "class_acc_real": (a_r.detach().argmax(1) == y).float().mean()}
            loss = self.class_weight * (ce_r + self.fake_class_weight * ce_f)
        if self.k or self.l:
            info, info_stats = self._info(view.aux(fake)[:, c:], w)
            loss, stats = loss + info, {**stats, **info_stats}
        return loss, stats

    def g_loss(self, view, fake, w):
        """G's extra loss: ACGAN's class_weight * CE of D's class head on the fakes, and InfoGAN's
        term (0 without a head)."""
        if not self.aux_dim:
            return 0.0
        aux, c = view.aux(fake), (self.num_classes if self.mode == "acgan" else 0)
        loss = self.class_weight * F.cross_entropy(aux[:, :c].float(), self.labels(w)) if c else 0.0
        return loss + (self._info(aux[:, c:], w)[0] if self.k or self.l else 0.0)



def lerp(t, a, b):
    """(1 - t) a + t b, row by row: a, b [N, d], t [N, 1] or a float."""
    return a + (b - a) * t


def slerp(t, a, b, eps=1e-7):
    """Spherical interpolation of each row pair of a, b [N, d] at t [N, 1] (White 2016; the
    magnitude-preserving form of dribnet/plat): sin((1 - t) W) / sin W a + sin(t W) / sin W b with
    W the angle between a and b (its cosine clipped to [-1, 1]); lerp where sin W ~ 0.

    For Gaussian z in d dimensions the norm concentrates near sqrt(d); slerp between two draws
    stays near that shell where lerp's midpoint falls to about sqrt(d / 2)."""
    a64, b64 = a.double(), b.double()
    cos = (a64 * b64).sum(1, keepdim=True) / (a64.norm(dim=1, keepdim=True) * b64.norm(dim=1, keepdim=True)).clamp_min(1e-300)
    omega = torch.arccos(cos.clamp(-1, 1))
    so = torch.sin(omega)
    t = torch.as_tensor(t, dtype=torch.float64)
    spherical = (torch.sin((1 - t) * omega) * a64 + torch.sin(t * omega) * b64) / so.clamp_min(eps)
    out = torch.where(so > eps, spherical, lerp(t, a64, b64))
    return out.to(a.dtype)


def interpolation_codes(latent, rows, steps, device, generator=None, y=None, mode="auto"):
    """Latent codes [rows * steps, dim]: each row walks from one random z to another in `steps`
    equal steps of t, by slerp (mode auto for a Gaussian prior) or lerp (auto for uniform z, which
    fills a cube); in a class-conditional run each row keeps one class (random, or `y`)."""
    if mode == "auto":
        mode = "lerp" if latent.cfg.z_prior == "uniform" else "slerp"
    ends = latent.sample(2 * rows, device, generator, y=y)  # [2 rows, dim]
    a, b = ends[:rows], ends[rows:]
    t = torch.linspace(0, 1, steps, device=device, dtype=torch.float64)  # [steps]
    za, zb = latent.noise(a).repeat_interleave(steps, 0), latent.noise(b).repeat_interleave(steps, 0)
    tt = t.repeat(rows)[:, None]
    z = (slerp if mode == "slerp" else lerp)(tt.to(za.dtype) if mode == "lerp" else tt, za, zb)
    rest = a[:, latent.z_dim:].repeat_interleave(steps, 0)  # the row's class (its start's)
    return torch.cat([z, rest], dim=1)


def traversal_codes(latent, code, steps, device, generator=None, lo=-2.0, hi=2.0):
    """Latent codes [rows * steps, dim] that vary InfoGAN's continuous code `code` from lo to hi
    along each row (the paper's Fig. 2 goes past the trained range [-1, 1] to -2..2) with the
    other continuous codes at 0, one row per value of the categorical code (8 rows without one),
    and one z (and class) for the whole grid."""
    if not 0 <= code < latent.l:
        raise ConfigError(f"continuous code {code} does not exist; this run has {latent.l} "
                          f"(latent.continuous), expected a code in 0..{latent.l - 1}" if latent.l else
                          "this run has no continuous InfoGAN code (latent.continuous = 0) to traverse")
    rows = latent.k or 8
    w = latent.sample(1, device, generator).repeat(rows * steps, 1)
    if latent.k:
        w[:, latent.codes_at:latent.codes_at + latent.k] = F.one_hot(
            torch.arange(rows, device=device).repeat_interleave(steps), latent.k).to(w.dtype)
    cont = latent.codes_at + latent.k
    w[:, cont:] = 0
    w[:, cont + code] = torch.linspace(lo, hi, steps, device=device, dtype=w.dtype).repeat(rows)
    return w
