"""Grid studies (ganlab.study.grid): fixed configs x seeds through the study engine, the eval
schedule at listed kimg, and the reproduction write-ups (ganlab.reproduce)."""

import json
import math
from pathlib import Path

import pytest

from ganlab.errors import ConfigError

pytestmark = pytest.mark.usefixtures("one_thread")

GRID = """configs:
  - {name: ns, preset: toy-ring-ns}
  - {name: lsgan, preset: toy-ring-ns, objective: lsgan, sets: {G.width: 32}}
"""


def test_eval_schedule_crosses_every_interval_and_listed_point():
    from ganlab.training.schedule import eval_schedule

    due = eval_schedule(None, [5, 25])
    steps = [(i * 64, (i + 1) * 64) for i in range(500)]  # batch 64 up to 32 kimg
    hits = [nxt for cur, nxt in steps if due(cur, nxt)]
    assert hits == [5056, 25024]  # the first step ending at or past 5,000 and 25,000 images
    due = eval_schedule(10, [5])
    assert [nxt for cur, nxt in steps if due(cur, nxt)] == [5056, 10048, 20032, 30016]
    assert not any(eval_schedule(None, [])(c, n) for c, n in steps)


def test_eval_at_kimg_is_validated():
    from ganlab.resolve import make_config

    assert make_config({"eval_at_kimg": [1, 2.5]}).eval_at_kimg == [1.0, 2.5]
    for bad in ([0], [-1], ["x"], [True]):
        with pytest.raises(ConfigError, match="eval_at_kimg"):
            make_config({"eval_at_kimg": bad})


def test_training_evaluates_at_listed_points(tmp_path):
    from ganlab.resolve import make_config
    from ganlab.rundir import read_metrics
    from ganlab.training.loop import training_loop

    cfg = make_config({"data.name": "mnist5k", "G.arch": "dcgan", "D.arch": "dcgan", "G.width": 8, "D.width": 8,
                       "batch_size": 64, "kimg": 0.384, "log_kimg": 10, "snapshot_kimg": 10, "tensorboard": False,
                       "metrics": ["classes5k_lenet"], "eval_at_kimg": [0.1, 0.2]})
    training_loop(cfg, tmp_path, progress=False)
    evals = [r["nimg"] for r in read_metrics(tmp_path) if "classes5k_lenet" in r]
    assert evals == [128, 256, 384]  # 0.1 and 0.2 kimg, each at the end of the step crossing it; then the end


def grid_file(tmp_path, text=GRID):
    path = tmp_path / "grid.yaml"
    path.write_text(text)
    return path


