"""The dtypes beyond the classic fifteen, against torch: complex32, the 8-bit floats, and
the sub-byte, bits, quantized and packed-float4 dtypes (objects only in ember).

float8: attributes, finfo, PyTorch's conversions (e4m3fn saturates, e8m0fnu drops the
sign), creation, printing, copies, save/load in both formats, and the promotion PyTorch
refuses. complex32: creation, conversions, chalf(), view_as_real/view_as_complex, real and
imag, printing, save/load.
"""
import io
import math
import pickle
import warnings

import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")

FLOAT8 = ["float8_e4m3fn", "float8_e5m2", "float8_e4m3fnuz", "float8_e5m2fnuz", "float8_e8m0fnu"]
STORAGELESS = (["float4_e2m1fn_x2"] + [f"uint{n}" for n in range(1, 8)]
               + [f"int{n}" for n in range(1, 8)]
               + ["bits1x8", "bits2x4", "bits4x2", "bits8", "bits16"]
               + ["qint8", "quint8", "qint32", "quint4x2", "quint2x4"])
NEW = ["complex32", "chalf"] + FLOAT8 + STORAGELESS
CLASSIC = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "bfloat16", "float32",
           "float64", "complex64", "complex128", "uint16"]


def _outcome(fn):
    """What fn() gives: ('ok', value) or ('raise', exception type name, message)."""
    try:
        return ("ok", fn())
    except Exception as e:   # the type and message are what we compare
        return ("raise", type(e).__name__, str(e))


def _name(d):
    return str(d).split(".", 1)[1] if hasattr(d, "is_floating_point") else d


@pytest.fixture(autouse=True)
def _quiet_complexhalf():
    # torch warns that ComplexHalf is experimental whenever it makes a complex32 tensor
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="ComplexHalf support is experimental")
        yield


# ---------------------------------------------------------------------------- the objects

@pytest.mark.parametrize("name", NEW)
def test_dtype_attributes(name):
    e, t = getattr(ember, name), getattr(torch, name)
    assert repr(e) == repr(t).replace("torch.", "ember.")
    assert e.is_floating_point == t.is_floating_point
    assert e.is_complex == t.is_complex
    assert e.itemsize == t.itemsize
    got, want = _outcome(lambda: e.is_signed), _outcome(lambda: t.is_signed)
    assert got == want
    for method in ("to_real", "to_complex"):
        got = _outcome(lambda: _name(getattr(e, method)()))
        want = _outcome(lambda: _name(getattr(t, method)()))
        assert got == want, method
    assert pickle.loads(pickle.dumps(e)) is e


@pytest.mark.parametrize("name", CLASSIC)
def test_classic_to_complex(name):
    e, t = getattr(ember, name), getattr(torch, name)
    assert _outcome(lambda: _name(e.to_complex())) == _outcome(lambda: _name(t.to_complex()))
    assert _name(e.to_real()) == _name(t.to_real())


@pytest.mark.parametrize("name", FLOAT8 + ["complex32"])
def test_finfo(name):
    e, t = ember.finfo(getattr(ember, name)), torch.finfo(getattr(torch, name))
    for attr in ("bits", "eps", "max", "min", "tiny", "smallest_normal", "resolution", "dtype"):
        assert getattr(e, attr) == getattr(t, attr), attr
    assert repr(e) == repr(t)


@pytest.mark.parametrize("name", ["uint4", "int2", "qint8", "bits8"])
def test_finfo_refuses_integer_kinds(name):
    with pytest.raises(TypeError):
        torch.finfo(getattr(torch, name))
    with pytest.raises(TypeError):
        ember.finfo(getattr(ember, name))


PAIRS = ([(a, b) for a in FLOAT8[:3] + ["complex32"] for b in CLASSIC + FLOAT8[:2]]
         + [("qint8", "float32"), ("quint8", "int64"), ("bits8", "float32"),
            ("bits16", "uint8"), ("qint8", "qint8"), ("uint1", "uint1")])


@pytest.mark.parametrize("a,b", PAIRS)
def test_promote_types(a, b):
    got = _outcome(lambda: _name(ember.promote_types(getattr(ember, a), getattr(ember, b))))
    want = _outcome(lambda: _name(torch.promote_types(getattr(torch, a), getattr(torch, b))))
    assert got == want


