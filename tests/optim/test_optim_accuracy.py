"""Accuracy on poisson2d (Müller & Zeinhofer 2023: 2-64-1, 900/120 fixed points, float64) within 200 steps.

Typical: l2_rms 2e-7 – 1e-6. The training trajectory amplifies rounding (the thread count alone
moves the result by up to 5×; another CPU reached 5e-6 in 300 steps), so the bound is 2e-5: far
below any first-order method (Adam ~1e-3 here) and any broken solve, with a margin over rounding.
The tight numbers live in RESULTS.md and BENCHMARKS.md.
"""

import pytest
import torch

from pinnsolve import MLP, BatchSampler, ResidualEngine
from pinnsolve.engine.evaluation import ErrorMetric
from pinnsolve.optim import ENGDW, SPRING
from pinnsolve.engine import EngineClosure
from pinnsolve.problems import poisson2d


@pytest.mark.slow
@pytest.mark.parametrize("make", [
    lambda p: ENGDW(p, damping=1e-10),
    lambda p: SPRING(p, damping=1e-10, momentum=0.2, line_search=True),
], ids=["engd_w", "spring"])
def test_poisson2d_reaches_natural_gradient_accuracy(make):
    torch.manual_seed(0)
    problem = poisson2d.make_problem()
    model = MLP(2, [64])
    engine = ResidualEngine(problem, model)
    batch = BatchSampler(problem, 0, "cpu", torch.float64)()
    metric = ErrorMetric(problem.exact, torch.rand(9000, 2, generator=torch.Generator().manual_seed(1)))
    opt = make(model.parameters())
    for _ in range(200):
        opt.step(EngineClosure(engine, batch))
    assert float(metric(model)["l2_rms"]) <= 2e-5


def test_the_default_job_does_not_depend_on_the_thread_count(tmp_path):
    """The README's main job (poisson2d, ENGD-W, damping=auto, 300 steps) reaches the same error with
    1 and 2 threads, within 2× (issue 9: another machine once gave 5.4e-6 against 2.9e-7)."""
    from pinnsolve import compose_config
    from pinnsolve.cli import run

    errors = []
    for threads in (1, 2):
        cfg = compose_config([f"trainer.threads={threads}", "trainer.progress=false", "trainer.plots=false",
                              "trainer.log_every=50"])
        errors.append(run(cfg, tmp_path / str(threads))["final"]["l2_rms"])
    torch.set_num_threads(int(__import__("os").environ.get("OMP_NUM_THREADS", "1")))
    assert max(errors) <= 2 * min(errors) and max(errors) < 1e-5, errors
