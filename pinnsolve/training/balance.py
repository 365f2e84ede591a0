r"""Kernel-balanced condition weights (Wang, Yu, Perdikaris, "When and why PINNs fail to train: a neural
tangent kernel perspective", J. Comput. Phys. 449, 2022, Algorithm 1), for pinnsolve's mean-per-point loss.

With ``m_c = (1/N_c) Σ_n ‖∂r_c(x_n)/∂θ‖²``, the mean diagonal entry of condition ``c``'s block of the
unscaled kernel ``K = JJᵀ``, the weights

.. math::
    w_c = C\,\frac{1/m_c}{\sum_j 1/m_j}\qquad(C \text{ conditions balanced, so } \textstyle\sum_c w_c = C)

give every condition's block of the scaled kernel the same trace, ``(w_c/N_c) Σ_n ‖∂r_c/∂θ‖² = w_c m_c``.
Without them a PDE residual made of second derivatives of a fast mode has rows orders of magnitude longer
than an initial condition's, and a damping ``λ`` sized to the kernel's mean eigenvalue all but freezes the
initial condition: the two-mode wave keeps its slow mode and leaves ``½ sin 5πx`` out (its initial-value
residual stays at ``0.1``, the size of the missing mode, while the PDE residual is ``7e-4``). With balanced
blocks the damping acts on every condition alike.

The traces come with each step's ``J`` (the engine's ``jacobian_norms``); first-order optimizers form no
``J``, so then the callback builds one on the step's points. The weights are set before every ``every``-th
step, smoothed ``w ← α w + (1 − α) w_new`` (``α = smoothing``), and kept in checkpoints; the ``loss``
column is the weighted loss.

    pinnsolve problem=wave callbacks=[balance]
"""

from __future__ import annotations

import torch

from ..errors import ConfigError
from . import distributed as dd
from .callbacks import Callback


def balanced_weights(traces: dict[str, tuple[float, float]]) -> dict[str, float]:
    """``w_c = C (1/m_c) / Σ_j 1/m_j`` with ``m_c = trace_c / count_c`` from ``{name: (trace, count)}``;
    a condition whose ``J`` rows are all zero keeps weight 1 and is left out of the sum."""
    means = {name: trace / count for name, (trace, count) in traces.items() if count > 0 and trace > 0}
    if not means:
        return {name: 1.0 for name in traces}
    inverse = sum(1 / m for m in means.values())
    return {name: (len(means) * (1 / means[name]) / inverse if name in means else 1.0) for name in traces}


class KernelBalancedWeights(Callback):
    """Set the weights of ``conditions`` so that their kernel blocks have equal traces (module docstring).

    Args:
        conditions: the conditions balanced (``None``: all of them); the others keep their weights.
        every: update the weights before every ``every``-th step.
        smoothing: ``α ∈ [0, 1)`` of the moving average (0: the new weights as they are).
    """

    def __init__(self, conditions: list[str] | None = None, every: int = 10, smoothing: float = 0.0):
        if not (isinstance(every, int) and every >= 1):
            raise ConfigError(f"balance: every={every} must be a whole number >= 1 (steps between updates)")
        if not 0 <= smoothing < 1:
            raise ConfigError(f"balance: smoothing={smoothing} must lie in [0, 1) (the moving average's α)")
        self.conditions, self.every, self.smoothing = None if conditions is None else list(conditions), every, float(smoothing)
        self.weights: dict[str, float] = {}
        self.original: dict | None = None
        self.engine = None

    def on_fit_start(self, trainer) -> None:
        by_name = {c.name: c for c in trainer.problem.conditions}
        names = list(self.conditions or by_name)
        trainer.problem.conditions_named(names, "balance")
        self.by_name, self.names, self.engine = by_name, names, trainer.engine
        self.original = {n: by_name[n].weight for n in names}
        self.distributed = trainer.distributed
        self.engine.record_jacobian_norms, self.engine.jacobian_norms = True, {}
        self._apply()

    def on_batch(self, trainer, batch) -> None:
        if trainer.step % self.every:
            return
        norms = self.engine.jacobian_norms
        if not all(n in norms for n in self.names):  # no J yet (first step, or a first-order optimizer)
            self.engine.residuals_and_jacobian(batch)
            norms = self.engine.jacobian_norms
        totals = torch.stack([norms[n] for n in self.names])
        self.engine.jacobian_norms = {}  # used: the next update reads a newer J, or builds one
        if self.distributed:
            totals = dd.all_reduce_sum(totals)
        new = balanced_weights({n: (float(t), float(c)) for n, (t, c) in zip(self.names, totals)})
        a = self.smoothing if self.weights else 0.0
        self.weights = {n: a * self.weights.get(n, new[n]) + (1 - a) * new[n] for n in self.names}
        self._apply()

    def _apply(self) -> None:
        for name, weight in self.weights.items():
            self.by_name[name].weight = weight

    def on_fit_end(self, trainer, summary: dict) -> None:
        summary["condition_weights"] = dict(self.weights)

    def on_teardown(self, trainer) -> None:
        if self.engine is not None:
            self.engine.record_jacobian_norms, self.engine.jacobian_norms = False, {}
        if self.original is not None:  # the problem object may be the caller's: leave it as it was
            for name, weight in self.original.items():
                self.by_name[name].weight = weight

    def state_dict(self) -> dict:
        return {"weights": dict(self.weights)}

    def load_state_dict(self, state: dict) -> None:
        self.weights = {str(k): float(v) for k, v in (state.get("weights") or {}).items()}
