"""PNG plots of a run: training history and a 2-d slice of the solution.

- ``history.png``: loss, ``l2_rms`` and ``l2_rel`` against steps (left) and training time (right), log scale;
- ``solution_slice.png``: prediction with the exact solution and the absolute error (or, without an
  exact solution, the first condition's residual) on the plane of the first two coordinates, the
  others at the middle of the domain, blank outside the domain (a ball shows as a disk); a line plot
  for 1-d problems.
Each file is written atomically.
"""

from __future__ import annotations

import io
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402

from ..geometry.grids import slice_grid  # noqa: E402
from .callbacks import Callback  # noqa: E402
from ..runs.files import MetricsLog, atomic_write_bytes  # noqa: E402

SERIES = [("loss", "loss"), ("l2_rms", "L2 error (RMS)"), ("l2_rel", "relative L2 error")]


def _save(fig, path: Path) -> None:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=120, bbox_inches="tight")
    plt.close(fig)
    atomic_write_bytes(path, buffer.getvalue())


def plot_history(metrics: MetricsLog, path: Path, title: str = "") -> None:
    """Loss and errors against steps and against training time, log–log."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
    extra = [(c, c) for c in metrics.columns if c.endswith("_loss") or c.startswith("val_")]
    for column, label in SERIES + extra:
        steps, times, values = metrics.series(column)
        if not values:
            continue
        axes[0].plot([max(s, 1) for s in steps], values, label=label)
        axes[1].plot([max(t, 1e-4) for t in times], values, label=label)
    for ax, xlabel in zip(axes, ["step", "training time [s]"]):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel(xlabel)
        ax.grid(True, which="both", alpha=0.3)
    axes[0].legend()
    fig.suptitle(title)
    _save(fig, path)


def _residual(problem, model, points: torch.Tensor) -> torch.Tensor | None:
    """|residual| of the first condition at ``points`` (``None`` for data conditions, which need targets)."""
    from ..engine import ResidualEngine

    condition = problem.conditions[0]
    if condition.points.has_targets:
        return None
    engine = ResidualEngine(problem, model)
    with torch.no_grad():
        return engine._condition_residual(condition, engine.params(), points, None).reshape(len(points), -1).norm(dim=1)


MAX_OUTPUT_ROWS = 4


def plot_slice(problem, model, metric, path: Path, resolution: int = 101) -> None:
    """Prediction with the exact solution and the error (or, without one, the PDE residual) on a 2-d slice
    through the middle of the domain, masked to the domain's shape; a line for 1-d problems."""
    bounds = problem.eval_points.bounds()
    if bounds is None or (problem.dim > 2 and problem.conditions[0].points.has_targets):
        return  # no box to lay a slice over, or a data problem with many inputs (a slice means nothing)
    if problem.dim == 1:
        return _plot_line(problem, model, bounds, path, next(model.parameters()))
    _save(slice_figure(problem, model, resolution), path)


def slice_figure(problem, model, resolution: int = 101):
    """The figure of :func:`plot_slice` for ``d ≥ 2``: one row per output (the first ``MAX_OUTPUT_ROWS``),
    prediction and exact solution on one colour scale, laid out by matplotlib's constrained layout so
    titles, labels and colour bars never overlap, whatever the number of outputs."""
    param = next(model.parameters())
    points, A, B, inside = slice_grid(problem, resolution, dtype=param.dtype, device=param.device)
    with torch.no_grad():
        predictions = model(points).reshape(len(points), -1)
    exacts = None if problem.exact is None else torch.func.vmap(problem.exact)(points).reshape(len(points), -1)
    mask = inside.reshape(-1)
    rows = []  # one row of panels (title, values, colour limits shared within a row's first two) per output
    for i, name in enumerate(problem.output_names[:MAX_OUTPUT_ROWS]):
        label = "" if problem.n_outputs == 1 else f"{name}: "
        panels = [(f"{label}prediction", predictions[:, i])]
        if exacts is not None:
            panels += [(f"{label}exact", exacts[:, i]), (f"{label}|error|", (predictions[:, i] - exacts[:, i]).abs())]
        rows.append(panels)
    if exacts is None:
        residual = _residual(problem, model, points)
        if residual is not None:
            rows[0].append((f"|residual of '{problem.conditions[0].name}'|", residual))
    width = max(len(panels) for panels in rows)
    fig, axes = plt.subplots(len(rows), width, figsize=(4.4 * width, 3.8 * len(rows)), squeeze=False,
                             layout="constrained")
    names = problem.input_names
    grid_mask = inside.cpu().numpy()
    equal = float(A.max() - A.min()) / max(float(B.max() - B.min()), 1e-12) < 4
    for row, panels in zip(axes, rows):
        for ax in row[len(panels):]:
            ax.set_visible(False)
        shared = torch.cat([values[mask] for _, values in panels[:2]]) if exacts is not None else panels[0][1][mask]
        limits = (float(shared.min()), float(shared.max())) if shared.numel() else (None, None)
        for k, (ax, (title, values)) in enumerate(zip(row, panels)):
            grid = values.reshape(A.shape).detach().cpu().numpy().copy()
            grid[~grid_mask] = float("nan")  # outside the domain: left blank
            vmin, vmax = limits if (k < 2 and exacts is not None) or k == 0 else (None, None)
            image = ax.pcolormesh(A.cpu().numpy(), B.cpu().numpy(), grid, shading="auto", vmin=vmin, vmax=vmax)
            fig.colorbar(image, ax=ax, shrink=0.9)
            ax.set_title(title, fontsize=10)
            ax.set_xlabel(names[0])
            ax.set_ylabel(names[1])
            ax.set_aspect("equal" if equal else "auto")
    if problem.dim > 2:
        fig.suptitle(f"slice of {problem.name}: other coordinates at the middle of the domain")
    return fig


def _plot_line(problem, model, bounds, path: Path, param) -> None:
    x = torch.linspace(float(bounds[0][0]), float(bounds[1][0]), 512, dtype=param.dtype, device=param.device)[:, None]
    with torch.no_grad():
        prediction = model(x)
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(x[:, 0].cpu(), prediction.cpu(), label="prediction")
    if problem.exact is not None:
        ax.plot(x[:, 0].cpu(), torch.func.vmap(problem.exact)(x).reshape(len(x), -1).cpu(), "--", label="exact")
    ax.set_xlabel(problem.input_names[0])
    ax.legend()
    _save(fig, path)


def write_all(run_dir: Path, metrics: MetricsLog, problem, model, metric) -> None:
    plot_history(metrics, run_dir / "history.png", title=problem.name)
    plot_slice(problem, model, metric, run_dir / "solution_slice.png")


class PlotWriter(Callback):
    """The trainer's callback writing ``history.png`` and ``solution_slice.png`` at the end (rank 0)."""

    def on_fit_end(self, trainer, summary: dict) -> None:
        if trainer.is_main:
            write_all(trainer.run_dir, trainer.metrics, trainer.problem, trainer.model, trainer.metric)
