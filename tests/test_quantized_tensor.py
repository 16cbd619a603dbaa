"""Quantized tensors (ember/_quantized.py) against PyTorch: the integers of quantize_per_tensor
and quantize_per_channel bit for bit (ties, extremes, NaN), dequantize bit for bit, reprs,
accessors, views and the channel axis, the refused ops' exception types, copies, pickling."""
import copy
import io
import pickle
import warnings

import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

QDTYPES = [("quint8", 0, 255), ("qint8", -128, 127), ("qint32", -1000, 1000)]


def _np(t):
    return t.detach().numpy()


def _pair_tensor(x, scale, zp, dt):
    t = torch.quantize_per_tensor(torch.from_numpy(x), scale, zp, getattr(torch, dt))
    e = ember.quantize_per_tensor(ember.tensor(x), scale, zp, getattr(ember, dt))
    return t, e


def _same(t, e):
    """Same integers, values, dtype, shape and parameters."""
    assert str(e.dtype) == str(t.dtype).replace("torch.", "ember.")
    assert tuple(e.shape) == tuple(t.shape)
    assert repr(e.qscheme()) == repr(t.qscheme()).replace("torch.", "ember.")
    np.testing.assert_array_equal(_np(e.int_repr()), t.int_repr().numpy())
    np.testing.assert_array_equal(_np(e.dequantize()), t.dequantize().numpy())
    if t.qscheme() == torch.per_tensor_affine:
        assert (e.q_scale(), e.q_zero_point()) == (t.q_scale(), t.q_zero_point())
    else:
        np.testing.assert_array_equal(_np(e.q_per_channel_scales()),
                                      t.q_per_channel_scales().numpy())
        np.testing.assert_array_equal(_np(e.q_per_channel_zero_points()),
                                      t.q_per_channel_zero_points().numpy())
        assert e.q_per_channel_axis() == t.q_per_channel_axis()


def _ties(rng, shape, scale):
    """Random values, a third of them exactly half-way between two quantization steps."""
    x = (rng.standard_normal(shape) * rng.uniform(0.01, 300)).astype(np.float32)
    k = rng.integers(-200, 200, shape)
    m = rng.random(shape) < 0.35
    x[m] = ((k[m] + 0.5) * np.float32(scale)).astype(np.float32)
    return x


@pytest.mark.parametrize("dt,lo,hi", QDTYPES)
def test_quantize_per_tensor_bit_exact(dt, lo, hi):
    rng = np.random.default_rng(0)
    for _ in range(40):
        shape = (int(rng.integers(1, 4)), int(rng.integers(1, 70)))
        scale = float(10 ** rng.uniform(-4, 1))
        x = _ties(rng, shape, scale)
        if dt == "qint32":
            x = x * np.float32(1e5)
        zp = int(rng.integers(lo, hi + 1))
        _same(*_pair_tensor(x, scale, zp, dt))


@pytest.mark.parametrize("dt,lo,hi", QDTYPES)
def test_quantize_extremes_nan_inf(dt, lo, hi):
    x = np.array([np.inf, -np.inf, np.nan, 1e30, -1e30, 3e9, -3e9, 2.1e9, 0.0, -0.0, 0.5, 1.5,
                  2.5, -0.5, -2.5, 2.4999998], dtype=np.float32)
    for n in (len(x), 64 + len(x)):
        xs = np.resize(x, n)
        _same(*_pair_tensor(xs, 1.0, 3, dt))


@pytest.mark.parametrize("dt,lo,hi", QDTYPES)
def test_quantize_per_channel_bit_exact(dt, lo, hi):
    rng = np.random.default_rng(1)
    for _ in range(25):
        shape = (int(rng.integers(1, 5)), int(rng.integers(1, 9)), int(rng.integers(1, 7)))
        axis = int(rng.integers(0, 3))
        c = shape[axis]
        scales = 10 ** rng.uniform(-4, 1, c)
        zps = rng.integers(lo, hi + 1, c)
        x = _ties(rng, shape, float(scales[0]))
        if dt == "qint32":
            x = x * np.float32(1e5)
        t = torch.quantize_per_channel(torch.from_numpy(x), torch.from_numpy(scales),
                                       torch.from_numpy(zps), axis, getattr(torch, dt))
        e = ember.quantize_per_channel(ember.tensor(x), ember.tensor(scales), ember.tensor(zps),
                                       axis, getattr(ember, dt))
        _same(t, e)


