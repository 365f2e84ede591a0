"""ReferenceData: errors measured against values at scattered points (from a file of another solver)
equal the errors against the exact function at the same points; bad data and files are one clear error."""

import math

import numpy as np
import pytest
import torch

from pinnsolve import Box, BoxBoundary, Condition, Problem, ReferenceData, solve
from pinnsolve.engine.evaluation import ErrorMetric

PI = math.pi


def exact(x):
    return torch.sin(PI * x[0]) * torch.sin(PI * x[1])


def _conditions():
    domain = Box(low=[0.0, 0.0], high=[1.0, 1.0])
    return [Condition("interior", lambda u, x: -u.laplacian() - 2 * PI**2 * exact(x), domain, 30),
            Condition("boundary", lambda u, x: u.value, BoxBoundary(domain), 10)]


def _points(n=200):
    return torch.rand(n, 2, generator=torch.Generator().manual_seed(3), dtype=torch.float64)


def test_errors_against_reference_values_equal_errors_against_the_exact_function(tmp_path):
    points = _points()
    values = torch.func.vmap(exact)(points)
    with_data = Problem("p", _conditions(), reference=ReferenceData(points, values))
    model, summary = solve(with_data, optimizer="engd_w", hidden=[8], run_dir=tmp_path / "run",
                           overrides=["trainer.max_steps=2", "trainer.progress=false", "trainer.plots=false"])
    dense = ErrorMetric(exact, points)(model)  # the reference: the same points through the exact function
    for key in ("l2_rms", "l2_rel"):
        assert math.isclose(summary["final"][key], float(dense[key]), rel_tol=1e-12)


@pytest.mark.parametrize("suffix", [".npz", ".mat", ".csv"])
def test_files_of_other_tools_load_to_the_same_points_and_values(tmp_path, suffix):
    from scipy.io import savemat

    points = _points(7).numpy()
    values = np.sin(points[:, 0]) + points[:, 1]
    path = tmp_path / f"ref{suffix}"
    if suffix == ".npz":
        np.savez(path, points=points, values=values)
    elif suffix == ".mat":
        savemat(path, {"points": points, "values": values})  # MATLAB keeps the vector as [1, M]
    else:
        np.savetxt(path, np.column_stack([points, values]), delimiter=",", header="x,y,u", comments="")
    data = ReferenceData.load(path, dim=2)
    assert torch.allclose(data.points, torch.from_numpy(points), atol=1e-15, rtol=1e-15)
    assert torch.allclose(data.values, torch.from_numpy(values), atol=1e-15, rtol=1e-15)
    assert data.values.shape == (7,)


def test_a_system_reference_has_one_column_per_output(tmp_path):
    points = _points(5).numpy()
    path = tmp_path / "sys.csv"
    np.savetxt(path, np.column_stack([points, points[:, 0], -points[:, 1]]), delimiter=",")
    data = ReferenceData.load(path, dim=2)
    assert data.values.shape == (5, 2) and data.n_outputs == 2
    with pytest.raises(ValueError, match="1 output"):
        Problem("p", _conditions(), reference=data)


def test_bad_references_are_clear_errors(tmp_path):
    points = _points(5)
    with pytest.raises(ValueError, match="same M"):
        ReferenceData(points, torch.zeros(4))
    with pytest.raises(ValueError, match="NaN"):
        ReferenceData(points, torch.tensor([0.0, math.nan, 0.0, 0.0, 0.0]))
    with pytest.raises(ValueError, match="leave exact and eval_points out"):
        Problem("p", _conditions(), exact=exact, reference=ReferenceData(points, torch.zeros(5)))
    with pytest.raises(ValueError, match="3 coordinates"):
        Problem("p", _conditions(), reference=ReferenceData(torch.rand(5, 3), torch.zeros(5)))
    np.savez(tmp_path / "r.npz", x=points.numpy(), u=np.zeros(5))
    with pytest.raises(ValueError, match=r"points_key= and values_key="):
        ReferenceData.load(tmp_path / "r.npz")
    assert ReferenceData.load(tmp_path / "r.npz", points_key="x", values_key="u").values.shape == (5,)
    with pytest.raises(ValueError, match="dim="):
        ReferenceData.load(_write(tmp_path / "r.csv"))
    with pytest.raises(ValueError, match="unknown format"):
        ReferenceData.load(_write(tmp_path / "r.txt"))


def _write(path):
    path.write_text("0.1,0.2,0.3\n")
    return path
