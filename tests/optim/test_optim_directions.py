"""Fast paths against dense references in float64: every method's direction on a random (r, J)."""

import pytest
import torch

from doubles import LinearClosure
from pinnsolve.optim import kernel as kn
from pinnsolve.optim import sketch, svd
from pinnsolve.optim.rows import Rows


def rows(n=40, p=120, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, generator=g), torch.randn(n, p, generator=g)


def direction(opt_cls, r, J, **kw):
    """φ such that the optimizer moves θ ← θ − φ (fixed lr = 1, no line search)."""
    theta = torch.nn.Parameter(torch.zeros(J.shape[1]))
    opt = opt_cls([theta], lr=1.0, line_search=False, **kw)
    opt.step(LinearClosure.of_rows(r, J))
    return -theta.detach()


def rel(a, b):
    return float((a - b).norm() / b.norm())


def test_engd_w_equals_dense_engd():
    from pinnsolve.optim import ENGD, ENGDW

    r, J = rows()
    # tolerance ~ cond(G + λI)·eps: 1e-10 for λ ≥ 1e-3, the conditioning of the dense solve below that
    for damping, tol in ((1e-1, 1e-10), (1e-3, 1e-10), (1e-8, 1e-5)):
        dense = torch.linalg.solve(J.T @ J + damping * torch.eye(J.shape[1]), J.T @ r)
        assert rel(direction(ENGD, r, J, damping=damping), dense) < tol
        assert rel(direction(ENGDW, r, J, damping=damping), dense) < tol


def test_spring_momentum_zero_equals_engd_w_and_momentum_formula():
    from pinnsolve.optim import ENGDW, SPRING

    r, J = rows()
    base = direction(ENGDW, r, J, damping=1e-6)
    assert rel(direction(SPRING, r, J, damping=1e-6, momentum=0.0, norm_constraint=None), base) < 1e-12
    # two SPRING steps on fixed rows: φ₂ = μφ₁ + Jᵀ(K+λI)⁻¹(r − μJφ₁), applied d₂ = φ₂/√(1−μ⁴)
    mu, lam = 0.5, 1e-3
    theta = torch.nn.Parameter(torch.zeros(J.shape[1]))
    opt = SPRING([theta], lr=1.0, damping=lam, momentum=mu, norm_constraint=None)
    opt.step(LinearClosure.of_rows(r, J))
    first = -theta.detach().clone()
    K = J @ J.T + lam * torch.eye(J.shape[0])
    phi1 = J.T @ torch.linalg.solve(K, r)
    assert rel(first, phi1 / (1 - mu**2) ** 0.5) < 1e-10
    opt.step(LinearClosure.of_rows(r, J))
    phi2 = mu * phi1 + J.T @ torch.linalg.solve(K, r - mu * J @ phi1)
    assert rel(-theta.detach() - first, phi2 / (1 - mu**4) ** 0.5) < 1e-10


@pytest.mark.parametrize("sequential", [True, False])
def test_spring_with_the_line_search_keeps_the_step_taken_as_momentum(sequential):
    """φ_k = μ·η_{k−1}φ_{k−1} + Jᵀ(K+λI)⁻¹(r_k − μJη_{k−1}φ_{k−1}), θ ← θ − η_kφ_k/√(1−μ^{2k}): with a fixed
    step (η = 1) the recursion of the test above; with the line search the momentum is the step taken."""
    from pinnsolve.optim import SPRING

    r0, J = rows(n=30, p=50, seed=3)
    mu, lam = 0.9, 1e-3  # the bias correction 1/√(1−μ²) makes the first step 2.3× too long: the search halves it
    theta = torch.nn.Parameter(torch.zeros(J.shape[1]))
    opt = SPRING([theta], damping=lam, momentum=mu, line_search=True)
    closure = LinearClosure(-J, -r0, theta)   # r(θ) = r₀ − Jθ
    closure.sequential = sequential
    K = J @ J.T + lam * torch.eye(J.shape[0])
    momentum, etas = torch.zeros(J.shape[1]), []
    for k in (1, 2, 3):
        before = theta.detach().clone()
        r = r0 - J @ before
        opt.step(closure)
        eta = float(opt.diagnostics["step_size"])
        etas.append(eta)
        phi = mu * momentum - J.T @ torch.linalg.solve(K, r + mu * J @ momentum)  # the closure's ∂r/∂θ is −J
        assert rel(theta.detach() - before, -eta * phi / (1 - mu ** (2 * k)) ** 0.5) < 1e-9, k
        assert rel(opt.state[theta]["phi"], eta * phi) < 1e-9, k
        momentum = eta * phi
    assert etas[0] == 0.5 and all(0 < eta <= 1 for eta in etas), etas  # a shortened step: the case of the rule


