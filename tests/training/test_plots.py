"""The solution plot: prediction and exact solution on one colour scale, and a layout whose titles,
labels and colour bars do not overlap for a system of three outputs."""

import itertools
import warnings

import matplotlib
import numpy as np
import torch

matplotlib.use("Agg")

from pinnsolve import MLP  # noqa: E402
from pinnsolve.problems import kovasznay  # noqa: E402
from pinnsolve.training.plots import slice_figure  # noqa: E402


def test_a_three_output_system_renders_without_overlap_and_shares_colour_scales():
    problem = kovasznay.make_problem(n_interior=10, n_boundary=10)
    torch.manual_seed(0)
    model = MLP(2, [8], out_features=3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a layout matplotlib cannot make fit warns: that fails the test
        fig = slice_figure(problem, model, resolution=21)
        fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    boxes = [ax.get_tightbbox(renderer) for ax in fig.axes if ax.get_visible()]
    assert len(boxes) == 3 * 3 * 2  # u, v, p × (prediction, exact, error), each with its colour bar
    overlaps = [(i, j) for (i, a), (j, b) in itertools.combinations(enumerate(boxes), 2)
                if a.x0 < b.x1 - 1 and b.x0 < a.x1 - 1 and a.y0 < b.y1 - 1 and b.y0 < a.y1 - 1]
    assert overlaps == [], overlaps
    images = [ax.collections[0] for ax in fig.axes if ax.collections]
    for row in range(3):  # prediction and exact of each output: the same colour limits, spanning both
        prediction, exact, error = images[3 * row : 3 * row + 3]
        assert prediction.get_clim() == exact.get_clim()
        low, high = prediction.get_clim()
        values = np.concatenate([np.ma.filled(image.get_array(), np.nan).ravel() for image in (prediction, exact)])
        assert low == np.nanmin(values) and high == np.nanmax(values)
        assert error.get_clim() != prediction.get_clim()
