"""A user's own network in a run directory: imported only from a module the user allows by name.

A run trained with ``model._target_=my_nets.MyNet`` records that import path. Loading or resuming it
imports ``my_nets`` only when the user names it (``allow_modules``), and only if the stored model node is
what pinnsolve itself writes for a network: ``_partial_: true``, no ``_args_``/``_recursive_``/``_convert_``,
and a target ``module.ClassName`` that is an ``nn.Module`` subclass *defined in* an allowed module (an
attribute path such as ``my_nets.torch.load`` or a class ``my_nets`` merely imports is refused). A module
that would be imported from inside the run directory itself (a downloaded ``my_nets.py`` beside the
checkpoint, found through the working directory) is refused before anything is imported.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path

from torch import nn

from ..errors import ConfigError

FORBIDDEN_KEYS = ("_args_", "_recursive_", "_convert_")


def within(module: str, allowed) -> bool:
    """Whether ``module`` is one of ``allowed`` or inside one of them (``a`` or ``a.…``)."""
    return any(module == a or module.startswith(f"{a}.") for a in allowed if a)


def looks_like_users(module: str) -> bool:
    """Whether ``module`` is neither in the standard library nor an installed package (a hint is safe to give)."""
    top = module.split(".")[0]
    if top in sys.stdlib_module_names or top in ("torch", "pinnsolve", "hydra", "omegaconf", "numpy"):
        return False
    spec = importlib.util.find_spec(top)  # a top-level name: nothing is executed
    origin = str(spec.origin or "") if spec is not None else ""
    return "site-packages" not in origin and "dist-packages" not in origin


def _refuse_code_from(run_dir: Path | None, module: str) -> None:
    top = module.split(".")[0]
    try:
        spec = importlib.util.find_spec(top)
    except (ImportError, ValueError):
        spec = None
    if spec is None:
        raise ConfigError(f"the run's network is in module '{module}', which cannot be found: put it on the Python path")
    if run_dir is None:
        return
    places = [spec.origin, *(spec.submodule_search_locations or [])]
    run_dir = run_dir.resolve()
    for place in places:
        if place and Path(place).resolve().is_relative_to(run_dir):
            raise ConfigError(f"module '{top}' would be imported from {place}, inside the run directory {run_dir}: a "
                              "run directory's files are never imported. Run from another directory, with your own "
                              "copy of the module on the Python path")


def allowed_network(node, allowed, run_dir: Path | None = None) -> bool:
    """Whether the stored ``model`` node is a user network from an allowed module (see the module docstring).

    Returns ``False`` when its target is outside ``allowed`` (the caller refuses it as any foreign target).

    Raises:
        ConfigError: the target is in an allowed module but not a network pinnsolve would have written.
    """
    target = node.get("_target_") if isinstance(node, dict) else None
    if not isinstance(target, str) or not allowed:
        return False
    module, _, name = target.rpartition(".")
    if not module or not name.isidentifier() or not within(module, allowed):
        return False
    bad = [key for key in FORBIDDEN_KEYS if key in node]
    if node.get("_partial_") is not True or bad:
        raise ConfigError(f"the run's model node names '{target}' with {bad or '_partial_ not true'}: pinnsolve writes "
                          "a network as _target_ and its settings with _partial_: true, nothing else; refused")
    _refuse_code_from(run_dir, module)
    try:
        found = getattr(importlib.import_module(module), name, None)
    except ImportError as exc:
        raise ConfigError(f"the run's network '{target}' cannot be imported ({exc})") from None
    if not (isinstance(found, type) and issubclass(found, nn.Module) and within(found.__module__, allowed)):
        raise ConfigError(f"'{target}' is not a network class (an nn.Module subclass) defined in the allowed "
                          f"module(s) {list(allowed)}; refused")
    return True
