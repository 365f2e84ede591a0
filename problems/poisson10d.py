"""10-d Laplace problem (Guzmán-Cordero et al. 2025): ``−Δu = 0`` on ``[0,1]¹⁰``, ``u = u⋆`` on ``∂``.

Exact solution ``u⋆ = (Σ_{k=1}^{5} x_{2k−1} x_{2k}) / 1.34`` (harmonic; the factor 1.34 makes
``‖u⋆‖_RMS ≈ 1`` on the unit cube: ``E[(Σ x_{2k−1}x_{2k})²] = 260/144``, ``√ = 1.344``).
Network 10-256-256-128-128-1 (118 145 parameters), 3000 interior and 500 boundary points resampled
every step (Guzmán-Cordero et al. 2025).
"""


from pinnsolve import Box, BoxBoundary, Condition, Problem

SCALE = 1.34


def exact(x):
    return (x[0::2] * x[1::2]).sum() / SCALE


def interior(u, x):
    return -u.laplacian()


def boundary(u, x):
    return u.value - exact(x)


def make_problem(n_interior: int = 3000, n_boundary: int = 500, fixed: bool = False) -> Problem:
    cube = Box(0.0, 1.0, dim=10)
    return Problem(
        "poisson10d",
        [
            Condition("interior", interior, cube, n_interior, fixed=fixed),
            Condition("boundary", boundary, BoxBoundary(cube, rule="coordinate"), n_boundary, fixed=fixed),
        ],
        exact=exact,
    )
