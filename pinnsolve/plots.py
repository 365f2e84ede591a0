"""PNG plots of a run: training history and, with an exact solution, a 2-d slice of the solution.

- ``history.png``: loss, ``l2_rms`` and ``l2_rel`` against steps (left) and training time (right), log scale;
- ``solution_slice.png``: prediction, exact solution and absolute error on the plane of the first
  two coordinates, the others fixed at the middle of the evaluation box.
Each file is written atomically.
"""

from __future__ import annotations

import io
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402

from .run_files import MetricsLog, atomic_write_bytes  # noqa: E402

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


def slice_grid(box, resolution: int, dtype: torch.dtype, device: torch.device) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Points ``[R², d]`` on the (x0, x1) plane of ``box``, other coordinates at the middle."""
    low, high = box.low.to(device, dtype), box.high.to(device, dtype)
    a = torch.linspace(float(low[0]), float(high[0]), resolution, dtype=dtype, device=device)
    b = torch.linspace(float(low[1]), float(high[1]), resolution, dtype=dtype, device=device)
    A, B = torch.meshgrid(a, b, indexing="xy")
    points = ((low + high) / 2).expand(resolution * resolution, -1).clone()
    points[:, 0], points[:, 1] = A.reshape(-1), B.reshape(-1)
    return points, A, B


def plot_slice(problem, model, metric, path: Path, resolution: int = 101) -> None:
    """Prediction, exact solution and error on a 2-d slice of the domain."""
    box = problem.plot_box()
    if box is None or problem.dim < 2 or metric is None:
        return
    param = next(model.parameters())
    points, A, B = slice_grid(box, resolution, param.dtype, param.device)
    prediction = metric.predict(model, points).reshape(A.shape)
    exact = torch.func.vmap(problem.exact)(points).reshape(A.shape)
    panels = [("prediction", prediction), ("exact", exact), ("|error|", (prediction - exact).abs())]
    fig, axes = plt.subplots(1, 3, figsize=(14, 4))
    names = problem.input_names
    for ax, (title, values) in zip(axes, panels):
        image = ax.pcolormesh(A.cpu().numpy(), B.cpu().numpy(), values.detach().cpu().numpy(), shading="auto")
        fig.colorbar(image, ax=ax)
        ax.set_title(title)
        ax.set_xlabel(names[0])
        ax.set_ylabel(names[1])
    if problem.dim > 2:
        fig.suptitle(f"slice of {problem.name}: other coordinates at the middle of the domain")
    _save(fig, path)


def write_all(run_dir: Path, metrics: MetricsLog, problem, model, metric) -> None:
    plot_history(metrics, run_dir / "history.png", title=problem.name)
    plot_slice(problem, model, metric, run_dir / "solution_slice.png")
