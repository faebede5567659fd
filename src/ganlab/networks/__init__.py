"""Generator and discriminator families, one file per family, chosen by name from NETWORKS.

Every builder has the signature `fn(role, cfg, shape, z_dim, image) -> nn.Module`:
  role "G": forward(z [N, z_dim]) -> [N, *shape]; ends in tanh when `image` (data in [-1, 1]),
            linear otherwise (toy points);
  role "D": forward(x [N, *shape]) -> [N] raw scores, larger = more real, no sigmoid (the
            objective applies whatever link it needs).
"""

from ganlab.utils.registry import Registry

NETWORKS = Registry("network")  # name -> builder; filled by the imports below

# Imported after NETWORKS exists: each module registers its builder with a decorator.
from ganlab.networks import autoencoder, dcgan, mlp  # noqa: E402,F401


def build_network(role, cfg, shape, z_dim, image):
    """The `role` ("G" or "D") network of family `cfg.arch` for samples of `shape`; see above."""
    return NETWORKS.lookup(cfg.arch)(role, cfg, tuple(shape), z_dim, image)