def test_grid_study_runs_every_config_once_per_seed(tmp_path, run_cli):
    path = grid_file(tmp_path)
    args = ["study", "run", "--name", "g", "--grid", path, "--seeds", 2, "--kimg", 5, "--eval-every", 2.5,
            "--out", tmp_path / "studies"]
    r = run_cli(*args)
    assert r.code == 0, r.err
    assert "grid of 2 configs x 2 seed(s)" in r.out
    trials = sorted((tmp_path / "studies" / "g" / "trials").iterdir())
    assert [t.name for t in trials] == [f"cfg_{i:04d}" for i in range(4)]
    labels = [json.loads((t / "study-trial.json").read_text()) for t in trials]
    assert [(lb["group"], lb["setting"]) for lb in labels] == [("ns", {"seed": 0}), ("ns", {"seed": 1}),
                                                                ("lsgan", {"seed": 0}), ("lsgan", {"seed": 1})]
    from omegaconf import OmegaConf

    cfg = OmegaConf.load(trials[3] / "config.yaml")
    assert (cfg.objective, cfg.seed, cfg.G.width, cfg.kimg) == ("lsgan", 1, 32, 5.0)
    # Again: nothing new runs, the definition is read back.
    r = run_cli(*args)
    assert r.code == 0 and "4 of 4 finished" in r.out and "cfg 0000 ns:" not in r.out
    r = run_cli("study", "report", "g", "--out", tmp_path / "studies")
    assert r.code == 0, r.err
    summary = (tmp_path / "studies" / "g" / "report" / "summary.md").read_text()
    assert "| ns | toy-ring-ns | nonsaturating |" in summary and "| 2/2 | 0 |" in summary
    # The HTML report names each trial by its config and seed.
    from ganlab.report.rundata import load_study

    names = [run.name for run in load_study(tmp_path / "studies" / "g")[1]]
    assert names == ["cfg_0000 ns s0", "cfg_0001 ns s1", "cfg_0002 lsgan s0", "cfg_0003 lsgan s1"]

    # `study export`: the trials as a results file, with the recipe hash of each config.
    out = tmp_path / "results" / "g.json"
    r = run_cli("study", "export", "g", out, "--command", "the command", "--out", tmp_path / "studies")
    assert r.code == 0 and "4 of 4 trials complete" in r.out, r.err
    data = json.loads(out.read_text())
    assert data["command"] == "the command" and data["definition"]["objectives"] == ["ns", "lsgan"]
    assert [(t["config"], t["seed"], t["state"]) for t in data["trials"]] == [
        ("ns", 0, "COMPLETE"), ("ns", 1, "COMPLETE"), ("lsgan", 0, "COMPLETE"), ("lsgan", 1, "COMPLETE")]
    assert set(data["trials"][0]["evals"]) >= {"modes", "hq", "rkl"} and len(data["trials"][0]["evals"]["hq"]) == 2
    recipes = data["recipes"]
    assert len(recipes["ns"]) == 12 and recipes["ns"] != recipes["lsgan"]
    assert data["provenance"]["torch"] and data["provenance"]["cores"]
    r = run_cli("study", "export", "nope", out, "--out", tmp_path / "studies")
    assert r.code == 2 and len(r.err.strip().splitlines()) == 1, r.err
    assert json.loads(out.read_text()) == data  # the refused export damaged nothing

    # The study folder gone (a fresh checkout): --continue-from carries the exported trials over.
    import shutil

    shutil.rmtree(tmp_path / "studies")
    # (5 kimg reaches no high-quality sample, so every score is inf, and a trial without a finite score
    # is run again rather than carried: give them scores as a longer study would have.)
    for t in data["trials"]:
        t["score"] = 0.5
    out.write_text(json.dumps(data))
    r = run_cli(*args, "--continue-from", out)
    assert r.code == 0 and "4 trial(s) carried over as finished" in r.out, r.out + r.err
    assert not (tmp_path / "studies" / "g" / "trials").exists() or not any((tmp_path / "studies" / "g" / "trials").iterdir())
    again = tmp_path / "again.json"
    assert run_cli("study", "export", "g", again, "--out", tmp_path / "studies").code == 0
    carried = json.loads(again.read_text())["trials"]
    assert all(t.get("carried") for t in carried)
    assert [t["evals"] for t in carried] == [t["evals"] for t in data["trials"]]
    r = run_cli(*args, "--continue-from", tmp_path / "missing.json")
    assert r.code == 2 and "no such file" in r.err


def test_grid_study_refuses_a_changed_grid(tmp_path, run_cli):
    path = grid_file(tmp_path)
    base = ["study", "run", "--name", "g", "--grid", path, "--kimg", 1, "--out", tmp_path / "studies", "--dry-run"]
    r = run_cli(*base)
    assert r.code == 0 and "cfg 0001: seed=0" in r.out
    assert run_cli("study", "run", "--name", "g", "--grid", path, "--kimg", 1, "--out", tmp_path / "studies").code == 0
    r = run_cli("study", "run", "--name", "g", "--grid", path, "--kimg", 2, "--out", tmp_path / "studies")
    assert r.code == 2 and "another definition" in r.err and "kimg" in r.err


