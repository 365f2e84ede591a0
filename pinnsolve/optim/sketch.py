r"""Randomized Nyström approximations of ``(K + λI)⁻¹`` for ``K = JJᵀ`` (never formed).

Both variants sketch ``K`` with a Gaussian ``Ω ∈ ℝ^{N×ℓ}`` through ``Y = J(JᵀΩ)`` (two products with
inner size ``P``; ``K`` itself is not built) and a shift ``ν`` for stability:

**GPU-efficient** (:func:`nystrom_gpu_efficient`, Guzmán-Cordero et al. 2025) — Cholesky only,
no QR, no SVD:

.. math::
    Y_ν = Y + νΩ,\quad C = \operatorname{chol}(Ω^\top Y_ν),\quad B = Y_ν C^{-\top}
    \;(\text{so } K ≈ BB^\top),\quad (BB^\top + λI)^{-1} g = \tfrac1λ\big(g − B(B^\top B + λI)^{-1}B^\top g\big).

**Standard** (:func:`nystrom_standard`, Tropp et al. 2017) — an orthonormal ``Q`` (Cholesky–QR, twice,
of ``Ω``), the shift removed from the eigenvalues of ``K̂ = BBᵀ = UΛUᵀ`` (from the ``ℓ×ℓ`` ``BᵀB``):

.. math::
    Y = KQ + νQ,\quad B = Y\,\operatorname{chol}(Q^\top Y)^{-\top},\quad BᵀB = VΣ²Vᵀ,\; U = BVΣ^{-1},
    \quad Λ = \max(Σ² − ν, 0),\quad (\hat K + λI)^{-1}g = U\frac{U^\top g}{Λ + λ} + \frac{g − UU^\top g}{λ}.

Every function takes the rows of ``J`` as a :class:`~pinnsolve.optim.rows.Rows` (or a plain ``J``: one
process) and returns this process's rows of ``x``; everything is either this process's rows or an
``ℓ×ℓ`` / ``P×ℓ`` sum over processes. ``Ω`` is drawn whole (``[N, ℓ]``) on every process from the global
generator, in the rows' canonical order, so the sketch does not depend on the number of processes.
With ``ℓ ≥ N`` the exact kernel solve is used (the tests check both variants against it). Shift:
``"relative"`` uses ``ν = eps·‖Y‖_F``, a float is an absolute ``ν`` (the authors' code: ``1e-7``).
"""

from __future__ import annotations

import torch
from torch import Tensor

from .kernel import add_to_diagonal, damped_solve
from .rows import Rows

VARIANTS = ("gpu_efficient", "standard")


def sketch_columns(sketch_size: int | float, n: int) -> int:
    """``ℓ``: an ``int`` is absolute, a ``float`` a fraction of ``N``; clamped to ``[1, N]``."""
    ell = int(sketch_size) if isinstance(sketch_size, int) else int(round(float(sketch_size) * n))
    return max(1, min(n, ell))


def _rows(J) -> Rows:
    """Rows, or anything with their operator interface, as they are; a plain ``J: [N, P]`` wrapped."""
    return J if hasattr(J, "kernel_times") else Rows(J.new_zeros(J.shape[0]), J)


def gaussian_sketch(rows: Rows, ell: int, orthonormal: bool = False) -> Tensor:
    """This process's rows of a Gaussian ``Ω: [N, ℓ]`` (drawn whole, identical on every process); with
    ``orthonormal``, of ``Q`` from a Cholesky–QR of ``Ω`` done twice (``ΩᵀΩ`` summed over processes)."""
    omega = rows.local(torch.randn(rows.n, ell, dtype=rows.dtype, device=rows.device))
    if orthonormal:
        for _ in range(2):
            R = torch.linalg.cholesky(rows.sum(omega.mT @ omega), upper=True)
            omega = torch.linalg.solve_triangular(R, omega, upper=True, left=False)
    return omega


def _shift(rows: Rows, Y: Tensor, shift: str | float) -> Tensor | float:
    if shift == "relative":
        return torch.finfo(Y.dtype).eps * rows.sum(Y.square().sum()).sqrt()
    return float(shift)


