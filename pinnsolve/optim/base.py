r"""The shell every natural-gradient optimizer shares: a ``torch.optim.Optimizer`` on a flat ``θ``.

A subclass writes one method, :meth:`NaturalGradientOptimizer.direction`, mapping the rows of ``r``
and ``J`` this process holds (:class:`~pinnsolve.optim.rows.Rows`, which owns every reduction over
processes) to a direction ``φ: [P]``; this class does the rest:

1. ``rows = closure.jacobian_rows()`` (``r: [N_i]``, ``J: [N_i, P]``); ``L = closure.objective(r)`` (``½‖r‖²``);
2. ``φ = direction(r, J, damping)`` with this step's ``λ`` from the damping rule
   (:mod:`~pinnsolve.optim.damping`: fixed, or adaptive relative to ``tr K/N``; a Cholesky failure,
   see :func:`~pinnsolve.optim.kernel.damped_solve`, raises it ×10);
3. a non-finite ``φ`` (NaN residual) is replaced by ``0`` — no step, never a NaN parameter;
4. ``η``: grid line search (one batched pass), or the fixed ``lr`` (SPRING: norm-capped);
5. ``θ ← θ − ηφ``; the damping rule's update (from ``η``, or the gain ratio of a fixed step); diagnostics.

No step of this sequence reads a tensor on the host: ``step`` returns ``L`` as a 0-d tensor and
``self.diagnostics`` holds 0-d tensors that the trainer syncs when it logs.

Parameters follow the ``torch.optim`` contract: those with ``requires_grad=False`` are left alone.
The closure's :class:`~pinnsolve.optim.parameters.ParameterLayout` maps the optimizer's trainable tensors
to their columns of ``J``; only those columns are built, solved for and moved (an optimizer given
part of a model's parameters trains just that part).

Following ``torch.optim.LBFGS``, only one parameter group is allowed and the global state
(``step``, ``damping``, ``damping_boost``, ``cholesky_retries``, SPRING's ``phi``, ENGD's
averaged Gramian) lives in ``self.state[first_param]``, so ``state_dict()`` / ``load_state_dict()``
and LR schedulers work unchanged.
"""

from __future__ import annotations

import warnings

import torch
from torch import Tensor
from torch.optim import Optimizer

from .parameters import ParameterLayout
from .damping import LOSS_FLOOR, DampingRule
from .kernel import effective_dimension
from .rows import Rows
from .step_rules import gain_ratio, grid_exponent, grid_line_search


