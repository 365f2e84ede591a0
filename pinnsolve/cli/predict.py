"""``pinnsolve-predict``: a trained network's values (and derivatives) at points, written to a file.

    pinnsolve-predict run=outputs/poisson2d/engd_w/<date> points=points.csv out=u.csv
    pinnsolve-predict run=<dir> points=x.npy out=u.npz derivatives=grad,laplacian
    pinnsolve-predict run=<dir> out=u.vtu resolution=101          # a grid of the domain, for ParaView

Arguments are ``key=value``: ``run`` (a run directory or ``checkpoint.pt``), ``points`` (``.csv`` with
one column per coordinate and an optional header, ``.npy``, or ``.npz`` with an array ``points`` or a
single array; without it, a grid of the problem's domain: the whole domain for d ≤ 3, a slice through
its middle for d > 3), ``out`` (``.csv``, ``.npz``, or ``.vtu``/``.vtk`` through the optional
``meshio``: ``pip install "pinnsolve[vtk]"``), ``derivatives`` (``grad``, ``laplacian``, ``hessian``),
``resolution`` (grid points per axis), ``device``, and ``which`` (``last``, or ``best``: the network
the ``best_model`` callback kept).
"""

from __future__ import annotations

import csv
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

from ..errors import ConfigError, PinnsolveError
from ..geometry.grids import DEFAULT_RESOLUTION, domain_grid
from ..runs.files import atomic_write_bytes, atomic_write_text
from ..runs.loading import DERIVATIVES, LoadedRun, load_run

KEYS = ("run", "points", "out", "derivatives", "resolution", "device", "which")


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


def read_points(path: str | Path) -> np.ndarray:
    """Points ``[n, d]`` from a ``.csv``, ``.npy`` or ``.npz`` file."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"points={path}: no such file")
    if path.suffix in (".npy", ".npz"):
        try:
            return _numbers(path, _read_numpy(path))
        except ConfigError:
            raise
        except ValueError as exc:
            if "allow_pickle" in str(exc):
                raise ConfigError(f"points={path}: it holds Python objects, not numbers; such files run code when "
                                  "read, so they are refused. Save the points as a float array (np.save(path, "
                                  "x.astype(float)))") from None
            raise ConfigError(f"points={path}: not a readable NumPy file ({exc})") from None
    if path.suffix == ".csv":
        rows = list(csv.reader(open(path)))
        try:
            float(rows[0][0])
        except (ValueError, IndexError):
            rows = rows[1:]  # a header
        try:
            return _numbers(path, np.array([[float(v) for v in row] for row in rows if row], dtype=np.float64))
        except ValueError as exc:
            raise ConfigError(f"points={path}: every row must be numbers, one per coordinate ({exc})") from exc
    raise ConfigError(f"points={path}: use a .csv, .npy or .npz file")


def _read_numpy(path: Path) -> np.ndarray:
    if path.suffix == ".npy":
        return np.load(path, allow_pickle=False)
    with np.load(path, allow_pickle=False) as data:
        names = list(data.keys())
        if "points" not in names and len(names) != 1:
            raise ConfigError(f"points={path}: an .npz needs an array named 'points' (it holds {names})")
        return data["points" if "points" in names else names[0]]


def _numbers(path: Path, x: np.ndarray) -> np.ndarray:
    """``x`` as float64, refusing non-numeric arrays and NaN or infinite coordinates (their predictions would be NaN)."""
    if not (np.issubdtype(x.dtype, np.floating) or np.issubdtype(x.dtype, np.integer)):
        raise ConfigError(f"points={path}: holds {x.dtype} values, not numbers")
    x = x.astype(np.float64)
    bad = ~np.isfinite(x).reshape(len(x), -1).all(axis=1) if x.ndim else ~np.isfinite(x.reshape(1))
    if bad.any():
        rows = np.flatnonzero(bad)
        raise ConfigError(f"points={path}: {len(rows)} point(s) have NaN or infinite coordinates (row {rows[0]} first); "
                          "remove them: a network's value there is NaN")
    return x


def columns(run: LoadedRun, x: np.ndarray, result: dict) -> dict[str, np.ndarray]:
    """Flat, named columns: coordinates, ``u`` (``u0 … u{m-1}``), derivatives per coordinate."""
    names = run.problem.input_names if run.problem is not None else [f"x{i}" for i in range(x.shape[1])]
    out = {name: x[:, i] for i, name in enumerate(names)}
    value = result["value"].cpu().numpy()
    outputs = [""] if value.ndim == 1 else [str(j) for j in range(value.shape[1])]
    value = value.reshape(len(x), -1)
    for j, tag in enumerate(outputs):
        out[f"u{tag}"] = value[:, j]
    for key in ("grad", "laplacian", "hessian"):
        if key not in result:
            continue
        array = result[key].cpu().numpy().reshape(len(x), len(outputs), -1)
        for j, tag in enumerate(outputs):
            if key == "laplacian":
                out[f"laplacian_u{tag}"] = array[:, j, 0]
            elif key == "grad":
                for i, name in enumerate(names):
                    out[f"du{tag}_d{name}"] = array[:, j, i]
            else:
                for a, first in enumerate(names):
                    for b, second in enumerate(names):
                        out[f"d2u{tag}_d{first}_d{second}"] = array[:, j, a * len(names) + b]
    return out


def write(path: str | Path, data: dict[str, np.ndarray], x: np.ndarray) -> None:
    path = Path(path)
    if path.suffix == ".csv":
        lines = [",".join(data)] + [",".join(repr(float(v)) for v in row) for row in zip(*data.values())]
        atomic_write_text(path, "\n".join(lines) + "\n")
    elif path.suffix == ".npz":
        import io

        buffer = io.BytesIO()
        np.savez(buffer, points=x, **{k: v for k, v in data.items()})
        atomic_write_bytes(path, buffer.getvalue())
    elif path.suffix in (".vtu", ".vtk"):
        try:
            import meshio
        except ImportError:
            raise ConfigError(f"out={path}: VTK output needs meshio: pip install \"pinnsolve[vtk]\" (or write .csv / .npz)") from None
        points = np.zeros((len(x), 3))
        points[:, : min(3, x.shape[1])] = x[:, :3]
        cells = [("vertex", np.arange(len(x))[:, None])]
        meshio.write(str(path), meshio.Mesh(points, cells, point_data=dict(data)))
    else:
        raise ConfigError(f"out={path}: use .csv, .npz, .vtu or .vtk")


OUT_FORMATS = (".csv", ".npz", ".vtu", ".vtk")


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


def predict_to_file(options: dict) -> Path:
    out = Path(options["out"])
    _check_out(out)
    resolution = _resolution(options)
    derivatives = [d for d in options.get("derivatives", "").split(",") if d]
    unknown = [d for d in derivatives if d not in DERIVATIVES]
    if unknown:
        raise ConfigError(f"derivatives={options['derivatives']}: choose from {DERIVATIVES}")
    run = load_run(options["run"], device=options.get("device", "cpu"), which=options.get("which", "last"))
    if "points" in options:
        x = read_points(options["points"])
    else:
        if run.problem is None:
            raise ConfigError("this run's problem cannot be rebuilt from its directory (a solve() run or a problem "
                              "file): give points=<file>")
        check_grid_memory(run, resolution, derivatives, out.suffix)
        x = domain_grid(run.problem, resolution).numpy()
    result = run.predict(x, derivatives=derivatives)
    result = result if isinstance(result, dict) else {"value": result}
    try:
        write(out, columns(run, np.asarray(x, dtype=np.float64), result), np.asarray(x, dtype=np.float64))
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
