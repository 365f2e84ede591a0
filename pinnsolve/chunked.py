"""One chunked evaluation for the whole package: ``fn`` over a long batch, ``chunk`` rows at a time.

Used wherever a network or a batched function meets more points (or parameter vectors) than one pass
should hold: errors against the exact solution, regression metrics, predictions and their derivatives,
the line search's losses. A leaf, like :mod:`pinnsolve.errors`.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

CHUNK = 65536
"""Rows per pass by default."""


def chunked(fn: Callable[[Tensor], Tensor], x: Tensor, chunk: int = CHUNK) -> Tensor:
    """``fn(x)`` computed as ``cat([fn(x[:chunk]), fn(x[chunk:2·chunk]), …])`` along the first axis."""
    return torch.cat([fn(block) for block in x.split(chunk)])
