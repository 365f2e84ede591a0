"""1-d convection with β = 40 (Rathore et al. 2024; Krishnapriyan et al. 2021): ``u_t + 40u_x = 0``.

On ``(t, x) ∈ [0, 1] × [0, 2π]``, periodic in ``x``, ``u(0, x) = sin x``; exact solution
``u⋆ = sin(x − 40t)``: the initial wave crosses the domain more than six times. Inputs are ``(t, x)``.
Periodicity is exact (the network sees ``cos x, sin x``, ``Problem.periodic``), where the papers
add a periodic boundary loss.

Evaluation set: the grid of Rathore et al., ``x`` = 257 equispaced nodes of ``[0, 2π]`` times ``t`` =
101 equispaced nodes of ``[0, 1]``.

Records (relative L2, :data:`RECORDS`): 1.94e-3 with Adam → L-BFGS → NysNewton-CG, 4.19e-3 with
Adam → L-BFGS (Rathore, Lei, Frangella, Lu, Udell, ICML 2024, Tables 2 and 1).
"""

import math

import torch

from pinnsolve import Box, Condition, FixedPoints, InitialSlice, Problem
from pinnsolve.geometry.grids import tensor_grid

BETA = 40.0
LENGTH = 2 * math.pi

RECORDS = [
    {"l2_rel": 1.94e-3, "method": "Adam → L-BFGS → NysNewton-CG", "source": "Rathore et al., ICML 2024, Table 2"},
    {"l2_rel": 4.19e-3, "method": "Adam → L-BFGS", "source": "Rathore et al., ICML 2024, Table 1"},
]


def exact(x):  # x = (t, x)
    return torch.sin(x[1] - BETA * x[0])


def pde(u, x):
    return u.partial(0) + BETA * u.partial(1)


def initial(u, x):
    return u.value - torch.sin(x[1])


def evaluation_grid() -> torch.Tensor:
    """The 101 × 257 ``(t, x)`` nodes ``[25957, 2]``."""
    return tensor_grid(torch.linspace(0, 1, 101, dtype=torch.float64),
                       torch.linspace(0, LENGTH, 257, dtype=torch.float64))


def periodic_in_x(name: str, pde, initial, exact, n_interior: int, n_initial: int, fixed: bool) -> Problem:
    """The setting convection and reaction share: ``(t, x) ∈ [0, 1] × [0, 2π]``, periodic in ``x``, an
    initial condition, errors on :func:`evaluation_grid`."""
    domain = Box(low=[0.0, 0.0], high=[1.0, LENGTH])  # (t, x)
    return Problem(
        name,
        [
            Condition("interior", pde, domain, n_interior, fixed=fixed),
            Condition("initial", initial, InitialSlice(domain, time_dim=0), n_initial, fixed=fixed),
        ],
        exact=exact,
        eval_points=FixedPoints(evaluation_grid()),
        input_names=["t", "x"],
        periodic={1: LENGTH},
    )


def make_problem(n_interior: int = 2000, n_initial: int = 200, fixed: bool = False) -> Problem:
    return periodic_in_x("convection", pde, initial, exact, n_interior, n_initial, fixed)
