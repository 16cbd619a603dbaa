"""Random index expressions (ints, slices with steps, None, Ellipsis, int arrays, bool
masks) against PyTorch: getitem values and gradients, setitem results."""
import warnings

import numpy as np
import torch
from hypothesis import given, strategies as st

import ember


@st.composite
def shape_and_key(draw):
    """A tensor shape and an index expression that is valid for it."""
    shape = tuple(draw(st.lists(st.integers(0, 4), min_size=0, max_size=3)))
    key, d = [], 0
    used_ellipsis = False
    while True:
        choices = ["none"]
        if d < len(shape):
            choices += ["int", "slice", "array", "mask"]
        if not used_ellipsis:
            choices.append("ellipsis")
        kind = draw(st.sampled_from(choices + ["stop"]))
        if kind == "stop" or len(key) >= 5:
            break
        if kind == "none":
            key.append(None)
        elif kind == "ellipsis":
            key.append(Ellipsis)
            used_ellipsis = True
            d = len(shape) - draw(st.integers(0, len(shape) - d))  # the dims left to the items after
        elif kind == "int":
            if shape[d] == 0:
                continue
            key.append(draw(st.integers(-shape[d], shape[d] - 1)))
            d += 1
        elif kind == "slice":
            start = draw(st.none() | st.integers(-5, 5))
            stop = draw(st.none() | st.integers(-5, 5))
            step = draw(st.none() | st.integers(1, 3))
            key.append(slice(start, stop, step))
            d += 1
        elif kind == "array":
            n = shape[d]
            length = draw(st.integers(0, 3))
            # distinct positions, so that setitem does not depend on the write order
            # (duplicates are covered by the op table)
            vals = draw(st.lists(st.integers(-n, n - 1), min_size=min(length, n),
                                 max_size=min(length, n), unique_by=lambda v, n=n: v % n)) \
                if n else []
            key.append(np.array(vals, dtype=np.int64))
            d += 1
        else:
            k = draw(st.integers(1, len(shape) - d))
            mask = draw(st.lists(st.booleans(), min_size=int(np.prod(shape[d:d + k])),
                                 max_size=int(np.prod(shape[d:d + k]))))
            key.append(np.array(mask, dtype=bool).reshape(shape[d:d + k]))
            d += k
    return shape, tuple(key)


def _lib_key(lib, key):
    return tuple(lib.from_numpy(k.copy()) if isinstance(k, np.ndarray) else k for k in key)


def _run(lib, data, key, fn):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return fn(lib.from_numpy(data.copy()), _lib_key(lib, key)), None
        except Exception as e:  # noqa: BLE001  compared below
            return None, e


def _same_outcome(t_res, e_res):
    (t, te), (e, ee) = t_res, e_res
    if te is not None:
        assert ee is not None and isinstance(ee, type(te)), f"torch raised {te!r}, ember {ee!r}"
        return False
    assert ee is None, f"ember raised {ee!r}"
    assert tuple(e.shape) == tuple(t.shape)
    np.testing.assert_array_equal(e.detach().numpy(), t.detach().numpy())
    return True


@given(shape_and_key())
def test_getitem_matches_torch(sk):
    shape, key = sk
    data = np.arange(int(np.prod(shape)), dtype=np.float64).reshape(shape)

    def fn(x, k):
        return x[k]

    _same_outcome(_run(torch, data, key, fn), _run(ember, data, key, fn))


@given(shape_and_key())
def test_getitem_grad_matches_torch(sk):
    shape, key = sk
    data = np.arange(int(np.prod(shape)), dtype=np.float64).reshape(shape)

    def fn(x, k):
        x.requires_grad_(True)
        out = x[k]
        w = np.arange(out.numel(), dtype=np.float64).reshape(tuple(out.shape))
        lib = torch if isinstance(x, torch.Tensor) else ember
        (g,) = lib.autograd.grad((out * lib.from_numpy(w)).sum(), x)
        return g

    _same_outcome(_run(torch, data, key, fn), _run(ember, data, key, fn))


@given(shape_and_key(), st.booleans())
def test_setitem_matches_torch(sk, tensor_value):
    shape, key = sk
    data = np.arange(int(np.prod(shape)), dtype=np.float64).reshape(shape)

    def fn(x, k):
        lib = torch if isinstance(x, torch.Tensor) else ember
        if tensor_value:
            target = x[k].shape  # a value of the indexed shape, its last dim broadcast
            vshape = tuple(target[:-1]) + (1,) if len(target) else ()
            value = lib.from_numpy(-np.arange(int(np.prod(vshape)), dtype=np.float64)
                                   .reshape(vshape) - 1)
        else:
            value = -7.0
        x[k] = value
        return x

    _same_outcome(_run(torch, data, key, fn), _run(ember, data, key, fn))