def test_quantize_per_channel_float_qparams():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((4, 6)).astype(np.float32)
    scales = rng.uniform(0.01, 0.1, 4)
    zps = rng.uniform(-3, 3, 4).astype(np.float32)
    t = torch.quantize_per_channel(torch.from_numpy(x), torch.from_numpy(scales),
                                   torch.from_numpy(zps), 0, torch.quint8)
    e = ember.quantize_per_channel(ember.tensor(x), ember.tensor(scales), ember.tensor(zps), 0,
                                   ember.quint8)
    assert repr(e.qscheme()) == "ember.per_channel_affine_float_qparams"
    np.testing.assert_array_equal(_np(e.int_repr()), t.int_repr().numpy())
    np.testing.assert_allclose(_np(e.dequantize()), t.dequantize().numpy(), rtol=1e-6, atol=1e-6)


def test_make_quantized_tensors_share_memory():
    ints = np.array([[1, 2, 250], [7, 0, 128]], dtype=np.uint8)
    t = torch._make_per_tensor_quantized_tensor(torch.from_numpy(ints.copy()), 0.5, 3)
    src = ember.tensor(ints.copy())
    e = ember._make_per_tensor_quantized_tensor(src, 0.5, 3)
    _same(t, e)
    src[0, 0] = 9   # a view of the integers, as PyTorch's
    assert e.int_repr()[0, 0].item() == 9
    i8 = np.array([[1, -2], [127, -128]], dtype=np.int8)
    s = np.array([0.5, 0.25])
    z = np.array([0, 1])
    t = torch._make_per_channel_quantized_tensor(torch.from_numpy(i8), torch.from_numpy(s),
                                                 torch.from_numpy(z), 1)
    e = ember._make_per_channel_quantized_tensor(ember.tensor(i8), ember.tensor(s),
                                                 ember.tensor(z), 1)
    _same(t, e)
    i32 = np.array([5, -7, 2 ** 31 - 1], dtype=np.int32)
    _same(torch._make_per_tensor_quantized_tensor(torch.from_numpy(i32), 0.1, -702),
          ember._make_per_tensor_quantized_tensor(ember.tensor(i32), 0.1, -702))


def test_tensor_scale_list_and_dynamic_forms():
    x = np.array([1.0, 2.0, -0.3], dtype=np.float32)
    t = torch.quantize_per_tensor(torch.from_numpy(x), torch.tensor(0.1), torch.tensor(3),
                                  torch.qint8)
    e = ember.quantize_per_tensor(ember.tensor(x), ember.tensor(0.1), ember.tensor(3),
                                  ember.qint8)
    _same(t, e)   # the float32 scale tensor's value: 0.10000000149011612
    ts = torch.quantize_per_tensor([torch.from_numpy(x), torch.tensor([3.0])],
                                   torch.tensor([0.1, 0.2]), torch.tensor([3, 4]), torch.quint8)
    es = ember.quantize_per_tensor([ember.tensor(x), ember.tensor([3.0])],
                                   ember.tensor([0.1, 0.2]), ember.tensor([3, 4]), ember.quint8)
    assert len(es) == 2
    for a, b in zip(ts, es):
        _same(a, b)
    rng = np.random.default_rng(3)
    for _ in range(10):
        y = (rng.standard_normal(20) * rng.uniform(0.1, 10) + rng.uniform(-3, 3)).astype(
            np.float32)
        for dt in ("quint8", "qint8"):
            for rr in (False, True):
                _same(torch.quantize_per_tensor_dynamic(torch.from_numpy(y), getattr(torch, dt),
                                                        rr),
                      ember.quantize_per_tensor_dynamic(ember.tensor(y), getattr(ember, dt),
                                                        rr))


