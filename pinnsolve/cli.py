"""The ``pinnsolve`` command: a thin Hydra shell around :func:`run`.

``run(cfg, run_dir)`` builds problem, model, optimizer and trainer from a composed config and
trains; tests call it directly on configs composed with ``hydra.compose``. ``main`` adds the
Hydra run directory and turns pinnsolve's errors into one clear message.
"""

from __future__ import annotations

import importlib.resources
import sys
from pathlib import Path

import hydra
import torch
import yaml
from hydra.core.hydra_config import HydraConfig
from hydra.errors import InstantiationException
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from .checkpoint import load_checkpoint, locate_checkpoint
from .device import resolve_dtype
from .errors import ConfigError, PinnsolveError

CONFIG_DIR = str(importlib.resources.files("pinnsolve.configs"))
"""The repository's ``configs/``, installed as the package ``pinnsolve.configs``."""


def _instantiate(node: DictConfig, what: str, **kwargs):
    try:
        return instantiate(node, **kwargs)
    except InstantiationException as exc:
        cause = exc.__cause__ or exc
        if isinstance(cause, PinnsolveError):
            raise cause
        raise ConfigError(f"cannot build the {what} from its config ({cause}). Check the {what}.* keys.") from exc


def build(cfg: DictConfig, run_dir: str | Path, problem=None):
    """The trainer for a composed config (the model is seeded with ``cfg.seed``).

    ``problem`` replaces ``cfg.problem`` when given (the Python API passes a Problem object).
    """
    problem = problem if problem is not None else _instantiate(cfg.problem, "problem")
    torch.manual_seed(int(cfg.seed))
    dtype = resolve_dtype(cfg.trainer.dtype)
    model = _instantiate(cfg.model, "model")(in_features=problem.dim, out_features=problem.n_outputs, dtype=dtype)
    optimizer = _instantiate(cfg.optimizer, "optimizer")
    config = OmegaConf.to_container(cfg, resolve=True)
    trainer = _instantiate(cfg.trainer, "trainer")(
        problem=problem, model=model, optimizer=optimizer, run_dir=run_dir, seed=int(cfg.seed), config=config
    )
    return trainer


def run(cfg: DictConfig, run_dir: str | Path | None = None) -> dict:
    """Train as configured; returns the summary. ``cfg.resume`` continues an earlier run."""
    if run_dir is None:
        run_dir = HydraConfig.get().runtime.output_dir if HydraConfig.initialized() else Path.cwd()
    trainer = build(cfg, run_dir)
    return trainer.fit(resume=cfg.get("resume"))


def _resumed_config(cfg: DictConfig) -> tuple[DictConfig, Path]:
    """On resume, continue the earlier run with its own config; ``trainer.*`` overrides still apply."""
    checkpoint = locate_checkpoint(cfg.resume)
    saved = checkpoint.parent / ".hydra" / "config.yaml"
    if not saved.is_file():
        return cfg, checkpoint.parent
    old = OmegaConf.create(yaml.safe_load(saved.read_text()))
    overrides = HydraConfig.get().overrides.task if HydraConfig.initialized() else []
    for item in overrides:
        key, _, value = item.lstrip("+").partition("=")
        if key.startswith("trainer."):
            OmegaConf.update(old, key, yaml.safe_load(value), force_add=True)
        elif key not in ("resume", "seed") and not key.startswith("hydra"):
            print(f"pinnsolve: resuming with the run's own config; ignoring override '{item}'", file=sys.stderr)
    old.resume = str(checkpoint)
    load_checkpoint(checkpoint)  # fail early on an unreadable file
    return old, checkpoint.parent


@hydra.main(version_base=None, config_path=CONFIG_DIR, config_name="config")
def _hydra_main(cfg: DictConfig) -> None:
    sys.path.insert(0, str(Path.cwd()))  # problem modules next to the user's working directory
    run_dir = None
    try:
        if cfg.get("resume"):
            cfg, run_dir = _resumed_config(cfg)
        summary = run(cfg, run_dir)
    except PinnsolveError as exc:  # Hydra would print a traceback; the message says it all
        print(f"pinnsolve: error: {exc}", file=sys.stderr)
        sys.exit(2)
    final = ", ".join(f"{k} {v:.3e}" for k, v in summary["final"].items())
    out = run_dir or HydraConfig.get().runtime.output_dir
    print(f"{summary['problem']}: {summary['status']} after {summary['steps']} steps, {summary['train_time_s']:.1f} s: {final}")
    print(f"run directory: {out}")


def main() -> None:
    """Console entry point (``pinnsolve``): Hydra's command line."""
    _hydra_main()


if __name__ == "__main__":
    main()
