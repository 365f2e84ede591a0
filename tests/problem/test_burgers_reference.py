"""The Cole–Hopf reference for viscous Burgers (``problems/references/burgers.py``).

Checked against the classical slope at the shock (Basdevant et al. 1986), against 40-digit mpmath
quadratures of the same integrals, and against the PDE, its initial and boundary conditions and
the odd symmetry; plus self-convergence in the number of quadrature nodes.
"""

import math

import numpy as np
import pytest

from pinnsolve.problems.references.burgers import NU, burgers_slope, burgers_solution

T_SHOCK = 1.6037 / math.pi

# (x, t): (u, u_x) from mpmath.quad at 40 digits of the two integrals in η (41 panels on ±14√(4νt))
MPMATH = {
    (0.0, T_SHOCK): (0.0, -152.005161576012975),
    (-0.01, 1.0): (0.59425616758872771446, -27.22306740762117949),
    (0.5, 0.3): (-0.7537016163847128501, 1.2618310798563380993),
    (-0.95, 1.0): (0.037854797709388166334, 0.75700508270101588401),
    (0.001, 0.75): (-0.1184205138107427131, -116.93840571877150286),
    (0.003, 1.0): (-0.24222840848463914548, -74.593058484253767989),
    (0.9, 0.05): (-0.26830544909802560109, 2.6252489632918811131),
}


def grid(nx=101, nt=51):
    return np.linspace(-1, 1, nx)[:, None], np.linspace(0, 1, nt)[None, :]


def test_slope_at_the_shock_matches_basdevant():
    slope = burgers_slope(0.0, T_SHOCK)
    assert abs(slope - (-152.00516)) <= 5e-6  # the published value, to its last digit
    assert slope == pytest.approx(-152.005161576012975, rel=1e-12)


@pytest.mark.parametrize("point", list(MPMATH))
def test_values_and_slopes_match_mpmath(point):
    u, slope = MPMATH[point]
    assert burgers_solution(*point) == pytest.approx(u, abs=1e-14)
    assert burgers_slope(*point) == pytest.approx(slope, abs=1e-12 * max(1.0, abs(slope)))


def test_slope_is_the_derivative_of_the_solution():
    x = np.array([-0.7, -0.02, -0.004, 0.0, 0.003, 0.4, 0.95])
    t = np.array([0.1, 0.5, T_SHOCK, T_SHOCK, 0.9, 1.0, 0.6])
    h = 1e-4
    u = {k: burgers_solution(x + k * h, t) for k in (-2, -1, 1, 2)}
    difference = (u[-2] - 8 * u[-1] + 8 * u[1] - u[2]) / (12 * h)
    slope = burgers_slope(x, t)
    assert np.abs(difference - slope).max() < 1e-6 * np.abs(slope).max()


def test_pde_residual_vanishes():
    x = np.array([-0.6, -0.05, 0.01, 0.3, 0.8])
    t = np.array([0.2, 0.7, 0.9, 0.5, 1.0])
    h = 1e-5
    u_t = (burgers_solution(x, t + h) - burgers_solution(x, t - h)) / (2 * h)
    u_xx = (burgers_slope(x + h, t) - burgers_slope(x - h, t)) / (2 * h)
    u, u_x = burgers_solution(x, t), burgers_slope(x, t)
    residual = u_t + u * u_x - NU * u_xx
    assert np.abs(residual).max() < 1e-6 * np.abs(u * u_x).max()


def test_initial_condition():
    x = np.linspace(-1, 1, 401)
    assert np.abs(burgers_solution(x, 0.0) + np.sin(np.pi * x)).max() < 1e-14
    assert np.abs(burgers_slope(x, 0.0) + np.pi * np.cos(np.pi * x)).max() < 1e-12


def test_boundary_conditions():
    t = np.linspace(0, 1, 201)
    assert np.abs(burgers_solution(np.array([[-1.0], [1.0]]), t)).max() < 1e-14


def test_odd_in_x():
    x, t = grid()
    assert np.abs(burgers_solution(x, t) + burgers_solution(-x, t)).max() < 1e-13


def test_doubling_the_nodes_changes_nothing():
    x, t = grid()
    assert np.abs(burgers_solution(x, t) - burgers_solution(x, t, nodes=276)).max() < 1e-13
    slope, finer = burgers_slope(x, t), burgers_slope(x, t, nodes=276)
    assert (np.abs(slope - finer) / np.maximum(1.0, np.abs(finer))).max() < 1e-11


def test_too_few_nodes_are_detected_by_doubling():
    x, t = grid()
    assert np.abs(burgers_solution(x, t, nodes=48) - burgers_solution(x, t, nodes=96)).max() > 1e-6


def test_shapes_and_dtype():
    x, t = grid(5, 3)
    assert burgers_solution(x, t).shape == (5, 3)
    assert burgers_solution(x, t).dtype == np.float64
    assert burgers_slope(0.5, np.array([0.1, 0.2])).shape == (2,)
    assert np.ndim(burgers_solution(0.5, 0.5)) == 0


def test_negative_time_is_refused():
    with pytest.raises(ValueError):
        burgers_solution(0.0, -0.1)
