"""A nonlinear elliptic equation on the unit disk: ``−Δu + u³ = f`` in ``‖x‖ < 1``, ``u = u⋆`` on the circle.

Exact solution ``u⋆ = sin(πx) sin(πy) + x²`` with ``f = −Δu⋆ + u⋆³``, ``−Δu⋆ = 2π² sin πx sin πy − 2``.
The residual is nonlinear in ``u``, so the Jacobian changes with ``θ`` through the ``3u²`` factor as
well as through the network. A pinnsolve problem (not from the papers), used to test default
damping. Network 2-24-24-1 (697 parameters) and 1000 + 200 points resampled every step: N > P.
"""

import math

import torch

from pinnsolve import Ball, Condition, Problem, Sphere

PI = math.pi


def exact(x):
    return torch.sin(PI * x[0]) * torch.sin(PI * x[1]) + x[0] ** 2


def source(x):
    minus_laplacian = 2 * PI**2 * torch.sin(PI * x[0]) * torch.sin(PI * x[1]) - 2.0
    return minus_laplacian + exact(x) ** 3


def pde(u, x):
    return -u.laplacian() + u.value**3 - source(x)


def boundary(u, x):
    return u.value - exact(x)


def make_problem(n_interior: int = 1000, n_boundary: int = 200, fixed: bool = False) -> Problem:
    return Problem(
        "nonlinear_disk",
        [
            Condition("interior", pde, Ball([0.0, 0.0], 1.0), n_interior, fixed=fixed),
            Condition("boundary", boundary, Sphere([0.0, 0.0], 1.0), n_boundary, fixed=fixed),
        ],
        exact=exact,
    )
