"""Auto-encoder discriminators for BEGAN (Berthelot et al. 2017), one per family: "mlp-ae" and
"dcgan-ae".

D(v) is an auto-encoder; its score is minus the per-sample L1 reconstruction error,
s(v) = -mean |v - dec(enc(v))|, so that larger still means more real and every objective and
penalty of the library can use it. The decoder is the family's own generator with the code as
its latent; the encoder mirrors it. The code size is the run's z_dim (the paper uses N_h = N_z).
BEGAN's networks use ELU and no normalisation, which are these families' defaults here.
"""

import dataclasses

from torch import nn

from ganlab.errors import ConfigError
from ganlab.networks import NETWORKS
from ganlab.networks.dcgan import _block, _layout, build_dcgan
from ganlab.networks.layers import Reshape, resolve
from ganlab.networks.mlp import _hidden, build_mlp


class AutoencoderScore(nn.Module):
    """x [N, *shape] -> -mean |x - dec(enc(x))| [N]; `reconstruct` gives dec(enc(x))."""

    def __init__(self, encoder, decoder):
        super().__init__()
        self.encoder, self.decoder = encoder, decoder

    def reconstruct(self, x):
        return self.decoder(self.encoder(x))

    def forward(self, x):
        return -(x - self.reconstruct(x)).abs().flatten(1).mean(dim=1)


def _ae_cfg(role, cfg, name):
    """The D config with BEGAN's defaults (ELU, no normalisation) where unset, validated as D's."""
    if role != "D":
        families = ", ".join(sorted(n for n in NETWORKS if not n.endswith("-ae")))
        raise ConfigError(f"{role}.arch = {name!r} is a discriminator-only family (BEGAN's auto-encoder); "
                          f"expected {role}.arch one of: {families}")
    cfg = dataclasses.replace(cfg, activation=cfg.activation or "elu", norm=cfg.norm or "none")
    act, norm = resolve("D", cfg, "elu", "none", gated=True)
    return cfg, act, norm


@NETWORKS.register("mlp-ae", "fully connected auto-encoder D for BEGAN; any sample shape")
def build_mlp_ae(role, cfg, shape, z_dim, image):
    cfg, act, norm = _ae_cfg(role, cfg, "mlp-ae")
    n_in = 1
    for side in shape:
        n_in *= side
    layers = [nn.Flatten()] + _hidden(n_in, cfg.width, cfg.depth, act, norm)
    encoder = nn.Sequential(*layers, nn.Linear(cfg.width, z_dim))  # [N, z_dim]
    return AutoencoderScore(encoder, build_mlp("G", cfg, shape, z_dim, image))


@NETWORKS.register("dcgan-ae", "DCGAN-style conv auto-encoder D for BEGAN; (1|3, R, R), R in 28, 32, 64")
def build_dcgan_ae(role, cfg, shape, z_dim, image):
    cfg, act, norm = _ae_cfg(role, cfg, "dcgan-ae")
    c, base, chans = _layout(shape, cfg.width, cfg.constant_width, role)
    chans = chans[::-1]  # R/2 down to the base grid, as the DCGAN D
    layers = _block(nn.Conv2d, c, chans[0], "none", act, kernel_size=4, stride=2, padding=1)  # input: no norm
    for c_in, c_out in zip(chans, chans[1:]):
        layers += _block(nn.Conv2d, c_in, c_out, norm, act, kernel_size=4, stride=2, padding=1)
    layers += [nn.Conv2d(chans[-1], z_dim, base, 1, 0), Reshape((z_dim,))]  # [N, z_dim]
    return AutoencoderScore(nn.Sequential(*layers), build_dcgan("G", cfg, shape, z_dim, image))
