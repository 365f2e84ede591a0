"""Simple polygons in 2-d: interior by rejection from the bounding box, boundary by edge length."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from .shapes import Shape
from .unit_cube import check_sampling, unit_cube

MAX_ROUNDS = 200


def rejection_sample(shape: Shape, n: int, generator: torch.Generator) -> Tensor:
    """``n`` points of ``shape``'s interior: candidates from its bounding box, kept where ``contains``."""
    low, high = (b.to(generator.device) for b in shape.bounds())
    kept, count, batch = [], 0, max(64, 2 * n)
    for _ in range(MAX_ROUNDS):
        x = low + (high - low) * unit_cube(batch, shape.dim, generator, shape.sampling)
        inside = x[shape.contains(x, tolerance=0.0)]
        kept.append(inside)
        count += len(inside)
        if count >= n:
            return torch.cat(kept)[:n]
        batch = min(4 * batch, 1 << 22)
    raise ValueError(f"{shape!r} has (almost) no interior: {count} of the candidate points fell inside it. "
                     "Check the shape (an empty intersection or difference?)")


def _segment_distance(x: Tensor, a: Tensor, b: Tensor) -> Tensor:
    """Distance ``[n, k]`` of points ``x: [n, 2]`` to segments ``a → b: [k, 2]``."""
    ab = b - a
    t = (((x[:, None] - a) * ab).sum(-1) / (ab * ab).sum(-1).clamp_min(1e-300)).clamp(0, 1)
    return (x[:, None] - (a + t[..., None] * ab)).norm(dim=-1)


class Polygon(Shape):
    """A simple polygon (no self-intersections) with the given vertices, in either orientation.

    Args:
        vertices: ``[k, 2]``, ``k ≥ 3``, in order around the polygon (the last joins the first; a
            closed ring that repeats the first vertex at the end is accepted, as are repeated vertices).
        sampling: how interior candidates are drawn (``uniform``, ``sobol``, ``halton``, ``lhs``).
    """

    def __init__(self, vertices: Sequence[Sequence[float]], sampling: str = "uniform"):
        v = torch.as_tensor(vertices, dtype=torch.float64)
        if v.ndim != 2 or v.shape[1] != 2:
            raise ValueError(f"Polygon needs vertices of shape [k >= 3, 2], got {tuple(v.shape)}")
        v = v[(v - v.roll(-1, 0)).abs().amax(dim=1) > 0]  # drop repeats (zero-length edges), e.g. a closed ring
        if v.shape[0] < 3:
            raise ValueError(f"Polygon needs at least 3 distinct vertices, got {v.shape[0]}")
        nxt = v.roll(-1, 0)
        signed_area = 0.5 * float((v[:, 0] * nxt[:, 1] - nxt[:, 0] * v[:, 1]).sum())
        if abs(signed_area) < 1e-14:
            raise ValueError("Polygon has zero area: its vertices are collinear or repeated")
        self.vertices = v if signed_area > 0 else v.flip(0)  # counter-clockwise
        self.dim, self.area, self.sampling = 2, abs(signed_area), check_sampling(sampling)
        self._start, self._end = self.vertices, self.vertices.roll(-1, 0)
        edge = self._end - self._start
        self._lengths = edge.norm(dim=1)
        self._normals = torch.stack([edge[:, 1], -edge[:, 0]], dim=1) / self._lengths[:, None]  # outward (CCW)

    def __repr__(self) -> str:
        return f"Polygon({len(self.vertices)} vertices)"

    def sample(self, n: int, generator: torch.Generator) -> Tensor:
        return rejection_sample(self, n, generator)

    def bounds(self) -> tuple[Tensor, Tensor]:
        return self.vertices.min(dim=0).values, self.vertices.max(dim=0).values

    def contains(self, x: Tensor, tolerance: float = 1e-12) -> Tensor:
        a, b = self._start.to(x), self._end.to(x)
        px, py = x[:, :1], x[:, 1:]
        crosses = (a[:, 1] > py) != (b[:, 1] > py)
        x_cross = a[:, 0] + (py - a[:, 1]) * (b[:, 0] - a[:, 0]) / torch.where(crosses, b[:, 1] - a[:, 1], 1.0)
        inside = ((crosses & (px < x_cross)).sum(1) % 2) == 1  # even–odd rule
        if tolerance == 0:
            return inside
        distance = _segment_distance(x, a, b).min(dim=1).values
        return inside | (distance <= tolerance) if tolerance > 0 else inside & (distance > -tolerance)

    def boundary_measure(self) -> float:
        return float(self._lengths.sum())

    def sample_boundary(self, n: int, generator: torch.Generator) -> tuple[Tensor, Tensor]:
        device = generator.device
        edge = torch.multinomial(self._lengths.to(device), n, replacement=True, generator=generator)
        t = torch.rand(n, 1, generator=generator, device=device, dtype=torch.float64)
        a, b = self._start.to(device)[edge], self._end.to(device)[edge]
        return a + t * (b - a), self._normals.to(device)[edge]
