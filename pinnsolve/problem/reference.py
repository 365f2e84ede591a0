"""A reference solution known on a grid, used as a problem's ``exact``.

Problems without a closed-form solution (Allen–Cahn, data from a finite-element solver) measure
their error against values computed on a tensor grid. :class:`GridSolution` makes those values a
per-point function ``u⋆(x)`` as the rest of pinnsolve expects (errors, plots, predictions): it
interpolates multilinearly between the nodes, so at the nodes it returns the values themselves.
Put the evaluation set on the nodes (``eval_points=FixedPoints(solution.points())``) and the error
is measured against the reference exactly; between nodes (plots) it is as accurate as the grid.
"""

from __future__ import annotations

from collections.abc import Sequence
import math
from itertools import product

import torch
from torch import Tensor

from ..geometry.grids import tensor_grid


class GridSolution:
    """``u⋆`` from values on a uniform tensor grid, as a per-point function (vmap-able).

    Args:
        axes: ``d`` uniformly spaced, increasing 1-d tensors (at least 2 nodes each).
        values: ``[n_0, …, n_{d−1}]`` for one output, ``[n_0, …, n_{d−1}, m]`` for a system.

    ``u⋆(x) = Σ_corners Π_i w_i · values[corner]`` over the ``2^d`` nodes of the cell holding ``x``
    (points outside the grid are extrapolated from the nearest cell).
    """

    def __init__(self, axes: Sequence[Tensor], values: Tensor):
        self.axes = [torch.as_tensor(a, dtype=torch.float64) for a in axes]
        self.values = torch.as_tensor(values, dtype=torch.float64)
        shape = tuple(len(a) for a in self.axes)
        if self.values.shape[:len(shape)] != shape or self.values.ndim > len(shape) + 1:
            raise ValueError(f"values of shape {tuple(self.values.shape)} do not fit axes of lengths {shape} "
                             "(give [n_0, …, n_{d-1}] or [n_0, …, n_{d-1}, m])")
        for i, axis in enumerate(self.axes):
            steps = axis.diff() if len(axis) > 1 else axis.new_zeros(0)
            if len(axis) < 2 or not (steps > 0).all() or not torch.allclose(steps, steps[0].expand_as(steps), rtol=1e-9, atol=0):
                raise ValueError(f"axis {i} must hold at least 2 increasing, uniformly spaced nodes")
        self._start = torch.stack([a[0] for a in self.axes])
        self._step = torch.stack([a[1] - a[0] for a in self.axes])
        self._last = torch.tensor([len(a) - 2 for a in self.axes])
        shape = [len(a) for a in self.axes]
        self._strides = torch.tensor([math.prod(shape[i + 1:]) for i in range(len(shape))])
        self._flat = self.values.reshape(math.prod(shape), *self.values.shape[len(shape):])

    def points(self) -> Tensor:
        """The grid's nodes ``[Π n_i, d]`` (the first axis varies slowest), e.g. for ``eval_points``."""
        return tensor_grid(*self.axes)

    def __call__(self, x: Tensor) -> Tensor:
        """``u⋆(x)`` for one point ``x: [d]``: ``[]`` (``[m]`` for a system)."""
        values = self._flat.to(x.device, x.dtype)
        strides = self._strides.to(x.device)
        position = (x - self._start.to(x)) / self._step.to(x)
        cell = torch.minimum(torch.clamp(torch.floor(position), min=0).long(), self._last.to(x.device))
        weight = position - cell.to(x.dtype)
        total = 0
        for corner in product((0, 1), repeat=len(self.axes)):
            offset = torch.tensor(corner, device=x.device)
            factor = torch.prod(torch.where(offset.bool(), weight, 1 - weight))
            total = total + factor * values.index_select(0, ((cell + offset) * strides).sum().reshape(1))[0]
        return total
