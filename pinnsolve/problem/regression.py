r"""Supervised regression through the PINN machinery (the Sven paper's tasks).

A regression problem is a :class:`~pinnsolve.Problem` with one ``data`` condition whose source is a
:class:`~pinnsolve.Minibatches` of the training set: each step draws ``B`` samples, the residual is
``r = f_θ(x) − y`` (a vector for several outputs), and the trainer minimises

.. math::
    L_B = \tfrac{1}{2B} \sum_{n \in \text{batch}} ‖f_θ(x_n) − y_n‖^2

(the ``loss`` column of ``metrics.csv``). At every evaluation the problem's ``metrics`` hook logs,
on the FULL training and validation sets,

.. math::
    \mathrm{train\_loss} = \tfrac1{N} \sum_n ‖f_θ(x_n) − y_n‖^2, \qquad \mathrm{val\_loss}\ \text{alike},

the mean squared error over the set (per sample, summed over the outputs; no ½), as the Sven paper
reports it. For a scalar output this is the ordinary MSE; ``loss ≈ ½·train_loss``. Optionally
``val_accuracy`` (``argmax`` of the outputs against ``argmax`` of one-hot targets).

Example::

    problem = regression_problem("toy", x_train, y_train, x_val, y_val, batch_size=32)
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from .conditions import Condition, Problem
from ..geometry import Minibatches
from ..chunked import chunked


def data_residual(u, x, y):
    """``f_θ(x) − y`` for one sample (``[]`` for a scalar output, ``[m]`` for ``m`` outputs)."""
    return u.value - y


class DataMetrics:
    """``{"train_loss", "val_loss"[, "val_accuracy"]}`` of a model on full data sets (see the module doc).

    Args:
        sets: ``{prefix: (x, y)}``, e.g. ``{"train": (x, y), "val": (x, y)}``; ``y`` is ``[n]`` or ``[n, m]``.
        accuracy: also log ``<prefix>_accuracy`` for the sets named in ``accuracy_sets`` (classification
            with one-hot targets).
        chunk: samples per forward pass.
    """

    def __init__(self, sets: dict[str, tuple[Tensor, Tensor]], accuracy: bool = False, accuracy_sets: Sequence[str] = ("val",), chunk: int = 8192):
        self.sets, self.accuracy, self.accuracy_sets, self.chunk = sets, accuracy, tuple(accuracy_sets), chunk
        self._cache: dict[tuple, tuple[Tensor, Tensor]] = {}

    def _on(self, name: str, device: torch.device, dtype: torch.dtype) -> tuple[Tensor, Tensor]:
        key = (name, device, dtype)
        if key not in self._cache:
            x, y = self.sets[name]
            self._cache[key] = (x.to(device, dtype), y.to(device, dtype))
        return self._cache[key]

    @torch.no_grad()
    def __call__(self, model) -> dict[str, Tensor]:
        p = next(model.parameters())
        out = {}
        for name in self.sets:
            x, y = self._on(name, p.device, p.dtype)
            pred = chunked(model, x, self.chunk)
            pred = pred.reshape(y.shape) if y.ndim == 1 else pred
            sq = (pred - y).square()
            out[f"{name}_loss"] = (sq.sum(dim=1) if sq.ndim == 2 else sq).mean()
            if self.accuracy and name in self.accuracy_sets:
                out[f"{name}_accuracy"] = (pred.argmax(dim=1) == y.argmax(dim=1)).to(p.dtype).mean()
        return out


def regression_problem(
    name: str,
    x_train: Tensor,
    y_train: Tensor,
    x_val: Tensor,
    y_val: Tensor,
    batch_size: int,
    accuracy: bool = False,
    input_names: list[str] | None = None,
) -> Problem:
    """A :class:`Problem` fitting ``f_θ(x) ≈ y`` with minibatches of ``batch_size`` training samples.

    ``n_outputs`` is 1 for targets ``[n]`` and ``m`` for targets ``[n, m]``; ``exact`` is ``None``
    (no PDE error); ``metrics`` is a :class:`DataMetrics` on the full training and validation sets.
    """
    x_train, y_train = torch.as_tensor(x_train, dtype=torch.float64), torch.as_tensor(y_train, dtype=torch.float64)
    x_val, y_val = torch.as_tensor(x_val, dtype=torch.float64), torch.as_tensor(y_val, dtype=torch.float64)
    n_outputs = 1 if y_train.ndim == 1 else y_train.shape[1]
    problem = Problem(
        name,
        [Condition("data", data_residual, Minibatches(x_train, y_train), batch_size)],
        exact=None,
        input_names=input_names,
        n_outputs=n_outputs,
        metrics=DataMetrics({"train": (x_train, y_train), "val": (x_val, y_val)}, accuracy=accuracy),
    )
    problem.data = {"x_train": x_train, "y_train": y_train, "x_val": x_val, "y_val": y_val}
    return problem
