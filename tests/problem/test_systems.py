"""Systems: networks with several outputs whose residuals read each component's jet ``u[i]``.

The fast path (one forward-Laplacian propagation for all outputs) and the generic path are checked
against a dense float64 reference: the residual built with ``torch.autograd`` point by point and
its Jacobian by ``torch.autograd.functional.jacobian`` over the flat parameters.
"""

import importlib.util
from pathlib import Path

import pytest
import torch

from pinnsolve import MLP, Box, BoxBoundary, Condition, Problem, ResidualEngine
from pinnsolve.engine.batches import BatchSampler
from pinnsolve.engine.jet import FunctionJet, RecordingJet

NU = 0.05
EXAMPLE = Path(__file__).parents[2] / "examples" / "kovasznay.py"


def navier_stokes(u, x):
    vx, vy, p = u[0], u[1], u[2]
    return torch.stack([vx.value * vx.partial(0) + vy.value * vx.partial(1) + p.partial(0) - NU * vx.laplacian(),
                        vx.partial(0) + vy.partial(1) - 0.3 * vy.laplacian(dims=[1])])


def wall(u, x):
    return u.value[:2] - torch.sin(x)


def _problem():
    square = Box(0.0, 1.0, dim=2)
    return Problem("system", [Condition("interior", navier_stokes, square, 6, weight=2.0),
                              Condition("wall", wall, BoxBoundary(square), 4)], n_outputs=3)


def _dense_reference(model, batch):
    """``r`` and ``J`` from autograd, one point at a time (no jets, no vmap)."""
    names = [n for n, _ in model.named_parameters()]
    shapes = [p.shape for _, p in model.named_parameters()]
    flat = torch.cat([p.detach().reshape(-1) for p in model.parameters()])

    def residuals(theta):
        params, i = {}, 0
        for name, shape in zip(names, shapes):
            params[name] = theta[i : i + shape.numel()].reshape(shape)
            i += shape.numel()
        rows = []
        for x in batch["interior"].x:
            x = x.clone().requires_grad_(True)
            out = torch.func.functional_call(model, params, (x[None],))[0]
            grads = [torch.autograd.grad(out[k], x, create_graph=True)[0] for k in range(3)]
            lap = [sum(torch.autograd.grad(grads[k][i], x, create_graph=True)[0][i] for i in range(2)) for k in range(2)]
            vy_yy = torch.autograd.grad(grads[1][1], x, create_graph=True)[0][1]
            rows += [(2.0 / 6) ** 0.5 * (out[0] * grads[0][0] + out[1] * grads[0][1] + grads[2][0] - NU * lap[0]),
                     (2.0 / 6) ** 0.5 * (grads[0][0] + grads[1][1] - 0.3 * vy_yy)]
        for x in batch["wall"].x:
            out = torch.func.functional_call(model, params, (x[None],))[0]
            rows += list((1.0 / 4) ** 0.5 * (out[:2] - torch.sin(x)))
        return torch.stack(rows)

    return residuals(flat).detach(), torch.autograd.functional.jacobian(residuals, flat)


@pytest.mark.parametrize("path", ["fast", "generic"])
def test_system_residuals_and_jacobian_match_a_dense_reference(path):
    torch.manual_seed(0)
    problem, model = _problem(), MLP(2, [7, 5], 3)
    batch = BatchSampler(problem, 0, torch.device("cpu"), torch.float64)()
    engine = ResidualEngine(problem, model, jacobian=path)
    r, J = engine.residuals_and_jacobian(batch)
    assert engine.paths() == {"interior": path, "wall": path}
    r_ref, J_ref = _dense_reference(model, batch)
    assert r.shape == (6 * 2 + 4 * 2,) and J.shape == (20, sum(p.numel() for p in model.parameters()))
    torch.testing.assert_close(r, r_ref, rtol=1e-12, atol=1e-13)
    torch.testing.assert_close(J, J_ref, rtol=1e-11, atol=1e-12)
    torch.testing.assert_close(engine.residuals(batch), r_ref, rtol=1e-12, atol=1e-13)