@pytest.mark.parametrize("text, message", [
    ("configs: []", "has no configs"),
    ("configs: [{name: a}]", "expected a mapping with name and preset"),
    ("configs: [{name: a, preset: toy-ring-ns}, {name: a, preset: toy-ring-ns}]", "names config 'a' twice"),
    ("configs: [{name: a, preset: nope}]", "unknown preset"),
    ("configs: [{name: a, preset: toy-ring-ns, objective: nope}]", "unknown objective"),
    ("configs: [{name: a, preset: toy-ring-ns, colour: red}]", "unknown key(s) colour"),
    ("configs: [{name: '<b>', preset: toy-ring-ns}]", "is not usable"),
    ("configs: [{name: a, preset: toy-ring-ns, sets: {G.width: -3}}]", "G.width"),
    ("configs: [{name: a, preset: toy-ring-ns, objective: hinge, sets: {objective: r1}}]", "expected one objective"),
    ("nothing: 1", "has no `configs:` list"),
    ("configs: [unclosed", "is not valid YAML"),
    ("configs: !!python/object:os.system {}", "is not valid YAML"),
])
def test_bad_grid_files_get_one_sentence(tmp_path, run_cli, text, message):
    r = run_cli("study", "run", "--name", "g", "--grid", grid_file(tmp_path, text), "--out", tmp_path / "studies")
    assert r.code == 2 and message in r.err and len(r.err.strip().splitlines()) == 1, r.err
    assert not (tmp_path / "studies" / "g").exists()


def test_an_objective_among_the_sets_is_the_entry_objective():
    from ganlab.study.grid import normalise_entries

    (e,) = normalise_entries([{"name": "a", "preset": "toy-grid-ns",
                               "sets": {"objective": "r1", "objective_args.gamma": 0.1}}])
    assert e["objective"] == "r1" and e["sets"] == {"objective_args.gamma": 0.1}


def test_grid_options_that_do_not_apply(tmp_path, run_cli):
    r = run_cli("study", "run", "--name", "g", "--grid", grid_file(tmp_path), "--trials", 3, "--out", tmp_path)
    assert r.code == 2 and "--trials do not apply to a grid study" in r.err
    r = run_cli("study", "run", "--name", "g", "--seeds", 3, "--out", tmp_path)
    assert r.code == 2 and "--seeds needs --grid FILE" in r.err


# --- Statistics and write-ups ------------------------------------------------------------------------

def test_mean_spread_against_scipy():
    from scipy import stats

    from ganlab.utils.stats import format_spread, mean_spread

    xs = [392.0, 529.0, 634.0, 480.5]
    mean, std, n, ci = mean_spread(xs + [None, math.nan])
    assert n == 4 and mean == pytest.approx(sum(xs) / 4) and std == pytest.approx(stats.tstd(xs))
    lo, hi = stats.t.interval(0.95, 3, loc=mean, scale=stats.sem(xs))
    assert ci == pytest.approx((hi - lo) / 2)
    assert mean_spread([3.0]) == (3.0, None, 1, None)
    assert mean_spread([1.0, 3.0])[3] is None  # two seeds: no interval
    assert format_spread([]) == "-" and format_spread([2.0, 4.0]) == "3 ± 1.414"
    assert "[95 % ±" in format_spread(xs)


def _fake_results(definition, groups, quick, png, value=lambda g, s: 100.0 + s):
    from ganlab.reproduce.run import Results, Trial

    trials = []
    for i, g in enumerate(groups):
        for s in range(definition["trials"]):
            points = definition.get("eval_at") or [definition["kimg"] / 2, definition["kimg"]]
            evals = {m: {k + 0.05: value(g, s) - j for j, k in enumerate(points)}
                     for m in ("fid5k_lenet", "mnist_score5k", "classes5k_lenet")}
            trials.append(Trial(i, g, s, "COMPLETE", png.parent, value=value(g, s), evals=evals,
                                grids=[(points[-1], png)], time_s=1.0))
    return Results("x", quick, definition, trials)


@pytest.fixture
def png(tmp_path):
    from PIL import Image

    path = tmp_path / "samples-kimg10.png"
    Image.new("L", (30, 30), 128).save(path)
    return path


