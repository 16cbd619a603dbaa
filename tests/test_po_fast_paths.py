"""The per-op fast paths (session 19, bench/po_overhead.py) give what the general paths
give: iter_layout's common-case checks against its general body, a float tensor with a
Python number, view/reshape of row-major arrays, cat's checks, wrap_dim, a sum's dtypes,
a multi-output node's missing gradients, and the backward entry points; compared with
PyTorch where it has an answer."""
import itertools
import random

import numpy as np
import pytest

import ember
from ember._ops import _layout
from ember._ops._util import wrap_dim

torch = pytest.importorskip("torch")


def _random_operand(rng, shape):
    """A view of `shape` with a random layout: permuted, stepped, reversed, size-1 dims
    sliced out of bigger ones, or expanded from one value."""
    nd = len(shape)
    if rng.random() < 0.1:
        return np.broadcast_to(np.float32(1.5), shape)
    big = np.arange(np.prod([2 * s for s in shape]), dtype=np.float32).reshape(
        [2 * s for s in shape])
    perm = list(range(nd))
    if rng.random() < 0.4:
        rng.shuffle(perm)
    v = big.transpose(perm)
    v = v[tuple(slice(rng.choice([0, 1]), None, rng.choice([1, 1, 2, -1])) for _ in range(nd))]
    v = v.transpose(np.argsort(perm))
    return v[tuple(slice(0, s) for s in shape)]


def test_iter_layout_common_case_is_the_general_path():
    rng = random.Random(0)
    checked = 0
    for _ in range(3000):
        shape = tuple(rng.choice([1, 2, 3, 4]) for _ in range(rng.randint(1, 4)))
        ops = [_random_operand(rng, shape) for _ in range(rng.randint(1, 3))]
        if any(o.shape != shape for o in ops):
            continue
        if rng.random() < 0.3 and len(shape) > 1:
            ops.append(ops[0][0])              # a broadcast operand of fewer dims
        if rng.random() < 0.2:
            ops.append(2.5)                    # a Python scalar has no say
        arrays = [o for o in ops if isinstance(o, np.ndarray)]
        out = arrays[0] + 0
        for a in arrays[1:]:
            out = out + a
        fast, general = _layout.iter_layout(out, ops), _layout._laid_out(out, ops)
        assert fast.strides == general.strides and np.array_equal(fast, general), \
            (shape, [(o.shape, o.strides) for o in arrays])
        checked += 1
    assert checked > 1000


@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float32", "float64"])
@pytest.mark.parametrize("number", [2, -3, 2.5, 1e-3, 70000.0, 0])
def test_float_tensor_with_python_number(dtype, number):
    got, want = [], []
    for m, out in ((ember, got), (torch, want)):
        x = m.tensor([[0.5, -1.25], [3.0, 1e-4]], dtype=getattr(m, dtype))
        for r in (x + number, number + x, x - number, number - x, x * number, number * x,
                  x / (number or 1), (number or 1) / x):
            out.append((str(r.dtype).split(".")[1], r.float().tolist()))
    # the same values to the bit: half precision's add/sub read a Python float in the
    # tensor's dtype, mul/div in float32, as PyTorch's kernels do
    for (gd, gv), (wd, wv) in zip(got, want):
        assert gd == wd
        np.testing.assert_array_equal(gv, wv)


def test_bool_and_int_tensors_with_python_numbers_keep_the_general_path():
    for m in (ember, torch):
        assert str((m.tensor([1, 2]) + 2.5).dtype).endswith("float32")
        assert str((m.tensor([True]) * 2).dtype).endswith("int64")
        with pytest.raises(RuntimeError, match="bool tensor"):
            m.tensor([True]) - 1.5


def test_view_and_reshape_of_row_major_tensors_share_memory():
    x = ember.arange(24.0).reshape(2, 3, 4)
    v = x.view(6, 4)
    r = x.reshape(-1)
    v[0, 0] = 100.0
    assert x[0, 0, 0].item() == 100.0 and r[0].item() == 100.0
    assert v._base is x._base and r._base is x._base and v._vc is x._vc
    t = ember.arange(24.0).reshape(2, 3, 4).transpose(0, 2)   # no single run: reshape copies
    with pytest.raises(RuntimeError, match="view size is not compatible"):
        t.view(24)
    c = t.reshape(24)
    assert c._base is None
    assert c.tolist() == torch.arange(24.0).reshape(2, 3, 4).transpose(0, 2).reshape(24).tolist()
    with pytest.raises(RuntimeError, match="invalid for input of size 24"):
        x.view(5, 5)
    with pytest.raises(RuntimeError, match="only one dimension can be inferred"):
        x.view(-1, -1)


