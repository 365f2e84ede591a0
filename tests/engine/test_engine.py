"""The residual-Jacobian engine: fast path = generic path = autograd, in float64."""

import math

import pytest
import torch
from torch import nn

from pinnsolve import MLP, BatchSampler, Box, BoxBoundary, Condition, FixedPoints, InitialSlice, Problem, ResidualEngine, ResidualError
from pinnsolve.problems import poisson2d, poisson5d


def heat_like_problem():
    box = Box(0.0, 1.0, dim=3)

    def pde(u, x):  # nonlinear, reads u_t, the spatial Laplacian, the gradient and the value
        return u.partial(0) - 0.25 * u.laplacian(dims=[1, 2]) + u.value * u.grad.square().sum() + torch.sin(x[1])

    def initial(u, x):
        return u.value - torch.sin(torch.pi * x[1])

    def boundary(u, x):
        return torch.tanh(u.value) - u.laplacian(dims=[2])

    return Problem("heat-like", [
        Condition("interior", pde, box, 40, weight=2.0),
        Condition("initial", initial, InitialSlice(box), 13),
        Condition("boundary", boundary, BoxBoundary(box, dims=[1, 2]), 11),
    ])


CASES = [
    (poisson2d.make_problem(n_interior=30, n_boundary=10), [16], "tanh"),
    (poisson5d.make_problem(n_interior=30, n_boundary=10), [12, 8], "tanh"),
    (heat_like_problem(), [10, 10], "tanh"),
    (heat_like_problem(), [10], "gelu"),
    (heat_like_problem(), [10], "sin"),
]


def engines(problem, hidden, activation, **kw):
    model = MLP(problem.dim, hidden, activation=activation)
    batch = BatchSampler(problem, 0, torch.device("cpu"), torch.float64)()
    return model, batch, ResidualEngine(problem, model, "fast", **kw), ResidualEngine(problem, model, "generic")


@pytest.mark.parametrize("problem,hidden,activation", CASES)
def test_fast_and_generic_jacobians_agree(problem, hidden, activation):
    model, batch, fast, generic = engines(problem, hidden, activation)
    r1, J1 = fast.residuals_and_jacobian(batch)
    r2, J2 = generic.residuals_and_jacobian(batch)
    assert set(fast.paths().values()) == {"fast"} and set(generic.paths().values()) == {"generic"}
    assert J1.shape == (problem.n_points, sum(p.numel() for p in model.parameters()))
    assert torch.allclose(r1, r2, rtol=1e-12, atol=1e-12)
    assert (J1 - J2).abs().max() <= 1e-12 * J2.abs().max()


@pytest.mark.parametrize("problem,hidden,activation", CASES[:3])
def test_jacobian_transpose_residual_is_the_gradient(problem, hidden, activation):
    model, batch, fast, _ = engines(problem, hidden, activation)
    r, J = fast.residuals_and_jacobian(batch)
    loss = fast.loss(batch)
    loss.backward()
    grad = torch.cat([p.grad.flatten() for p in model.parameters()])
    assert torch.allclose(loss, 0.5 * r.square().sum(), rtol=1e-13)
    assert torch.allclose(J.T @ r, grad, rtol=1e-10, atol=1e-12)


def test_chunks_and_batched_losses():
    problem = heat_like_problem()
    model, batch, fast, generic = engines(problem, [8], "tanh", chunk_size=7)
    r1, J1 = fast.residuals_and_jacobian(batch)
    r2, J2 = ResidualEngine(problem, model).residuals_and_jacobian(batch)
    assert torch.allclose(J1, J2, rtol=1e-13, atol=1e-14)
    theta = torch.cat([p.detach().flatten() for p in model.parameters()])
    thetas = torch.stack([theta, 0.5 * theta, theta + 0.01])
    expected = []
    for t in thetas:
        torch.nn.utils.vector_to_parameters(t, model.parameters())
        expected.append(fast.loss(batch).detach())
    torch.nn.utils.vector_to_parameters(theta, model.parameters())
    assert torch.allclose(fast.losses_at(batch, thetas, chunk=2), torch.stack(expected), rtol=1e-12)
    assert torch.allclose(generic.losses_at(batch, thetas), torch.stack(expected), rtol=1e-12)


@pytest.mark.parametrize("path", ["fast", "generic"])
def test_line_search_losses_in_point_chunks_equal_the_whole_batch(path):
    """With chunk_size the candidates' losses are summed over point chunks: the same numbers, less memory."""
    problem = heat_like_problem()
    model, batch, _, _ = engines(problem, [8], "tanh")
    whole, chunked = ResidualEngine(problem, model, path), ResidualEngine(problem, model, path, chunk_size=5)
    theta = whole.layout.flatten()
    thetas = theta + 0.1 * torch.randn(5, theta.numel(), generator=torch.Generator().manual_seed(0))
    expected = whole.losses_at(batch, thetas)
    for per_pass in (None, 1, 3):                 # the CPU's loop, and vmap-ed passes of 3 candidates
        assert torch.allclose(chunked.losses_at(batch, thetas, chunk=per_pass), expected, rtol=1e-12)
    assert chunked.candidates_per_pass(batch) == 1                         # the CPU: one at a time
    per_candidate = 4 * 5 * (2 + problem.dim) * 8 * 8                      # 4 activations of [5 points, C, 8]
    assert ResidualEngine(problem, model, path, chunk_size=5).candidates_per_pass(batch, 3 * per_candidate) == 3


