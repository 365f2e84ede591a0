"""100-d Poisson (Guzmán-Cordero et al. 2025): ``−Δu = −2d/33.47`` on ``[0,1]¹⁰⁰``, ``u = u⋆`` on ``∂``.

Exact solution ``u⋆ = ‖x‖² / 33.47`` (``Δu⋆ = 2d/33.47``; the factor 33.47 makes
``‖u⋆‖_RMS ≈ 1`` on the unit cube for ``d = 100``: ``E[‖x‖⁴] = (d/3)² + 4d/45``).
Network 100-768-768-512-512-1 (1 325 057 parameters), 100 interior and 50 boundary points
resampled every step (``N = 150``, Guzmán-Cordero et al. 2025).
"""


from pinnsolve import Box, BoxBoundary, Condition, Problem

SCALE = 33.47
DIM = 100


def exact(x):
    return x.square().sum() / SCALE


def interior(u, x):
    return -u.laplacian() + 2 * x.numel() / SCALE


def boundary(u, x):
    return u.value - exact(x)


def make_problem(n_interior: int = 100, n_boundary: int = 50, fixed: bool = False) -> Problem:
    cube = Box(0.0, 1.0, dim=DIM)
    return Problem(
        "poisson100d",
        [
            Condition("interior", interior, cube, n_interior, fixed=fixed),
            Condition("boundary", boundary, BoxBoundary(cube, rule="coordinate"), n_boundary, fixed=fixed),
        ],
        exact=exact,
    )
