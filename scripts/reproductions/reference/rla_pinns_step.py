"""Times the steps of the Woodbury paper's own code (github.com/andresguzco/rla-pinns) for
``scripts/reproductions/compare_reference.py``. Runs in that code's environment, NOT pinnsolve's:

    python3 -m venv /tmp/ref/venv && . /tmp/ref/venv/bin/activate && pip install torch==2.13.0 \
        numpy==1.26.4 einops==0.7.0 matplotlib==3.8.2 tueplots==0.0.14 scipy==1.12.0
    pip install --no-deps backpack-for-pytorch==1.7.1 unfoldNd      # and its PyTorchHessianFree dependency
    git clone https://github.com/andresguzco/rla-pinns /tmp/ref/rla-pinns   # commit e6832d1 was measured
    echo /tmp/ref/rla-pinns > /tmp/ref/venv/lib/python3.11/site-packages/rla_pinns.pth

It imports the reference's modules and builds its problem, model and optimizers through its own
argument parsers, exactly as its ``train.py`` would (nothing numerical is re-implemented here), loads
the weights and points pinnsolve saved, and times ``zero_grad(); step(...)`` only (train.py's sampling,
logging and error evaluation are excluded). Optimizer names -> the reference's train.py flags:

  engd_w        --optimizer=RNGD --RNGD_approximation=exact --RNGD_damping=1e-10   (grid line search)
  spring        --optimizer=SPRING --SPRING_lr=0.05 --SPRING_momentum=0.9 --SPRING_damping=1e-10
                --SPRING_norm_constraint=0.001   (its SPRING class: step min(lr, √C/‖φ‖)·φ)
  spring_rngd   --optimizer=RNGD --RNGD_approximation=exact --RNGD_lr=... --RNGD_momentum=...
                (the variant its sweeps use: no norm cap)
  nystrom       --optimizer=RNGD --RNGD_approximation=nystrom --RNGD_rank_val=<10 % of N> --RNGD_damping=1e-8
  nystrom_naive the same with --RNGD_approximation=naive (QR + SVD)
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import sys
import time
import types
from typing import Dict, List, Optional, Tuple

import torch

# --- wandb is imported at module level by rla_pinns/train.py; it is never called unless
# --wandb is passed, so a do-nothing stub (harness only) is enough.
if "wandb" not in sys.modules and importlib.util.find_spec("wandb") is None:
    _stub = types.ModuleType("wandb")
    _stub.init = lambda *a, **k: None
    _stub.log = lambda *a, **k: None
    sys.modules["wandb"] = _stub

from torch.nn import Sequential  # noqa: E402

import rla_pinns.train as ref_train  # noqa: E402
from rla_pinns import poisson_equation  # noqa: E402
from rla_pinns.optim import set_up_optimizer  # noqa: E402
from rla_pinns.parse_utils import check_all_args_parsed  # noqa: E402
from rla_pinns.pinn_utils import evaluate_boundary_loss  # noqa: E402

MODEL = "mlp-tanh-64-64-48-48"  # 5-64-64-48-48-1, tanh
EQUATION = "poisson"
DIM = 5

OPTIMIZERS = ("engd_w", "spring", "spring_rngd", "nystrom", "nystrom_naive")


def FLAGS(name: str, n_total: int, damping=None, lr=None, momentum=None,
          rank=None, sketch_fraction=0.1, norm_constraint=None) -> Tuple[str, List[str]]:
    """Return (train.py --optimizer value, list of optimizer flags) for a harness name."""
    if name == "engd_w":
        d = 1e-10 if damping is None else damping
        flags = ["--RNGD_approximation=exact", f"--RNGD_damping={d!r}"]
        if lr is not None:
            flags.append(f"--RNGD_lr={lr!r}")
        return "RNGD", flags
    if name == "spring":
        d = 1e-10 if damping is None else damping
        return "SPRING", [
            f"--SPRING_lr={0.05 if lr is None else lr!r}",
            f"--SPRING_momentum={0.9 if momentum is None else momentum!r}",
            f"--SPRING_damping={d!r}",
            f"--SPRING_norm_constraint={1e-3 if norm_constraint is None else norm_constraint!r}",
        ]
    if name == "spring_rngd":
        d = 1e-10 if damping is None else damping
        return "RNGD", [
            "--RNGD_approximation=exact",
            f"--RNGD_lr={0.05 if lr is None else lr!r}",
            f"--RNGD_momentum={0.9 if momentum is None else momentum!r}",
            f"--RNGD_damping={d!r}",
        ]
    if name in ("nystrom", "nystrom_naive"):
        d = 1e-8 if damping is None else damping
        r = rank if rank is not None else max(1, round(sketch_fraction * n_total))
        flags = [
            f"--RNGD_approximation={'nystrom' if name == 'nystrom' else 'naive'}",
            f"--RNGD_rank_val={r}",
            f"--RNGD_damping={d!r}",
        ]
        if lr is not None:
            flags.append(f"--RNGD_lr={lr!r}")
        return "RNGD", flags
    raise ValueError(f"unknown optimizer {name!r}; choose from {OPTIMIZERS}")


# ----------------------------------------------------------------------------- problem
def _load_state_dict(path: str) -> Dict[str, torch.Tensor]:
    obj = torch.load(path, map_location="cpu", weights_only=False)
    if isinstance(obj, dict):
        for key in ("model", "state_dict", "model_state_dict"):
            if key in obj and isinstance(obj[key], dict):
                obj = obj[key]
                break
    if not isinstance(obj, dict):
        raise ValueError(f"{path}: expected a state_dict, got {type(obj)}")
    return {k: v for k, v in obj.items() if isinstance(v, torch.Tensor)}


def load_weights(model: Sequential, path: str) -> str:
    """Load weights into the reference model; returns a description of the mapping used."""
    sd = _load_state_dict(path)
    own = model.state_dict()
    if set(sd) == set(own):
        model.load_state_dict({k: v.to(torch.float64) for k, v in sd.items()})
        return "identical keys (" + ", ".join(own) + ")"
    # order-based mapping: the file's tensors in insertion order = W0, b0, W1, b1, ...
    src = list(sd.items())
    dst = list(own.items())
    if len(src) != len(dst):
        raise ValueError(f"{path}: {len(src)} tensors, reference model has {len(dst)}")
    new, mapping = {}, []
    for (sk, sv), (dk, dv) in zip(src, dst):
        if sv.shape != dv.shape:
            raise ValueError(f"shape mismatch {sk}{tuple(sv.shape)} -> {dk}{tuple(dv.shape)}")
        new[dk] = sv.to(torch.float64)
        mapping.append(f"{sk}->{dk}")
    model.load_state_dict(new)
    return "by order: " + ", ".join(mapping)


def build_problem(n_omega: int, n_boundary: int, condition: str = "cos_sum",
                  data_seed: int = 0, model_seed: int = 1, weights: Optional[str] = None,
                  data: Optional[str] = None, device: str = "cpu", verbose: bool = True):
    """The reference's 5-d Poisson problem exactly as train.py sets it up (fixed batch).

    Returns (layers, model, (X_Omega, y_Omega, X_dOmega, y_dOmega)).
    """
    dev, dt = torch.device(device), torch.float64
    # train.py order: manual_seed(data_seed); build the (lazy) DataLoaders; manual_seed(
    # model_seed); build the layers; set up the optimizer; then in the loop the first
    # next() of the interior loader and of the boundary loader draw the points. So the
    # training points are drawn from the RNG stream *after* the model initialisation
    # (data_seed has no effect on them), which is replicated here.
    torch.manual_seed(data_seed)
    torch.manual_seed(model_seed)
    layers = ref_train.set_up_layers(MODEL, EQUATION, DIM)
    layers = [layer.to(dev, dt) for layer in layers]
    model = Sequential(*layers).to(dev)
    if data is None:
        X_O, y_O = ref_train.create_interior_data(EQUATION, condition, DIM, n_omega)
        X_B, y_B = ref_train.create_condition_data(EQUATION, condition, DIM, n_boundary)
        X_O, y_O, X_B, y_B = (t.to(dev, dt) for t in (X_O, y_O, X_B, y_B))
    else:
        d = torch.load(data, map_location="cpu", weights_only=False)
        X_O = d["X_Omega"].to(dev, dt)
        X_B = d["X_dOmega"].to(dev, dt)
        f = {"cos_sum": poisson_equation.f_cos_sum,
             "sin_product": poisson_equation.f_sin_product}[condition]
        u = ref_train.SOLUTIONS[EQUATION][condition]
        y_O = d["y_Omega"].to(dev, dt) if "y_Omega" in d else f(X_O)
        y_B = d["y_dOmega"].to(dev, dt) if "y_dOmega" in d else u(X_B)
        y_O, y_B = y_O.reshape(-1, 1), y_B.reshape(-1, 1)

    if weights is not None:
        how = load_weights(model, weights)
        if verbose:
            print(f"loaded {weights}: {how}")
    return layers, model, (X_O, y_O, X_B, y_B)


def make_optimizer(name: str, layers, n_total: int, verbose: bool = False, **kw):
    """Build the optimizer through the reference's own argument parsers (as train.py does)."""
    opt_name, flags = FLAGS(name, n_total, **kw)
    # the reference parsers read and rewrite the *list object* sys.argv (bound at import
    # time via `from sys import argv`), so it must be modified in place
    saved = sys.argv[:]
    sys.argv[:] = ["train.py"] + flags
    try:
        optimizer, args = set_up_optimizer(layers, opt_name, EQUATION, verbose=verbose)
        check_all_args_parsed()
    finally:
        sys.argv[:] = saved
    return optimizer, ["--optimizer=" + opt_name] + flags


