"""The grid pinnsolve-predict writes to VTK: its cells lie inside the domain and are ordered as VTK wants
(quads counter-clockwise, hexahedra lower face then upper), for a 2-d shape, a 3-d box and a slice."""

import torch

from pinnsolve import Ball, Box, Condition, Problem
from pinnsolve.geometry.grids import structured_grid
from pinnsolve.problems import heat_ball


def _problem(shape):
    return Problem("p", [Condition("interior", lambda u, x: u.value, shape, 4)])


def _signed_area(quad: torch.Tensor) -> float:
    x, y = quad[:, 0], quad[:, 1]
    return 0.5 * float((x * y.roll(-1) - x.roll(-1) * y).sum())


def test_quads_of_a_disk_are_inside_and_counter_clockwise():
    points, cells = structured_grid(_problem(Ball([0.0, 0.0], 1.0)), 11)
    assert cells.shape[1] == 4 and len(cells) > 0
    assert (points.norm(dim=1) <= 1 + 1e-12).all()
    assert all(_signed_area(points[c]) > 0 for c in cells)
    assert len(cells) < 10 * 10  # the corners outside the disk drop their cells


def test_hexahedra_of_a_box_and_quads_of_a_slice():
    points, cells = structured_grid(_problem(Box(0.0, 1.0, dim=3)), 3)
    assert cells.shape == (8, 8)
    first = points[cells[0]]
    assert torch.equal(first[:4, 2], torch.zeros(4, dtype=first.dtype)) and (first[4:, 2] > 0).all()
    assert _signed_area(first[:4, :2]) > 0
    points, cells = structured_grid(heat_ball.make_problem(), 5)  # d = 6: the slice of (t, x1)
    assert cells.shape[1] == 4 and all(_signed_area(points[c][:, :2]) > 0 for c in cells)
