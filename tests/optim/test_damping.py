"""The damping rules (pinnsolve/optim/damping.py) on problems where the right answer is known."""

import pytest
import torch

from doubles import LinearClosure

from pinnsolve.optim import ENGD, ENGDW, SPRING
from pinnsolve.optim import damping as dr

T = lambda v: torch.tensor(v, dtype=torch.float64)  # noqa: E731


def least_squares(n, p, rank=None, seed=0):
    g = torch.Generator().manual_seed(seed)
    A = torch.randn(n, p, generator=g)
    if rank is not None:
        A = A[:, :rank] @ torch.randn(rank, p, generator=g)
    return A, torch.randn(n, generator=g)


@pytest.mark.parametrize("make", [lambda p: ENGDW(p), lambda p: SPRING(p, momentum=0.0, line_search=True), lambda p: ENGD(p)],
                         ids=["engd_w", "spring", "engd"])
@pytest.mark.parametrize("n,p", [(40, 10), (10, 40)])
def test_default_damping_solves_linear_least_squares_in_one_step(make, n, p):
    """λ = 1e-6·tr K/N is small against K's spectrum here: one step lands on the (min-norm) solution."""
    A, b = least_squares(n, p)
    theta = torch.nn.Parameter(torch.zeros(p))
    opt = make([theta])
    opt.step(LinearClosure(A, b, theta))
    solution = torch.linalg.pinv(A) @ b
    assert torch.linalg.norm(theta.detach() - solution) <= 1e-4 * torch.linalg.norm(solution)
    assert float(opt.diagnostics["step_size"]) == 1.0 and int(opt.diagnostics["cholesky_retries"]) == 0
    mu = opt.state[theta]["relative_damping"]
    assert float(mu) == pytest.approx(dr.INITIAL_RELATIVE_DAMPING / dr.FACTOR)  # a full step: trust more


def test_rank_deficient_least_squares_reaches_the_minimum_without_cholesky_failures():
    """K (N > P) and G (rank 4 < P) are singular; the relative damping keeps the solve well posed."""
    A, b = least_squares(60, 12, rank=4, seed=1)
    theta = torch.nn.Parameter(torch.zeros(12))
    closure = LinearClosure(A, b, theta)
    best = 0.5 * (A @ (torch.linalg.pinv(A) @ b) - b).square().sum()
    for space in ("sample", "parameter"):
        theta.data.zero_()
        opt = ENGDW([theta], space=space)
        for _ in range(3):
            opt.step(closure)
        loss = closure.objective(A @ theta.detach() - b)
        assert float(loss) == pytest.approx(float(best), rel=1e-8) and int(opt.diagnostics["cholesky_retries"]) == 0


def test_line_search_signal_moves_the_relative_damping():
    rule, state = dr.DampingRule("auto"), {}
    rule.init_state(state, T(0.0))
    J = torch.full((4, 3), 2.0, dtype=torch.float64)          # tr(JJᵀ)/N = 12
    assert float(rule.value(state, J)) == pytest.approx(12 * dr.INITIAL_RELATIVE_DAMPING)
    for eta, factor in [(1.0, 1 / 3), (0.25, 1 / 3), (0.125, 1.0), (1 / 32, 3.0), (0.0, 3.0)]:
        before = float(state["relative_damping"])
        rule.value(state, J)                                                   # the step, then its outcome
        rule.update(state, None, T(eta), line_search=True)
        assert float(state["relative_damping"]) == pytest.approx(before * factor), eta
    rule.update(state, torch.tensor(True), T(0.125), line_search=True)    # a failed Cholesky: ×10
    assert float(state["relative_damping"]) == pytest.approx(before * 3 * 10)


def test_gain_ratio_signal_and_bounds():
    rule, state = dr.DampingRule("auto"), {}
    rule.init_state(state, T(0.0))
    for ratio, factor in [(0.9, 1 / 3), (0.5, 1.0), (0.1, 3.0), (float("nan"), 3.0)]:
        before = float(state["relative_damping"])
        rule.update(state, None, T(0.1), line_search=False, gain_ratio=T(ratio))
        assert float(state["relative_damping"]) == pytest.approx(before * factor), ratio
    for _ in range(100):
        rule.update(state, None, T(1.0), line_search=True)
    assert float(state["relative_damping"]) == dr.MIN_RELATIVE
    for _ in range(100):
        rule.update(state, torch.tensor(True), T(0.0), line_search=True)
    assert float(state["relative_damping"]) == dr.MAX_RELATIVE


