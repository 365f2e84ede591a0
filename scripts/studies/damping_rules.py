"""The candidate damping rules that were compared before damping=auto was chosen (BENCHMARKS.md).

    python scripts/studies/damping_rules.py --problems poisson2d heat1d --rules auto lm_taken eta_half --seeds 0 1 2
    python scripts/studies/damping_rules.py --smoke

ENGD-W with the grid line search, ``--steps`` steps per run, one thread; the final l2_rel of every
(problem, rule, seed) is printed as a table (and the medians over seeds). Each rule is a damping part
of :class:`pinnsolve.optim.NaturalGradient` (``trust`` a step rule): one class each, no subclassing.
It sets λ before the step from what the previous steps showed:

=============  ==============================================================================
rule           λ and its update
=============  ==============================================================================
``lm_taken``   absolute λ (start 1e-6); gain ratio ρ of the taken step: ρ > ¾ ÷3, ρ < ¼ ×3
``lm_full``    absolute λ; gain ratio of the full step η = 1 (one more loss)
``eta_half``   λ = μ·tr(K)/N; η ≥ 1/2 ÷3, η ≤ 1/16 ×3
``auto``       λ = μ·tr(K)/N; η ≥ 1/4 ÷3, η ≤ 1/32 ×3 (damping=auto without its floor for fresh points)
``eta_low``    λ = μ·tr(K)/N; η ≥ 1/8 ÷2, η ≤ 1/64 ×4
``eta_one``    λ = μ·tr(K)/N; η = 1 ÷2, η ≤ 1/8 ×4
``residual``   λ = μ‖r‖² (μ = 1e-8 at the start); η ≥ 1/2 ÷3, η ≤ 1/16 ×3
``residual1``  λ = 1e-6·‖r‖, no update
``rising``     ``auto`` and ×3 whenever the loss of a fresh batch rose by more than 10 %
``trust``      a trust region on ‖ηφ‖ instead: λ = 1e-12 fixed, no line search, η = min(1, Δ/‖φ‖);
               gain ratio of the taken step: ρ > ¾ at the boundary Δ×2, ρ < ¼ Δ÷4 (Δ₀ = 0.1‖θ₀‖)
=============  ==============================================================================
"""

from __future__ import annotations

import argparse
import importlib
import math
import statistics

import torch

from pinnsolve import MLP, BatchSampler, ResidualEngine
from pinnsolve.engine.evaluation import ErrorMetric
from pinnsolve.engine import EngineClosure
from pinnsolve.optim import Cholesky, FixedDamping, GridLineSearch, NaturalGradient

# (problem kwargs, hidden widths): the CPU sizes of scripts/studies/damping_study.py; study sizes, not the
# smoke sizes of pinnsolve.problems.sizes (--smoke runs poisson2d at its size for 3 steps)
SIZES = {
    "poisson2d": ({}, [64]), "heat1d": ({}, [64]), "nonlinear_disk": ({}, [24, 24]), "helmholtz2d": ({}, [32]),
    "heat_ball": ({}, [64, 64]), "poisson5d": ({"n_interior": 1000, "n_boundary": 200}, [64, 64, 48, 48]),
    "logfp9d": ({"n_interior": 500, "n_initial": 150}, [64, 64, 48, 48]),
}
THRESHOLDS = {"eta_half": (0.5, 1 / 16, 3, 3), "auto": (0.25, 1 / 32, 3, 3), "eta_low": (1 / 8, 1 / 64, 2, 4),
              "eta_one": (1.0, 1 / 8, 2, 4), "residual": (0.5, 1 / 16, 3, 3), "rising": (0.25, 1 / 32, 3, 3)}
RULES = ["lm_taken", "lm_full", *THRESHOLDS, "residual1", "trust"]


class Threshold:
    """``λ = μ·tr(K)/N`` (``residual``: ``μ‖r‖²``); after the step ``η ≥ good`` divides ``μ`` by ``down``,
    ``η ≤ poor`` (or, with ``rising``, a loss 10 % above the last one) multiplies it by ``up``."""

    adaptive = False

    def __init__(self, good: float, poor: float, down: float, up: float, residual: bool = False, rising: bool = False):
        self.good, self.poor, self.down, self.up, self.residual, self.rising = good, poor, down, up, residual, rising
        self.mu, self.previous = (1e-8 if residual else 1e-6), None

    def init_state(self, state, reference):
        state["damping_boost"] = torch.ones((), dtype=reference.dtype)

    def value(self, state, rows, loss=None, fresh_points=False):
        scale = 2 * float(loss) if self.residual else float(rows.kernel_scale())
        self.rose = self.rising and self.previous is not None and float(loss) > 1.1 * self.previous
        self.previous = float(loss)
        return torch.tensor(self.mu * scale, dtype=rows.dtype) * state["damping_boost"]

    def update(self, state, failed, eta, line_search, gain_ratio=None):
        FixedDamping.update(self, state, failed, eta, line_search)   # a failed Cholesky: ×10 for the steps after
        eta = float(eta)
        self.mu *= self.up if (eta <= self.poor or self.rose) else 1 / self.down if eta >= self.good else 1
        self.mu = min(max(self.mu, 1e-16), 1e6)

    def diagnostics(self, state, damping):
        return {"damping": damping}