def test_robustness_write_up(tmp_path, png):
    from ganlab.reproduce import REPRODUCTIONS

    rep = REPRODUCTIONS.lookup("wgan-gp-robustness")()
    definition = rep.definition(True, 2)
    assert len(definition["grid"]) == 28 and definition["trials"] == 2 and definition["kimg"] == 10
    by_name = {e["name"]: e for e in definition["grid"]}
    assert by_name["7-wgan"]["sets"]["G.width"] == 16 and by_name["3-lsgan"]["objective"] == "lsgan"
    value = lambda g, s: 50.0 if g.endswith("wgan-gp") else 200.0 + s  # noqa: E731
    results = _fake_results(definition, definition["objectives"], True, png, value)
    text = "\n".join(rep.sections(results, tmp_path))
    assert "| (1) DCGAN G and D | 199.5 ± 0.7071 |" in text  # NS's final values 199, 200 over two seeds
    assert "WGAN-GP in 7 of 7 settings; lower than every other objective by two-sided Welch tests" in text
    assert "in 7 of them (WGAN-GP 7)." in text
    assert not (tmp_path / "samples.png").exists()  # the text is pure; figures are drawn apart
    rep.figures(results, tmp_path, None)
    assert (tmp_path / "samples.png").is_file()
    one = _fake_results(rep.definition(True, 1), definition["objectives"], True, png, value)
    assert "One seed per cell: no objective can be shown better" in "\n".join(rep.sections(one, tmp_path))


@pytest.mark.slow  # tens of seconds: `make test-slow`
def test_seed_report_write_up_compares_honestly(tmp_path, png):
    from ganlab.reproduce import REPRODUCTIONS

    rep = REPRODUCTIONS.lookup("seed-report")(kimg=2.0)
    definition = rep.definition(True, 3)
    assert definition["eval_at"] == [0.1, 0.5, 1.0, 2.0] and definition["sets"]["snapshot_kimg"] == 0.1
    value = lambda g, s: (300.0 if g == "lsgan-mm" else 310.0) + 20 * s  # noqa: E731  overlapping seeds
    results = _fake_results(definition, definition["objectives"], True, png, value)
    rep.figures(results, tmp_path, None)
    text = "\n".join(rep.sections(results, tmp_path))
    assert "no difference shown (two-sided Welch test, p = 0.57 ≥ 0.05, 3 and 3 seeds)" in text
    assert "| gan | 3 | 330 ± 20 [95 % ± 49.68] |" in text  # epoch 1: values 310, 330, 350
    assert "closed_form_rescaling_lambda_1 | 5 | 5.0 | yes" in text
    assert (tmp_path / "samples.png").is_file() and (tmp_path / "lsgan-vs-mm.png").is_file()