def test_a_system_jet_has_one_axis_per_output_and_components_index_it():
    def field(x):  # (x0² x1, sin x0 + x1³)
        return torch.stack([x[0] ** 2 * x[1], torch.sin(x[0]) + x[1] ** 3])

    x = torch.tensor([0.4, -0.7], dtype=torch.float64)
    u = FunctionJet(field, x, n_outputs=2)
    assert u.value.shape == (2,) and u.grad.shape == (2, 2) and u.hessian.shape == (2, 2, 2)
    torch.testing.assert_close(u.grad, torch.stack([torch.stack([2 * x[0] * x[1], x[0] ** 2]),
                                                    torch.stack([torch.cos(x[0]), 3 * x[1] ** 2])]))
    torch.testing.assert_close(u.laplacian(), torch.stack([2 * x[1], -torch.sin(x[0]) + 6 * x[1]]))
    torch.testing.assert_close(u[1].partial(1, 1), 6 * x[1])
    torch.testing.assert_close(u[0].partial(0, 1), 2 * x[0])
    torch.testing.assert_close(u[-1].value, field(x)[1])
    assert u[0].grad.shape == (2,)
    with pytest.raises(IndexError, match=r"u\[2\]: the network has 2 output\(s\).*0\.\.1"):
        u[2]
    scalar = FunctionJet(lambda y: y.square().sum(), x)
    assert scalar[0] is scalar
    with pytest.raises(IndexError, match="set the problem's n_outputs"):
        scalar[1]


def test_a_component_index_out_of_range_is_named_when_the_residual_is_first_called():
    from pinnsolve.errors import ResidualError

    square = Box(0.0, 1.0, dim=2)
    problem = Problem("bad", [Condition("interior", lambda u, x: u[3].laplacian(), square, 4)], n_outputs=3)
    with pytest.raises(ResidualError, match=r"u\[3\]: the network has 3 output"):
        ResidualEngine(problem, MLP(2, [4], 3)).residuals_and_jacobian(
            BatchSampler(problem, 0, torch.device("cpu"), torch.float64)())
    assert RecordingJet(torch.zeros(2), 3)[2].grad.shape == (2,)


def test_kovasznay_flow_trains_and_reports_each_output(tmp_path):
    """The example with few points and a small network for 60 ENGD-W steps: each output's error falls."""
    from pinnsolve import solve

    spec = importlib.util.spec_from_file_location("kovasznay_example", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    problem = module.make_problem(n_interior=150, n_boundary=60)
    model, summary = solve(problem, optimizer="engd_w", hidden=[20, 20], run_dir=tmp_path / "run",
                           overrides=["trainer.max_steps=60", "trainer.threads=1", "trainer.progress=false"])
    final = summary["final"]
    assert model[-1].out_features == 3
    assert {"l2_rel_u", "l2_rel_v", "l2_rel_p"} <= set(final)
    assert final["l2_rel_u"] < 0.03 and final["l2_rel_v"] < 0.06, final  # 0.9, 1.4 at step 0; 2.8e-3, 5.9e-3 measured


def test_vector_data_residuals_take_the_fast_path_and_agree_with_the_generic_one():
    """A label regression ``f(x) − y`` with 4 outputs (as in mnist): values only, one backward per output."""
    from pinnsolve import FixedPoints

    generator = torch.Generator().manual_seed(3)
    points, targets = torch.rand(9, 5, generator=generator, dtype=torch.float64), torch.rand(9, 4, generator=generator)
    problem = Problem("labels", [Condition("data", lambda u, x, y: u.value - y, FixedPoints(points, targets), 9)],
                      n_outputs=4)
    torch.manual_seed(1)
    model = MLP(5, [6], 4, activation="gelu")
    batch = BatchSampler(problem, 0, torch.device("cpu"), torch.float64)()
    (r_fast, J_fast), (r_gen, J_gen) = (ResidualEngine(problem, model, jacobian=p).residuals_and_jacobian(batch)
                                        for p in ("fast", "generic"))
    torch.testing.assert_close(r_fast, r_gen, rtol=1e-13, atol=1e-14)
    torch.testing.assert_close(J_fast, J_gen, rtol=1e-12, atol=1e-14)
