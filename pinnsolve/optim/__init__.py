"""Natural-gradient optimizers: every method maps ``(r, J)`` to a step through ``K = JJᵀ``.

Every method is :class:`NaturalGradient` with four parts (:mod:`~pinnsolve.optim.natural_gradient`)::

    NaturalGradient(params, solver=Cholesky(), momentum=SpringMomentum(0.9), step_rule=GridLineSearch(),
                    damping=AdaptiveDamping())

``ENGD``, ``ENGDW``, ``SPRING``, ``Nystrom`` and ``Sven`` are presets that choose the parts from their flat
keys. The maths is in ``kernel`` (exact solves), ``sketch`` (Nyström), ``svd`` (truncated SVDs for Sven)
and ``rows`` (this process's rows of ``J`` and every reduction over processes); ``closure`` defines what
``step(closure)`` receives; ``polyak`` and ``sequence`` (Adam, then L-BFGS) are first-order baselines. Nothing here imports the engine.
"""

from .closure import Closure, PerSampleClosure
from .damping import AdaptiveDamping, FixedDamping, NoDamping
from .engd import ENGD, AveragedGramian
from .engd_w import ENGDW
from .momentum import NoMomentum, SpringMomentum
from .natural_gradient import NaturalGradient, NaturalGradientOptimizer
from .nystrom import Nystrom
from .parameters import ParameterLayout
from .polyak import PolyakSGD
from .sequence import OptimizerSequence, adam_then_lbfgs
from .solvers import Cholesky, ConjugateGradient, NystromSketch
from .spring import SPRING
from .step_rules import FixedStep, GridLineSearch
from .sven import Sven, TruncatedPseudoinverse

__all__ = [
    # the shell and its presets
    "NaturalGradient", "NaturalGradientOptimizer", "ENGD", "ENGDW", "Nystrom", "SPRING", "Sven",
    # parts: solvers, momentum, step rules, damping
    "AveragedGramian", "Cholesky", "ConjugateGradient", "NystromSketch", "TruncatedPseudoinverse",
    "NoMomentum", "SpringMomentum", "FixedStep", "GridLineSearch", "AdaptiveDamping", "FixedDamping", "NoDamping",
    # closures and first-order
    "Closure", "ParameterLayout", "PerSampleClosure", "PolyakSGD", "OptimizerSequence", "adam_then_lbfgs",
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
