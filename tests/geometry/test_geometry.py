"""Shapes, CSG, normals and low-discrepancy sampling: points lie where they should, boundary points are
spread by measure, normals are unit and outward, and a Robin problem with an exact solution trains."""

import importlib.util
import math
from pathlib import Path

import pytest
import torch

from pinnsolve import (Annulus, Ball, Box, BoxBoundary, Condition, Polygon, Problem, SpaceTime, function_residuals)
from pinnsolve.engine.batches import BatchSampler, make_generator

EXAMPLE = Path(__file__).parents[2] / "examples" / "robin_annulus.py"
L_SHAPE = Polygon([[0, 0], [2, 0], [2, 1], [1, 1], [1, 2], [0, 2]])  # area 3, perimeter 8

SHAPES = {
    "box": Box([0.0, -1.0], [3.0, 1.0]),
    "ball": Ball([0.5, 0.5, 0.5], 2.0),
    "annulus": Annulus([0.0, 0.0], 0.5, 1.5),
    "polygon": L_SHAPE,
    "union": Box(0.0, 1.0, dim=2) | Ball([1.0, 0.5], 0.4),
    "intersection": Box(0.0, 1.0, dim=2) & Ball([1.0, 1.0], 0.8),
    "difference": Box(0.0, 1.0, dim=2) - Ball([0.5, 0.5], 0.25),
    "nested": (Box(0.0, 2.0, dim=2) - Ball([1.0, 1.0], 0.5)) | Polygon([[1.5, 1.5], [3, 1.5], [1.5, 3]]),
}


@pytest.fixture
def gen():
    return make_generator(0, torch.device("cpu"))


@pytest.mark.parametrize("name", SHAPES)
def test_points_lie_in_the_shape_and_normals_point_out_of_it(name, gen):
    shape = SHAPES[name]
    inside = shape.sample(500, gen)
    assert inside.shape == (500, shape.dim) and bool(shape.contains(inside).all())
    x, n = shape.boundary(normals=True).draw(400, gen)
    assert x.shape == n.shape == (400, shape.dim)
    torch.testing.assert_close(n.norm(dim=1), torch.ones(400, dtype=torch.float64))
    step = 1e-4
    assert bool(shape.contains(x - step * n, tolerance=0.0).all()), "a step against the normal enters the shape"
    assert not bool(shape.contains(x + step * n, tolerance=0.0).any()), "a step along the normal leaves it"


def test_box_boundary_points_follow_face_areas_unless_the_papers_rule_is_asked(gen):
    wide = Box([0.0, 0.0], [10.0, 1.0])  # short sides: 2 of a perimeter of 22
    on_short_sides = lambda x: ((x[:, 0] == 0) | (x[:, 0] == 10)).double().mean()  # noqa: E731
    assert abs(float(on_short_sides(BoxBoundary(wide).sample(20000, gen))) - 2 / 22) < 0.01
    assert abs(float(on_short_sides(BoxBoundary(wide, rule="coordinate").sample(20000, gen))) - 0.5) < 0.02
    with pytest.raises(ValueError, match="rule='area' is not one of"):
        BoxBoundary(wide, rule="area")


def test_csg_boundaries_are_spread_by_measure(gen):
    holed = SHAPES["difference"]  # the square's perimeter 4 and the hole's 2π/4
    x, n = holed.sample_boundary(20000, gen)
    on_hole = ((x - 0.5).norm(dim=1) - 0.25).abs() < 1e-9
    assert abs(float(on_hole.double().mean()) - (math.pi / 2) / (4 + math.pi / 2)) < 0.015
    radial = (x[on_hole] - 0.5) / 0.25
    torch.testing.assert_close(n[on_hole], -radial)  # the hole's normals point into it, out of the domain
    assert holed.boundary_measure() == pytest.approx(4 + math.pi / 2, rel=0.03)
    assert L_SHAPE.boundary_measure() == pytest.approx(8.0)
    interior = L_SHAPE.sample(4000, gen)
    assert not bool(((interior[:, 0] > 1) & (interior[:, 1] > 1)).any()), "the L's missing corner stays empty"


@pytest.mark.parametrize("shape,measure,piece,piece_length", [
    (Box([0, 0], [2, 2]) - Box([1, 1], [2, 2]), 8.0, lambda x: (x[:, 0] == 2) & (x[:, 1] < 1), 1.0),  # an L
    (Box([0, 0], [1, 1]) | Box([0.5, 0], [2, 1]), 6.0, lambda x: (x[:, 1] == 0) & (x[:, 0] > 0.5) & (x[:, 0] < 1), 0.5),
    (Box([0, 0], [1, 1]) & Box([0.5, 0], [2, 1]), 3.0, lambda x: x[:, 1] == 0, 0.5),
    (Box([0, 0], [1, 1]) - Box([1, 0], [2, 1]), 4.0, lambda x: x[:, 0] == 1, 1.0),
])
def test_operands_sharing_boundary_pieces_give_the_results_boundary_once(shape, measure, piece, piece_length, gen):
    """Overlapping edges are kept or dropped by the result, and drawn once: uniform density on the boundary."""
    x, n = shape.sample_boundary(20000, gen)
    assert shape.boundary_measure() == pytest.approx(measure, rel=0.03)
    assert abs(float(piece(x).double().mean()) - piece_length / measure) < 0.012
    assert bool(shape.contains(x - 1e-4 * n, tolerance=0.0).all()) and not bool(shape.contains(x + 1e-4 * n, tolerance=0.0).any())


