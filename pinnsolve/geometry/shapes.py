"""Shapes: domains with interior points, membership, and a boundary with outward unit normals.

Every :class:`Shape` is a point source of its interior (``Box``, ``Ball``, ``Annulus``,
:class:`~pinnsolve.polygon.Polygon`, and CSG combinations ``a | b``, ``a & b``, ``a - b``) and gives

- ``shape.boundary(normals=False)``: a source of boundary points drawn in proportion to boundary
  measure; with ``normals=True`` each point comes with its outward unit normal ``n: [d]``, which
  the condition's residual receives as its third argument (``residual(u, x, n)``)::

      def neumann(u, x, n):                  # ∂u/∂n = g
          return u.grad @ n - g(x)

- ``shape.contains(x, tolerance)``: membership of ``x: [n, d]`` (closed, widened by ``tolerance``;
  a negative tolerance asks for points at least that far inside);
- ``shape.bounds()``, ``shape.boundary_measure()`` and ``shape.sample_boundary(n, g) -> (x, n)``.

``sampling="uniform|sobol|halton|lhs"`` chooses how the unit-cube numbers behind the points are
drawn (:mod:`pinnsolve.unit_cube`). To write a new shape, implement ``sample``, ``contains``,
``bounds``, ``boundary_measure`` and ``sample_boundary``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor

from .sources import PointSource
from .unit_cube import check_sampling, directions_and_radii, normal, unit_cube


class Shape(PointSource):
    """A domain (see the module docstring); ``sample`` draws interior points."""

    sampling = "uniform"

    def contains(self, x: Tensor, tolerance: float = 1e-12) -> Tensor:
        raise NotImplementedError

    def boundary_measure(self) -> float:
        raise NotImplementedError

    def sample_boundary(self, n: int, generator: torch.Generator) -> tuple[Tensor, Tensor]:
        """``n`` boundary points ``[n, d]`` uniform in boundary measure and their outward unit normals ``[n, d]``."""
        raise NotImplementedError

    def boundary(self, normals: bool = False) -> PointSource:
        """The boundary as a point source (with outward normals as per-point targets if ``normals``)."""
        return Boundary(self, normals)

    def __or__(self, other: Shape) -> Shape:
        from .csg import Union

        return Union(self, other)

    def __and__(self, other: Shape) -> Shape:
        from .csg import Intersection

        return Intersection(self, other)

    def __sub__(self, other: Shape) -> Shape:
        from .csg import Difference

        return Difference(self, other)


class Boundary(PointSource):
    """Points on a shape's boundary, in proportion to boundary measure; ``normals=True`` adds them as targets."""

    def __init__(self, shape: Shape, normals: bool = False):
        self.shape, self.dim, self.normals = shape, shape.dim, bool(normals)
        self.has_targets = self.gives_normals = self.normals

    def draw(self, n: int, generator: torch.Generator) -> tuple[Tensor, Tensor | None]:
        x, normals = self.shape.sample_boundary(n, generator)
        return x, normals if self.normals else None

    def sample(self, n: int, generator: torch.Generator) -> Tensor:
        return self.shape.sample_boundary(n, generator)[0]

    def bounds(self) -> tuple[Tensor, Tensor] | None:
        return self.shape.bounds()


class Box(Shape):
    """The box ``[low_1, high_1] × … × [low_d, high_d]``.

    Args:
        low, high: corners, each a number (same for every coordinate, then ``dim`` is needed) or a
            sequence of ``d`` numbers.
        dim: the dimension when ``low`` and ``high`` are numbers.
        sampling: ``uniform`` (default), ``sobol``, ``halton`` or ``lhs``.
    """

    def __init__(self, low: float | Sequence[float] = 0.0, high: float | Sequence[float] = 1.0, dim: int | None = None,
                 sampling: str = "uniform"):
        low_t = torch.as_tensor(low, dtype=torch.float64).flatten()
        high_t = torch.as_tensor(high, dtype=torch.float64).flatten()
        if dim is not None:
            low_t, high_t = low_t.expand(dim).clone(), high_t.expand(dim).clone()
        if low_t.shape != high_t.shape:
            raise ValueError(f"Box corners have different lengths: {low_t.numel()} and {high_t.numel()}")
        if not bool((high_t > low_t).all()):
            raise ValueError(f"Box needs low < high in every coordinate, got low={low_t.tolist()}, high={high_t.tolist()}")
        self.low, self.high, self.dim, self.sampling = low_t, high_t, low_t.numel(), check_sampling(sampling)

    def sample(self, n: int, generator: torch.Generator) -> Tensor:
        u = unit_cube(n, self.dim, generator, self.sampling)
        return self.low.to(u.device) + (self.high - self.low).to(u.device) * u

    def bounds(self) -> tuple[Tensor, Tensor]:
        return self.low, self.high

    def contains(self, x: Tensor, tolerance: float = 1e-12) -> Tensor:
        low, high = self.low.to(x), self.high.to(x)
        return ((x >= low - tolerance) & (x <= high + tolerance)).all(dim=1)

    def face_areas(self, dims: Sequence[int] | None = None) -> Tensor:
        """Area of one face perpendicular to each coordinate in ``dims`` (each has two such faces)."""
        lengths = self.high - self.low
        dims = range(self.dim) if dims is None else dims
        return torch.stack([lengths.prod() / lengths[i] for i in dims])

    def boundary_measure(self) -> float:
        return float(2 * self.face_areas().sum())

    def sample_boundary(self, n: int, generator: torch.Generator) -> tuple[Tensor, Tensor]:
        return BoxBoundary(self, normals=True).draw(n, generator)

    def boundary(self, normals: bool = False, dims: Sequence[int] | None = None, rule: str = "measure") -> PointSource:
        return BoxBoundary(self, dims, rule, normals)


