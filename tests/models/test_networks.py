"""The networks beyond the MLP: forward-Laplacian Jacobians equal the generic torch.func path in float64,
and each network is what its docstring says."""

import math

import pytest
import torch

from pinnsolve import MLP, BatchSampler, ResidualEngine
from pinnsolve.models import FourierFeatures, FourierMLP, ModifiedMLP, PeriodicInputs, ResidualMLP, for_problem
from pinnsolve.problems import poisson2d

from tests.engine.test_engine import heat_like_problem

torch.manual_seed(0)
NETWORKS = {
    "fourier_mlp": lambda d: FourierMLP(d, [10, 9], features=6, scale=0.7),
    "fourier_mlp_keep": lambda d: FourierMLP(d, [10], features=4, keep_inputs=True, activation="sin"),
    "residual_mlp": lambda d: ResidualMLP(d, [9, 9, 9], activation="gelu"),
    "modified_mlp": lambda d: ModifiedMLP(d, [8, 8, 8]),
    "periodic_modified": lambda d: PeriodicInputs(ModifiedMLP(d + 1, [7, 7]), {1: 2.0}),
    "periodic_mlp": lambda d: PeriodicInputs(MLP(d + 2, [9]), {1: 1.5, 2: 3.0}),
}
PROBLEMS = {"heat_like": heat_like_problem, "poisson2d": lambda: poisson2d.make_problem(n_interior=20, n_boundary=8)}


@pytest.mark.parametrize("network", NETWORKS)
@pytest.mark.parametrize("problem_name", PROBLEMS)
def test_fast_path_equals_the_generic_path(network, problem_name):
    problem = PROBLEMS[problem_name]()
    if network == "periodic_mlp" and problem.dim < 3:
        pytest.skip("two periodic coordinates need three dimensions")
    torch.manual_seed(1)
    model = NETWORKS[network](problem.dim)
    batch = BatchSampler(problem, 0, torch.device("cpu"), torch.float64)()
    fast, generic = ResidualEngine(problem, model, "fast"), ResidualEngine(problem, model, "generic")
    r1, J1 = fast.residuals_and_jacobian(batch)
    r2, J2 = generic.residuals_and_jacobian(batch)
    assert set(fast.paths().values()) == {"fast"}
    assert J1.shape == (problem.n_points, sum(p.numel() for p in model.parameters()))
    assert torch.allclose(r1, r2, rtol=1e-12, atol=1e-12)
    assert (J1 - J2).abs().max() <= 1e-11 * J2.abs().max()
    assert torch.allclose(fast.loss(batch), generic.loss(batch), rtol=1e-12)


def test_fourier_features_are_fixed_saved_and_scaled():
    torch.manual_seed(0)
    features = FourierFeatures(3, features=200, scale=2.0)
    assert not list(features.parameters()) and "basis" in features.state_dict()
    assert features.basis.std().item() == pytest.approx(2 * math.pi * 2.0, rel=0.1)
    x = torch.rand(5, 3, dtype=torch.float64)
    out = features(x)
    assert out.shape == (5, 400)
    z = x @ features.basis.T
    assert torch.allclose(out, torch.cat([torch.cos(z), torch.sin(z)], 1))
    with pytest.raises(ValueError, match="scale > 0"):
        FourierFeatures(3, scale=0.0)


def test_modified_mlp_is_the_gated_network():
    torch.manual_seed(0)
    net = ModifiedMLP(2, [5, 5])
    x = torch.rand(7, 2, dtype=torch.float64)
    u, v = torch.tanh(net.encoder_u(x)), torch.tanh(net.encoder_v(x))
    h = x
    for layer in net.layers:
        z = torch.tanh(layer(h))
        h = z * u + (1 - z) * v
    assert torch.allclose(net(x), net.head(h), atol=1e-14)


