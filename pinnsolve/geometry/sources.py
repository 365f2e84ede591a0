"""Point sources: where the points of a condition come from.

Every source has a dimension ``dim`` and ``draw(n, generator) -> (x: [n, dim], y)`` drawing on the
generator's device in float64 (the trainer casts to the run's dtype); ``y`` holds per-point targets
for data sources and is ``None`` for geometric ones, which implement ``sample(n, generator) -> x``.
A :class:`FixedPoints` source returns the same points (and targets) every time; :class:`Minibatches`
draws a random subset of a data set each step. Domains and their boundaries are in
:mod:`~pinnsolve.geometry.shapes`, :mod:`~pinnsolve.geometry.polygon`, :mod:`~pinnsolve.geometry.csg` and
:mod:`~pinnsolve.geometry.spacetime`.
"""

from __future__ import annotations


import torch
from torch import Tensor


class PointSource:
    """Base class of point sources."""

    dim: int
    fixed: bool = False
    has_targets: bool = False
    gives_normals: bool = False  # the targets are outward unit normals (a boundary source)

    def sample(self, n: int, generator: torch.Generator) -> Tensor:
        raise NotImplementedError

    def draw(self, n: int, generator: torch.Generator) -> tuple[Tensor, Tensor | None]:
        """``n`` points and their targets (``None`` without targets)."""
        return self.sample(n, generator), None

    def bounds(self) -> tuple[Tensor, Tensor] | None:
        """``(low, high): [d]`` of a box around the source (for plots and grids), or ``None``."""
        return None

    def contains(self, x: Tensor, tolerance: float = 1e-12) -> Tensor:
        """Which points ``x: [n, d]`` lie in the source's domain (``[n]`` bool; all of them by default)."""
        return torch.ones(x.shape[0], dtype=torch.bool, device=x.device)


class FixedPoints(PointSource):
    """A fixed point set, optionally with per-point targets (regression data).

    Args:
        points: ``[n, d]``.
        targets: ``[n]`` or ``[n, m]``, passed to the residual as its third argument.
    """

    fixed = True

    def __init__(self, points: Tensor, targets: Tensor | None = None):
        points = torch.as_tensor(points, dtype=torch.float64)
        if points.ndim != 2:
            raise ValueError(f"{type(self).__name__} needs points of shape [n, d], got {tuple(points.shape)}")
        if targets is not None and len(targets) != len(points):
            raise ValueError(f"{type(self).__name__} got {len(points)} points but {len(targets)} targets")
        self.points, self.targets, self.dim = points, targets, points.shape[1]
        self.has_targets = targets is not None
        self._on_device: dict[torch.device, tuple[Tensor, Tensor | None]] = {}

    def on(self, device: torch.device) -> tuple[Tensor, Tensor | None]:
        """Points and targets on ``device`` (copied once, then cached)."""
        if device not in self._on_device:
            targets = None if self.targets is None else torch.as_tensor(self.targets).to(device)
            self._on_device[device] = (self.points.to(device), targets)
        return self._on_device[device]

    def bounds(self) -> tuple[Tensor, Tensor]:
        return self.points.min(dim=0).values, self.points.max(dim=0).values

    def draw(self, n: int, generator: torch.Generator) -> tuple[Tensor, Tensor | None]:
        if n != len(self.points):
            raise ValueError(f"FixedPoints holds {len(self.points)} points; the condition asks for {n}")
        return self.on(generator.device)

    def sample(self, n: int, generator: torch.Generator) -> Tensor:
        return self.draw(n, generator)[0]


class Minibatches(FixedPoints):
    """A data set from which each step draws ``n`` distinct points (and their targets) at random.

    Over ``len(points) / n`` steps every point is seen once on average (one *epoch*).
    """

    fixed = False

    def draw(self, n: int, generator: torch.Generator) -> tuple[Tensor, Tensor | None]:
        if n > len(self.points):
            raise ValueError(f"Minibatches holds {len(self.points)} points; the condition asks for {n} per step")
        points, targets = self.on(generator.device)
        index = torch.randperm(len(points), generator=generator, device=generator.device)[:n]
        return points[index], None if targets is None else targets[index]
