"""Points in the unit cube ``[0, 1)^k``, uniform or low-discrepancy: what every shape transforms.

``sampling`` is one of

- ``uniform``: ``torch.rand`` on the run's generator (the default; the papers' problems use it);
- ``sobol``, ``halton``: scrambled Sobol' and Halton sequences; ``lhs``: Latin hypercube sampling —
  all from :mod:`scipy.stats.qmc`, seeded from the run's generator so a resumed run draws the
  same points. Each draw is a fresh randomised point set (a new scramble), so resampling every
  step still sees new points.

Low-discrepancy points cover a box more evenly than uniform ones (Owen 1998; for PINNs,
Wu et al. 2023, "A comprehensive study of non-adaptive and residual-based adaptive sampling").
Shapes that are not boxes map them through their own transform (a ball: Gaussian directions by the
inverse normal CDF and the radius by ``u^{1/d}``) or keep the ones inside (polygons, CSG).
"""

from __future__ import annotations

import warnings

import torch
from torch import Tensor

SAMPLINGS = ("uniform", "sobol", "halton", "lhs")


def check_sampling(sampling: str) -> str:
    if sampling not in SAMPLINGS:
        raise ValueError(f"sampling='{sampling}' is not one of {SAMPLINGS}")
    return sampling


def unit_cube(n: int, k: int, generator: torch.Generator, sampling: str = "uniform") -> Tensor:
    """``[n, k]`` points in ``[0, 1)^k``, float64, on the generator's device."""
    device = generator.device
    if sampling == "uniform" or n == 0:
        return torch.rand(n, k, generator=generator, device=device, dtype=torch.float64)
    from scipy.stats import qmc

    seed = int(torch.randint(0, 2**31 - 1, (1,), generator=generator, device=device))
    engine = {"sobol": lambda: qmc.Sobol(k, scramble=True, seed=seed),
              "halton": lambda: qmc.Halton(k, scramble=True, seed=seed),
              "lhs": lambda: qmc.LatinHypercube(k, seed=seed)}[check_sampling(sampling)]()
    with warnings.catch_warnings():  # Sobol' balance needs n = 2^m; other n are still well spread
        warnings.simplefilter("ignore", UserWarning)
        points = engine.random(n)
    return torch.as_tensor(points, dtype=torch.float64, device=device)


def normal(n: int, k: int, generator: torch.Generator, sampling: str = "uniform") -> Tensor:
    """``[n, k]`` standard normal numbers (through the inverse CDF for low-discrepancy points)."""
    if sampling == "uniform":
        return torch.randn(n, k, generator=generator, device=generator.device, dtype=torch.float64)
    u = unit_cube(n, k, generator, sampling).clamp(1e-12, 1 - 1e-12)
    return torch.special.ndtri(u)


def directions_and_radii(n: int, dim: int, generator: torch.Generator, sampling: str = "uniform") -> tuple[Tensor, Tensor]:
    """``n`` unit directions ``[n, dim]`` (normalised Gaussians) and ``n`` numbers ``u ∈ [0, 1)`` ``[n, 1]`` for
    a radius: independent draws when uniform, else one low-discrepancy point of ``dim + 1`` numbers each."""
    if sampling == "uniform":
        g = normal(n, dim, generator)
        u = torch.rand(n, 1, generator=generator, device=generator.device, dtype=torch.float64)
    else:
        cube = unit_cube(n, dim + 1, generator, sampling)
        g, u = torch.special.ndtri(cube[:, :-1].clamp(1e-12, 1 - 1e-12)), cube[:, -1:]
    return g / g.norm(dim=1, keepdim=True), u


def apply_sampling(problem, sampling: str | None) -> list[str]:
    """Set ``sampling`` on every shape the problem's conditions draw from (``trainer.sampling``).

    Returns the names of the conditions whose sources have no shape to set it on (data, fixed
    slices), so the caller can say the setting does not reach them. ``None`` changes nothing.
    """
    if sampling is None:
        return []
    check_sampling(sampling)
    untouched = []
    for condition in problem.conditions:
        if not _set(condition.points, sampling, seen=set()):
            untouched.append(condition.name)
    return untouched


def _set(source, sampling: str, seen: set) -> bool:
    if id(source) in seen:
        return False
    seen.add(id(source))
    found = False
    if hasattr(type(source), "sampling"):
        source.sampling = sampling
        found = True
    for name in ("box", "shape", "space", "a", "b"):  # the parts a source is built from
        part = getattr(source, name, None)
        if part is not None and hasattr(part, "dim"):
            found = _set(part, sampling, seen) or found
    return found
