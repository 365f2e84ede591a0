"""CUDA checks (skipped without a GPU): the engine on the device equals the CPU, and runs train there."""

import pytest
import torch

from pinnsolve import MLP, BatchSampler, ResidualEngine, compose_config
from pinnsolve.cli import run
from pinnsolve.problems import poisson5d

pytestmark = pytest.mark.gpu


def test_fast_jacobian_on_cuda_matches_cpu_generic():
    problem = poisson5d.make_problem(n_interior=64, n_boundary=16)
    model = MLP(5, [16, 16])
    batch = BatchSampler(problem, 0, torch.device("cpu"), torch.float64)()
    r_cpu, J_cpu = ResidualEngine(problem, model, "generic").residuals_and_jacobian(batch)
    cuda = torch.device("cuda")
    model_gpu = MLP(5, [16, 16]).to(cuda)
    model_gpu.load_state_dict(model.state_dict())
    batch_gpu = {k: type(v)(v.x.to(cuda), None) for k, v in batch.items()}
    r, J = ResidualEngine(problem, model_gpu, "fast").residuals_and_jacobian(batch_gpu)
    assert torch.allclose(r.cpu(), r_cpu, rtol=1e-12, atol=1e-12)
    assert (J.cpu() - J_cpu).abs().max() <= 1e-12 * J_cpu.abs().max()


def test_training_runs_on_cuda(tmp_path):
    cfg = compose_config(["problem=poisson5d", "problem.n_interior=100", "problem.n_boundary=20", "trainer.device=cuda",
                          "trainer.max_steps=5", "trainer.progress=false", "trainer.plots=false"])
    summary = run(cfg, tmp_path)
    assert summary["device"].startswith("cuda") and summary["steps"] == 5
