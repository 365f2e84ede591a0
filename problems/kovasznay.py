"""Kovasznay flow at Re = 40 (Kovasznay 1948; NSFnets, Jin et al. 2021): steady 2-d Navier–Stokes.

One network with three outputs (velocity ``u``, ``v``, pressure ``p``) on ``[−0.5, 1] × [−0.5, 1.5]``::

    u u_x + v u_y + p_x − ν Δu = 0,   u v_x + v v_y + p_y − ν Δv = 0,   u_x + v_y = 0,   ν = 1/Re,

with ``u, v, p`` given on the boundary by the exact solution (``λ = Re/2 − √(Re²/4 + 4π²)``)::

    u⋆ = 1 − e^{λx} cos 2πy,   v⋆ = λ/(2π) e^{λx} sin 2πy,   p⋆ = ½ (1 − e^{2λx}).

Evaluation set: a uniform 151 × 201 grid of the domain (spacing 0.01); ``metrics.csv`` has
``l2_rel_u``, ``l2_rel_v``, ``l2_rel_p``.

Records (relative L2, :data:`RECORDS`): NSFnets' velocity–pressure form, 10 × 300 tanh network, the
best of 10 runs: u 8e-5, v 7.2e-4 (Jin, Cai, Li, Karniadakis, "NSFnets", J. Comput. Phys. 426 (2021),
Table 1: 0.008 % and 0.072 %).
"""

import math

import torch

from pinnsolve import Box, BoxBoundary, Condition, FixedPoints, Problem
from pinnsolve.geometry.grids import tensor_grid

RE = 40.0
NU = 1.0 / RE
LAMBDA = RE / 2 - math.sqrt(RE**2 / 4 + 4 * math.pi**2)

RECORDS = [
    {"l2_rel_u": 8e-5, "l2_rel_v": 7.2e-4, "method": "NSFnets (VP form, 10 × 300, best of 10)",
     "source": "Jin et al., JCP 2021, Table 1"},
]


def exact(x):  # x = (x, y); returns (u, v, p)
    decay = torch.exp(LAMBDA * x[0])
    angle = 2 * math.pi * x[1]
    return torch.stack([1 - decay * torch.cos(angle), LAMBDA / (2 * math.pi) * decay * torch.sin(angle),
                        0.5 * (1 - decay**2)])


def navier_stokes(u, x):
    vx, vy, p = u[0], u[1], u[2]
    return torch.stack([
        vx.value * vx.partial(0) + vy.value * vx.partial(1) + p.partial(0) - NU * vx.laplacian(),
        vx.value * vy.partial(0) + vy.value * vy.partial(1) + p.partial(1) - NU * vy.laplacian(),
        vx.partial(0) + vy.partial(1),
    ])


def boundary(u, x):
    return u.value - exact(x)


def make_problem(n_interior: int = 2000, n_boundary: int = 400, fixed: bool = False) -> Problem:
    domain = Box(low=[-0.5, -0.5], high=[1.0, 1.5])
    grid = tensor_grid(torch.linspace(-0.5, 1.0, 151, dtype=torch.float64), torch.linspace(-0.5, 1.5, 201, dtype=torch.float64))
    return Problem(
        "kovasznay",
        [Condition("navier_stokes", navier_stokes, domain, n_interior, fixed=fixed),
         Condition("boundary", boundary, BoxBoundary(domain), n_boundary, fixed=fixed)],
        exact=exact,
        eval_points=FixedPoints(grid),
        n_outputs=3,
        output_names=["u", "v", "p"],
        input_names=["x", "y"],
    )
