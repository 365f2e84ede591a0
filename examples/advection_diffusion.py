"""A new PDE in one file: 1-d advection–diffusion on (t, x) ∈ [0, 1] × [0, 1].

    u_t + a u_x − ν u_xx = 0,   u(0, x) = sin πx,   u(t, 0), u(t, 1) from the exact solution
    u⋆(t, x) = exp(−ν π² t) sin π(x − a t).

Run it from the command line (no change to the package):

    pinnsolve problem=from_file problem.path=examples/advection_diffusion.py trainer.max_steps=500

or from Python:

    python examples/advection_diffusion.py
"""

import math

import torch

from pinnsolve import Box, BoxBoundary, Condition, InitialSlice, Problem, solve

A, NU, PI = 0.5, 0.1, math.pi


def exact(x):  # x = (t, x) for ONE point
    t, s = x[0], x[1]
    return torch.exp(-NU * PI**2 * t) * torch.sin(PI * (s - A * t))


def pde(u, x):  # u is the network's jet at x: u.value, u.grad, u.partial(i), u.laplacian(dims)
    u_t, u_x = u.partial(0), u.partial(1)
    return u_t + A * u_x - NU * u.laplacian(dims=[1])


def initial(u, x):
    return u.value - torch.sin(PI * x[1])


def boundary(u, x):
    return u.value - exact(x)


def make_problem(n_interior: int = 900, n_initial: int = 60, n_boundary: int = 60) -> Problem:
    domain = Box(low=[0.0, 0.0], high=[1.0, 1.0])  # (t, x)
    return Problem(
        "advection_diffusion",
        [
            Condition("interior", pde, domain, n_interior),
            Condition("initial", initial, InitialSlice(domain, time_dim=0), n_initial),
            Condition("boundary", boundary, BoxBoundary(domain, dims=[1]), n_boundary),
        ],
        exact=exact,
        input_names=["t", "x"],
    )


if __name__ == "__main__":
    model, summary = solve(make_problem(), optimizer="lbfgs", hidden=[32, 32], run_dir="outputs/advection_diffusion",
                           overrides=["trainer.max_steps=100"], overwrite=True)
    print(f"l2_rms = {summary['final']['l2_rms']:.2e} after {summary['steps']} steps")
