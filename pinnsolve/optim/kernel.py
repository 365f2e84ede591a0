r"""The sample-space kernel ``K = JJᵀ`` and the three ways to apply its (pseudo)inverse.

Every natural-gradient method of pinnsolve maps residuals ``r: [N]`` and Jacobian ``J: [N, P]``
to a step through the same ``N×N`` kernel

.. math::
    K = J J^\top, \qquad φ = J^\top x,\qquad x = (K + λI)^{-1} g \;\text{(ENGD-W, SPRING)}
    \;\text{or}\; x = K_k^{+} g \;\text{(Sven)} ,

(Nyström replaces ``K`` by a low-rank sketch, :mod:`pinnsolve.optim.sketch`). This module holds
the exact solves:

* :func:`damped_solve` — Cholesky of ``K + λI`` with ``torch.linalg.cholesky_ex`` (no host sync).
  If the factorisation fails (``K + λI`` not numerically positive definite, e.g. ``λ = 3e-12``
  on a rank-deficient ``K``) the result is replaced, with ``torch.where``, by the infinitely damped
  limit ``x = g / (λ + tr K / N)`` — a scaled gradient step, finite and descent-pointing — and the
  failure flag is returned so the optimizer raises its damping for the following steps.
  Nothing reads the flag on the host: a failure costs no sync and never produces NaN.
* :func:`damped_least_squares` — the direction ``φ = Jᵀ(K + λI)⁻¹g = (G + λI)⁻¹Jᵀg`` of ENGD-W and
  SPRING, solved in the smaller space: the ``N×N`` kernel ``K = JJᵀ`` when ``N ≤ P``, the ``P×P``
  Gramian ``G = JᵀJ`` when ``P < N``. Both give the same direction in exact arithmetic, but with
  ``N > P`` the kernel has rank ``≤ P`` and its solve amplifies the rounding of the part of ``g``
  outside ``range(J)`` by ``1/λ``; the Gramian solve does not.
* :func:`truncated_kernel_pinv` — Sven's truncated pseudoinverse through ``eigh(K)`` in float64
  (:func:`truncated_pinv_direction` picks ``K`` or ``G`` by the same rule).
* :func:`effective_dimension` — ``d_eff(λ) = Σ σ_i/(σ_i + λ)`` (a diagnostic; needs ``eigvalsh``).
"""

from __future__ import annotations

import torch
from torch import Tensor


def kernel(J: Tensor) -> Tensor:
    """``K = JJᵀ: [N, N]`` for ``J: [N, P]`` — one GEMM (in ``J``'s dtype, float64 by default)."""
    return J @ J.mT


GRAM_BLOCKS = 8
"""Row blocks of :func:`gram_lower` on the CPU: ``(b + 1)/(2b)`` of the GEMM's flops (56 % for 8)."""


def gram_lower(A: Tensor, out: Tensor | None = None) -> Tensor:
    r"""``AAᵀ: [n, n]`` for ``A: [n, m]`` with (at least) its lower triangle filled.

    For the Cholesky factorisations and ``eigh`` that read only the lower triangle. On the CPU, for
    ``n ≥ 512``, it is built by :data:`GRAM_BLOCKS` row blocks ``K[i, :e_i] = A_i A_{:e_i}ᵀ`` that skip
    the strictly upper blocks: about half the flops of a full GEMM (a symmetric rank-k update, in
    torch's own BLAS and thread pool); the strictly upper blocks are not written (zero, or whatever
    ``out`` held). On a GPU it is one GEMM. ``out: [n, n]`` receives the result (a reused buffer).
    """
    n = A.shape[-2]
    if A.is_cuda or n < 512 or A.ndim != 2:
        return A @ A.mT if out is None else torch.matmul(A, A.mT, out=out)
    K = A.new_zeros(n, n) if out is None else out
    edges = [round(i * n / GRAM_BLOCKS) for i in range(GRAM_BLOCKS + 1)]
    for start, end in zip(edges[:-1], edges[1:]):
        torch.matmul(A[start:end], A[:end].mT, out=K[start:end, :end])
    return K


def lower_blocks(n: int, blocks: int = GRAM_BLOCKS) -> list[tuple[int, int]]:
    """Row ranges ``[(start, end)]`` of :func:`gram_lower`'s blocks ``K[start:end, :end]``."""
    edges = [round(i * n / blocks) for i in range(blocks + 1)]
    return [(a, b) for a, b in zip(edges[:-1], edges[1:]) if b > a]


def share_of_lower_blocks(n: int, rank: int, world: int, blocks: int | None = None) -> list[tuple[int, int]]:
    """The blocks of ``K``'s lower triangle that process ``rank`` of ``world`` forms: ``4·world`` row
    blocks, each ``K[s:e, :e]`` costing ``(e − s)·e`` products, dealt largest first to the least loaded
    process, so every process forms about ``1/world`` of the triangle's flops."""
    ranges = lower_blocks(n, blocks or 4 * world)
    loads, owner = [0] * world, {}
    for start, end in sorted(ranges, key=lambda se: -(se[1] - se[0]) * se[1]):
        least = min(range(world), key=lambda w: (loads[w], w))
        owner[(start, end)] = least
        loads[least] += (end - start) * end
    return [se for se in ranges if owner[se] == rank]