def test_reproduce_end_to_end_tiny(tmp_path, run_cli):
    r = run_cli("reproduce", "seed-report", "--quick", "--kimg", 0.064, "--set", "G.width=8", "--set", "D.width=8",
                "--set", "metrics=[fid5k_lenet]", "--out", tmp_path / "docs", "--studies", tmp_path / "studies")
    assert r.code == 0, r.err
    docs = tmp_path / "docs" / "seed-report" / "quick"
    readme = (docs / "README.md").read_text()
    assert "Trials: 5 of 5 complete" in readme and "--kimg 0.064" in readme
    assert "| lsgan-mm | 1 |" in readme and "mnist5k itself has mnist_score5k 9.7" in readme
    for name in ("samples.png", "lsgan-vs-mm.png", "report.html", "results.json"):
        assert (docs / name).is_file()
    results = json.loads((docs / "results.json").read_text())
    assert [t["state"] for t in results["trials"]] == ["COMPLETE"] * 5
    assert "cfg_0004 lsgan-mm s0" in (docs / "report.html").read_text()

    # --docs-only: the same docs from the finished trials, nothing run; the study as it was run, or refused.
    args = ("reproduce", "seed-report", "--quick", "--kimg", 0.064, "--set", "G.width=8", "--set", "D.width=8",
            "--set", "metrics=[fid5k_lenet]", "--out", tmp_path / "docs", "--studies", tmp_path / "studies")
    (docs / "README.md").unlink()
    r = run_cli(*args, "--docs-only")
    assert r.code == 0, r.err
    readme = (docs / "README.md").read_text()
    assert "Trials: 5 of 5 complete" in readme and "written from the trials finished so far (`--docs-only`)" in readme
    before = readme
    r = run_cli(*args[:4], 0.128, *args[5:], "--docs-only")
    assert r.code == 2 and "was run with another definition" in r.err and len(r.err.strip().splitlines()) == 1, r.err
    r = run_cli("reproduce", "seed-report", "--docs-only", "--studies", tmp_path / "none", "--out", tmp_path / "docs")
    assert r.code == 2 and "no study 'reproduce-seed-report'" in r.err, r.err
    assert not (tmp_path / "none").exists() and (docs / "README.md").read_text() == before

    # The study folder gone (a new checkout): the committed results.json carries the finished trials over,
    # and only the one it does not hold as complete runs again; its table rows come out the same.
    import shutil

    shutil.rmtree(tmp_path / "studies")
    results["trials"][4]["state"] = "FAIL"
    (docs / "results.json").write_text(json.dumps(results))
    r = run_cli(*args)
    assert r.code == 0, r.err
    assert "4 trial(s) carried over as finished" in r.out
    readme = (docs / "README.md").read_text()
    assert "Trials: 5 of 5 complete; 4 of them carried over from the committed results.json" in readme
    trials = sorted(p.name for p in (tmp_path / "studies" / "reproduce-seed-report-quick" / "trials").iterdir())
    assert trials == ["cfg_0004"]
    table = [line for line in before.splitlines() if line.startswith("| gan | 1 |")]
    assert table and table[0] in readme.splitlines()
    (docs / "results.json").write_text("{not json")
    r = run_cli(*args)
    assert r.code == 2 and "results.json cannot be read as a reproduction's results" in r.err, r.err


def test_a_large_report_stays_with_the_study(tmp_path, monkeypatch):
    from ganlab.reproduce import REPRODUCTIONS, run

    monkeypatch.setattr(run, "REPORT_LIMIT", 10)
    study_folder = tmp_path / "studies" / "s"
    study_folder.mkdir(parents=True)
    results = run.Results("seed-report", True, {"objectives": [], "trials": 1, "seed": 0}, [])
    monkeypatch.setattr(run, "collect", lambda *a: results)
    rep = REPRODUCTIONS.lookup("seed-report")()
    monkeypatch.setattr(rep, "sections", lambda *a: ["## table"])
    monkeypatch.setattr(rep, "figures", lambda *a: None)

    def write_report(folders, path):  # a report of 100 bytes, over the limit
        path.write_text("x" * 100)
        return path
    monkeypatch.setattr("ganlab.report.html.write_report", write_report)
    readme = run.write_docs(rep, None, {}, study_folder, "seed-report", True, 1, 0, 1.0, tmp_path / "docs")
    assert not (readme.parent / "report.html").exists() and (study_folder / "report.html").is_file()
    assert f"`ganlab report {study_folder}` writes them" in readme.read_text()


def test_reproduce_rejects_unknown_names(run_cli, tmp_path):
    r = run_cli("reproduce", "nope", "--out", tmp_path)
    assert r.code == 2 and "unknown reproduction 'nope'" in r.err


def test_lucic_definition_is_the_narrow_space():
    from ganlab.reproduce import REPRODUCTIONS

    d = REPRODUCTIONS.lookup("lucic-mnist5k")().definition(True, 2)
    assert d["space"] == "narrow" and d["trials"] == 2 and len(d["objectives"]) == 7 and d["eval_every"] == 2.5


@pytest.mark.parametrize("name", ["seed-report", "wgan-gp-robustness", "lucic-mnist5k", "pacgan-toy", "pacgan-stacked",
                                  "latent-dim"])
