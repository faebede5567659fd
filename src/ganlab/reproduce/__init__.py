"""Reproductions: a paper's (or the seed report's) experiment as a study, and its write-up.

`ganlab reproduce NAME [--quick] [--seeds N] [--workers N]` runs the study of a registered
reproduction (a grid of configs x seeds, or a random search) with the study engine's workers,
storage and crash safety, then writes docs/reproductions/NAME/ (NAME/quick/ for --quick): README.md
with the tables (mean ± std over seeds, a 95 % interval from three seeds), the published numbers
beside ours and how the protocols differ, the figures, the exact command and the wall time, and the
HTML report of every trial.

A reproduction is registered with its study definition and the sections of its write-up:

    @REPRODUCTIONS.register("name", "what it reproduces")
    class Name(Reproduction):
        def definition(self, quick, seeds): ...        # a grid or random study definition
        def sections(self, results, folder): ...      # markdown lines, from results alone
        def summary(self, results): ...               # one computed sentence (optional)
        def figures(self, results, folder, study): ...  # figures saved in folder (optional)
"""

from ganlab.utils.registry import Registry

REPRODUCTIONS = Registry("reproduction")


class Reproduction:
    """One reproduction; subclasses give the study and the write-up."""

    title = ""
    source = ""          # the paper or report reproduced, as cited in docs
    default_seeds = 3
    quick_seeds = 1
    # Where the rows' settings come from, printed on the page: the papers' own, or the seeds a search
    # chose them on (rows reported on those same seeds are not fresh-seed results).
    chosen_on = "the papers' settings and ganlab's presets, fixed before these runs (no search on these seeds)"

    def __init__(self, kimg=None, sets=None):
        self.kimg = kimg          # the user's --kimg: every run this long, eval points and snapshots scaled
        self.sets = dict(sets or {})  # the user's --set, on top of every trial

    def definition(self, quick, seeds):
        """The study definition (a grid or a random search) of the full or quick variant; every
        registered reproduction gives its own."""
        raise NotImplementedError(f"{type(self).__name__} defines no study")

    def schedule(self, kimg, eval_at=(), eval_every=None, sets=None):
        """(kimg, eval_at, eval_every, sets) after the user's --kimg and --set: a shorter or longer
        run keeps its eval points and snapshots at the same fractions of its length."""
        sets = dict(sets or {})
        if self.kimg is not None:
            scale = self.kimg / kimg
            kimg, eval_at = self.kimg, [k * scale for k in eval_at]
            eval_every = None if eval_every is None else eval_every * scale
            if "snapshot_kimg" in sets:
                sets["snapshot_kimg"] = sets["snapshot_kimg"] * scale
        return kimg, list(eval_at), eval_every, {**sets, **self.sets}

    def sections(self, results, folder, study=None):
        """Markdown lines after the standard header (tables, published numbers, figures, conclusion);
        every registered reproduction gives its own. Pure: computed from `results` (and files committed
        in `folder`) alone, so that `ganlab reproduce --check` regenerates the same text."""
        raise NotImplementedError(f"{type(self).__name__} writes no sections")

    def summary(self, results):
        """One sentence: the page's computed outcome (for the README's table of reproductions)."""
        return ""

    def figures(self, results, folder, study):
        """Draw what the page shows from the trials' run directories (sample grids) or the study, into
        `folder`; called before `sections` when the study is at hand, never by the check."""


def _register_all():
    from ganlab.reproduce import experiments, latent_dim, mode_collapse  # noqa: F401  (they register on import)


_register_all()
