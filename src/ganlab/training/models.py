"""G and D for a config and its data, and the generator of a checkpoint for sampling."""

import copy

import torch
from omegaconf import OmegaConf

from ganlab.errors import ConfigError
from ganlab.networks import NETWORKS, build_network
from ganlab.networks.conditional import conditional_models, g_input_of
from ganlab.objectives import objective_of
from ganlab.training.latent import Latent
from ganlab.training.schedule import check_compile, set_progress
from ganlab.training.view import packed_shape


def build_models(cfg, dataset, objective, device):
    """G and D for this data. D gets no BatchNorm by default where the objective forbids it, and
    an objective that needs an auto-encoder D (BEGAN) gets the auto-encoder of D's family; with
    PacGAN packing D's input is `pack` samples wide; a class-conditional run (latent.classes) gets
    both wrapped for the labels (ganlab.networks.conditional)."""
    image, latent = dataset.kind == "image", Latent.of(cfg, dataset)
    if (latent.mode or latent.aux_dim) and objective.discriminator == "autoencoder":
        raise ConfigError(f"objective {cfg.objective!r} judges with an auto-encoder, which takes no class labels or "
                          f"code head; expected latent.classes=null and no InfoGAN codes, or another objective")
    d_cfg = OmegaConf.to_object(cfg.D)
    if objective.discriminator == "autoencoder" and not d_cfg.arch.endswith("-ae"):
        if d_cfg.arch + "-ae" not in NETWORKS:
            families = ", ".join(sorted(n for n in NETWORKS if n.endswith("-ae")))
            raise ConfigError(f"objective {cfg.objective!r} needs an auto-encoder discriminator and D.arch = "
                              f"{d_cfg.arch!r} has none; expected D.arch one of: {families}")
        d_cfg.arch += "-ae"
    if d_cfg.norm is None and not objective.batchnorm_in_d:
        d_cfg.norm = "layer" if d_cfg.arch == "dcgan" else "none"
    g_cfg = OmegaConf.to_object(cfg.G)
    G = build_network("G", g_cfg, dataset.shape, cfg.z_dim + latent.g_extra, image)  # z and InfoGAN's codes
    if latent.mode and g_input_of(cfg.latent.g_input, G, cfg.G.arch) == "concat":  # and the one-hot class
        G = build_network("G", g_cfg, dataset.shape, cfg.z_dim + latent.g_extra + latent.num_classes, image)
    D = build_network("D", d_cfg, packed_shape(dataset.shape, cfg.pack), cfg.z_dim, image)
    G, D = conditional_models(G, D, latent, cfg, packed_shape(dataset.shape, cfg.pack))  # the label path
    return G.to(device), D.to(device)


def training_models(cfg, dataset, objective, device, world):
    """(G, D, G_ema) to train: `build_models`, in channels-last memory for images where cfg asks,
    on rank 0's weights in every process (`world`), G_ema a frozen copy of G where cfg.ema_kimg
    asks (else None), and G and D compiled in place where cfg.compile asks (their state dicts, and
    G_ema, stay as they are)."""
    G, D = build_models(cfg, dataset, objective, device)
    if cfg.channels_last and dataset.kind == "image":
        G, D = G.to(memory_format=torch.channels_last), D.to(memory_format=torch.channels_last)
    world.broadcast(G, D)
    G_ema = copy.deepcopy(G).requires_grad_(False) if cfg.ema_kimg else None
    if cfg.compile:
        check_compile(cfg, objective)
        G.compile()
        D.compile()
    return G, D, G_ema


def load_generator(cfg, state, dataset, device):
    """The generator of a checkpoint, for sampling and evaluation: its EMA weights where the run
    kept them, at the growth stage it had reached (Progressive GAN)."""
    G, _ = build_models(cfg, dataset, objective_of(cfg), device)
    G.load_state_dict(state.get("G_ema") or state["G"])
    set_progress([G], int(state["cur_nimg"]), cfg)
    return G
