"""Overrides that shrink each shipped problem so a 2-step run takes a moment: the one size table of
the test suite (``tests/sizes.py``) and of the scripts' ``--smoke`` mode (``scripts/``).

``SMOKE[name]`` are Hydra overrides for ``problem=<name>``, e.g.
``compose_config(["problem=poisson5d", *SMOKE["poisson5d"], "trainer.max_steps=2"])``.
"""

SMOKE: dict[str, list[str]] = {
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
    "burgers": ["problem.n_interior=30", "problem.n_initial=5", "problem.n_boundary=5", "model.hidden=[8]"],
    "allen_cahn": ["problem.n_interior=30", "problem.n_initial=5", "model.hidden=[8]"],
    "wave": ["problem.n_interior=30", "problem.n_initial=5", "problem.n_boundary=5", "model.hidden=[8]"],
    "convection": ["problem.n_interior=30", "problem.n_initial=5", "model.hidden=[8]"],
    "reaction": ["problem.n_interior=30", "problem.n_initial=5", "model.hidden=[8]"],
    "kovasznay": ["problem.n_interior=30", "problem.n_boundary=10", "model.hidden=[8]"],
    "inverse_diffusivity": ["problem.n_interior=30", "problem.n_boundary=10", "problem.n_data=20", "model.hidden=[8]"],
    "heat2d_ms": ["problem.n_interior=30", "problem.n_initial=5", "problem.n_boundary=5", "model.hidden=[8]"],
}
