"""Shared machinery of the scripts that train through the ``pinnsolve`` config path (``scripts/reproductions/``,
``scripts/studies/``): ``from common.reproduce import ...``.

Every script lists its runs as :class:`Run` objects (a problem, a legend label and Hydra overrides),
hands them to :func:`launch` — which composes each with :func:`pinnsolve.compose_config` exactly as the
``pinnsolve`` command would, trains it with :func:`pinnsolve.cli.run` into ``<out>/runs/<name>/`` and
gathers every ``metrics.csv`` into one long table — and plots that table with :func:`plot_panels`.

Modes (one of them per invocation):

- ``--smoke``: tiny problems (the size table :data:`pinnsolve.problems.sizes.SMOKE`) and 2 steps; the tests use it;
- ``--quick``: the papers' networks on fewer points (``QUICK_SIZES``) and short budgets, about two minutes on CPU;
- default (full): the papers' problem sizes, meant for a CUDA GPU (``--override trainer.device=cuda``).

``--steps`` and ``--time-budget`` replace the mode's budget (``--time-budget 0`` removes the time
limit: equal-step comparisons); ``--override KEY=VALUE`` (repeatable) is appended to every run's
Hydra overrides; ``--reuse`` skips runs whose run directory already has a ``summary.json`` of the same config.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import shutil
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib
import matplotlib.ticker

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from pinnsolve.problems.sizes import SMOKE  # noqa: E402

REPO = Path(__file__).resolve().parents[2]

# --smoke: the shared size table of the tests (pinnsolve.problems.sizes); a run whose row leaves the
# network alone gets one hidden layer of 8 too (the configs' and experiments' networks are the papers').
SMOKE_MODEL = ["model.hidden=[8]"]


def smoke_sizes(problem: str) -> list[str]:
    """``--smoke`` overrides of ``problem``: its row of the size table, and :data:`SMOKE_MODEL` unless the row sizes the network."""
    row = SMOKE.get(problem, [])
    return row if any(o.startswith("model.hidden=") for o in row) else [*row, *SMOKE_MODEL]


# CPU sizes for --quick: the papers' networks, fewer points (the full mode keeps the configs' sizes).
QUICK_SIZES = {
    "poisson5d": ["problem.n_interior=1000", "problem.n_boundary=200"],
    "poisson10d": ["problem.n_interior=500", "problem.n_boundary=100"],
    "heat4d": ["problem.n_interior=250", "problem.n_initial=25", "problem.n_boundary=25"],
    "logfp9d": ["problem.n_interior=250", "problem.n_initial=50"],
    "reg1d": [], "poly6": [], "mnist": [], "poisson2d": [], "poisson100d": [],
}

# The papers' final RMS L2 errors (Guzmán-Cordero et al. 2025; Dangel et al. 2024 for KFAC): KFAC* column and the Woodbury paper's best runs.
PAPER_L2 = {
    "poisson2d": {"Adam": 9.4e-5, "ENGD dense": 6.2e-8, "KFAC": 2.0e-7},
    "poisson5d": {"Adam": 3.1e-3, "ENGD dense": 5.7e-5, "ENGD-W LS": 6.8e-7, "ENGD-W fixed": 9.5e-6,
                  "SPRING LS": 1.1e-6, "SPRING fixed": 2.6e-7, "KFAC": 6.3e-4},
    "poisson10d": {"Adam": 1.5e-3, "ENGD-W LS": 3.1e-5, "SPRING LS": 1.5e-5, "KFAC": 4.7e-5},
    "poisson100d": {"Adam": 1.7e-2, "ENGD-W LS": 1.07e-2, "ENGD-W fixed": 1.47e-2, "SPRING LS": 9.5e-3,
                    "SPRING fixed": 3.6e-3, "KFAC": 4.3e-3},
    "heat4d": {"Adam": 7.5e-4, "ENGD-W LS": 1.03e-5, "ENGD-W fixed": 1.47e-5, "SPRING fixed": 1.08e-5, "KFAC": 2.1e-5},
    "logfp9d": {"Adam": 0.18, "ENGD-W LS": 5.6e-3, "ENGD-W fixed": 2.0e-2, "SPRING LS": 3.7e-3,
                "SPRING fixed": 1.5e-3, "KFAC": 2.6e-2},
}


@dataclass
class Run:
    """One training run: ``problem`` (a config name), a legend ``label``, extra Hydra ``overrides``
    (an ``+experiment=…`` entry selects its own problem; otherwise ``problem=<problem>`` is added) and
    ``meta``: columns copied into the gathered CSV (e.g. ``{"N": 1000}``)."""

    problem: str
    label: str
    overrides: list[str] = field(default_factory=list)
    meta: dict = field(default_factory=dict)

    @property
    def name(self) -> str:
        parts = [self.problem, self.label, *(f"{k}{v}" for k, v in self.meta.items())]
        return re.sub(r"[^A-Za-z0-9_.=-]+", "_", "_".join(map(str, parts))).strip("_")


@dataclass
class Budget:
    """A mode's default budget: ``steps`` and/or ``time_budget`` seconds per run, metrics every ``log_every``."""

    steps: int | None = None          # None: the run's own trainer.max_steps (e.g. set from epochs)
    time_budget: float | None = None
    log_every: int | None = 1         # None: the run's own trainer.log_every


