"""The tests' size table: the shipped problems' (pinnsolve.problems.sizes) and the example file's."""

from pathlib import Path

from pinnsolve.problems.sizes import SMOKE

SMALL = {**SMOKE, "from_file": [f"problem.path={Path(__file__).parents[1] / 'examples' / 'advection_diffusion.py'}",
                                "+problem.n_interior=30", "+problem.n_initial=5", "+problem.n_boundary=5"]}
