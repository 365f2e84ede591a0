"""Trainable PDE coefficients (inverse problems): parameters of the problem, trained with the network.

A problem declares them with their initial values, and a residual that takes a ``params`` argument
reads them::

    def heat(u, x, params):
        return u.partial(0) - params["kappa"] * u.laplacian(dims=[1])

    Problem("heat_inverse", [Condition("pde", heat, domain, 900), ...], parameters={"kappa": 0.5})

Each coefficient becomes a parameter of the model named ``coefficient_<name>`` (:func:`attach`),
so it is a column of the residual Jacobian ``J`` for every optimizer (natural-gradient methods
included), an entry of the checkpoint's model state, and a column of ``metrics.csv``. On the fast
path its column is ``∂r_n/∂c`` for every point at once: the residual of point ``n`` reads its own
copy ``c_n`` of the coefficient, and one backward pass of ``Σ_n r_n`` gives ``∂r_n/∂c_n``.
"""

from __future__ import annotations

import functools
import inspect

import torch
from torch import Tensor, nn

PREFIX = "coefficient_"


class UndeclaredCoefficientError(KeyError):
    """A residual read ``params[name]`` for a name its problem does not declare."""

    def __str__(self) -> str:
        return self.args[0]


class Coefficients(dict):
    """``{name: value}`` handed to residuals; a name the problem does not declare is a clear error."""

    def __missing__(self, name):
        declared = ", ".join(sorted(self)) or "none"
        raise UndeclaredCoefficientError(
            f"params[{name!r}] is not a parameter of this problem (declared: {declared}); declare it with "
            f"Problem(..., parameters={{{name!r}: <initial value>}})"
        )


def takes_params(residual) -> bool:
    """Whether ``residual`` has a parameter named ``params`` (it then receives the coefficients); read once
    per residual function (this runs at every residual call)."""
    try:
        return _takes_params(residual)
    except TypeError:  # an unhashable callable object: read its signature each time
        return _signature_has_params(residual)


def _signature_has_params(residual) -> bool:
    try:
        return "params" in inspect.signature(residual).parameters
    except (TypeError, ValueError):  # builtins and some callables have no signature
        return False


_takes_params = functools.lru_cache(maxsize=1024)(_signature_has_params)


def positional_arity(residual) -> tuple[int, int] | None:
    """``(required, accepted)`` positional arguments of ``residual`` besides ``params`` (``None``: unknown)."""
    try:
        parameters = [p for p in inspect.signature(residual).parameters.values() if p.name != "params"]
    except (TypeError, ValueError):
        return None
    if any(p.kind is p.VAR_POSITIONAL for p in parameters):
        return None
    positional = [p for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return sum(p.default is p.empty for p in positional), len(positional)


def call_residual(residual, u, x: Tensor, y: Tensor | None, coefficients: dict[str, Tensor] | None):
    """``residual(u, x[, y][, params=coefficients])``: the one place a residual is called."""
    args = (u, x) if y is None else (u, x, y)
    if takes_params(residual):
        return residual(*args, params=Coefficients(coefficients or {}))
    return residual(*args)


def attach(model: nn.Module, initial: dict[str, float]) -> nn.Module:
    """Register each coefficient as a parameter ``coefficient_<name>`` of ``model`` (once; idempotent)."""
    reference = next(model.parameters(), None)
    dtype = reference.dtype if reference is not None else torch.get_default_dtype()
    device = reference.device if reference is not None else None
    for name, value in initial.items():
        key = PREFIX + name
        if not hasattr(model, key):
            model.register_parameter(key, nn.Parameter(torch.as_tensor(value, dtype=dtype, device=device).clone()))
    return model


def attach_from_state(model: nn.Module, state: dict[str, Tensor]) -> nn.Module:
    """Register the coefficients a saved model state holds (to load a run whose problem is unknown)."""
    return attach(model, {k[len(PREFIX):]: v for k, v in state.items() if k.startswith(PREFIX) and "." not in k})


def of(params: dict[str, Tensor]) -> dict[str, Tensor]:
    """``{name: tensor}`` of the coefficients in a parameter dict (``named_parameters`` or a functional one)."""
    return {k[len(PREFIX):]: v for k, v in params.items() if k.startswith(PREFIX) and "." not in k}


def values(model: nn.Module) -> dict[str, float]:
    """Current scalar coefficient values of ``model`` (for metrics.csv and the summary)."""
    return {name: float(v.detach()) for name, v in of(dict(model.named_parameters())).items() if v.numel() == 1}
