"""The Python entry point: solve a :class:`~pinnsolve.problem.Problem` object with the CLI's configs.

Example::

    from pinnsolve import solve
    from pinnsolve.problems import poisson2d

    model, summary = solve(poisson2d.make_problem(), optimizer="adam", hidden=[64],
                           overrides=["trainer.max_steps=500"], run_dir="outputs/my_run")
    print(summary["final"]["l2_rms"])
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from hydra import compose, initialize_config_dir
from hydra.errors import ConfigCompositionException
from omegaconf import DictConfig, OmegaConf, open_dict

from ..runs.checkpoint import CHECKPOINT_NAME
from ..errors import ConfigError, RunDirectoryError
from ..problem import Problem
from ..runs.files import atomic_write_text, check_no_links_out

JOB_LOG = "pinnsolve.log"  # the name Hydra gives a command-line run's job log (hydra.job.name = pinnsolve)


def compose_config(overrides: Sequence[str] = ()) -> DictConfig:
    """The CLI's config with Hydra ``overrides`` (e.g. ``["problem=poisson5d", "optimizer=adam"]``)."""
    from .app import CONFIG_DIR

    try:
        with initialize_config_dir(config_dir=CONFIG_DIR, version_base=None):
            return compose(config_name="config", overrides=list(overrides))
    except ConfigCompositionException as exc:
        raise ConfigError(f"{exc}. Run `pinnsolve --help` to list the available problems and optimizers.") from exc


def default_choice(group: str) -> str:
    """The option of config group ``group`` that ``configs/config.yaml`` chooses by default."""
    from .app import CONFIG_DIR

    defaults = OmegaConf.load(Path(CONFIG_DIR) / "config.yaml").defaults
    return next(entry[group] for entry in defaults if isinstance(entry, Mapping) and group in entry)


def solve(
    problem: Problem,
    optimizer: str | None = None,
    hidden: Sequence[int] | None = None,
    run_dir: str | Path | None = None,
    seed: int = 0,
    overrides: Sequence[str] = (),
    resume: str | Path | None = None,
    overwrite: bool = False,
    callbacks: Sequence = (),
):
    """Train a network on ``problem`` exactly as ``pinnsolve optimizer=<optimizer>`` would.

    Args:
        problem: the problem object.
        optimizer: a config name in ``configs/optimizer/`` (``adam``, ``lbfgs``, ``engd_w``, …); by
            default the command line's (``engd_w``).
        hidden: hidden widths of the network (default: the ``model`` config's). Other networks:
            ``overrides=["model=modified_mlp"]``.
        run_dir: the run directory to write (default ``outputs/solve/<problem>/<optimizer>/<date>``).
            An existing run is never overwritten silently: pass ``resume=run_dir`` to continue it or
            ``overwrite=True`` to replace it.
        seed: fixes initialisation and sampling.
        overrides: further Hydra overrides, e.g. ``["trainer.max_steps=500", "optimizer.lr=1e-3"]``.
        resume: continue from this run directory or checkpoint.
        overwrite: delete an existing run in ``run_dir`` first.
        callbacks: :class:`~pinnsolve.training.callbacks.Callback` objects (e.g. ``BestModel()``,
            ``EarlyStopping(patience=300)``, your own), after any the overrides name (``callbacks=[…]``).

    Returns:
        ``(model, summary)``: the trained network and the run's summary dict. The run directory
        holds ``.hydra/config.yaml`` (the resolved config) like a command-line run.
    """
    from .app import _report, build

    optimizer = optimizer or default_choice("optimizer")
    if not isinstance(problem, Problem):
        shipped = f"pinnsolve.problems.{problem}.make_problem()" if isinstance(problem, str) else "make_problem()"
        raise ConfigError(f"solve() takes a pinnsolve.Problem object, not {type(problem).__name__} {problem!r}: pass "
                          f"{shipped}, or run a shipped problem by name on the command line "
                          f"(pinnsolve problem=<name> optimizer={optimizer})")
    cfg = compose_config([f"optimizer={optimizer}", f"seed={seed}", *overrides])
    with open_dict(cfg):
        if hidden is not None:
            cfg.model.hidden = list(hidden)
        cfg.problem = {"name": problem.name}
    if run_dir is None:
        run_dir = Path("outputs/solve") / problem.name / optimizer / time.strftime("%Y-%m-%d_%H-%M-%S")
    run_dir = Path(run_dir)
    _claim(run_dir, resume, overwrite)
    if resume is None:
        atomic_write_text(run_dir / ".hydra" / "config.yaml", OmegaConf.to_yaml(cfg))
    trainer = build(cfg, run_dir, problem=problem, callbacks=callbacks)
    with _job_log(run_dir / JOB_LOG):
        summary = trainer.fit(resume=resume)
        _report(summary, run_dir)
    return trainer.model, summary


@contextlib.contextmanager
def _job_log(path: Path):
    """Append the run's log (notices, warnings, the result) to ``path``, as a command-line run's job log."""
    logger = logging.getLogger("pinnsolve")
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("[%(asctime)s][%(name)s][%(levelname)s] %(message)s"))
    handler.setLevel(logging.INFO)
    previous = logger.level
    if logger.getEffectiveLevel() > logging.INFO:
        logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous)
        handler.close()


def _claim(run_dir: Path, resume, overwrite: bool) -> None:
    """Refuse to write a new run over an existing one unless asked to; create the directory.

    A run to continue must hold no symbolic link out of it (its job log is appended to).
    """
    if resume is not None:
        check_no_links_out(run_dir)
    if resume is None and (run_dir / CHECKPOINT_NAME).exists():
        if not overwrite:
            raise RunDirectoryError(
                f"{run_dir} already holds a run; pass resume='{run_dir}' to continue it, overwrite=True to replace it, "
                "or another run_dir"
            )
        shutil.rmtree(run_dir)
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RunDirectoryError(f"cannot create the run directory {run_dir} ({exc.strerror or exc}); choose a "
                                "writable place for run_dir") from exc
