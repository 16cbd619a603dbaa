"""Tensor.resize_ growing a tensor whose memory nothing else holds takes new memory without
the walk over every object that a shared storage's resize takes (observers resize their
buffers in every conversion: the walk made converting a quantizable inception_v3 take
minutes in a large test process); shared memory still makes the other tensors follow."""
import numpy as np
import pytest

import ember
from ember.storage import _resize

torch = pytest.importorskip("torch")


def test_unshared_tensor_grows_without_the_walk(monkeypatch):
    def refuse(*args):
        raise AssertionError("walked")
    monkeypatch.setattr(_resize, "_follow", refuse)
    for L in (ember, torch):
        t = L.tensor([1.0, 2.0, 3.0])
        t.resize_(2, 3)
        assert tuple(t.shape) == (2, 3)
        assert t.flatten()[:3].tolist() == [1.0, 2.0, 3.0]


def test_shared_storage_still_follows():
    got = []
    for L in (ember, torch):
        base = L.tensor([1.0, 2.0, 3.0, 4.0])
        view = base[1:3]
        base.resize_(8)
        base[1] = 20.0
        got.append((view.tolist(), np.asarray(base[:4].tolist())))
    assert got[0][0] == got[1][0]
    np.testing.assert_array_equal(got[0][1], got[1][1])
