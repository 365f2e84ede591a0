"""A system: Kovasznay flow, steady 2-d incompressible Navier–Stokes at Re = 20 (Kovasznay 1948).

One network with three outputs (velocity u, v and pressure p) on [−0.5, 1] × [−0.5, 1.5]:

    u u_x + v u_y + p_x − ν Δu = 0,   u v_x + v v_y + p_y − ν Δv = 0,   u_x + v_y = 0,   ν = 1/Re,

with u, v, p given on the boundary by the exact solution (λ = Re/2 − √(Re²/4 + 4π²))

    u⋆ = 1 − e^{λx} cos 2πy,   v⋆ = λ/(2π) e^{λx} sin 2πy,   p⋆ = ½ (1 − e^{2λx}).

The interior residual reads each output's jet (``u[0]``, ``u[1]``, ``u[2]``) and returns three
components; the forward Laplacian carries all three outputs in one propagation. Metrics include
``l2_rel_u``, ``l2_rel_v`` and ``l2_rel_p``.

    pinnsolve problem=from_file problem.path=examples/kovasznay.py model.hidden=[40,40] trainer.time_budget=300
    python examples/kovasznay.py
"""

import math

import torch

from pinnsolve import Box, BoxBoundary, Condition, Problem, solve

RE = 20.0
NU = 1.0 / RE
LAMBDA = RE / 2 - math.sqrt(RE**2 / 4 + 4 * math.pi**2)


def exact(x):  # x = (x, y) for ONE point; returns (u, v, p)
    decay = torch.exp(LAMBDA * x[0])
    angle = 2 * math.pi * x[1]
    return torch.stack([1 - decay * torch.cos(angle), LAMBDA / (2 * math.pi) * decay * torch.sin(angle),
                        0.5 * (1 - decay**2)])


def navier_stokes(u, x):
    vx, vy, p = u[0], u[1], u[2]  # the jets of the three outputs
    return torch.stack([
        vx.value * vx.partial(0) + vy.value * vx.partial(1) + p.partial(0) - NU * vx.laplacian(),
        vx.value * vy.partial(0) + vy.value * vy.partial(1) + p.partial(1) - NU * vy.laplacian(),
        vx.partial(0) + vy.partial(1),
    ])


def boundary(u, x):
    return u.value - exact(x)


def make_problem(n_interior: int = 600, n_boundary: int = 200) -> Problem:
    domain = Box(low=[-0.5, -0.5], high=[1.0, 1.5])
    return Problem(
        "kovasznay",
        [Condition("navier_stokes", navier_stokes, domain, n_interior),
         Condition("boundary", boundary, BoxBoundary(domain), n_boundary)],
        exact=exact,
        n_outputs=3,
        output_names=["u", "v", "p"],
        input_names=["x", "y"],
    )


if __name__ == "__main__":
    model, summary = solve(make_problem(), optimizer="engd_w", hidden=[40, 40], run_dir="outputs/kovasznay",
                           overrides=["trainer.time_budget=300"], overwrite=True)
    final = summary["final"]
    print(f"after {summary['steps']} steps: l2_rel u {final['l2_rel_u']:.2e}, v {final['l2_rel_v']:.2e}, "
          f"p {final['l2_rel_p']:.2e}")
