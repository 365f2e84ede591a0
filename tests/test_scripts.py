"""Every reproduction script in scripts/ runs in --smoke mode (tiny problems, 2 steps) and writes its
PNG figures and CSV tables with plausible content. The whole file stays well under a minute on CPU."""

import importlib
import math
import sys
from pathlib import Path

import pandas as pd
import pytest

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"

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
}


@pytest.fixture(scope="module", autouse=True)
def _scripts_on_path():
    sys.path.insert(0, str(SCRIPTS))
    yield
    sys.path.remove(str(SCRIPTS))


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


@pytest.mark.parametrize("script", sorted(EXPECTED))
def test_script_smoke(script, tmp_path):
    csvs, pngs = EXPECTED[script]
    module = importlib.import_module(script)
    module.main(["--smoke", "--out", str(tmp_path)])
    for name, columns in csvs.items():
        _check_csv(tmp_path / f"{name}.csv", columns)
    for name in pngs:
        _check_png(tmp_path / f"{name}.png")


def test_fig2_smoke_content(tmp_path):
    """Every optimizer of the figure ran its 2 steps, on CPU in float64, and the loss is positive."""
    module = importlib.import_module("fig2_poisson5d_optimizers")
    df = module.main(["--smoke", "--out", str(tmp_path), "--steps", "1"])
    assert set(df["label"]) == {r.label for r in module.RUNS}
    assert (df.groupby("label")["step"].max() == 1).all()
    assert (df["loss"] > 0).all() and set(df["dtype"]) == {"float64"}


def test_override_passes_through(tmp_path):
    """--override, --steps and --time-budget 0 reach the Hydra overrides (last, so they win)."""
    module = importlib.import_module("reproduce_common")
    args = module.make_parser("", "x", module.Budget(1), module.Budget(1), "n/a").parse_args(
        ["--smoke", "--out", str(tmp_path), "--override", "optimizer.lr=0.5", "--steps", "3", "--time-budget", "0"])
    overrides = module.run_overrides(module.Run("poisson2d", "a", ["optimizer=sgd"]), args)
    assert overrides[-1] == "optimizer.lr=0.5" and "trainer.max_steps=3" in overrides
    assert "trainer.time_budget=null" in overrides and "model.hidden=[8]" in overrides
