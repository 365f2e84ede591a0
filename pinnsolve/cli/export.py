"""Reading points and writing predictions: ``.csv``, ``.npy``/``.npz`` and VTK (``.vtu``/``.vtk``).

Points files are data only: ``.npy``/``.npz`` holding Python objects (which would run code when read)
and points with NaN coordinates are refused. Predictions on a grid go to VTK with the grid's cells
(lines, quads or hexahedra inside the domain), so ParaView shows a surface, not a point cloud.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np

from ..errors import ConfigError
from ..runs.files import atomic_write_bytes, atomic_write_text

OUT_FORMATS = (".csv", ".npz", ".vtu", ".vtk")
VTK_CELLS = {2: "line", 4: "quad", 8: "hexahedron"}  # corners per cell -> meshio's cell type


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


def columns(input_names: list[str] | None, x: np.ndarray, result: dict) -> dict[str, np.ndarray]:
    """Flat, named columns: coordinates, ``u`` (``u0 … u{m-1}``), derivatives per coordinate."""
    names = input_names or [f"x{i}" for i in range(x.shape[1])]
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


def write(path: str | Path, data: dict[str, np.ndarray], x: np.ndarray, cells: np.ndarray | None = None) -> None:
    """``data`` (named columns over the points ``x: [n, d]``) to ``path``; VTK files get ``cells: [c, 2^k]``
    (corner indices into ``x``, from :func:`~pinnsolve.geometry.grids.structured_grid`) or, without them,
    one vertex per point."""
    path = Path(path)
    if path.suffix == ".csv":
        lines = [",".join(data)] + [",".join(repr(float(v)) for v in row) for row in zip(*data.values())]
        atomic_write_text(path, "\n".join(lines) + "\n")
    elif path.suffix == ".npz":
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
        if cells is not None and len(cells):
            blocks = [(VTK_CELLS[cells.shape[1]], np.asarray(cells, dtype=np.int64))]
        else:
            blocks = [("vertex", np.arange(len(x))[:, None])]
        meshio.write(str(path), meshio.Mesh(points, blocks, point_data=dict(data)))
    else:
        raise ConfigError(f"out={path}: use .csv, .npz, .vtu or .vtk")