class NaturalGradientOptimizer(Optimizer):
    """Base class: single param group, flat parameters, shared step rules and diagnostics.

    Args:
        params: the parameters to train (one group). Their columns of ``J`` are found through the
            closure's ``layout`` (a closure without one is taken to differentiate exactly ``params``,
            in order).
        defaults: hyper-parameters; must contain ``lr``, ``line_search`` and
            ``effective_dimension``; damped methods also ``damping`` and ``adaptive_damping`` (and
            optionally ``loss_floor``, default :data:`~pinnsolve.optim.damping.LOSS_FLOOR`).
    """

    requires_jacobian = True
    damped = True

    def __init__(self, params, defaults: dict):
        super().__init__(params, defaults)
        if len(self.param_groups) != 1:
            raise ValueError(f"{type(self).__name__} doesn't support per-parameter options (parameter groups)")
        self._params = self.param_groups[0]["params"]
        self.diagnostics: dict[str, Tensor] = {}
        self._columns_cache: tuple | None = None
        group = self.param_groups[0]
        self.damping_rule = None
        if self.damped:
            floor = group.get("loss_floor", LOSS_FLOOR)
            self.damping_rule = DampingRule(group["damping"], group["adaptive_damping"], floor)
            if floor != LOSS_FLOOR and not self.damping_rule.adaptive:
                warnings.warn(f"{type(self).__name__}: loss_floor={floor} is read only by the adaptive damping "
                              f"(damping='auto' or adaptive_damping=True); with the fixed damping={group['damping']} "
                              "it is ignored")

    def load_state_dict(self, state_dict: dict) -> None:
        """``torch.optim``'s, then a check that vectors and matrices of the state fit these parameters
        (SPRING's ``φ: [P]``, ENGD's averaged Gramian ``[P, P]``), so that a state from a model of another
        size fails here and not at the next ``step()``."""
        super().load_state_dict(state_dict)
        state = self.state[self._params[0]] if self._params else {}
        n = sum(p.numel() for p in self._trainable())
        for key, shape in {"phi": (n,), "gramian": (n, n)}.items():
            if key in state and tuple(state[key].shape) != shape:
                raise ValueError(
                    f"{type(self).__name__}.load_state_dict: the state's '{key}' has shape {list(state[key].shape)}, "
                    f"these parameters need {list(shape)} ({n} trainable numbers): the state was saved for a model "
                    "of another size. Load it into that model's optimizer, or start this one afresh"
                )

    # ---- parameters and their columns -------------------------------------------------------
    def _trainable(self) -> list[Tensor]:
        return [p for p in self._params if p.requires_grad]

    @staticmethod
    def _flat(params: list[Tensor]) -> Tensor:
        return torch.cat([p.detach().reshape(-1) for p in params])

    @staticmethod
    def _assign(params: list[Tensor], theta: Tensor) -> None:
        offset = 0
        for p in params:
            n = p.numel()
            p.copy_(theta[offset:offset + n].view_as(p))
            offset += n

    def _layout(self, closure) -> ParameterLayout:
        layout = getattr(closure, "layout", None)
        return layout if layout is not None else ParameterLayout([(str(i), p) for i, p in enumerate(self._params)])

    def _owned_columns(self, layout: ParameterLayout, trainable: list[Tensor]) -> tuple[Tensor, bool]:
        """Columns ``[P_t]`` of the trainable tensors and whether they are all of ``J``, in order (cached)."""
        key = (id(layout), tuple(id(p) for p in trainable))
        if self._columns_cache is None or self._columns_cache[0] != key:
            owned = layout.columns(trainable)
            everything = [id(p) for p in trainable] == [id(p) for p in layout.tensors]
            self._columns_cache = (key, owned.to(trainable[0].device), everything)
        return self._columns_cache[1], self._columns_cache[2]

    def _global_state(self) -> dict:
        state = self.state[self._params[0]]
        if "step" not in state:
            ref = self._params[0]
            state["step"] = torch.zeros((), dtype=torch.int64, device=ref.device)
            state["cholesky_retries"] = torch.zeros((), dtype=torch.int64, device=ref.device)
            if self.damped:
                self.damping_rule.init_state(state, ref)
            self.init_state(state)
        return state

    # ---- what a subclass writes ------------------------------------------------------------
    def init_state(self, state: dict) -> None:
        """Add method-specific tensors to the global state (called once)."""

    def direction(self, rows: Rows, damping: Tensor, state: dict, group: dict) -> tuple[Tensor, Tensor | None]:
        """``φ: [P]`` (replicated) and a 0-d bool ``failed`` (Cholesky failure) or ``None``."""
        raise NotImplementedError

    def fixed_step_size(self, phi: Tensor, state: dict, group: dict) -> Tensor:
        """``η`` when the line search is off: ``lr`` (SPRING overrides with its norm cap)."""
        return torch.as_tensor(group["lr"], dtype=phi.dtype, device=phi.device)

    def applied_step(self, phi: Tensor, state: dict, group: dict) -> Tensor:
        """The vector actually subtracted (times ``η``): ``φ`` (SPRING: bias-corrected)."""
        return phi

    @staticmethod
    def _rows(closure, columns: Tensor | None) -> Rows:
        """This process's rows, from a closure that builds them (``jacobian_rows()``) or returns ``(r, J)``."""
        if hasattr(closure, "jacobian_rows"):
            return closure.jacobian_rows() if columns is None else closure.jacobian_rows(columns=columns)
        r, J = closure.residuals_and_jacobian() if columns is None else closure.residuals_and_jacobian(columns=columns)
        return Rows(r, J)

    def adaptive(self, group: dict) -> bool:
        """Whether a hyper-parameter adapts to the step's outcome (then a fixed step costs one more loss)."""
        return self.damped and self.damping_rule.adaptive

    def adapt(self, state: dict, group: dict, failed: Tensor | None, eta: Tensor, gain_ratio: Tensor | None) -> None:
        """After the step: the damping rule's update (from ``η`` with a line search, else the gain ratio)."""
        if self.damped:
            self.damping_rule.update(state, failed, eta, group["line_search"], gain_ratio)

    def after_step(self, state: dict, group: dict, eta: Tensor) -> None:
        """Update method-specific state with the step size ``η`` that was taken (e.g. SPRING's momentum)."""

    def jacobian_columns(self, closure, num_params: int) -> Tensor | None:
        """Subset ``[P_s]`` of the ``num_params`` trainable columns to request (Sven's ``param_fraction``); ``None``: all."""
        return None

    # ---- the step -------------------------------------------------------------------------------
    @torch.no_grad()
    def step(self, closure) -> Tensor:  # type: ignore[override]
        """One natural-gradient step; returns the loss at the start of the step (0-d, no sync).

        Args:
            closure: an :class:`~pinnsolve.optim.closure.EngineClosure` or
                :class:`~pinnsolve.optim.closure.PerSampleClosure` (not a plain callable).
        """
        if not hasattr(closure, "residuals_and_jacobian"):
            raise TypeError(
                f"{type(self).__name__}.step needs a closure with residuals_and_jacobian() and losses_at() "
                "(pinnsolve.engine.EngineClosure or pinnsolve.optim.PerSampleClosure), not a plain loss closure"
            )
        group, state = self.param_groups[0], self._global_state()
        trainable = self._trainable()
        layout = self._layout(closure)
        if not trainable:  # every parameter frozen: nothing moves (torch.optim does the same)
            r, _ = closure.residuals_and_jacobian(columns=torch.zeros(0, dtype=torch.long, device=self._params[0].device))
            self.diagnostics = {}
            return closure.objective(r).detach()
        owned, everything = self._owned_columns(layout, trainable)
        theta = self._flat(trainable)
        subset = self.jacobian_columns(closure, theta.numel())
        requested = owned if subset is None else owned[subset]
        columns = None if (subset is None and everything) else requested
        rows = self._rows(closure, columns)
        loss = closure.objective(rows.r)
        fresh = bool(getattr(closure, "fresh_points", False))
        damping = self.damping_rule.value(state, rows, loss, fresh) if self.damped else torch.zeros((), dtype=rows.r.dtype, device=rows.r.device)
        phi, failed = self.direction(rows, damping, state, group)
        if subset is not None:
            phi = torch.zeros_like(theta).index_put_((subset,), phi)
        phi = torch.where(torch.isfinite(phi).all(), phi, torch.zeros_like(phi))
        state["step"] += 1
        update = self.applied_step(phi, state, group)

        if group["line_search"]:
            full_update = update if everything else torch.zeros(layout.numel, dtype=update.dtype, device=update.device).index_put_((owned,), update)
            sequential = getattr(closure, "sequential", False)  # the CPU: start where the last step's η was
            hint = int(state["line_search_exponent"]) if sequential and "line_search_exponent" in state else None
            eta, _ = grid_line_search(closure, layout.flatten(), full_update, loss, hint=hint)
            if sequential:  # a refused step (η = 0) keeps the last hint
                k = grid_exponent(eta)
                state["line_search_exponent"] = torch.where(k >= 0, k, state.get("line_search_exponent", k))
        else:
            eta = self.fixed_step_size(phi, state, group)
        self._assign(trainable, theta - eta * update)

        if failed is not None:
            state["cholesky_retries"] += failed.to(torch.int64)
        ratio = None
        if self.adaptive(group) and not group["line_search"]:  # one more loss: the fixed step's gain ratio
            new_loss = closure.losses_at(layout.flatten()[None])[0]
            predicted = closure.objective(rows.r - eta * rows.Jv(update if subset is None else update[subset]))
            ratio = gain_ratio(loss, new_loss, predicted)
        self.adapt(state, group, failed, eta, ratio)
        self.after_step(state, group, eta)

        self.diagnostics = {"step_size": eta.detach(), "cholesky_retries": state["cholesky_retries"].clone()}
        if self.damped:
            self.diagnostics["damping"] = damping.detach()
            if "relative_damping" in state:
                self.diagnostics["relative_damping"] = state["relative_damping"].clone()
            elif "applied_relative" in state:  # a fixed λ, as a multiple of tr K/N
                self.diagnostics["relative_damping"] = state["applied_relative"].clone()
        if group["effective_dimension"]:
            self.diagnostics["d_eff_over_N"] = effective_dimension(rows.kernel_lower(), damping) / rows.n
        self.extra_diagnostics(state, group)
        return loss.detach()

    def extra_diagnostics(self, state: dict, group: dict) -> None:
        """Add method-specific entries to ``self.diagnostics``."""
