"""Point sources: where the points of a condition come from.

Every source has a dimension ``dim`` and ``draw(n, generator) -> (x: [n, dim], y)`` drawing on the
generator's device in float64 (the trainer casts to the run's dtype); ``y`` holds per-point targets
for data sources and is ``None`` for geometric ones, which implement ``sample(n, generator) -> x``.
A :class:`FixedPoints` source returns the same points (and targets) every time; :class:`Minibatches`
draws a random subset of a data set each step.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor


def _uniform(n: int, low: Tensor, high: Tensor, generator: torch.Generator) -> Tensor:
    u = torch.rand(n, low.numel(), generator=generator, device=generator.device, dtype=torch.float64)
    return low.to(u.device) + (high - low).to(u.device) * u


class PointSource:
    """Base class of point sources."""

    dim: int
    fixed: bool = False
    has_targets: bool = False

    def sample(self, n: int, generator: torch.Generator) -> Tensor:
        raise NotImplementedError

    def draw(self, n: int, generator: torch.Generator) -> tuple[Tensor, Tensor | None]:
        """``n`` points and their targets (``None`` without targets)."""
        return self.sample(n, generator), None

    def bounds(self) -> tuple[Tensor, Tensor] | None:
        """``(low, high): [d]`` of a box around the source (for plots and grids), or ``None``."""
        return None

    def contains(self, x: Tensor) -> Tensor:
        """Which points ``x: [n, d]`` lie in the source's domain (``[n]`` bool; all of them by default)."""
        return torch.ones(x.shape[0], dtype=torch.bool, device=x.device)


class Box(PointSource):
    """Uniform points in the box ``[low_1, high_1] × … × [low_d, high_d]``.

    Args:
        low, high: corners, each a number (same for every coordinate, then ``dim`` is needed) or a
            sequence of ``d`` numbers.
        dim: the dimension when ``low`` and ``high`` are numbers.
    """

    def __init__(self, low: float | Sequence[float] = 0.0, high: float | Sequence[float] = 1.0, dim: int | None = None):
        low_t = torch.as_tensor(low, dtype=torch.float64).flatten()
        high_t = torch.as_tensor(high, dtype=torch.float64).flatten()
        if dim is not None:
            low_t, high_t = low_t.expand(dim).clone(), high_t.expand(dim).clone()
        if low_t.shape != high_t.shape:
            raise ValueError(f"Box corners have different lengths: {low_t.numel()} and {high_t.numel()}")
        if not bool((high_t > low_t).all()):
            raise ValueError(f"Box needs low < high in every coordinate, got low={low_t.tolist()}, high={high_t.tolist()}")
        self.low, self.high, self.dim = low_t, high_t, low_t.numel()

    def sample(self, n: int, generator: torch.Generator) -> Tensor:
        return _uniform(n, self.low, self.high, generator)

    def bounds(self) -> tuple[Tensor, Tensor]:
        return self.low, self.high

    def contains(self, x: Tensor) -> Tensor:
        low, high = self.low.to(x), self.high.to(x)
        return ((x >= low) & (x <= high)).all(dim=1)


class BoxBoundary(PointSource):
    """Points on the faces of a box: draw a uniform point, pick a random coordinate among ``dims``
    and a random side, and set that coordinate to its low or high value (SPEC §4).

    Args:
        box: the box.
        dims: the coordinates whose faces count as boundary (default all). For a space-time box
            ``[0, T] × Ω`` pass the spatial coordinates, e.g. ``range(1, d)``.
    """

    def __init__(self, box: Box, dims: Sequence[int] | None = None):
        self.box, self.dim = box, box.dim
        self.dims = torch.as_tensor(list(range(box.dim)) if dims is None else list(dims), dtype=torch.long)

    def sample(self, n: int, generator: torch.Generator) -> Tensor:
        x = self.box.sample(n, generator)
        dev = x.device
        pick = torch.randint(len(self.dims), (n,), generator=generator, device=dev)
        coord = self.dims.to(dev)[pick]
        side = torch.randint(2, (n,), generator=generator, device=dev).bool()
        value = torch.where(side, self.box.high.to(dev)[coord], self.box.low.to(dev)[coord])
        return x.scatter(1, coord[:, None], value[:, None])