def test_every_reproduction_defines_both_variants_and_its_write_up(name):
    from ganlab.reproduce import REPRODUCTIONS, Reproduction

    cls = REPRODUCTIONS.lookup(name)
    assert cls.sections is not Reproduction.sections
    for quick in (True, False):
        d = cls().definition(quick, 2)
        assert d["trials"] == 2 and d["objectives"] and d["kimg"] > 0


def test_the_base_reproduction_says_what_it_lacks():
    from ganlab.reproduce import Reproduction

    with pytest.raises(NotImplementedError, match="Reproduction defines no study"):
        Reproduction().definition(True, 1)


@pytest.mark.slow  # tens of seconds: `make test-slow`
def test_pacgan_toy_reproduction_runs_tiny_and_writes_both_tables(run_cli, tmp_path):
    r = run_cli("reproduce", "pacgan-toy", "--quick", "--seeds", "1", "--kimg", "1.024", "--out", tmp_path / "docs",
                "--studies", tmp_path / "studies")
    assert r.code == 0, r.err
    readme = (tmp_path / "docs" / "pacgan-toy" / "quick" / "README.md").read_text()
    assert "Trials: 16 of 16 complete" in readme
    for d in ("ring", "grid"):
        assert f"### {d}" in readme and f"| PacGAN Table 1 row ({d}) | modes | high quality % | reverse KL |" in readme
    assert "| PacGAN4 | PacGAN Table 1 | 10 | 24.8±0.2 | 93.6±0.6 | 0.04±0.01 | - |" in readme
    assert "| unrolled10 | ganlab | 1 |" in readme and "| pacgan3 | ganlab | 1 |" in readme


def test_pacgan_toy_verdict_is_a_test_per_column_and_the_goal_a_bound():
    from ganlab.reproduce.mode_collapse import PacganToy
    from ganlab.reproduce.run import Results, Trial

    finals = {"grid-r1-lr1e-3": [(25, 0.70, 0.02), (25, 0.72, 0.04)], "grid-gan": [(24, 0.40, 0.2), (25, 0.5, 0.2)]}
    trials = [Trial(cfg_id=0, group=g, seed=s, state="COMPLETE", run_dir=Path("."), time_s=60.0,
                    evals={"modes": {1000.0: m}, "hq": {1000.0: hq}, "rkl": {1000.0: kl}})
              for g, rows in finals.items() for s, (m, hq, kl) in enumerate(rows)]
    results = Results(name="pacgan-toy", quick=True, definition={"kimg": 1000.0, "seed": 0, "trials": 2}, trials=trials)
    text = PacganToy().verdict(results, "grid")
    assert "seeds 0-1 are among the 2 reported here, so this row is not a fresh-seed result" in text
    # modes 25 ± 0 against PacGAN4's 24.8 ± 0.2 s.e.: Welch p = 0.34 (ties); HQ 71 % far below 93.6 ± 0.6: worse.
    assert "| PacGAN4 24.8±0.2 / 93.6±0.6 / 0.04±0.01 | tie (p 0.34) | worse (p 0.0" in text
    assert "| GAN 17.3±0.8 / 94.8±0.7 / 0.70±0.07 | better (p " in text
    assert "Goal (25 modes, ≥ 95% high quality, reverse KL ≤ 0.03), judged by the one-sided 95% confidence bound" in text
    assert "not met (high quality, reverse KL short)." in text  # rKL mean 0.03 passes, its bound 0.093 does not


def _stacked_results(values):
    from ganlab.reproduce.run import Results, Trial

    trials = [Trial(cfg_id=0, group=group, seed=seed, state="COMPLETE", run_dir=Path("."), time_s=10.0,
                    evals={"modes26k_stacked": {100.0: m}, "modes26k_stacked_kl": {100.0: kl}})
              for group, rows in values.items() for seed, (m, kl) in enumerate(rows)]
    return Results(name="pacgan-stacked", quick=True, definition={"kimg": 100.0, "seed": 0, "trials": 2}, trials=trials)


