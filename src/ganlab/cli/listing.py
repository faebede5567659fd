"""`ganlab list [KIND]`: every registry, one name per line."""

import click

from ganlab.presets import PRESETS


LIST_KINDS = ("objectives", "penalties", "constraints", "g_steps", "networks", "datasets", "presets", "metrics",
              "pretrained")


@click.command(name="list")
@click.argument("kind", required=False, type=click.Choice(LIST_KINDS))
def list_(kind):
    """List registered names, one per line (name first, then a description).

    \b
    Examples:
      ganlab list
      ganlab list objectives
      ganlab list presets
    """
    from ganlab.data import DATASETS
    from ganlab.metrics import METRICS
    from ganlab.networks import NETWORKS
    from ganlab.objectives import OBJECTIVES, objective_params, term_params
    from ganlab.regularizers import CONSTRAINTS, PENALTIES
    from ganlab.training.gstep import G_STEPS, g_step_params

    registries = {"objectives": OBJECTIVES, "penalties": PENALTIES, "constraints": CONSTRAINTS, "g_steps": G_STEPS,
                  "networks": NETWORKS, "datasets": DATASETS, "presets": PRESETS, "metrics": METRICS}
    for k in [kind] if kind else LIST_KINDS:
        if not kind:
            click.echo(f"# {k}")
        if k == "pretrained":
            from ganlab.pretrained import describe, index

            for name in sorted(index()):
                click.echo(f"{name}  {describe(name)}")
            continue
        reg = registries[k]
        for name in sorted(reg):
            desc = reg.descriptions.get(name, "")
            if k == "objectives" and objective_params(name):
                desc += " [objective_args: " + ", ".join(f"{a}={v}" for a, v in objective_params(name).items()) + "]"
            if k in ("penalties", "constraints"):
                key = "penalty_args" if k == "penalties" else "constraint_args"
                desc += f" [{key}: " + ", ".join(f"{a}={v}" for a, v in term_params(reg, name).items()) + "]"
            if k == "g_steps" and g_step_params(name):
                desc += " [g_step_args: " + ", ".join(f"{a}={v}" for a, v in g_step_params(name).items()) + "]"
            click.echo(f"{name}  {desc}".rstrip())
