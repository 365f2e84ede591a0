r"""Randomized Nyström approximations of ``(K + λI)⁻¹`` for ``K = JJᵀ`` (never formed).

Both variants sketch ``K`` with a Gaussian ``Ω ∈ ℝ^{N×ℓ}`` through ``Y = J(JᵀΩ)`` (two GEMMs with
inner size ``P``; ``K`` itself is not built) and a shift ``ν`` for stability:

**GPU-efficient** (:func:`nystrom_gpu_efficient`, Guzmán-Cordero et al. 2025) — Cholesky only,
no QR, no SVD:

.. math::
    Y_ν = Y + νΩ,\quad C = \operatorname{chol}(Ω^\top Y_ν),\quad B = Y_ν C^{-\top}
    \;(\text{so } K ≈ BB^\top),\quad (BB^\top + λI)^{-1} g = \tfrac1λ\big(g − B(B^\top B + λI)^{-1}B^\top g\big).

**Standard** (:func:`nystrom_standard`, Tropp et al. 2017) — ``Ω`` orthonormalised by QR, then an
SVD of ``B``, the shift removed from the eigenvalues:

.. math::
    Y = KQ + νQ,\quad B = Y\,\operatorname{chol}(Q^\top Y)^{-\top},\quad [U, Σ] = \operatorname{svd}(B),
    \quad Λ = \max(Σ² − ν, 0),\quad (\hat K + λI)^{-1}g = U\frac{U^\top g}{Λ + λ} + \frac{g − UU^\top g}{λ}.

With ``ℓ ≥ N`` the exact kernel solve is used (:func:`nystrom_solve`); near ``ℓ = N`` the
GPU-efficient variant's ``chol(ΩᵀY_ν)`` is ill-conditioned (``ΩᵀΩ`` nearly singular) and fails,
which the optimizer reports; the tests check both variants against the exact solve. Shift: ``"relative"`` uses
``ν = eps·‖Y‖_F`` (eps of the dtype; safe next to tiny ``λ``), a float is an absolute ``ν``
(the authors' code: ``1e-7``). Randomness comes from the global torch RNG.
"""

from __future__ import annotations

import torch
from torch import Tensor

from .kernel import add_to_diagonal, damped_solve, kernel

VARIANTS = ("gpu_efficient", "standard")


def sketch_columns(sketch_size: int | float, n: int) -> int:
    """``ℓ``: an ``int`` is absolute, a ``float`` a fraction of ``N``; clamped to ``[1, N]``."""
    ell = int(sketch_size) if isinstance(sketch_size, int) else int(round(float(sketch_size) * n))
    return max(1, min(n, ell))


def _shift(Y: Tensor, shift: str | float) -> Tensor | float:
    if shift == "relative":
        return torch.finfo(Y.dtype).eps * torch.linalg.matrix_norm(Y)
    return float(shift)


def _gaussian(J: Tensor, ell: int) -> Tensor:
    return torch.randn(J.shape[0], ell, dtype=J.dtype, device=J.device)


def nystrom_gpu_efficient(J: Tensor, g: Tensor, damping: Tensor | float, sketch_size: int | float,
                          shift: str | float = "relative") -> tuple[Tensor, Tensor]:
    """``(K̂ + λI)⁻¹ g: [N]`` with the Cholesky-only sketch, and a 0-d failure flag.

    Args:
        J: ``[N, P]``.
        g: ``[N]``.
        damping: ``λ > 0``.
        sketch_size: ``ℓ`` (int) or fraction of ``N`` (float).
        shift: ``"relative"`` or an absolute ``ν``.

    Returns:
        ``(x: [N], failed: [])``; on failure (either Cholesky) ``x = g/λ`` — the solve with the
        sketch dropped, i.e. the infinitely damped direction, finite and sync-free.
    """
    omega = _gaussian(J, sketch_columns(sketch_size, J.shape[0]))
    Y = J @ (J.mT @ omega)
    Y = Y + _shift(Y, shift) * omega
    C, info_c = torch.linalg.cholesky_ex(omega.mT @ Y)
    B = torch.linalg.solve_triangular(C, Y.mT, upper=False).mT          # B Cᵀ = Y_ν
    S, info_s = torch.linalg.cholesky_ex(add_to_diagonal(B.mT @ B, damping))
    x = (g - B @ torch.cholesky_solve((B.mT @ g).unsqueeze(-1), S).squeeze(-1)) / damping
    ok = (info_c == 0) & (info_s == 0) & torch.isfinite(x).all()
    return torch.where(ok, x, g / damping), ~ok


def nystrom_standard(J: Tensor, g: Tensor, damping: Tensor | float, sketch_size: int | float,
                     shift: str | float = "relative") -> tuple[Tensor, Tensor]:
    """``(K̂ + λI)⁻¹ g: [N]`` with the QR + SVD sketch, and a 0-d failure flag (see above)."""
    Q, _ = torch.linalg.qr(_gaussian(J, sketch_columns(sketch_size, J.shape[0])))
    Y = J @ (J.mT @ Q)
    nu = _shift(Y, shift)
    Y = Y + nu * Q
    C, info = torch.linalg.cholesky_ex(Q.mT @ Y)
    B = torch.linalg.solve_triangular(C, Y.mT, upper=False).mT
    U, sigma, _ = torch.linalg.svd(B, full_matrices=False)
    lam = (sigma.square() - nu).clamp_min(0)
    Utg = U.mT @ g
    x = U @ (Utg / (lam + damping)) + (g - U @ Utg) / damping
    ok = (info == 0) & torch.isfinite(x).all()
    return torch.where(ok, x, g / damping), ~ok


def nystrom_solve(J: Tensor, g: Tensor, damping: Tensor | float, sketch_size: int | float,
                  variant: str = "gpu_efficient", shift: str | float = "relative") -> tuple[Tensor, Tensor]:
    """Dispatch to :func:`nystrom_gpu_efficient` or :func:`nystrom_standard`.

    A sketch of ``ℓ ≥ N`` columns is the whole kernel: it costs as much as ``K`` itself and a square
    Gaussian ``Ω`` makes ``ΩᵀKΩ`` numerically singular, so the exact Cholesky solve
    (:func:`~pinnsolve.optim.kernel.damped_solve`) is used instead — the limit the sketch approximates.
    """
    if sketch_columns(sketch_size, J.shape[0]) >= J.shape[0]:
        return damped_solve(kernel(J), g, damping)
    solve = nystrom_gpu_efficient if variant == "gpu_efficient" else nystrom_standard
    return solve(J, g, damping, sketch_size, shift)