def test_empty_affine_quantized():
    t = torch._empty_affine_quantized([2, 3], scale=0.5, zero_point=4, dtype=torch.qint8)
    e = ember._empty_affine_quantized([2, 3], scale=0.5, zero_point=4, dtype=ember.qint8)
    assert tuple(e.shape) == tuple(t.shape) and e.is_quantized
    assert (e.q_scale(), e.q_zero_point(), str(e.dtype)) == (0.5, 4, "ember.qint8")


def test_repr_matches_torch():
    x = np.array([-1.0, 0.05, 0.15, 0.25, 2.0, 100.0], dtype=np.float32)
    t, e = _pair_tensor(x, 0.1, 10, "quint8")
    assert repr(e) == repr(t).replace("torch.", "ember.")
    t, e = _pair_tensor(np.array(1.5, dtype=np.float32), 0.5, 0, "qint32")
    assert repr(e) == repr(t).replace("torch.", "ember.")
    t, e = _pair_tensor(np.zeros((0, 3), dtype=np.float32), 0.5, 0, "qint8")
    assert repr(e) == repr(t).replace("torch.", "ember.")
    rng = np.random.default_rng(4)
    x = rng.standard_normal((2, 3)).astype(np.float32)
    t = torch.quantize_per_channel(torch.from_numpy(x), torch.tensor([0.1, 0.2]),
                                   torch.tensor([0, 1]), 0, torch.qint8)
    e = ember.quantize_per_channel(ember.tensor(x), ember.tensor([0.1, 0.2]),
                                   ember.tensor([0, 1]), 0, ember.qint8)
    assert repr(e) == repr(t).replace("torch.", "ember.")
    assert repr(ember.per_tensor_affine) == "ember.per_tensor_affine"
    for name in ("per_tensor_affine", "per_channel_affine", "per_tensor_symmetric",
                 "per_channel_symmetric", "per_channel_affine_float_qparams"):
        assert repr(getattr(ember, name)) == repr(getattr(torch, name)).replace("torch.",
                                                                                 "ember.")


def test_metadata():
    x = np.arange(12, dtype=np.float32).reshape(3, 4)
    t, e = _pair_tensor(x, 0.1, 10, "quint8")
    assert e.is_quantized and not ember.tensor(x).is_quantized
    assert isinstance(e, ember.Tensor)
    assert (e.numel(), e.dim(), e.stride(), e.element_size(), e.nbytes) == \
        (t.numel(), t.dim(), t.stride(), t.element_size(), t.nbytes)
    assert e.is_contiguous() and str(e.layout) == "ember.strided" and str(e.device) == "cpu"
    assert e.requires_grad is False and e.is_leaf and e.grad is None
    assert len(e) == len(t) and [r.shape for r in e] == [r.shape for r in t]
    assert e[0, 1].item() == t[0, 1].item()
    assert e.T.stride() == t.T.stride()
    assert e.element_size() == 1
    assert ember.dequantize(e).dtype is ember.float32


VIEW_CASES = [
    ("view", lambda q: q.view(4, 6)), ("reshape", lambda q: q.reshape(-1)),
    ("flatten", lambda q: q.flatten(1)), ("permute", lambda q: q.permute(2, 0, 1)),
    ("transpose", lambda q: q.transpose(0, 2)), ("contiguous", lambda q: q.transpose(0, 1)
                                                 .contiguous()),
    ("clone", lambda q: q.clone()), ("getitem", lambda q: q[1:, ::2, 1]),
    ("getitem none", lambda q: q[None, ..., -1]), ("select", lambda q: q.select(1, 2)),
    ("narrow", lambda q: q.narrow(2, 1, 2)), ("squeeze", lambda q: q[:, :1].squeeze(1)),
    ("unsqueeze", lambda q: q.unsqueeze(-1)), ("expand", lambda q: q[:, :1].expand(2, 3, 4)),
    ("flip", lambda q: q.flip(1)), ("repeat", lambda q: q.repeat(1, 2, 1)),
    ("index_select", None), ("detach", lambda q: q.detach()),
    ("t", lambda q: q[0].t()), ("chunk", lambda q: q.chunk(2, 2)[1]),
    ("split", lambda q: q.split(1, 1)[2]), ("unbind", lambda q: q.unbind(0)[1]),
    ("to cpu", lambda q: q.to("cpu")), ("cpu", lambda q: q.cpu()),
]


