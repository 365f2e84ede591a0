"""Inverse problems: trainable coefficients declared on the problem are columns of J on both paths, move
under every kind of optimizer, are saved and reloaded, and a name nobody declared is a clear error."""

import csv
import importlib.util
from pathlib import Path

import pytest
import torch

from pinnsolve import MLP, Box, Condition, Problem, ResidualEngine, ResidualError, load_run, solve
from pinnsolve.engine.batches import BatchSampler
from pinnsolve.engine.jet import FunctionJet

EXAMPLE = Path(__file__).parents[2] / "examples" / "inverse_heat.py"


def _example():
    spec = importlib.util.spec_from_file_location("inverse_heat_example", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _reaction_problem(**parameters):
    def pde(u, x, params):  # −Δu + k u² − s = 0: two coefficients, one of them nonlinear in u
        return -u.laplacian() + params["k"] * u.value**2 - params["s"] * x[0]

    return Problem("reaction", [Condition("interior", pde, Box(0.0, 1.0, dim=2), 7)], parameters=parameters)


@pytest.mark.parametrize("path", ["fast", "generic"])
def test_coefficient_columns_are_the_residuals_derivatives(path):
    torch.manual_seed(0)
    problem, model = _reaction_problem(k=0.7, s=-1.5), MLP(2, [6], 1)
    batch = BatchSampler(problem, 0, torch.device("cpu"), torch.float64)()
    engine = ResidualEngine(problem, model, jacobian=path)
    r, J = engine.residuals_and_jacobian(batch)
    assert engine.paths() == {"interior": path}
    names = engine.layout.names
    assert names[:2] == ["coefficient_k", "coefficient_s"] and J.shape[1] == 2 + 6 * 2 + 6 + 6 + 1
    x = batch["interior"].x
    scale = (1 / 7) ** 0.5
    u = torch.stack([FunctionJet(lambda p: model(p[None])[0], xi).value for xi in x]).detach()
    torch.testing.assert_close(J[:, 0], scale * u**2, rtol=1e-12, atol=1e-14)  # ∂r/∂k = u²
    torch.testing.assert_close(J[:, 1], -scale * x[:, 0], rtol=1e-12, atol=1e-14)  # ∂r/∂s = −x₀
    other = ResidualEngine(problem, model, jacobian="generic" if path == "fast" else "fast")
    r2, J2 = other.residuals_and_jacobian(batch)
    torch.testing.assert_close(r, r2, rtol=1e-12, atol=1e-13)
    torch.testing.assert_close(J, J2, rtol=1e-11, atol=1e-12)


def test_a_name_nobody_declared_is_a_clear_error():
    problem = _reaction_problem(k=1.0)
    engine = ResidualEngine(problem, MLP(2, [4], 1))
    with pytest.raises(ResidualError, match=r"params\['s'\] is not a parameter of this problem \(declared: k\)"):
        engine.residuals_and_jacobian(BatchSampler(problem, 0, torch.device("cpu"), torch.float64)())


def test_the_diffusivity_of_the_heat_equation_is_recovered_from_noisy_data(tmp_path):
    """examples/inverse_heat.py, smaller: κ from 0.5 to within 3 % of 0.25 in 150 ENGD-W steps (0.7 % measured)."""
    problem = _example().make_problem(n_interior=300, n_initial=30, n_boundary=30)
    model, summary = solve(problem, optimizer="engd_w", hidden=[32], run_dir=tmp_path / "run",
                           overrides=["trainer.max_steps=150", "trainer.threads=1", "trainer.progress=false"])
    kappa = summary["final"]["kappa"]
    assert abs(kappa - 0.25) / 0.25 < 0.03, summary["final"]
    rows = list(csv.DictReader(open(tmp_path / "run" / "metrics.csv")))
    assert float(rows[0]["kappa"]) == 0.5 and float(rows[-1]["kappa"]) == pytest.approx(kappa)
    state = torch.load(tmp_path / "run" / "checkpoint.pt", weights_only=True)
    assert float(state["model"]["coefficient_kappa"]) == pytest.approx(kappa)
    loaded = load_run(tmp_path / "run", problem=problem)
    assert loaded.coefficients == pytest.approx({"kappa": kappa})


def test_a_first_order_optimizer_moves_the_coefficient_too(tmp_path):
    problem = _example().make_problem(n_interior=100, n_initial=20, n_boundary=20)
    _, summary = solve(problem, optimizer="adam", hidden=[16], run_dir=tmp_path / "run",
                       overrides=["trainer.max_steps=20", "trainer.threads=1", "trainer.progress=false"])
    assert summary["final"]["kappa"] != 0.5 and not summary["notices"]


def test_a_declared_coefficient_no_residual_reads_is_named(tmp_path):
    def pde(u, x):
        return -u.laplacian() - 1.0

    problem = Problem("unused", [Condition("interior", pde, Box(0.0, 1.0, dim=2), 20)], parameters={"alpha": 1.0})
    _, summary = solve(problem, optimizer="engd_w", hidden=[8], run_dir=tmp_path / "run",
                       overrides=["trainer.max_steps=2", "trainer.progress=false"])
    assert any("coefficient_alpha" in note and "cannot move" in note for note in summary["notices"]), summary["notices"]


def test_the_diffusivity_fields_source_is_minus_the_divergence_of_the_flux():
    from pinnsolve.problems import inverse_diffusivity as m

    x = torch.rand(30, 2, dtype=torch.float64)

    def minus_divergence(p):  # −∇·(a⋆∇u⋆) by automatic differentiation, the dense reference
        return -torch.func.jacrev(lambda q: m.exact_a(q) * torch.func.grad(m.exact_u)(q))(p).diagonal().sum()

    assert torch.allclose(torch.func.vmap(m.source)(x), torch.func.vmap(minus_divergence)(x), atol=1e-12, rtol=0)


def test_the_diffusivity_field_problem_holds_out_a_fifth_of_the_data_and_logs_its_misfit(tmp_path):
    from pinnsolve.problems import inverse_diffusivity as m

    problem = m.make_problem(n_interior=40, n_boundary=20, n_data=50, noise=0.01)
    assert problem.conditions[-1].points.points.shape[0] == problem.conditions[-1].n_points == 40
    model, summary = solve(problem, optimizer="engd_w", hidden=[8], run_dir=tmp_path / "run",
                           overrides=["trainer.max_steps=3", "trainer.progress=false", "trainer.plots=false"])
    final = summary["final"]
    assert {"l2_rel_u", "l2_rel_a", "val_loss"} <= set(final)
    x, y = m.observations(50, 0.01)
    expected = (model(x[:10]).detach()[:, 0] - y[:10]).square().mean()
    assert abs(final["val_loss"] - float(expected)) < 1e-12 * (1 + float(expected))
    with pytest.raises(ValueError, match="noise"):
        m.make_problem(noise=-1.0)