def test_pacgan_stacked_write_up_states_both_tables_and_the_best_row(tmp_path):
    from ganlab.reproduce.mode_collapse import PacganStacked

    results = _stacked_results({"veegan-dcgan": [(400, 2.0), (500, 1.5)], "d4-pacdcgan2": [(995, 0.05), (993, 0.07)]})
    lines = PacganStacked().sections(results, tmp_path)
    text = "\n".join(lines)
    assert "| dcgan | ganlab | 2 | 450 ± 50 | 1.75 ± 0.25 | 10 |" in text
    assert "| PacDCGAN2 | PacGAN Table 2 | - | 1000.0±0.00 | 0.06±0.003 | - |" in text
    assert "| PacDCGAN4 | PacGAN Table 3 | - | 667.4±29.00 | 1.81±0.15 | - |" in text
    assert "| unrolled5 | ganlab | 0 | - | - | - |" in text
    # The means pass the goal, the one-sided 95 % bounds over two seeds do not: not met.
    assert lines[-2] == ("Best ganlab row by its means: d4-pacdcgan2 (994 modes, KL 0.06; chosen on the same seeds "
                         "that judge it). The goal (≥ 990 modes, KL ≤ 0.1), judged by the one-sided 95 % confidence bounds "
                         "of the means, is not met at 100 kimg (modes ≥ 987.7, KL ≤ 0.123).")
    close = _stacked_results({"d4-pacdcgan2": [(995, 0.05), (996, 0.06), (997, 0.05), (996, 0.06)]})
    assert "is met at 100 kimg" in "\n".join(PacganStacked().sections(close, tmp_path))
    one = _stacked_results({"d4-pacdcgan2": [(995, 0.05)]})
    assert "not decided at 100 kimg: one seed cannot bound a mean" in "\n".join(PacganStacked().sections(one, tmp_path))


@pytest.mark.slow
def test_pacgan_stacked_reproduction_runs_tiny(run_cli, tmp_path):
    r = run_cli("reproduce", "pacgan-stacked", "--quick", "--kimg", "0.256", "--set", "data.n=2000",
                "--out", tmp_path / "docs", "--studies", tmp_path / "studies")
    assert r.code == 0, r.err
    readme = (tmp_path / "docs" / "pacgan-stacked" / "quick" / "README.md").read_text()
    assert "Trials: 7 of 7 complete" in readme and "Best ganlab row by its means:" in readme


def test_latent_dim_sweep_definition_and_verdict(tmp_path):
    from ganlab.reproduce.latent_dim import Z_DIMS, LatentDim, saturation
    from ganlab.reproduce.run import Results, Trial

    d = LatentDim().definition(True, 3)
    assert d["objectives"] == [f"z{z}" for z in Z_DIMS] and d["trials"] == 3 and d["kimg"] == 100.0
    fids = {1: 400, 2: 250, 3: 180, 4: 160, 6: 141, 8: 140, 12: 139, 16: 140, 32: 141, 64: 142, 100: 140}
    trials = [Trial(cfg_id=0, group=f"z{z}", seed=s, state="COMPLETE", run_dir=tmp_path, time_s=1.0,
                    evals={"fid5k_lenet": {100.0: f + (s - 1)}, "mnist_score5k": {100.0: 9 - f / 100}})
              for z, f in fids.items() for s in range(3)]
    results = Results(name="latent-dim", quick=True, definition={**d, "seed": 0}, trials=trials)
    LatentDim().figures(results, tmp_path, None)
    text = "\n".join(LatentDim().sections(results, tmp_path))
    # three seeds of spread 1: 95 % half-width t(0.975, 2) / sqrt(3) = 2.48; best z12 139 -> z6 (141) reaches it, z4 not
    assert "Lowest mean final fid5k_lenet: z = 12" in text
    assert "is z = 6, consistent with the seed's 'about 6'. Below it: z = 1 400, z = 2 250, z = 3 180, z = 4 160." in text
    assert "Above the best" not in text  # z 16 ... 100 are within reach of z 12 here
    assert "| z1 | 3 | 400 ± 1 [95 % ± 2.484] | 400 ± 1 [95 % ± 2.484] |" in text
    assert (tmp_path / "quality-vs-zdim.png").is_file() and (tmp_path / "samples.png").is_file()
    assert saturation({1: 10.0, 2: 10.5}, {1: 1.0, 2: 1.0}, (1, 2)) == (1, 1)  # already saturated at the first z
    assert saturation({}, {}, (1, 2)) == (None, None)
    partial = Results(name="latent-dim", quick=True, definition={**d, "seed": 0}, trials=trials[:9])
    assert "Only 3 of 11 z_dims have a finished run: no verdict yet." in "\n".join(LatentDim().sections(partial, tmp_path))


