"""Resolving ``trainer.device`` and ``trainer.dtype`` with errors that name the fix."""

from __future__ import annotations

import torch

from .errors import ConfigError

DTYPES = {"float64": torch.float64, "float32": torch.float32}


def resolve_device(name: str) -> torch.device:
    """``auto`` (CUDA when available, else CPU), ``cpu``, ``cuda`` or ``cuda:N``."""
    name = str(name)
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ConfigError(
                f"trainer.device={name} but PyTorch sees no CUDA device (torch {torch.__version__}, "
                f"CUDA build: {torch.version.cuda or 'no'}). Use trainer.device=cpu or trainer.device=auto, "
                "or install a CUDA build of PyTorch on a machine with a GPU."
            )
        return torch.device(name)
    if name == "cpu":
        return torch.device("cpu")
    raise ConfigError(f"unknown trainer.device '{name}'; use auto, cpu, cuda or cuda:N")


def resolve_dtype(name: str) -> torch.dtype:
    """``float64`` (default for natural-gradient methods) or ``float32``."""
    if str(name) not in DTYPES:
        raise ConfigError(f"unknown trainer.dtype '{name}'; use one of {sorted(DTYPES)}")
    return DTYPES[str(name)]


def strict_float_math() -> None:
    """Turn TF32 off: natural-gradient steps need true float32/float64 products (SPEC §1)."""
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