def test_spring_norm_cap():
    from pinnsolve.optim import SPRING

    r, J = rows()
    step = direction(SPRING, r, J, damping=1e-6, momentum=0.0, norm_constraint=1e-6)
    assert abs(float(step.norm()) - 1e-3) < 1e-12


@pytest.mark.parametrize("variant", sketch.VARIANTS)
def test_nystrom_full_sketch_equals_exact_solve(variant):
    r, J = rows(30, 80)
    lam = 1e-3
    exact = torch.linalg.solve(J @ J.T + lam * torch.eye(30), r)
    for size in (30, 1.0):
        x, failed = sketch.nystrom_solve(J, r, lam, size, variant, shift="relative")
        assert not failed and rel(x, exact) < 1e-8
    x, _ = sketch.nystrom_solve(J, r, lam, 30, variant, shift=1e-7)   # the authors' absolute shift
    assert rel(x, exact) < 1e-3


@pytest.mark.parametrize("variant", sketch.VARIANTS)
def test_nystrom_exact_on_low_rank_kernel(variant):
    g = torch.Generator().manual_seed(1)
    J = torch.randn(50, 6, generator=g) @ torch.randn(6, 90, generator=g)   # rank 6 < ℓ = 10
    r = torch.randn(50, generator=g)
    exact = torch.linalg.solve(J @ J.T + 1e-2 * torch.eye(50), r)
    x, _ = sketch.nystrom_solve(J, r, 1e-2, 10, variant)
    assert rel(x, exact) < 1e-7


def test_sven_full_rank_equals_min_norm_least_squares():
    from pinnsolve.optim import Sven

    r, J = rows(40, 120)
    min_norm = torch.linalg.pinv(J) @ r
    for mode in svd.SVD_MODES:
        if mode == "lobpcg":
            continue  # needs k ≤ N/3: tested on a truncated problem below
        phi = direction(Sven, r, J, k=40, rtol=0.0, svd_mode=mode)
        assert rel(phi, min_norm) < 1e-8, mode


@pytest.mark.parametrize("mode", [m for m in svd.SVD_MODES if m != "torch"])
def test_every_svd_mode_agrees_with_torch_mode_when_truncated(mode):
    g = torch.Generator().manual_seed(2)
    # a clear spectral gap after 5 values, so the top-5 subspace is well determined
    U, _ = torch.linalg.qr(torch.randn(60, 60, generator=g))
    V, _ = torch.linalg.qr(torch.randn(150, 60, generator=g))
    S = torch.cat([torch.tensor([10.0, 8.0, 6.0, 5.0, 4.0]), 1e-3 * torch.rand(55, generator=g)])
    J = U @ torch.diag(S) @ V.T
    r = torch.randn(60, generator=g)
    torch.manual_seed(0)
    reference = direction(__import__("pinnsolve.optim", fromlist=["Sven"]).Sven, r, J, k=5, rtol=0.0, svd_mode="torch")
    phi = direction(__import__("pinnsolve.optim", fromlist=["Sven"]).Sven, r, J, k=5, rtol=0.0, svd_mode=mode)
    assert rel(phi, reference) < (1e-5 if mode == "lobpcg" else 1e-8)


