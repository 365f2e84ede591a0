"""1-d heat equation (Müller & Zeinhofer 2023): ``u_t − ¼u_xx = 0`` on ``(t, x) ∈ [0,1]²``,
``u(0, x) = sin πx``, ``u(t, 0) = u(t, 1) = 0``.

Exact solution ``u⋆ = exp(−π²t/4) sin πx``. Inputs are ``(t, x)``, time first. Network 2-64-1
(257 parameters); 900 interior points and 120 boundary points, drawn once and kept (Müller & Zeinhofer 2023).

The 120 boundary points are split into two conditions, ``initial`` (``n_initial = 60`` on
``t = 0``) and ``boundary`` (``n_boundary = 60`` on ``x ∈ {0, 1}``). Each block gets the weight
``N_c / (n_initial + n_boundary)`` so that every boundary point enters the loss with the weight
``1/(2·120)``: the loss equals ``1/(2N_Ω) Σ r_Ω² + 1/(2N_∂) Σ r_∂²`` with one boundary batch of
``N_∂ = 120`` points, as in the papers.
"""

import math

import torch

from pinnsolve import Box, BoxBoundary, Condition, InitialSlice, Problem

PI = math.pi


def exact(x):  # x = (t, x)
    return torch.exp(-PI**2 * x[0] / 4) * torch.sin(PI * x[1])


def pde(u, x):
    return u.partial(0) - 0.25 * u.laplacian(dims=[1])


def initial(u, x):
    return u.value - torch.sin(PI * x[1])


def boundary(u, x):
    return u.value


def make_problem(n_interior: int = 900, n_initial: int = 60, n_boundary: int = 60, fixed: bool = True) -> Problem:
    domain = Box(low=[0.0, 0.0], high=[1.0, 1.0])  # (t, x)
    n_edge = n_initial + n_boundary
    return Problem(
        "heat1d",
        [
            Condition("interior", pde, domain, n_interior, fixed=fixed),
            Condition("initial", initial, InitialSlice(domain, time_dim=0), n_initial, weight=n_initial / n_edge, fixed=fixed),
            Condition("boundary", boundary, BoxBoundary(domain, dims=[1], rule="coordinate"), n_boundary, weight=n_boundary / n_edge, fixed=fixed),
        ],
        exact=exact,
        input_names=["t", "x"],
    )
