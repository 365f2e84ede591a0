"""Planning a condition: one probe call of its residual decides the Jacobian path and checks the residual.

The residual is called once on the condition's first point with a :class:`~pinnsolve.engine.jet.RecordingJet`,
which records what it reads (value, gradient, which Laplacians, the Hessian). From that the engine
takes the forward-Laplacian fast path (an MLP whose residual reads value, gradient and Laplacians) or
the generic ``torch.func`` path, and every mistake a residual can make on its first point — written for
a batch, a wrong third argument, an undeclared coefficient, a component index out of range, a wrong
output shape, not reading the network at all — becomes one :class:`~pinnsolve.errors.ResidualError`
naming the condition and the fix.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor, nn

from ..problem import coefficients as coef
from . import forward_laplacian as fl
from .channels import ChannelLayout
from ..errors import ResidualError
from .jet import RecordingJet
from ..problem import Condition


@dataclass
class Plan:
    """How one condition is evaluated: ``fast`` (with its channel layout) or ``generic``, and the number of
    residual components per point."""

    path: str
    layout: ChannelLayout | None
    n_components: int


def plan_condition(condition: Condition, model: nn.Module, mode: str, x: Tensor, y: Tensor | None, n_outputs: int,
                   coefficients: dict[str, Tensor]) -> Plan:
    """Probe ``condition``'s residual on ``x[0]`` (``y[0]``) and choose its path (``mode``: auto, fast, generic)."""
    check_arguments(condition, has_targets=y is not None)
    probe = RecordingJet(x[0], n_outputs)
    try:
        out = coef.call_residual(condition.residual, probe, x[0], None if y is None else y[0], coefficients)
    except (coef.UndeclaredCoefficientError, IndexError) as exc:
        if isinstance(exc, coef.UndeclaredCoefficientError) or str(exc).startswith("u["):
            raise ResidualError(condition.name, str(exc)) from exc
        raise probe_error(condition, x, exc) from exc
    except Exception as exc:  # noqa: BLE001 - re-raised with what a residual receives
        raise probe_error(condition, x, exc) from exc
    if not isinstance(out, Tensor):
        raise ResidualError(condition.name, f"returned {type(out).__name__}; it must return a torch.Tensor built from u and x")
    if not probe.read:
        raise ResidualError(
            condition.name,
            "does not read the network (u): it has nothing to train. Build the residual from u.value, u.grad, "
            "u.partial(i) or u.laplacian() at the point x.",
        )
    if out.ndim > 1:
        raise ResidualError(
            condition.name,
            f"returned shape {tuple(out.shape)} for ONE point; return a scalar (or a 1-D vector of components). "
            "Residuals are written per point x of shape [d] and batched by the framework: do not batch inside.",
        )
    n_components = out.numel() if out.ndim == 1 else 1
    reasons = []
    if not fl.supports(model):
        reasons.append("the model has a module without a forward-Laplacian rule (supported, each with its own forward and no layer used twice: Linear, element-wise activations, Sequential, FourierFeatures, PeriodicInputs, ResidualBlock, ModifiedMLP, and an outermost OutputTransform)")
    if probe.needs_hessian:
        reasons.append("the residual reads mixed second derivatives or the Hessian")
    if mode == "fast" and reasons:
        raise ValueError(f"jacobian='fast' cannot serve condition '{condition.name}': {'; '.join(reasons)}. Use jacobian='auto'.")
    if mode == "generic" or reasons:
        return Plan("generic", None, n_components)
    return Plan("fast", ChannelLayout(x.shape[1], probe.needs_grad, probe.laplacian_keys), n_components)


def check_arguments(condition: Condition, has_targets: bool) -> None:
    """A residual's third argument (targets or normals) must match what its point source gives."""
    arity = coef.positional_arity(condition.residual)
    if arity is None:
        return
    (required, accepted), source = arity, type(condition.points).__name__
    if required >= 3 and not has_targets:
        raise ResidualError(
            condition.name,
            f"takes a third argument, but its source {source} gives none: for outward normals use a boundary "
            "source with normals (shape.boundary(normals=True), Sphere(..., normals=True)); for data use "
            "FixedPoints(points, targets). An interior source has no normals.",
        )
    if accepted == 2 and has_targets:
        what, name = ("outward normals", "n") if condition.points.gives_normals else ("targets", "y")
        raise ResidualError(
            condition.name,
            f"its source {source} gives {what} per point, so the residual is called as residual(u, x, {name}); "
            "add that third argument",
        )


def probe_error(condition: Condition, x: Tensor, exc: Exception) -> ResidualError:
    """The error for a residual that failed on its first point, with what a residual receives."""
    return ResidualError(
        condition.name,
        f"failed for one point ({type(exc).__name__}: {exc}). A residual is called for ONE point: x has shape "
        f"[{x.shape[1]}] (write x[0] for its first coordinate, not x[:, 0]) and u is the network's jet at x "
        "(u.value, u.grad, u.partial(i), u.laplacian()); the framework batches it. Do not index or sum over a "
        "batch inside the residual.",
    )


def traced_error(name: str, what: str, exc: Exception) -> ResidualError:
    """The error for a per-point function (``what``: residual, exact solution) that works on one concrete
    point but fails when batched with ``torch.func.vmap``: numpy, ``.item()``, Python control flow on a value."""
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return ResidualError(
        name,
        f"fails when batched ({type(exc).__name__}: {first}). A {what} is written for one point but traced with "
        "torch.func.vmap, where x and u stand for a whole batch: it must stay in torch (no numpy, no .item() or "
        "float() of a tensor) and must not branch on a tensor's value with a Python if/while. Write branches as "
        "torch.where(condition, a, b), and max/abs/clamp with their torch functions.",
    )
