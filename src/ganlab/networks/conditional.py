"""Class-conditional G and D made from any family's networks (the label path of ganlab.training.latent).

G takes a latent code w = [z | y] (ganlab.training.latent) and is told the class y one of two ways:
- "cbn", conditional BatchNorm (de Vries et al. 2017; Miyato & Koyama 2018): every BatchNorm of
  the family's G loses its affine and gains a per-class scale gamma_y and shift beta_y, both
  started at the family's own initial values;
- "concat": the one-hot class is appended to z (Mirza & Osindero 2014), the only choice for a G
  without BatchNorm.

D judges (x, y) with the family's D split before its last weight layer into a body phi and a head
psi (the head maps phi's features to the score):
- projection (Miyato & Koyama 2018): D(x, y) = psi(phi(x)) + <embed(y), phi(x)>, phi flattened;
- an auxiliary head (ACGAN, Odena et al. 2017): one linear layer from phi(x) to class logits,
  beside the unconditional score psi(phi(x)); InfoGAN's Q (Chen et al. 2016) is more outputs of
  the same layer (the paper's Q adds a 128-unit hidden layer; here Q is linear on phi).
Both heads share phi, so one pass gives score and logits (`judge`).
"""

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from ganlab.errors import ConfigError

BATCH_NORMS = (nn.BatchNorm1d, nn.BatchNorm2d)
WEIGHT_LAYERS = (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)


class ConditionalBatchNorm(nn.Module):
    """BatchNorm without affine, then gamma_y * x + beta_y for the class y of each example.

    `y` [N] is set by the owning ConditionalGenerator before each forward pass."""

    def __init__(self, bn, num_classes):
        super().__init__()
        self.norm = type(bn)(bn.num_features, eps=bn.eps, momentum=bn.momentum, affine=False)
        self.gamma = nn.Embedding(num_classes, bn.num_features)
        self.beta = nn.Embedding(num_classes, bn.num_features)
        with torch.no_grad():  # every class starts where the family's BatchNorm started
            self.gamma.weight.copy_(bn.weight.detach().expand(num_classes, -1))
            self.beta.weight.copy_(bn.bias.detach().expand(num_classes, -1))
        self.y = None

    def forward(self, x):
        shape = (x.shape[0], -1) + (1,) * (x.dim() - 2)  # [N, C, 1, 1] for images, [N, C] for MLPs
        return self.norm(x) * self.gamma(self.y).view(shape) + self.beta(self.y).view(shape)


def has_batchnorm(net):
    return any(isinstance(m, BATCH_NORMS) for m in net.modules())


def swap_batchnorms(net, num_classes):
    """Replace every affine BatchNorm of `net` (in place) by a ConditionalBatchNorm; returns them."""
    swapped = []
    for parent in list(net.modules()):
        for name, child in parent.named_children():
            if isinstance(child, BATCH_NORMS) and child.affine:
                cbn = ConditionalBatchNorm(child, num_classes)
                setattr(parent, name, cbn)
                swapped.append(cbn)
    return swapped


class ConditionalGenerator(nn.Module):
    """w [N, z_dim + 1 + codes] = [z | y | codes] -> the family's G at the class y ([N, *shape]),
    given z and the InfoGAN codes (if any) as its input."""

    def __init__(self, net, z_dim, num_classes, g_input):
        super().__init__()
        self.net, self.z_dim, self.num_classes, self.g_input = net, z_dim, num_classes, g_input
        self.cbns = swap_batchnorms(net, num_classes) if g_input == "cbn" else []

    def forward(self, w):
        y = w[:, self.z_dim].round().long()
        z = torch.cat([w[:, :self.z_dim], w[:, self.z_dim + 1:]], dim=1)  # noise and codes, without the class
        for cbn in self.cbns:
            cbn.y = y
        if self.g_input == "concat":
            z = torch.cat([z, F.one_hot(y, self.num_classes).to(z.dtype)], dim=1)
        return self.net(z)


def g_input_of(mode, net, arch):
    """The resolved latent.g_input for a G built as `net`: auto = cbn where it has BatchNorm."""
    if mode == "auto":
        return "cbn" if has_batchnorm(net) else "concat"
    if mode == "cbn" and not has_batchnorm(net):
        raise ConfigError(f"latent.g_input = cbn conditions BatchNorm layers, and this G (G.arch = {arch}) has "
                          f"none; expected latent.g_input=concat or auto, or G.norm=batch")
    return mode


def split_last_layer(net, arch):
    """(body, head) of a Sequential D: the head starts at its last conv or linear layer."""
    if not isinstance(net, nn.Sequential):
        raise ConfigError(f"D.arch = {arch} cannot take class labels (its D is not one body and one score "
                          f"layer); expected D.arch dcgan, mlp or resnet for a class-conditional run")
    last = max(i for i, m in enumerate(net) if isinstance(m, WEIGHT_LAYERS))
    return net[:last], net[last:]


class ConditionalDiscriminator(nn.Module):
    """(x [N, *shape], y [N]) -> scores [N]: the family's D with a projection term and/or an
    auxiliary head of `aux_dim` outputs on the features phi(x) of its body."""

    def __init__(self, net, arch, shape, num_classes, projection, aux_dim, sn=False):
        super().__init__()
        self.body, self.head = split_last_layer(net, arch)
        with torch.no_grad():  # the feature count, from one eval-mode pass (BatchNorm1d refuses N = 1 in train mode)
            was = self.body.training
            probe = torch.zeros(1, *shape, dtype=next(net.parameters()).dtype)
            features = self.body.eval()(probe).flatten(1).shape[1]
            self.body.train(was)
        wrap = spectral_norm if sn else (lambda m: m)
        self.embed = wrap(nn.Embedding(num_classes, features)) if projection else None
        if self.embed is not None:
            nn.init.normal_(self.embed.weight if not sn else self.embed.parametrizations.weight.original, 0, 0.02)
        self.aux_head = wrap(nn.Linear(features, aux_dim)) if aux_dim else None

    def judge(self, x, y=None):
        """(scores [N], aux outputs [N, aux_dim] or None) in one pass through the body."""
        h = self.body(x)
        score = self.head(h)
        flat = h.flatten(1)
        if self.embed is not None:
            score = score + (self.embed(y) * flat).sum(dim=1)
        return score, (self.aux_head(flat) if self.aux_head is not None else None)

    def forward(self, x, y=None):
        return self.judge(x, y)[0]


def conditional_models(G, D, latent, cfg, shape):
    """G and D wrapped for `latent`'s class conditioning and heads; unchanged in a plain run (an
    InfoGAN G takes [z | codes] as it is: its input layer is built that wide)."""
    if not latent.mode and not latent.aux_dim:
        return G, D
    if latent.mode:
        G = ConditionalGenerator(G, latent.z_dim, latent.num_classes, g_input_of(cfg.latent.g_input, G, cfg.G.arch))
    D = ConditionalDiscriminator(D, cfg.D.arch, shape, latent.num_classes, latent.mode == "projection",
                                 latent.aux_dim, sn=cfg.D.spectral_norm)
    return G, D
