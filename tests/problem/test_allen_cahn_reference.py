"""The Allen–Cahn reference solver: ETDRK4 weights, order, resolution, the PDE itself, published data.

Every test runs on small or short problems (well under a second each on a 2-core CPU); the
full-grid self-convergence numbers are in the module docstring of ``allen_cahn.py``.
"""

from math import factorial

import numpy as np
import pytest
import scipy.linalg

from pinnsolve.problems.references import allen_cahn as ac


def phi(k, z):
    """phi_k(z) = sum_j z^j / (j + k)!: the series for |z| < 2, else phi_k = (phi_{k-1} - 1/(k-1)!) / z."""
    z = np.asarray(z, dtype=complex)
    out = np.empty_like(z)
    small = abs(z) < 2
    j = np.arange(40)
    out[small] = (z[small, None] ** j / np.array([factorial(i + k) for i in j], dtype=float)).sum(axis=1)
    p = np.exp(z[~small])
    for i in range(1, k + 1):
        p = (p - 1 / factorial(i - 1)) / z[~small]
    out[~small] = p
    return out


@pytest.mark.parametrize("imag", [0.0, 3.0])
def test_contour_weights_match_the_phi_functions(imag):
    # Q = h/2 phi1(z/2), f1 = h(phi1 - 3 phi2 + 4 phi3), f2 = h(phi2 - 2 phi3), f3 = h(-phi2 + 4 phi3)
    h = 0.7
    L = np.append(-np.logspace(-8, 4, 60), 0.0)
    L = L + 1j * imag * np.sign(L) if imag else L
    E, E2, Q, f1, f2, f3 = ac.etdrk4_coefficients(L, h)
    z = h * L
    p1, p2, p3 = phi(1, z), phi(2, z), phi(3, z)
    expected = {"Q": h / 2 * phi(1, z / 2), "f1": h * (p1 - 3 * p2 + 4 * p3), "f2": h * (p2 - 2 * p3), "f3": h * (4 * p3 - p2)}
    for name, got in {"Q": Q, "f1": f1, "f2": f2, "f3": f3}.items():
        np.testing.assert_allclose(got, expected[name], rtol=1e-10, atol=0, err_msg=name)
    np.testing.assert_allclose(E, np.exp(z), rtol=1e-15)
    np.testing.assert_allclose(E2, np.exp(z / 2), rtol=1e-15)


def test_etdrk4_matches_expm_on_a_dense_linear_system_with_order_four():
    rng = np.random.default_rng(1)
    n = 8
    L = -20.0 * (np.arange(n) / (n - 1)) ** 2  # diagonal part, mildly stiff
    A = rng.standard_normal((n, n))
    A *= 2.0 / np.linalg.norm(A, 2)  # dense coupling, handled as the "nonlinear" term
    v0 = rng.standard_normal(n)
    exact = scipy.linalg.expm(np.diag(L) + A) @ v0
    errors = [abs(ac.etdrk4(v0, L, lambda v: A @ v, [0.0, 1.0], dt)[-1] - exact).max() for dt in (0.1, 0.05, 0.025)]
    assert errors[-1] < 1e-5  # measured 4.5e-7
    for coarse, fine in zip(errors, errors[1:]):
        assert 12 < coarse / fine < 20  # measured 15.2, 15.9: 2^4 = 16


def test_fourier_modes_evolve_exactly_without_and_with_a_linear_reaction():
    modes = 64
    L, _ = ac.allen_cahn_rhs(modes)
    v0 = ac.initial_coefficients(modes)
    t = np.array([0.0, 0.5, 1.0])
    V = ac.etdrk4(v0, L, lambda v: 0 * v, t, dt=0.1)  # pure diffusion: exp(-1e-4 k^2 t) per mode
    np.testing.assert_allclose(V, v0 * np.exp(np.outer(t, L)), rtol=0, atol=1e-13)
    exact = v0 * np.exp(np.outer(t, L + 5))  # u_t = 1e-4 u_xx + 5u, the 5u through the weights
    errors = [abs(ac.etdrk4(v0, L, lambda v: 5 * v, t, dt)[-1] - exact[-1]).max() / abs(exact).max() for dt in (0.02, 0.01)]
    assert errors[-1] < 1e-6 and 13 < errors[0] / errors[1] < 19  # measured 2.5e-7, 15.3


