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


def domain_grid(problem: Problem, resolution: int | None = None) -> Tensor:
    """Grid points inside the domain: all of it for ``d ≤ 3``, the middle slice of its first two
    coordinates for ``d > 3`` (``resolution`` per axis)."""
    low, high = _bounds(problem)
    d = low.numel()
    if d > 3:
        points, _, _, inside = slice_grid(problem, resolution or DEFAULT_RESOLUTION[2])
        return points[inside.reshape(-1)]
    axes = [torch.linspace(float(low[i]), float(high[i]), resolution or DEFAULT_RESOLUTION[d], dtype=torch.float64)
            for i in range(d)]
    points = torch.stack(torch.meshgrid(*axes, indexing="ij"), dim=-1).reshape(-1, d)
    return points[problem.eval_points.contains(points)]


def tensor_grid(*axes: Tensor) -> Tensor:
    """The points ``[n_0 · n_1 ⋯, d]`` of the tensor product of ``d`` 1-d ``axes`` (the first varies slowest),
    e.g. an evaluation set ``tensor_grid(t, x)`` of a space-time problem."""
    return torch.stack(torch.meshgrid(*axes, indexing="ij"), dim=-1).reshape(-1, len(axes))