@pytest.mark.parametrize("name,fn", VIEW_CASES, ids=[c[0] for c in VIEW_CASES])
def test_views_per_tensor(name, fn):
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 3, 4)).astype(np.float32)
    t, e = _pair_tensor(x, 0.05, 100, "quint8")
    if fn is None:   # index_select takes an index tensor of each library
        r_t = t.index_select(1, torch.tensor([2, 0]))
        r_e = e.index_select(1, ember.tensor([2, 0]))
    else:
        r_t, r_e = fn(t), fn(e)
    _same(r_t, r_e)
    if name != "getitem none":   # (dense ember gives an inserted dim NumPy's stride 0)
        assert r_e.stride() == r_t.stride()


def test_views_share_memory():
    x = np.arange(6, dtype=np.float32)
    e = ember.quantize_per_tensor(ember.tensor(x), 1.0, 0, ember.quint8)
    v = e.view(2, 3)[1]
    v[0] = 50.0
    assert e.int_repr()[3].item() == 50


PER_CHANNEL_CASES = [
    ("select other dim", lambda q: q[0]), ("slice axis", lambda q: q[:, 1:]),
    ("select axis", lambda q: q[:, 1]), ("narrow axis", lambda q: q.narrow(1, 1, 2)),
    ("unsqueeze", lambda q: q.unsqueeze(0)), ("squeeze", lambda q: q.squeeze()),
    ("contiguous", lambda q: q.contiguous()), ("clone", lambda q: q.clone()),
    ("view same axis", lambda q: q.view(2, 3, 2, 2)),
]


@pytest.mark.parametrize("name,fn", PER_CHANNEL_CASES, ids=[c[0] for c in PER_CHANNEL_CASES])
def test_views_per_channel(name, fn):
    rng = np.random.default_rng(6)
    x = rng.standard_normal((2, 3, 4)).astype(np.float32)
    s, z = np.array([0.1, 0.2, 0.3]), np.array([0, 1, 2])
    t = torch.quantize_per_channel(torch.from_numpy(x), torch.from_numpy(s), torch.from_numpy(z),
                                   1, torch.quint8)
    e = ember.quantize_per_channel(ember.tensor(x), ember.tensor(s), ember.tensor(z), 1,
                                   ember.quint8)
    _same(fn(t), fn(e))


@pytest.mark.parametrize("fn", [lambda q: q.select(2, 0), lambda q: q[:, :, 0],
                                lambda q: q[..., 1]])
def test_per_channel_select_behind_the_axis(fn):
    """Selecting a dim after the channel axis keeps the axis (PyTorch 2.13 moves it down,
    naming the wrong dim): the integers and the values are PyTorch's selected ones."""
    rng = np.random.default_rng(6)
    x = rng.standard_normal((2, 3, 4)).astype(np.float32)
    s, z = np.array([0.1, 0.2, 0.3]), np.array([0, 1, 2])
    t = torch.quantize_per_channel(torch.from_numpy(x), torch.from_numpy(s), torch.from_numpy(z),
                                   1, torch.quint8)
    e = fn(ember.quantize_per_channel(ember.tensor(x), ember.tensor(s), ember.tensor(z), 1,
                                      ember.quint8))
    assert e.q_per_channel_axis() == 1
    np.testing.assert_array_equal(_np(e.int_repr()), fn(t.int_repr()).numpy())
    np.testing.assert_array_equal(_np(e.dequantize()), fn(t.dequantize()).numpy())


