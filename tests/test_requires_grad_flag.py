"""`requires_grad` must be a bool, as PyTorch's argument parser checks it: an int, a float
or a NumPy bool given to a factory, to requires_grad_ or to nn.Parameter raises TypeError,
and assigning one to `.requires_grad` raises RuntimeError; True/False (and None where
PyTorch's signature allows it) work as before. Compared with torch live."""
import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")

BAD = [1, 0, 1.0, np.True_, "yes"]

CALLS = {
    "zeros": lambda m, v: m.zeros(2, requires_grad=v),
    "ones": lambda m, v: m.ones(2, 3, requires_grad=v),
    "empty": lambda m, v: m.empty(2, requires_grad=v),
    "full": lambda m, v: m.full((2,), 1.5, requires_grad=v),
    "tensor": lambda m, v: m.tensor([1.0, 2.0], requires_grad=v),
    "rand": lambda m, v: m.rand(2, requires_grad=v),
    "randn": lambda m, v: m.randn(2, requires_grad=v),
    "arange": lambda m, v: m.arange(3.0, requires_grad=v),
    "linspace": lambda m, v: m.linspace(0, 1, 3, requires_grad=v),
    "zeros_like": lambda m, v: m.zeros_like(m.ones(2), requires_grad=v),
    "randn_like": lambda m, v: m.randn_like(m.ones(2), requires_grad=v),
    "requires_grad_": lambda m, v: m.ones(2).requires_grad_(v),
    "Parameter": lambda m, v: m.nn.Parameter(m.ones(2), requires_grad=v),
}


def _outcome(fn, lib, value):
    try:
        r = fn(lib, value)
    except Exception as e:  # noqa: BLE001 - the type is what is compared
        return type(e)
    return ("ok", r.requires_grad)


@pytest.mark.parametrize("value", BAD + [True, False], ids=repr)
@pytest.mark.parametrize("name", sorted(CALLS))
def test_factory_flag_types(name, value):
    fn = CALLS[name]
    assert _outcome(fn, ember, value) == _outcome(fn, torch, value)


@pytest.mark.parametrize("name", ["zeros", "ones", "empty", "full", "rand", "randn"])
def test_none_means_unset(name):
    # zeros(..., requires_grad=None) is accepted by PyTorch's parser (an optional bool)
    assert _outcome(CALLS[name], ember, None) == _outcome(CALLS[name], torch, None)


def test_tensor_refuses_none():
    assert _outcome(CALLS["tensor"], ember, None) == _outcome(CALLS["tensor"], torch, None)


@pytest.mark.parametrize("value", BAD + [None], ids=repr)
def test_attribute_assignment(value):
    def assign(m, v):
        t = m.ones(2)
        t.requires_grad = v
        return t
    assert _outcome(assign, ember, value) == _outcome(assign, torch, value)


def test_message_names_the_argument_and_type():
    with pytest.raises(TypeError, match=r"zeros\(\): argument 'requires_grad' must be bool, "
                                        r"not int"):
        ember.zeros(2, requires_grad=1)
    with pytest.raises(TypeError, match="must be bool, not numpy.bool"):
        ember.tensor([1.0], requires_grad=np.True_)
    with pytest.raises(RuntimeError, match="requires_grad must be a bool"):
        ember.ones(2).requires_grad = 1