def test_residual_mlp_adds_its_input():
    torch.manual_seed(0)
    net = ResidualMLP(2, [6, 6])
    for p in net[2].linear.parameters():  # a block whose layer is zero is the identity: σ(0) = 0 for tanh
        torch.nn.init.zeros_(p)
    x = torch.rand(4, 2, dtype=torch.float64)
    assert torch.allclose(net(x), net[3](torch.tanh(net[0](x))), atol=1e-14)
    for bad in ([], [6, 5]):
        with pytest.raises(ValueError, match="same positive width"):
            ResidualMLP(2, bad)


def test_periodic_problems_now_take_the_fast_path():
    from pinnsolve.problems import allen_cahn
    problem = allen_cahn.make_problem(n_interior=20, n_initial=8)
    model = for_problem(MLP(problem.network_inputs, [8]), problem)
    batch = BatchSampler(problem, 0, torch.device("cpu"), torch.float64)()
    engine = ResidualEngine(problem, model)
    engine.residuals_and_jacobian(batch)
    assert set(engine.paths().values()) == {"fast"}


@pytest.mark.parametrize("network", ["fourier_mlp", "residual_mlp", "modified_mlp"])
def test_a_network_chosen_by_config_trains_and_loads_back(tmp_path, network):
    from pinnsolve import load_run, solve
    from pinnsolve.problems import convection

    problem = convection.make_problem(n_interior=30, n_initial=10)  # periodic: the network sits in PeriodicInputs
    model, summary = solve(problem, run_dir=tmp_path / "run", overrides=[
        f"model={network}", "model.hidden=[6,6]", "trainer.max_steps=3", "trainer.progress=false", "trainer.plots=false"])
    assert summary["status"] == "finished" and summary["steps"] == 3
    assert type(model.net).__name__ == {"fourier_mlp": "FourierMLP", "residual_mlp": "ResidualMLP",
                                        "modified_mlp": "ModifiedMLP"}[network]
    x = problem.eval_points.points[:9]
    loaded = load_run(tmp_path / "run", problem=problem)
    assert torch.allclose(loaded.predict(x), model(x)[:, 0], atol=1e-14, rtol=0)


@pytest.mark.parametrize("network,extra", [("fourier_mlp", ["model.features=8", "model.hidden=[10]"]),
                                           ("residual_mlp", ["model.hidden=[7,7]"])])
def test_a_network_from_the_command_line_loads_back_and_predicts(tmp_path, network, extra):
    from pinnsolve import load_run
    from tests.cli_runner import pinnsolve

    run = tmp_path / "run"
    result = pinnsolve(f"model={network}", *extra, "problem.n_interior=30", "problem.n_boundary=10", "trainer.max_steps=3",
                       "trainer.progress=false", "trainer.plots=false", f"hydra.run.dir={run}")
    assert result.code == 0, result.output
    loaded = load_run(run)  # the problem is rebuilt from the config (a Fourier basis read from the weights)
    saved = torch.load(run / "checkpoint.pt", weights_only=True)["model"]
    assert set(loaded.model.state_dict()) == set(saved)
    assert all(torch.equal(loaded.model.state_dict()[k], v) for k, v in saved.items())
    x = torch.rand(6, 2, dtype=torch.float64)
    assert torch.allclose(loaded.predict(x), loaded.model(x)[:, 0]) and loaded.predict(x).abs().max() > 0
    if network == "fourier_mlp":
        assert loaded.model[0].basis.shape == (8, 2)


def test_solve_uses_the_command_lines_default_optimizer(tmp_path):
    from pinnsolve import solve
    from pinnsolve.cli.api import default_choice

    problem = poisson2d.make_problem(n_interior=20, n_boundary=8)
    _, summary = solve(problem, hidden=[4], run_dir=tmp_path / "run",
                       overrides=["trainer.max_steps=2", "trainer.progress=false", "trainer.plots=false"])
    assert default_choice("optimizer") == "engd_w"
    assert "EngdW" in summary["optimizer"] or "engd" in str(summary["optimizer"]).lower(), summary["optimizer"]


TRANSFORMS = {  # written for one point: x [d], n [] (one output) or [m]
    "dirichlet": (1, lambda x, n: x[1] * (1 - x[1]) * n + torch.sin(x[1])),
    "nonlinear": (1, lambda x, n: torch.tanh(n) * x[0] + x[2] ** 2 * n**2),
    "system": (2, lambda x, n: torch.stack([x[0] * n[0] + n[1] * n[0], torch.exp(-x[1]) * n[1]])),
}