def test_per_channel_refusals():
    x = np.zeros((2, 3), dtype=np.float32)
    t = torch.quantize_per_channel(torch.from_numpy(x), torch.tensor([0.1, 0.2, 0.3]),
                                   torch.tensor([0, 0, 0]), 1, torch.qint8)
    e = ember.quantize_per_channel(ember.tensor(x), ember.tensor([0.1, 0.2, 0.3]),
                                   ember.tensor([0, 0, 0]), 1, ember.qint8)
    for fn in (lambda q: q.transpose(0, 1), lambda q: q.permute(1, 0),
               lambda q: ember.cat([q, q]) if isinstance(q, ember.Tensor) else torch.cat([q, q]),
               lambda q: q.q_scale()):
        with pytest.raises(RuntimeError):
            fn(t)
        with pytest.raises(RuntimeError):
            fn(e)
    tq, eq = _pair_tensor(x, 0.1, 0, "qint8")
    with pytest.raises(RuntimeError):
        tq.q_per_channel_scales()
    with pytest.raises(RuntimeError):
        eq.q_per_channel_scales()


REFUSED = [
    ("add", lambda q, m: q + q, NotImplementedError),
    ("torch.add", lambda q, m: m.add(q, q), NotImplementedError),
    ("sum", lambda q, m: q.sum(), NotImplementedError),
    ("exp", lambda q, m: q.exp(), NotImplementedError),
    ("torch.exp", lambda q, m: m.exp(q), NotImplementedError),
    ("abs", lambda q, m: q.abs(), NotImplementedError),
    ("neg", lambda q, m: -q, NotImplementedError),
    ("argmax", lambda q, m: q.argmax(), NotImplementedError),
    ("zero_", lambda q, m: q.zero_(), NotImplementedError),
    ("roll", lambda q, m: q.roll(1), NotImplementedError),
    ("unique", lambda q, m: q.unique(), NotImplementedError),
    ("requires_grad_", lambda q, m: q.requires_grad_(), RuntimeError),
    ("float", lambda q, m: q.float(), RuntimeError),
    ("half", lambda q, m: q.half(), RuntimeError),
    ("to float32", lambda q, m: q.to(m.float32), RuntimeError),
    ("item of many", lambda q, m: q.item(), RuntimeError),
    ("numpy", lambda q, m: q.numpy(), TypeError),
    ("tolist", lambda q, m: q.tolist(), RuntimeError),
    ("cat with float", lambda q, m: m.cat([q, m.zeros(3)]), NotImplementedError),
]


@pytest.mark.parametrize("name,fn,exc", REFUSED, ids=[c[0] for c in REFUSED])
def test_refused_like_torch(name, fn, exc):
    x = np.array([0.5, -1.0, 2.0], dtype=np.float32)
    t, e = _pair_tensor(x, 0.1, 10, "quint8")
    with pytest.raises(exc):
        fn(t, torch)
    with pytest.raises(exc) as info:
        fn(e, ember)
    if exc is NotImplementedError and name != "cat with float":
        assert "QuantizedCPU" in str(info.value)


BAD_INPUTS = [
    ("float dtype", lambda m, x: m.quantize_per_tensor(x, 0.1, 0, m.float32)),
    ("int input", lambda m, x: m.quantize_per_tensor(x.long(), 0.1, 0, m.quint8)),
    ("double input", lambda m, x: m.quantize_per_tensor(x.double(), 0.1, 0, m.quint8)),
    ("zero point too big", lambda m, x: m.quantize_per_tensor(x, 0.1, 300, m.quint8)),
    ("zero point too small", lambda m, x: m.quantize_per_tensor(x, 0.1, -129, m.qint8)),
    ("channel count", lambda m, x: m.quantize_per_channel(
        x, m.tensor([0.1, 0.2, 0.3]), m.tensor([0, 1]), 1, m.qint8)),
    ("channel axis", lambda m, x: m.quantize_per_channel(
        x, m.tensor([0.1, 0.2]), m.tensor([0, 1]), 2, m.qint8)),
]


