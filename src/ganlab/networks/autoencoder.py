"""Auto-encoder discriminators for BEGAN (Berthelot et al. 2017), one per family: "mlp-ae" and
"dcgan-ae".

D(v) is an auto-encoder; its score is minus the per-sample L1 reconstruction error,
s(v) = -mean |v - dec(enc(v))|, so that larger still means more real and every objective and
penalty of the library can use it. The decoder is the family's own generator with the code as
its latent; the encoder mirrors it. The code size is the run's z_dim (the paper uses N_h = N_z).
BEGAN's networks use ELU and no normalisation, which are these families' defaults here.
"""

import dataclasses
import math

from torch import nn

from ganlab.networks import NETWORKS
from ganlab.networks.dcgan import _layout, build_dcgan
from ganlab.networks.layers import Reshape, activation, resolve
from ganlab.networks.mlp import build_mlp


class AutoencoderScore(nn.Module):
    """x [N, *shape] -> -mean |x - dec(enc(x))| [N]; `reconstruct` gives dec(enc(x))."""

    def __init__(self, encoder, decoder):
        super().__init__()
        self.encoder, self.decoder = encoder, decoder

    def reconstruct(self, x):
        return self.decoder(self.encoder(x))

    def forward(self, x):
        return -(x - self.reconstruct(x)).abs().flatten(1).mean(dim=1)


def _ae_cfg(cfg):
    """The family config with BEGAN's defaults (ELU, no normalisation) where unset."""
    return dataclasses.replace(cfg, activation=cfg.activation or "elu", norm=cfg.norm or "none")


def _check_role(role, name):
    if role != "D":
        raise ValueError(f"{name} is a discriminator family; role must be 'D', not {role!r}")


@NETWORKS.register("mlp-ae", "fully connected auto-encoder D for BEGAN; any sample shape")
def build_mlp_ae(role, cfg, shape, z_dim, image):
    _check_role(role, "mlp-ae")
    cfg = _ae_cfg(cfg)
    act, norm = resolve("D", cfg, "elu", "none")
    layers = [nn.Flatten()]
    n_in = math.prod(shape)
    for i in range(cfg.depth):
        layers += [nn.Linear(n_in if i == 0 else cfg.width, cfg.width), activation(act)]
    encoder = nn.Sequential(*layers, nn.Linear(cfg.width, z_dim))  # [N, z_dim]
    return AutoencoderScore(encoder, build_mlp("G", cfg, shape, z_dim, image))


@NETWORKS.register("dcgan-ae", "DCGAN-style conv auto-encoder D for BEGAN; (1|3, R, R), R in 28, 32, 64")
def build_dcgan_ae(role, cfg, shape, z_dim, image):
    _check_role(role, "dcgan-ae")
    cfg = _ae_cfg(cfg)
    act, _ = resolve("D", cfg, "elu", "none")
    c, base, chans = _layout(shape, cfg.width)
    chans = chans[::-1]  # R/2 down to the base grid, as the DCGAN D
    layers = [nn.Conv2d(c, chans[0], 4, 2, 1), activation(act)]
    for c_in, c_out in zip(chans, chans[1:]):
        layers += [nn.Conv2d(c_in, c_out, 4, 2, 1), activation(act)]
    layers += [nn.Conv2d(chans[-1], z_dim, base, 1, 0), Reshape((z_dim,))]  # [N, z_dim]
    return AutoencoderScore(nn.Sequential(*layers), build_dcgan("G", cfg, shape, z_dim, image))
