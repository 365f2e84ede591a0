"""Networks: what maps a point ``x: [d]`` to the solution ``u(x): [m]``.

- :class:`MLP`, :class:`ResidualMLP` (:mod:`~pinnsolve.models.mlp`), :class:`FourierMLP` on
  :class:`FourierFeatures` (:mod:`~pinnsolve.models.features`) and :class:`ModifiedMLP`
  (:mod:`~pinnsolve.models.modified`): all carried by the forward-Laplacian fast path
  (:mod:`pinnsolve.engine.forward_laplacian`); config choices ``model=mlp``, ``model=residual_mlp``,
  ``model=fourier_mlp``, ``model=modified_mlp``.
- :class:`PeriodicInputs` and :class:`OutputTransform` (:mod:`~pinnsolve.models.wrappers`) wrap a
  network for a problem's periodic coordinates and hard constraints (:func:`for_problem`).

Any other ``nn.Module`` mapping ``[n, d] -> [n, m]`` works through the generic ``torch.func`` path.
"""

from .features import FourierFeatures, FourierMLP, PeriodicInputs
from .mlp import ACTIVATIONS, MLP, ResidualBlock, ResidualMLP, Sin
from .modified import ModifiedMLP
from .wrappers import OutputTransform, for_problem

__all__ = ["ACTIVATIONS", "FourierFeatures", "FourierMLP", "MLP", "ModifiedMLP", "OutputTransform", "PeriodicInputs",
           "ResidualBlock", "ResidualMLP", "Sin", "for_problem"]