def test_a_given_start_is_absolute_and_a_fixed_damping_stays():
    J = torch.full((4, 3), 2.0, dtype=torch.float64)
    adaptive, state = dr.DampingRule(1e-3, adaptive=True), {}
    adaptive.init_state(state, T(0.0))
    assert float(adaptive.value(state, J)) == pytest.approx(1e-3)           # λ₀ as given, then relative
    assert float(state["relative_damping"]) == pytest.approx(1e-3 / 12)
    fixed, state = dr.DampingRule(1e-3), {}
    fixed.init_state(state, T(0.0))
    fixed.update(state, None, T(1.0), line_search=True)
    assert float(fixed.value(state, J)) == 1e-3
    fixed.update(state, torch.tensor(True), T(1.0), line_search=True)
    assert float(fixed.value(state, J)) == pytest.approx(1e-2)               # a Cholesky failure still boosts it


def test_with_fresh_points_the_damping_never_falls_below_a_fraction_of_the_loss():
    J = torch.full((4, 3), 2.0, dtype=torch.float64)                          # tr(JJᵀ)/N = 12
    rule, state = dr.DampingRule("auto"), {}
    rule.init_state(state, T(0.0))
    relative = 12 * dr.INITIAL_RELATIVE_DAMPING
    assert float(rule.value(state, J, T(100.0), fresh_points=False)) == pytest.approx(relative)
    assert float(rule.value(state, J, T(100.0), fresh_points=True)) == pytest.approx(dr.LOSS_FLOOR * 100.0)
    assert float(rule.value(state, J, T(1e-6), fresh_points=True)) == pytest.approx(relative)  # vanishes with r
    fixed, state = dr.DampingRule(1e-9), {}
    fixed.init_state(state, T(0.0))
    assert float(fixed.value(state, J, T(100.0), fresh_points=True)) == 1e-9    # a fixed λ is what it says


def test_where_the_floor_holds_the_damping_up_a_poor_step_raises_it_from_there():
    J = torch.full((4, 3), 2.0, dtype=torch.float64)                          # tr(JJᵀ)/N = 12
    rule, state = dr.DampingRule("auto"), {}
    rule.init_state(state, T(0.0))
    for _ in range(30):                                                        # good steps: μ to its bound
        rule.value(state, J, T(1.0), fresh_points=True)
        rule.update(state, None, T(1.0), line_search=True)
    assert float(state["relative_damping"]) == dr.MIN_RELATIVE
    held = float(rule.value(state, J, T(1.0), fresh_points=True))
    assert held == pytest.approx(dr.LOSS_FLOOR)                                # the floor sets λ
    rule.update(state, None, T(0.0), line_search=True)                          # a refused step
    assert float(rule.value(state, J, T(1.0), fresh_points=True)) == pytest.approx(dr.FACTOR * held)
    rule.update(state, torch.tensor(True), T(0.125), line_search=True)          # a failed Cholesky
    assert float(rule.value(state, J, T(1.0), fresh_points=True)) == pytest.approx(dr.FACTOR * dr.FAILURE_FACTOR * held)


def test_the_loss_floor_is_a_setting_checked_and_said_when_ignored():
    from pinnsolve.errors import HyperParameterError

    J = torch.full((4, 3), 2.0, dtype=torch.float64)
    rule, state = dr.DampingRule("auto", loss_floor=0.0), {}
    rule.init_state(state, T(0.0))
    assert float(rule.value(state, J, T(100.0), fresh_points=True)) == pytest.approx(12 * dr.INITIAL_RELATIVE_DAMPING)
    theta = torch.nn.Parameter(torch.zeros(3))
    assert ENGDW([theta], loss_floor=1e-2).damping_rule.loss_floor == 1e-2
    for make in (lambda: ENGDW([theta], loss_floor=-1.0), lambda: ENGD([theta], loss_floor=-1.0)):
        with pytest.raises(HyperParameterError, match="loss_floor"):
            make()
    with pytest.warns(UserWarning, match="loss_floor=0.0 is read only by the adaptive damping"):
        SPRING([theta], damping=1e-8, loss_floor=0.0)


@pytest.mark.parametrize("resample,floor", [(True, 1e-4), (False, 1e-4), (True, 0.0)])
def test_the_trainer_tells_the_damping_whether_its_points_are_fresh(tmp_path, resample, floor):
    import csv

    from pinnsolve import compose_config
    from pinnsolve.cli import run

    cfg = compose_config(["problem=poisson5d", "problem.n_interior=40", "problem.n_boundary=20", "model.hidden=[16]",
                          "optimizer=engd_w", "trainer.max_steps=25", "trainer.log_every=1", f"trainer.resample={resample}",
                          f"optimizer.loss_floor={floor}",
                          "trainer.progress=false", "trainer.plots=false"])
    run(cfg, tmp_path)
    rows = [r for r in csv.DictReader(open(tmp_path / "metrics.csv")) if r["damping"]]
    ratio = [float(r["damping"]) / float(r["loss"]) for r in rows]
    if resample and floor > 0:
        assert min(ratio) >= dr.LOSS_FLOOR * (1 - 1e-9)
        assert any(r == pytest.approx(dr.LOSS_FLOOR, rel=1e-9) for r in ratio)   # the floor did hold λ up
    else:
        assert min(ratio) < 0.1 * dr.LOSS_FLOOR                                # fixed points or loss_floor=0: none


