"""Residual-based adaptive placement (RAD): the probabilities follow their formula, the drawn points follow
the residual's density, and a run with callbacks=[rad] resumes onto the same points."""

from __future__ import annotations

import math

import pytest
import torch

from cli_runner import QUIET, pinnsolve
from pinnsolve import MLP, BatchSampler, Box, Condition, Problem, ResidualEngine
from pinnsolve.errors import ConfigError
from pinnsolve.training.placement import ResidualAdaptivePlacement, rad_probabilities


def test_probabilities_are_the_normalised_power_of_the_residual_plus_c():
    r = torch.tensor([[3.0, 4.0], [0.0, 1.0], [1.0, 0.0], [0.0, 0.0]], dtype=torch.float64)  # norms 5, 1, 1, 0
    norms = torch.tensor([5.0, 1.0, 1.0, 0.0], dtype=torch.float64)
    for k, c in [(1.0, 1.0), (2.0, 0.0), (0.5, 3.0)]:
        weight = norms**k / (norms**k).mean() + c
        assert torch.allclose(rad_probabilities(r, k, c), weight / weight.sum(), atol=1e-15, rtol=0)
    zero = torch.zeros(4)
    assert torch.allclose(rad_probabilities(zero, 1.0, 0.0), torch.full_like(zero, 0.25))  # no residual: uniform


class _Trainer:  # what the callback reads of a trainer
    def __init__(self, problem, model):
        self.problem, self.engine = problem, ResidualEngine(problem, model)
        self.sampler = BatchSampler(problem, 0, torch.device("cpu"), torch.float64)


def test_the_points_follow_the_residual_density():
    # r(x) = x₀⁴ whatever the network: with k = 1, c = 0 the points' density is 5x₀⁴ on [0, 1], mean 5/6
    problem = Problem("p", [Condition("interior", lambda u, x: x[0] ** 4 + 0 * u.value, Box(0.0, 1.0, dim=2), 2000)])
    trainer = _Trainer(problem, MLP(2, [4], dtype=torch.float64))
    placement = ResidualAdaptivePlacement(k=1.0, c=0.0, pool=50)
    placement.on_fit_start(trainer)
    x = trainer.sampler()["interior"].x
    assert x.shape == (2000, 2)
    assert abs(float(x[:, 0].mean()) - 5 / 6) < 0.02          # uniform: 1/2
    assert abs(float(x[:, 1].mean()) - 0.5) < 0.03            # the other coordinate stays uniform
    assert len(torch.unique(x, dim=0)) == 2000                 # drawn without replacement
    uniform = ResidualAdaptivePlacement(k=1.0, c=1e9, pool=5)
    uniform.on_fit_start(trainer)
    assert abs(float(trainer.sampler()["interior"].x[:, 0].mean()) - 0.5) < 0.03


def test_fixed_or_unknown_conditions_are_refused():
    problem = Problem("p", [Condition("interior", lambda u, x: u.value, Box(0.0, 1.0, dim=1), 10, fixed=True)])
    trainer = _Trainer(problem, MLP(1, [4], dtype=torch.float64))
    with pytest.raises(ConfigError, match="fixed"):
        ResidualAdaptivePlacement().on_fit_start(trainer)
    with pytest.raises(ConfigError, match="no condition"):
        ResidualAdaptivePlacement(conditions=["pde"]).on_fit_start(trainer)
    with pytest.raises(ConfigError, match="pool"):
        ResidualAdaptivePlacement(pool=0)


def test_a_rad_run_resumes_onto_the_same_points(tmp_path):
    common = ["problem=burgers", "problem.n_interior=40", "problem.n_initial=8", "problem.n_boundary=8", "model.hidden=[8]",
              "callbacks=[rad]", "trainer.log_every=2", "trainer.checkpoint_every=2", *QUIET]
    whole = pinnsolve(*common, "trainer.max_steps=4", f"hydra.run.dir={tmp_path / 'whole'}")
    assert whole.code == 0, whole.output
    half = pinnsolve(*common, "trainer.max_steps=2", f"hydra.run.dir={tmp_path / 'half'}")
    assert half.code == 0, half.output
    resumed = pinnsolve(*common, "trainer.max_steps=4", f"resume={tmp_path / 'half'}")
    assert resumed.code == 0, resumed.output
    a = torch.load(tmp_path / "whole" / "checkpoint.pt", weights_only=True)["model"]
    b = torch.load(tmp_path / "half" / "checkpoint.pt", weights_only=True)["model"]
    assert all(torch.equal(a[k], b[k]) for k in a)
    rows = [line.split(",")[2] for line in (tmp_path / "whole" / "metrics.csv").read_text().splitlines()[1:]]
    assert all(math.isfinite(float(v)) for v in rows)
