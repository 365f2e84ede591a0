"""1-d reaction with ρ = 5 (Rathore et al. 2024; Krishnapriyan et al. 2021): ``u_t − 5u(1 − u) = 0``.

On ``(t, x) ∈ [0, 1] × [0, 2π]``, periodic in ``x``, ``u(0, x) = h(x) = exp(−(x − π)²/(2(π/4)²))``;
exact solution ``u⋆ = h e^{5t}/(h e^{5t} + 1 − h)`` (logistic growth at every ``x``). Inputs are
``(t, x)``; periodicity is exact (``Problem.periodic``).

Evaluation set: the grid of Rathore et al., ``x`` = 257 equispaced nodes of ``[0, 2π]`` times ``t`` =
101 equispaced nodes of ``[0, 1]``.

Records (relative L2, :data:`RECORDS`): 9.92e-3 with Adam → L-BFGS → NysNewton-CG, 1.92e-2 with
Adam → L-BFGS (Rathore, Lei, Frangella, Lu, Udell, ICML 2024, Tables 2 and 1).
"""

import math

import torch

from pinnsolve import Problem
from pinnsolve.problems.convection import periodic_in_x

RHO = 5.0

RECORDS = [
    {"l2_rel": 9.92e-3, "method": "Adam → L-BFGS → NysNewton-CG", "source": "Rathore et al., ICML 2024, Table 2"},
    {"l2_rel": 1.92e-2, "method": "Adam → L-BFGS", "source": "Rathore et al., ICML 2024, Table 1"},
]


def initial_profile(x):
    return torch.exp(-((x - math.pi) ** 2) / (2 * (math.pi / 4) ** 2))


def exact(x):  # x = (t, x)
    h, growth = initial_profile(x[1]), torch.exp(RHO * x[0])
    return h * growth / (h * growth + 1 - h)


def pde(u, x):
    return u.partial(0) - RHO * u.value * (1 - u.value)


def initial(u, x):
    return u.value - initial_profile(x[1])


def make_problem(n_interior: int = 2000, n_initial: int = 200, fixed: bool = False) -> Problem:
    return periodic_in_x("reaction", pde, initial, exact, n_interior, n_initial, fixed)
