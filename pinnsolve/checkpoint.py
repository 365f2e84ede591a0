"""Checkpoints: everything needed to continue a run bit for bit.

A checkpoint holds the model and optimizer state, the step, the training time so far, the point
sampler's generator state and the global RNG states (CPU and CUDA). It is written atomically and
read with ``torch.load(..., weights_only=True)``, so a file from elsewhere cannot run code.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import torch

from .errors import ConfigError
from .run_files import atomic_write_bytes

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


def save_checkpoint(path: str | os.PathLike, state: dict) -> None:
    """Serialise ``state`` and replace ``path`` atomically."""
    buffer = io.BytesIO()
    torch.save(state, buffer)
    atomic_write_bytes(path, buffer.getvalue())


def locate_checkpoint(resume: str | os.PathLike) -> Path:
    """``resume`` may be a run directory or a checkpoint file."""
    path = Path(resume).expanduser()
    if path.is_dir():
        path = path / CHECKPOINT_NAME
    if not path.is_file():
        raise ConfigError(
            f"resume={resume}: no checkpoint found at {path}. Pass the run directory of an earlier run "
            f"(it holds {CHECKPOINT_NAME}) or the path of a checkpoint file."
        )
    return path


def load_checkpoint(path: str | os.PathLike) -> dict:
    """Load a checkpoint safely (tensors and plain containers only) onto the CPU."""
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - re-raised with the file name and the reason
        raise ConfigError(f"cannot load checkpoint {path}: {exc}. It must be a pinnsolve checkpoint.") from exc