class InitialSlice(PointSource):
    """Uniform points on the slice ``t = t_0`` of a space-time box (coordinate ``time_dim``)."""

    def __init__(self, box: Box, time_dim: int = 0):
        self.box, self.dim, self.time_dim = box, box.dim, time_dim

    def sample(self, n: int, generator: torch.Generator) -> Tensor:
        x = self.box.sample(n, generator)
        x[:, self.time_dim] = self.box.low[self.time_dim]
        return x


class Ball(PointSource):
    """Uniform points in the ball ``‖x − center‖ ≤ radius``."""

    def __init__(self, center: Sequence[float], radius: float = 1.0):
        self.center = torch.as_tensor(center, dtype=torch.float64).flatten()
        self.radius, self.dim = float(radius), self.center.numel()

    def _directions(self, n: int, generator: torch.Generator) -> Tensor:
        g = torch.randn(n, self.dim, generator=generator, device=generator.device, dtype=torch.float64)
        return g / g.norm(dim=1, keepdim=True)

    def sample(self, n: int, generator: torch.Generator) -> Tensor:
        direction = self._directions(n, generator)
        u = torch.rand(n, 1, generator=generator, device=generator.device, dtype=torch.float64)
        return self.center.to(u.device) + self.radius * u ** (1.0 / self.dim) * direction

    def bounds(self) -> tuple[Tensor, Tensor]:
        return self.center - self.radius, self.center + self.radius

    def contains(self, x: Tensor) -> Tensor:
        return (x - self.center.to(x)).norm(dim=1) <= self.radius * (1 + 1e-12)


class Sphere(Ball):
    """Uniform points on the sphere ``‖x − center‖ = radius`` (the boundary of a :class:`Ball`)."""

    def sample(self, n: int, generator: torch.Generator) -> Tensor:
        direction = self._directions(n, generator)
        return self.center.to(direction.device) + self.radius * direction


class SpaceTime(PointSource):
    """Points ``(t, x)`` with ``t`` uniform in ``[t_min, t_max]`` and ``x`` from a spatial source (time first).

    One class gives the three sources of a time-dependent problem on any shape:
    ``SpaceTime(Ball(c, r))`` (the space-time interior), ``SpaceTime(Ball(c, r), 0.0, 0.0)`` (the
    initial slice ``t = 0``) and ``SpaceTime(Sphere(c, r))`` (the lateral boundary).

    Args:
        space: the spatial source (dimension ``d``); the result has dimension ``d + 1``.
        t_min, t_max: the time interval (equal for a slice).
    """

    def __init__(self, space: PointSource, t_min: float = 0.0, t_max: float = 1.0):
        if not t_max >= t_min:
            raise ValueError(f"SpaceTime needs t_min <= t_max, got {t_min} and {t_max}")
        self.space, self.t_min, self.t_max, self.dim = space, float(t_min), float(t_max), space.dim + 1

    def sample(self, n: int, generator: torch.Generator) -> Tensor:
        t = self.t_min + (self.t_max - self.t_min) * torch.rand(n, 1, generator=generator, device=generator.device,
                                                               dtype=torch.float64)
        return torch.cat([t, self.space.sample(n, generator).to(t.device)], dim=1)

    def bounds(self) -> tuple[Tensor, Tensor] | None:
        space = self.space.bounds()
        if space is None:
            return None
        t = torch.tensor([self.t_min], dtype=torch.float64), torch.tensor([self.t_max], dtype=torch.float64)
        return torch.cat([t[0], space[0]]), torch.cat([t[1], space[1]])

    def contains(self, x: Tensor) -> Tensor:
        return (x[:, 0] >= self.t_min) & (x[:, 0] <= self.t_max) & self.space.contains(x[:, 1:])


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
