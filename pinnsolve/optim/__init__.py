"""Natural-gradient optimizers: every method maps ``(r, J)`` to a step through ``K = JJᵀ``.

``kernel`` (exact solves), ``sketch`` (Nyström), ``svd`` (truncated SVDs for Sven) hold the maths;
``engd``, ``engd_w``, ``spring``, ``nystrom``, ``sven`` are thin ``torch.optim.Optimizer`` classes on
top (``base``); ``closure`` defines what ``step(closure)`` receives; ``polyak`` is a first-order
baseline.
"""

from .base import NaturalGradientOptimizer
from .closure import PerSampleClosure
from .engd import ENGD
from .engd_w import ENGDW
from .nystrom import Nystrom
from .polyak import PolyakSGD
from .spring import SPRING
from .sven import Sven

__all__ = [
    "ENGD", "ENGDW", "NaturalGradientOptimizer", "Nystrom", "PerSampleClosure", "PolyakSGD", "SPRING",
    "Sven",
]


def __getattr__(name: str):
    """``pinnsolve.optim.EngineClosure``, where it lived before the layers: now ``pinnsolve.engine.EngineClosure``
    (this package never imports the engine at import time)."""
    if name == "EngineClosure":
        import warnings

        from ..engine.closure import EngineClosure

        warnings.warn("pinnsolve.optim.EngineClosure moved to pinnsolve.engine.EngineClosure (also pinnsolve.EngineClosure)",
                      DeprecationWarning, stacklevel=2)
        return EngineClosure
    raise AttributeError(f"module 'pinnsolve.optim' has no attribute '{name}'")