@pytest.mark.parametrize("case", [
    ([(3,), (2, 3)], 1), ([(2, 3), (3, 3)], 1), ([(), (2,)], 0), ([(2, 3), (2, 3, 1)], 0),
    ([(0,), (2, 2)], 0), ([(2, 2), (2, 3)], 1), ([(2, 2), (2, 3)], -1), ([(2, 2)], 2)])
def test_cat_checks_as_torch(case):
    shapes, dim = case
    outcome = []
    for m in (ember, torch):
        ts = [m.ones(s) for s in shapes]
        try:
            r = m.cat(ts, dim)
            outcome.append(("ok", list(r.shape), r.sum().item()))
        except Exception as e:   # noqa: BLE001 - the type and message are compared
            outcome.append((type(e).__name__, str(e).split("(")[0]))
    assert outcome[0] == outcome[1]


def test_cat_promotes_mixed_dtypes_as_torch():
    for a, b in itertools.product(["int32", "float16", "float32", "float64"], repeat=2):
        got = ember.cat([ember.ones(2, dtype=getattr(ember, a)), ember.ones(1, dtype=getattr(ember, b))])
        want = torch.cat([torch.ones(2, dtype=getattr(torch, a)), torch.ones(1, dtype=getattr(torch, b))])
        assert str(got.dtype).split(".")[1] == str(want.dtype).split(".")[1]


def test_wrap_dim():
    assert [wrap_dim(d, 3) for d in (-3, -1, 0, 2)] == [0, 2, 0, 2]
    assert wrap_dim(0, 0) == 0 and wrap_dim(-1, 0) == 0
    with pytest.raises(IndexError):
        wrap_dim(3, 3)
    with pytest.raises(IndexError):
        wrap_dim(-4, 3)
    with pytest.raises(TypeError):
        wrap_dim(True, 3)
    assert wrap_dim(np.int64(1), 3) == 1


@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float32", "float64", "int32",
                                   "bool"])
def test_sum_dtypes_as_torch(dtype):
    for keep in (False, True):
        got = ember.ones(3, 4, dtype=getattr(ember, dtype)).sum(1, keepdim=keep)
        want = torch.ones(3, 4, dtype=getattr(torch, dtype)).sum(1, keepdim=keep)
        assert str(got.dtype).split(".")[1] == str(want.dtype).split(".")[1]
        assert got.tolist() == want.tolist()
        full = ember.ones(3, 4, dtype=getattr(ember, dtype)).sum()
        assert full.dim() == 0 and isinstance(full._data, np.ndarray)


def test_chunk_gradient_with_unused_pieces_as_torch():
    grads = []
    for m in (ember, torch):
        x = m.arange(24.0).reshape(3, 8).requires_grad_()
        a, b, c, d = x.chunk(4, 1)
        (a.sigmoid() * 2 + c.sum()).sum().backward()
        grads.append(x.grad.tolist())
        assert a.grad_fn.name().endswith("SplitBackward0")
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-6)


def test_backward_entry_points():
    x = ember.randn(3, requires_grad=True)
    x.sum().backward()
    x.sum().backward()
    assert x.grad.tolist() == [2.0, 2.0, 2.0]
    y = (x * 2).sum()
    y.backward(ember.tensor(3.0))
    assert x.grad.tolist() == [8.0, 8.0, 8.0]
    with pytest.raises(TypeError, match="gradients can be either Tensors or None"):
        (x * 2).sum().backward("bad")
    with pytest.raises(RuntimeError, match="Mismatch in shape"):
        (x * 2).sum().backward(ember.ones(2))
    with pytest.raises(RuntimeError, match="only for scalar outputs"):
        (x * 2).backward()
    b = ember.randn(4, requires_grad=True)     # a broadcast operand's gradient is reduced
    (ember.ones(3, 4) + b).sum().backward()
    assert b.grad.tolist() == [3.0] * 4
