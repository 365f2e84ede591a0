r"""Solvers: ``φ = Jᵀ(K + λI)⁻¹ g`` from the rows of ``J`` (:class:`~pinnsolve.optim.rows.Rows`), three ways.

Every damped natural-gradient step needs the damped least-squares direction
``φ = argmin ‖Jφ − g‖² + λ‖φ‖² = Jᵀ(K + λI)⁻¹g``; a solver computes it from this process's rows and
returns ``(φ: [P], failed: [] bool, info)``, ``info`` holding 0-d diagnostics for ``metrics.csv``.

============  ==================================================================  ===========================
``solver``    how                                                                 memory, communication
============  ==================================================================  ===========================
``cholesky``  exact: Cholesky of the ``N×N`` kernel when ``N ≤ P``, of the        ``N²`` (all of ``J``
              ``P×P`` Gramian when ``P < N`` (``space``; the same direction)       gathered) or ``P²``
``nystrom``   randomized Nyström ``K ≈ BBᵀ`` from a Gaussian sketch of ``ℓ``       ``Nℓ``; all-reduces of
              columns (:mod:`~pinnsolve.optim.sketch` has the one-process maths)  ``P×ℓ`` and ``ℓ×ℓ``
``cg``        matrix-free conjugate gradients on ``(K + λI)x = g`` with           ``NP + Nℓ``, never
              ``Kv = J(Jᵀv)``, preconditioned by the Nyström approximation         ``N×N``; one ``P``-vector
                                                                                  all-reduce per product
============  ==================================================================  ===========================

The random sketch ``Ω: [N, ℓ]`` is drawn whole on every rank from the global generator and each rank
keeps its rows, so it does not depend on the number of processes (``O(Nℓ)`` numbers, nothing next to
``J``). CG reads its residual norm every :data:`CHECK_EVERY` iterations to stop: a host
synchronisation, the price of a tolerance (the Cholesky and Nyström solvers have none).
"""

from __future__ import annotations

import warnings

import torch
from torch import Tensor

from . import kernel as kn
from .rows import Rows
from .sketch import nystrom_factors, nystrom_solve, sketch_columns
from .workspace import Workspace

SOLVERS = ("cholesky", "nystrom", "cg")
PRECONDITIONERS = ("nystrom", "none")
CHECK_EVERY = 10


class Cholesky:
    """The exact direction by Cholesky, in the smaller space (``space="auto"``), ``"sample"`` or ``"parameter"``."""

    name = "cholesky"

    def __init__(self, space: str = "auto"):
        self.space = space
        self.workspace = Workspace()  # the matrix and its factor, reused from step to step

    def parameter_space(self, rows: Rows) -> bool:
        return self.space == "parameter" or (self.space == "auto" and rows.num_columns < rows.n)

    def _buffers(self, n: int, like: Rows) -> tuple[Tensor, Tensor]:
        return (self.workspace.get("matrix", (n, n), like.dtype, like.device),
                self.workspace.get("factor", (n, n), like.dtype, like.device))

    def __call__(self, rows: Rows, g: Tensor, damping: Tensor, state: dict | None = None) -> tuple[Tensor, Tensor, dict]:
        if self.parameter_space(rows):
            matrix, factor = self._buffers(rows.num_columns, rows)
            G = rows.gramian_lower(out=matrix if rows.world == 1 else None)
            phi, failed = kn.damped_solve(G, rows.Jt(g), damping, overwrite=True, factor=factor)
            return phi, failed, {}
        matrix, factor = self._buffers(rows.n, rows)
        x, failed = kn.damped_solve(rows.kernel_lower(out=matrix), rows.gather(g), damping, overwrite=True, factor=factor)
        return rows.Jt(rows.local(x)), failed, {}


class NystromSketch:
    """Randomized Nyström in place of ``(K + λI)⁻¹`` (:mod:`pinnsolve.optim.sketch` has the maths).

    Args:
        sketch_size: ``ℓ`` (int) or a fraction of ``N`` (float); ``ℓ ≥ N`` is the exact Cholesky solve.
        variant: ``"gpu_efficient"`` (Cholesky only) or ``"standard"`` (orthonormal sketch, eigenvalues).
        shift: ``"relative"`` (``ν = eps·‖Y‖_F``) or an absolute ``ν``.
    """

    name = "nystrom"

    def __init__(self, sketch_size=0.1, variant: str = "gpu_efficient", shift="relative"):
        self.sketch_size, self.variant, self.shift = sketch_size, variant, shift
        self._warned: tuple | None = None

    def _warn_about_sketch(self, n: int) -> None:
        """Say once when the sketch is the whole kernel, or so close to it that its Cholesky fails."""
        ell = sketch_columns(self.sketch_size, n)
        if self._warned == (n, ell):
            return
        self._warned = (n, ell)
        if ell >= n:
            warnings.warn(f"Nystrom: sketch_size={self.sketch_size} gives {ell} >= N = {n} columns, the whole kernel; "
                          "using the exact Cholesky solve (the same as optimizer=engd_w / spring, at their cost)")
        elif self.variant == "gpu_efficient" and ell > 0.9 * n:
            warnings.warn(f"Nystrom: sketch_size={self.sketch_size} gives {ell} of N = {n} columns; this close to N "
                          "the GPU-efficient sketch's Cholesky is ill-conditioned and tends to fail. Use "
                          "sketch_size <= 0.5, variant=standard, or sketch_size=1.0 for the exact solve")

    def __call__(self, rows: Rows, g: Tensor, damping: Tensor, state: dict | None = None) -> tuple[Tensor, Tensor, dict]:
        self._warn_about_sketch(rows.n)
        x, failed = nystrom_solve(rows, g, damping, self.sketch_size, self.variant, self.shift)
        return rows.Jt(x), failed, {}