def test_fourier_series_is_evaluated_exactly_off_the_grid():
    def f(x):  # band-limited for 32 points, the Nyquist cosine (m = 16) included
        return np.stack([np.cos(3 * np.pi * x) + 0.5 * np.sin(7 * np.pi * x), 0.25 * np.cos(16 * np.pi * x) - 1])

    V = np.fft.rfft(f(np.linspace(-1, 1, 33)[:-1]))
    x = np.random.default_rng(0).uniform(-1, 1, 50)
    np.testing.assert_allclose(ac.fourier_eval(V, 32, x), f(x), rtol=0, atol=1e-13)


def test_time_convergence_is_fourth_order_on_allen_cahn():
    x = np.linspace(-1, 1, 257)[:-1]

    def u_end(dt):
        return ac.allen_cahn_solution(x=x, t=[0.0, 0.25], dt=dt, modes=256, startup_modes=256)[2][-1]

    reference = u_end(0.25 / 256)
    errors = [abs(u_end(dt) - reference).max() for dt in (0.25 / 8, 0.25 / 16, 0.25 / 32)]
    assert errors[-1] < 1e-7  # measured 1.2e-8
    for coarse, fine in zip(errors, errors[1:]):
        assert coarse / fine > 10  # measured 13.3, 14.5 (order ~3.8)


def test_two_resolutions_agree():
    t = [0.0, 0.005, 0.05, 0.1]
    coarse = ac.allen_cahn_solution(t=t, dt=1e-3, modes=1024, startup_modes=4096)[2]
    fine = ac.allen_cahn_solution(t=t, dt=1e-3, modes=2048, startup_modes=8192)[2]
    assert abs(coarse - fine).max() < 1e-9  # measured 4.7e-11


def test_the_solution_satisfies_the_pde():
    modes, t0, d = 1024, 0.5, 1e-3
    x = np.linspace(-1, 1, modes + 1)[:-1]
    t = np.array([0.0, t0 - 2 * d, t0 - d, t0, t0 + d, t0 + 2 * d])
    u = ac.allen_cahn_solution(x=x, t=t, dt=1e-3, modes=modes, startup_modes=4096)[2]
    u_t = (u[1] - 8 * u[2] + 8 * u[4] - u[5]) / (12 * d)  # fourth-order central difference
    k = np.pi * np.arange(modes // 2 + 1)
    u_xx = np.fft.irfft(-(k**2) * np.fft.rfft(u[3]), n=modes)
    residual = u_t - 1e-4 * u_xx + 5 * u[3] ** 3 - 5 * u[3]
    assert abs(residual).max() < 1e-7  # measured 3.5e-10; u_t reaches 1.9, a wrong sign gives 2e-2


def test_initial_condition_and_its_exact_coefficients():
    x, t, u = ac.allen_cahn_solution(t=[0.0, 0.005], modes=256, startup_modes=1024)
    np.testing.assert_array_equal(u[0], x**2 * np.cos(np.pi * x))
    assert abs(u[1] - u[0]).max() < 0.05  # continuous in t
    fine = 2**16  # coefficients of samples on a fine grid: aliasing error ~ 1/fine^2
    sampled = np.fft.rfft(ac.initial_condition(np.linspace(-1, 1, fine + 1)[:-1]))[:20] / fine
    np.testing.assert_allclose(ac.initial_coefficients(64)[:20] / 64, sampled, rtol=0, atol=1e-9)


def test_bounded_symmetric_and_close_to_raissi_ac_mat():
    x, t, u = ac.allen_cahn_solution(t=np.linspace(0, 1, 11), dt=2e-3, modes=1024, startup_modes=4096)
    assert abs(u).max() <= 1 + 1e-9  # maximum principle
    assert abs(u[:, 1:] - u[:, :0:-1]).max() < 1e-12  # u(x) = u(-x), as the initial condition
    # AC.mat of Raissi et al. (github.com/maziarraissi/PINNs, main/Data/AC.mat: Chebfun, 512
    # modes), entries uu[x, t]; its own error there is ~1e-6 (see the module docstring)
    points = {(0.0, 5): 0.0012164450648214364, (0.5, 5): -0.0038079628203968596, (0.25, 5): 0.4738321893083853,
              (-1.0, 5): -0.9998874854959158, (0.0, 10): 0.02957972234920425, (0.5, 10): -0.06407762203955325,
              (0.25, 10): 0.9884746503209177, (-1.0, 10): -0.9999988894533967}
    for (xi, ti), value in points.items():
        assert abs(u[ti, np.argmin(abs(x - xi))] - value) < 1e-5, (xi, t[ti])
