"""Storage resize_ (which looks over every live tensor for views of the memory it moves)
with quantized tensors alive: their placeholder arrays answer the shape queries (strides
too) instead of refusing, and they keep their integers. Observers resize their min/max
buffers, so every eager quantization flow goes through this."""
import numpy as np
import pytest

import ember

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def test_resize_with_quantized_tensors_alive():
    q = ember.quantize_per_tensor(ember.tensor([0.5, -1.0, 2.0]), 0.1, 10, ember.quint8)
    t = ember.zeros(3)
    view = t[:2]   # shares t's storage, so resize_ walks the live tensors
    t.resize_(6)
    assert tuple(t.shape) == (6,) and tuple(view.shape) == (2,)
    np.testing.assert_array_equal(q.int_repr().numpy(), [15, 0, 30])
    with pytest.raises(NotImplementedError):   # computing with the integers still refuses
        np.asarray(q._data)


def test_observer_after_quantized_tensors():
    q = ember.quantize_per_tensor(ember.ones(2), 0.1, 0, ember.quint8)
    obs = ember.ao.quantization.PerChannelMinMaxObserver(ch_axis=0)
    obs(ember.tensor(np.arange(6, dtype=np.float32).reshape(3, 2)))
    np.testing.assert_array_equal(obs.min_val.numpy(), [0, 2, 4])
    assert q.int_repr().tolist() == [10, 10]
