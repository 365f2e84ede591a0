"""The candidate damping rules that were compared before damping=auto was chosen (BENCHMARKS.md).

    python scripts/damping_rules.py --problems poisson2d heat1d --rules auto lm_taken eta_half --seeds 0 1 2
    python scripts/damping_rules.py --smoke

ENGD-W with the grid line search, ``--steps`` steps per run, one thread; the final l2_rel of every
(problem, rule, seed) is printed as a table (and the medians over seeds). Each rule sets λ before the
step from what the previous steps showed:

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
from pinnsolve.optim import ENGDW
from pinnsolve.engine import EngineClosure

SIZES = {  # (problem kwargs, hidden widths): the CPU sizes of scripts/damping_study.py
    "poisson2d": ({}, [64]), "heat1d": ({}, [64]), "nonlinear_disk": ({}, [24, 24]), "helmholtz2d": ({}, [32]),
    "heat_ball": ({}, [64, 64]), "poisson5d": ({"n_interior": 1000, "n_boundary": 200}, [64, 64, 48, 48]),
    "logfp9d": ({"n_interior": 500, "n_initial": 150}, [64, 64, 48, 48]),
}
THRESHOLDS = {"eta_half": (0.5, 1 / 16, 3, 3), "auto": (0.25, 1 / 32, 3, 3), "eta_low": (1 / 8, 1 / 64, 2, 4),
              "eta_one": (1.0, 1 / 8, 2, 4), "residual": (0.5, 1 / 16, 3, 3), "rising": (0.25, 1 / 32, 3, 3)}
RULES = ["lm_taken", "lm_full", *THRESHOLDS, "residual1", "trust"]


class RuleENGDW(ENGDW):
    """ENGD-W whose λ for the next step comes from ``rule`` (set by :func:`train` between steps)."""

    def __init__(self, params, rule: str):
        super().__init__(params, damping=1.0, line_search=rule != "trust")
        self.rule = rule
        self.mu = 1e-8 if rule == "residual" else 1e-12 if rule == "trust" else 1e-6
        self.last = None
        self.radius = 0.1 * float(torch.cat([p.detach().reshape(-1) for p in self._params]).norm())

    def fixed_step_size(self, phi, state, group):
        """``trust``: the step ``ηφ`` inside the trust region, ``η = min(1, Δ/‖φ‖)``."""
        return torch.clamp(self.radius / phi.norm().clamp_min(1e-300), max=1.0)

    def direction(self, rows, damping, state, group):
        loss = 0.5 * float(rows.r.square().sum())
        scale = float(rows.J.square().sum()) / rows.J.shape[0]
        lam = {"lm_taken": self.mu, "lm_full": self.mu, "trust": self.mu, "residual": self.mu * 2 * loss,
               "residual1": 1e-6 * math.sqrt(2 * loss)}.get(self.rule, self.mu * scale)
        lam = torch.tensor(lam, dtype=rows.r.dtype) * state["damping_boost"]
        phi, failed = super().direction(rows, lam, state, group)
        self.last = (rows.r.clone(), rows.J.clone(), phi, loss)
        return phi, failed


def update(opt: RuleENGDW, closure, engine, eta: float, loss: float, previous: float | None) -> None:
    r, J, phi, start = opt.last
    if opt.rule in ("lm_taken", "lm_full"):
        step = eta if opt.rule == "lm_taken" else 1.0
        theta = engine.layout.flatten() + eta * phi          # the parameters before the step
        new = float(closure.losses_at((theta - step * phi)[None])[0])
        predicted = 0.5 * float((r - step * (J @ phi)).square().sum())
        rho = (start - new) / (start - predicted) if start > predicted and math.isfinite(new) else 0.0
        opt.mu *= 1 / 3 if rho > 0.75 else 3 if rho < 0.25 else 1
    elif opt.rule == "trust":
        theta = engine.layout.flatten() + eta * phi
        new = float(closure.losses_at((theta - eta * phi)[None])[0])
        predicted = 0.5 * float((r - eta * (J @ phi)).square().sum())
        rho = (start - new) / (start - predicted) if start > predicted and math.isfinite(new) else 0.0
        at_boundary = eta * float(phi.norm()) >= 0.999 * opt.radius
        opt.radius *= 0.25 if rho < 0.25 else 2.0 if (rho > 0.75 and at_boundary) else 1.0
    elif opt.rule in THRESHOLDS:
        good, poor, down, up = THRESHOLDS[opt.rule]
        rising = opt.rule == "rising" and previous is not None and loss > 1.1 * previous
        opt.mu *= up if (eta <= poor or rising) else 1 / down if eta >= good else 1
    opt.mu = min(max(opt.mu, 1e-16), 1e6)


def train(problem_name: str, rule: str, steps: int, seed: int) -> float:
    kwargs, hidden = SIZES[problem_name]
    problem = importlib.import_module(f"pinnsolve.problems.{problem_name}").make_problem(**kwargs)
    torch.manual_seed(seed)
    model = MLP(problem.dim, hidden)
    engine = ResidualEngine(problem, model)
    sampler = BatchSampler(problem, seed, "cpu", torch.float64)
    metric = ErrorMetric(problem.exact, sampler.eval_points)
    opt, previous = RuleENGDW(model.parameters(), rule), None
    for _ in range(steps):
        closure = EngineClosure(engine, sampler())
        loss = float(opt.step(closure))
        update(opt, closure, engine, float(opt.diagnostics["step_size"]), loss, previous)
        previous = loss
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
