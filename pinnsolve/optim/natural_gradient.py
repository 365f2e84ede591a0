r"""Every natural-gradient method is one shell with four parts: ``NaturalGradient(solver, momentum, step_rule, damping)``.

.. math::
    λ = \text{damping}(J, L),\quad
    φ = \text{momentum.combine}\big(\text{solver}(J,\ \text{momentum.target}(r),\ λ)\big),\quad
    θ ← θ − η\,\text{momentum.applied}(φ),\quad η = \text{step\_rule}(θ, φ, L)

=================  ==============================================  =========================================
part               what it does                                    shipped
=================  ==============================================  =========================================
``solver``         ``(rows, g, λ) → Jᵀ(K + λI)⁻¹g`` or another    :class:`~pinnsolve.optim.solvers.Cholesky`,
                   direction from this process's rows               ``NystromSketch``, ``ConjugateGradient``
                   (:class:`~pinnsolve.optim.rows.Rows`)            (:mod:`~pinnsolve.optim.solvers`),
                                                                    ``AveragedGramian`` (ENGD),
                                                                    ``TruncatedPseudoinverse`` (Sven)
``momentum``       right-hand side, ``φ_k``, the step applied      ``NoMomentum``, ``SpringMomentum(μ)``
                                                                    (:mod:`~pinnsolve.optim.momentum`)
``step_rule``      ``η``                                           ``GridLineSearch``, ``FixedStep(norm_cap)``
                                                                    (:mod:`~pinnsolve.optim.step_rules`)
``damping``        ``λ`` before the step, its update after         ``FixedDamping(λ)``, ``AdaptiveDamping``,
                                                                    ``NoDamping`` (:mod:`~pinnsolve.optim.damping`)
=================  ==============================================  =========================================

ENGD, ENGD-W, SPRING, Nyström and Sven (:mod:`~pinnsolve.optim.presets` and one file each) are this
class with parts chosen from their flat keys (the config keys). A new solver, momentum, step rule or
damping rule is one class with these methods; no subclassing::

    opt = NaturalGradient(model.parameters(), solver=Cholesky(), step_rule=FixedStep(), damping=FixedDamping(1e-8), lr=0.5)

The shell does the rest, the same for every method:

1. ``rows = closure.jacobian_rows()`` (``r: [N_i]``, ``J: [N_i, P]``); ``L = closure.objective(r)`` (``½‖r‖²``);
2. a non-finite ``φ`` (NaN residual) is replaced by ``0`` — no step, never a NaN parameter;
3. ``θ ← θ − ηφ``; the parts' updates (the damping from ``η``, or the gain ratio of a fixed step); diagnostics.

No step of this sequence reads a tensor on the host: ``step`` returns ``L`` as a 0-d tensor and
``self.diagnostics`` holds 0-d tensors that the trainer syncs when it logs.

Parameters follow the ``torch.optim`` contract: those with ``requires_grad=False`` are left alone.
The closure's :class:`~pinnsolve.optim.parameters.ParameterLayout` maps the optimizer's trainable tensors
to their columns of ``J``; only those columns are built, solved for and moved (an optimizer given
part of a model's parameters trains just that part).

Following ``torch.optim.LBFGS``, only one parameter group is allowed and the global state (``step``,
``cholesky_retries``, the parts' ``damping``, ``relative_damping``, ``phi``, ``gramian``, ``rtol``, …)
lives in ``self.state[first_param]``, so ``state_dict()`` / ``load_state_dict()`` and LR schedulers work
unchanged (a fixed step reads ``lr`` from the parameter group).
"""

from __future__ import annotations

import torch
from torch import Tensor
from torch.optim import Optimizer

from .damping import NoDamping
from .kernel import effective_dimension
from .momentum import NoMomentum
from .parameters import ParameterLayout
from .rows import Rows
from .step_rules import GridLineSearch, gain_ratio


