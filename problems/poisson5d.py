"""5-d Poisson (Guzmán-Cordero et al. 2025): ``−Δu = π² Σ cos πx_i`` on ``[0,1]⁵``, ``u = u⋆`` on ``∂``.

Exact solution ``u⋆ = Σ_i cos πx_i`` (``‖u⋆‖_RMS ≈ 1.581``). Network 5-64-64-48-48-1 (10 065
parameters), 3000 interior and 500 boundary points resampled every step (Guzmán-Cordero et al. 2025).
"""

import math

import torch

from pinnsolve import Box, BoxBoundary, Condition, Problem

PI = math.pi


def exact(x):
    return torch.cos(PI * x).sum()


def interior(u, x):
    return -u.laplacian() - PI**2 * torch.cos(PI * x).sum()


def boundary(u, x):
    return u.value - exact(x)


def make_problem(dim: int = 5, n_interior: int = 3000, n_boundary: int = 500, fixed: bool = False) -> Problem:
    cube = Box(0.0, 1.0, dim=dim)
    return Problem(
        f"poisson{dim}d",
        [
            Condition("interior", interior, cube, n_interior, fixed=fixed),
            Condition("boundary", boundary, BoxBoundary(cube, rule="coordinate"), n_boundary, fixed=fixed),
        ],
        exact=exact,
    )
