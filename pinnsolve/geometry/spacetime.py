"""Space-time domains: a time interval × any spatial source, with its initial slice and lateral boundary."""

from __future__ import annotations

import torch
from torch import Tensor

from .sources import PointSource
from .unit_cube import check_sampling, unit_cube


class SpaceTime(PointSource):
    """Points ``(t, x)`` with ``t`` uniform in ``[t_min, t_max]`` and ``x`` from a spatial source (time first).

    For a shape ``Ω`` (:mod:`pinnsolve.shapes`), the three sources of a time-dependent problem::

        cylinder = SpaceTime(Ω, 0.0, 1.0)       # the interior [0, 1] × Ω
        cylinder.initial()                      # the slice t = 0: SpaceTime(Ω, 0, 0)
        cylinder.lateral(normals=True)          # [0, 1] × ∂Ω, normals (0, n_Ω(x))

    Args:
        space: the spatial source (dimension ``d``); the result has dimension ``d + 1``. A boundary
            source that gives normals gives them here with a zero time component.
        t_min, t_max: the time interval (equal for a slice).
        sampling: how ``t`` is drawn (``uniform``, ``sobol``, ``halton``, ``lhs``); over a ``Box``
            the time and space coordinates are drawn as one low-discrepancy set of ``d + 1`` numbers,
            over other shapes each is low-discrepancy on its own (set the shape's ``sampling`` too, or
            ``trainer.sampling`` for both).
    """

    sampling = "uniform"  # a class attribute, so trainer.sampling (unit_cube.apply_sampling) finds it

    def __init__(self, space: PointSource, t_min: float = 0.0, t_max: float = 1.0, sampling: str = "uniform"):
        if not t_max >= t_min:
            raise ValueError(f"SpaceTime needs t_min <= t_max, got {t_min} and {t_max}")
        self.space, self.t_min, self.t_max, self.dim = space, float(t_min), float(t_max), space.dim + 1
        self.sampling = check_sampling(sampling)
        self.has_targets = self.gives_normals = bool(getattr(space, "gives_normals", False))

    def draw(self, n: int, generator: torch.Generator) -> tuple[Tensor, Tensor | None]:
        from .shapes import Box

        if self.sampling != "uniform" and type(self.space) is Box:  # one low-discrepancy set over [t] × box
            cube = unit_cube(n, self.dim, generator, self.sampling)
            low, high = self.space.low.to(cube.device), self.space.high.to(cube.device)
            t = self.t_min + (self.t_max - self.t_min) * cube[:, :1]
            return torch.cat([t, low + (high - low) * cube[:, 1:]], dim=1), None
        t = self.t_min + (self.t_max - self.t_min) * unit_cube(n, 1, generator, self.sampling)
        x, normals = self.space.draw(n, generator)
        points = torch.cat([t, x.to(t.device)], dim=1)
        if not self.gives_normals:
            return points, None
        return points, torch.cat([torch.zeros_like(t), normals.to(t)], dim=1)

    def sample(self, n: int, generator: torch.Generator) -> Tensor:
        return self.draw(n, generator)[0]

    def initial(self) -> SpaceTime:
        """The slice ``t = t_min`` of this cylinder."""
        return SpaceTime(self.space, self.t_min, self.t_min, self.sampling)

    def lateral(self, normals: bool = False) -> SpaceTime:
        """``[t_min, t_max] × ∂Ω`` (the spatial source must be a shape with a boundary)."""
        if not hasattr(self.space, "boundary"):
            raise TypeError(f"the spatial source {type(self.space).__name__} is not a shape: it has no boundary")
        return SpaceTime(self.space.boundary(normals=normals), self.t_min, self.t_max, self.sampling)

    def bounds(self) -> tuple[Tensor, Tensor] | None:
        space = self.space.bounds()
        if space is None:
            return None
        t = torch.tensor([self.t_min], dtype=torch.float64), torch.tensor([self.t_max], dtype=torch.float64)
        return torch.cat([t[0], space[0]]), torch.cat([t[1], space[1]])

    def contains(self, x: Tensor, tolerance: float = 1e-12) -> Tensor:
        inside_t = (x[:, 0] >= self.t_min - tolerance) & (x[:, 0] <= self.t_max + tolerance)
        return inside_t & self.space.contains(x[:, 1:], tolerance)