class StepOutcome:
    """What a step showed, for parts that adapt to it (their optional ``observe(state, outcome)``).

    Attributes:
        loss: ``L`` before the step (0-d); eta: the step size taken; failed: a Cholesky failure (0-d bool)
        or ``None``; rows: this step's :class:`~pinnsolve.optim.rows.Rows`; phi: ``φ_k`` (its columns).
    """

    def __init__(self, closure, rows: Rows, loss: Tensor, eta: Tensor, failed, phi: Tensor, update: Tensor,
                 before: Tensor, full_update: Tensor, layout: ParameterLayout):
        self.closure, self.rows, self.loss, self.eta, self.failed, self.phi = closure, rows, loss, eta, failed, phi
        self._update, self._before, self._full_update, self._layout = update, before, full_update, layout
        self._taken: Tensor | None = None

    def gain_ratio(self, eta: Tensor | float | None = None) -> Tensor:
        """``ρ = (L − L(θ − η·d)) / (L − m(η·d))`` for the step ``η`` (default: the one taken, at the parameters
        it reached, computed once); one more loss."""
        if eta is None and self._taken is not None:
            return self._taken
        step = self.eta if eta is None else torch.as_tensor(eta, dtype=self.loss.dtype, device=self.loss.device)
        at = self._layout.flatten() if eta is None else self._before - step * self._full_update
        new = self.closure.losses_at(at[None])[0]
        ratio = gain_ratio(self.loss, new, self.closure.objective(self.rows.r - step * self.rows.Jv(self._update)))
        if eta is None:
            self._taken = ratio
        return ratio


