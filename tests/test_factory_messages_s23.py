"""new_* factories, full/full_like and fill_ refuse bad arguments with PyTorch's TypeError
and words: the new_* methods name themselves (the factory's name showed), and a fill value
that is no number is the parser's refusal (NumPy's ValueError leaked for a string)."""
import numpy as np
import pytest
import torch

import ember

CASES = {
    "new_zeros non-int element": lambda lib, x: x.new_zeros(2, "a"),
    "new_zeros no size": lambda lib, x: x.new_zeros(),
    "new_zeros float": lambda lib, x: x.new_zeros(2.5),
    "new_empty str": lambda lib, x: x.new_empty("a"),
    "new_ones two args": lambda lib, x: x.new_ones((2,), 3),
    "new_zeros requires_grad int": lambda lib, x: x.new_zeros(2, requires_grad=3),
    "new_full str value": lambda lib, x: x.new_full((2,), "a"),
    "full str value": lambda lib, x: lib.full((2,), "a"),
    "full None value": lambda lib, x: lib.full((2,), None),
    "full list value": lambda lib, x: lib.full((2,), [1]),
    "full_like str value": lambda lib, x: lib.full_like(x, "a"),
    "fill_ str": lambda lib, x: x.fill_("a"),
    "fill_ None": lambda lib, x: x.fill_(None),
}


def _outcome(lib, case):
    try:
        CASES[case](lib, lib.ones(2))
    except Exception as e:   # noqa: BLE001 (the type and words are what is compared)
        return type(e).__name__, str(e)
    return None


@pytest.mark.parametrize("case", list(CASES))
def test_refusal_as_torch(case):
    theirs = _outcome(torch, case)
    assert theirs is not None and theirs[0] == "TypeError"
    assert _outcome(ember, case) == theirs


@pytest.mark.parametrize("value", [True, 3, 2.5, 1j, np.float32(2), np.int64(3), np.bool_(True)])
def test_numbers_still_fill(value):
    for lib in (ember, torch):
        assert str(lib.full((2,), value).dtype).split(".")[1] == \
            str(torch.full((2,), value).dtype).split(".")[1]
    try:
        b = torch.zeros(2).fill_(value)
    except RuntimeError:   # (a complex value into a float tensor)
        with pytest.raises(RuntimeError):
            ember.zeros(2).fill_(value)
        return
    np.testing.assert_array_equal(ember.zeros(2).fill_(value).numpy(), b.numpy())
    np.testing.assert_array_equal(ember.ones(2).new_full((3,), value).numpy(),
                                  torch.ones(2).new_full((3,), value).numpy())


def test_zero_dim_tensor_value():
    assert ember.full((2,), ember.tensor(3)).tolist() == torch.full((2,), torch.tensor(3)).tolist()
    assert ember.zeros(2).fill_(ember.tensor(2.5)).tolist() == [2.5, 2.5]


@pytest.mark.parametrize("dt", ["float32", "float64", "int64", "int32", "bool", "float16",
                                "bfloat16", "uint8", "int8", "complex64"])
def test_fill_value_checked_as_torch(dt):
    """fill_ refuses a value its dtype cannot hold as PyTorch does (1j into a float tensor
    was filled with 0 and a NumPy ComplexWarning)."""
    import warnings
    for v in (1j, 1 + 0j, 2.5, float("nan"), float("inf"), -1, 300, 2 ** 40, -2.5, True,
              np.float32(3), 1e39):
        outcomes = []
        for lib in (ember, torch):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                try:
                    outcomes.append(lib.zeros(2, dtype=getattr(lib, dt)).fill_(v).tolist())
                except Exception as e:   # noqa: BLE001 (compared)
                    outcomes.append((type(e).__name__, str(e)))
        assert str(outcomes[0]) == str(outcomes[1]), (dt, v)
