"""Jets against derivatives worked out by hand."""

import pytest
import torch

from pinnsolve.engine.jet import FunctionJet, RecordingJet, laplacian_key


def f(x):  # f = x0² x1 + sin(x2)
    return x[0] ** 2 * x[1] + torch.sin(x[2])


def test_function_jet_matches_hand_derivatives():
    x = torch.tensor([0.3, -1.2, 0.7])
    u = FunctionJet(f, x)
    assert torch.allclose(u.value, f(x))
    assert torch.allclose(u.grad, torch.stack([2 * x[0] * x[1], x[0] ** 2, torch.cos(x[2])]))
    assert torch.allclose(u.laplacian(), 2 * x[1] - torch.sin(x[2]))
    assert torch.allclose(u.laplacian(dims=[0, 1]), 2 * x[1])
    assert torch.allclose(u.partial(0, 1), 2 * x[0])
    assert torch.allclose(u.partial(2, 2), -torch.sin(x[2]))
    assert torch.allclose(u.partial(1), x[0] ** 2)


def test_laplacian_keys_are_canonical_and_checked():
    assert laplacian_key(None, 3) == (0, 1, 2)
    assert laplacian_key([2, -3], 3) == (0, 2)
    with pytest.raises(IndexError, match="out of range"):
        laplacian_key([3], 3)


def test_recording_jet_records_reads():
    probe = RecordingJet(torch.zeros(4))
    _ = probe.value + probe.laplacian(range(1, 4)) + probe.partial(0)
    assert probe.needs_grad and not probe.needs_hessian
    assert probe.laplacian_keys == [(1, 2, 3)]
    _ = probe.partial(0, 1)
    assert probe.needs_hessian
