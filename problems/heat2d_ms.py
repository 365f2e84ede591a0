"""Multi-scale heat equation (PINNacle's Heat2d-MS, Hao et al. 2024): ``u_t = (500π)⁻²u_xx + π⁻²u_yy``.

On ``(t, x, y) ∈ [0, 5] × [0, 1]²``, ``u = 0`` on the spatial boundary, ``u(0, x, y) = sin 20πx sin πy``;
exact solution ``u⋆ = sin 20πx sin πy · e^{−(1 + 1/625)t}``. Inputs are ``(t, x, y)``. Ten
oscillations in ``x`` against one in ``y``, and diffusion coefficients 2.5e5 apart, are what make it
multi-scale: the residual barely sees the ``x`` structure, which the initial condition must carry.

Evaluation set: a uniform ``t × x × y`` grid of 26 × 101 × 26 nodes (PINNacle's own set is a COMSOL
mesh; with the exact solution any dense set serves).

Record: PINNacle (Hao et al., NeurIPS 2024 Datasets and Benchmarks) reports its best method at
relative L2 6.21e-2 on Heat2d-MS (as quoted from its main results table; the table was not
checked here), :data:`RECORDS`.
"""

import math

import torch

from pinnsolve import Box, BoxBoundary, Condition, FixedPoints, InitialSlice, Problem
from pinnsolve.geometry.grids import tensor_grid

PI = math.pi
DIFFUSION_X = 1 / (500 * PI) ** 2
DIFFUSION_Y = 1 / PI**2
DECAY = 1 + 1 / 625
T_END = 5.0

RECORDS = [{"l2_rel": 6.21e-2, "method": "best of PINNacle", "source": "Hao et al., NeurIPS 2024 (PINNacle), main table"}]


def initial_profile(x):
    return torch.sin(20 * PI * x[1]) * torch.sin(PI * x[2])


def exact(x):  # x = (t, x, y)
    return initial_profile(x) * torch.exp(-DECAY * x[0])


def pde(u, x):
    return u.partial(0) - DIFFUSION_X * u.laplacian(dims=[1]) - DIFFUSION_Y * u.laplacian(dims=[2])


def initial(u, x):
    return u.value - initial_profile(x)


def boundary(u, x):
    return u.value


def make_problem(n_interior: int = 2000, n_initial: int = 500, n_boundary: int = 300, fixed: bool = False) -> Problem:
    domain = Box(low=[0.0, 0.0, 0.0], high=[T_END, 1.0, 1.0])  # (t, x, y)
    grid = tensor_grid(torch.linspace(0, T_END, 26, dtype=torch.float64), torch.linspace(0, 1, 101, dtype=torch.float64),
                       torch.linspace(0, 1, 26, dtype=torch.float64))
    return Problem(
        "heat2d_ms",
        [
            Condition("interior", pde, domain, n_interior, fixed=fixed),
            Condition("initial", initial, InitialSlice(domain, time_dim=0), n_initial, fixed=fixed),
            Condition("boundary", boundary, BoxBoundary(domain, dims=[1, 2], rule="coordinate"), n_boundary, fixed=fixed),
        ],
        exact=exact,
        eval_points=FixedPoints(grid),
        input_names=["t", "x", "y"],
    )
