"""Problem.periodic: the network sees cos/sin of a periodic coordinate, so u is exactly periodic;
trained runs load back with their periodic inputs."""

import math

import pytest
import torch

from pinnsolve import MLP, Box, Condition, InitialSlice, Problem
from pinnsolve.models import PeriodicInputs, for_problem


def _problem(**kwargs):
    domain = Box(low=[0.0, 0.0], high=[1.0, 2 * math.pi])
    return Problem("p", [Condition("interior", lambda u, x: u.partial(0) + u.partial(1), domain, 20),
                         Condition("initial", lambda u, x: u.value - torch.sin(x[1]), InitialSlice(domain, time_dim=0), 5)],
                   **kwargs)


def test_the_model_is_periodic_in_the_periodic_coordinate_only():
    problem = _problem(periodic={1: 2 * math.pi})
    assert problem.network_inputs == 3
    torch.manual_seed(0)
    model = for_problem(MLP(problem.network_inputs, [16], dtype=torch.float64), problem)
    assert isinstance(model, PeriodicInputs)
    x = torch.rand(50, 2, dtype=torch.float64)
    shifted = x + torch.tensor([0.0, 2 * math.pi], dtype=torch.float64)
    assert torch.allclose(model(x), model(shifted), atol=1e-12, rtol=0)
    later = x + torch.tensor([0.5, 0.0], dtype=torch.float64)
    assert (model(x) - model(later)).abs().max() > 1e-3  # time is not periodic


def test_the_features_are_the_other_coordinates_then_cos_then_sin():
    seen = []

    class Recorder(torch.nn.Module):
        def forward(self, features):
            seen.append(features)
            return features[..., :1]

    model = PeriodicInputs(Recorder(), {1: 4.0})
    model(torch.tensor([[0.3, 1.0]], dtype=torch.float64))
    assert torch.allclose(seen[0], torch.tensor([[0.3, math.cos(math.pi / 2), math.sin(math.pi / 2)]], dtype=torch.float64))


@pytest.mark.parametrize("periodic", [{2: 1.0}, {1: 0.0}, {-1: 1.0}])
def test_bad_periodic_settings_are_refused(periodic):
    with pytest.raises(ValueError, match="periodic="):
        _problem(periodic=periodic)


def test_a_periodic_shipped_problem_trains_and_loads_back(tmp_path):
    from pinnsolve import load_run, solve
    from pinnsolve.problems import convection

    problem = convection.make_problem(n_interior=40, n_initial=10)
    model, summary = solve(problem, optimizer="engd_w", hidden=[8], run_dir=tmp_path / "run",
                           overrides=["trainer.max_steps=3", "trainer.progress=false", "trainer.plots=false"])
    assert summary["status"] == "finished" and math.isfinite(summary["final"]["l2_rel"])
    loaded = load_run(tmp_path / "run", problem=problem)
    x = problem.eval_points.points[:7]
    assert torch.allclose(loaded.model(x), model(x), atol=1e-14, rtol=0)
    assert torch.allclose(loaded.predict(x), model(x)[:, 0], atol=1e-14, rtol=0)  # points of the problem's [n, 2]