class BoxBoundary(PointSource):
    """Points on the faces of a box (those perpendicular to the coordinates ``dims``; default all).

    ``rule="measure"`` (default) picks a face with probability proportional to its area, so points are
    uniform on the boundary; ``rule="coordinate"`` is the papers' rule (Müller & Zeinhofer 2023):
    draw a uniform point, set a random coordinate among ``dims`` to a random side — faces are chosen
    uniformly whatever their size. The shipped paper problems use it so their results do not change.
    With ``normals=True`` each point comes with its outward unit normal ``±e_i``.

    Args:
        box: the box.
        dims: the coordinates whose faces count as boundary. For a space-time box ``[0, T] × Ω``
            pass the spatial coordinates, e.g. ``range(1, d)``.
        rule: ``measure`` or ``coordinate``.
        normals: give outward normals as per-point targets.
    """

    RULES = ("measure", "coordinate")

    def __init__(self, box: Box, dims: Sequence[int] | None = None, rule: str = "measure", normals: bool = False):
        if rule not in self.RULES:
            raise ValueError(f"BoxBoundary rule='{rule}' is not one of {self.RULES}")
        self.box, self.dim, self.rule, self.normals = box, box.dim, rule, bool(normals)
        self.has_targets = self.gives_normals = self.normals
        self.dims = torch.as_tensor(list(range(box.dim)) if dims is None else list(dims), dtype=torch.long)
        self.weights = box.face_areas(self.dims.tolist())

    def draw(self, n: int, generator: torch.Generator) -> tuple[Tensor, Tensor | None]:
        x = self.box.sample(n, generator)
        dev = x.device
        if self.rule == "coordinate":
            pick = torch.randint(len(self.dims), (n,), generator=generator, device=dev)
        else:
            pick = torch.multinomial(self.weights.to(dev), n, replacement=True, generator=generator)
        coord = self.dims.to(dev)[pick]
        side = torch.randint(2, (n,), generator=generator, device=dev).bool()
        value = torch.where(side, self.box.high.to(dev)[coord], self.box.low.to(dev)[coord])
        x = x.scatter(1, coord[:, None], value[:, None])
        if not self.normals:
            return x, None
        sign = torch.where(side, 1.0, -1.0).to(x)
        return x, torch.zeros_like(x).scatter(1, coord[:, None], sign[:, None])

    def sample(self, n: int, generator: torch.Generator) -> Tensor:
        return self.draw(n, generator)[0]

    def bounds(self) -> tuple[Tensor, Tensor]:
        return self.box.bounds()


class InitialSlice(PointSource):
    """Uniform points on the slice ``t = t_0`` of a space-time box (coordinate ``time_dim``)."""

    def __init__(self, box: Box, time_dim: int = 0):
        self.box, self.dim, self.time_dim = box, box.dim, time_dim

    def sample(self, n: int, generator: torch.Generator) -> Tensor:
        x = self.box.sample(n, generator)
        x[:, self.time_dim] = self.box.low[self.time_dim]
        return x


def sphere_area(dim: int, radius: float) -> float:
    """Surface measure of the sphere of ``radius`` in ℝ^dim: ``2π^{d/2} / Γ(d/2) · r^{d−1}``."""
    return 2 * math.pi ** (dim / 2) / math.gamma(dim / 2) * radius ** (dim - 1)


