"""1-d wave equation with two modes (Rathore et al. 2024): ``u_tt = 4u_xx`` on ``(t, x) ∈ [0,1]²``.

``u = 0`` at ``x = 0, 1``, ``u(0, x) = sin πx + ½ sin 5πx``, ``u_t(0, x) = 0``; exact solution
``u⋆ = sin πx cos 2πt + ½ sin 5πx cos 10πt``. Inputs are ``(t, x)``, time first. The fifth mode
oscillates five times in ``t``, which makes this the hardest of the three problems of Rathore et al.

Evaluation set: the paper's grid, ``x`` = 257 equispaced nodes of ``[0, 1]`` times ``t`` = 101
equispaced nodes of ``[0, 1]`` (its 255 × 100 interior points, 257 initial and 2 × 101 boundary points;
the corners once).

Records (relative L2 on that grid, :data:`RECORDS`): 1.27e-2 with Adam → L-BFGS → NysNewton-CG and
5.52e-2 with Adam → L-BFGS (Rathore, Lei, Frangella, Lu, Udell, "Challenges in training PINNs: a loss
landscape perspective", ICML 2024, Tables 2 and 1; tanh MLPs of 3 hidden layers, 10 000 residual points).
"""

import math

import torch

from pinnsolve import Box, BoxBoundary, Condition, FixedPoints, InitialSlice, Problem
from pinnsolve.geometry.grids import tensor_grid

PI = math.pi
SPEED_SQUARED = 4.0

RECORDS = [
    {"l2_rel": 1.27e-2, "method": "Adam → L-BFGS → NysNewton-CG", "source": "Rathore et al., ICML 2024, Table 2"},
    {"l2_rel": 5.52e-2, "method": "Adam → L-BFGS", "source": "Rathore et al., ICML 2024, Table 1"},
]


def exact(x):  # x = (t, x)
    t, y = x[0], x[1]
    return torch.sin(PI * y) * torch.cos(2 * PI * t) + 0.5 * torch.sin(5 * PI * y) * torch.cos(10 * PI * t)


def pde(u, x):
    return u.laplacian(dims=[0]) - SPEED_SQUARED * u.laplacian(dims=[1])


def initial_value(u, x):
    return u.value - torch.sin(PI * x[1]) - 0.5 * torch.sin(5 * PI * x[1])


def initial_velocity(u, x):
    return u.partial(0)


def boundary(u, x):
    return u.value


def evaluation_grid() -> torch.Tensor:
    """The paper's 101 × 257 ``(t, x)`` nodes ``[25957, 2]``."""
    return tensor_grid(torch.linspace(0, 1, 101, dtype=torch.float64), torch.linspace(0, 1, 257, dtype=torch.float64))


def hard_initial_and_boundary(x, n):
    """``u = u₀(x) + t²·x(1 − x)·N``: ``u(0, x) = u₀``, ``u_t(0, x) = 0`` and ``u = 0`` at ``x = 0, 1``
    hold exactly (``hard=True``)."""
    t, y = x[0], x[1]
    return torch.sin(PI * y) + 0.5 * torch.sin(5 * PI * y) + t**2 * y * (1 - y) * n


def make_problem(n_interior: int = 2000, n_initial: int = 200, n_boundary: int = 200, fixed: bool = False,
                 hard: bool = False) -> Problem:
    """``hard=True``: the network's output goes through :func:`hard_initial_and_boundary`, so only the PDE
    residual is fitted (``n_initial`` and ``n_boundary`` are not used)."""
    domain = Box(low=[0.0, 0.0], high=[1.0, 1.0])  # (t, x)
    start = InitialSlice(domain, time_dim=0)
    conditions = [Condition("interior", pde, domain, n_interior, fixed=fixed)]
    if not hard:
        conditions += [
            Condition("initial_value", initial_value, start, n_initial, fixed=fixed),
            Condition("initial_velocity", initial_velocity, start, n_initial, fixed=fixed),
            Condition("boundary", boundary, BoxBoundary(domain, dims=[1], rule="coordinate"), n_boundary, fixed=fixed),
        ]
    return Problem(
        "wave",
        conditions,
        exact=exact,
        eval_points=FixedPoints(evaluation_grid()),
        input_names=["t", "x"],
        output_transform=hard_initial_and_boundary if hard else None,
    )
