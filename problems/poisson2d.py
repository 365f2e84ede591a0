"""2-d Poisson (Müller & Zeinhofer 2023): ``−Δu = 2π² sin πx sin πy`` on ``[0,1]²``, ``u = 0`` on ``∂``.

Exact solution ``u⋆ = sin πx sin πy``. Network 2-64-1 (257 parameters), 900 interior and 120
boundary points drawn once and kept (Müller & Zeinhofer 2023).
"""

import math

import torch

from pinnsolve import Box, BoxBoundary, Condition, Problem

PI = math.pi


def exact(x):
    return torch.sin(PI * x[0]) * torch.sin(PI * x[1])


def interior(u, x):
    return -u.laplacian() - 2 * PI**2 * exact(x)


def boundary(u, x):
    return u.value


def make_problem(n_interior: int = 900, n_boundary: int = 120, fixed: bool = True) -> Problem:
    square = Box(0.0, 1.0, dim=2)
    return Problem(
        "poisson2d",
        [
            Condition("interior", interior, square, n_interior, fixed=fixed),
            Condition("boundary", boundary, BoxBoundary(square, rule="coordinate"), n_boundary, fixed=fixed),
        ],
        exact=exact,
        input_names=["x", "y"],
    )
