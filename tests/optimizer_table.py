"""The table of optimizers the shared tests run (tests/optim/test_optim_table.py and others), with a small
poisson2d problem to run them on."""

import torch

from pinnsolve import MLP, BatchSampler, ResidualEngine
from pinnsolve.engine import EngineClosure
from pinnsolve.optim import ENGD, ENGDW, SPRING, Nystrom, PolyakSGD, Sven, adam_then_lbfgs
from pinnsolve.problems import poisson2d

OPTIMIZERS = {
    "engd": lambda p: ENGD(p, damping=1e-8),
    "engd_w": lambda p: ENGDW(p, damping=1e-10),
    "engd_w_adaptive": lambda p: ENGDW(p, damping=1e-4, adaptive_damping=True),
    "spring_ls": lambda p: SPRING(p, damping=1e-10, momentum=0.5, line_search=True),
    "spring_fixed": lambda p: SPRING(p, lr=0.5, damping=1e-8, momentum=0.8, norm_constraint=1e-2),
    "nystrom_gpu": lambda p: Nystrom(p, damping=1e-6, sketch_size=0.5),
    "nystrom_standard_spring": lambda p: Nystrom(p, damping=1e-6, momentum=0.3, sketch_size=40, variant="standard"),
    "sven_kernel": lambda p: Sven(p, k=60, line_search=True),
    "sven_randomized_subset": lambda p: Sven(p, k=30, svd_mode="randomized", param_fraction=0.5, line_search=True,
                                            microbatch_size=2, effective_dimension=True),
    "polyak_sgd": lambda p: PolyakSGD(p, max_lr=0.1),
    "adam_lbfgs": lambda p: adam_then_lbfgs(p, lr=1e-2, switch_step=2, max_iter=5),
}


def setup(seed=0):
    torch.manual_seed(seed)
    problem = poisson2d.make_problem(n_interior=64, n_boundary=32)
    model = MLP(2, [12])
    engine = ResidualEngine(problem, model)
    batch = BatchSampler(problem, seed, "cpu", torch.float64)()
    return model, engine, batch


def step(opt, engine, batch):
    if getattr(opt, "requires_jacobian", False):
        return opt.step(EngineClosure(engine, batch))

    def closure():
        opt.zero_grad()
        loss = engine.loss(batch)
        loss.backward()
        return loss

    return opt.step(closure).detach()
