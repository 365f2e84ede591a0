"""An inverse problem: recover the diffusivity κ of the 1-d heat equation from 50 noisy observations.

    u_t − κ u_xx = 0 on (t, x) ∈ [0, 1]²,  u(0, x) = sin πx,  u(t, 0) = u(t, 1) = 0,

with the true κ = 1/4 (exact solution u⋆ = exp(−κπ²t) sin πx, as in the shipped heat1d problem).
κ is unknown: it starts at 0.5 and is trained with the network. The data are u⋆ at 50 random points
plus Gaussian noise of standard deviation 0.01 (1 % of max |u⋆|), both drawn from a fixed seed.
The PDE residual reads κ through its ``params`` argument; κ is a column of J for every optimizer
and a column (``kappa``) of metrics.csv.

    pinnsolve problem=from_file problem.path=examples/inverse_heat.py trainer.max_steps=300
    python examples/inverse_heat.py
"""

import math

import torch

from pinnsolve import Box, BoxBoundary, Condition, FixedPoints, InitialSlice, Problem, solve

PI = math.pi
TRUE_KAPPA = 0.25


def exact(x):  # x = (t, x) for ONE point
    return torch.exp(-TRUE_KAPPA * PI**2 * x[0]) * torch.sin(PI * x[1])


def heat(u, x, params):
    return u.partial(0) - params["kappa"] * u.laplacian(dims=[1])


def initial(u, x):
    return u.value - torch.sin(PI * x[1])


def boundary(u, x):
    return u.value


def observation(u, x, y):  # y: the measured value at x
    return u.value - y


def observations(n: int = 50, noise: float = 0.01, seed: int = 7) -> FixedPoints:
    generator = torch.Generator().manual_seed(seed)
    points = torch.rand(n, 2, generator=generator, dtype=torch.float64)
    values = torch.func.vmap(exact)(points) + noise * torch.randn(n, generator=generator, dtype=torch.float64)
    return FixedPoints(points, values)


def make_problem(n_interior: int = 900, n_initial: int = 60, n_boundary: int = 60, n_data: int = 50,
                 noise: float = 0.01, kappa0: float = 0.5) -> Problem:
    domain = Box(low=[0.0, 0.0], high=[1.0, 1.0])  # (t, x)
    return Problem(
        "inverse_heat",
        [
            Condition("interior", heat, domain, n_interior, fixed=True),
            Condition("initial", initial, InitialSlice(domain, time_dim=0), n_initial, fixed=True),
            Condition("boundary", boundary, BoxBoundary(domain, dims=[1]), n_boundary, fixed=True),
            Condition("data", observation, observations(n_data, noise), n_data),
        ],
        exact=exact,
        input_names=["t", "x"],
        parameters={"kappa": kappa0},
    )


if __name__ == "__main__":
    model, summary = solve(make_problem(), optimizer="engd_w", run_dir="outputs/inverse_heat",
                           overrides=["trainer.max_steps=300"], overwrite=True)
    kappa = summary["final"]["kappa"]
    print(f"recovered kappa = {kappa:.6f} (true {TRUE_KAPPA}, error {abs(kappa - TRUE_KAPPA) / TRUE_KAPPA:.2e}); "
          f"l2_rel of u = {summary['final']['l2_rel']:.2e}")