def test_sven_rtol_truncation_and_rank_diagnostic():
    from pinnsolve.optim import Sven

    U, _ = torch.linalg.qr(torch.randn(20, 20))
    V, _ = torch.linalg.qr(torch.randn(50, 20))
    S = torch.logspace(0, -6, 20)
    J, r = U @ torch.diag(S) @ V.T, torch.randn(20)
    theta = torch.nn.Parameter(torch.zeros(50))
    opt = Sven([theta], lr=1.0, k=20, rtol=1e-3, line_search=False)
    opt.step(LinearClosure.of_rows(r, J))
    kept = int((S > 1e-3).sum())
    assert int(opt.diagnostics["rank"]) == kept
    expected = V[:, :kept] @ ((U[:, :kept].T @ r) / S[:kept])
    assert rel(-theta.detach(), expected) < 1e-8


def test_sven_fallbacks_zero_jacobian_k_above_n_nan_residual():
    from pinnsolve.optim import Sven

    theta = torch.nn.Parameter(torch.ones(30))
    for mode in ("kernel", "torch", "randomized", "randomized_v2"):
        opt = Sven([theta], k=100, svd_mode=mode)
        opt.step(LinearClosure.of_rows(torch.randn(10), torch.zeros(10, 30)))
        assert torch.equal(theta.detach(), torch.ones(30)) and int(opt.diagnostics["rank"]) == 0
    r = torch.randn(10)
    r[3] = float("nan")
    Sven([theta], k=5).step(LinearClosure.of_rows(r, torch.randn(10, 30)))
    assert torch.equal(theta.detach(), torch.ones(30))
    with pytest.warns(UserWarning, match="k <= N/3"):
        Sven([theta], k=5, svd_mode="lobpcg").step(LinearClosure.of_rows(torch.randn(10), torch.randn(10, 30)))
    assert torch.isfinite(theta).all()


def test_microbatch_sums_rows():
    r, J = rows(10, 7)
    summed = Rows(r, J).summed_in_groups(r, 4)
    rm, Jm = summed.r, summed.dense()
    assert rm.shape == (3,) and torch.allclose(rm[2], r[8:].sum()) and torch.allclose(Jm[1], J[4:8].sum(0))


def test_cholesky_failure_is_finite_counted_and_raises_damping():
    from pinnsolve.optim import ENGDW

    J = torch.randn(6, 3).repeat(1, 1)
    J = torch.cat([J, J], 0)                                 # rank 3 kernel of size 12
    K = J @ J.T
    K[0, 1] = K[1, 0] = K[0, 1] + 1.0                      # make K + λI indefinite
    x, failed = kn.damped_solve(K, torch.ones(12), 1e-12)
    assert bool(failed) and torch.isfinite(x).all()
    theta = torch.nn.Parameter(torch.zeros(3))
    opt = ENGDW([theta], damping=1e-300, line_search=False, space="sample")
    opt.step(LinearClosure.of_rows(torch.randn(12), J))
    assert torch.isfinite(theta).all()
    assert int(opt.diagnostics["cholesky_retries"]) == 1          # K has rank 3 < 12: λ = 1e-300 fails
    assert float(opt.state[theta]["damping_boost"]) == 10.0
    opt.step(LinearClosure.of_rows(torch.randn(12), J))
    assert float(opt.diagnostics["damping"]) == pytest.approx(1e-299) and torch.isfinite(theta).all()


@pytest.mark.parametrize("n,p", [(40, 120), (120, 40)])
def test_damped_least_squares_is_the_same_in_both_spaces(n, p):
    """Jᵀ(K + λI)⁻¹g = (G + λI)⁻¹Jᵀg: the kernel and Gramian solves agree with a dense float64 solve."""
    g_, J = rows(n, p)
    for damping in (1e-2, 1e-6):
        dense = torch.linalg.solve(J.T @ J + damping * torch.eye(p), J.T @ g_)
        condition = float(torch.linalg.matrix_norm(J, 2) ** 2 + damping) / damping
        tol = 50 * torch.finfo(torch.float64).eps * condition   # both solves are only this accurate
        for space in ("sample", "parameter", "auto"):
            phi, failed = kn.damped_least_squares(J, g_, damping, space)
            assert not failed and rel(phi, dense) < tol, (space, damping)