def total_loss(layers, batch) -> float:
    X_O, y_O, X_B, y_B = batch
    with torch.no_grad():
        li, _, _ = poisson_equation.evaluate_interior_loss(layers, X_O, y_O)
        lb, _, _ = evaluate_boundary_loss(layers, X_B, y_B)
    return (li + lb).item()


def _sync(dev):
    if dev.type == "cuda":
        torch.cuda.synchronize()


def run_steps(name: str, n_omega: int, n_boundary: int, steps: int, seed: Optional[int] = None,
              verbose: bool = True, **kw):
    """Run ``steps`` optimizer steps (same loop body as train.py, fixed batch).

    Returns (losses before each step + final loss, per-step wall times in seconds).
    """
    prob_kw = {k: kw.pop(k) for k in list(kw) if k in
               ("condition", "data_seed", "model_seed", "weights", "data", "device")}
    layers, model, batch = build_problem(n_omega, n_boundary, verbose=verbose, **prob_kw)
    dev = batch[0].device
    optimizer, flags = make_optimizer(name, layers, n_omega + n_boundary, **kw)
    if verbose:
        print(f"[{name}] N={n_omega}+{n_boundary}  flags: {' '.join(flags)}")
    if seed is not None:  # Nystrom sketches draw from the global RNG; None = as train.py
        torch.manual_seed(seed)
    losses, times = [], []
    for _ in range(steps):
        _sync(dev)
        t0 = time.perf_counter()
        optimizer.zero_grad()
        loss_i, loss_b = optimizer.step(*batch)
        _sync(dev)
        times.append(time.perf_counter() - t0)
        losses.append(loss_i.item() + loss_b.item())
    losses.append(total_loss(layers, batch))
    return losses, times