# ---------------------------------------------------------------------------- float8 tensors

VALUES = [float("nan"), float("inf"), -float("inf"), 1e6, -1e6, 500.0, 250.0, 0.3, -0.3,
          1e-9, -2.0, 3.0, 1.9375 * 2 ** -9, 0.0, 448.0, 57344.0]


def _same_bits(e, t):
    """The same bytes, NaNs apart (NaN payloads and signs differ between converters)."""
    eb, tb = e.reshape(-1).view(ember.uint8).tolist(), t.reshape(-1).view(torch.uint8).tolist()
    nan = [math.isnan(v) for v in t.reshape(-1).float().tolist()]
    assert [b for b, n in zip(eb, nan) if not n] == [b for b, n in zip(tb, nan) if not n]
    assert [math.isnan(v) for v in e.reshape(-1).float().tolist()] == nan


def _same_floats(e_list, t_list):
    assert len(e_list) == len(t_list)
    for a, b in zip(e_list, t_list):
        assert (math.isnan(a) and math.isnan(b)) or a == b, (e_list, t_list)


@pytest.mark.parametrize("name", FLOAT8)
@pytest.mark.parametrize("src", ["float32", "float64", "float16", "bfloat16"])
def test_float8_conversion_values(name, src):
    e = ember.tensor(VALUES).to(getattr(ember, src)).to(getattr(ember, name))
    t = torch.tensor(VALUES).to(getattr(torch, src)).to(getattr(torch, name))
    assert e.dtype is getattr(ember, name)
    _same_floats(e.float().tolist(), t.float().tolist())
    _same_bits(e, t)


@pytest.mark.parametrize("name", FLOAT8)
def test_float8_creation_and_copies(name):
    E, T = getattr(ember, name), getattr(torch, name)
    pairs = [
        (ember.tensor(VALUES, dtype=E), torch.tensor(VALUES, dtype=T)),
        (ember.full((3,), 100.0, dtype=E), torch.full((3,), 100.0, dtype=T)),
        (ember.zeros(2, 3, dtype=E), torch.zeros(2, 3, dtype=T)),
        (ember.ones(2, dtype=E), torch.ones(2, dtype=T)),
        (ember.empty(3, dtype=E).fill_(3.0), torch.empty(3, dtype=T).fill_(3.0)),
        (ember.empty(3, dtype=E).copy_(ember.tensor([3.0, 500.0, -0.3])),
         torch.empty(3, dtype=T).copy_(torch.tensor([3.0, 500.0, -0.3]))),
        (ember.tensor([56, 64, 200], dtype=ember.uint8).view(E),
         torch.tensor([56, 64, 200], dtype=torch.uint8).view(T)),
        (ember.ones(2, 3, dtype=E).t().contiguous(), torch.ones(2, 3, dtype=T).t().contiguous()),
        (ember.ones(2, dtype=E).expand(3, 2), torch.ones(2, dtype=T).expand(3, 2)),
    ]
    for e, t in pairs:
        assert e.dtype is E and e.shape == tuple(t.shape)
        _same_bits(e, t)
        _same_floats(e.reshape(-1).tolist(), t.reshape(-1).tolist())
    x_e, x_t = pairs[0]
    assert x_e[7].item() == x_t[7].item()
    _same_bits(ember.cat([x_e, x_e]), torch.cat([x_t, x_t]))
    _same_bits(x_e.clone(), x_t.clone())
    _same_bits(x_e.to(ember.float8_e5m2), x_t.to(torch.float8_e5m2))


@pytest.mark.parametrize("name", FLOAT8)
def test_float8_repr(name):
    vals = [1.0, 2.0, 0.25, 448.0, -3.0]
    e = ember.tensor(vals).to(getattr(ember, name))
    t = torch.tensor(vals).to(getattr(torch, name))
    assert repr(e) == repr(t).replace("torch.", "ember.")
    assert repr(e[1]) == repr(t[1]).replace("torch.", "ember.")


