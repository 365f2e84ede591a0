r"""Polynomial regression in 6 Gaussian inputs (Sven paper), degree a parameter.

Inputs ``x ~ N(0, I₆)``; targets ``y = p(x)``, a random polynomial drawn once from ``seed``:

- ``additive=True`` (the default, what the Sven authors' generator actually built): a sum of
  one-variable polynomials without cross terms,
  ``p(x) = Σ_{i=1}^{6} Σ_{k=1}^{degree} c_{ik} x_i^k`` (``6·degree`` terms; for ``degree = 3`` the
  additive cubic of the paper);
- ``additive=False``: the full polynomial with every monomial of total degree 1 … ``degree``,
  ``p(x) = Σ_{1 ≤ |α| ≤ degree} c_α x^α`` (``C(6 + degree, degree) − 1`` terms, 83 for a cubic).

Coefficients ``c ~ N(0, 1)`` i.i.d. :func:`build_polynomial` returns the exponents and
coefficients, and the problem keeps them as ``problem.polynomial`` (``describe()`` prints it).
Sizes: ``n_train = 10 000`` training and ``n_val = 10 000`` validation samples (the same sizes as
reg1d; the paper does not state them). Targets are standardised by the training mean and (population)
standard deviation unless ``standardize=False``. Network 6-16-16-16-1 with GELU (673 parameters),
minibatches of ``batch_size = 32``. Metrics: ``train_loss``/``val_loss`` = MSE over the full sets
(:mod:`pinnsolve.problem.regression`).
"""

from dataclasses import dataclass
from itertools import combinations_with_replacement

import torch

from pinnsolve import ConfigError
from pinnsolve.problem.regression import regression_problem

DIM = 6


@dataclass
class Polynomial:
    """``p(x) = Σ_t coefficients[t] · Π_i x_i^exponents[t, i]``."""

    exponents: torch.Tensor  # [T, d] integer powers
    coefficients: torch.Tensor  # [T]

    @property
    def degree(self) -> int:
        return int(self.exponents.sum(dim=1).max())

    def __call__(self, x: torch.Tensor) -> torch.Tensor:  # x: [n, d] -> [n]
        monomials = (x[:, None, :] ** self.exponents.to(x.dtype)).prod(dim=2)
        return monomials @ self.coefficients.to(x.dtype)

    def describe(self) -> str:
        terms = []
        for c, e in zip(self.coefficients.tolist(), self.exponents.tolist()):
            factors = "·".join(f"x{i + 1}" + (f"^{k}" if k > 1 else "") for i, k in enumerate(e) if k)
            terms.append(f"{c:+.4f}·{factors}")
        return " ".join(terms)


def build_polynomial(degree: int = 3, additive: bool = True, dim: int = DIM, generator: torch.Generator | None = None) -> Polynomial:
    """The random polynomial described in the module docstring."""
    if int(degree) < 1:
        raise ConfigError(f"problem.degree must be a positive integer, got {degree}")
    degree = int(degree)
    if additive:
        exponents = [[k if j == i else 0 for j in range(dim)] for i in range(dim) for k in range(1, degree + 1)]
    else:
        exponents = []
        for total in range(1, degree + 1):
            for combo in combinations_with_replacement(range(dim), total):
                exponents.append([combo.count(j) for j in range(dim)])
    exponents_t = torch.tensor(exponents, dtype=torch.long)
    coefficients = torch.randn(len(exponents), generator=generator, dtype=torch.float64)
    return Polynomial(exponents_t, coefficients)


def make_data(n_train: int = 10000, n_val: int = 10000, degree: int = 3, additive: bool = True, seed: int = 0, standardize: bool = True):
    """``(x_train [n,6], y_train [n], x_val, y_val, polynomial)``."""
    g = torch.Generator().manual_seed(int(seed))
    polynomial = build_polynomial(degree, additive, DIM, g)
    x = torch.randn(n_train + n_val, DIM, generator=g, dtype=torch.float64)
    y = polynomial(x)
    if standardize:
        mean, std = y[:n_train].mean(), y[:n_train].std(unbiased=False)
        y = (y - mean) / std
    return x[:n_train], y[:n_train], x[n_train:], y[n_train:], polynomial


def make_problem(n_train: int = 10000, n_val: int = 10000, batch_size: int = 32, degree: int = 3, additive: bool = True,
                 seed: int = 0, standardize: bool = True):
    x_train, y_train, x_val, y_val, polynomial = make_data(n_train, n_val, degree, additive, seed, standardize)
    problem = regression_problem("poly6", x_train, y_train, x_val, y_val, batch_size, input_names=[f"x{i}" for i in range(1, DIM + 1)])
    problem.polynomial = polynomial
    return problem