def test_auto_space_is_stable_when_n_exceeds_p():
    """N > P, λ → 0: the kernel solve amplifies rounding by 1/λ; the automatic (Gramian) solve does not."""
    g = torch.Generator().manual_seed(3)
    A, b = torch.randn(30, 5, generator=g), torch.randn(30, generator=g)
    exact = torch.linalg.lstsq(A, b[:, None]).solution[:, 0]
    phi, failed = kn.damped_least_squares(A, b, 1e-12, "auto")
    assert not failed and rel(phi, exact) < 1e-10


def test_sven_gramian_and_kernel_routes_agree():
    for n, p in ((40, 120), (120, 40)):
        r, J = rows(n, p, seed=4)
        a, rank_a = kn.truncated_pinv_direction(J, r, k=15, rtol=1e-3, space="sample")
        b, rank_b = kn.truncated_pinv_direction(J, r, k=15, rtol=1e-3, space="parameter")
        assert int(rank_a) == int(rank_b) == 15 and rel(a, b) < 1e-8


@pytest.mark.parametrize("n", [100, 700])
def test_gram_lower_fills_the_lower_triangle_of_a_a_transposed(n):
    A = torch.randn(n, 300, generator=torch.Generator().manual_seed(n))
    K = kn.gram_lower(A)
    dense = A @ A.T
    assert torch.allclose(torch.tril(K), torch.tril(dense), rtol=1e-12, atol=1e-10)
    x, failed = kn.damped_solve(K, torch.ones(n), 1e-3)          # reads the lower triangle only
    assert not failed and torch.allclose(x, torch.linalg.solve(dense + 1e-3 * torch.eye(n), torch.ones(n)), rtol=1e-6)


def test_effective_dimension():
    r, J = rows(20, 50)
    evals = torch.linalg.eigvalsh(J @ J.T)
    assert torch.allclose(kn.effective_dimension(J @ J.T, 1.0), (evals / (evals + 1)).sum())


def _decaying_spectrum(seed: int, decades: int):
    """``r: [200]`` and a rank-150 ``J: [200, 400]`` whose singular values fall over ``decades`` decades (as a PINN's)."""
    g = torch.Generator().manual_seed(seed)
    U, _ = torch.linalg.qr(torch.randn(200, 200, generator=g))
    J = U[:, :150] @ torch.diag(torch.logspace(0, -decades, 150)) @ torch.randn(150, 400, generator=g) / 20
    return torch.randn(200, generator=g), J


@pytest.mark.parametrize("preconditioner", ["nystrom", "none"])
def test_cg_solves_to_its_tolerance_and_the_preconditioner_saves_products(preconditioner):
    """Matrix-free CG on (K + λI)x = g agrees with the Cholesky direction; the Nyström preconditioner
    needs far fewer products on a kernel with a decaying spectrum (as a PINN's)."""
    from pinnsolve.optim.rows import Rows
    from pinnsolve.optim.solvers import ConjugateGradient, Cholesky

    r, J = _decaying_spectrum(seed=7, decades=8)
    damping = torch.tensor(1e-6)
    exact, _, _ = Cholesky("sample")(Rows(r, J), r, damping)
    torch.manual_seed(0)
    phi, failed, info = ConjugateGradient(tol=1e-10, max_iters=2000, preconditioner=preconditioner, sketch_size=60)(
        Rows(r, J), r, damping)
    assert not failed and float(info["cg_residual"]) <= 1e-10
    condition = float((J @ J.T).norm(2) / damping)
    assert rel(phi, exact) <= 1e-10 * condition
    iterations = int(info["cg_iterations"])
    if preconditioner == "nystrom":
        torch.manual_seed(0)
        _, _, plain = ConjugateGradient(tol=1e-10, max_iters=2000, preconditioner="none")(Rows(r, J), r, damping)
        assert 5 * iterations <= int(plain["cg_iterations"]), (iterations, int(plain["cg_iterations"]))


