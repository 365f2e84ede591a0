r"""Truncated SVDs of ``J: [N, P]`` for Sven, one function per ``svd_mode`` of the seed package.

Each returns ``(U: [N, q], σ: [q], Vᵀ: [q, P])`` with ``σ`` descending and ``q ≥ min(k, rank)``;
:func:`truncated_pinv_apply` then forms ``φ = V_k Σ_k⁻¹ U_kᵀ r`` keeping at most ``k`` values with
``σ > rtol·σ_max``. The ``kernel`` mode (Sven's default) needs no SVD at all: see
:func:`pinnsolve.optim.kernel.truncated_kernel_pinv`.

=================  ==========================================================  =====================
mode               method                                                      exact when
=================  ==========================================================  =====================
``torch``          full ``torch.linalg.svd(J)``, then truncate                 always
``randomized``     range finder ``Y = JΩ`` (``ℓ = k + oversampling``), power    ``ℓ ≥ rank J``
                   iterations, QR, SVD of ``QᵀJ``
``randomized_v2``  same range, then ``eigh`` of the small Gram ``(QᵀJ)(QᵀJ)ᵀ``  ``ℓ ≥ rank J``
                   in float64
``scipy``          ARPACK ``scipy.sparse.linalg.svds`` on the host;            top ``k`` to ARPACK
                   ``k ≥ min(N, P)`` falls back to ``torch``                   tolerance
``lobpcg``         ``torch.lobpcg`` on ``K = JJᵀ``; it needs ``N ≥ 3k``, so    top ``k`` to LOBPCG
                   ``k > N/3`` falls back to the ``kernel`` mode (a warning)    tolerance
=================  ==========================================================  =====================
"""

from __future__ import annotations

import warnings

import torch
from torch import Tensor

from .kernel import truncation_mask

SVD_MODES = ("kernel", "torch", "randomized", "randomized_v2", "scipy", "lobpcg")


def svd_torch(J: Tensor, k: int) -> tuple[Tensor, Tensor, Tensor]:
    U, S, Vh = torch.linalg.svd(J, full_matrices=False)
    return U[:, :k], S[:k], Vh[:k]


def _range(J: Tensor, k: int, oversampling: int, power_iterations: int) -> Tensor:
    """Orthonormal ``Q: [N, ℓ]`` approximately spanning the top-``k`` left singular space of ``J``."""
    ell = min(k + oversampling, *J.shape)
    Q, _ = torch.linalg.qr(J @ torch.randn(J.shape[1], ell, dtype=J.dtype, device=J.device))
    for _ in range(power_iterations):
        Z, _ = torch.linalg.qr(J.mT @ Q)
        Q, _ = torch.linalg.qr(J @ Z)
    return Q


def svd_randomized(J: Tensor, k: int, oversampling: int = 10, power_iterations: int = 2):
    Q = _range(J, k, oversampling, power_iterations)
    Ub, S, Vh = torch.linalg.svd(Q.mT @ J, full_matrices=False)
    return (Q @ Ub)[:, :k], S[:k], Vh[:k]


def svd_randomized_v2(J: Tensor, k: int, oversampling: int = 10, power_iterations: int = 2):
    Q = _range(J, k, oversampling, power_iterations)
    B = Q.mT @ J
    evals, Ub = torch.linalg.eigh((B @ B.mT).to(torch.float64))
    evals, Ub = evals.flip(-1).to(J.dtype), Ub.flip(-1).to(J.dtype)
    S = evals.clamp_min(0).sqrt()
    Vh = (Ub / torch.where(S > 0, S, torch.ones_like(S))).mT @ B
    return (Q @ Ub)[:, :k], S[:k], Vh[:k]


def svd_scipy(J: Tensor, k: int):
    if k >= min(J.shape):
        return svd_torch(J, k)
    from scipy.sparse.linalg import svds

    U, S, Vh = svds(J.detach().cpu().numpy(), k=k)
    order = S.argsort()[::-1].copy()
    to = lambda a: torch.from_numpy(a[..., order] if a.ndim == 1 else a).to(J.device, J.dtype)
    return to(U[:, order]), to(S), to(Vh[order])


def svd_lobpcg(J: Tensor, k: int):
    """Top-``k`` eigenpairs of ``K`` by LOBPCG; ``None`` when ``k > N/3`` (caller falls back)."""
    if 3 * k > J.shape[0]:
        warnings.warn(f"svd_mode='lobpcg' needs k <= N/3 (k={k}, N={J.shape[0]}); using svd_mode='kernel' for this step")
        return None
    K = (J @ J.mT).to(torch.float64)
    evals, U = torch.lobpcg(K, k=k, largest=True)
    order = evals.argsort(descending=True)
    evals, U = evals[order].to(J.dtype), U[:, order].to(J.dtype)
    S = evals.clamp_min(0).sqrt()
    Vh = (U / torch.where(S > 0, S, torch.ones_like(S))).mT @ J
    return U, S, Vh


def truncated_svd(J: Tensor, k: int, mode: str, oversampling: int = 10, power_iterations: int = 2):
    """``(U, σ, Vᵀ)`` of ``J`` by ``mode`` (not ``kernel``); ``None`` if the mode cannot serve this ``k``."""
    if mode == "torch":
        return svd_torch(J, k)
    if mode == "randomized":
        return svd_randomized(J, k, oversampling, power_iterations)
    if mode == "randomized_v2":
        return svd_randomized_v2(J, k, oversampling, power_iterations)
    if mode == "scipy":
        return svd_scipy(J, k)
    if mode == "lobpcg":
        return svd_lobpcg(J, k)
    raise ValueError(f"unknown svd_mode '{mode}'; choose one of {SVD_MODES}")


def truncated_pinv_apply(U: Tensor, S: Tensor, Vh: Tensor, r: Tensor, k: int, rtol: float) -> tuple[Tensor, Tensor]:
    r"""``φ = V_k Σ_k^{-1} U_kᵀ r: [P]`` and the kept rank (0-d) from a (partial) SVD."""
    keep = truncation_mask(S, k, rtol)
    coefficients = torch.where(keep, (U.mT @ r) / torch.where(keep, S, torch.ones_like(S)), torch.zeros_like(S))
    return Vh.mT @ coefficients, keep.sum()