@pytest.mark.parametrize("name", TRANSFORMS)
def test_output_transforms_take_the_fast_path_and_equal_the_generic_one(name):
    from pinnsolve.models import OutputTransform

    m, transform = TRANSFORMS[name]
    problem = heat_like_problem()
    if m > 1:
        from pinnsolve import Condition, Problem
        inner = problem.conditions[0]

        def pde(u, x):  # both outputs' jets: value, partial derivatives, a partial and the full Laplacian
            return torch.stack([u[0].partial(0) - u[0].laplacian(dims=[1, 2]) + u[1].value * u[0].partial(2),
                                u[1].laplacian() + u[0].value ** 2])

        problem = Problem("system", [Condition("interior", pde, inner.points, 25),
                                     Condition("data", lambda u, x: u[1].value - x[0], problem.conditions[1].points, 9)],
                          n_outputs=2)
    torch.manual_seed(2)
    model = OutputTransform(ModifiedMLP(3, [6, 6], out_features=m), transform)
    batch = BatchSampler(problem, 0, torch.device("cpu"), torch.float64)()
    fast, generic = ResidualEngine(problem, model, "fast"), ResidualEngine(problem, model, "generic")
    r1, J1 = fast.residuals_and_jacobian(batch)
    r2, J2 = generic.residuals_and_jacobian(batch)
    assert set(fast.paths().values()) == {"fast"}
    assert torch.allclose(r1, r2, rtol=1e-12, atol=1e-12)
    assert (J1 - J2).abs().max() <= 1e-11 * J2.abs().max()


class _Twice(torch.nn.Sequential):
    def forward(self, x):
        return 2 * super().forward(x)


def _hooked():
    net = MLP(2, [4])
    net[0].register_forward_hook(lambda module, args, out: out + 1)
    return net


def _shared():
    layer = torch.nn.Linear(8, 8, dtype=torch.float64)
    return torch.nn.Sequential(torch.nn.Linear(2, 8, dtype=torch.float64), torch.nn.Tanh(), layer, torch.nn.Tanh(), layer,
                               torch.nn.Tanh(), torch.nn.Linear(8, 1, dtype=torch.float64))


@pytest.mark.parametrize("make", [
    _shared,                                                                          # a layer used twice
    lambda: PeriodicInputs(__import__("pinnsolve").models.OutputTransform(MLP(3, [4]), lambda x, n: x[0] * n), {1: 2.0}),
    lambda: _Twice(torch.nn.Linear(2, 4, dtype=torch.float64), torch.nn.Tanh(), torch.nn.Linear(4, 1, dtype=torch.float64)),
    _hooked,
], ids=["shared_layer", "inner_transform", "own_forward", "hook"])
def test_networks_the_rules_do_not_describe_take_the_generic_path(make):
    """What the channel rules would get wrong is left to torch.func: the Jacobian is autograd's."""
    from pinnsolve.engine.forward_laplacian import supports

    problem = poisson2d.make_problem(n_interior=12, n_boundary=6)
    torch.manual_seed(0)
    model = make()
    assert not supports(model)
    batch = BatchSampler(problem, 0, torch.device("cpu"), torch.float64)()
    engine = ResidualEngine(problem, model)
    r, J = engine.residuals_and_jacobian(batch)
    assert set(engine.paths().values()) == {"generic"}
    x = batch["interior"].x[:1]
    params = dict(model.named_parameters())
    u = lambda p, xi: torch.func.functional_call(model, p, (xi[None],))[0, 0]  # noqa: E731
    lap = lambda p: torch.func.hessian(u, argnums=1)(p, x[0]).trace()  # noqa: E731
    f = 2 * math.pi**2 * torch.sin(math.pi * x[0, 0]) * torch.sin(math.pi * x[0, 1])
    assert torch.allclose(r[0], (-lap(params) - f) / 12**0.5)  # rows scaled by √(w_c/N_c), N_c = 12
