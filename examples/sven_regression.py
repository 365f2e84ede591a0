"""Sven against Adam on the Sven paper's 1-D regression task (Bright-Thonney et al. 2026; reg1d), standalone.

    f(x) = exp(−10x²)·sin(2x),  x ~ U[−1, 1],  targets standardised,
    GELU MLP 1-16-16-16-1 (593 parameters), batch 32, float64.

Any ``nn.Module`` and a per-sample loss of shape (B,) is all Sven needs: wrap each batch in a
``PerSampleClosure`` (rows = per-sample losses, as in the seed package) and call ``step``.

    python examples/sven_regression.py            # quick: 4 000 points, 5 epochs (< 1 min on a CPU)
    python examples/sven_regression.py --full     # the paper's 10 000 points, 20 epochs
"""

import argparse
import time

import torch
from torch import nn

from pinnsolve.optim import PerSampleClosure, Sven


def make_data(n: int, generator: torch.Generator):
    x = 2 * torch.rand(n, 1, generator=generator) - 1
    return x, torch.exp(-10 * x**2) * torch.sin(2 * x)


def make_model(seed: int) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(1, 16), nn.GELU(), nn.Linear(16, 16), nn.GELU(),
                         nn.Linear(16, 16), nn.GELU(), nn.Linear(16, 1))


def per_sample_loss(pred, y):
    """Squared error per sample: shape (B,) — a scalar (nn.MSELoss()) is refused."""
    return ((pred - y) ** 2).sum(-1)


def train(name: str, x, y, x_val, y_val, epochs: int, batch: int, seed: int) -> float:
    model = make_model(seed)
    if name == "sven":
        opt = Sven(model.parameters(), lr=0.1, k=16, rtol=1e-3, line_search=False)
    else:
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    order = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        for idx in torch.randperm(x.shape[0], generator=order).split(batch):
            if name == "sven":
                opt.step(PerSampleClosure(model, per_sample_loss, x[idx], y[idx], rows="losses"))
            else:
                opt.zero_grad()
                per_sample_loss(model(x[idx]), y[idx]).mean().backward()
                opt.step()
    with torch.no_grad():
        return float(per_sample_loss(model(x_val), y_val).mean())


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--full", action="store_true", help="10 000 train / 10 000 validation points, 20 epochs")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_default_dtype(torch.float64)
    n, epochs = (10_000, 20) if args.full else (4_000, 5)
    data = torch.Generator().manual_seed(args.seed)
    x, y = make_data(n, data)
    x_val, y_val = make_data(n, data)
    mean, std = y.mean(), y.std()
    y, y_val = (y - mean) / std, (y_val - mean) / std
    results = {}
    for name in ("sven", "adam"):
        start = time.perf_counter()
        results[name] = train(name, x, y, x_val, y_val, epochs, 32, args.seed)
        print(f"{name:5s} final validation loss {results[name]:.3e}  ({time.perf_counter() - start:.1f} s, {epochs} epochs of {n})")
    print(f"Sven / Adam validation loss: {results['sven'] / results['adam']:.3g}")


if __name__ == "__main__":
    main()
