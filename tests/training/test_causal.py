"""Causal weighting in time: the weights follow their formula, the engine scales exactly the weighed rows
(fast and generic paths, chunks, column subsets, the line search), and a run with callbacks=[causal]
moves ε through its schedule and resumes with it."""

from __future__ import annotations

import json
import math

import pytest
import torch

from cli_runner import QUIET, pinnsolve
from pinnsolve import MLP, BatchSampler, Box, Condition, Problem, ResidualEngine
from pinnsolve.errors import ConfigError
from pinnsolve.training.causal import CausalWeighting, causal_weights

F64 = torch.float64


def test_the_weights_are_the_exponential_of_the_earlier_slabs_losses():
    t = torch.tensor([0.05, 0.2, 0.4, 0.45, 0.9, 1.0], dtype=F64)  # slabs of [0, 1] in 3: 0, 0, 1, 1, 2, 2
    r = torch.tensor([[1.0, 0.0], [0.0, 3.0], [2.0, 0.0], [0.0, 0.0], [5.0, 0.0], [1.0, 1.0]], dtype=F64)
    L = torch.tensor([(1 + 9) / 2, (4 + 0) / 2, (25 + 2) / 2], dtype=F64)
    for eps in (0.01, 0.3):
        point, slab = causal_weights(t, r, 3, eps, 0.0, 1.0)
        expected = torch.exp(-eps * torch.tensor([0.0, L[0], L[0] + L[1]], dtype=F64))
        assert torch.allclose(slab, expected, rtol=1e-14, atol=0)
        assert torch.allclose(point, expected[[0, 0, 1, 1, 2, 2]], rtol=1e-14, atol=0)
    _, empty = causal_weights(torch.tensor([0.1, 0.9], dtype=F64), torch.tensor([2.0, 1.0], dtype=F64), 3, 1.0, 0.0, 1.0)
    assert torch.allclose(empty, torch.exp(-torch.tensor([0.0, 4.0, 4.0], dtype=F64)))  # the middle slab is empty
    _, twice = causal_weights(t, r, 3, 0.3, 0.0, 1.0, reduce=lambda totals: 2 * totals)  # two ranks, same points
    assert torch.allclose(twice, causal_weights(t, r, 3, 0.3, 0.0, 1.0)[1], rtol=1e-14, atol=0)


def _system(u, x):  # two components per point
    return torch.stack([u.value - x[0], u.partial(0) * x[1]])


def _problem(n_interior=30):
    domain = Box(low=[0.0, -1.0], high=[1.0, 1.0])
    return Problem("p", [
        Condition("interior", lambda u, x: u.partial(0) - 0.1 * u.laplacian() + u.value**3, domain, n_interior),
        Condition("system", _system, domain, 20),
    ], input_names=["t", "x"])


@pytest.mark.parametrize("jacobian,chunk_size", [("fast", None), ("fast", 7), ("generic", None), ("generic", 7)])
def test_the_engine_scales_exactly_the_weighed_rows(jacobian, chunk_size):
    torch.manual_seed(0)
    problem = _problem()
    engine = ResidualEngine(problem, MLP(2, [6, 5], dtype=F64), jacobian=jacobian, chunk_size=chunk_size)
    batch = BatchSampler(problem, 0, torch.device("cpu"), F64)()
    r0, J0 = (v.clone() for v in engine.residuals_and_jacobian(batch))
    assert set(engine.paths().values()) == {jacobian}
    omega = {"interior": torch.rand(30, dtype=F64), "system": torch.rand(20, dtype=F64)}
    for name, w in omega.items():
        engine.weigh_points(name, batch[name].x, w)
    factors = torch.cat([omega["interior"].sqrt(), omega["system"].sqrt().repeat_interleave(2)])
    r, J = engine.residuals_and_jacobian(batch)
    assert torch.allclose(r, factors * r0, rtol=1e-13, atol=1e-15)
    assert torch.allclose(J, factors[:, None] * J0, rtol=1e-13, atol=1e-15)
    columns = torch.tensor([0, 3, 11, 40])
    _, Js = engine.residuals_and_jacobian(batch, columns)
    assert torch.allclose(Js, J[:, columns], rtol=1e-13, atol=1e-15)
    assert torch.allclose(engine.residuals(batch), r, rtol=1e-13, atol=1e-15)
    theta = engine.layout.flatten(engine.params()).detach()
    assert torch.allclose(engine.losses_at(batch, theta[None]), 0.5 * r.square().sum()[None], rtol=1e-13)
    fresh = BatchSampler(problem, 1, torch.device("cpu"), F64)()  # other points: not weighed
    assert torch.allclose(engine.residuals(fresh), engine.residuals_and_jacobian(fresh)[0], rtol=1e-13)
    engine.weigh_points("interior", batch["interior"].x, None)
    engine.weigh_points("system", batch["system"].x, None)
    assert torch.allclose(engine.residuals_and_jacobian(batch)[0], r0, rtol=1e-13, atol=1e-15)
    with pytest.raises(ValueError, match=">= 0"):
        engine.weigh_points("interior", batch["interior"].x, -torch.ones(30, dtype=F64))


