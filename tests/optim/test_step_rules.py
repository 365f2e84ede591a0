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


class Curve:
    """The loss along the line as a table over the grid's exponents: ``L(θ − 2⁻ᵏφ) = values[k]`` (θ = 0,
    φ = −1, so a candidate's exponent is read back from its first coordinate); counts the losses read."""

    sequential = True

    def __init__(self, values):
        self.values, self.calls = values, 0

    def losses_at(self, thetas):
        self.calls += len(thetas)
        k = torch.round(-torch.log2(thetas[:, 0])).long()
        return torch.as_tensor([self.values[int(j)] for j in k], dtype=torch.float64)


def _search(values, start, hint):
    curve = Curve(values)
    eta, new_loss = grid_line_search(curve, T([0.0]), T([-1.0]), T(start), hint=hint)
    return eta.item(), new_loss.item(), curve.calls


def test_the_cpu_search_from_the_last_step_s_exponent_finds_the_grid_s_best_in_a_few_losses():
    """A quadratic whose best η is 2⁻¹⁰: from a hint at, below or above it, the same η as the batched search,
    in 3 losses when the hint is right and one more per exponent it is off (plus the larger steps read up
    to where the loss doubles)."""
    exponents = torch.arange(31, dtype=torch.float64)
    values = (1 - torch.pow(2.0, 10 - exponents)) ** 2  # start 1, 0 at k = 10, 1 at k = 9, > 2 above
    for hint, most in ((10, 4), (13, 7), (4, 10), (30, 24)):
        eta, new_loss, calls = _search(values.tolist(), 1.0, hint)
        assert eta == 2.0**-10 and new_loss == 0.0, hint
        assert calls <= most, (hint, calls)
    assert _search(values.tolist(), 1.0, None)[:2] == (2.0**-10, 0.0)


def test_the_cpu_search_from_a_hint_does_not_stop_at_a_local_minimum_below_a_hump():
    """Seen on a SPRING run: a shallow minimum at k = 16 next to the hint, a hump above the start at
    k = 10…13 and the grid's best at k = 9. The larger steps are read until the loss doubles, so the
    search finds k = 9 as the batched one does; with nothing below the start it takes no step."""
    start = 44.71891588  # the run's losses at k = 8 … 19 (the hump is 1 400 times the decrease at k = 16 high)
    values = [1e12 / 4**k for k in range(8)] + [66.72506927, 42.25332728, 45.40986936, 45.46285255, 44.92376230,
                                                44.76388867, 44.72709487, 44.71954088, 44.71838192, 44.71844007,
                                                44.71862613, 44.71875810]
    values += [44.7188 + 1e-6 * k for k in range(31 - len(values))]
    eta, new_loss, _ = _search(values, start, hint=15)
    assert eta == 2.0**-9 and new_loss == 42.25332728
    eta, new_loss, _ = _search([start + 1.0] * 31, start, hint=15)
    assert eta == 0.0 and new_loss == start