def make_parser(doc: str, script: str, quick: Budget, full: Budget, full_runtime: str,
                smoke: Budget = Budget(steps=2), threads: int | None = None) -> argparse.ArgumentParser:
    """The common command line; ``full_runtime`` (the expected full-mode run time) goes into ``--help``."""
    fmt = lambda b: (f"{b.steps} steps" if b.steps else "the runs' own steps") + (  # noqa: E731
        f" or {b.time_budget:g} s" if b.time_budget else "") + " per run"
    epilog = (f"Modes: --smoke ({fmt(smoke)}, tiny sizes; for tests), --quick ({fmt(quick)}, CPU, about 2 minutes), "
              f"default full mode ({fmt(full)}, the papers' sizes, for a GPU: pass --override trainer.device=cuda). "
              f"Expected full-mode run time: {full_runtime}. "
              "Budgets: --steps N and/or --time-budget S (0 = no time limit, for equal-step comparisons).")
    parser = argparse.ArgumentParser(description=doc, epilog=epilog,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=REPO / "outputs" / "reproduce" / script,
                        help="output directory for PNG, CSV and run directories (default: %(default)s)")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="CPU-sized problems and budgets (about 2 minutes)")
    mode.add_argument("--smoke", action="store_true", help="tiny problems, 2 steps (the tests)")
    parser.add_argument("--steps", type=int, default=None, help="max steps per run (replaces the mode's)")
    parser.add_argument("--time-budget", type=float, default=None,
                        help="seconds of training time per run (0: no limit; replaces the mode's)")
    parser.add_argument("--log-every", type=int, default=None, help="log/evaluate every this many steps")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--override", action="append", default=[], metavar="KEY=VALUE",
                        help="extra Hydra override for every run, e.g. trainer.device=cuda (repeatable)")
    parser.add_argument("--reuse", action="store_true",
                        help="skip runs whose run directory holds a summary.json of the same resolved config")
    parser.add_argument("--threads", type=int, default=threads,
                        help="torch CPU threads (default: %(default)s = torch's; --smoke: 1, since tiny LAPACK calls "
                             "such as a 64x64 eigh can stall for seconds on OpenMP barriers when other processes share "
                             "the cores)")
    parser.set_defaults(_budgets={"smoke": smoke, "quick": quick, "full": full})
    return parser


def mode_of(args) -> str:
    return "smoke" if args.smoke else "quick" if args.quick else "full"


def budget_of(args) -> Budget:
    base = args._budgets[mode_of(args)]
    steps = args.steps if args.steps is not None else base.steps
    tb = base.time_budget if args.time_budget is None else (args.time_budget or None)
    log_every = args.log_every or (base.log_every and min(base.log_every, max(1, steps or base.log_every)))
    return Budget(steps=steps, time_budget=tb, log_every=log_every)


