"""4-d heat equation (Guzmán-Cordero et al. 2025): ``u_t − ¼Δ_x u = 0`` for ``t ∈ [0,1]``,
``x ∈ [0,1]⁴``, with ``u = u⋆`` at ``t = 0`` and on the spatial boundary.

Exact solution ``u⋆ = exp(−t) Σ_i sin 2x_i`` (``u⋆_t = −u⋆``, ``Δ_x u⋆ = −4u⋆``;
``‖u⋆‖_RMS ≈ 1.905``). Inputs are ``(t, x_1, …, x_4)``, time first. Network 5-256-256-128-128-1
(116 865 parameters); 3000 interior points and a boundary batch of 500, resampled every step.

"Half the boundary batch at ``t = 0``, half on the spatial boundary" (Guzmán-Cordero et al. 2025) is implemented as
two conditions of ``n_initial = 250`` and ``n_boundary = 250`` points. Each gets the weight
``N_c / (n_initial + n_boundary)`` (½ by default), so every boundary point enters the loss with the
weight ``1/(2·500)``, exactly as one boundary batch of ``N_∂ = 500`` points in the papers' loss
``1/(2N_Ω) Σ r_Ω² + 1/(2N_∂) Σ r_∂²``.
"""

import torch

from pinnsolve import Box, BoxBoundary, Condition, InitialSlice, Problem

SPACE_DIM = 4


def exact(x):  # x = (t, x_1, …, x_4)
    return torch.exp(-x[0]) * torch.sin(2 * x[1:]).sum()


def pde(u, x):
    return u.partial(0) - 0.25 * u.laplacian(dims=range(1, SPACE_DIM + 1))


def initial(u, x):
    return u.value - torch.sin(2 * x[1:]).sum()


def boundary(u, x):
    return u.value - exact(x)


def make_problem(n_interior: int = 3000, n_initial: int = 250, n_boundary: int = 250, fixed: bool = False) -> Problem:
    domain = Box(0.0, 1.0, dim=SPACE_DIM + 1)  # (t, x)
    n_edge = n_initial + n_boundary
    return Problem(
        "heat4d",
        [
            Condition("interior", pde, domain, n_interior, fixed=fixed),
            Condition("initial", initial, InitialSlice(domain, time_dim=0), n_initial, weight=n_initial / n_edge, fixed=fixed),
            Condition("boundary", boundary, BoxBoundary(domain, dims=range(1, SPACE_DIM + 1), rule="coordinate"), n_boundary,
                      weight=n_boundary / n_edge, fixed=fixed),
        ],
        exact=exact,
        input_names=["t"] + [f"x{i}" for i in range(1, SPACE_DIM + 1)],
    )
