"""Files of a run directory, each written atomically (write a temporary file, then rename).

- ``metrics.csv``: one row per logged step (``step, time_s, loss, l2_rms, l2_rel`` and the
  optimizer's diagnostics; evaluation columns are blank between evaluations);
- ``summary.json``: final metrics, steps, wall time, device, dtype;
- ``checkpoint.pt``: see :mod:`pinnsolve.runs.checkpoint`.

A run directory may come from someone else: :func:`check_no_links_out` refuses one in which any
entry is a symbolic link that leads out of it, before anything in it is read or written.
"""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
import time
from pathlib import Path

from ..errors import RunDirectoryError

BASE_COLUMNS = ["step", "time_s", "loss", "l2_rms", "l2_rel"]


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the new one, never a part."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600 files; results are for colleagues too
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    atomic_write_bytes(path, text.encode())


def write_json(path: str | os.PathLike, obj: dict) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=False, default=str) + "\n")


def _leads_out(link: Path, root: Path) -> str | None:
    """Where ``link`` points when that is outside ``root`` (or nowhere that resolves), else ``None``."""
    try:
        target = link.resolve(strict=False)
    except (OSError, RuntimeError):  # a loop of links
        return f"{os.readlink(link)} (a loop of links)"
    return None if target == root or target.is_relative_to(root) else str(target)


def check_no_links_out(run_dir: str | os.PathLike) -> None:
    """Refuse a run directory holding a symbolic link (at any depth) that leads out of it.

    Resuming writes ``.hydra/config.yaml``, ``metrics.csv`` and the job log, and reads the checkpoint;
    through a link, a directory from elsewhere could make those reads and writes land anywhere.
    Links that stay inside (wandb's ``latest-run``, say) are fine; the directory itself may be a link.

    Raises:
        RunDirectoryError: naming the link, where it leads and what to do.
    """
    root = Path(run_dir).resolve()
    if not root.is_dir():
        return
    for parent, directories, files in os.walk(root, followlinks=False):
        for name in [*directories, *files]:
            entry = Path(parent) / name
            if entry.is_symlink() and (target := _leads_out(entry, root)) is not None:
                raise RunDirectoryError(
                    f"{root}: '{entry.relative_to(root)}' is a symbolic link to {target}, outside the run directory. "
                    "pinnsolve never follows a run directory's files out of it (a run from elsewhere could make it "
                    "write there): replace the link with the file itself, or copy the run without links (cp -rL)"
                )


def _number(value, integer: bool = False) -> bool:
    try:
        int(value) if integer else float(value)
    except (TypeError, ValueError):
        return False
    return True


def _complete(row: dict, columns: list[str]) -> bool:
    """Whether a CSV row has every column and an integer step (not cut off mid-row)."""
    if None in row or any(row.get(c) is None for c in columns):
        return False
    try:
        int(row["step"])
        float(row["loss"])
    except (TypeError, ValueError, KeyError):
        return False
    return True


class MetricsLog:
    """Rows of ``metrics.csv``, kept in memory and rewritten atomically on :meth:`flush`.

    New diagnostic keys extend the header. On resume, rows after the checkpoint's step are
    dropped so the file continues exactly where the checkpoint left off. Between checkpoints,
    :meth:`flush_if_due` rewrites the file at most every ``min_interval_s`` seconds, so a long run's
    metrics can be watched while it runs at bounded I/O.
    """

    def __init__(self, path: str | os.PathLike, min_interval_s: float = 30.0, write: bool = True):
        self.path, self.write = Path(path), write
        self.rows: list[dict] = []
        self.columns = list(BASE_COLUMNS)
        self.min_interval_s = min_interval_s
        self._last_flush = time.monotonic()

    def state_dict(self) -> dict:
        """Columns and rows (plain strings and numbers: checkpoint material)."""
        return {"columns": list(self.columns), "rows": [dict(row) for row in self.rows]}

    def load_state_dict(self, state: dict) -> None:
        """Columns and rows from a checkpoint; a row whose step or numbers do not parse is refused."""
        columns, rows = list(state["columns"]), [dict(row) for row in state["rows"]]
        for row in rows:
            bad = [k for k, v in row.items() if k != "warning" and v not in ("", None) and not _number(v, k == "step")]
            if bad:
                raise ValueError(f"metrics row {row.get('step')!r} holds {bad[0]}={row[bad[0]]!r}, not a number")
        self.columns, self.rows = columns, rows

    def load(self, up_to_step: int) -> None:
        """Read an existing file (checkpoints without their own rows), keeping rows with ``step <= up_to_step``.

        Rows that do not parse (a file cut mid-row by a crash or a full disk) are dropped.
        """
        if not self.path.exists():
            return
        with open(self.path, newline="") as f:
            reader = csv.DictReader(f)
            self.columns = list(reader.fieldnames or BASE_COLUMNS)
            self.rows = [row for row in reader if _complete(row, self.columns) and int(row["step"]) <= up_to_step]

    def append_column(self, column: str) -> None:
        if column not in self.columns:
            self.columns.append(column)

    def append(self, row: dict) -> None:
        for key in row:
            if key not in self.columns:
                self.columns.append(key)
        self.rows.append(row)

    def flush(self) -> None:
        if not self.write:  # another process writes this run's files
            return
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=self.columns, restval="", lineterminator="\n")
        writer.writeheader()
        writer.writerows(self.rows)
        atomic_write_text(self.path, buffer.getvalue())
        self._last_flush = time.monotonic()

    def flush_if_due(self) -> None:
        if time.monotonic() - self._last_flush >= self.min_interval_s:
            self.flush()

    def series(self, column: str) -> tuple[list[float], list[float], list[float]]:
        """``(steps, times, values)`` for rows where ``column`` is set."""
        out: tuple[list[float], list[float], list[float]] = ([], [], [])
        for row in self.rows:
            value = row.get(column, "")
            if value not in ("", None):
                out[0].append(float(row["step"]))
                out[1].append(float(row["time_s"]))
                out[2].append(float(value))
        return out
