"""The ``pinnsolve`` command: a thin Hydra shell around :func:`run`.

``run(cfg, run_dir)`` builds problem, model, optimizer and trainer from a composed config and
trains; tests call it directly on configs composed with ``hydra.compose``. The Hydra task turns
pinnsolve's errors into one clear line: a single run exits with status 2 (3 when it diverged); in a
sweep (``-m``) every job fails alone and :mod:`pinnsolve.cli.hydra_callbacks` reports the failures at
the end. The task returns the final ``l2_rel`` (else the validation loss, else the loss), which
sweepers such as Optuna minimise.
"""

from __future__ import annotations

import importlib.resources
import logging
import math
import sys
import traceback
from pathlib import Path

import hydra
import torch
from hydra.core.hydra_config import HydraConfig
from hydra.errors import InstantiationException
from hydra.types import RunMode
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import MissingMandatoryValue, OmegaConfBaseException

from ..training import distributed as dd
from ..device import resolve_dtype
from ..runs.settings import check_settings
from ..errors import ConfigError, PinnsolveError, ProcessGroupError
from ..runs.config import resumed_config
from ..runs.files import write_json

CONFIG_DIR = str(importlib.resources.files("pinnsolve.configs"))
"""The repository's ``configs/``, installed as the package ``pinnsolve.configs``."""

log = logging.getLogger("pinnsolve")


def _missing(exc: MissingMandatoryValue) -> ConfigError:
    key = getattr(exc, "full_key", "") or "a value"
    hint = " (the Python file that defines make_problem())" if key == "problem.path" else ""
    return ConfigError(f"{key} must be given{hint}: add {key}=<value> to the command line")


def _instantiate(node: DictConfig, what: str, **kwargs):
    try:
        return instantiate(node, **kwargs)
    except MissingMandatoryValue as exc:
        raise _missing(exc) from exc
    except InstantiationException as exc:
        cause = exc.__cause__ or exc
        if isinstance(cause, PinnsolveError):
            raise cause
        if isinstance(cause, MissingMandatoryValue):
            raise _missing(cause) from exc
        raise ConfigError(f"cannot build the {what} from its config ({cause}). Check the {what}.* keys.") from exc


def _seed(cfg: DictConfig) -> int:
    value = cfg.get("seed")
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"seed={value}: the seed must be an integer, e.g. seed=0")
    return value


def _reweighted(problem, weights):
    """The problem with ``weights={condition: w_c}`` from the config applied (``+weights.initial=100``)."""
    if not weights:
        return problem
    if not isinstance(weights, dict):
        raise ConfigError(f"weights={weights}: give one weight per condition name, e.g. +weights.initial=100")
    bad = {name: w for name, w in weights.items() if isinstance(w, bool) or not isinstance(w, (int, float)) or not w >= 0}
    if bad:
        raise ConfigError(f"weights: {bad} must be numbers >= 0 (w_c scales condition c's rows by sqrt(w_c / N_c))")
    return problem.reweighted(weights)


def build(cfg: DictConfig, run_dir: str | Path, problem=None, callbacks=()):
    """The trainer for a composed config (the model is seeded with ``cfg.seed``).

    ``problem`` replaces ``cfg.problem`` when given (the Python API passes a Problem object);
    ``callbacks`` (objects) run after those the config names (``cfg.callbacks``).
    """
    seed = _seed(cfg)
    try:
        config = OmegaConf.to_container(cfg, resolve=True)
    except MissingMandatoryValue as exc:
        raise _missing(exc) from exc
    except OmegaConfBaseException as exc:
        raise ConfigError(f"the configuration does not resolve: {exc}") from exc
    check_settings(config)
    problem = problem if problem is not None else _instantiate(cfg.problem, "problem")
    problem = _reweighted(problem, config.get("weights"))
    torch.manual_seed(seed)
    dtype = resolve_dtype(cfg.trainer.dtype)
    model_factory = _instantiate(cfg.model, "model")
    try:
        model = model_factory(in_features=problem.network_inputs, out_features=problem.n_outputs, dtype=dtype)
    except (ValueError, TypeError) as exc:
        settings = ", ".join(f"model.{k}={v}" for k, v in config["model"].items() if not k.startswith("_"))
        raise ConfigError(f"cannot build the model: {exc} ({settings})") from exc
    optimizer = _instantiate(cfg.optimizer, "optimizer")
    logger = _instantiate(cfg.logger, "logger") if "logger" in cfg else None
    named = [_instantiate(node, f"callback '{name}'") for name, node in (cfg.get("callbacks") or {}).items()]
    trainer = _instantiate(cfg.trainer, "trainer")(
        problem=problem, model=model, optimizer=optimizer, run_dir=run_dir, seed=seed, config=config, logger=logger,
        callbacks=[*named, *callbacks],
    )
    return trainer


def run(cfg: DictConfig, run_dir: str | Path | None = None) -> dict:
    """Train as configured; returns the summary. ``cfg.resume`` continues an earlier run."""
    if run_dir is None:
        run_dir = HydraConfig.get().runtime.output_dir if HydraConfig.initialized() else Path.cwd()
    trainer = build(cfg, run_dir)
    return trainer.fit(resume=cfg.get("resume"))


