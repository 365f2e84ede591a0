"""2-d Helmholtz equation with many more points than parameters: ``−Δu − k²u = f`` on ``[0,1]²``,
``u = u⋆`` on the boundary, ``k = 4``.

Exact solution ``u⋆ = sin(2πx) sin(πy)``, so ``f = (5π² − k²) u⋆``. A pinnsolve problem (not from the
papers) with N ≫ P: network 2-32-1 (129 parameters) and 900 interior + 200 boundary points drawn once,
where the kernel K = JJᵀ has rank ≤ P < N and the damping must cope with a singular K.
"""

import math

import torch

from pinnsolve import Box, BoxBoundary, Condition, Problem

PI = math.pi
WAVE_NUMBER = 4.0


def exact(x):
    return torch.sin(2 * PI * x[0]) * torch.sin(PI * x[1])


def pde(u, x):
    return -u.laplacian() - WAVE_NUMBER**2 * u.value - (5 * PI**2 - WAVE_NUMBER**2) * exact(x)


def boundary(u, x):
    return u.value - exact(x)


def make_problem(n_interior: int = 900, n_boundary: int = 200, fixed: bool = True) -> Problem:
    square = Box(0.0, 1.0, dim=2)
    return Problem(
        "helmholtz2d",
        [
            Condition("interior", pde, square, n_interior, fixed=fixed),
            Condition("boundary", boundary, BoxBoundary(square, rule="coordinate"), n_boundary, fixed=fixed),
        ],
        exact=exact,
    )
