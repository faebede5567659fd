"""The machine: the training loop and the seams where techniques plug into it.

    loop.py         training_loop: the recipe (set up, D steps, G steps, log, snapshot)
    state.py        TrainState: everything that trains, and all a checkpoint holds
    models.py       G and D for a config and its data; the generator of a checkpoint
    schedule.py     what changes with images shown: lr decay, D steps per G step, EMA, growth,
                    the logging / snapshot / eval points, and the precision of the forward passes
    view.py         what D sees (+ augment.py: DiffAugment's ops; PacGAN packing)
    gstep.py        how a G step is computed (standard, unrolled)
    latent.py       the label path: what G gets besides noise, and D's class and code heads
    distributed.py  gradient sync and the ranks of a torchrun launch
    health.py       checks at a logging point, and the rollback to the last good checkpoint
    output.py       what a run writes (+ sinks.py: TensorBoard)

Import from the module that defines a name (`from ganlab.training.loop import training_loop`):
this package's own import runs nothing, so a seam imports without the loop.
"""
