r"""Constructive solid geometry: union, intersection and difference of shapes (``a | b``, ``a & b``, ``a - b``).

Interior points come by rejection from the bounding box. Boundary points come from the operands'
boundaries, each operand chosen in proportion to its boundary measure, and are kept where they lie
on the result's boundary:

.. math::
    ∂(A ∪ B) = (∂A \setminus \bar B) ∪ (∂B \setminus \bar A),\quad
    ∂(A ∩ B) = (∂A ∩ \bar B) ∪ (∂B ∩ \bar A),\quad
    ∂(A \setminus B) = (∂A \setminus B^\circ) ∪ (∂B ∩ A^\circ),

with the normals of ``∂B`` reversed on a difference. A candidate ``x`` with (oriented) normal ``n`` is
kept when ``x − εn`` lies in the result and ``x + εn`` does not, so pieces where the operands'
boundaries overlap are decided by the result itself; candidates from ``∂B`` that lie on ``∂A`` are
dropped, so a shared piece is drawn once (from ``A``). Kept candidates are independent and uniform in
boundary measure on the result; the result's boundary measure is estimated once from the acceptance
rates (a fixed-seed Monte Carlo estimate, used only to weigh nested operands).
"""

from __future__ import annotations

import torch
from torch import Tensor

from .polygon import MAX_ROUNDS, rejection_sample
from .shapes import Shape

EDGE = 1e-9  # how far inside (or outside) an operand a point must be to count as strictly in it
STEP = 1e-6  # the probe step ε beside a boundary candidate, relative to the bounding box's size
ESTIMATE_POINTS = 4096


class _Combination(Shape):
    """A binary CSG node; subclasses say which boundary pieces are kept (``_keep``)."""

    symbol = "?"
    b_sign = 1.0  # orientation of ∂B's normals on the result's boundary

    def __init__(self, a: Shape, b: Shape):
        if not (isinstance(a, Shape) and isinstance(b, Shape)):
            raise TypeError(f"CSG combines shapes, got {type(a).__name__} and {type(b).__name__}")
        if a.dim != b.dim:
            raise ValueError(f"cannot combine shapes of dimensions {a.dim} and {b.dim}")
        self.a, self.b, self.dim, self.sampling = a, b, a.dim, a.sampling
        self._measure: float | None = None
        low, high = self.bounds()
        self._step = STEP * float((high - low).max())
        if not bool((high > low).all()):
            raise ValueError(f"{self!r} is empty: the operands' bounding boxes do not overlap")
        probe = torch.Generator().manual_seed(0)
        x = low + (high - low) * torch.rand(ESTIMATE_POINTS, self.dim, generator=probe, dtype=torch.float64)
        if not bool(self.contains(x, tolerance=0.0).any()):
            raise ValueError(f"{self!r} is empty (no point of {ESTIMATE_POINTS} in its bounding box lies in it): "
                             "check the operands' positions and sizes")

    def __repr__(self) -> str:
        return f"({self.a!r} {self.symbol} {self.b!r})"

    def _keep(self, x: Tensor, normal: Tensor, from_a: bool) -> tuple[Tensor, float]:
        """Which boundary candidates of operand ``a`` (or ``b``) lie on the result's boundary, and the normal's sign."""
        sign = 1.0 if from_a else self.b_sign
        step = sign * self._step * normal
        keep = self.contains(x - step, tolerance=0.0) & ~self.contains(x + step, tolerance=0.0)
        if not from_a:  # a piece shared with ∂A is drawn from A only
            keep &= ~(self.a.contains(x, EDGE) & ~self.a.contains(x, -EDGE))
        return keep, sign

    def sample(self, n: int, generator: torch.Generator) -> Tensor:
        return rejection_sample(self, n, generator)

    def boundary_measure(self) -> float:
        if self._measure is None:
            probe = torch.Generator().manual_seed(1)
            total = 0.0
            for operand, from_a in ((self.a, True), (self.b, False)):
                x, normal = operand.sample_boundary(ESTIMATE_POINTS, probe)
                total += operand.boundary_measure() * float(self._keep(x, normal, from_a)[0].double().mean())
            self._measure = total
        return self._measure

    def sample_boundary(self, n: int, generator: torch.Generator) -> tuple[Tensor, Tensor]:
        device = generator.device
        weights = torch.tensor([self.a.boundary_measure(), self.b.boundary_measure()], dtype=torch.float64)
        points, normals, count, batch = [], [], 0, max(64, 2 * n)
        for _ in range(MAX_ROUNDS):
            from_a = int(torch.multinomial(weights.to(device), batch, replacement=True, generator=generator).eq(0).sum())
            xs, ns = [], []
            for operand, m, is_a in ((self.a, from_a, True), (self.b, batch - from_a, False)):
                x, normal = operand.sample_boundary(m, generator)
                keep, sign = self._keep(x, normal, is_a)
                xs.append(x[keep])
                ns.append(sign * normal[keep])
            order = torch.randperm(sum(len(x) for x in xs), generator=generator, device=device)
            points.append(torch.cat(xs)[order])
            normals.append(torch.cat(ns)[order])
            count += len(order)
            if count >= n:
                return torch.cat(points)[:n], torch.cat(normals)[:n]
            batch = min(4 * batch, 1 << 22)
        raise ValueError(f"{self!r}: no boundary points found (is the result empty or only a lower-dimensional sliver?)")


class Union(_Combination):
    """``A ∪ B``."""

    symbol = "|"

    def bounds(self) -> tuple[Tensor, Tensor]:
        (la, ha), (lb, hb) = self.a.bounds(), self.b.bounds()
        return torch.minimum(la, lb), torch.maximum(ha, hb)

    def contains(self, x: Tensor, tolerance: float = 1e-12) -> Tensor:
        return self.a.contains(x, tolerance) | self.b.contains(x, tolerance)


class Intersection(_Combination):
    """``A ∩ B``."""

    symbol = "&"

    def bounds(self) -> tuple[Tensor, Tensor]:
        (la, ha), (lb, hb) = self.a.bounds(), self.b.bounds()
        return torch.maximum(la, lb), torch.minimum(ha, hb)

    def contains(self, x: Tensor, tolerance: float = 1e-12) -> Tensor:
        return self.a.contains(x, tolerance) & self.b.contains(x, tolerance)


class Difference(_Combination):
    """``A \\ B``; the part of ``∂B`` inside ``A`` is boundary with its normal reversed."""

    symbol = "-"
    b_sign = -1.0

    def bounds(self) -> tuple[Tensor, Tensor]:
        return self.a.bounds()

    def contains(self, x: Tensor, tolerance: float = 1e-12) -> Tensor:
        return self.a.contains(x, tolerance) & ~self.b.contains(x, -tolerance if tolerance else -EDGE)

