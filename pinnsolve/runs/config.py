"""Resuming a run with its own configuration, safely.

A run directory may come from someone else, so a resume takes only data from it:

- the configuration is taken from the checkpoint (or ``.hydra/config.yaml`` for older runs): the
  settings of ``problem``, ``model``, ``optimizer`` and ``trainer`` and the seed. Every ``_target_``
  in it must be one that pinnsolve's own config groups name, at its place; anything else is refused;
- no ``${…}`` interpolation in it is resolved: a value holding one is refused (it could read this
  user's environment, ``${oc.env:…}``, and carry it into a file name or a URL);
- the logger and the callbacks are never taken from it: loggers, their directories and URIs, and
  callbacks come from this command line (or the defaults: ``metrics.csv`` only, no callbacks), so
  nothing is written or sent outside the run directory that the user did not ask for;
- no entry of the run directory may be a symbolic link out of it
  (:func:`~pinnsolve.runs.files.check_no_links_out`, run by :func:`~pinnsolve.runs.checkpoint.locate_checkpoint`);
- a problem loaded from a user's Python file (``problem=from_file``) runs that file: resuming it
  needs ``problem=from_file problem.path=<the same file>`` on the command line, as the user's consent;
- a checkpoint whose problem or optimizer differs from the run directory's ``.hydra/config.yaml``
  does not belong to that run and is refused;
- the checkpoint is read with ``torch.load(..., weights_only=True)`` (:mod:`pinnsolve.runs.checkpoint`).

``trainer.*``, ``logger`` and ``callbacks`` overrides given with ``resume=`` apply (e.g. a larger
``trainer.max_steps``); any other override is reported and ignored. The merged configuration
replaces the run's ``.hydra/config.yaml`` and the applied overrides are appended to
``.hydra/resumes.yaml``.
"""

from __future__ import annotations

import functools
import importlib.resources
import logging
import time
from pathlib import Path

import yaml
from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import DictConfig, OmegaConf

from .checkpoint import load_checkpoint, locate_checkpoint
from .own_code import allowed_network, looks_like_users
from .settings import check_settings
from ..errors import ConfigError
from .files import atomic_write_text

log = logging.getLogger("pinnsolve")

GROUPS = ("problem", "model", "optimizer", "trainer", "logger")
FROM_FILE_TARGET = "pinnsolve.problem.from_file.load_problem"
OLD_PROBLEMS_PREFIX = "problems."  # the shipped problems' package before it moved into pinnsolve
MOVED_TARGETS = {  # targets that run directories written before the package's layers name
    "pinnsolve.problem_file.load_problem": FROM_FILE_TARGET,
    "pinnsolve.trainer.Trainer": "pinnsolve.training.Trainer",
    **{f"pinnsolve.loggers.{name}": f"pinnsolve.training.loggers.{name}"
       for name in ("Logger", "TensorBoardLogger", "MLflowLogger", "WandbLogger")},
}


def current_target(target):
    """The ``_target_`` that an older run directory's ``target`` names now (itself when it did not move)."""
    if not isinstance(target, str):
        return target
    if target.startswith(OLD_PROBLEMS_PREFIX):
        return "pinnsolve." + target
    return MOVED_TARGETS.get(target, target)


@functools.lru_cache(maxsize=1)
def config_options() -> dict[str, dict[str, str]]:
    """``{group: {_target_: option}}`` of pinnsolve's own config files (``"pinnsolve.training.loggers.TensorBoardLogger":
    "tensorboard"``)."""
    root = Path(str(importlib.resources.files("pinnsolve.configs")))
    found: dict[str, dict[str, str]] = {group: {} for group in GROUPS}
    for group in GROUPS:
        for file in sorted((root / group).glob("*.yaml")):
            node = yaml.safe_load(file.read_text()) or {}
            node = node.get(group, node) if "_target_" not in node else node
            if isinstance(node, dict) and "_target_" in node:
                found[group].setdefault(node["_target_"], file.stem)
    return found


def known_targets() -> dict[str, frozenset[str]]:
    """``{group: _target_ values}`` named by pinnsolve's own config files."""
    return {group: frozenset(options) for group, options in config_options().items()}