class NaturalGradient(Optimizer):
    """The natural-gradient shell: one parameter group, a flat ``θ``, four parts (see the module docstring).

    Args:
        params: the parameters to train (one group). Their columns of ``J`` are found through the
            closure's ``layout`` (a closure without one is taken to differentiate exactly ``params``,
            in order).
        solver: ``(rows, g, λ, state) -> (φ: [P], failed: [] bool or None, info: {name: 0-d})``; optionally
            ``init_state(state, reference)``, ``columns(num_params, device)`` (the columns of ``J`` to build
            this step; ``None``: all), ``adaptive`` and ``update(state, failed, η, line_search, ρ)``, and
            ``diagnostics(state)`` (read after the update).
        momentum: :class:`~pinnsolve.optim.momentum.NoMomentum` (default) or ``SpringMomentum(μ)``.
        step_rule: :class:`~pinnsolve.optim.step_rules.GridLineSearch` (default) or ``FixedStep(norm_cap)``.
        damping: ``FixedDamping(λ)``, ``AdaptiveDamping(...)`` or ``NoDamping()`` (default).
        lr: the fixed step's ``η`` (kept in the parameter group: schedulers may change it).
        effective_dimension: log ``d_eff(λ)/N`` (gathers ``K``: an eigendecomposition per step).
        defaults: the parameter group's hyper-parameters (the presets store their flat keys there).

    Any part may also have ``observe(state, outcome)``: it then sees each step's :class:`StepOutcome`
    (the step size, a Cholesky failure, the gain ratio of any step size) after the step.
    """

    requires_jacobian = True

    def __init__(self, params, solver, momentum=None, step_rule=None, damping=None, lr: float = 1.0,
                 effective_dimension: bool = False, defaults: dict | None = None):
        self.solver = solver
        self.momentum = momentum if momentum is not None else NoMomentum()
        self.step_rule = step_rule if step_rule is not None else GridLineSearch()
        self.damping = damping if damping is not None else NoDamping()
        defaults = dict(defaults or {})
        defaults.setdefault("lr", lr)
        defaults.setdefault("line_search", self.step_rule.line_search)
        defaults.setdefault("effective_dimension", bool(effective_dimension))
        super().__init__(params, defaults)
        if len(self.param_groups) != 1:
            raise ValueError(f"{type(self).__name__} doesn't support per-parameter options (parameter groups)")
        self._params = self.param_groups[0]["params"]
        self.diagnostics: dict[str, Tensor] = {}
        self._columns_cache: tuple | None = None

    @property
    def damping_rule(self):
        """The damping part (its name before the parts had their own)."""
        return self.damping

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
            self.damping.init_state(state, ref)
            self.momentum.init_state(state, ref, sum(p.numel() for p in self._trainable()))
            if hasattr(self.solver, "init_state"):
                self.solver.init_state(state, ref)
        return state

    @staticmethod
    def _rows(closure, columns: Tensor | None) -> Rows:
        """This process's rows, from a closure that builds them (``jacobian_rows()``) or returns ``(r, J)``."""
        if hasattr(closure, "jacobian_rows"):
            return closure.jacobian_rows() if columns is None else closure.jacobian_rows(columns=columns)
        r, J = closure.residuals_and_jacobian() if columns is None else closure.residuals_and_jacobian(columns=columns)
        return Rows(r, J)

    def _adaptive(self) -> bool:
        """Whether a part adapts to the step's outcome (then a fixed step costs one more loss: the gain ratio)."""
        return self.damping.adaptive or getattr(self.solver, "adaptive", False)

    # ---- the step -------------------------------------------------------------------------------
    @torch.no_grad()
    def step(self, closure) -> Tensor:  # type: ignore[override]
        """One natural-gradient step; returns the loss at the start of the step (0-d, no sync).

        Args:
            closure: a :class:`~pinnsolve.engine.EngineClosure` or
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
        subset = self.solver.columns(theta.numel(), theta.device) if hasattr(self.solver, "columns") else None
        requested = owned if subset is None else owned[subset]
        columns = None if (subset is None and everything) else requested
        rows = self._rows(closure, columns)
        loss = closure.objective(rows.r)
        damping = self.damping.value(state, rows, loss, bool(getattr(closure, "fresh_points", False)))
        direction, failed, info = self.solver(rows, self.momentum.target(rows, state), damping, state)
        phi = self.momentum.combine(direction, state)
        if subset is not None:
            phi = torch.zeros_like(theta).index_put_((subset,), phi)
        phi = torch.where(torch.isfinite(phi).all(), phi, torch.zeros_like(phi))
        state["step"] += 1
        update = self.momentum.applied(phi, state)
        full_update = update if everything else torch.zeros(layout.numel, dtype=update.dtype,
                                                             device=update.device).index_put_((owned,), update)
        before = layout.flatten()
        eta = self.step_rule.size(closure, before, full_update, phi, loss, state, group)
        self._assign(trainable, theta - eta * update)

        if failed is not None:
            state["cholesky_retries"] += failed.to(torch.int64)
        line_search = self.step_rule.line_search
        outcome = StepOutcome(closure, rows, loss, eta, failed, phi, update if subset is None else update[subset],
                              before, full_update, layout)
        ratio = outcome.gain_ratio() if self._adaptive() and not line_search else None  # a fixed step: one more loss
        self.damping.update(state, failed, eta, line_search, ratio)
        if hasattr(self.solver, "update"):
            self.solver.update(state, failed, eta, line_search, ratio)
        self.momentum.after_step(state, eta, line_search)
        for part in (self.solver, self.momentum, self.step_rule, self.damping):
            if hasattr(part, "observe"):
                part.observe(state, outcome)

        self.diagnostics = {"step_size": eta.detach(), "cholesky_retries": state["cholesky_retries"].clone(),
                            **self.damping.diagnostics(state, damping)}
        if group["effective_dimension"]:
            self.diagnostics["d_eff_over_N"] = effective_dimension(rows.kernel_lower(), damping) / rows.n
        self.diagnostics.update(info)
        if hasattr(self.solver, "diagnostics"):
            self.diagnostics.update(self.solver.diagnostics(state))
        return loss.detach()


NaturalGradientOptimizer = NaturalGradient
"""The shell's name before it took parts (kept for code that subclassed it)."""
