"""The one closure double of the suite: it implements :class:`pinnsolve.optim.Closure` on known rows.

``LinearClosure(A, b, θ)``: ``r(θ) = Aθ − b`` for a parameter ``θ`` — Gauss–Newton is exact, and the
line search sees the true loss. With ``frozen=True`` the rows stay those at the start (``r``, ``J``
given once, the loss the same at every candidate): enough to compare directions.
"""

from __future__ import annotations

import torch


class LinearClosure:
    """``r(θ) = Aθ − b`` (``A: [N, P]``, ``b: [N]``, ``θ: [P]``); ``columns`` slice ``J = A``."""

    def __init__(self, A, b, theta=None, frozen: bool = False, sequential: bool = False):
        self.A, self.b, self.frozen, self.sequential = A, b, frozen, sequential
        self.theta = theta if theta is not None else torch.zeros(A.shape[1], dtype=A.dtype)

    @classmethod
    def of_rows(cls, r, J):
        """A closure whose rows are ``r`` and ``J`` and stay so (a direction's inputs, no training)."""
        return cls(J, -r, torch.zeros(J.shape[1], dtype=J.dtype), frozen=True)

    def residuals_and_jacobian(self, columns=None):
        r = self.A @ self.theta.detach() - self.b
        return r, (self.A if columns is None else self.A[:, columns])

    def objective(self, r):
        return 0.5 * r.square().sum()

    def losses_at(self, thetas):
        if self.frozen:
            r, _ = self.residuals_and_jacobian()
            return torch.stack([self.objective(r) for _ in thetas])
        return 0.5 * (thetas @ self.A.T - self.b).square().sum(-1)
