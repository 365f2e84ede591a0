"""The shared step rules: the grid line search, SPRING's norm cap, the gain ratio."""

import torch

from pinnsolve.optim.step_rules import gain_ratio, grid_line_search, norm_capped_step_size, step_grid

T = lambda v: torch.tensor(v, dtype=torch.float64)  # noqa: E731


class Quadratic:
    """L(θ) = ½‖θ − θ⋆‖²; counts calls so the test can check that all candidates go in one batch."""

    def __init__(self, target):
        self.target, self.calls = target, 0

    def losses_at(self, thetas):
        self.calls += 1
        return 0.5 * ((thetas - self.target) ** 2).sum(-1)


def test_line_search_picks_best_power_of_two_in_one_call():
    theta, target = T([1.0, 2.0]), T([0.0, 0.0])
    closure = Quadratic(target)
    phi = 4 * (theta - target)  # exact minimiser at η = 1/4
    eta, new_loss = grid_line_search(closure, theta, phi, closure.losses_at(theta[None])[0])
    assert closure.calls == 2 and eta.item() == 0.25 and new_loss.item() == 0.0
    assert step_grid(torch.float64, theta.device).tolist() == [2.0 ** -k for k in range(31)]


def test_line_search_takes_no_step_when_nothing_is_lower():
    theta = T([0.0, 0.0])
    closure = Quadratic(theta.clone())
    eta, new_loss = grid_line_search(closure, theta, T([1.0, -1.0]), T(0.0))
    assert eta.item() == 0.0 and new_loss.item() == 0.0


def test_line_search_ignores_nan_candidates():
    class NaNAtLargeSteps(Quadratic):
        def losses_at(self, thetas):
            out = super().losses_at(thetas)
            return torch.where(thetas[:, 0].abs() > 0.9, torch.full_like(out, float("nan")), out)

    theta = T([1.0])
    closure = NaNAtLargeSteps(T([0.0]))
    eta, new_loss = grid_line_search(closure, theta, T([-8.0]), T(0.5))  # every η pushes θ away
    assert eta.item() == 0.0 and new_loss.item() == 0.5
    eta, _ = grid_line_search(closure, theta, T([1.0]), T(0.5))
    assert eta.item() == 1.0  # θ = 0: the NaN region (|θ| > 0.9) excludes none of the useful steps


def test_norm_cap():
    phi = T([3.0, 4.0])  # ‖φ‖ = 5
    assert norm_capped_step_size(1.0, phi, norm_constraint=1.0).item() == 0.2
    assert norm_capped_step_size(0.1, phi, norm_constraint=1.0).item() == 0.1
    assert norm_capped_step_size(0.5, torch.zeros(2, dtype=torch.float64), norm_constraint=1e-3).item() == 0.5


def test_gain_ratio():
    # loss 1 → the model predicts 0.5; the actual loss decides ρ = (1 − new) / 0.5
    assert abs(gain_ratio(T(1.0), T(0.55), T(0.5)).item() - 0.9) < 1e-12
    assert gain_ratio(T(1.0), T(1.0), T(0.5)).item() == 0.0            # no decrease
    assert gain_ratio(T(1.0), T(float("nan")), T(0.5)).item() == 0.0   # a NaN loss counts as no decrease
    assert gain_ratio(T(1.0), T(0.9), T(1.0)).item() == 0.0            # the model predicts no decrease
    assert gain_ratio(T(1.0), T(2.0), T(0.5)).item() == -2.0


def test_the_cpu_walk_of_the_grid_finds_the_whole_grid_s_step():
    """On unimodal curves the sequential search (CPU) finds the batched argmin's η in at most 21 losses."""

    class Counting(Quadratic):
        sequential = True

        def losses_at(self, thetas):
            self.calls += len(thetas)
            return 0.5 * ((thetas - self.target) ** 2).sum(-1)

    for scale in (4.0, 1.0, 1 / 3, 1e-3, 1e-7, 2.0**-29.6):
        theta, target = T([1.0, 2.0]), T([0.0, 0.0])
        phi = (theta - target) / scale          # the exact minimiser at η = scale
        walk, batched = Counting(target), Quadratic(target)
        loss = batched.losses_at(theta[None])[0]
        eta_walk, loss_walk = grid_line_search(walk, theta, phi, loss)
        eta_all, loss_all = grid_line_search(batched, theta, phi, loss)
        assert eta_walk.item() == eta_all.item() and loss_walk.item() == loss_all.item(), scale
        assert walk.calls <= 21, (scale, walk.calls)
    walk = Counting(T([0.0]))
    assert grid_line_search(walk, T([0.0]), T([1.0]), T(0.0))[0].item() == 0.0 and walk.calls <= 21  # no decrease
