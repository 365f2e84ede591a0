"""One table of optimizers drives the shared tests: decrease, state round-trip, determinism, validation."""

import copy

import pytest
import torch

from doubles import LinearClosure
from optimizer_table import OPTIMIZERS, setup, step
from pinnsolve.errors import HyperParameterError
from pinnsolve.optim import ENGD, ENGDW, SPRING, Nystrom, PolyakSGD, Sven
from pinnsolve.engine import EngineClosure

def run(name, steps, seed=0):
    model, engine, batch = setup(seed)
    opt = OPTIMIZERS[name](model.parameters())
    losses = [step(opt, engine, batch) for _ in range(steps)]
    return model, opt, engine, batch, torch.stack(losses)


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_loss_decreases_on_poisson2d(name):
    model, opt, engine, batch, losses = run(name, 4)
    final = engine.loss(batch).detach()
    assert losses.shape == (4,) and torch.isfinite(losses).all()
    assert final < losses[0] and losses[-1] < losses[0], (name, losses, final)
    if opt.param_groups[0].get("line_search"):
        assert (losses[1:] <= losses[:-1]).all() and final <= losses[-1]   # never accepts an increase
    for key, value in opt.diagnostics.items():
        assert isinstance(value, torch.Tensor) and value.ndim == 0 and torch.isfinite(value), key
    assert "step_size" in opt.diagnostics
    if isinstance(opt, Sven):
        assert 0 < int(opt.diagnostics["rank"]) <= opt.param_groups[0]["k"]


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_state_dict_round_trip_gives_identical_next_step(name):
    model, opt, engine, batch, _ = run(name, 2)
    saved_model, saved_opt = copy.deepcopy(model.state_dict()), copy.deepcopy(opt.state_dict())
    rng = torch.get_rng_state()
    step(opt, engine, batch)
    expected = torch.cat([p.detach().reshape(-1) for p in model.parameters()])

    model2, engine2, batch2 = setup(seed=1)             # a different start, then overwritten
    model2.load_state_dict(saved_model)
    opt2 = OPTIMIZERS[name](model2.parameters())
    opt2.load_state_dict(saved_opt)
    torch.set_rng_state(rng)
    step(opt2, engine2, batch)
    got = torch.cat([p.detach().reshape(-1) for p in model2.parameters()])
    assert torch.equal(got, expected)


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_same_seed_same_run(name):
    a = run(name, 2)
    b = run(name, 2)
    assert torch.equal(a[4], b[4])
    assert all(torch.equal(p, q) for p, q in zip(a[0].parameters(), b[0].parameters()))


BAD = [
    (ENGDW, dict(damping=-1.0), "Invalid damping value: -1.0 (must be > 0)"),
    (ENGDW, dict(damping=0.0), "Invalid damping value: 0.0 (λ = 0 leaves K + λI singular whenever N > P or J loses "
     "rank; use a small λ such as 1e-10, or optimizer=engd (λ = 0 allowed: Gauss-Newton) or optimizer=sven for an "
     "undamped step)"),
    (ENGDW, dict(space="kernel"), "Invalid space value: kernel (choose one of ('auto', 'sample', 'parameter'))"),
    (ENGD, dict(lr=0.0), "Invalid learning rate value: 0.0 (must be > 0)"),
    (ENGD, dict(damping=-1e-3), "Invalid damping value: -0.001 (must be >= 0)"),
    (ENGD, dict(gramian_average=1.0), "Invalid gramian_average value: 1.0 (must be in [0.0, 1.0))"),
    (SPRING, dict(momentum=1.0), "Invalid momentum value: 1.0 (must be in [0.0, 1.0))"),
    (SPRING, dict(norm_constraint=-1e-3), "Invalid norm_constraint value: -0.001 (must be > 0)"),
    (Nystrom, dict(sketch_size=0), "Invalid sketch_size value: 0 (an integer >= 1 (columns) or a float in (0, 1] "
     "(fraction of N; write 1.0, not 1, for all of N))"),
    (Nystrom, dict(sketch_size=1.5), "Invalid sketch_size value: 1.5 (an integer >= 1 (columns) or a float in (0, 1] "
     "(fraction of N; write 1.0, not 1, for all of N))"),
    (Nystrom, dict(variant="qr"), "Invalid variant value: qr (choose one of ('gpu_efficient', 'standard'))"),
    (Nystrom, dict(shift=-1.0), "Invalid shift value: -1.0 ('relative' or an absolute value >= 0)"),
    (Sven, dict(k=0), "Invalid k value: 0 (must be an integer >= 1 or null)"),
    (Sven, dict(rtol=-0.1), "Invalid rtol value: -0.1 (must be in [0.0, 1.0))"),
    (Sven, dict(param_fraction=0.0), "Invalid param_fraction value: 0.0 (must be in (0, 1])"),
    (Sven, dict(microbatch_size=0), "Invalid microbatch_size value: 0 (must be an integer >= 1 or null)"),
    (Sven, dict(svd_mode="qr"), "Invalid svd_mode value: qr (choose one of "
     "('kernel', 'torch', 'randomized', 'randomized_v2', 'scipy', 'lobpcg'))"),
    (PolyakSGD, dict(max_lr=-1.0), "Invalid max_lr value: -1.0 (must be > 0)"),
    (ENGDW, dict(damping=float("inf")), "Invalid damping value: inf (must be > 0 and finite)"),
    (ENGDW, dict(damping=1e300), "Invalid damping value: 1e+300 (above 1e+15 every step is Jᵀr/λ ≈ 0 and the "
     "parameters cannot move; use a λ such as 1e-6, or auto)"),
    (ENGDW, dict(lr=float("inf"), line_search=False), "Invalid learning rate value: inf (must be > 0 and finite)"),
    (SPRING, dict(lr=float("nan"), line_search=False), "Invalid learning rate value: nan (must be > 0 and finite)"),
    (Sven, dict(lr=float("inf")), "Invalid learning rate value: inf (must be > 0 and finite)"),
    (ENGD, dict(damping=float("inf")), "Invalid damping value: inf (must be >= 0 and finite)"),
]


