"""Normals and CSG: Laplace's equation on an annulus with a Neumann and a Robin condition.

    −Δu = 0 in Ω = {0.5 < ‖x‖ < 1} (the unit disk minus a disk: a CSG difference),
    ∂u/∂n = g_N on the inner circle,  u + ∂u/∂n = g_R on the outer circle,

with the exact solution u⋆ = eˣ sin y (harmonic), so g_N = −∇u⋆·x/‖x‖ and g_R = u⋆ + ∇u⋆·x/‖x‖
(written here from the circles' known normals). The boundary source gives each point's outward
unit normal ``n`` (``normals=True``), which the residual receives as its third argument and uses
for ∂u/∂n = ∇u·n; on the inner circle it points towards the centre (out of Ω).

    pinnsolve problem=from_file problem.path=examples/robin_annulus.py trainer.max_steps=300
    python examples/robin_annulus.py
"""

import torch

from pinnsolve import Ball, Condition, Problem, solve

INNER, OUTER = 0.5, 1.0


def exact(x):
    return torch.exp(x[0]) * torch.sin(x[1])


def exact_grad(x):
    return torch.exp(x[0]) * torch.stack([torch.sin(x[1]), torch.cos(x[1])])


def laplace(u, x):
    return -u.laplacian()


def wall(u, x, n):  # n: the outward unit normal at x, from the boundary source
    radial = exact_grad(x) @ x / x.norm()
    on_outer = x.norm() > (INNER + OUTER) / 2
    neumann = u.grad @ n - (-radial)
    robin = u.value + u.grad @ n - (exact(x) + radial)
    return torch.where(on_outer, robin, neumann)


def make_problem(n_interior: int = 800, n_boundary: int = 300) -> Problem:
    annulus = Ball([0.0, 0.0], OUTER) - Ball([0.0, 0.0], INNER)
    return Problem(
        "robin_annulus",
        [Condition("interior", laplace, annulus, n_interior),
         Condition("boundary", wall, annulus.boundary(normals=True), n_boundary)],
        exact=exact,
        input_names=["x", "y"],
    )


if __name__ == "__main__":
    model, summary = solve(make_problem(), optimizer="engd_w", hidden=[32, 32], run_dir="outputs/robin_annulus",
                           overrides=["trainer.max_steps=300"], overwrite=True)
    print(f"l2_rel = {summary['final']['l2_rel']:.2e} after {summary['steps']} steps")