def run_overrides(run: Run, args) -> list[str]:
    """All Hydra overrides of ``run``: problem, the mode's sizes, the run's own, budget, then ``--override``."""
    b = budget_of(args)
    head = [] if any(o.startswith("+experiment=") for o in run.overrides) else [f"problem={run.problem}"]
    sizes = {"smoke": smoke_sizes(run.problem), "quick": QUICK_SIZES.get(run.problem, []),
             "full": []}[mode_of(args)]
    trainer = [f"trainer.time_budget={'null' if b.time_budget is None else b.time_budget}",
               "trainer.checkpoint_every=1000000", "trainer.progress=false", "trainer.plots=false"]
    trainer += [f"trainer.max_steps={b.steps}"] if b.steps else []
    trainer += [f"trainer.log_every={b.log_every}"] if b.log_every else []
    return [*head, *sizes, f"seed={args.seed}", *run.overrides, *trainer, *args.override]  # a run's own seed= wins


def launch(runs: Sequence[Run], args, tag: str = "runs", extra=None) -> pd.DataFrame:
    """Train every run (one after the other) and return their metrics as one long table.

    Columns: ``label``, ``problem``, the runs' ``meta`` keys, ``run`` (directory name), every
    ``metrics.csv`` column, ``device``/``dtype``/``num_params`` from ``summary.json``, and the
    columns ``extra(cfg)`` returns for the run's composed config (a dict). The resolved config is
    saved as ``config.yaml`` in the run directory.
    """
    import torch

    threads_before = torch.get_num_threads()
    threads = args.threads or (1 if args.smoke else None)
    if threads:
        torch.set_num_threads(threads)
    try:
        return _launch(runs, args, tag, extra)
    finally:
        torch.set_num_threads(threads_before)


def _launch(runs, args, tag, extra) -> pd.DataFrame:
    from omegaconf import OmegaConf

    from pinnsolve import compose_config
    from pinnsolve.cli import run as train

    frames = []
    for i, r in enumerate(runs):
        run_dir = Path(args.out) / tag / r.name
        overrides = run_overrides(r, args)
        cfg = compose_config(overrides)
        saved = run_dir / "config.yaml"
        same = saved.is_file() and saved.read_text() == OmegaConf.to_yaml(cfg)
        if not (args.reuse and same and (run_dir / "summary.json").is_file()):
            start = time.perf_counter()
            print(f"[{i + 1}/{len(runs)}] {r.name}: {' '.join(overrides)}", file=sys.stderr, flush=True)
            shutil.rmtree(run_dir, ignore_errors=True)  # a fresh run, never appended to an old metrics.csv
            run_dir.mkdir(parents=True)
            OmegaConf.save(cfg, run_dir / "config.yaml")
            status = train(cfg, run_dir)["status"]
            print(f"    {status} in {time.perf_counter() - start:.1f} s", file=sys.stderr, flush=True)
            if status == "interrupted":  # Ctrl-C / SIGTERM: the trainer stopped the run; stop the script too
                raise KeyboardInterrupt(f"interrupted during {r.name} (run directory kept: {run_dir})")
        summary = json.loads((run_dir / "summary.json").read_text())
        df = pd.read_csv(run_dir / "metrics.csv")
        df.insert(0, "run", r.name)
        for key, value in reversed([("label", r.label), ("problem", r.problem), *r.meta.items()]):
            df.insert(0, key, value)
        for key in ("device", "dtype", "num_params"):
            df[key] = summary.get(key)
        for key, value in (extra(cfg) if extra else {}).items():
            df[key] = value
        frames.append(df)
    return pd.concat(frames, ignore_index=True)


def finals(df: pd.DataFrame) -> pd.DataFrame:
    """One row per run: the last non-empty value of every column (errors are only logged at
    evaluations); ``step``/``time_s`` become ``steps``/``train_time_s``. ``loss`` is the last logged
    batch loss (before the last update), the error columns are evaluated after the last step."""
    rows = [g.ffill().iloc[-1] for _, g in df.groupby("run", sort=False)]
    out = pd.DataFrame(rows).reset_index(drop=True)
    return out.rename(columns={"step": "steps", "time_s": "train_time_s"})