@pytest.mark.parametrize("name,fn", BAD_INPUTS, ids=[c[0] for c in BAD_INPUTS])
def test_bad_inputs_raise_like_torch(name, fn):
    x = np.ones((2, 3), dtype=np.float32)
    with pytest.raises(RuntimeError):
        fn(torch, torch.from_numpy(x))
    with pytest.raises(RuntimeError) as info:
        fn(ember, ember.tensor(x))
    assert str(info.value)


def test_writes_quantize_with_the_tensors_parameters():
    x = np.array([0.5, -1.0, 2.0, 3.3], dtype=np.float32)
    t, e = _pair_tensor(x, 0.1, 10, "quint8")
    t.fill_(1.23)
    e.fill_(1.23)
    _same(t, e)
    t[1] = 0.77
    e[1] = 0.77
    _same(t, e)
    src = np.array([4.1, -0.2, 0.35, 9.0], dtype=np.float32)
    t.copy_(torch.from_numpy(src))
    e.copy_(ember.tensor(src))
    _same(t, e)
    mask = np.array([True, False, True, False])
    _same(t.masked_fill(torch.from_numpy(mask), 0.4), e.masked_fill(ember.tensor(mask), 0.4))


def test_equal_eq_and_cat():
    x = np.array([1.0, 2.0], dtype=np.float32)
    t1, e1 = _pair_tensor(x, 0.1, 0, "qint8")
    t2, e2 = _pair_tensor(x, 0.2, 0, "qint8")
    assert torch.equal(t1, t1) == ember.equal(e1, e1) is True
    assert torch.equal(t1, t2) == ember.equal(e1, e2) is False
    np.testing.assert_array_equal(_np(e1 == e2), (t1 == t2).numpy())
    _same(torch.cat([t1, t2]), ember.cat([e1, e2]))
    _same(torch.stack([t1, t2], 1), ember.stack([e1, e2], 1))


def test_order_ops():
    rng = np.random.default_rng(7)
    x = rng.standard_normal((3, 5)).astype(np.float32)
    t, e = _pair_tensor(x, 0.05, 128, "quint8")
    _same(t.max(), e.max())
    _same(t.min(1).values, e.min(1).values)
    np.testing.assert_array_equal(_np(e.max(0).indices), t.max(0).indices.numpy())
    _same(t.sort(1).values, e.sort(1).values)
    _same(t.topk(2).values, e.topk(2).values)


def test_copies_pickle_and_deepcopy():
    rng = np.random.default_rng(8)
    x = rng.standard_normal((2, 3)).astype(np.float32)
    t, e = _pair_tensor(x, 0.05, 100, "quint8")
    for c in (copy.deepcopy(e), pickle.loads(pickle.dumps(e))):
        _same(t, c)
        assert c._data.ints is not e._data.ints
    ec = ember.quantize_per_channel(ember.tensor(x), ember.tensor([0.1, 0.2]),
                                    ember.tensor([1, 2]), 0, ember.qint8)
    tc = torch.quantize_per_channel(torch.from_numpy(x), torch.tensor([0.1, 0.2]),
                                    torch.tensor([1, 2]), 0, torch.qint8)
    _same(tc, pickle.loads(pickle.dumps(ec)))
    _same(tc, copy.deepcopy(ec))


def test_deprecation_warning_once():
    import ember._quantized_creation as Q
    Q._DEPRECATION[0] = False
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        ember.quantize_per_tensor(ember.ones(2), 0.1, 0, ember.quint8)
        ember.quantize_per_tensor(ember.ones(2), 0.1, 0, ember.quint8)
    assert sum("deprecated" in str(m.message) for m in w) == 1


