"""Generator and discriminator families, one file per family, chosen by name from NETWORKS.

Every builder has the signature `fn(role, cfg, shape, z_dim, image) -> nn.Module`:
  role "G": forward(z [N, z_dim]) -> [N, *shape]; ends in tanh when `image` (data in [-1, 1]),
            linear otherwise (toy points);
  role "D": forward(x [N, *shape]) -> [N] raw scores, larger = more real, no sigmoid (the
            objective applies whatever link it needs).
`build_network` adds what applies to every family alike: spectral normalisation (`spectral_norm`).
"""

from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from ganlab.config.validation import config_check
from ganlab.utils.registry import Registry

NETWORKS = Registry("network")  # name -> builder; filled by the imports below

# Imported after NETWORKS exists: each module registers its builder with a decorator.
from ganlab.networks import autoencoder, dcgan, mlp, progressive, resnet  # noqa: E402,F401


def build_network(role, cfg, shape, z_dim, image):
    """The `role` ("G" or "D") network of family `cfg.arch` for samples of `shape`; see above."""
    net = NETWORKS.lookup(cfg.arch)(role, cfg, tuple(shape), z_dim, image)
    return add_spectral_norm(net) if cfg.spectral_norm else net


WEIGHT_LAYERS = (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)


def add_spectral_norm(net):
    """Divide every conv and linear weight of `net` by its largest singular value sigma(W) at each
    forward pass (Miyato et al. 2018), the weight reshaped to [out, -1]. sigma comes from one
    power iteration per training-mode forward, its vectors u, v kept as buffers (so they travel in
    state_dict); eval mode reuses them. The trained parameter becomes
    `<layer>.parametrizations.weight.original`. Returns `net`, changed in place."""
    for module in list(net.modules()):
        if isinstance(module, WEIGHT_LAYERS):
            spectral_norm(module, n_power_iterations=1)  # dim 1 (out) for ConvTranspose2d
    return net


@config_check("networks: G's and D's families")
def _check(cfg):
    NETWORKS.lookup(cfg.G.arch)
    NETWORKS.lookup(cfg.D.arch)