class GainRatio(Threshold):
    """Levenberg–Marquardt: an absolute ``λ = μ`` (start 1e-6); ``ρ > ¾`` divides it by 3, ``ρ < ¼`` multiplies it
    by 3, with ``ρ`` the gain ratio of the step taken, or (``full``) of the full step ``η = 1``."""

    def __init__(self, full: bool = False):
        super().__init__(0, 0, 3, 3)
        self.full = full

    def value(self, state, rows, loss=None, fresh_points=False):
        return torch.tensor(self.mu, dtype=rows.dtype) * state["damping_boost"]

    def update(self, state, failed, eta, line_search, gain_ratio=None):
        FixedDamping.update(self, state, failed, eta, line_search)

    def observe(self, state, outcome):
        rho = float(outcome.gain_ratio(1.0 if self.full else None))
        self.mu *= 1 / 3 if rho > 0.75 else 3 if rho < 0.25 else 1
        self.mu = min(max(self.mu, 1e-16), 1e6)


class ResidualNorm(GainRatio):
    """``λ = 1e-6‖r‖``, no update."""

    def value(self, state, rows, loss=None, fresh_points=False):
        return torch.tensor(1e-6 * math.sqrt(2 * float(loss)), dtype=rows.dtype) * state["damping_boost"]

    def observe(self, state, outcome):
        pass


class TrustRegion:
    """A step rule: ``η = min(1, Δ/‖φ‖)``; ``ρ < ¼`` divides ``Δ`` by 4, ``ρ > ¾`` at the boundary doubles it."""

    line_search = False

    def __init__(self, radius: float):
        self.radius = radius

    def size(self, closure, theta, update, phi, loss, state, group):
        return torch.clamp(self.radius / phi.norm().clamp_min(1e-300), max=1.0)

    def observe(self, state, outcome):
        rho = float(outcome.gain_ratio())
        at_boundary = float(outcome.eta) * float(outcome.phi.norm()) >= 0.999 * self.radius
        self.radius *= 0.25 if rho < 0.25 else 2.0 if (rho > 0.75 and at_boundary) else 1.0


def optimizer(params, rule: str) -> NaturalGradient:
    """ENGD-W (the exact Cholesky solve) with the rule's damping part (and, for ``trust``, step rule)."""
    params = list(params)
    if rule == "trust":
        radius = 0.1 * float(torch.cat([p.detach().reshape(-1) for p in params]).norm())
        return NaturalGradient(params, solver=Cholesky(), step_rule=TrustRegion(radius), damping=FixedDamping(1e-12))
    damping = {"lm_taken": lambda: GainRatio(), "lm_full": lambda: GainRatio(full=True),
               "residual1": lambda: ResidualNorm()}.get(rule)
    if damping is None:
        damping = lambda: Threshold(*THRESHOLDS[rule], residual=rule == "residual", rising=rule == "rising")  # noqa: E731
    return NaturalGradient(params, solver=Cholesky(), step_rule=GridLineSearch(), damping=damping())


def train(problem_name: str, rule: str, steps: int, seed: int) -> float:
    kwargs, hidden = SIZES[problem_name]
    problem = importlib.import_module(f"pinnsolve.problems.{problem_name}").make_problem(**kwargs)
    torch.manual_seed(seed)
    model = MLP(problem.dim, hidden)
    engine = ResidualEngine(problem, model)
    sampler = BatchSampler(problem, seed, "cpu", torch.float64)
    metric = ErrorMetric(problem.exact, sampler.eval_points)
    opt = optimizer(model.parameters(), rule)
    for _ in range(steps):
        opt.step(EngineClosure(engine, sampler()))
    return float(metric(model)["l2_rel"])


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--problems", nargs="*", default=["poisson2d", "heat1d", "nonlinear_disk", "helmholtz2d"])
    parser.add_argument("--rules", nargs="*", default=RULES, choices=RULES)
    parser.add_argument("--seeds", type=int, nargs="*", default=[0, 1, 2])
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--smoke", action="store_true")
    args = parser.parse_args(argv)
    if args.smoke:
        args.problems, args.rules, args.seeds, args.steps = ["poisson2d"], ["auto", "lm_taken"], [0], 3
    torch.set_num_threads(1)
    torch.set_default_dtype(torch.float64)
    results = {}
    for problem in args.problems:
        for rule in args.rules:
            finals = [train(problem, rule, args.steps, seed) for seed in args.seeds]
            results[(problem, rule)] = finals
            print(f"{problem:15s} {rule:10s} " + " ".join(f"{v:.2e}" for v in finals)
                  + f"   median {statistics.median(finals):.2e}", flush=True)
    return results


if __name__ == "__main__":
    main()
