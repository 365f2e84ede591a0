"""Checkpoints: everything needed to continue a run bit for bit.

A checkpoint holds the model and optimizer state, the step, the training and wall time so far, the
point sampler's generator state, the global RNG states (CPU and CUDA), the metrics rows up to its
step, the run's health record, the optimizer's class and the resolved configuration. It is
written atomically and read with ``torch.load(..., weights_only=True)``: only tensors and plain
containers are accepted, so a file from elsewhere cannot run code.
"""

from __future__ import annotations

import io
import os
import re
from pathlib import Path

import torch

from ..errors import ConfigError, RunDirectoryError
from .files import atomic_write_bytes, check_no_links_out

CHECKPOINT_NAME = "checkpoint.pt"


def rng_state() -> dict:
    state = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def optimizer_name(optimizer) -> str:
    """``module.Class`` of an optimizer, as stored in checkpoints."""
    cls = type(optimizer)
    return f"{cls.__module__}.{cls.__qualname__}"


def save_checkpoint(path: str | os.PathLike, state: dict) -> None:
    """Serialise ``state`` and replace ``path`` atomically; the old file survives any failure."""
    buffer = io.BytesIO()
    torch.save(state, buffer)
    try:
        atomic_write_bytes(path, buffer.getvalue())
    except OSError as exc:
        raise RunDirectoryError(
            f"cannot write the checkpoint {path} ({exc.strerror or exc}). The previous checkpoint, if any, is "
            "intact: free space or fix the permissions, then continue with resume=<run dir>"
        ) from exc


def locate_checkpoint(resume: str | os.PathLike, key: str = "resume") -> Path:
    """``resume`` may be a run directory or a checkpoint file (``key``: the argument that named it, for errors).

    Its directory is checked first: no entry may be a symbolic link out of it
    (:func:`~pinnsolve.runs.files.check_no_links_out`).
    """
    path = Path(str(resume)).expanduser()
    if path.is_dir():
        path = path / CHECKPOINT_NAME
    if not path.is_file():
        raise ConfigError(
            f"{key}={resume}: no checkpoint found at {path}. Pass the run directory of an earlier run "
            f"(it holds {CHECKPOINT_NAME}) or the path of a checkpoint file."
        )
    check_no_links_out(path.parent)
    return path


def _reason(exc: Exception) -> str:
    """The part of torch's refusal that names what was refused (without its advice to disable the check)."""
    text = str(exc)
    found = re.search(r"(Trying to load unsupported GLOBAL[^\n]*|Unsupported global:[^\n]*)", text)
    if found:  # torch goes on to say how to allow the global: never advice for a file from elsewhere
        return re.split(r"\.\s+Please use|\. Please|\s+Check the documentation", found.group(1))[0].strip()
    return f"{type(exc).__name__}: {text.splitlines()[0] if text else 'unreadable'}"


def load_checkpoint(path: str | os.PathLike) -> dict:
    """Load a checkpoint safely (tensors and plain containers only) onto the CPU."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - re-raised with the file name and the reason
        raise ConfigError(
            f"cannot load checkpoint {path}: it is not a pinnsolve checkpoint or holds objects other than tensors "
            f"and plain containers, which are refused for safety ({_reason(exc)})"
        ) from None
    if not isinstance(state, dict) or "model" not in state or "step" not in state:
        raise ConfigError(f"cannot load checkpoint {path}: it is not a pinnsolve checkpoint (no model state and step)")
    step, weights = state["step"], state["model"]
    if isinstance(step, bool) or not isinstance(step, int) or step < 0:
        raise ConfigError(f"cannot load checkpoint {path}: its step is {step!r}, not a count of steps; the file is "
                          "damaged or was not written by pinnsolve")
    if not isinstance(weights, dict) or not all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in weights.items()):
        raise ConfigError(f"cannot load checkpoint {path}: its model state is not a table of named tensors; the file "
                          "is damaged or was not written by pinnsolve")
    return state


def check_weights(weights: dict, model: torch.nn.Module, path: str | os.PathLike) -> None:
    """The checkpoint's ``weights`` must be ``model``'s (same names and shapes) and finite.

    Raises:
        ConfigError: naming the first mismatch (missing, unexpected or differently shaped tensors) or
            the non-finite tensors, in one line.
    """
    expected = model.state_dict()
    missing = [k for k in expected if k not in weights]
    extra = [k for k in weights if k not in expected]
    shapes = [f"'{k}' is {list(weights[k].shape)} there but {list(v.shape)} here" for k, v in expected.items()
              if k in weights and weights[k].shape != v.shape]
    if missing or extra or shapes:
        found = "; ".join([*shapes[:3], *([f"missing {missing[:3]}"] if missing else []),
                           *([f"unexpected {extra[:3]}"] if extra else [])])
        raise ConfigError(f"{path} holds the weights of another network ({found}): the network's settings "
                          "(model.hidden, the problem's inputs and outputs) must be those the run was trained with")
    broken = [k for k, v in weights.items() if v.is_floating_point() and not bool(torch.isfinite(v).all())]
    if broken:
        raise ConfigError(f"{path} holds NaN or infinite weights ({', '.join(broken[:4])}): no prediction or step can "
                          "come from them. pinnsolve never checkpoints a diverged state, so the file was damaged or "
                          "written elsewhere: use an earlier copy of the run, or start a new one")


def check_compatible(state: dict, path: str | os.PathLike, problem_name: str, optimizer) -> None:
    """Refuse a checkpoint written for another problem or by another optimizer class."""
    if state.get("problem") != problem_name:
        raise ConfigError(f"resume: the checkpoint {path} is of problem '{state.get('problem')}', this run is '{problem_name}'")
    saved, current = state.get("optimizer_class"), optimizer_name(optimizer)
    if saved is not None and saved != current:
        raise ConfigError(
            f"resume: the checkpoint {path} was written by the optimizer {saved}, this run uses {current}. Resume with "
            "the run's own configuration, or start a new run (another run directory) to switch optimizers"
        )
