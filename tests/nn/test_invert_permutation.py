"""nn.utils.rnn.invert_permutation against torch."""
import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("n", [0, 1, 5, 17])
def test_invert_permutation_as_torch(n):
    perm = np.random.default_rng(n).permutation(n)
    got = ember.nn.utils.rnn.invert_permutation(ember.tensor(perm))
    want = torch.nn.utils.rnn.invert_permutation(torch.tensor(perm))
    np.testing.assert_array_equal(got.cpu().numpy(), want.numpy())
    assert str(got.dtype)[6:] == str(want.dtype)[6:]


def test_none_and_packed_sequence_use_it():
    assert ember.nn.utils.rnn.invert_permutation(None) is None
    packed = ember.nn.utils.rnn.pack_sequence([ember.ones(1), ember.ones(3), ember.ones(2)],
                                             enforce_sorted=False)
    assert packed.unsorted_indices.tolist() == [2, 0, 1]
