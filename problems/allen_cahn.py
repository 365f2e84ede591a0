"""Allen–Cahn in 1-d (Raissi et al. 2019; Wang et al. 2023): ``u_t − 10⁻⁴u_xx + 5u³ − 5u = 0``.

On ``(t, x) ∈ [0, 1] × [−1, 1]``, periodic in ``x``, ``u(0, x) = x² cos πx``. Inputs are ``(t, x)``;
periodicity is exact (``Problem.periodic``). The solution settles into flat phases ``u = ±1``
joined by interfaces of width ~``√(10⁻⁴/5)``, which first-order PINN training typically misses.

Reference: a Fourier pseudo-spectral solution with ETDRK4 (Kassam & Trefethen 2005),
:mod:`pinnsolve.problems.references.allen_cahn`, converged to ~1e-12 (its docstring gives the
self-convergence measured). It is computed once per process (about 1 s, with 1024 modes and
``dt = 10⁻³``: 1.4e-8 at most, 1.4e-10 relative L2, from the solver's converged defaults) on the evaluation grid,
and ``exact`` interpolates it (:class:`~pinnsolve.problem.reference.GridSolution`: exact at the
nodes). The benchmark files of Raissi (``AC.mat``) and jaxpi (``allen_cahn.mat``) are themselves
1.2e-5 and 1.6e-5 (relative L2) off this converged solution, the size of the best published errors.

Evaluation set: jaxpi's grid, ``t`` = 201 equispaced nodes of ``[0, 1]`` times ``x`` = 512 equispaced
nodes of ``[−1, 1]`` (both ends), the relative L2 norm over all of it.

Records (relative L2, :data:`RECORDS`): 2.24e-5 (PirateNets, Wang et al. 2024, as listed in jaxpi's
``pirate`` README); 5.37e-5 (Wang, Sankaran, Wang, Perdikaris, "An expert's guide to training
physics-informed neural networks", arXiv 2308.08468, 2023, Table 1: modified MLP 4 × 256, Fourier
features, gradient-norm weights, causal training); 1.39e-4 (causal training, Wang, Sankaran, Perdikaris,
arXiv 2203.07404, Table 1).
"""

import functools
import math

import torch

from pinnsolve import Box, Condition, FixedPoints, InitialSlice, Problem
from pinnsolve.problem.reference import GridSolution

from .references.allen_cahn import allen_cahn_solution

DIFFUSION = 1e-4
REACTION = 5.0

RECORDS = [
    {"l2_rel": 2.24e-5, "method": "PirateNet", "source": "Wang et al. 2024 (PirateNets), jaxpi pirate README"},
    {"l2_rel": 5.37e-5, "method": "modified MLP + causal training", "source": "Wang et al. 2023, arXiv 2308.08468, Table 1"},
    {"l2_rel": 1.39e-4, "method": "causal training", "source": "Wang, Sankaran, Perdikaris, arXiv 2203.07404, Table 1"},
]


@functools.lru_cache(maxsize=1)
def reference() -> GridSolution:
    """The ETDRK4 solution on the 201 × 512 ``(t, x)`` evaluation grid, as a per-point function."""
    x, t, u = allen_cahn_solution(x=[-1 + 2 * i / 511 for i in range(512)], t=[i / 200 for i in range(201)],
                                  modes=1024, startup_modes=4096, dt=1e-3)
    return GridSolution([torch.tensor(t), torch.tensor(x)], torch.tensor(u))


def pde(u, x):
    return u.partial(0) - DIFFUSION * u.laplacian(dims=[1]) + REACTION * u.value**3 - REACTION * u.value


def initial(u, x):
    return u.value - x[1] ** 2 * torch.cos(math.pi * x[1])


def make_problem(n_interior: int = 2000, n_initial: int = 200, fixed: bool = False) -> Problem:
    domain = Box(low=[0.0, -1.0], high=[1.0, 1.0])  # (t, x)
    return Problem(
        "allen_cahn",
        [
            Condition("interior", pde, domain, n_interior, fixed=fixed),
            Condition("initial", initial, InitialSlice(domain, time_dim=0), n_initial, fixed=fixed),
        ],
        exact=reference(),
        eval_points=FixedPoints(reference().points()),
        input_names=["t", "x"],
        periodic={1: 2.0},
    )