def _checkpoint_objects(m):
    x = np.array([[1.0, -2.0, 3.5], [0.25, 0.0, -0.75]], dtype=np.float32)
    q = m.quantize_per_tensor(m.tensor(x), 0.1, 3, m.quint8)
    return {"a": q, "view": q[1:, 1:], "c": m.quantize_per_tensor(m.tensor(x), 0.5, -7, m.qint32),
            "d": m.quantize_per_channel(m.tensor(x), m.tensor([0.1, 0.2], dtype=m.float64),
                                        m.tensor([0, 1]), 0, m.qint8),
            "dtype": m.qint8, "plain": m.tensor(x)}


def _check_checkpoint(loaded, reference):
    for k in ("a", "view", "c", "d"):
        _same(reference[k], loaded[k])
    assert loaded["dtype"] is ember.qint8


def test_load_torch_checkpoint_with_quantized_tensors():
    buf = io.BytesIO()
    torch.save(_checkpoint_objects(torch), buf)
    buf.seek(0)
    _check_checkpoint(ember.load(buf), _checkpoint_objects(torch))


def test_torch_reads_embers_torch_format():
    buf = io.BytesIO()
    objects = _checkpoint_objects(ember)
    ember.save(objects, buf, format="torch")
    buf.seek(0)
    loaded = torch.load(buf)
    assert loaded["dtype"] is torch.qint8   # written as torch.save writes dtypes
    ref = _checkpoint_objects(torch)
    for k in ("a", "view", "c", "d"):
        np.testing.assert_array_equal(loaded[k].int_repr().numpy(), ref[k].int_repr().numpy())
        assert loaded[k].qscheme() == ref[k].qscheme() and loaded[k].dtype == ref[k].dtype
    assert loaded["d"].q_per_channel_axis() == 0


def test_ember_format_round_trip():
    buf = io.BytesIO()
    ember.save(_checkpoint_objects(ember), buf)
    buf.seek(0)
    _check_checkpoint(ember.load(buf), _checkpoint_objects(torch))
    state = ember.nn.Module()
    state.register_buffer("q", _checkpoint_objects(ember)["d"])
    buf = io.BytesIO()
    ember.save(state, buf)   # an object pickle (not weights-only)
    buf.seek(0)
    _same(_checkpoint_objects(torch)["d"], ember.load(buf, weights_only=False).q)


def test_forged_quantizer_params_refused():
    import ember._quantized_serialization as QS
    storage = np.zeros(4, dtype=np.uint8)
    with pytest.raises(pickle.UnpicklingError):
        QS.rebuild_qtensor(storage, 0, (4,), (1,), (ember.per_tensor_affine, "0.1", 0))
    with pytest.raises(pickle.UnpicklingError):
        QS.rebuild_qtensor(storage, 0, (8,), (1,), (ember.per_tensor_affine, 0.1, 0))
    with pytest.raises(pickle.UnpicklingError):
        QS.rebuild_qtensor(storage, 0, (2, 2), (2, 1), (ember.per_channel_affine,
                                                         ember.tensor([0.1]), ember.tensor([0]),
                                                         0))
    with pytest.raises(pickle.UnpicklingError):
        QS.rebuild_qtensor(storage.astype(np.float32), 0, (4,), (1,),
                           (ember.per_tensor_affine, 0.1, 0))


@pytest.mark.parametrize("name", ["int_repr", "q_scale", "q_zero_point", "qscheme",
                                  "q_per_channel_scales", "q_per_channel_axis"])
def test_accessors_of_dense_tensors_refuse(name):
    with pytest.raises(NotImplementedError):
        getattr(torch.ones(2), name)()
    with pytest.raises(NotImplementedError, match=name):
        getattr(ember.ones(2), name)()


def test_dense_dequantize_is_identity():
    t, e = torch.ones(2), ember.ones(2)
    assert (t.dequantize() is t) == (e.dequantize() is e)
    assert (torch.dequantize(t) is t) == (ember.dequantize(e) is e)