def test_every_solver_of_the_composed_optimizer_gives_the_cholesky_direction():
    from pinnsolve.optim import ENGDW, SPRING

    r, J = rows(40, 120)
    reference = direction(ENGDW, r, J, damping=1e-3)
    for solver, extra in [("cg", dict(tol=1e-12)), ("nystrom", dict(sketch_size=1.0))]:
        if solver == "nystrom":
            with pytest.warns(UserWarning, match="the whole kernel"):
                got = direction(ENGDW, r, J, damping=1e-3, solver=solver, **extra)
        else:
            got = direction(ENGDW, r, J, damping=1e-3, solver=solver, **extra)
        assert rel(got, reference) < 1e-8, solver
    spring = direction(SPRING, r, J, damping=1e-3, momentum=0.0, norm_constraint=None, solver="cg", tol=1e-12)
    assert rel(spring, reference) < 1e-8


class _MatrixFreeRows:
    """The operator side of Rows only: products, kernel and Gramian, reductions; reading ``.J`` fails.

    A matrix-free or distributed J can stand in for Rows exactly when the solvers keep to this."""

    def __init__(self, r, J):
        from pinnsolve.optim.rows import Rows

        self._rows = Rows(r, J)
        self.r = r

    def __getattr__(self, name):
        if name == "J":
            raise AssertionError("a solver read rows.J")
        return getattr(self._rows, name)


@pytest.mark.parametrize("make", ["cholesky_sample", "cholesky_parameter", "nystrom", "cg"])
def test_solvers_use_only_the_operator_interface_of_the_rows(make):
    from pinnsolve.optim.rows import Rows
    from pinnsolve.optim.solvers import ConjugateGradient, Cholesky, NystromSketch

    solver = {"cholesky_sample": lambda: Cholesky("sample"), "cholesky_parameter": lambda: Cholesky("parameter"),
              "nystrom": lambda: NystromSketch(0.5), "cg": lambda: ConjugateGradient(tol=1e-12)}[make]
    r, J = rows(30, 50)
    damping = torch.tensor(1e-3, dtype=torch.float64)
    torch.manual_seed(3)
    plain, _, _ = solver()(Rows(r, J), r, damping)
    torch.manual_seed(3)
    free, _, _ = solver()(_MatrixFreeRows(r, J), r, damping)
    assert torch.allclose(free, plain, rtol=1e-12, atol=1e-14)
    if make != "nystrom":  # (a sketch of half a full-rank kernel is no approximation of its solve)
        dense = J.T @ torch.linalg.solve(J @ J.T + damping * torch.eye(30, dtype=torch.float64), r)
        assert rel(plain, dense) < 1e-8


def test_cg_grows_its_sketch_until_it_converges_within_max_iters_and_keeps_it():
    """A flat tail of the spectrum that a 5-column sketch cannot resolve in 20 products: the sketch doubles
    until CG converges within 20, the direction is Cholesky's to 1e-8, the next step starts from that
    sketch (one attempt), and easy steps shrink it back towards sketch_size."""
    from pinnsolve.optim.rows import Rows
    from pinnsolve.optim.solvers import ConjugateGradient, Cholesky

    r, J = _decaying_spectrum(seed=3, decades=4)
    damping = torch.tensor(1e-6)
    exact, _, _ = Cholesky("sample")(Rows(r, J), r, damping)
    solver, state = ConjugateGradient(tol=1e-10, max_iters=20, sketch_size=5), {}
    torch.manual_seed(0)
    phi, failed, info = solver(Rows(r, J), r, damping, state)
    assert not failed and float(info["cg_residual"]) <= 1e-10 and int(info["cg_iterations"]) <= 20
    assert int(info["cg_attempts"]) > 1 and state["cg_sketch"] > 5
    assert rel(phi, exact) <= 1e-8
    grown = state["cg_sketch"]
    _, _, again = solver(Rows(r, J), r, damping, state)
    assert int(again["cg_attempts"]) == 1 and int(again["cg_iterations"]) <= 20
    assert 5 <= state["cg_sketch"] <= grown
    _, _, fixed = ConjugateGradient(tol=1e-10, max_iters=20, sketch_size=5, preconditioner="none")(Rows(r, J), r, damping)
    assert float(fixed["cg_residual"]) > 1e-10  # without the growing sketch, 20 products are not enough
