r"""Inverse problem: an unknown diffusivity field ``a(x, y)`` from scattered, possibly noisy values of ``u``.

.. math::
    −∇·(a∇u) = f \ \text{on}\ [0,1]^2, \qquad a = a^⋆ \ \text{on}\ ∂Ω, \qquad u(x_k) ≈ u_k \ (k = 1 … n_{data}),

with :math:`u^⋆ = \sin πx \sin πy` and :math:`a^⋆ = 1/D`, :math:`D = 1 + x^2 + y^2 + (x−1)^2 + (y−1)^2`
(the setting of PINNacle's PInv task; Hao et al., "PINNacle", NeurIPS 2024 D&B). Here ``f`` is derived
from :math:`u^⋆, a^⋆`:

.. math::
    f = −∇a^⋆·∇u^⋆ − a^⋆Δu^⋆ = \frac{∇D·∇u^⋆}{D^2} + \frac{2π^2 u^⋆}{D}, \qquad ∇D = (4x − 2,\ 4y − 2),

(PINNacle's source writes ``f`` with the wrong sign of the first term, so its records do not transfer.)

The network has two outputs, ``u`` and ``a``; ``metrics.csv`` gets ``l2_rel_u`` and ``l2_rel_a`` on a
101 × 101 grid. The observations are :math:`u^⋆` at ``n_data`` uniform random points plus Gaussian noise
of standard deviation ``noise`` (1 % of max |u⋆| for ``noise=0.01``), from a fixed seed. A fifth of them
is held out: ``val_loss`` (their mean squared misfit, logged at every evaluation) is what a user can
watch, keep the best model by or stop on when the data are noisy and the true field is unknown
(``callbacks=[best_model,early_stopping]`` with ``monitor: val_loss``).

No published record applies (:data:`RECORDS` is empty); the errors of ``u`` and ``a`` are reported.
"""

import math

import torch

from pinnsolve import Box, BoxBoundary, Condition, FixedPoints, Problem
from pinnsolve.geometry.grids import tensor_grid

PI = math.pi
RECORDS: list[dict] = []
HELD_OUT = 0.2


def exact_u(x):
    return torch.sin(PI * x[0]) * torch.sin(PI * x[1])


def exact_a(x):
    return 1.0 / (1 + x[0] ** 2 + x[1] ** 2 + (x[0] - 1) ** 2 + (x[1] - 1) ** 2)


def exact(x):
    return torch.stack([exact_u(x), exact_a(x)])


def source(x):
    """``f(x)`` for one point ``x: [2]`` (module docstring)."""
    d = 1 + x[0] ** 2 + x[1] ** 2 + (x[0] - 1) ** 2 + (x[1] - 1) ** 2
    grad_u = torch.stack([PI * torch.cos(PI * x[0]) * torch.sin(PI * x[1]), PI * torch.sin(PI * x[0]) * torch.cos(PI * x[1])])
    grad_d = torch.stack([4 * x[0] - 2, 4 * x[1] - 2])
    return (grad_d * grad_u).sum() / d**2 + 2 * PI**2 * exact_u(x) / d


def pde(u, x):
    """``−∇·(a∇u) − f = −(∇a·∇u + aΔu) − f``."""
    field, a = u[0], u[1]
    return -(a.partial(0) * field.partial(0) + a.partial(1) * field.partial(1) + a.value * field.laplacian()) - source(x)


def boundary(u, x):
    return u[1].value - exact_a(x)


def observation(u, x, y):
    return u[0].value - y


def observations(n: int, noise: float, seed: int = 11) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` points ``[n, 2]`` and their noisy values ``[n]`` (fixed seed)."""
    generator = torch.Generator().manual_seed(seed)
    points = torch.rand(n, 2, generator=generator, dtype=torch.float64)
    values = torch.func.vmap(exact_u)(points) + noise * torch.randn(n, generator=generator, dtype=torch.float64)
    return points, values


class HeldOutMisfit:
    """``{"val_loss": mean (u(x_k) − u_k)²}`` over the held-out observations ``x: [m, 2], y: [m]``."""

    def __init__(self, x: torch.Tensor, y: torch.Tensor):
        self.x, self.y = x, y

    @torch.no_grad()
    def __call__(self, model) -> dict[str, torch.Tensor]:
        p = next(model.parameters())
        pred = model(self.x.to(p.device, p.dtype))[:, 0]
        return {"val_loss": (pred - self.y.to(p.device, p.dtype)).square().mean()}


def make_problem(n_interior: int = 2000, n_boundary: int = 400, n_data: int = 500, noise: float = 0.0,
                 fixed: bool = False) -> Problem:
    if not 0.0 <= noise:
        raise ValueError(f"inverse_diffusivity: noise={noise} must be >= 0 (the standard deviation of the data's noise)")
    domain = Box(low=[0.0, 0.0], high=[1.0, 1.0])
    points, values = observations(n_data, noise)
    n_val = max(1, round(HELD_OUT * n_data)) if n_data >= 5 else 0
    grid = tensor_grid(*(torch.linspace(0, 1, 101, dtype=torch.float64),) * 2)
    return Problem(
        "inverse_diffusivity",
        [
            Condition("interior", pde, domain, n_interior, fixed=fixed),
            Condition("boundary", boundary, BoxBoundary(domain), n_boundary, fixed=fixed),
            Condition("data", observation, FixedPoints(points[n_val:], values[n_val:]), n_data - n_val),
        ],
        exact=exact,
        eval_points=FixedPoints(grid),
        n_outputs=2,
        output_names=["u", "a"],
        metrics=HeldOutMisfit(points[:n_val], values[:n_val]) if n_val else None,
    )