def test_a_polygon_given_as_a_closed_ring_is_the_same_polygon(gen):
    ring = Polygon([[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]])
    x, n = ring.sample_boundary(100, gen)
    assert ring.boundary_measure() == 4.0 and bool(torch.isfinite(n).all())
    centre = torch.tensor([[0.5, 0.5]], dtype=torch.float64)
    assert bool(ring.contains(centre, tolerance=-1e-9)) and not bool((Box([-1, -1], [2, 2]) - ring).contains(centre))
    with pytest.raises(ValueError, match="at least 3 distinct vertices"):
        Polygon([[0, 0], [1, 0], [0, 0]])


def test_an_empty_combination_is_refused():
    with pytest.raises(ValueError, match="is empty"):
        Box(0.0, 1.0, dim=2) & Box(2.0, 3.0, dim=2)
    with pytest.raises(ValueError, match="is empty"):
        Box(0.0, 1.0, dim=2) - Ball([0.5, 0.5], 2.0)
    with pytest.raises(ValueError, match="dimensions 2 and 3"):
        Box(0.0, 1.0, dim=2) | Ball([0.0, 0.0, 0.0], 1.0)


def test_space_time_cylinder_gives_its_initial_slice_and_lateral_normals(gen):
    cylinder = SpaceTime(Ball([0.0, 0.0], 1.0), 0.0, 2.0)
    t0 = cylinder.initial().sample(100, gen)
    assert bool((t0[:, 0] == 0).all()) and bool(((t0[:, 1:]).norm(dim=1) <= 1).all())
    x, n = cylinder.lateral(normals=True).draw(100, gen)
    assert bool((n[:, 0] == 0).all()) and bool((x[:, 0] >= 0).all() and (x[:, 0] <= 2).all())
    torch.testing.assert_close(n[:, 1:], x[:, 1:])  # the unit circle's outward normal is x itself


@pytest.mark.parametrize("sampling", ["sobol", "halton", "lhs"])
def test_low_discrepancy_points_cover_the_box_more_evenly_than_uniform_ones(sampling, gen):
    from scipy.stats import qmc

    box = Box([0.0, 0.0], [1.0, 1.0], sampling=sampling)
    x = box.sample(256, gen)
    assert x.shape == (256, 2) and bool(box.contains(x).all())
    uniform = Box([0.0, 0.0], [1.0, 1.0]).sample(256, gen)
    assert qmc.discrepancy(x.numpy()) < 0.5 * qmc.discrepancy(uniform.numpy())
    again = Box([0.0, 0.0], [1.0, 1.0], sampling=sampling).sample(256, make_generator(0, torch.device("cpu")))
    assert torch.equal(again, Box([0.0, 0.0], [1.0, 1.0], sampling=sampling).sample(256, make_generator(0, torch.device("cpu"))))
    assert bool(Ball([0.0, 0.0], 1.0, sampling=sampling).contains(Ball([0.0, 0.0], 1.0, sampling=sampling).sample(100, gen)).all())
    with pytest.raises(ValueError, match="sampling='random' is not one of"):
        Box(0.0, 1.0, dim=2, sampling="random")