def test_mean_and_standard_error_as_pacgan_reports_them():
    from ganlab.reproduce.mode_collapse import mean_se

    assert mean_se([7, 8, 9, 8]) == f"8 ± {(2 / 3) ** 0.5 / 2:.3g}"  # std sqrt(2/3), over sqrt(4)
    assert mean_se([0.5, None], scale=100) == "50 (1 of 2 without)" and mean_se([]) == "-"


def test_committed_trials_match_by_config_and_seed_when_the_seed_count_grows(tmp_path):
    from ganlab.reproduce.run import committed_trials

    old = {"grid": [{"name": "a"}, {"name": "b"}], "objectives": ["a", "b"], "trials": 2, "seed": 0, "kimg": 1.0}
    record = {"definition": old, "trials": [
        {"cfg_id": 0, "config": "a", "seed": 0, "state": "COMPLETE", "score": 1.5, "time_s": 3.0, "evals": {"fid": {"1": 1.5}}},
        {"cfg_id": 1, "config": "a", "seed": 1, "state": "FAIL", "score": None},
        {"cfg_id": 2, "config": "b", "seed": 0, "state": "COMPLETE", "score": float("nan")},
        {"cfg_id": 3, "config": "b", "seed": 1, "state": "COMPLETE", "score": 2.5, "time_s": 4.0, "evals": {}}]}
    path = tmp_path / "results.json"
    path.write_text(json.dumps(record))
    # Three seeds now: a's seed 0 stays cfg 0, b's seed 1 moves from cfg 3 to cfg 4; the failed and NaN ones run.
    got = committed_trials(path, {**old, "trials": 3})
    assert sorted(got) == [0, 4] and got[0][0] == 1.5 and got[4][1]["time_s"] == 4.0
    assert sorted(committed_trials(path, {**old, "trials": 1})) == [0]   # fewer seeds: b's seed 1 is not a trial
    # A row added in front and b's entry changed: a's trial moves to its new place, b's runs again.
    grown = {**old, "grid": [{"name": "c"}, {"name": "a"}, {"name": "b", "sets": {"lr": 1}}], "objectives": ["c", "a", "b"]}
    assert sorted(committed_trials(path, grown)) == [2]
    said = []
    assert committed_trials(path, {**old, "kimg": 2.0}, log=said.append) == {} and "kimg: 1.0 -> 2.0" in said[0]
    assert committed_trials(tmp_path / "none.json", old) == {}


GRID_FILES = sorted([*(Path(__file__).resolve().parents[1] / "docs" / "reproductions").glob("*/*.yaml"),
                     *(Path(__file__).resolve().parents[1] / "docs" / "results").glob("*/*.yaml")])


@pytest.mark.parametrize("path", GRID_FILES, ids=[f"{p.parent.name}/{p.name}" for p in GRID_FILES])
def test_the_committed_grid_files_are_valid_studies(run_cli, tmp_path, path):
    """The settings searches and longer runs that docs/reproductions cite still resolve, as their
    `ganlab study run --grid FILE` commands need (every config and seed validated, nothing run)."""
    r = run_cli("study", "run", "--name", "check", "--grid", path, "--out", tmp_path, "--dry-run")
    assert r.code == 0, r.err
    assert not any(tmp_path.iterdir())  # a dry run writes nothing
