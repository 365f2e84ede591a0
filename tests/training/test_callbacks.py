"""Callbacks: the best model kept, early stopping, a user's own — through the CLI and solve(), across a resume."""

from __future__ import annotations

import csv
import json

import pytest
import torch

from cli_runner import QUIET, pinnsolve

SMALL = ["problem.n_interior=40", "problem.n_boundary=12", "trainer.log_every=5", *QUIET]

COUNTER = '''
from pinnsolve.training.callbacks import Callback


class Counter(Callback):
    """Counts the logged rows it sees and writes the count at the end."""

    def __init__(self, path: str = "counted.txt"):
        self.path, self.rows = path, 0

    def on_log(self, trainer, row):
        self.rows += 1

    def on_fit_end(self, trainer, summary):
        summary["counted"] = self.rows
        open(self.path, "w").write(str(self.rows))
'''


def _rows(run_dir) -> list[dict]:
    return list(csv.DictReader(open(run_dir / "metrics.csv")))


def test_the_best_model_is_kept_and_loads(tmp_path, monkeypatch):
    from pinnsolve import ConfigError, load_run
    from pinnsolve.cli.predict import main as predict_main

    monkeypatch.chdir(tmp_path)
    run = tmp_path / "run"
    result = pinnsolve(*SMALL, "trainer.max_steps=30", "callbacks=[best_model]", f"hydra.run.dir={run}")
    assert result.code == 0, result.output
    errors = {int(r["step"]): float(r["l2_rel"]) for r in _rows(run) if r["l2_rel"]}
    best_step = min(errors, key=errors.get)
    summary = json.loads((run / "summary.json").read_text())
    assert summary["best"] == {"monitor": "l2_rel", "value": pytest.approx(errors[best_step], rel=1e-12),
                               "step": best_step, "file": "best.pt"}
    best, last = load_run(run, which="best"), load_run(run)
    assert best.step == best_step and last.step == 30
    x = best.problem.eval_points.sample(500, torch.Generator().manual_seed(0))
    exact = torch.sin(torch.pi * x[:, 0]) * torch.sin(torch.pi * x[:, 1])
    assert (best.predict(x) - exact).norm() / exact.norm() <= 2 * errors[best_step]   # it is that network
    predict_main([f"run={run}", "which=best", f"out={tmp_path / 'u.csv'}", "resolution=4"])
    assert (tmp_path / "u.csv").is_file()
    assert pinnsolve(*SMALL, "trainer.max_steps=2", f"hydra.run.dir={tmp_path / 'plain'}").code == 0
    with pytest.raises(ConfigError, match="has no best.pt; the best_model callback writes it"):
        load_run(tmp_path / "plain", which="best")


def test_the_best_model_continues_across_a_resume(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    run = tmp_path / "run"
    assert pinnsolve(*SMALL, "trainer.max_steps=20", "callbacks=[best_model]", "callbacks.best_model.monitor=loss",
                     f"hydra.run.dir={run}").code == 0
    first = torch.load(run / "best.pt", weights_only=True)
    resumed = pinnsolve(f"resume={run}", "trainer.max_steps=40", "callbacks=[best_model]", "callbacks.best_model.monitor=loss")
    assert resumed.code == 0, resumed.output
    losses = {int(r["step"]): float(r["loss"]) for r in _rows(run)}
    best_step = min(losses, key=losses.get)
    summary = json.loads((run / "summary.json").read_text())
    assert summary["best"]["step"] == best_step and summary["best"]["value"] == pytest.approx(losses[best_step], rel=1e-12)
    assert torch.load(run / "best.pt", weights_only=True)["step"] == best_step >= first["step"]


def test_early_stopping_and_a_user_callback_through_solve(tmp_path):
    import importlib.util

    from pinnsolve import solve
    from pinnsolve.problems import poisson2d
    from pinnsolve.training.callbacks import EarlyStopping

    (tmp_path / "user_callbacks.py").write_text(COUNTER)
    spec = importlib.util.spec_from_file_location("user_callbacks", tmp_path / "user_callbacks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    counter = module.Counter(str(tmp_path / "counted.txt"))
    stop = EarlyStopping(monitor="loss", patience=20, min_delta=0.9)   # asks for a tenfold drop every 20 steps
    _, summary = solve(poisson2d.make_problem(n_interior=40, n_boundary=12), optimizer="engd_w", run_dir=tmp_path / "run",
                       overrides=["trainer.max_steps=300", "trainer.log_every=5", *QUIET], callbacks=[stop, counter])
    assert summary["status"] == "stopped" and summary["steps"] < 300, summary
    assert summary["stopped"].startswith("early stopping: loss has not improved by 0.9")
    assert summary["steps"] - stop.best_step >= 20
    assert summary["counted"] == len(_rows(tmp_path / "run")) == int((tmp_path / "counted.txt").read_text())
    assert torch.load(tmp_path / "run" / "checkpoint.pt", weights_only=True)["step"] == summary["steps"]


def test_a_user_callback_from_the_command_line(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "my_callbacks.py").write_text(COUNTER)
    result = pinnsolve(*SMALL, "trainer.max_steps=10", "+callbacks.mine._target_=my_callbacks.Counter",
                       f"hydra.run.dir={tmp_path / 'run'}")
    assert result.code == 0, result.output
    assert (tmp_path / "counted.txt").read_text() == "3"        # steps 0, 5 and 10
    typo = pinnsolve(*SMALL, "trainer.max_steps=2", "callbacks=[best_model]", "+callbacks.best_model.monitr=loss",
                     f"hydra.run.dir={tmp_path / 'typo'}")
    assert typo.code == 2 and "callbacks.best_model.monitr is not a setting of" in typo.stderr, typo.output
    assert "did you mean callbacks.best_model.monitor?" in typo.stderr