def _robin_example():
    spec = importlib.util.spec_from_file_location("robin_annulus_example", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_exact_solution_satisfies_the_neumann_and_robin_conditions_through_the_normals():
    problem = _robin_example().make_problem(n_interior=50, n_boundary=200)
    batch = BatchSampler(problem, 0, torch.device("cpu"), torch.float64)()
    residuals = function_residuals(problem, problem.exact, batch)
    assert float(residuals["boundary"].abs().max()) < 1e-12
    wrong = Problem("flipped", [Condition("b", problem.conditions[1].residual,
                                          problem.conditions[1].points, 200)], exact=problem.exact)
    flipped = {"b": batch["boundary"]._replace(y=-batch["boundary"].y)}
    assert float(function_residuals(wrong, problem.exact, flipped)["b"].abs().max()) > 0.1  # the normals matter


def test_a_robin_problem_on_an_annulus_trains(tmp_path):
    from pinnsolve import solve

    problem = _robin_example().make_problem(n_interior=200, n_boundary=100)
    _, summary = solve(problem, optimizer="engd_w", hidden=[32], run_dir=tmp_path / "run",
                       overrides=["trainer.max_steps=100", "trainer.threads=1", "trainer.progress=false"])
    assert summary["final"]["l2_rel"] < 5e-4, summary["final"]  # 1.9e-5 measured; the full example: 5e-8 after 300 steps


def test_a_hard_constraint_through_an_output_transform_holds_exactly_and_trains(tmp_path):
    """−u'' = π² sin πx on [0, 1] with u = x(1 − x)·N(x) and no boundary condition at all."""
    from pinnsolve import load_run, solve

    def pde(u, x):
        return -u.laplacian() - math.pi**2 * torch.sin(math.pi * x[0])

    problem = Problem("constrained", [Condition("interior", pde, Box(0.0, 1.0, dim=1), 60, fixed=True)],
                      exact=lambda x: torch.sin(math.pi * x[0]),
                      output_transform=lambda x, n: x[0] * (1 - x[0]) * n)
    model, summary = solve(problem, optimizer="engd_w", hidden=[16], run_dir=tmp_path / "run",
                           overrides=["trainer.max_steps=40", "trainer.threads=1", "trainer.progress=false"])
    assert summary["final"]["l2_rel"] < 1e-3, summary["final"]  # 3.7e-5 measured; without a boundary condition u is not unique
    ends = torch.tensor([[0.0], [1.0]], dtype=torch.float64)
    assert model(ends).abs().max() == 0.0
    loaded = load_run(tmp_path / "run", problem=problem)
    torch.testing.assert_close(loaded.predict(ends), torch.zeros(2, dtype=torch.float64))
    with pytest.raises(Exception, match="output transform"):
        load_run(tmp_path / "run")


def test_a_normal_asked_of_an_interior_source_and_normals_nobody_reads_are_clear_errors():
    from pinnsolve import MLP, ResidualEngine, ResidualError

    disk = Ball([0.0, 0.0], 1.0)
    cases = [(lambda u, x, n: u.grad @ n, disk, "gives none: for outward normals use a boundary source"),
             (lambda u, x: u.value, disk.boundary(normals=True), r"gives outward normals per point.*residual\(u, x, n\)")]
    for residual, source, message in cases:
        problem = Problem("p", [Condition("c", residual, source, 5)])
        with pytest.raises(ResidualError, match=message):
            ResidualEngine(problem, MLP(2, [4], 1)).residuals_and_jacobian(
                BatchSampler(problem, 0, torch.device("cpu"), torch.float64)())


def test_trainer_sampling_reaches_every_shape_and_names_what_it_cannot_reach(tmp_path):
    from pinnsolve import FixedPoints, solve
    from pinnsolve.geometry.unit_cube import apply_sampling

    cylinder = SpaceTime(Box(0.0, 1.0, dim=2) - Ball([0.5, 0.5], 0.2), 0.0, 1.0)
    data = FixedPoints(torch.rand(4, 3, dtype=torch.float64), torch.zeros(4))
    problem = Problem("p", [Condition("pde", lambda u, x: u.laplacian(), cylinder, 30),
                            Condition("wall", lambda u, x: u.value, cylinder.lateral(), 10),
                            Condition("data", lambda u, x, y: u.value - y, data, 4)])
    assert apply_sampling(problem, "sobol") == ["data"]
    assert cylinder.space.a.sampling == cylinder.space.b.sampling == cylinder.sampling == "sobol"  # time too
    _, summary = solve(problem, optimizer="adam", hidden=[4], run_dir=tmp_path / "run",
                       overrides=["trainer.max_steps=2", "trainer.sampling=halton", "trainer.progress=false"])
    assert cylinder.space.a.sampling == "sobol"  # the run worked on its own copy
    assert any("trainer.sampling=halton does not reach the conditions ['data']" in n for n in summary["notices"])


def test_trainer_sampling_leaves_the_callers_problem_as_it_was(tmp_path):
    from pinnsolve import solve

    square = Box(0.0, 1.0, dim=2)
    problem = Problem("p", [Condition("pde", lambda u, x: u.laplacian(), square, 16)])
    solve(problem, optimizer="adam", hidden=[4], run_dir=tmp_path / "a",
          overrides=["trainer.max_steps=1", "trainer.sampling=sobol", "trainer.progress=false"])
    assert square.sampling == "uniform"


def test_space_time_over_a_box_is_one_low_discrepancy_set(gen):
    from scipy.stats import qmc

    x = SpaceTime(Box(0.0, 1.0, dim=2), 0.0, 1.0, sampling="sobol").sample(1024, gen)
    counts = torch.histc(x[:, 0], bins=16, min=0, max=1)
    assert bool((counts == 64).all()), counts  # time is stratified like every other coordinate
    assert qmc.discrepancy(x.numpy()) < 0.5 * qmc.discrepancy(SpaceTime(Box(0.0, 1.0, dim=2)).sample(1024, gen).numpy())
