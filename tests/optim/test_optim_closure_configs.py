"""Standalone closures, textbook one-step convergence, optimizer YAMLs against constructor signatures."""

import importlib
import inspect
import warnings
from pathlib import Path

import pytest
import torch
import yaml
from torch import nn

from pinnsolve.optim import ENGD, ENGDW, SPRING, PerSampleClosure, PolyakSGD, Sven

CONFIGS = sorted((Path(__file__).parents[2] / "configs" / "optimizer").glob("*.yaml"))


def linear_problem(n, p, seed=0):
    g = torch.Generator().manual_seed(seed)
    model = nn.Linear(p, 1, bias=False)
    x, y = torch.randn(n, p, generator=g), torch.randn(n, 1, generator=g)
    return model, x, y


def residual(pred, y):
    return (pred - y).squeeze(-1)


def test_per_sample_closure_refuses_a_scalar_loss():
    model, x, y = linear_problem(8, 3)
    with pytest.raises(ValueError, match=r"must return one value per sample, shape \(8,\)"):
        PerSampleClosure(model, nn.MSELoss(), x, y)


def test_per_sample_closure_says_when_the_rows_convention_looks_swapped():
    model, x, y = linear_problem(8, 3)
    with pytest.raises(ValueError, match=r"rows='losses' but the per-sample function gave \d+ negative values of 8"):
        PerSampleClosure(model, lambda pred, t: (pred - t).squeeze(-1), x, y, rows="losses")   # residuals as losses
    with pytest.warns(UserWarning, match="rows='residuals' but every per-sample value is >= 0"):
        PerSampleClosure(model, lambda pred, t: ((pred - t) ** 2).sum(-1), x, y)               # losses as residuals
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        PerSampleClosure(model, lambda pred, t: (pred - t).squeeze(-1), x, y)                   # the right way: silent
        PerSampleClosure(model, lambda pred, t: ((pred - t) ** 2).sum(-1), x, y, rows="losses")


def test_per_sample_closure_rows_jacobian_columns_and_losses_at():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 5), nn.GELU(), nn.Linear(5, 1))
    x, y = torch.randn(7, 2), torch.randn(7, 1)
    closure = PerSampleClosure(model, lambda pred, t: ((pred - t) ** 2).sum(-1), x, y, rows="losses", chunk_size=3)
    r, J = closure.residuals_and_jacobian()
    params = dict(model.named_parameters())
    theta = torch.cat([p.detach().reshape(-1) for p in params.values()])

    def rows_of(flat):
        out = torch.func.functional_call(model, closure.unflatten(flat), (x,))
        return ((out - y) ** 2).sum(-1)

    assert torch.allclose(r, rows_of(theta)) and torch.allclose(J, torch.autograd.functional.jacobian(rows_of, theta))
    columns = torch.tensor([0, 4, 9])
    assert torch.equal(closure.residuals_and_jacobian(columns)[1], J[:, columns])
    thetas = torch.stack([theta, theta + 0.1])
    assert torch.allclose(closure.losses_at(thetas), torch.stack([rows_of(t).mean() for t in thetas]))
    assert torch.allclose(closure.objective(r), r.mean())


@pytest.mark.parametrize("n,p", [(6, 20), (30, 5)])
def test_linear_least_squares_converges_in_one_step(n, p):
    """Gauss–Newton on r(θ) = Xθ − y: one ENGD-W (λ → 0) or Sven (k = N, rtol = 0) step reaches the min-norm
    least-squares solution. With N > P the kernel is rank-deficient and ENGD-W's λ → 0 amplifies the rounding
    of r's out-of-range part by 1/λ (documented): the parameter-space ENGD is the method there."""
    woodbury_or_dense = ENGDW if n <= p else ENGD
    for make in (lambda ps: woodbury_or_dense(ps, lr=1.0, damping=1e-12, line_search=False),
                 lambda ps: Sven(ps, lr=1.0, k=n, rtol=0.0),
                 lambda ps: Sven(ps, lr=1.0, k=n, rtol=0.0, svd_mode="torch")):
        model, x, y = linear_problem(n, p)
        with torch.no_grad():
            model.weight.zero_()
        make(model.parameters()).step(PerSampleClosure(model, residual, x, y))
        expected = torch.linalg.lstsq(x, y).solution.T if n > p else (torch.linalg.pinv(x) @ y).T
        assert torch.allclose(model.weight, expected, atol=1e-8, rtol=1e-8)


def test_sven_param_fraction_moves_only_the_subset():
    model, x, y = linear_problem(10, 40)
    before = model.weight.detach().clone()
    opt = Sven(model.parameters(), lr=1.0, k=10, param_fraction=0.25)
    opt.step(PerSampleClosure(model, residual, x, y))
    moved = (model.weight.detach() != before).sum()
    assert 0 < int(moved) <= 10


def test_polyak_step_size():
    model, x, y = linear_problem(10, 3)
    opt = PolyakSGD(model.parameters(), max_lr=100.0)
    w0 = model.weight.detach().clone()

    def closure():
        opt.zero_grad()
        loss = 0.5 * residual(model(x), y).square().sum()
        loss.backward()
        return loss

    loss = closure()
    grad = model.weight.grad.clone()
    opt.step(closure)
    eta = loss.detach() / grad.square().sum()
    assert torch.allclose(model.weight.detach(), w0 - eta * grad)
    assert torch.allclose(opt.diagnostics["step_size"], eta)


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_optimizer_yaml_keys_match_constructor(path):
    cfg = yaml.safe_load(path.read_text())
    module, name = cfg["_target_"].rsplit(".", 1)
    cls = getattr(importlib.import_module(module), name)
    keys = {k for k in cfg if not k.startswith("_")}
    signature = {k for k, v in inspect.signature(cls if inspect.isfunction(cls) else cls.__init__).parameters.items()
                 if k not in ("self", "params") and v.kind is not inspect.Parameter.VAR_KEYWORD}
    if module.startswith("pinnsolve"):
        assert keys == signature, (path.name, keys ^ signature)
        assert cfg["_partial_"] is True
    else:
        assert keys <= signature, (path.name, keys - signature)


def test_optimizer_yamls_instantiate():
    from hydra.utils import instantiate

    for path in CONFIGS:
        factory = instantiate(yaml.safe_load(path.read_text()))
        opt = factory(params=nn.Linear(2, 1).parameters())
        assert isinstance(opt, torch.optim.Optimizer)


@pytest.mark.parametrize("make", [lambda p: ENGD(p, damping=1e-3, gramian_average=0.5),
                                  lambda p: SPRING(p, damping=1e-3, momentum=0.5)], ids=["engd_gramian", "spring_phi"])
def test_a_state_of_a_model_of_another_size_fails_at_load_not_at_step(make):
    model, x, y = linear_problem(8, 3)
    optimizer = make(model.parameters())
    optimizer.step(PerSampleClosure(model, residual, x, y))
    other = linear_problem(8, 4)[0]
    with pytest.raises(ValueError, match=r"the state was saved for a model of another size"):
        make(other.parameters()).load_state_dict(optimizer.state_dict())
    same = make(linear_problem(8, 3)[0].parameters())
    same.load_state_dict(optimizer.state_dict())     # the same size loads