class ConjugateGradient:
    """Conjugate gradients on ``(K + λI)x = g``, ``Kv = J(Jᵀv)``: the solve that runs where ``K`` does not fit.

    Args:
        tol: stop at ``‖g − (K + λI)x‖ ≤ tol·‖g‖``.
        max_iters: at most this many products per attempt (``None``: ``N``). With the Nyström
            preconditioner an attempt that stops there unconverged doubles the sketch and starts again,
            until it converges or the sketch reaches ``N`` (then it stops where it is); the sketch that
            converged is kept for the next step and shrinks back (×¾, not below ``sketch_size``) while
            steps converge in under a quarter of ``max_iters``. So a training run whose spectrum
            flattens keeps converging within ``max_iters`` products instead of returning an inexact step.
        preconditioner: ``"nystrom"`` (Frangella, Tropp, Udell 2023: ``P⁻¹ = (Λ̂_ℓ + λ) U(Λ̂ + λI)⁻¹Uᵀ +
            I − UUᵀ`` from a standard Nyström approximation of rank ``ℓ``) or ``"none"``.
        sketch_size: the preconditioner's initial ``ℓ`` (int or fraction of ``N``).

    ``info``: ``cg_iterations`` (of the final attempt), ``cg_residual`` (the relative residual reached),
    ``cg_sketch`` (its ``ℓ``) and ``cg_attempts``.
    """

    name = "cg"

    def __init__(self, tol: float = 1e-10, max_iters: int | None = None, preconditioner: str = "nystrom",
                 sketch_size=0.1, shift="relative"):
        self.tol, self.max_iters, self.preconditioner = tol, max_iters, preconditioner
        self.sketch_size, self.shift = sketch_size, shift

    def __call__(self, rows: Rows, g: Tensor, damping: Tensor, state: dict | None = None) -> tuple[Tensor, Tensor, dict]:
        state = {} if state is None else state
        floor = self._floor(rows)
        ell = min(max(int(state.get("cg_sketch", floor)), floor), rows.n - 1)
        limit = self.max_iters or rows.n
        attempts = 0
        while True:
            attempts += 1
            x, iterations, relative, converged = self._solve(rows, g, damping, ell, limit)
            if converged or self.preconditioner == "none" or ell >= rows.n - 1:
                break
            ell = min(2 * ell, rows.n - 1)
        if converged and iterations * 4 < limit:
            ell = max(floor, (3 * ell) // 4)
        state["cg_sketch"] = ell
        failed = ~torch.isfinite(x).all()
        x = torch.where(failed, g / damping, x)
        like = dict(dtype=g.dtype, device=g.device)
        info = {"cg_iterations": torch.tensor(float(iterations), **like), "cg_residual": relative,
                "cg_sketch": torch.tensor(float(ell), **like), "cg_attempts": torch.tensor(float(attempts), **like)}
        return rows.Jt(x), failed, info

    def _floor(self, rows: Rows) -> int:
        return max(1, min(sketch_columns(self.sketch_size, rows.n), rows.n - 1)) if rows.n > 1 else 1

    def _solve(self, rows: Rows, g: Tensor, damping: Tensor, ell: int, limit: int) -> tuple[Tensor, int, Tensor, bool]:
        """One preconditioned CG run from ``x = 0``: ``(x, iterations, relative residual, converged)``; whether
        it converged is the loop's own last read (no further host synchronisation)."""
        apply = self._preconditioner(rows, damping, ell)

        def matvec(v: Tensor) -> Tensor:
            return rows.Jv(rows.Jt(v)) + damping * v

        x = torch.zeros_like(g)
        residual = g.clone()
        z = apply(residual)
        direction = z.clone()
        rz = rows.dot(residual, z)
        g_norm = rows.dot(g, g).sqrt().clamp_min(torch.finfo(g.dtype).tiny)
        iterations, converged = 0, False
        for iterations in range(1, limit + 1):
            Kd = matvec(direction)
            alpha = rz / rows.dot(direction, Kd)
            x = x + alpha * direction
            residual = residual - alpha * Kd
            if iterations % CHECK_EVERY == 0 or iterations == limit:
                converged = float(rows.dot(residual, residual).sqrt() / g_norm) <= self.tol  # the one host read
                if converged:
                    break
            z = apply(residual)
            rz_new = rows.dot(residual, z)
            direction = z + (rz_new / rz) * direction
            rz = rz_new
        return x, iterations, rows.dot(residual, residual).sqrt() / g_norm, converged

    def _preconditioner(self, rows: Rows, damping: Tensor, ell: int):
        if self.preconditioner == "none":
            return lambda v: v
        U, lam, failed = nystrom_factors(rows, ell, self.shift)
        smallest = lam[-1]

        def apply(v: Tensor) -> Tensor:
            Utv = rows.sum(U.mT @ v)
            out = U @ ((smallest + damping) / (lam + damping) * Utv) + v - U @ Utv
            return torch.where(failed, v, out)

        return apply


def make_solver(name: str, space: str = "auto", sketch_size=0.1, variant: str = "gpu_efficient", shift="relative",
                tol: float = 1e-10, max_iters: int | None = None, preconditioner: str = "nystrom"):
    """The solver object of a config's ``solver`` and its options."""
    if name == "cholesky":
        return Cholesky(space)
    if name == "nystrom":
        return NystromSketch(sketch_size, variant, shift)
    if name == "cg":
        return ConjugateGradient(tol, max_iters, preconditioner, sketch_size, shift)
    raise ValueError(f"unknown solver '{name}'; choose one of {SOLVERS}")
