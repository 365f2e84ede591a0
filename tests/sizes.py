"""Overrides that shrink each shipped problem so a 2-step run takes a moment (shared by the tests)."""

from pathlib import Path

SMALL = {
    "poisson2d": ["problem.n_interior=30", "problem.n_boundary=10"],
    "poisson5d": ["problem.n_interior=30", "problem.n_boundary=10", "model.hidden=[8,8]"],
    "poisson10d": ["problem.n_interior=30", "problem.n_boundary=10", "model.hidden=[8,8]"],
    "poisson100d": ["problem.n_interior=20", "problem.n_boundary=10", "model.hidden=[8,8]"],
    "heat1d": ["problem.n_interior=30", "problem.n_initial=5", "problem.n_boundary=5"],
    "heat4d": ["problem.n_interior=30", "problem.n_initial=5", "problem.n_boundary=5", "model.hidden=[8,8]"],
    "logfp9d": ["problem.n_interior=30", "problem.n_initial=10", "model.hidden=[8,8]"],
    "heat_ball": ["problem.n_interior=30", "problem.n_initial=5", "problem.n_boundary=5", "model.hidden=[8]"],
    "nonlinear_disk": ["problem.n_interior=30", "problem.n_boundary=10", "model.hidden=[8]"],
    "helmholtz2d": ["problem.n_interior=30", "problem.n_boundary=10", "model.hidden=[8]"],
    "reg1d": ["problem.n_train=200", "problem.n_val=100"],
    "poly6": ["problem.n_train=200", "problem.n_val=100"],
    "mnist": ["problem.val_fraction=0.9", "model.hidden=[2]"],
    "from_file": [f"problem.path={Path(__file__).parents[1] / 'examples' / 'advection_diffusion.py'}", "+problem.n_interior=30", "+problem.n_initial=5", "+problem.n_boundary=5"],
}
