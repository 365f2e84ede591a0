"""Hyper-parameter checks with ``torch.optim``-style messages that also say what is allowed.

Each raises :class:`~pinnsolve.errors.HyperParameterError` (a ``ValueError``) naming the constructor
argument, so ``pinnsolve`` can turn it into ``optimizer.<name>=<value>: …`` on the command line.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from ..errors import HyperParameterError


MAX_DAMPING = 1e15
"""A fixed ``λ`` above this is refused: every step would be ``Jᵀr/λ`` and no parameter could move (the
papers tune ``λ`` over ``1e-12 … 1e-2``; a kernel whose mean eigenvalue makes 1e15 reasonable would hold
residuals of order 1e7 and more)."""


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def check_positive(name: str, value, allow_zero: bool = False, label: str | None = None, why_zero: str = "") -> None:
    """A finite ``value > 0`` (``≥ 0`` with ``allow_zero``); ``why_zero`` explains a refused ``0``."""
    if _is_number(value) and math.isfinite(value) and (value >= 0 if allow_zero else value > 0):
        return
    reason = "must be >= 0" if allow_zero else "must be > 0"
    if _is_number(value) and not math.isfinite(value):
        reason = f"{reason} and finite"
    if _is_number(value) and value == 0 and why_zero:
        reason = why_zero
    raise HyperParameterError(name, value, reason, label)


def check_range(name: str, value, low: float, high: float, high_open: bool = True) -> None:
    """``low ≤ value < high`` (``≤ high`` when ``high_open`` is false)."""
    if _is_number(value) and low <= value and (value < high if high_open else value <= high):
        return
    raise HyperParameterError(name, value, f"must be in [{low}, {high}{')' if high_open else ']'}")


def check_int(name: str, value, minimum: int, allow_none: bool = False) -> None:
    """An ``int`` ``≥ minimum`` (or ``None`` when allowed)."""
    if (allow_none and value is None) or (isinstance(value, int) and not isinstance(value, bool) and value >= minimum):
        return
    raise HyperParameterError(name, value, f"must be an integer >= {minimum}" + (" or null" if allow_none else ""))


def check_choice(name: str, value, choices: Sequence[str]) -> None:
    """One of ``choices``."""
    if value in choices:
        return
    raise HyperParameterError(name, value, f"choose one of {tuple(choices)}")


def check_damping(value, allow_zero: bool = False, why_zero: str = "") -> None:
    """``"auto"`` (adaptive) or a number ``> 0`` (``≥ 0`` with ``allow_zero``)."""
    if value == "auto":
        return
    if not _is_number(value):
        raise HyperParameterError("damping", value, "'auto' or a number" + (" >= 0" if allow_zero else " > 0"))
    check_positive("damping", value, allow_zero=allow_zero, why_zero=why_zero)
    if value > MAX_DAMPING:
        raise HyperParameterError("damping", value, f"above {MAX_DAMPING:g} every step is Jᵀr/λ ≈ 0 and the parameters "
                                  "cannot move; use a λ such as 1e-6, or auto")
