"""``pinnsolve-predict``: a trained network's values (and derivatives) at points, written to a file.

    pinnsolve-predict run=outputs/poisson2d/engd_w/<date> points=points.csv out=u.csv
    pinnsolve-predict run=<dir> points=x.npy out=u.npz derivatives=grad,laplacian
    pinnsolve-predict run=<dir> out=u.vtu resolution=101          # a grid of the domain, for ParaView
    pinnsolve-predict run=<dir> out=r.csv residuals=true          # also every condition's residual
    pinnsolve-predict run=<problem-file run> problem=my_pde.py out=u.vtu

Arguments are ``key=value``: ``run`` (a run directory or ``checkpoint.pt``), ``points`` (``.csv`` with
one column per coordinate and an optional header, ``.npy``, or ``.npz`` with an array ``points`` or a
single array; without it, a grid of the problem's domain: the whole domain for d ≤ 3, a slice through
its middle for d > 3), ``out`` (``.csv``, ``.npz``, or ``.vtu``/``.vtk`` through the optional
``meshio``: ``pip install "pinnsolve[vtk]"``), ``derivatives`` (``grad``, ``laplacian``, ``hessian``),
``resolution`` (grid points per axis), ``device``, ``which`` (``last``; ``best``: the network
the ``best_model`` callback kept; ``average``: the parameter average of ``callbacks=[average]``), ``residuals`` (``true``: a column ``residual_<condition>`` per
condition whose residual reads only the point, e.g. the PDE's), ``problem`` (for a run of a problem
file: the same file, which is then run, to rebuild the problem and its grid) and ``allow_module``
(modules, comma-separated, whose networks the run may import: a run trained with
``model._target_=my_module.MyNet`` needs ``allow_module=my_module``; nothing else is imported).
A grid is written to VTK with its cells (lines, quads or hexahedra inside the domain).
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import numpy as np

from ..errors import ConfigError, PinnsolveError
from ..geometry.grids import DEFAULT_RESOLUTION, structured_grid
from ..runs.loading import DERIVATIVES, LoadedRun, load_run
from .export import OUT_FORMATS, columns, read_points, write

KEYS = ("run", "points", "out", "derivatives", "resolution", "device", "which", "residuals", "problem", "allow_module")


def parse(argv: list[str]) -> dict:
    options = {}
    for item in argv:
        key, sep, value = item.partition("=")
        if not sep or key not in KEYS:
            raise ConfigError(f"'{item}': arguments are key=value with key one of {KEYS}, e.g. run=<dir> out=u.csv")
        options[key] = value
    for key in ("run", "out"):
        if key not in options:
            raise ConfigError(f"{key}= is required: pinnsolve-predict run=<run dir> [points=<file>] out=<file.csv|.npz|.vtu>")
    return options




def _check_out(path: Path) -> None:
    """``out=`` must be a file name of a known format in a directory that can be written; said before any work."""
    if path.suffix not in OUT_FORMATS:
        raise ConfigError(f"out={path}: use .csv, .npz, .vtu or .vtk")
    if path.is_dir():
        raise ConfigError(f"out={path} is a directory; name a file in it, e.g. out={path / ('u' + path.suffix)}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path.parent):
            pass
    except OSError as exc:
        raise ConfigError(f"out={path}: cannot write in {path.parent} ({exc.strerror or exc}); choose a writable "
                          "place, e.g. out=u.csv in your working directory") from None


def _resolution(options: dict) -> int | None:
    """``resolution=`` as a whole number ≥ 2 (``None``: the default per dimension)."""
    text = options.get("resolution")
    if text is None:
        return None
    try:
        value = int(text)
    except ValueError:
        raise ConfigError(f"resolution={text}: give a whole number of grid points per axis, e.g. resolution=101") from None
    if value < 2:
        raise ConfigError(f"resolution={text}: give at least 2 grid points per axis (or leave it out for the default: "
                          f"{DEFAULT_RESOLUTION[1]} in 1-d, {DEFAULT_RESOLUTION[2]} in 2-d and for slices, "
                          f"{DEFAULT_RESOLUTION[3]} in 3-d)")
    return value


def _bytes_per_point(d: int, m: int, derivatives: list[str], suffix: str) -> int:
    """A generous estimate of the memory one grid point costs, from the grid to the written file."""
    per_output = 1 + (d if "grad" in derivatives else 0) + (d * d if {"laplacian", "hessian"} & set(derivatives) else 0)
    numbers = 4 * d + 2 * m * per_output            # grid, mask copy, points, results and their flat columns
    text = 60 * (d + m * per_output) if suffix == ".csv" else 0   # the CSV's lines, built then joined
    return 8 * numbers + text


def _available_memory() -> int:
    try:
        with open("/proc/meminfo") as f:
            return next(int(line.split()[1]) * 1024 for line in f if line.startswith("MemAvailable:"))
    except (OSError, StopIteration, ValueError):
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


def check_grid_memory(run: LoadedRun, resolution: int | None, derivatives: list[str], suffix: str) -> None:
    """Refuse a grid whose points and results would not fit in half the available memory, before allocating it."""
    low, _ = run.problem.eval_points.bounds()
    d, m = low.numel(), len(run.problem.output_names)
    axes = min(d, 3) if d <= 3 else 2
    r = resolution or DEFAULT_RESOLUTION[axes]
    per_point, budget = _bytes_per_point(d, m, derivatives, suffix), _available_memory() // 2
    need = r**axes * per_point
    if need > budget:
        fits = max(2, int((budget / per_point) ** (1 / axes)))
        raise ConfigError(f"resolution={r}: a grid of {r}^{axes} = {r**axes:.3g} points needs about {need / 2**30:.3g} GiB "
                          f"for the points and results, and {budget * 2 / 2**30:.3g} GiB are available; use "
                          f"resolution={fits} or less (or write .npz, which needs less than .csv)")


def _load(options: dict) -> LoadedRun:
    """The run, with its problem rebuilt from ``problem=<file.py>`` when it came from a problem file (that file
    is run: naming it on this command line is the consent, as for ``pinnsolve resume=``)."""
    allow = [m for m in options.get("allow_module", "").split(",") if m]
    problem = None
    if "problem" in options:
        from ..problem.from_file import load_problem

        path = Path(options["problem"]).expanduser()
        if not path.is_file():
            raise ConfigError(f"problem={path}: no such file; name the Python file the run was trained on")
        problem = load_problem(str(path))
    return load_run(options["run"], device=options.get("device", "cpu"), which=options.get("which", "last"),
                    problem=problem, allow_modules=allow)


def _switch(options: dict, key: str) -> bool:
    value = options.get(key, "false")
    if value not in ("true", "false"):
        raise ConfigError(f"{key}={value}: give true or false")
    return value == "true"


def predict_to_file(options: dict) -> Path:
    out = Path(options["out"])
    _check_out(out)
    resolution = _resolution(options)
    derivatives = [d for d in options.get("derivatives", "").split(",") if d]
    unknown = [d for d in derivatives if d not in DERIVATIVES]
    if unknown:
        raise ConfigError(f"derivatives={options['derivatives']}: choose from {DERIVATIVES}")
    with_residuals = _switch(options, "residuals")
    run = _load(options)
    cells = None
    if "points" in options:
        x = read_points(options["points"])
    else:
        if run.problem is None:
            raise ConfigError("this run's problem cannot be rebuilt from its directory alone: for a problem file give "
                              "problem=<the same file.py> (its grid comes from the problem's shapes), or give "
                              "points=<file>; for a solve() run, give points=<file>")
        check_grid_memory(run, resolution, derivatives, out.suffix)
        grid, cell_index = structured_grid(run.problem, resolution)
        x, cells = grid.numpy(), cell_index.numpy()
    result = run.predict(x, derivatives=derivatives)
    result = result if isinstance(result, dict) else {"value": result}
    x = np.asarray(x, dtype=np.float64)
    data = columns(run.problem.input_names if run.problem is not None else None, x, result)
    if with_residuals:
        for name, r in run.residuals(x).items():
            r = r.cpu().numpy().reshape(len(x), -1)
            for j in range(r.shape[1]):
                data[f"residual_{name}" + (f"{j}" if r.shape[1] > 1 else "")] = r[:, j]
    try:
        write(out, data, x, cells)
    except OSError as exc:
        raise ConfigError(f"out={out}: cannot write it ({exc.strerror or exc}); choose a writable place with room") from None
    return out


def main(argv: list[str] | None = None) -> None:
    """Console entry point (``pinnsolve-predict``)."""
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__)
        return
    try:
        out = predict_to_file(parse(argv))
    except PinnsolveError as exc:
        print(f"pinnsolve-predict: error: {exc}", file=sys.stderr)
        sys.exit(2)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
