"""The Python entry point: solve a :class:`~pinnsolve.problem.Problem` object with the CLI's configs.

Example::

    from pinnsolve import solve
    from problems import poisson2d

    model, summary = solve(poisson2d.make_problem(), optimizer="adam", hidden=[64],
                           overrides=["trainer.max_steps=500"], run_dir="outputs/my_run")
    print(summary["final"]["l2_rms"])
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from hydra import compose, initialize_config_dir
from hydra.errors import ConfigCompositionException
from omegaconf import DictConfig, open_dict

from .errors import ConfigError
from .problem import Problem


def compose_config(overrides: Sequence[str] = ()) -> DictConfig:
    """The CLI's config with Hydra ``overrides`` (e.g. ``["problem=poisson5d", "optimizer=adam"]``)."""
    from .cli import CONFIG_DIR

    try:
        with initialize_config_dir(config_dir=CONFIG_DIR, version_base=None):
            return compose(config_name="config", overrides=list(overrides))
    except ConfigCompositionException as exc:
        raise ConfigError(f"{exc}. Run `pinnsolve --help` to list the available problems and optimizers.") from exc


def solve(
    problem: Problem,
    optimizer: str = "adam",
    hidden: Sequence[int] | None = None,
    run_dir: str | Path = "outputs/solve",
    seed: int = 0,
    overrides: Sequence[str] = (),
    resume: str | Path | None = None,
):
    """Train an MLP on ``problem`` exactly as ``pinnsolve optimizer=<optimizer>`` would.

    Args:
        problem: the problem object.
        optimizer: a config name in ``configs/optimizer/`` (``adam``, ``lbfgs``, ``engd_w``, …).
        hidden: hidden widths of the MLP (default: the ``model`` config's).
        run_dir: the run directory to write.
        seed: fixes initialisation and sampling.
        overrides: further Hydra overrides, e.g. ``["trainer.max_steps=500", "optimizer.lr=1e-3"]``.
        resume: continue from this run directory or checkpoint.

    Returns:
        ``(model, summary)``: the trained network and the run's summary dict.
    """
    from .cli import build

    cfg = compose_config([f"optimizer={optimizer}", f"seed={seed}", *overrides])
    with open_dict(cfg):
        if hidden is not None:
            cfg.model.hidden = list(hidden)
        cfg.problem = {"name": problem.name}
    trainer = build(cfg, run_dir, problem=problem)
    summary = trainer.fit(resume=resume)
    return trainer.model, summary