@pytest.mark.parametrize("path,chunk_size", [("fast", None), ("generic", None), ("fast", 5)])
def test_column_subset_is_a_slice_built_in_small_chunks(path, chunk_size):
    """``columns`` (Sven's param_fraction) gives ``J[:, columns]`` without holding the full ``J``."""
    problem = heat_like_problem()
    model, batch, _, _ = engines(problem, [10, 10], "tanh")
    engine = ResidualEngine(problem, model, path, chunk_size=chunk_size)
    r, J = engine.residuals_and_jacobian(batch)
    columns = torch.randperm(J.shape[1], generator=torch.Generator().manual_seed(0))[: J.shape[1] // 4].sort().values
    buffers = []
    write = engine._condition_jacobian
    engine._condition_jacobian = lambda c, x, y, out: (buffers.append(out.shape), write(c, x, y, out))[1]
    r_s, J_s = engine.residuals_and_jacobian(batch, columns)
    # built with other chunk shapes, so equal up to float64 rounding (not bitwise)
    assert torch.allclose(r_s, r, rtol=1e-13, atol=1e-15)
    assert (J_s - J[:, columns]).abs().max() <= 1e-13 * J.abs().max()
    largest = max(rows * cols for rows, cols in buffers)
    n_points = max(c.n_points for c in problem.conditions)
    assert largest <= (chunk_size or math.ceil(n_points / 4)) * J.shape[1]  # about N_c·P/4, not N·P


def test_mixed_derivatives_and_other_models_use_the_generic_path():
    box = Box(0.0, 1.0, dim=2)
    problem = Problem("mixed", [Condition("interior", lambda u, x: u.partial(0, 1) + u.value, box, 9)])
    batch = BatchSampler(problem, 0, torch.device("cpu"), torch.float64)()
    engine = ResidualEngine(problem, MLP(2, [5]))
    r, J = engine.residuals_and_jacobian(batch)
    assert engine.paths() == {"interior": "generic"} and J.shape == (9, 21)
    with pytest.raises(ValueError, match="mixed second derivatives"):
        ResidualEngine(problem, MLP(2, [5]), "fast").residuals_and_jacobian(batch)

    class Custom(nn.Module):
        def __init__(self):
            super().__init__()
            self.w = nn.Parameter(torch.randn(2))

        def forward(self, x):
            return torch.sin(x @ self.w)[:, None]

    engine = ResidualEngine(problem, Custom())
    r, J = engine.residuals_and_jacobian(batch)
    assert engine.paths() == {"interior": "generic"} and J.shape == (9, 2)


def test_data_condition_with_vector_residuals():
    x, y = torch.rand(6, 3), torch.rand(6, 2)
    problem = Problem("fit", [Condition("data", lambda u, x, y: u.value - y, FixedPoints(x, y), 6)], n_outputs=2)
    model = MLP(3, [4], out_features=2, activation="gelu")
    batch = BatchSampler(problem, 0, torch.device("cpu"), torch.float64)()
    r, J = ResidualEngine(problem, model).residuals_and_jacobian(batch)
    assert r.shape == (12,) and J.shape == (12, 26)
    assert torch.allclose(r, ((model(x) - y) / 6**0.5).reshape(-1).detach())


def test_bad_residuals_are_named():
    box = Box(0.0, 1.0, dim=2)
    batch = {"interior": (torch.rand(4, 2), None)}
    model = MLP(2, [3])
    for residual, message in [
        (lambda u, x: torch.ones(2, 2) * u.value, r"returned shape \(2, 2\) for ONE point"),
        (lambda u, x: 1.0, "must return a torch.Tensor"),
    ]:
        problem = Problem("bad", [Condition("interior", residual, box, 4)])
        with pytest.raises(ResidualError, match=message):
            ResidualEngine(problem, model).residuals_and_jacobian(batch)
    with pytest.raises(ValueError, match="jacobian must be one of"):
        ResidualEngine(problem, model, "dense")


@pytest.mark.parametrize("activation", ["tanh", "sigmoid", "gelu", "silu", "softplus", "sin"])
def test_activation_derivatives_equal_autograd(activation):
    """σ, σ', σ'' of the fast path (closed forms or nested jvp) against autograd of σ, float64."""
    from torch.func import grad, vmap

    from pinnsolve.engine.channels import activation_derivatives
    from pinnsolve.models import ACTIVATIONS

    module = ACTIVATIONS[activation]()
    z = torch.linspace(-5, 5, 201)
    s, ds, d2s = activation_derivatives(module, z)
    f = lambda t: module(t[None])[0]  # noqa: E731
    assert torch.allclose(s, module(z), rtol=1e-14, atol=1e-15)
    assert torch.allclose(ds, vmap(grad(f))(z), rtol=1e-13, atol=1e-14)
    assert torch.allclose(d2s, vmap(grad(grad(f)))(z), rtol=1e-12, atol=1e-13)
