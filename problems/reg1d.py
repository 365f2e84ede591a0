r"""1-d regression (Sven paper): fit ``g(x) = exp(−10x²) sin 2x`` from samples ``x ~ U[−1, 1]``.

Data (reproducible from ``seed``): ``n_train = 10 000`` training and ``n_val = 10 000`` validation
samples drawn from ``U[−1, 1]`` with a ``torch.Generator`` seeded by ``seed`` (training set first).
Targets are standardised with the TRAINING set's mean and standard deviation,
``y = (g(x) − mean_train) / std_train`` (population std, applied to both sets); inputs are left as
they are. Network 1-16-16-16-1 with GELU (593 parameters), minibatches of ``batch_size = 32``
(one epoch = ``n_train / 32 ≈ 313`` steps).

Logged metrics (:mod:`pinnsolve.problem.regression`): ``train_loss`` and ``val_loss``, the mean squared
error ``(1/N) Σ (f(x) − y)²`` over the full sets; the ``loss`` column is ``½ ×`` the minibatch MSE.
"""

import torch

from pinnsolve.problem.regression import regression_problem


def target_function(x):
    return torch.exp(-10 * x.square()) * torch.sin(2 * x)


def make_data(n_train: int = 10000, n_val: int = 10000, seed: int = 0, standardize: bool = True):
    """``(x_train [n,1], y_train [n], x_val, y_val)``, targets standardised by the training statistics."""
    g = torch.Generator().manual_seed(int(seed))
    x = 2 * torch.rand(n_train + n_val, 1, generator=g, dtype=torch.float64) - 1
    y = target_function(x[:, 0])
    if standardize:
        mean, std = y[:n_train].mean(), y[:n_train].std(unbiased=False)
        y = (y - mean) / std
    return x[:n_train], y[:n_train], x[n_train:], y[n_train:]


def make_problem(n_train: int = 10000, n_val: int = 10000, batch_size: int = 32, seed: int = 0, standardize: bool = True):
    x_train, y_train, x_val, y_val = make_data(n_train, n_val, seed, standardize)
    return regression_problem("reg1d", x_train, y_train, x_val, y_val, batch_size, input_names=["x"])
