"""Every script in scripts/reproductions/, scripts/benchmarks/ and scripts/studies/ runs in --smoke mode (tiny
problems, 2 steps) and writes its PNG figures and CSV tables with plausible content (scripts/common/ is their
shared library). The whole file stays well under a minute on CPU."""

import importlib
import math
import runpy
import sys
from pathlib import Path

import pandas as pd
import pytest

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"
FOLDERS = [SCRIPTS / folder for folder in ("reproductions", "benchmarks", "studies")]  # imported by module name

# script -> {csv name: columns that must be present and hold finite numbers}, PNG names
EXPECTED = {
    "fig2_poisson5d_optimizers": (
        {"fig2_poisson5d_metrics": ["step", "time_s", "loss", "l2_rms"], "fig2_poisson5d_final": ["steps", "l2_rms"]},
        ["fig2_poisson5d"],
    ),
    "sven_paper": (
        {"sven_paper_metrics": ["step", "loss", "val_loss"], "sven_paper_final": ["val_loss", "epoch"],
         "sven_paper_scans": ["value", "rank", "val_loss", "train_time_s"]},
        ["sven_paper_curves", "sven_paper_scans"],
    ),
    "fig3_time_to_accuracy": (
        {"fig3_metrics": ["step", "time_s", "l2_rms"], "fig3_final": ["l2_rms", "paper_l2_rms", "paper_kfac_l2_rms"]},
        ["fig3_time_to_accuracy"],
    ),
    "fig4_nystrom": ({"fig4_metrics": ["step", "time_s", "l2_rms", "N"], "fig4_final": ["l2_rms"]}, ["fig4_nystrom"]),
    "table1_nystrom": ({"table1_nystrom": ["sketch_fraction", "solve_time_s", "peak_memory_MB", "speedup_vs_standard"]},
                       ["table1_nystrom"]),
    "fig6_effective_dimension": ({"fig6_metrics": ["step", "d_eff_over_N"], "fig6_final": ["d_eff_over_N_min"]},
                                 ["fig6_effective_dimension"]),
    "adaptive_damping": ({"adaptive_damping_metrics": ["step", "l2_rms", "damping"],
                          "adaptive_damping_final": ["l2_rms", "damping"]}, ["adaptive_damping"]),
    "sven_pinns": ({"sven_pinns_metrics": ["step", "l2_rms", "rank"], "sven_pinns_final": ["l2_rms"]}, ["sven_pinns"]),
}


@pytest.fixture(scope="module", autouse=True)
def _scripts_on_path():
    paths = [str(SCRIPTS), *map(str, FOLDERS)]   # scripts/ for `common`, each folder for its scripts
    sys.path[:0] = paths
    yield
    for path in paths:
        sys.path.remove(path)


@pytest.mark.parametrize("path", sorted(p.relative_to(SCRIPTS).as_posix() for folder in FOLDERS for p in folder.glob("*.py")))
def test_every_script_runs_as_a_file(path, monkeypatch, capsys):
    """``python scripts/<folder>/<name>.py --help``: the bootstrap finds the shared library from the file's place."""
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.setattr(sys, "argv", [str(SCRIPTS / path), "--help"])
    with pytest.raises(SystemExit) as exit_:
        runpy.run_path(str(SCRIPTS / path), run_name="__main__")
    assert exit_.value.code == 0 and "usage:" in capsys.readouterr().out


def _check_png(path: Path):
    assert path.is_file(), f"missing {path.name}"
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000, f"{path.name} is not a plausible PNG"


def _check_csv(path: Path, columns):
    assert path.is_file(), f"missing {path.name}"
    df = pd.read_csv(path)
    assert len(df) > 0, f"{path.name} is empty"
    for col in columns:
        assert col in df, f"{path.name} lacks column {col}"
        values = pd.to_numeric(df[col], errors="coerce").dropna()
        assert len(values) > 0 and all(math.isfinite(v) for v in values), f"{path.name}: column {col} not finite"
    return df


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    """Runs a script once in --smoke mode (cached for the module); returns (output dir, main's return value)."""
    cache = {}

    def run(script):
        if script not in cache:
            out = tmp_path_factory.mktemp(script)
            cache[script] = out, importlib.import_module(script).main(["--smoke", "--out", str(out)])
        return cache[script]

    return run


@pytest.mark.parametrize("script", sorted(EXPECTED))
def test_script_smoke(script, smoke):
    csvs, pngs = EXPECTED[script]
    out, _ = smoke(script)
    for name, columns in csvs.items():
        _check_csv(out / f"{name}.csv", columns)
    for name in pngs:
        _check_png(out / f"{name}.png")