class Ball(Shape):
    """The ball ``‖x − center‖ ≤ radius`` (a disk in 2-d); its boundary is the :class:`Sphere`."""

    def __init__(self, center: Sequence[float], radius: float = 1.0, sampling: str = "uniform"):
        self.center = torch.as_tensor(center, dtype=torch.float64).flatten()
        self.radius, self.dim, self.sampling = float(radius), self.center.numel(), check_sampling(sampling)
        if not self.radius > 0:
            raise ValueError(f"{type(self).__name__} needs a positive radius, got {radius}")

    def _directions(self, n: int, generator: torch.Generator) -> Tensor:
        g = normal(n, self.dim, generator, self.sampling)
        return g / g.norm(dim=1, keepdim=True)

    def sample(self, n: int, generator: torch.Generator) -> Tensor:
        direction, u = directions_and_radii(n, self.dim, generator, self.sampling)
        return self.center.to(u.device) + self.radius * u ** (1.0 / self.dim) * direction

    def bounds(self) -> tuple[Tensor, Tensor]:
        return self.center - self.radius, self.center + self.radius

    def contains(self, x: Tensor, tolerance: float = 1e-12) -> Tensor:
        return (x - self.center.to(x)).norm(dim=1) <= self.radius + tolerance

    def boundary_measure(self) -> float:
        return sphere_area(self.dim, self.radius)

    def sample_boundary(self, n: int, generator: torch.Generator) -> tuple[Tensor, Tensor]:
        direction = self._directions(n, generator)
        return self.center.to(direction.device) + self.radius * direction, direction

    def boundary(self, normals: bool = False) -> PointSource:
        return Sphere(self.center, self.radius, normals=normals)


class Sphere(Ball):
    """Uniform points on the sphere ``‖x − center‖ = radius``; ``normals=True`` adds ``(x − center)/radius``."""

    def __init__(self, center: Sequence[float], radius: float = 1.0, normals: bool = False, sampling: str = "uniform"):
        super().__init__(center, radius, sampling)
        self.normals = bool(normals)
        self.has_targets = self.gives_normals = self.normals

    def draw(self, n: int, generator: torch.Generator) -> tuple[Tensor, Tensor | None]:
        x, normals = self.sample_boundary(n, generator)
        return x, normals if self.normals else None

    def sample(self, n: int, generator: torch.Generator) -> Tensor:
        return self.sample_boundary(n, generator)[0]


class Annulus(Shape):
    """The shell ``inner ≤ ‖x − center‖ ≤ outer`` (an annulus in 2-d); its boundary is both spheres,
    with normals pointing out of the shell (towards the center on the inner one)."""

    def __init__(self, center: Sequence[float], inner: float, outer: float, sampling: str = "uniform"):
        self.center = torch.as_tensor(center, dtype=torch.float64).flatten()
        self.inner, self.outer, self.dim = float(inner), float(outer), self.center.numel()
        self.sampling = check_sampling(sampling)
        if not 0 < self.inner < self.outer:
            raise ValueError(f"Annulus needs 0 < inner < outer, got inner={inner}, outer={outer}")

    def sample(self, n: int, generator: torch.Generator) -> Tensor:
        direction, u = directions_and_radii(n, self.dim, generator, self.sampling)
        a, b, d = self.inner, self.outer, self.dim
        radius = (a**d + u * (b**d - a**d)) ** (1 / d)  # inverse CDF of the density ∝ r^{d−1}
        return self.center.to(u.device) + radius * direction

    def bounds(self) -> tuple[Tensor, Tensor]:
        return self.center - self.outer, self.center + self.outer

    def contains(self, x: Tensor, tolerance: float = 1e-12) -> Tensor:
        r = (x - self.center.to(x)).norm(dim=1)
        return (r >= self.inner - tolerance) & (r <= self.outer + tolerance)

    def boundary_measure(self) -> float:
        return sphere_area(self.dim, self.inner) + sphere_area(self.dim, self.outer)

    def sample_boundary(self, n: int, generator: torch.Generator) -> tuple[Tensor, Tensor]:
        direction = Ball(self.center, 1.0, self.sampling)._directions(n, generator)
        p_outer = self.outer ** (self.dim - 1) / (self.inner ** (self.dim - 1) + self.outer ** (self.dim - 1))
        outer = torch.rand(n, 1, generator=generator, device=generator.device, dtype=torch.float64) < p_outer
        radius = torch.where(outer, self.outer, self.inner)
        return self.center.to(direction.device) + radius * direction, torch.where(outer, direction, -direction)
