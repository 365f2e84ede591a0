"""Scratch tensors kept from step to step.

A fresh CPU allocation of a large block (the ``N×P`` Jacobian, the ``N×N`` kernel and its Cholesky
factor) is served by ``mmap`` and costs a page fault per page on first touch: 37 ms for a 97 MB
Jacobian (N = 1200, P = 10 065) and 100 ms at N = 3500, measured on one CPU thread — as much as a
tenth of a step. A :class:`Workspace` hands out views of buffers it keeps, grown when a larger one is
needed; what it hands out is valid until the same name is asked for again.
"""

from __future__ import annotations

import torch
from torch import Tensor


class Workspace:
    """Named scratch buffers (contents undefined on return)."""

    def __init__(self):
        self._buffers: dict[str, Tensor] = {}

    def get(self, name: str, shape: tuple[int, ...], dtype: torch.dtype, device: torch.device) -> Tensor:
        """A tensor of ``shape``: a view of the buffer ``name``, reallocated when too small or of another kind."""
        numel = 1
        for size in shape:
            numel *= int(size)
        buffer = self._buffers.get(name)
        if buffer is None or buffer.numel() < numel or buffer.dtype != dtype or buffer.device != torch.device(device):
            buffer = torch.empty(max(numel, 1), dtype=dtype, device=device)
            self._buffers[name] = buffer
        return buffer[:numel].view(shape)

    def clear(self) -> None:
        self._buffers.clear()