def _targets(node, path: str = ""):
    """``(key path, _target_)`` of every node that names a ``_target_``, at any depth."""
    if isinstance(node, dict):
        if "_target_" in node:
            yield path, node["_target_"]
        for key, value in node.items():
            yield from _targets(value, f"{path}.{key}" if path else str(key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _targets(value, f"{path}[{i}]")


def _strings(node, path: str = ""):
    """``(key path, text)`` of every string key and value, at any depth."""
    if isinstance(node, dict):
        for key, value in node.items():
            where = f"{path}.{key}" if path else str(key)
            if isinstance(key, str):
                yield where, key
            yield from _strings(value, where)
    elif isinstance(node, (list, tuple)):
        for i, value in enumerate(node):
            yield from _strings(value, f"{path}[{i}]")
    elif isinstance(node, str):
        yield path, node


def refuse_interpolations(config: dict, source: str | Path) -> None:
    """Refuse a saved configuration holding ``${…}``: a run directory's values are never resolved."""
    for path, text in _strings(config):
        if "${" in text:
            raise ConfigError(
                f"resume: {source} holds the interpolation '{text}' at '{path}'. A run directory holds data only; "
                "interpolations from it are never resolved (they could read your environment). Start a new run "
                "with the settings you want instead"
            )


def check_targets(config: dict, source: str | Path, allowed_modules=(), run_dir: Path | None = None) -> None:
    """Refuse a configuration whose ``_target_`` values are not pinnsolve's own; the ``model`` node may
    also name a network class of a module the user allows
    (:func:`~pinnsolve.runs.own_code.allowed_network`)."""
    known = known_targets()
    own_network = allowed_network(config.get("model"), list(allowed_modules), run_dir)
    for path, target in _targets(config):
        if path == "model" and own_network:
            continue
        if not isinstance(target, str) or path not in known or target not in known[path]:
            hint = ""
            module = target.rpartition(".")[0] if isinstance(target, str) else ""
            if path == "model" and module and looks_like_users(module):
                hint = (f" If it is a network class of your own module '{module}' and you trust that module, allow "
                        f"it: load_run(dir, allow_modules=['{module}']), pinnsolve-predict ... allow_module={module}, "
                        f"or pinnsolve resume=... allow_modules=[{module}].")
            raise ConfigError(
                f"resume: {source} names _target_ '{target}' at '{path or '<root>'}', which is not one of pinnsolve's "
                "own problems, models, optimizers or trainers. A run directory only selects them; it cannot name code "
                f"to run.{hint or ' Start a new run with the settings you want instead.'}"
            )


def saved_config(checkpoint: Path, state: dict | None = None, allow_solve_runs: bool = False,
                 allowed_modules=()) -> dict:
    """The run's resolved configuration: from the checkpoint, else ``.hydra/config.yaml`` beside it.

    Every ``_target_`` in it must be pinnsolve's own or, for the model, in ``allowed_modules``
    (:func:`check_targets`), and no value may hold an
    interpolation (:func:`refuse_interpolations`). A ``solve()`` run's problem is a Python object the
    configuration cannot rebuild: refused unless ``allow_solve_runs``.
    """
    state = state if state is not None else load_checkpoint(checkpoint)
    config = state.get("config")
    source: str | Path = checkpoint
    if config is None:
        source = checkpoint.parent / ".hydra" / "config.yaml"
        if not source.is_file():
            raise ConfigError(f"resume: {checkpoint} carries no configuration and {source} does not exist")
        config = yaml.safe_load(source.read_text())
    refuse_interpolations(config, source)  # before anything reads a value
    if isinstance(config, dict):
        config.pop("callbacks", None)  # code that writes files: taken from the command line, like loggers
    if not isinstance(config, dict) or not all(isinstance(config.get(g), dict) for g in ("problem", "model", "optimizer")):
        raise ConfigError(f"resume: {source} does not hold a pinnsolve configuration")
    _rename_old_targets(config)
    if "_target_" not in config["problem"] and not allow_solve_runs:
        raise ConfigError(f"resume: this run was started from Python with solve(); continue it there with "
                          f"solve(problem, ..., resume='{checkpoint.parent}')")
    check_targets(config, source, allowed_modules, checkpoint.parent)
    _check_belongs(checkpoint, config)
    return config


def _check_saved_settings(config: dict, source: str | Path) -> None:
    """Every stored key must be a setting of its group's code (:func:`~pinnsolve.runs.settings.check_settings`)."""
    try:
        check_settings(config)
    except ConfigError as exc:
        raise ConfigError(f"resume: {source} stores {exc}. The file was edited, or written by another version of "
                          "pinnsolve: start a new run with the settings you want") from None


def _rename_old_targets(config: dict) -> None:
    """Older runs name targets that have moved since (``problems.X``, ``pinnsolve.problem_file.…``)."""
    for group in GROUPS:
        node = config.get(group)
        if isinstance(node, dict) and "_target_" in node:
            node["_target_"] = current_target(node["_target_"])


def _check_belongs(checkpoint: Path, config: dict) -> None:
    """A checkpoint carrying its config must agree with the run directory's ``.hydra/config.yaml``."""
    saved = checkpoint.parent / ".hydra" / "config.yaml"
    if not saved.is_file():
        return
    try:
        directory = yaml.safe_load(saved.read_text()) or {}
    except yaml.YAMLError:
        return
    for group in ("problem", "optimizer"):
        theirs = (directory.get(group) or {}).get("_target_") if isinstance(directory.get(group), dict) else None
        ours = config[group].get("_target_")
        theirs = current_target(theirs)
        if theirs is not None and theirs != ours:
            raise ConfigError(
                f"resume: {checkpoint} was written by a run of {group} '{ours}', but {saved} says '{theirs}': the "
                "checkpoint does not belong to this run directory. Resume the run it came from, or start a new run"
            )


def parse_overrides(overrides: list[str]) -> list[tuple[str, object, str]]:
    """``(key, value, text)`` of Hydra command-line overrides, parsed by Hydra's own parser."""
    parsed = OverridesParser.create().parse_overrides(list(overrides))
    return [(o.key_or_group, o.value(), o.input_line) for o in parsed]


def _take_logger(config: DictConfig, saved: dict, logger: DictConfig | None) -> None:
    """Put this command line's logger in ``config``; say so when the run had another one."""
    if "logger" in config:
        del config["logger"]
    if logger is not None:
        config.logger = OmegaConf.create(OmegaConf.to_container(logger))
    ours = logger.get("_target_") if logger is not None else None
    theirs = saved.get("logger", {}).get("_target_") if isinstance(saved.get("logger"), dict) else None
    if theirs is not None and theirs != ours:
        name = config_options()["logger"].get(theirs)
        again = f"add logger={name} to log there again (in the run directory, or where you say)" if name else ""
        log.warning(f"resuming: the run was logged with {name or theirs}; a resume takes loggers from the command "
                    f"line only, never from the run directory{'; ' + again if again else ''}")


def resumed_config(resume: str, overrides: list[str], logger: DictConfig | None = None,
                   callbacks: DictConfig | None = None, allowed_modules=()) -> tuple[DictConfig, Path]:
    """The configuration to continue ``resume`` with, and its run directory (see the module doc).

    ``logger`` and ``callbacks`` are the nodes of this command line's configuration (its defaults when
    the user named none); the run directory's own are dropped.
    """
    checkpoint = locate_checkpoint(resume)
    run_dir = checkpoint.parent
    saved = saved_config(checkpoint, allowed_modules=allowed_modules)
    _check_saved_settings({k: v for k, v in saved.items() if k != "logger"}, checkpoint)
    config = OmegaConf.create(saved)
    _take_logger(config, saved, logger)
    config.callbacks = OmegaConf.create(OmegaConf.to_container(callbacks) if callbacks is not None else {})
    applied, ignored, path_given = [], [], None
    for key, value, text in parse_overrides(overrides):
        if key.startswith("trainer."):
            OmegaConf.update(config, key, value, force_add=True)
            applied.append(text)
        elif key in ("logger", "callbacks") or key.startswith(("logger.", "callbacks.")):
            applied.append(text)  # already in the command line's logger and callbacks nodes
        elif key == "problem.path":
            path_given = value
        elif key not in ("resume", "problem", "allow_modules") and not key.startswith("hydra"):
            ignored.append(text)
    for text in ignored:
        log.warning(f"resuming with the run's own config; ignoring override '{text}' (only trainer.*, logger and callbacks "
                    "overrides apply)")
    if config.problem._target_ == FROM_FILE_TARGET:
        saved_path = Path(str(config.problem.path)).expanduser().resolve()
        if path_given is None or Path(str(path_given)).expanduser().resolve() != saved_path:
            raise ConfigError(
                f"resume: this run's problem comes from the Python file {saved_path}; resuming runs that file. Give "
                f"problem=from_file problem.path={saved_path} on the command line to confirm you trust it"
            )
    config.resume = str(checkpoint)
    _record(run_dir, config, applied, ignored)
    return config, run_dir


def _record(run_dir: Path, config: DictConfig, applied: list[str], ignored: list[str]) -> None:
    """Rewrite ``.hydra/config.yaml`` with the merged config; append this resume to ``.hydra/resumes.yaml``."""
    hydra_dir = run_dir / ".hydra"
    atomic_write_text(hydra_dir / "config.yaml", OmegaConf.to_yaml(config))
    history_file = hydra_dir / "resumes.yaml"
    history = yaml.safe_load(history_file.read_text()) if history_file.is_file() else None
    history = history if isinstance(history, list) else []
    history.append({"time": time.strftime("%Y-%m-%d %H:%M:%S"), "applied": applied, "ignored": ignored})
    atomic_write_text(history_file, yaml.safe_dump(history, sort_keys=False))
