"""Regular grids over a problem's domain, for plots and ``pinnsolve-predict``.

The domain is the evaluation source's (the first condition's by default): its ``bounds()`` give a box
around it and ``contains()`` marks the grid points that lie in it (a ball's, a space-time cylinder's),
so plots show the domain's real shape and predictions stay inside it.
"""

from __future__ import annotations

import torch
from torch import Tensor

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # a leaf: the problem is only read (its eval_points and name)
    from ..problem import Problem

DEFAULT_RESOLUTION = {1: 512, 2: 101, 3: 32}


def _bounds(problem: Problem) -> tuple[Tensor, Tensor]:
    bounds = problem.eval_points.bounds()
    if bounds is None:
        raise ValueError(f"problem '{problem.name}': its point source has no bounds to lay a grid over")
    return bounds


def slice_grid(problem: Problem, resolution: int = 101, dims: tuple[int, int] = (0, 1),
               dtype: torch.dtype = torch.float64, device: torch.device | str = "cpu"):
    """Points ``[R², d]`` on the plane of coordinates ``dims`` through the middle of the domain's box,
    the 2-d axes ``A, B: [R, R]`` and the mask ``[R, R]`` of the points inside the domain."""
    low, high = (b.to(device, dtype) for b in _bounds(problem))
    a = torch.linspace(float(low[dims[0]]), float(high[dims[0]]), resolution, dtype=dtype, device=device)
    b = torch.linspace(float(low[dims[1]]), float(high[dims[1]]), resolution, dtype=dtype, device=device)
    A, B = torch.meshgrid(a, b, indexing="xy")
    points = ((low + high) / 2).expand(resolution * resolution, -1).clone()
    points[:, dims[0]], points[:, dims[1]] = A.reshape(-1), B.reshape(-1)
    inside = problem.eval_points.contains(points).reshape(A.shape)
    return points, A, B, inside


def structured_grid(problem: Problem, resolution: int | None = None) -> tuple[Tensor, Tensor]:
    """Grid points inside the domain ``[n, d]`` (all of it for ``d ≤ 3``, the middle slice of its first two
    coordinates for ``d > 3``; ``resolution`` per axis) and the grid's cells inside it ``[c, 2^k]``: for a
    ``k``-dimensional grid (``k = d`` for ``d ≤ 3``, 2 for a slice) the indices of each cell's corners
    whose corners all lie inside, in VTK's order (a line, a quad counter-clockwise, a hexahedron's
    lower then upper face), so a viewer draws the domain as a surface or a volume."""
    low, high = _bounds(problem)
    d = low.numel()
    if d > 3:  # slice_grid's "xy" layout puts its first coordinate on axis 1: transposed below
        points, A, _, inside = slice_grid(problem, resolution or DEFAULT_RESOLUTION[2])
        shape = A.shape
    else:
        axes = [torch.linspace(float(low[i]), float(high[i]), resolution or DEFAULT_RESOLUTION[d], dtype=torch.float64)
                for i in range(d)]
        points = torch.stack(torch.meshgrid(*axes, indexing="ij"), dim=-1).reshape(-1, d)
        shape = torch.Size(len(a) for a in axes)
        inside = problem.eval_points.contains(points)
    inside = inside.reshape(-1)
    index = torch.full((inside.numel(),), -1, dtype=torch.long)
    index[inside] = torch.arange(int(inside.sum()))
    grid = index.reshape(shape)
    return points[inside], _cells(grid.mT if d > 3 else grid)


def _cells(index: Tensor) -> Tensor:
    """Corner indices ``[c, 2^k]`` of the cells of a ``k``-d grid of point indices (``-1``: outside)."""
    lo, hi = slice(None, -1), slice(1, None)
    corners = {1: [(lo,), (hi,)],
               2: [(lo, lo), (hi, lo), (hi, hi), (lo, hi)],
               3: [(lo, lo, lo), (hi, lo, lo), (hi, hi, lo), (lo, hi, lo),
                   (lo, lo, hi), (hi, lo, hi), (hi, hi, hi), (lo, hi, hi)]}[index.ndim]
    cells = torch.stack([index[c] for c in corners], dim=-1).reshape(-1, len(corners))
    return cells[(cells >= 0).all(dim=1)]


def tensor_grid(*axes: Tensor) -> Tensor:
    """The points ``[n_0 · n_1 ⋯, d]`` of the tensor product of ``d`` 1-d ``axes`` (the first varies slowest),
    e.g. an evaluation set ``tensor_grid(t, x)`` of a space-time problem."""
    return torch.stack(torch.meshgrid(*axes, indexing="ij"), dim=-1).reshape(-1, len(axes))
