"""Viscous Burgers with a shock (Raissi, Perdikaris, Karniadakis 2019): ``u_t + uu_x = (0.01/π)u_xx``.

On ``(t, x) ∈ [0, 1] × [−1, 1]``, ``u(0, x) = −sin πx``, ``u(t, ±1) = 0``. Inputs are ``(t, x)``. A
steep front forms at ``x = 0`` near ``t = 0.3`` (``u_x(0, 1.6037/π) = −152.00516``, Basdevant et
al. 1986).

Exact solution: the Cole–Hopf formula, evaluated per point in torch by the same trapezoidal rule in
the heat-kernel variable as the validated numpy reference :mod:`pinnsolve.problems.references.burgers`
(which documents the rule, its error ``≤ 3e-15`` and the check against Basdevant et al.): with
``η = √(4νt) s``, ``u = −Σ sin π(x − η) w / Σ w``, ``w = exp(−cos π(x − η)/2πν − s²)`` over the
nodes ``s`` of ``[−S, S]``.

Evaluation set: the grid of Raissi et al.'s ``burgers_shock.mat``: ``x`` = 256 equispaced nodes of
``[−1, 1]`` times ``t = 0, 0.01, …, 0.99``.

Records (relative L2, :data:`RECORDS`): 6.7e-4 (Raissi et al. 2019, Table 1: 9 × 20 tanh network,
100 initial/boundary points, 10 000 collocation points, L-BFGS); 8.25e-9 reported by the authors of
vRBA + SSBroyden (Toscano et al. 2025, arXiv 2509.14198) in their repository's notebook, on a
periodic variant with Fourier features and 200 000 collocation points.
"""

import math

import torch

from pinnsolve import Box, BoxBoundary, Condition, FixedPoints, InitialSlice, Problem
from pinnsolve.geometry.grids import tensor_grid

PI = math.pi
NU = 0.01 / PI
WINDOW = math.sqrt(1 / (PI * NU) + 40)
NODES = math.ceil(2 * WINDOW / (0.5 / math.sqrt(2 + 2 * PI))) + 1  # the reference's default for t ≤ 1

RECORDS = [
    {"l2_rel": 6.7e-4, "method": "PINN, L-BFGS (9 × 20 tanh)", "source": "Raissi et al., JCP 2019, Table 1"},
    {"l2_rel": 8.25e-9, "method": "vRBA + SSBroyden (periodic variant)",
     "source": "Toscano et al. 2025, arXiv 2509.14198 (repository notebook)"},
]


def exact(x):  # x = (t, x)
    s = torch.linspace(-WINDOW, WINDOW, NODES, dtype=x.dtype, device=x.device)
    angle = PI * (x[1] - torch.sqrt(4 * NU * x[0]) * s)
    exponent = -torch.cos(angle) / (2 * PI * NU) - s * s
    weight = torch.exp(exponent - exponent.max())
    return -(torch.sin(angle) * weight).sum() / weight.sum()


def pde(u, x):
    return u.partial(0) + u.value * u.partial(1) - NU * u.laplacian(dims=[1])


def initial(u, x):
    return u.value + torch.sin(PI * x[1])


def boundary(u, x):
    return u.value


def evaluation_grid() -> torch.Tensor:
    """The 100 × 256 ``(t, x)`` nodes of ``burgers_shock.mat`` ``[25600, 2]``."""
    return tensor_grid(torch.arange(100, dtype=torch.float64) / 100, torch.linspace(-1, 1, 256, dtype=torch.float64))


def hard_initial_and_boundary(x, n):
    """``u = −sin πx + t(1 − x²)·N``: the initial and boundary values hold exactly (``hard=True``)."""
    return -torch.sin(PI * x[1]) + x[0] * (1 - x[1] ** 2) * n


def make_problem(n_interior: int = 2000, n_initial: int = 200, n_boundary: int = 200, fixed: bool = False,
                 hard: bool = False) -> Problem:
    """``hard=True``: the network's output goes through :func:`hard_initial_and_boundary`, so only the PDE
    residual is fitted (``n_initial`` and ``n_boundary`` are not used)."""
    domain = Box(low=[0.0, -1.0], high=[1.0, 1.0])  # (t, x)
    conditions = [Condition("interior", pde, domain, n_interior, fixed=fixed)]
    if not hard:
        conditions += [
            Condition("initial", initial, InitialSlice(domain, time_dim=0), n_initial, fixed=fixed),
            Condition("boundary", boundary, BoxBoundary(domain, dims=[1], rule="coordinate"), n_boundary, fixed=fixed),
        ]
    return Problem(
        "burgers",
        conditions,
        exact=exact,
        eval_points=FixedPoints(evaluation_grid()),
        input_names=["t", "x"],
        output_transform=hard_initial_and_boundary if hard else None,
    )