class _Trainer:  # what the callback reads of a trainer
    distributed, step = False, 0

    def __init__(self, problem):
        self.problem, self.engine = problem, ResidualEngine(problem, MLP(2, [6], dtype=F64))
        self.sampler, self.notices = BatchSampler(problem, 0, torch.device("cpu"), F64), []

    def notice(self, message):
        self.notices.append(message)


def test_epsilon_moves_on_once_every_slab_is_resolved_and_bad_settings_are_refused():
    trainer = _Trainer(_problem())
    causal = CausalWeighting(slabs=4, epsilon=[1e-6, 1e3], tolerance=0.99)
    causal.on_fit_start(trainer)
    assert causal.time_dim == 0 and causal.t_range == [0.0, 1.0]
    batch = trainer.sampler()
    causal.on_batch(trainer, batch)  # ε = 1e-6: every weight ≈ 1, so ε moves on to 1e3 in the same step
    assert causal.epsilon == 1e3 and "ε raised to 1000" in trainer.notices[0]
    x = batch["interior"].x
    r = trainer.engine.residual_values("interior", x)
    expected, slabs = causal_weights(x[:, 0], r, 4, 1e3, 0.0, 1.0)
    assert float(causal.min_weight) == pytest.approx(float(slabs.min()))
    weighted = trainer.engine.residuals(batch)[:30]
    assert torch.allclose(weighted, expected.sqrt() * (1 / 30) ** 0.5 * r, rtol=1e-12, atol=1e-300)
    causal.on_teardown(trainer)
    assert torch.allclose(trainer.engine.residuals(batch)[:30], (1 / 30) ** 0.5 * r, rtol=1e-12)
    with pytest.raises(ConfigError, match="rising order"):
        CausalWeighting(epsilon=[1.0, 0.1])
    unnamed = Problem("q", [Condition("pde", lambda u, x: u.value, Box(0.0, 1.0, dim=2), 10)])
    with pytest.raises(ConfigError, match="time_dim"):
        CausalWeighting().on_fit_start(_Trainer(unnamed))


def test_a_causal_run_reports_its_schedule_and_resumes_with_it(tmp_path):
    common = ["problem=allen_cahn", "problem.n_interior=40", "problem.n_initial=8", "model.hidden=[8]",
              "callbacks=[causal]", "callbacks.causal.epsilon=[1e-9,1.0]", "trainer.log_every=2",
              "trainer.checkpoint_every=2", *QUIET]
    half = pinnsolve(*common, "trainer.max_steps=2", f"hydra.run.dir={tmp_path / 'half'}")
    assert half.code == 0, half.output
    summary = json.loads((tmp_path / "half" / "summary.json").read_text())
    assert summary["causal"]["epsilon"] == 1.0 and summary["causal"]["stage"] == 1
    assert 0 < summary["causal"]["min_weight"] <= 1
    assert any("ε raised to 1" in n for n in summary["notices"])
    resumed = pinnsolve(*common, "trainer.max_steps=4", f"resume={tmp_path / 'half'}")
    assert resumed.code == 0, resumed.output
    summary = json.loads((tmp_path / "half" / "summary.json").read_text())
    assert summary["steps"] == 4 and summary["causal"]["stage"] == 1
    assert math.isfinite(summary["final"]["l2_rel"])
