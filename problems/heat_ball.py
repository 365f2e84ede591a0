"""Heat equation on a ball: ``u_t − ¼Δ_x u = 0`` for ``t ∈ [0,1]``, ``x`` in the unit ball of ℝ^d
(``d = 5`` by default), ``u = u⋆`` at ``t = 0`` and on the sphere ``‖x‖ = 1``.

Exact solution ``u⋆ = exp(−t) Σ_i sin 2x_i`` (``u⋆_t = −u⋆``, ``Δ_x u⋆ = −4u⋆``). Inputs are
``(t, x_1, …, x_d)``, time first; points from :class:`~pinnsolve.SpaceTime` over a
:class:`~pinnsolve.Ball` and a :class:`~pinnsolve.Sphere`. A pinnsolve problem (not from the
papers): a time-dependent equation on a sphere-bounded domain, used to test default damping.
Network 6-64-64-1 by default (4 673 parameters), 1000 interior, 100 initial and 100 lateral points
resampled every step; the two boundary blocks are weighted as one batch of 200.
"""

import torch

from pinnsolve import Ball, Condition, Problem, SpaceTime, Sphere


def exact(x):  # x = (t, x_1, …, x_d)
    return torch.exp(-x[0]) * torch.sin(2 * x[1:]).sum()


def pde(u, x):
    return u.partial(0) - 0.25 * u.laplacian(dims=range(1, x.shape[0]))


def boundary(u, x):
    return u.value - exact(x)


def make_problem(dim: int = 5, n_interior: int = 1000, n_initial: int = 100, n_boundary: int = 100,
                 fixed: bool = False) -> Problem:
    ball, sphere = Ball([0.0] * dim, 1.0), Sphere([0.0] * dim, 1.0)
    n_edge = n_initial + n_boundary
    return Problem(
        "heat_ball",
        [
            Condition("interior", pde, SpaceTime(ball), n_interior, fixed=fixed),
            Condition("initial", boundary, SpaceTime(ball, 0.0, 0.0), n_initial, weight=n_initial / n_edge, fixed=fixed),
            Condition("boundary", boundary, SpaceTime(sphere), n_boundary, weight=n_boundary / n_edge, fixed=fixed),
        ],
        exact=exact,
        input_names=["t"] + [f"x{i}" for i in range(1, dim + 1)],
    )
