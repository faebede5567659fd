"""Large-scale comparisons of GAN objectives: "Are GANs Created Equal?" (Lucic et al. 2018) built in.

    spaces.py     the paper's wide and narrow search spaces, per objective, as data
    storage.py    the study definition and its durable trial store (Optuna RDB storage as a queue)
    worker.py     workers: take enqueued trials, train each in its own run directory, record its score
    launcher.py   create or continue a study, enqueue every trial once, start workers, status
    report.py     min-score vs budget by bootstrap, score distributions, sensitivity, summary.md
    presets.py    named, reproducible study definitions (`ganlab study run --preset-study NAME`)

Nothing here imports optuna at module level: `import ganlab` stays fast.
"""