def write_csv(df: pd.DataFrame, args, name: str) -> Path:
    path = Path(args.out) / f"{name}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(path, index=False)
    print(f"wrote {path}", file=sys.stderr)
    return path


@dataclass
class Panel:
    """One axes: rows of the table matching ``where`` (column → value), ``y`` against ``x``, one line
    per ``hue`` value; ``hlines`` = {legend text: y or (y, hue value)} drawn dashed (e.g. the papers' KFAC
    value; in the hue value's colour when one is given)."""

    x: str
    y: str
    title: str = ""
    where: dict = field(default_factory=dict)
    hlines: dict = field(default_factory=dict)
    xscale: str = "log"
    yscale: str = "log"
    marker: str = ""
    xlabel: str = ""


LABELS = {"step": "steps", "time_s": "training time [s]", "loss": "loss ½‖r‖²", "l2_rms": "L2 error (RMS)",
          "val_loss": "validation loss", "train_loss": "training loss", "d_eff_over_N": "d_eff / N",
          "epoch": "epochs", "rank": "kept singular values", "sketch_fraction": "sketch size ℓ / N",
          "peak_memory_MB": "MB", "speedup_vs_standard": "speed-up", "value": "scanned value",
          "train_time_s": "training time [s]", "solve_time_s": "seconds per call",
          "damping": "damping λ"}


def plot_panels(df: pd.DataFrame, panels: Sequence[Panel], args, name: str, hue: str = "label",
                ncols: int | None = None, suptitle: str = "") -> Path:
    """A grid of :class:`Panel` s written to ``<out>/<name>.png``; non-positive values are dropped on log axes."""
    ncols = ncols or min(len(panels), 2 if len(panels) == 4 else 3)
    nrows = math.ceil(len(panels) / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.6 * ncols, 3.6 * nrows), squeeze=False)
    colors = {h: f"C{i}" for i, h in enumerate(pd.unique(df[hue]))}
    for ax, p in zip(axes.flat, panels):
        sub = df
        for key, value in p.where.items():
            sub = sub[sub[key] == value]
        for h, g in sub.groupby(hue, sort=False):
            if p.x not in g or p.y not in g:
                continue
            g = g[[p.x, p.y]].apply(pd.to_numeric, errors="coerce").dropna()
            if p.xscale == "log":
                g = g[g[p.x] > 0]
            if p.yscale == "log":
                g = g[g[p.y] > 0]
            if len(g):
                ax.plot(g[p.x], g[p.y], p.marker or ("o-" if len(g) < 4 else "-"), color=colors[h], label=str(h),
                        markersize=3, linewidth=1.2)
        for text, value in p.hlines.items():  # y, or (y, the hue value whose colour it takes)
            value, key = value if isinstance(value, tuple) else (value, None)
            ax.axhline(value, color=colors.get(key, "k"), linestyle="--", linewidth=1, label=text)
        ax.set_xscale(p.xscale)
        ax.set_yscale(p.yscale)
        for axis, scale, (lo, hi) in ((ax.xaxis, p.xscale, ax.get_xlim()), (ax.yaxis, p.yscale, ax.get_ylim())):
            if scale == "log" and lo > 0 and hi / lo > 10:  # a decade or more: major labels only (no clutter)
                axis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.set_xlabel(p.xlabel or LABELS.get(p.x, p.x))
        ax.set_ylabel(LABELS.get(p.y, p.y))
        ax.set_title(p.title, fontsize=10)
        ax.grid(True, which="major", alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7)
    for ax in list(axes.flat)[len(panels):]:
        ax.set_visible(False)
    device = ", ".join(str(v) for v in pd.unique(df["device"].dropna())) if "device" in df else ""
    fig.suptitle(f"{suptitle} [{mode_of(args)} mode, {device}]".strip(), fontsize=10)
    fig.tight_layout()
    path = Path(args.out) / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)
    print(f"wrote {path}", file=sys.stderr)
    return path


def print_table(df: pd.DataFrame, columns: Sequence[str]) -> None:
    cols = [c for c in columns if c in df]
    print(df[cols].to_string(index=False, float_format=lambda v: f"{v:.3g}"))
