"""Kernel-balanced condition weights: the formula, the engine's per-condition kernel traces against the dense
J, blocks of equal trace after an update, the caller's problem left as it was, and a run that resumes."""

from __future__ import annotations

import json

import pytest
import torch

from cli_runner import QUIET, pinnsolve
from pinnsolve import MLP, BatchSampler, Box, Condition, Problem, ResidualEngine
from pinnsolve.errors import ConfigError
from pinnsolve.training.balance import KernelBalancedWeights, balanced_weights

F64 = torch.float64


def test_the_weights_are_inverse_to_the_mean_kernel_diagonal_and_sum_to_the_count():
    traces = {"pde": (4000.0, 100.0), "initial": (20.0, 10.0), "boundary": (8.0, 2.0), "dead": (0.0, 5.0)}
    w = balanced_weights(traces)
    inverse = 1 / 40 + 1 / 2 + 1 / 4
    assert w["pde"] == pytest.approx(3 * (1 / 40) / inverse, rel=1e-14)
    assert w["initial"] == pytest.approx(3 * (1 / 2) / inverse, rel=1e-14)
    assert w["dead"] == 1.0  # no row of J: nothing to balance
    assert w["pde"] * 40 == pytest.approx(w["initial"] * 2, rel=1e-14) == pytest.approx(w["boundary"] * 4, rel=1e-14)
    assert sum(w[n] for n in ("pde", "initial", "boundary")) == pytest.approx(3, rel=1e-14)


def _problem():
    domain = Box(low=[0.0, -1.0], high=[1.0, 1.0])
    return Problem("p", [
        Condition("interior", lambda u, x: u.partial(0) - 0.5 * u.laplacian(), domain, 30),
        Condition("initial", lambda u, x: u.value - torch.sin(3 * x[1]), domain, 12, weight=3.0),
    ], input_names=["t", "x"])


class _Trainer:  # what the callback reads of a trainer
    distributed, step = False, 0

    def __init__(self, problem, chunk_size=None):
        self.problem = problem
        self.engine = ResidualEngine(problem, MLP(2, [6, 5], dtype=F64), chunk_size=chunk_size)
        self.sampler = BatchSampler(problem, 0, torch.device("cpu"), F64)


@pytest.mark.parametrize("chunk_size", [None, 5])
def test_the_engine_records_each_condition_s_unscaled_kernel_trace(chunk_size):
    torch.manual_seed(0)
    trainer = _Trainer(_problem(), chunk_size)
    batch = trainer.sampler()
    trainer.engine.residuals_and_jacobian(batch)
    assert trainer.engine.jacobian_norms == {}  # nobody asked: no extra pass over J
    trainer.engine.record_jacobian_norms = True
    _, J = trainer.engine.residuals_and_jacobian(batch)
    blocks = {"interior": J[:30] / (1 / 30) ** 0.5, "initial": J[30:] / (3.0 / 12) ** 0.5}
    for name, block in blocks.items():
        trace, count = trainer.engine.jacobian_norms[name]
        assert float(trace) == pytest.approx(float(block.square().sum()), rel=1e-12)
        assert int(count) == len(block)


def test_after_an_update_every_block_of_the_scaled_kernel_has_the_same_trace():
    torch.manual_seed(0)
    problem = _problem()
    trainer = _Trainer(problem)
    balance = KernelBalancedWeights(every=2)
    balance.on_fit_start(trainer)
    batch = trainer.sampler()
    balance.on_batch(trainer, batch)  # no J yet (step 0): the callback builds one
    _, J = trainer.engine.residuals_and_jacobian(batch)
    interior, initial = J[:30].square().sum(), J[30:].square().sum()
    assert float(interior) == pytest.approx(float(initial), rel=1e-10)
    assert sum(c.weight for c in problem.conditions) == pytest.approx(2, rel=1e-14)
    state = balance.state_dict()
    trainer.step = 1  # not an update step: the weights stay
    balance.on_batch(trainer, trainer.sampler())
    assert balance.state_dict() == state
    balance.on_teardown(trainer)
    assert [c.weight for c in problem.conditions] == [1.0, 3.0]  # the caller's problem as it was
    resumed = KernelBalancedWeights()
    resumed.load_state_dict(json.loads(json.dumps(state)))
    resumed.on_fit_start(_Trainer(problem))
    assert [c.weight for c in problem.conditions] == [state["weights"]["interior"], state["weights"]["initial"]]
    assert trainer.engine.record_jacobian_norms is False


def test_without_a_jacobian_between_updates_the_weights_follow_the_network_not_the_first_j():
    torch.manual_seed(0)
    trainer = _Trainer(_problem())
    balance = KernelBalancedWeights(every=2)
    balance.on_fit_start(trainer)
    batch = trainer.sampler()
    balance.on_batch(trainer, batch)
    first = dict(balance.weights)
    with torch.no_grad():  # a first-order optimizer moved the network; it formed no J
        for p in trainer.engine.model.parameters():
            p.mul_(3.0)
    trainer.step = 2
    balance.on_batch(trainer, batch)
    assert balance.weights["interior"] != pytest.approx(first["interior"], rel=1e-3)
    _, J = trainer.engine.residuals_and_jacobian(batch)  # the new weights balance the moved network's blocks
    assert float(J[:30].square().sum()) == pytest.approx(float(J[30:].square().sum()), rel=1e-10)


def test_bad_balance_settings_are_refused():
    with pytest.raises(ConfigError, match="no condition"):
        KernelBalancedWeights(conditions=["pde"]).on_fit_start(_Trainer(_problem()))
    with pytest.raises(ConfigError, match="smoothing"):
        KernelBalancedWeights(smoothing=1.0)


@pytest.mark.parametrize("optimizer", ["engd_w", "adam"])
def test_a_balanced_run_reports_its_weights_and_resumes_with_them(optimizer, tmp_path):
    common = ["problem=wave", f"optimizer={optimizer}", "problem.n_interior=40", "problem.n_initial=8",
              "problem.n_boundary=8", "model.hidden=[8]", "callbacks=[balance]", "callbacks.balance.every=2",
              "trainer.log_every=2", "trainer.checkpoint_every=2", *QUIET]
    half = pinnsolve(*common, "trainer.max_steps=2", f"hydra.run.dir={tmp_path / 'half'}")
    assert half.code == 0, half.output
    weights = json.loads((tmp_path / "half" / "summary.json").read_text())["condition_weights"]
    assert set(weights) == {"interior", "initial_value", "initial_velocity", "boundary"}
    assert sum(weights.values()) == pytest.approx(4, rel=1e-12) and weights["interior"] != 1.0
    resumed = pinnsolve(*common, "trainer.max_steps=4", f"resume={tmp_path / 'half'}")
    assert resumed.code == 0, resumed.output
    summary = json.loads((tmp_path / "half" / "summary.json").read_text())
    assert summary["steps"] == 4 and sum(summary["condition_weights"].values()) == pytest.approx(4, rel=1e-12)