@pytest.mark.parametrize("cls,kwargs,message", BAD)
def test_bad_hyper_parameters_raise_exact_messages(cls, kwargs, message):
    with pytest.raises(ValueError) as info:
        cls([torch.nn.Parameter(torch.zeros(3))], **kwargs)
    assert str(info.value) == message
    assert isinstance(info.value, HyperParameterError) and info.value.name == next(iter(kwargs))


def test_engd_accepts_zero_damping_as_gauss_newton():
    """λ = 0 is meaningful for dense ENGD when J has full column rank: one step solves linear least squares."""
    g = torch.Generator().manual_seed(0)
    A, b = torch.randn(30, 5, generator=g), torch.randn(30, generator=g)
    theta = torch.nn.Parameter(torch.zeros(5))

    ENGD([theta], damping=0.0, line_search=False).step(LinearClosure(A, b, theta))
    assert torch.allclose(theta.detach(), torch.linalg.lstsq(A, b[:, None]).solution[:, 0], rtol=1e-10, atol=1e-12)


def test_single_param_group_and_closure_type():
    a, b = torch.nn.Parameter(torch.zeros(2)), torch.nn.Parameter(torch.zeros(2))
    with pytest.raises(ValueError, match="doesn't support per-parameter options"):
        ENGDW([{"params": [a]}, {"params": [b]}])
    with pytest.raises(TypeError, match="EngineClosure or pinnsolve.optim.PerSampleClosure"):
        ENGDW([a]).step(lambda: torch.zeros(()))


def test_step_makes_no_host_sync():
    """The step must not call .item()/bool() on tensors (GPU path): run it with sync-detecting tensor methods."""
    model, engine, batch = setup()
    for opt in (ENGDW(model.parameters()), SPRING(model.parameters(), line_search=False),
                Nystrom(model.parameters()), Sven(model.parameters(), k=10)):
        closure = EngineClosure(engine, batch)
        closure.sequential = False  # as on a GPU: the CPU's line search reads each loss on purpose (free there)
        r, J = closure.residuals_and_jacobian()
        closure.residuals_and_jacobian = lambda columns=None, r=r, J=J: (r, J)
        calls = []
        originals = {m: getattr(torch.Tensor, m) for m in ("item", "__bool__", "tolist")}

        def spy(name):
            def method(self, *args, **kwargs):
                calls.append(name)
                return originals[name](self, *args, **kwargs)
            return method

        try:
            for m in originals:
                setattr(torch.Tensor, m, spy(m))
            opt.step(closure)
        finally:
            for m, f in originals.items():
                setattr(torch.Tensor, m, f)
        assert calls == [], (type(opt).__name__, calls)


@pytest.mark.parametrize("name", ["engd_w", "spring_ls", "nystrom_gpu", "sven_kernel"])
def test_the_cpu_line_search_takes_the_batched_one_s_steps(name):
    """The CPU's search (fewer losses, from the last step's η) picks the whole grid's η on a real problem."""
    sizes = []
    for sequential in (True, False):
        model, engine, batch = setup()
        opt = OPTIMIZERS[name](model.parameters())
        torch.manual_seed(0)
        steps = []
        for _ in range(5):
            closure = EngineClosure(engine, batch)
            closure.sequential = sequential
            opt.step(closure)
            steps.append(float(opt.diagnostics["step_size"]))
        sizes.append(steps)
    assert sizes[0] == sizes[1], sizes