def time_steps(name: str, n_omega: int, n_boundary: int, steps: int = 5, warmup: int = 2,
               threads: int = 1, **kw) -> Dict[str, object]:
    """Per-step wall times of the reference optimizer ``name`` (single-threaded by default).

    Times ``optimizer.zero_grad(); optimizer.step(X_Omega, y_Omega, X_dOmega, y_dOmega)`` only
    (train.py's data sampling, .item() calls and logging/L2 evaluation are excluded).
    Returns {"times": [s, ...] after warm-up, "median": s, "warmup_times": [...], "losses": [...]}.
    """
    torch.set_num_threads(threads)
    losses, times = run_steps(name, n_omega, n_boundary, warmup + steps, verbose=False, **kw)
    kept = times[warmup:]
    return {"times": kept, "median": statistics.median(kept), "warmup_times": times[:warmup],
            "losses": losses}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--opt", default="all", help=f"one of {OPTIMIZERS} or 'all'")
    p.add_argument("--n-omega", type=int, default=1000)
    p.add_argument("--n-boundary", type=int, default=200)
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--time", action="store_true", help="timing mode (uses --warmup)")
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--weights", default=None, help="torch state_dict for the initial weights")
    p.add_argument("--save-init", default=None, help="write the reference's initial state_dict")
    p.add_argument("--data", default=None, help="torch file with X_Omega, X_dOmega [, y_*]")
    p.add_argument("--save-data", default=None,
                   help="write the training points/targets used (X_Omega, y_Omega, X_dOmega, y_dOmega)")
    p.add_argument("--condition", default="cos_sum", choices=["cos_sum", "sin_product"])
    p.add_argument("--data-seed", type=int, default=0)
    p.add_argument("--model-seed", type=int, default=1)
    p.add_argument("--seed", type=int, default=None,
                   help="reseed the RNG before the first step (default: continue as train.py)")
    p.add_argument("--damping", type=float, default=None)
    p.add_argument("--lr", type=float, default=None)
    p.add_argument("--momentum", type=float, default=None)
    p.add_argument("--rank", type=int, default=None, help="Nystrom sketch size (default 10%% N)")
    p.add_argument("--device", default="cpu")
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)

    if a.save_init or a.save_data:
        _, model, batch = build_problem(a.n_omega, a.n_boundary, a.condition, a.data_seed,
                                        a.model_seed, None, a.data, a.device, verbose=False)
        if a.save_init:
            torch.save(model.state_dict(), a.save_init)
            print(f"saved reference initial weights to {a.save_init}: {list(model.state_dict())}")
        if a.save_data:
            torch.save(dict(zip(("X_Omega", "y_Omega", "X_dOmega", "y_dOmega"), batch)),
                       a.save_data)
            print(f"saved training points to {a.save_data}")

    names = OPTIMIZERS[:4] if a.opt == "all" else a.opt.split(",")
    kw = dict(condition=a.condition, data_seed=a.data_seed, model_seed=a.model_seed,
              weights=a.weights, data=a.data, device=a.device, damping=a.damping, lr=a.lr,
              momentum=a.momentum, rank=a.rank)
    for name in names:
        if a.time:
            r = time_steps(name, a.n_omega, a.n_boundary, a.steps, a.warmup, a.threads,
                           seed=a.seed, **kw)
            print(f"{name}: N={a.n_omega}+{a.n_boundary} threads={a.threads} "
                  f"median {1e3 * r['median']:.1f} ms/step over {len(r['times'])} steps "
                  f"(times ms: {[round(1e3 * t, 1) for t in r['times']]}, "
                  f"warm-up: {[round(1e3 * t, 1) for t in r['warmup_times']]})")
        else:
            losses, times = run_steps(name, a.n_omega, a.n_boundary, a.steps, seed=a.seed, **kw)
            print(f"{name}: losses " + " ".join(f"{x:.6e}" for x in losses))
            print(f"{name}: step times ms {[round(1e3 * t, 1) for t in times]}")


if __name__ == "__main__":
    main()