def gram_lower_share(A: Tensor, rank: int, world: int, out: Tensor | None = None) -> Tensor:
    """``AAᵀ: [n, n]`` with only process ``rank``'s blocks of the lower triangle
    (:func:`share_of_lower_blocks`) filled and zeros elsewhere: summed over the ``world`` processes it is
    :func:`gram_lower`'s lower triangle, each process having done ``1/world`` of the flops."""
    n = A.shape[-2]
    K = A.new_zeros(n, n) if out is None else out.zero_()
    for start, end in share_of_lower_blocks(n, rank, world):
        torch.matmul(A[start:end], A[:end].mT, out=K[start:end, :end])
    return K


def add_to_diagonal(K: Tensor, value: Tensor | float) -> Tensor:
    """``K + value·I`` (out of place)."""
    out = K.clone()
    out.diagonal().add_(value)
    return out


def damped_cholesky(K: Tensor, damping: Tensor | float, overwrite: bool = False,
                    factor: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """Lower Cholesky factor of ``K + λI`` and a 0-d bool ``failed`` (no host sync).

    ``overwrite=True`` adds ``λ`` to ``K``'s diagonal in place (one ``N×N`` copy less; for callers that
    own ``K``).

    Returns:
        ``(L: [N, N], failed: [])``; where ``failed`` is true ``L`` is garbage and must not be used
        unguarded.
    """
    if overwrite:
        K.diagonal().add_(damping)
    A = K if overwrite else add_to_diagonal(K, damping)
    if factor is None:
        L, info = torch.linalg.cholesky_ex(A)
    else:  # into a reused buffer
        L, info = torch.linalg.cholesky_ex(A, out=(factor, torch.empty((), dtype=torch.int32, device=A.device)))
    return L, info != 0


def damped_solve(K: Tensor, g: Tensor, damping: Tensor | float, overwrite: bool = False,
                 factor: Tensor | None = None) -> tuple[Tensor, Tensor]:
    r"""``x = (K + λI)^{-1} g`` by Cholesky, with a sync-free fallback.

    Args:
        K: ``[N, N]`` symmetric positive semi-definite; only its lower triangle is read (overwritten by
            ``K + λI`` if ``overwrite``).
        g: ``[N]`` right-hand side.
        damping: ``λ > 0`` (float or 0-d tensor).
        overwrite: add ``λ`` to ``K`` in place (saves one ``N×N`` copy).
        factor: a reused ``[N, N]`` buffer for the Cholesky factor.

    Returns:
        ``(x: [N], failed: [] bool)``. When the Cholesky fails,
        ``x = g / (λ + \operatorname{tr}K / N)``: the ``λ → ∞`` limit of the damped solve rescaled to
        the kernel's size, i.e. the step ``Jᵀx`` is a (small) gradient step ``∝ Jᵀr``.
    """
    scale = K.diagonal().mean().clamp_min(torch.finfo(K.dtype).tiny)
    L, failed = damped_cholesky(K, damping, overwrite, factor)
    x = torch.cholesky_solve(g.unsqueeze(-1), L).squeeze(-1)
    fallback = g / (damping + scale)
    ok = ~failed & torch.isfinite(x).all()
    return torch.where(ok, x, fallback), ~ok


SPACES = ("auto", "sample", "parameter")


def use_parameter_space(J: Tensor, space: str = "auto") -> bool:
    """Whether to solve with the ``P×P`` Gramian: ``space="parameter"``, or ``"auto"`` and ``P < N``."""
    if space not in SPACES:
        raise ValueError(f"unknown space '{space}'; choose one of {SPACES}")
    return space == "parameter" or (space == "auto" and J.shape[-1] < J.shape[-2])


def damped_least_squares(J: Tensor, g: Tensor, damping: Tensor | float, space: str = "auto") -> tuple[Tensor, Tensor]:
    r"""``φ = Jᵀ(K + λI)^{-1} g = (G + λI)^{-1} Jᵀ g: [P]`` and the 0-d failure flag.

    The minimiser of ``‖Jφ − g‖² + λ‖φ‖²``. ``space="auto"`` solves with the ``N×N`` kernel when
    ``N ≤ P`` and with the ``P×P`` Gramian when ``P < N`` (the push-through identity makes them
    equal); ``"sample"`` or ``"parameter"`` force one. Failure handling as in :func:`damped_solve`.

    Args:
        J: ``[N, P]``.
        g: ``[N]``.
        damping: ``λ`` (float or 0-d tensor).
        space: ``"auto"``, ``"sample"`` or ``"parameter"``.
    """
    if use_parameter_space(J, space):
        return damped_solve(gram_lower(J.mT), J.mT @ g, damping, overwrite=True)
    x, failed = damped_solve(gram_lower(J), g, damping, overwrite=True)
    return J.mT @ x, failed


def kernel_eigh(K: Tensor) -> tuple[Tensor, Tensor]:
    """Eigenvalues (descending) ``σ²: [N]`` and eigenvectors ``U: [N, N]`` of ``K``, computed in float64.

    Float64 matters: the eigenvalues of a Gram matrix carry an absolute error ``~ eps·σ_max²``, so
    singular values are resolved down to ``√eps·σ_max`` — ``3e-4·σ_max`` in float32 (which corrupts
    Sven's directions at its default ``rtol = 1e-3``), ``1.5e-8·σ_max`` in float64.
    """
    evals, U = torch.linalg.eigh(K.to(torch.float64))
    return evals.flip(-1).to(K.dtype), U.flip(-1).to(K.dtype)


def truncation_mask(sigma: Tensor, k: int, rtol: float | Tensor) -> Tensor:
    """Keep mask for descending singular values ``σ: [n]``: the first ``k`` with ``σ > rtol·σ_max``.

    A zero spectrum (all-zero Jacobian) keeps nothing, so the step is zero rather than NaN.
    """
    index = torch.arange(sigma.shape[-1], device=sigma.device)
    return (index < k) & (sigma > rtol * sigma[..., :1]) & (sigma > 0)


def truncated_kernel_pinv(K: Tensor, g: Tensor, k: int, rtol: float | Tensor) -> tuple[Tensor, Tensor]:
    r"""``x = U_k Σ_k^{-2} U_kᵀ g`` from ``K = UΣ²Uᵀ``, so that ``Jᵀx = V_k Σ_k^{-1} U_kᵀ g``.

    Keeps at most ``k`` singular values ``σ_i = √λ_i(K)`` with ``σ_i > rtol·σ_max``. Eigenvalues below
    the float64 resolution of the kernel route (``λ_i ≤ N·eps·λ_max``, i.e.
    ``σ_i ≲ √(N·eps)·σ_max``) are dropped as well: they are rounding noise.

    Returns:
        ``(x: [N], rank: [] int64)`` — the number of kept singular values.
    """
    evals, U = kernel_eigh(K)
    n = evals.shape[-1]
    floor = n * torch.finfo(evals.dtype).eps * evals[..., :1]
    sigma = torch.where(evals > floor, evals, torch.zeros_like(evals)).clamp_min(0).sqrt()
    keep = truncation_mask(sigma, k, rtol)
    inv = torch.where(keep, 1.0 / torch.where(keep, evals, torch.ones_like(evals)), torch.zeros_like(evals))
    x = U @ (inv * (U.mT @ g))
    return x, keep.sum()


def truncated_pinv_direction(J: Tensor, r: Tensor, k: int, rtol: float | Tensor, space: str = "auto") -> tuple[Tensor, Tensor]:
    r"""Sven's ``φ = V_k Σ_k^{-1} U_kᵀ r: [P]`` through the smaller Gram matrix, and the kept rank.

    Sample space: ``φ = Jᵀ U_k Σ_k^{-2} U_kᵀ r`` from ``K = UΣ²Uᵀ``; parameter space (``P < N``):
    ``φ = V_k Σ_k^{-2} V_kᵀ Jᵀr`` from ``G = VΣ²Vᵀ``. The same truncation, the same step.
    """
    if use_parameter_space(J, space):
        return truncated_kernel_pinv(gram_lower(J.mT), J.mT @ r, k, rtol)
    x, rank = truncated_kernel_pinv(gram_lower(J), r, k, rtol)
    return J.mT @ x, rank


def effective_dimension(K: Tensor, damping: Tensor | float) -> Tensor:
    r"""``d_eff(λ) = Σ_i σ_i/(σ_i + λ)`` over the eigenvalues ``σ_i`` of ``K`` (0-d tensor; lower triangle read).

    The Woodbury paper plots ``d_eff/N``; it needs an eigendecomposition, so it is computed only
    when an optimizer is built with ``effective_dimension=True``.
    """
    evals = torch.linalg.eigvalsh(K.to(torch.float64)).clamp_min(0)
    if not isinstance(damping, Tensor) or damping.ndim == 0:
        damping = torch.as_tensor(damping, dtype=evals.dtype, device=evals.device)
    # λ = 0 (Sven): count the eigenvalues above the float64 noise floor, i.e. the numerical rank
    floor = evals.shape[-1] * torch.finfo(evals.dtype).eps * evals.max()
    denominator = evals + damping.to(evals.dtype)
    ratio = torch.where(evals > floor, evals / torch.where(evals > floor, denominator, torch.ones_like(evals)), torch.zeros_like(evals))
    return ratio.sum().to(K.dtype)
