r"""θ's column order, in one place.

Every Jacobian ``J: [N, P]`` of pinnsolve has one column per scalar parameter, in the order of
``model.named_parameters()``, each tensor flattened in row-major order. :class:`ParameterLayout`
owns that order: it flattens parameters into ``θ: [P]``, splits a flat ``θ`` (or a batch
``[M, P]``) back into a parameter dict, and maps an optimizer's parameter tensors to their columns.

Example:
    >>> layout = ParameterLayout.of(model)
    >>> theta = layout.flatten()                       # [P]
    >>> cols = layout.columns(optimizer_params)        # the columns of J these tensors own
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import torch
from torch import Tensor, nn


class ParameterLayout:
    """Names, shapes and column offsets of a model's parameters.

    Args:
        named: ``(name, tensor)`` pairs in column order (``model.named_parameters()``).
    """

    def __init__(self, named: Sequence[tuple[str, Tensor]]):
        self.names = [name for name, _ in named]
        self.tensors = [p for _, p in named]
        self.shapes = [p.shape for p in self.tensors]
        self.sizes = [p.numel() for p in self.tensors]
        self.offsets = [sum(self.sizes[:i]) for i in range(len(self.sizes))]
        self.numel = sum(self.sizes)
        self._index = {id(p): i for i, p in enumerate(self.tensors)}

    @classmethod
    def of(cls, model: nn.Module) -> "ParameterLayout":
        """The layout of ``model.named_parameters()``."""
        return cls(list(model.named_parameters()))

    def flatten(self, params: dict[str, Tensor] | None = None) -> Tensor:
        """``θ: [P]`` (detached) from ``params`` (default: the model's current values)."""
        tensors = self.tensors if params is None else [params[n] for n in self.names]
        return torch.cat([p.detach().reshape(-1) for p in tensors])

    def unflatten(self, theta: Tensor) -> dict[str, Tensor]:
        """Split ``θ: [..., P]`` into ``{name: [..., *shape]}`` (views)."""
        lead = theta.shape[:-1]
        return {n: t.reshape((*lead, *s)) for n, t, s in zip(self.names, theta.split(self.sizes, dim=-1), self.shapes)}

    def columns(self, tensors: Iterable[Tensor]) -> Tensor:
        """Column indices ``[P_s]`` of ``tensors`` (in the order given), by identity.

        Raises:
            ValueError: if a tensor is not one of the layout's parameters.
        """
        index = []
        for p in tensors:
            i = self._index.get(id(p))
            if i is None:
                raise ValueError(
                    f"a parameter of shape {tuple(p.shape)} handed to the optimizer is not a parameter of the model "
                    "whose Jacobian the closure computes; build the optimizer from that model's parameters"
                )
            index.append(torch.arange(self.offsets[i], self.offsets[i] + self.sizes[i]))
        return torch.cat(index) if index else torch.zeros(0, dtype=torch.long)