def test_fig2_equal_steps(tmp_path):
    """--steps 1 --time-budget 0: every optimizer of the figure ran exactly 1 step, on CPU in float64."""
    module = importlib.import_module("fig2_poisson5d_optimizers")
    df = module.main(["--smoke", "--out", str(tmp_path), "--steps", "1", "--time-budget", "0"])
    assert set(df["label"]) == {r.label for r in module.RUNS}
    assert (df.groupby("label")["step"].max() == 1).all()
    assert (df["loss"] > 0).all() and set(df["dtype"]) == {"float64"}


def test_override_passes_through(tmp_path):
    """--override, --steps and --time-budget 0 reach the Hydra overrides (last, so they win)."""
    module = importlib.import_module("common.reproduce")
    args = module.make_parser("", "x", module.Budget(1), module.Budget(1), "n/a").parse_args(
        ["--smoke", "--out", str(tmp_path), "--override", "optimizer.lr=0.5", "--steps", "3", "--time-budget", "0"])
    overrides = module.run_overrides(module.Run("poisson2d", "a", ["optimizer=sgd"]), args)
    assert overrides[-1] == "optimizer.lr=0.5" and "trainer.max_steps=3" in overrides
    assert "trainer.time_budget=null" in overrides and "model.hidden=[8]" in overrides


def test_effective_dimension_is_a_fraction(smoke):
    out, _ = smoke("fig6_effective_dimension")
    d_eff = pd.read_csv(out / "fig6_metrics.csv")["d_eff_over_N"].dropna()
    assert len(d_eff) and ((d_eff > 0) & (d_eff <= 1)).all()


def test_adaptive_damping_runs_use_their_damping(smoke):
    """Fixed runs keep the configured λ; the adaptive runs start at theirs and move μ by factors of 3."""
    out, _ = smoke("adaptive_damping")
    df = pd.read_csv(out / "adaptive_damping_metrics.csv").dropna(subset=["damping"])
    damping = df.groupby(["problem", "label"])["damping"]
    assert damping.first()["poisson5d", "fixed λ = 3.17e-12 (tuned)"] == 3.17e-12
    assert damping.first()["poisson2d", "adaptive from 1e-4"] == pytest.approx(1e-4)
    assert (damping.nunique()[[label.startswith("fixed") for _, label in damping.nunique().index]] == 1).all()
    adaptive = df[~df["label"].str.startswith("fixed")].dropna(subset=["relative_damping"])  # fixed: λ/(tr K/N)
    mu = adaptive.groupby(["problem", "label"])["relative_damping"]
    exponents = (adaptive["relative_damping"] / mu.transform("first")).apply(lambda v: math.log(v, 3))
    assert len(exponents) == 12 and ((exponents - exponents.round()).abs() < 1e-9).all()


def test_table1_has_both_variants_per_sketch(smoke):
    _, df = smoke("table1_nystrom")
    assert set(df["variant"]) == {"standard", "GPU-efficient"}
    assert (df.groupby("sketch_fraction")["variant"].nunique() == 2).all() and (df["solve_time_s"] > 0).all()


def test_sven_scans_cover_every_value(smoke):
    _, (final, scans) = smoke("sven_paper")
    assert set(final["label"]) == {"Sven", "SGD", "PolyakSGD", "RMSprop", "Adam", "L-BFGS"}
    assert set(final["problem"]) == {"reg1d", "poly6", "mnist"}
    assert set(scans["scan"]) == {"rtol", "microbatch_size", "param_fraction"}


def test_step_memory_script_measures_every_part(capsys):
    rows = importlib.import_module("step_memory").main(["--smoke"])
    assert [row["chunk_size"] for row in rows] == [None, 16]
    assert all(row["step_MB"] >= 0 and row["jacobian_MB"] >= 0 for row in rows)
    assert "ENGD-W step [MB]" in capsys.readouterr().out


def test_gpu_check_dry_run_writes_every_section(tmp_path):
    """The GPU check's plan runs on the CPU at toy sizes (the GPU-marked tests section runs pytest itself: skipped)."""
    module = importlib.import_module("gpu_check")
    path = module.main(["--dry-run", "--out", str(tmp_path), "--seconds", "1", "--skip", "GPU-marked tests"])
    report = path.read_text()
    assert "dry run on the CPU" in report and "**failed:**" not in report, report
    for title in ("Optimizer benchmark", "Host-synchronisation audit", "Time to accuracy"):
        assert f"## {title}" in report
    assert report.count("| none |") == len(module.optimizers(None, 80))    # no optimizer reads a value on the host
    assert "ENGD-W + line search" in report and "Sven at N = 40" in report


