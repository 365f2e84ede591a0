"""Point sources put their points where they say."""

import pytest
import torch

from pinnsolve import Ball, Box, BoxBoundary, FixedPoints, InitialSlice, Sphere
from pinnsolve.engine.batches import make_generator


@pytest.fixture
def gen():
    return make_generator(0, torch.device("cpu"))


def test_box_inside(gen):
    x = Box([0.0, -1.0], [1.0, 2.0]).sample(1000, gen)
    assert x.shape == (1000, 2)
    assert (x[:, 0] >= 0).all() and (x[:, 0] <= 1).all() and (x[:, 1] >= -1).all() and (x[:, 1] <= 2).all()


def test_box_boundary_one_coordinate_on_a_face(gen):
    x = BoxBoundary(Box(0.0, 1.0, dim=5)).sample(2000, gen)
    on_face = (x == 0) | (x == 1)
    assert (on_face.sum(1) >= 1).all()
    assert on_face.any(0).all(), "every coordinate's faces are used"
    assert ((x == 0).sum() > 0) and ((x == 1).sum() > 0)


def test_spatial_boundary_and_initial_slice(gen):
    box = Box(0.0, 1.0, dim=3)
    x = BoxBoundary(box, dims=[1, 2]).sample(500, gen)
    assert (((x[:, 1:] == 0) | (x[:, 1:] == 1)).sum(1) >= 1).all()
    assert ((x[:, 0] > 0) & (x[:, 0] < 1)).all()
    t0 = InitialSlice(box, time_dim=0).sample(100, gen)
    assert (t0[:, 0] == 0).all()


def test_ball_and_sphere(gen):
    inside = Ball([1.0, 1.0, 1.0], radius=2.0).sample(1000, gen)
    r = (inside - 1).norm(dim=1)
    assert (r <= 2).all() and r.max() > 1.9
    on = Sphere([0.0, 0.0], radius=0.5).sample(100, gen)
    assert torch.allclose(on.norm(dim=1), torch.full((100,), 0.5))


def test_fixed_points_and_errors(gen):
    pts = torch.rand(10, 3)
    src = FixedPoints(pts, targets=torch.arange(10.0))
    assert torch.equal(src.sample(10, gen), pts) and src.fixed
    with pytest.raises(ValueError, match="holds 10 points"):
        src.sample(5, gen)
    with pytest.raises(ValueError, match="low < high"):
        Box([0.0, 1.0], [1.0, 1.0])


def test_minibatches_keep_points_and_targets_together(gen):
    from pinnsolve import Minibatches

    pts = torch.arange(20.0).reshape(10, 2)
    src = Minibatches(pts, targets=pts[:, 0] * 3)
    x, y = src.draw(4, gen)
    assert x.shape == (4, 2) and len(set(x[:, 0].tolist())) == 4
    assert torch.equal(y, x[:, 0] * 3)
    x2, _ = src.draw(4, gen)
    assert not torch.equal(x, x2)
