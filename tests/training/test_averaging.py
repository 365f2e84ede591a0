"""callbacks=[average]: θ̄ ← βθ̄ + (1 − β)θ before every step, against the formula; evaluated and saved at the end;
kept across a resume."""

import json

import pytest
import torch

from pinnsolve import load_run, solve
from pinnsolve.problems import poisson2d
from pinnsolve.training.averaging import ParameterAverage
from pinnsolve.training.callbacks import Callback

QUIET = ["trainer.progress=false", "trainer.plots=false", "trainer.log_every=2"]


class Recorder(Callback):
    """θ before every step (what the average reads)."""

    def __init__(self):
        self.thetas = []

    def on_batch(self, trainer, batch):
        self.thetas.append(torch.cat([p.detach().reshape(-1).clone() for p in trainer.model.parameters()]))


def _problem():
    return poisson2d.make_problem(n_interior=30, n_boundary=10)


def test_the_average_follows_its_formula_and_is_evaluated_and_saved(tmp_path):
    recorder = Recorder()
    model, summary = solve(_problem(), hidden=[6], run_dir=tmp_path / "run", overrides=["trainer.max_steps=6", *QUIET],
                           callbacks=[recorder, ParameterAverage(decay=0.5)])
    expected = recorder.thetas[0]
    for theta in recorder.thetas[1:]:
        expected = 0.5 * expected + 0.5 * theta
    averaged = load_run(tmp_path / "run", problem=_problem(), which="average")
    got = torch.cat([p.detach().reshape(-1) for p in averaged.model.parameters()])
    assert torch.allclose(got, expected, rtol=1e-14, atol=1e-15)
    last = torch.cat([p.detach().reshape(-1) for p in model.parameters()])
    assert not torch.allclose(got, last)  # the run's own network stays as trained
    saved = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert saved["average"]["step"] == 6 and saved["average"]["file"] == "average.pt"
    assert 0 < saved["average"]["l2_rms"] != saved["final"]["l2_rms"]  # the average's own error, not the last network's
    named = dict(model.named_parameters())
    average = dict(zip(named, (v.view_as(p) for p, v in zip(named.values(), got.split([p.numel() for p in named.values()])))))
    x = torch.rand(50, 2, dtype=torch.float64)
    assert torch.allclose(averaged.predict(x), torch.func.functional_call(model, average, (x,))[:, 0])


def test_a_resumed_run_keeps_its_average(tmp_path):
    common = dict(hidden=[6], overrides=["trainer.max_steps=6", *QUIET])
    solve(_problem(), run_dir=tmp_path / "whole", callbacks=[ParameterAverage(decay=0.7)], **common)
    solve(_problem(), run_dir=tmp_path / "half", callbacks=[ParameterAverage(decay=0.7)],
          hidden=[6], overrides=["trainer.max_steps=3", *QUIET])
    solve(_problem(), run_dir=tmp_path / "half", resume=tmp_path / "half", callbacks=[ParameterAverage(decay=0.7)],
          **common)
    whole, half = (torch.load(tmp_path / d / "average.pt", weights_only=True)["model"] for d in ("whole", "half"))
    assert all(torch.equal(whole[k], half[k]) for k in whole)


def test_bad_settings_and_a_missing_file_are_named(tmp_path):
    with pytest.raises(ValueError, match="decay=1"):
        ParameterAverage(decay=1)
    solve(_problem(), hidden=[4], run_dir=tmp_path / "run", overrides=["trainer.max_steps=2", *QUIET])
    from pinnsolve import ConfigError
    with pytest.raises(ConfigError, match="has no average.pt; the average callback writes it"):
        load_run(tmp_path / "run", problem=_problem(), which="average")


def test_the_average_from_the_command_line(tmp_path):
    from tests.cli_runner import pinnsolve

    result = pinnsolve("callbacks=[average]", "callbacks.average.decay=0.9", "problem.n_interior=30",
                       "problem.n_boundary=10", "trainer.max_steps=4", *QUIET, f"hydra.run.dir={tmp_path / 'run'}")
    assert result.code == 0, result.output
    assert json.loads((tmp_path / "run" / "summary.json").read_text())["average"]["decay"] == 0.9
    assert (tmp_path / "run" / "average.pt").is_file()