def test_damping_study_smoke_builds_its_table(tmp_path):
    result = importlib.import_module("damping_study").main(["--smoke", "--out", str(tmp_path)])
    assert list(result["problem"]) == ["poisson2d"] and result["best_lambda"].iloc[0] == "1e-10"
    runs = pd.read_csv(tmp_path / "damping_study_runs.csv")
    assert set(runs["damping"].astype(str)) == {"auto", "1e-10"} and (runs["steps"] == 2).all()
    _check_png(tmp_path / "damping_study.png")


def test_scaling_benchmark_smoke_covers_solvers_budget_cg_and_ranks():
    result = importlib.import_module("benchmark_scaling").main(["--smoke"])
    skipped = [entry for entry in result["steps"] if entry[2] is None]
    assert skipped == [(160, "cholesky", None, None)]                      # K over the budget: skipped, said
    assert {solver for n, solver, seconds, _ in result["steps"] if n == 160 and seconds} == {"nystrom", "cg"}
    assert len(result["cg"]) == 4 and all(iterations > 0 for _, _, iterations, _ in result["cg"])
    assert [solver for solver, _, _ in result["ranks"]] == ["cholesky", "nystrom", "cg"]
    run = result["cg_run"][60]
    assert len(run) == 3 and all(0 < iterations <= 100 and attempts >= 1 for _, iterations, _, _, attempts in run)


def test_damping_rules_script_runs_its_candidates():
    results = importlib.import_module("damping_rules").main(["--smoke"])
    assert set(results) == {("poisson2d", "auto"), ("poisson2d", "lm_taken")}
    assert all(0 < v < 10 for finals in results.values() for v in finals)


def test_yardsticks_set_each_error_beside_its_best_record(tmp_path):
    import yardsticks

    from pinnsolve.problems import kovasznay, wave

    table = yardsticks.main(["--smoke", "--problems", "wave", "kovasznay", "--methods", "engd_w", "--out", str(tmp_path)])
    assert list(table["error"]) == ["l2_rel", "l2_rel_u", "l2_rel_v"]
    assert table["record"].tolist() == [min(r["l2_rel"] for r in wave.RECORDS), kovasznay.RECORDS[0]["l2_rel_u"],
                                        kovasznay.RECORDS[0]["l2_rel_v"]]
    assert (table["ratio"] - table["value"] / table["record"]).abs().max() < 1e-12
    assert (table["value"] > 0).all() and (table["steps"] == 2).all()
    _check_csv(tmp_path / "yardsticks_final.csv", ["value", "record", "ratio"])
    _check_png(tmp_path / "yardsticks.png")


def test_yardsticks_run_each_shipped_recipe_and_say_which_problems_have_none(tmp_path, capsys):
    import yardsticks

    table = yardsticks.main(["--smoke", "--problems", "burgers", "inverse_diffusivity", "--methods", "recipe", "--out", str(tmp_path)])
    assert yardsticks.has_recipe("burgers") and not yardsticks.has_recipe("inverse_diffusivity")
    assert list(table["problem"]) == ["burgers"] and list(table["method"]) == ["recipe"]
    assert "no recipe ships for inverse_diffusivity" in capsys.readouterr().out


def test_roofline_sets_each_part_against_the_gemm_rate_of_the_same_run():
    result = importlib.import_module("roofline").main(["--smoke"])
    assert result["gemm_rate"] > 0 and set(result["parts"]) == {
        "Jacobian J", "kernel K = JJᵀ (lower)", "Cholesky of K + λI", "one line-search loss"}
    N, P = 140, 129
    assert result["parts"]["Cholesky of K + λI"][1] == N**3 / 3
    assert result["parts"]["kernel K = JJᵀ (lower)"][1] >= N * N * P  # at least the triangle's 2·N²P/2
    assert 1 <= result["losses_per_step"] <= 31 and 0 < result["bound"] and result["step"] > 0


def test_jacobian_paths_times_both_paths_on_every_case():
    result = importlib.import_module("jacobian_paths").main(["--smoke"])
    assert len(result) == 5 and all(s["fast"] > 0 and s["generic"] > 0 for s in result.values())
