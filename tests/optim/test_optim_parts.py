"""Every natural-gradient method is NaturalGradient(solver, momentum, step_rule, damping): the presets are
exactly their parts composed, each part meets a dense float64 reference, and a new part needs no subclass."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from pinnsolve.optim import (ENGD, ENGDW, SPRING, AdaptiveDamping, AveragedGramian, Cholesky, FixedDamping, FixedStep,
                             GridLineSearch, NaturalGradient, NoMomentum, Nystrom, NystromSketch, PerSampleClosure,
                             SpringMomentum, Sven, TruncatedPseudoinverse)


def problem(n=12, p=5, seed=0):
    g = torch.Generator().manual_seed(seed)
    x, y = torch.randn(n, p, generator=g), torch.randn(n, 1, generator=g)
    return x, y


def model(p=5):
    torch.manual_seed(1)
    return nn.Sequential(nn.Linear(p, 4), nn.Tanh(), nn.Linear(4, 1))


def residual(pred, y):
    return (pred - y).squeeze(-1)


def run(make, steps=3):
    x, y = problem()
    net = model()
    opt = make(net.parameters())
    for _ in range(steps):
        torch.manual_seed(7)  # the Nyström sketch's draws
        opt.step(PerSampleClosure(net, residual, x, y))
    return torch.cat([p.detach().reshape(-1) for p in net.parameters()]), opt


PAIRS = {  # preset, the same parts composed by hand
    "engd_w": (lambda p: ENGDW(p, damping=1e-4),
               lambda p: NaturalGradient(p, solver=Cholesky(), damping=FixedDamping(1e-4))),
    "engd_w_auto_fixed_step": (lambda p: ENGDW(p, line_search=False, lr=0.5),
                               lambda p: NaturalGradient(p, solver=Cholesky(), step_rule=FixedStep(), lr=0.5,
                                                         damping=AdaptiveDamping())),
    "spring": (lambda p: SPRING(p, damping=1e-3, momentum=0.5, lr=0.2, norm_constraint=1e-2),
               lambda p: NaturalGradient(p, solver=Cholesky(), momentum=SpringMomentum(0.5), lr=0.2,
                                         step_rule=FixedStep(norm_cap=1e-2), damping=FixedDamping(1e-3))),
    "nystrom": (lambda p: Nystrom(p, damping=1e-2, sketch_size=6),
                lambda p: NaturalGradient(p, solver=NystromSketch(6), damping=FixedDamping(1e-2))),
    "engd": (lambda p: ENGD(p, damping=1e-6, gramian_average=0.5),
             lambda p: NaturalGradient(p, solver=AveragedGramian(0.5), damping=FixedDamping(1e-6))),
    "sven": (lambda p: Sven(p, k=4, line_search=False, lr=0.3),
             lambda p: NaturalGradient(p, solver=TruncatedPseudoinverse(k=4), step_rule=FixedStep(), lr=0.3)),
}


@pytest.mark.parametrize("name", sorted(PAIRS))
def test_a_preset_is_its_parts(name):
    preset, composed = PAIRS[name]
    (a, opt_a), (b, opt_b) = run(preset), run(composed)
    assert torch.equal(a, b), name
    assert opt_a.diagnostics.keys() == opt_b.diagnostics.keys()


def test_the_composed_step_is_the_dense_damped_solve():
    x, y = problem()
    net = model()
    closure = PerSampleClosure(net, residual, x, y)
    r, J = closure.residuals_and_jacobian()
    theta = torch.cat([p.detach().reshape(-1) for p in net.parameters()])
    lam = 1e-3
    NaturalGradient(net.parameters(), solver=Cholesky("sample"), step_rule=FixedStep(), lr=1.0,
                    damping=FixedDamping(lam)).step(closure)
    dense = theta - J.T @ torch.linalg.solve(J @ J.T + lam * torch.eye(len(r)), r)
    assert torch.allclose(torch.cat([p.detach().reshape(-1) for p in net.parameters()]), dense, rtol=1e-10, atol=1e-12)


def test_spring_momentum_is_the_closest_direction_to_the_last():
    """φ_k = μφ_{k−1} + Jᵀ(K + λI)⁻¹(r − μJφ_{k−1}) = argmin ‖Jφ − r‖² + λ‖φ − μφ_{k−1}‖² (dense normal equations)."""
    from pinnsolve.optim.rows import Rows

    g = torch.Generator().manual_seed(2)
    J, r, previous = torch.randn(8, 5, generator=g), torch.randn(8, generator=g), torch.randn(5, generator=g)
    mu, lam = 0.6, 1e-2
    part, state = SpringMomentum(mu), {"phi": previous.clone(), "step": torch.tensor(3)}
    rows = Rows(r, J)
    target = part.target(rows, state)
    phi = part.combine(J.T @ torch.linalg.solve(J @ J.T + lam * torch.eye(8), target), state)
    reference = torch.linalg.solve(J.T @ J + lam * torch.eye(5), J.T @ r + lam * mu * previous)
    assert torch.allclose(phi, reference, rtol=1e-10, atol=1e-12)
    assert torch.allclose(part.applied(phi, state), phi / (1 - mu ** 6) ** 0.5, rtol=1e-14)
    assert torch.equal(NoMomentum().combine(phi, {}), phi)


def test_a_new_damping_rule_is_one_class_and_sees_the_step_s_outcome():
    """No subclass: a part with value/update (and observe for the gain ratio of the step taken)."""

    class HalvingDamping:
        adaptive = False

        def __init__(self):
            self.lam, self.ratios = 1e-2, []

        def init_state(self, state, reference):
            pass

        def value(self, state, rows, loss=None, fresh_points=False):
            return torch.tensor(self.lam, dtype=rows.dtype)

        def update(self, state, failed, eta, line_search, gain_ratio=None):
            self.lam /= 2

        def diagnostics(self, state, damping):
            return {"damping": damping}

        def observe(self, state, outcome):
            self.ratios.append(float(outcome.gain_ratio()))

    x, y = problem()
    net, damping = model(), HalvingDamping()
    opt = NaturalGradient(net.parameters(), solver=Cholesky(), step_rule=GridLineSearch(), damping=damping)
    closure = PerSampleClosure(net, residual, x, y)
    before = float(closure.objective(closure.residuals_and_jacobian()[0]))
    opt.step(closure)
    after = float(closure.objective(closure.residuals_and_jacobian()[0]))
    assert damping.lam == 5e-3 and float(opt.diagnostics["damping"]) == 1e-2
    assert len(damping.ratios) == 1 and damping.ratios[0] > 0 and after < before


def test_every_closure_implements_the_protocol():
    from doubles import LinearClosure
    from pinnsolve.engine import EngineClosure
    from pinnsolve.optim import Closure

    x, y = problem()
    assert isinstance(PerSampleClosure(model(), residual, x, y), Closure)
    assert isinstance(LinearClosure(torch.eye(3), torch.ones(3)), Closure)
    assert all(hasattr(EngineClosure, name) for name in ("residuals_and_jacobian", "objective", "losses_at"))
    assert not isinstance(lambda: 0.0, Closure)