def nystrom_factors(J, ell: int, shift: str | float = "relative") -> tuple[Tensor, Tensor, Tensor]:
    """``K ≈ U diag(Λ) Uᵀ`` (standard Nyström): this process's rows ``U: [N_i, ℓ]``, ``Λ: [ℓ]`` descending
    with the shift removed, and a 0-d failure flag."""
    rows = _rows(J)
    Q = gaussian_sketch(rows, ell, orthonormal=True)
    Y = rows.kernel_times(Q)
    nu = _shift(rows, Y, shift)
    Y = Y + nu * Q
    C, info = torch.linalg.cholesky_ex(rows.sum(Q.mT @ Y))
    B = torch.linalg.solve_triangular(C, Y.mT, upper=False).mT
    s2, V = torch.linalg.eigh(rows.sum(B.mT @ B))
    s2, V = s2.flip(-1).clamp_min(0), V.flip(-1)
    sigma = s2.sqrt()
    U = (B @ V) / torch.where(sigma > 0, sigma, torch.ones_like(sigma))
    return U, (s2 - nu).clamp_min(0), info != 0


def nystrom_gpu_efficient(J, g: Tensor, damping: Tensor | float, sketch_size: int | float,
                          shift: str | float = "relative") -> tuple[Tensor, Tensor]:
    """``(K̂ + λI)⁻¹ g`` with the Cholesky-only sketch, and a 0-d failure flag.

    Args:
        J: :class:`~pinnsolve.optim.rows.Rows` or ``[N, P]``.
        g: this process's rows ``[N_i]``.
        damping: ``λ > 0``.
        sketch_size: ``ℓ`` (int) or fraction of ``N`` (float).
        shift: ``"relative"`` or an absolute ``ν``.

    Returns:
        ``(x: [N_i], failed: [])``; on failure (either Cholesky) ``x = g/λ`` — the solve with the
        sketch dropped, i.e. the infinitely damped direction, finite and sync-free.
    """
    rows = _rows(J)
    omega = gaussian_sketch(rows, sketch_columns(sketch_size, rows.n))
    Y = rows.kernel_times(omega)
    Y = Y + _shift(rows, Y, shift) * omega
    C, info_c = torch.linalg.cholesky_ex(rows.sum(omega.mT @ Y))
    B = torch.linalg.solve_triangular(C, Y.mT, upper=False).mT          # B Cᵀ = Y_ν
    S, info_s = torch.linalg.cholesky_ex(add_to_diagonal(rows.sum(B.mT @ B), damping))
    x = (g - B @ torch.cholesky_solve(rows.sum(B.mT @ g).unsqueeze(-1), S).squeeze(-1)) / damping
    ok = (info_c == 0) & (info_s == 0) & torch.isfinite(x).all()
    return torch.where(ok, x, g / damping), ~ok


def nystrom_standard(J, g: Tensor, damping: Tensor | float, sketch_size: int | float,
                     shift: str | float = "relative") -> tuple[Tensor, Tensor]:
    """``(K̂ + λI)⁻¹ g`` with the orthonormal sketch and the shift removed, and a 0-d failure flag (see above)."""
    rows = _rows(J)
    U, lam, failed = nystrom_factors(rows, sketch_columns(sketch_size, rows.n), shift)
    Utg = rows.sum(U.mT @ g)
    x = U @ (Utg / (lam + damping)) + (g - U @ Utg) / damping
    ok = ~failed & torch.isfinite(x).all()
    return torch.where(ok, x, g / damping), ~ok


def nystrom_solve(J, g: Tensor, damping: Tensor | float, sketch_size: int | float,
                  variant: str = "gpu_efficient", shift: str | float = "relative") -> tuple[Tensor, Tensor]:
    """Dispatch to :func:`nystrom_gpu_efficient` or :func:`nystrom_standard`.

    A sketch of ``ℓ ≥ N`` columns is the whole kernel: it costs as much as ``K`` itself and a square
    Gaussian ``Ω`` makes ``ΩᵀKΩ`` numerically singular, so the exact Cholesky solve
    (:func:`~pinnsolve.optim.kernel.damped_solve`) is used instead — the limit the sketch approximates.
    """
    rows = _rows(J)
    if sketch_columns(sketch_size, rows.n) >= rows.n:
        x, failed = damped_solve(rows.kernel_lower(), rows.gather(g), damping, overwrite=True)
        return rows.local(x), failed
    solve = nystrom_gpu_efficient if variant == "gpu_efficient" else nystrom_standard
    return solve(rows, g, damping, sketch_size, shift)
