"""Every key of a config group must be a setting its code takes.

A typo on the command line (``+trainer.max_step=3``) or a stray key in a run directory's stored
configuration would otherwise reach the constructor as an unexpected keyword and end in a traceback
(or, for a ``**kwargs`` target, be ignored silently). :func:`check_settings` reads the signature of
each group's ``_target_`` and names the unknown key, the closest setting and the list of settings;
a setting whose default is a boolean must be given ``true`` or ``false`` (a string such as
``maybe`` would otherwise count as true).
"""

from __future__ import annotations

import difflib
import inspect

from hydra.utils import get_object

from ..errors import ConfigError

GROUPS = ("problem", "model", "optimizer", "trainer", "logger")

SUPPLIED = {  # arguments pinnsolve passes itself when it builds the group's object
    "model": ("in_features", "out_features", "dtype"),
    "optimizer": ("params",),
    "trainer": ("problem", "model", "optimizer", "run_dir", "seed", "config", "logger"),
    "logger": ("run_dir", "config"),
}


def _parameters(target: str) -> list[inspect.Parameter]:
    return list(inspect.signature(get_object(target)).parameters.values())


def settings_of(target: str, group: str) -> list[str] | None:
    """The keyword settings ``target`` takes (``None`` when it takes any, through ``**kwargs``)."""
    parameters = _parameters(target)
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters):
        return None
    keywords = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    return [p.name for p in parameters if p.kind in keywords and p.name not in SUPPLIED.get(group, ())]


def _check_switches(group: str, node: dict) -> None:
    """A setting whose default is ``True``/``False`` takes ``true`` or ``false`` only (``maybe`` is not true)."""
    switches = {p.name for p in _parameters(node["_target_"]) if isinstance(p.default, bool)}
    for key, value in node.items():
        if key in switches and not isinstance(value, bool):
            raise ConfigError(f"{group}.{key}={value}: give true or false")


def check_settings(config: dict) -> None:
    """Refuse a key of ``problem``, ``model``, ``optimizer``, ``trainer`` or ``logger`` that its
    ``_target_`` does not take. ``config`` is the resolved configuration (plain containers)."""
    named = config.get("callbacks") if isinstance(config.get("callbacks"), dict) else {}
    nodes = [*((group, config.get(group)) for group in GROUPS), *((f"callbacks.{k}", v) for k, v in named.items())]
    for group, node in nodes:
        if not isinstance(node, dict) or not isinstance(node.get("_target_"), str):
            continue
        try:
            settings = settings_of(node["_target_"], group)
        except (ImportError, ValueError, TypeError):  # hydra.utils.get_object says ImportError; instantiation reports it
            continue
        _check_switches(group, node)
        if settings is None:
            continue
        for key in node:
            if str(key).startswith("_") or key in settings:
                continue
            close = difflib.get_close_matches(str(key), settings, n=1)
            hint = f"did you mean {group}.{close[0]}? " if close else ""
            raise ConfigError(
                f"{group}.{key} is not a setting of {node['_target_']}: {hint}its settings are "
                f"{', '.join(settings)}"
            )
