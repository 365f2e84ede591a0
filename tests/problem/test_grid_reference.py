"""GridSolution (a reference known on a grid, as a per-point exact solution) against dense references."""

import pytest
import torch

from pinnsolve.geometry.grids import tensor_grid
from pinnsolve.problem.reference import GridSolution


def _axes():
    return torch.linspace(0, 1, 11, dtype=torch.float64), torch.linspace(-1, 1, 21, dtype=torch.float64)


def test_tensor_grid_puts_the_first_axis_slowest():
    a, b = torch.tensor([0.0, 1.0]), torch.tensor([5.0, 6.0, 7.0])
    assert tensor_grid(a, b).tolist() == [[0, 5], [0, 6], [0, 7], [1, 5], [1, 6], [1, 7]]


def test_nodes_give_the_values_and_bilinear_functions_are_reproduced_everywhere():
    t, x = _axes()
    f = lambda t, x: 1 + 2 * t - 3 * x + 0.5 * t * x  # noqa: E731 - bilinear: interpolated exactly
    reference = GridSolution([t, x], f(*torch.meshgrid(t, x, indexing="ij")))
    nodes = reference.points()
    assert torch.allclose(torch.vmap(reference)(nodes), f(nodes[:, 0], nodes[:, 1]), atol=1e-13, rtol=0)
    inside = torch.rand(200, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(0)) * torch.tensor([1.0, 2.0]) - torch.tensor([0.0, 1.0])
    assert torch.allclose(torch.vmap(reference)(inside), f(inside[:, 0], inside[:, 1]), atol=1e-13, rtol=0)


def test_a_smooth_function_converges_at_second_order():
    f = lambda t, x: torch.sin(3 * t) * torch.cos(2 * x)  # noqa: E731
    points = torch.rand(500, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(1)) * torch.tensor([1.0, 2.0]) - torch.tensor([0.0, 1.0])
    errors = []
    for n in (11, 21, 41):
        t, x = torch.linspace(0, 1, n, dtype=torch.float64), torch.linspace(-1, 1, 2 * n - 1, dtype=torch.float64)
        reference = GridSolution([t, x], f(*torch.meshgrid(t, x, indexing="ij")))
        errors.append(float((torch.vmap(reference)(points) - f(points[:, 0], points[:, 1])).abs().max()))
    assert 3.0 < errors[0] / errors[1] < 5.0 and 3.0 < errors[1] / errors[2] < 5.0, errors


def test_a_system_gives_one_value_per_output_and_is_differentiable():
    t, x = _axes()
    T, X = torch.meshgrid(t, x, indexing="ij")
    reference = GridSolution([t, x], torch.stack([T + X, 2 * T - X], dim=-1))
    point = torch.tensor([0.33, 0.41], dtype=torch.float64)
    assert torch.allclose(reference(point), torch.tensor([0.74, 0.25], dtype=torch.float64), atol=1e-13)
    jacobian = torch.func.jacrev(reference)(point)
    assert torch.allclose(jacobian, torch.tensor([[1.0, 1.0], [2.0, -1.0]], dtype=torch.float64), atol=1e-12)


@pytest.mark.parametrize("axes,values,message", [
    ([torch.tensor([0.0, 1.0, 3.0])], torch.zeros(3), "uniformly spaced"),
    ([torch.tensor([0.0])], torch.zeros(1), "at least 2"),
    ([torch.linspace(0, 1, 3)], torch.zeros(4), "do not fit"),
])
def test_bad_grids_are_refused(axes, values, message):
    with pytest.raises(ValueError, match=message):
        GridSolution(axes, values)