def test_lack_of_progress_is_named_once_with_its_cause():
    from pinnsolve.training.health import WINDOW, RunHealth

    def feed(losses, sizes, retries=None):
        health, said = RunHealth(), []
        for i, (loss, size) in enumerate(zip(losses, sizes)):
            diagnostics = {"step_size": size, "cholesky_retries": float(retries[i]) if retries else 0.0}
            code = health.watch(10 * i, loss, diagnostics)
            if code:
                said.append((10 * i, code))
        return said

    n = 3 * WINDOW // 10
    assert feed([10.0 * 0.5**i for i in range(n)], [1.0] * n) == []                       # healthy
    assert feed([1.0] * n, [0.0] * n) == [(WINDOW, "rejected")]                            # said once, not again
    assert feed([1.0 - 1e-6 * i for i in range(n)], [1e-9] * n) == [(WINDOW, "tiny_steps")]
    assert feed([10.0 * 0.5**i for i in range(n)], [0.5] * n, retries=range(n)) == [(WINDOW, "cholesky")]
    stalled = [10.0 * 0.5**i for i in range(5)] + [10.0 * 0.5**5] * (n - 5)
    said = feed(stalled, [0.5] * n)
    assert [code for _, code in said] == ["stalled"] and said[0][0] >= 40 + WINDOW
    assert "optimizer.damping=auto" in RunHealth.explain("stalled")
    drifting = [100.0, 50.0] + [50.0 * 1.5**i for i in range(n - 2)]   # fresh points each step: accepted steps, loss up
    said = feed(drifting, [0.5] * n)
    assert [code for _, code in said] == ["stalled", "rising"], said        # the best stalls first, then the drift shows
    assert "optimizer.damping=1e-2" in RunHealth.explain("rising") and "problem.n_interior" in RunHealth.explain("rising")
    noisy = [100.0, 50.0] + [50.0 * (3.0 if i % 2 else 1.0) for i in range(n - 2)]   # noisy batches, no drift
    assert "rising" not in [code for _, code in feed(noisy, [0.5] * n)]


def test_health_loads_a_history_saved_before_it_kept_the_raw_loss():
    from pinnsolve.training.health import RunHealth

    health = RunHealth()
    health.load_state_dict({"initial_loss": 1.0, "best_loss": 0.5, "history": [[10, 0.5, 1.0, 0.0]], "active": []})
    assert health.history == [(10, 0.5, 1.0, 0.0, 0.5)]
    said = [health.watch(step, 10.0, {"step_size": 1.0}) for step in range(20, 80, 10)]
    assert "rising" in said                                   # the loaded entry is the anchor: 10 is 20× its 0.5


def test_a_run_without_progress_says_so_in_its_files(tmp_path):
    import csv
    import json

    from pinnsolve import compose_config
    from pinnsolve.cli import run

    cfg = compose_config(["problem.n_interior=30", "problem.n_boundary=10", "optimizer=sgd", "optimizer.lr=1e-12",
                          "trainer.max_steps=80", "trainer.log_every=5", "trainer.progress=false", "trainer.plots=false"])
    summary = run(cfg, tmp_path)
    assert any("has not improved by 0.1 %" in note for note in summary["notices"]), summary["notices"]
    rows = list(csv.DictReader(open(tmp_path / "metrics.csv")))
    assert [r["warning"] for r in rows if r.get("warning")] == ["stalled"]
    assert json.loads((tmp_path / "summary.json").read_text())["notices"] == summary["notices"]


@pytest.mark.parametrize("method", ["engd_w", "spring"])
def test_the_default_trains_a_new_nonlinear_problem_with_fresh_points(tmp_path, method):
    """A smoke test of the defaults on a new problem (not of the floor alone, which the tests above pin
    down): nonlinear_disk (−Δu + u³ = f on a disk, points redrawn every step), 60 steps: l2_rel 4e-4 –
    2e-3 measured on seeds 0 and 1 (Adam: 1.3e-2 after 3 minutes); no lack of progress said."""
    from pinnsolve import compose_config
    from pinnsolve.cli import run

    cfg = compose_config(["problem=nonlinear_disk", f"optimizer={method}", "trainer.max_steps=60", "trainer.log_every=20",
                          "trainer.progress=false", "trainer.plots=false"])
    summary = run(cfg, tmp_path)
    assert summary["status"] == "finished" and summary["final"]["l2_rel"] < 1e-2, summary["final"]
    assert not summary["notices"], summary["notices"]