@pytest.mark.parametrize("name", FLOAT8[:3])
@pytest.mark.parametrize("other", ["float32", "float16", "int64", "bool", "float8_e5m2"])
def test_float8_promotion_refused(name, other):
    E, T = getattr(ember, name), getattr(torch, name)
    if other == name:
        return
    e = ember.ones(2, dtype=E)
    t = torch.ones(2, dtype=T)
    if other.startswith("float8"):
        eo, to = ember.ones(2, dtype=getattr(ember, other)), torch.ones(2, dtype=getattr(torch, other))
    else:
        eo, to = ember.ones(2, dtype=getattr(ember, other)), torch.ones(2, dtype=getattr(torch, other))
    got = _outcome(lambda: e + eo)
    want = _outcome(lambda: t + to)
    assert want[0] == "raise" and got[:2] == want[:2] and got[2] == want[2]


@pytest.mark.parametrize("fmt", ["ember", "torch"])
def test_float8_and_complex32_save_load(fmt, tmp_path):
    obj = {name: ember.tensor([1.0, -2.0, 500.0, 0.3]).to(getattr(ember, name)) for name in FLOAT8}
    obj["c32"] = ember.tensor([1 + 2j, -3j], dtype=ember.chalf)
    obj["view"] = obj["float8_e5m2"][1:]
    p = tmp_path / "f8.pt"
    ember.save(obj, p, format=fmt) if fmt == "torch" else ember.save(obj, p)
    back = ember.load(p)
    for k, v in obj.items():
        assert back[k].dtype is v.dtype
        assert back[k].view(ember.uint8).tolist() == v.view(ember.uint8).tolist()
    assert back["view"].untyped_storage().data_ptr() == \
        back["float8_e5m2"].untyped_storage().data_ptr()
    if fmt == "torch":   # torch reads what ember wrote
        tb = torch.load(p, weights_only=True)
        for name in FLOAT8:
            assert tb[name].dtype == getattr(torch, name)
            assert tb[name].view(torch.uint8).tolist() == obj[name].view(ember.uint8).tolist()
        assert tb["c32"].to(torch.complex64).tolist() == [1 + 2j, -3j]


def test_torch_checkpoint_with_float8_and_complex32():
    obj = {name: torch.tensor([1.0, -2.0, 500.0]).to(getattr(torch, name)) for name in FLOAT8}
    obj["c32"] = torch.tensor([1 + 2j, 0.5 - 1j], dtype=torch.complex32)
    buf = io.BytesIO()
    torch.save(obj, buf)
    buf.seek(0)
    back = ember.load(buf)
    for name in FLOAT8:
        assert back[name].dtype is getattr(ember, name)
        assert back[name].view(ember.uint8).tolist() == obj[name].view(torch.uint8).tolist()
    assert back["c32"].dtype is ember.complex32
    assert back["c32"].tolist() == obj["c32"].tolist()


def test_safetensors_float8(tmp_path):
    obj = {"a": ember.tensor([1.0, 500.0]).to(ember.float8_e4m3fn),
           "b": ember.tensor([1.0, -3.0]).to(ember.float8_e5m2)}
    p = tmp_path / "f8.safetensors"
    ember.save(obj, p, format="safetensors")
    back = ember.load(p)
    for k in obj:
        assert back[k].dtype is obj[k].dtype
        assert back[k].view(ember.uint8).tolist() == obj[k].view(ember.uint8).tolist()


# ---------------------------------------------------------------------------- complex32