def objective(summary: dict) -> float:
    """What a sweeper minimises: ``l2_rel``, else ``val_loss``, else ``loss``; NaN for a diverged run."""
    if summary.get("status") == "diverged":
        return math.nan
    final = summary.get("final", {})
    for key in ("l2_rel", "val_loss", "loss"):
        if key in final:
            return float(final[key])
    return math.nan


def _report(summary: dict, run_dir) -> None:
    from ..training.distributed import rank

    if rank() != 0:
        return
    final = ", ".join(f"{k} {v:.3e}" for k, v in summary["final"].items())
    log.info(f"{summary['problem']}: {summary['status']} after {summary['steps']} steps, {summary['train_time_s']:.1f} s: {final}")
    log.info(f"run directory: {run_dir}")


def write_text_quietly(path: Path, text: str) -> None:
    """Best effort: a failing process keeps its traceback in the run directory when it can."""
    try:
        path.write_text(text + "\n")
    except OSError:
        pass


def task(cfg: DictConfig) -> float:
    """The Hydra task: one run (or resume), errors said in one line, the sweep objective returned."""
    sys.path.insert(0, str(Path.cwd()))  # problem modules next to the user's working directory
    hydra_cfg = HydraConfig.get()
    sweep = hydra_cfg.mode == RunMode.MULTIRUN
    run_dir = Path(hydra_cfg.runtime.output_dir)
    try:
        if cfg.get("resume"):
            cfg, run_dir = resumed_config(cfg.resume, list(hydra_cfg.overrides.task), cfg.get("logger"), cfg.get("callbacks"),
                                          _allowed_modules(cfg.get("allow_modules")))
        summary = run(cfg, run_dir)
    except Exception as exc:  # noqa: BLE001 - each kind is reported below
        message = str(exc) if isinstance(exc, PinnsolveError) else "".join(traceback.format_exception(exc)).rstrip()
        if dd.world_size() > 1 and not isinstance(exc, ProcessGroupError):  # say which process failed, and why
            if not isinstance(exc, PinnsolveError):
                log_file = run_dir / f"traceback_rank{dd.rank()}.txt"
                write_text_quietly(log_file, message)
                message = f"{type(exc).__name__}: {dd.describe(exc)} (traceback in {log_file})"
            message = f"rank {dd.rank()} of {dd.world_size()} failed: {message}. The other processes stop too"
            print(f"pinnsolve: error: {message}", file=sys.stderr)
            sys.exit(2)
        if not sweep:
            if isinstance(exc, PinnsolveError):  # Hydra would print a traceback; the message says it all
                print(f"pinnsolve: error: {message}", file=sys.stderr)
                sys.exit(2)
            raise
        log.error(f"job failed: {message}")
        write_json(run_dir / "failure.json", {"status": "failed", "error": type(exc).__name__, "message": message})
        return math.nan
    _report(summary, run_dir)
    if summary["status"] == "diverged":
        reason = summary["diverged"]
        print(f"pinnsolve: the run diverged: {reason['reason']}; {reason['advice']}. The checkpoint holds step "
              f"{reason['kept_step']}.", file=sys.stderr)
        if not sweep:
            sys.exit(3)
    return objective(summary)


@hydra.main(version_base=None, config_path=CONFIG_DIR, config_name="config")
def _hydra_main(cfg: DictConfig) -> float:
    return task(cfg)


def main() -> None:
    """Console entry point (``pinnsolve``): Hydra's command line (``--help`` with each setting's explanation)."""
    if any(arg in ("--help", "-h") for arg in sys.argv[1:]):
        return _annotated_help()
    _hydra_main()
    dd.finish()


def _allowed_modules(value) -> list[str]:
    """``allow_modules=[a,b]``, ``allow_modules=a`` or ``allow_modules=a,b`` as a list of module names."""
    if not value:
        return []
    items = [value] if isinstance(value, str) else list(value)
    return [name.strip() for item in items for name in str(item).split(",") if name.strip()]


def _annotated_help() -> None:
    """Hydra's ``--help``, each key of the configuration followed by its config file comment."""
    import contextlib
    import io

    from . import help as annotated

    buffer, code = io.StringIO(), 0
    try:
        with contextlib.redirect_stdout(buffer):
            _hydra_main()
    except SystemExit as exc:
        code = exc.code
    except Exception as exc:  # noqa: BLE001 - a command line Hydra cannot compose: one line, as without --help
        print(f"pinnsolve: error: {str(exc).strip().splitlines()[0]}. Run `pinnsolve --help` alone for the options.",
              file=sys.stderr)
        sys.exit(2)
    choices = annotated.runtime_choices(CONFIG_DIR, [a for a in sys.argv[1:] if a not in ("--help", "-h")])
    print(annotated.annotate(buffer.getvalue(), annotated.config_comments(CONFIG_DIR, choices)))
    if code:
        sys.exit(code)


if __name__ == "__main__":
    main()