def test_complex32_creation_and_conversions():
    data = [1 + 2j, 3 - 1j, -0.5j]
    e = ember.tensor(data, dtype=ember.chalf)
    t = torch.tensor(data, dtype=torch.chalf)
    assert e.dtype is ember.complex32 and ember.chalf is ember.complex32
    assert repr(e) == repr(t).replace("torch.", "ember.")
    assert e.tolist() == t.tolist() and e[0].item() == t[0].item()
    assert e.to(ember.complex64).tolist() == t.to(torch.complex64).tolist()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # both warn that the imaginary part is dropped
        assert e.to(ember.float32).tolist() == t.to(torch.float32).tolist()
    for src in ([1.0, 2.5], [1, 2]):
        assert ember.tensor(src).chalf().tolist() == torch.tensor(src).chalf().tolist()
        assert ember.tensor(src).to(ember.chalf).tolist() == torch.tensor(src).to(torch.chalf).tolist()
    pairs = [(ember.ones(2, dtype=ember.chalf), torch.ones(2, dtype=torch.chalf)),
             (ember.zeros(2, dtype=ember.chalf), torch.zeros(2, dtype=torch.chalf)),
             (ember.full((2,), 1 + 2j, dtype=ember.chalf), torch.full((2,), 1 + 2j, dtype=torch.chalf)),
             (ember.zeros(2, dtype=ember.chalf).fill_(3 - 1j),
              torch.zeros(2, dtype=torch.chalf).fill_(3 - 1j)),
             (e.clone(), t.clone()), (ember.cat([e, e]), torch.cat([t, t])),
             (e.reshape(3, 1), t.reshape(3, 1)), (e[ember.tensor([2, 0])], t[torch.tensor([2, 0])]),
             (ember.zeros(3, dtype=ember.chalf).copy_(ember.tensor([1 + 1j, 2, 3j])),
              torch.zeros(3, dtype=torch.chalf).copy_(torch.tensor([1 + 1j, 2, 3j])))]
    for a, b in pairs:
        assert a.dtype is ember.complex32 and a.tolist() == b.tolist()


def test_complex32_views():
    data = [1 + 2j, 3 - 1j]
    e = ember.tensor(data, dtype=ember.chalf)
    t = torch.tensor(data, dtype=torch.chalf)
    re, rt = ember.view_as_real(e), torch.view_as_real(t)
    assert re.dtype is ember.float16 and re.tolist() == rt.tolist()
    re[0, 0] = 9   # a view: the write shows in the complex tensor
    rt[0, 0] = 9
    assert e.tolist() == t.tolist()
    back = ember.view_as_complex(re)
    assert back.dtype is ember.complex32 and back.tolist() == torch.view_as_complex(rt).tolist()
    assert e.real.tolist() == t.real.tolist() and e.imag.tolist() == t.imag.tolist()
    assert e.real.dtype is ember.float16
    randn = ember.randn(1000, dtype=ember.chalf)
    parts = ember.view_as_real(randn).float()
    assert abs(parts[:, 0].std().item() - math.sqrt(0.5)) < 0.1
    assert not ember.equal(parts[:, 0], parts[:, 1])   # independent real and imaginary parts


def test_complex32_numpy_refused():
    with pytest.raises(TypeError, match="ComplexHalf"):
        torch.zeros(2, dtype=torch.chalf).numpy()
    with pytest.raises(TypeError, match="ComplexHalf"):
        ember.zeros(2, dtype=ember.chalf).numpy()


def test_complex32_promotion():
    for other in ["float16", "float32", "int64", "bool", "complex64", "bfloat16", "float64"]:
        e = ember.promote_types(ember.chalf, getattr(ember, other))
        t = torch.promote_types(torch.chalf, getattr(torch, other))
        assert _name(e) == _name(t)


# ---------------------------------------------------------------------------- dtypes ember cannot hold

@pytest.mark.parametrize("name", STORAGELESS)
def test_storageless_dtypes_raise_not_implemented(name):
    d = getattr(ember, name)
    for make in (lambda: ember.empty(2, dtype=d), lambda: ember.zeros(2, dtype=d),
                 lambda: ember.tensor([1.0], dtype=d), lambda: ember.ones(2).to(d)):
        with pytest.raises(NotImplementedError, match=name):
            make()
    # torch refuses the same data conversions (it can only allocate them, uninitialised)
    with pytest.raises(RuntimeError, match="store_scalar"):
        torch.tensor([1.0], dtype=getattr(torch, name))


def test_checkpoint_with_storageless_dtype_is_not_implemented():
    buf = io.BytesIO()
    torch.save({"x": torch.empty(3, dtype=torch.bits8)}, buf)
    buf.seek(0)
    with pytest.raises(NotImplementedError, match="bits8"):
        ember.load(buf)


def test_numpy_float8_arrays_become_float8_tensors():
    import ml_dtypes
    a = np.array([1.0, 2.0], dtype=ml_dtypes.float8_e4m3fn)
    assert ember.from_numpy(a).dtype is ember.float8_e4m3fn
