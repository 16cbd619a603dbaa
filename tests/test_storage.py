"""Storages (ember.storage) against torch: untyped and typed storages of tensors, their
bytes, sharing (views vs copies), set_ / is_set_to, the legacy storage classes,
from_buffer / from_file, pickling and save/load, and CUDA storages (the `device` fixture:
run with EMBER_FAKE_CUDA=1 for the CUDA cases on a CPU machine)."""
import io
import pickle
import warnings

import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")


@pytest.fixture(autouse=True)
def _typed_storage_warning_off():
    # TypedStorage warns once per process; tests that check the warning reset it themselves
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="TypedStorage is deprecated")
        yield


def _outcome(fn):
    try:
        return ("ok", fn())
    except Exception as e:   # compared by type and message
        return ("raise", type(e).__name__, str(e))


def _same_outcome(e_fn, t_fn):
    got, want = _outcome(e_fn), _outcome(t_fn)
    if got[0] == "raise":   # messages that name a class say ember. where torch says torch.
        got = got[:2] + (got[2].replace("ember.", "torch."),)
    assert got[0] == want[0] and got[1:] == want[1:], (got, want)


def _both(fn):
    """fn(lib) for ember and torch."""
    return fn(ember), fn(torch)


# shapes of views of one tensor: (name, fn(lib, base) -> view)
VIEWS = [
    ("whole", lambda L, x: x),
    ("slice", lambda L, x: x[1:]),
    ("step", lambda L, x: x.view(4, 6)[::2, 1::3]),
    ("transpose", lambda L, x: x.view(4, 6).t()),
    ("reshape", lambda L, x: x.reshape(2, 3, 4)[1]),
    ("select", lambda L, x: x.view(4, 6)[2]),
    ("narrow", lambda L, x: x.narrow(0, 5, 7)),
    ("expand", lambda L, x: x[3:4].expand(5)),
]


# ---------------------------------------------------------------------------- untyped storages of tensors

@pytest.mark.parametrize("name,view", VIEWS, ids=[v[0] for v in VIEWS])
@pytest.mark.parametrize("dtype", ["float32", "int16", "float64", "bool", "complex64"])
def test_untyped_storage_of_views(name, view, dtype):
    e_base = ember.arange(24).to(getattr(ember, dtype))
    t_base = torch.arange(24).to(getattr(torch, dtype))
    e, t = view(ember, e_base), view(torch, t_base)
    es, ts = e.untyped_storage(), t.untyped_storage()
    assert es.nbytes() == ts.nbytes() and es.size() == ts.size() and len(es) == len(ts)
    assert es.element_size() == ts.element_size() == 1
    assert es.tolist() == ts.tolist()                       # the same bytes
    assert e.storage_offset() == t.storage_offset()
    # the classic "do these share memory?" check: views yes, copies no
    assert es.data_ptr() == e_base.untyped_storage().data_ptr()
    assert e.clone().untyped_storage().data_ptr() != es.data_ptr()
    assert es.data_ptr() == e.data_ptr() - e.storage_offset() * e.element_size()
    assert str(es.device) == str(ts.device) == "cpu"
    assert es.type() == ts.type() == "torch.storage.UntypedStorage"
    assert es.is_shared() is ts.is_shared() is False
    assert es.is_pinned() is ts.is_pinned() is False


def test_untyped_storage_indexing():
    e = ember.tensor([1.0, -2.0]).untyped_storage()
    t = torch.tensor([1.0, -2.0]).untyped_storage()
    for i in (0, 3, 7, -1, -8):
        assert e[i] == t[i]
    for bad in (8, -9, slice(0, 4, 2), "a", 1.0):
        _same_outcome(lambda: e[bad], lambda: t[bad])
    assert e[2:6].tolist() == t[2:6].tolist()
    assert e[2:6].data_ptr() - e.data_ptr() == 2
    assert list(iter(e)) == list(iter(t))


def test_untyped_storage_writes_reach_the_tensor():
    results = []
    for L in (ember, torch):
        x = L.zeros(2, dtype=L.int32)
        s = x.untyped_storage()
        s[0] = 1
        s[5] = 258        # stored modulo 256, as a byte
        s[1:3] = 7
        results.append(x.tolist())
        s.fill_(255)
        results.append(x.tolist())
        s.copy_(L.tensor([3, 4], dtype=L.int32).untyped_storage())
        results.append(x.tolist())
    assert results[:3] == results[3:]


def test_untyped_storage_constructors():
    U, T = ember.UntypedStorage, torch.UntypedStorage
    assert U().size() == T().size() == 0
    assert U(5).size() == T(5).size() == 5
    assert U([1, 2, 300, -1]).tolist() == T([1, 2, 300, -1]).tolist()
    assert str(U([1, 2])).replace("ember", "torch") == str(T([1, 2]))
    assert repr(U()).replace("ember", "torch") == repr(T())
    for bad in ("ab", 2.5, [1, "a"]):
        _same_outcome(lambda: U(bad), lambda: T(bad))
    _same_outcome(lambda: U([1, 2]).copy_(U(3)), lambda: T([1, 2]).copy_(T(3)))
    assert ember.is_storage(U(1)) and ember.is_storage(ember.FloatStorage(1))
    assert not ember.is_storage(ember.ones(1))


def test_untyped_storage_copies_and_resize():
    U, T = ember.UntypedStorage, torch.UntypedStorage
    for L, S in ((ember, U), (torch, T)):
        s = S([1, 2, 3, 4])
        c = s.clone()
        c[0] = 9
        assert s[0] == 1 and c.data_ptr() != s.data_ptr()
        assert s.cpu() is s
        assert s.untyped() is s
        assert s.to(device="cpu").tolist() == [1, 2, 3, 4]
    e, t = U([1, 2, 3]), T([1, 2, 3])
    assert e.resize_(1).tolist() == t.resize_(1).tolist()
    assert e.resize_(4).size() == t.resize_(4).size() == 4
    assert e[0] == t[0] == 1
    assert e.resizable() and t.resizable()
    # a storage that wraps memory it does not own cannot grow, in either library
    _same_outcome(lambda: U.from_buffer(b"ab", dtype=ember.uint8)[0:1].resize_(8) and None,
                  lambda: torch.from_numpy(np.ones(2)).untyped_storage().resize_(32))
    # a tensor's storage grows under it (tests/test_storage_resize.py has more)
    for L in (ember, torch):
        x = L.ones(2)
        x.untyped_storage().resize_(16)
        assert x.untyped_storage().nbytes() == 16 and x.tolist() == [1.0, 1.0]


def test_storage_conversions():
    e = ember.UntypedStorage([0, 0, 128, 63])
    t = torch.UntypedStorage([0, 0, 128, 63])
    for m in ("float", "double", "int", "long", "bool", "half", "byte", "char", "short",
              "complex_float", "complex_double", "bfloat16"):
        a, b = getattr(e, m)(), getattr(t, m)()
        assert str(a.dtype) == str(b.dtype).replace("torch", "ember")
        assert a.tolist() == b.tolist(), m
    ef, tf = ember.FloatStorage([1.5, 0, -3]), torch.FloatStorage([1.5, 0, -3])
    for m in ("int", "bool", "double", "complex_float", "half"):
        assert getattr(ef, m)().tolist() == getattr(tf, m)().tolist(), m


def test_from_buffer():
    U, T = ember.UntypedStorage, torch.UntypedStorage
    raw = b"\x00\x00\x80\x3f\x00\x00\x00\x40"
    assert U.from_buffer(raw, dtype=ember.uint8).tolist() == \
        T.from_buffer(raw, dtype=torch.uint8).tolist()
    assert U.from_buffer(bytearray(raw), "little", dtype=ember.float32).tolist() == \
        T.from_buffer(bytearray(raw), "little", dtype=torch.float32).tolist()
    assert ember.FloatStorage.from_buffer(raw, "little").tolist() == \
        torch.FloatStorage.from_buffer(raw, "little").tolist()
    assert ember.FloatStorage.from_buffer(b"\x3f\x80\x00\x00", "big").tolist() == \
        torch.FloatStorage.from_buffer(b"\x3f\x80\x00\x00", "big").tolist()
    assert ember.DoubleStorage.from_buffer(raw, "little").tolist() == \
        torch.DoubleStorage.from_buffer(raw, "little").tolist()
    _same_outcome(lambda: U.from_buffer(raw), lambda: T.from_buffer(raw))
    _same_outcome(lambda: ember.FloatStorage.from_buffer(raw),
                  lambda: torch.FloatStorage.from_buffer(raw))


def test_from_file(tmp_path):
    p = tmp_path / "data.bin"
    np.arange(6, dtype=np.float32).tofile(p)
    e = ember.from_file(str(p), shared=False, size=4, dtype=ember.float32)
    t = torch.from_file(str(p), shared=False, size=4, dtype=torch.float32)
    assert e.tolist() == t.tolist() and e.dtype is ember.float32
    assert ember.UntypedStorage.from_file(str(p), False, 8).tolist() == \
        torch.UntypedStorage.from_file(str(p), False, 8).tolist()
    assert ember.FloatStorage.from_file(str(p), False, 3).tolist() == \
        torch.FloatStorage.from_file(str(p), False, 3).tolist()
    # shared=True maps the file: writes reach it
    s = ember.from_file(str(p), shared=True, size=6, dtype=ember.float32)
    s[0] = 42.0
    del s
    assert np.fromfile(p, dtype=np.float32)[0] == 42.0
    _same_outcome(lambda: ember.from_file(str(p), size=100) and None,
                  lambda: torch.from_file(str(p), size=100) and None)


def test_share_memory():
    for S in (ember.UntypedStorage, torch.UntypedStorage):
        s = S([1, 2, 3])
        assert not s.is_shared()
        assert s.share_memory_() is s and s.is_shared() and s.tolist() == [1, 2, 3]
        assert S._new_shared(4).is_shared()
    x = ember.ones(3).share_memory_()
    assert x.untyped_storage().is_shared() and x.storage().is_shared()


# ---------------------------------------------------------------------------- typed storages

def test_typed_storage_warns_once():
    for L in (ember, torch):
        L.storage._reset_warn_typed_storage_removal()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            x = L.ones(2)
            x.storage()
            x.storage()
            L.FloatStorage(3)
        assert len(caught) == 1 and caught[0].category is UserWarning
        assert caught[0].filename == __file__   # pointed at the caller
        if L is ember:
            ember_msg = str(caught[0].message)
        else:
            assert ember_msg == str(caught[0].message)


@pytest.mark.parametrize("dtype", ["float32", "int64", "bool", "float16", "bfloat16",
                                   "complex128", "uint16", "float8_e4m3fn", "int8"])
def test_typed_storage_of_tensor(dtype):
    e_base = ember.arange(6).to(getattr(ember, dtype))
    t_base = torch.arange(6).to(getattr(torch, dtype))
    e, t = e_base[2:], t_base[2:]
    es, ts = e.storage(), t.storage()
    assert str(es.dtype) == str(ts.dtype).replace("torch", "ember")
    assert es.size() == ts.size() and len(es) == len(ts)
    assert es.nbytes() == ts.nbytes() and es.element_size() == ts.element_size()
    assert es.tolist() == ts.tolist() and es[1] == ts[1] and es[-1] == ts[-1]
    assert list(es) == list(ts)
    assert str(es).replace("ember", "torch") == str(ts)
    assert es.data_ptr() == e_base.data_ptr()
    assert es._untyped_storage.nbytes() == ts._untyped_storage.nbytes()
    assert es.type() == ts.type()
    legacy = e.storage_type()
    want = t.storage_type()
    assert (legacy is None and want is None) or legacy.__name__ == want.__name__


def test_typed_storage_writes_and_errors():
    results = []
    for L in (ember, torch):
        y = L.ones(3)
        s = y.storage()
        s[1] = 5
        s[0:1] = 7   # slice assignment writes through too
        results.append(y.tolist())
        s.fill_(2)
        results.append(y.tolist())
    assert results[:2] == results[2:]
    e, t = ember.FloatStorage([1, 2, 3]), torch.FloatStorage([1, 2, 3])
    for bad in (3, -4, slice(1, None)):
        _same_outcome(lambda: e[bad], lambda: t[bad])
    _same_outcome(lambda: e.copy_(ember.DoubleStorage([1, 2, 3])),
                  lambda: t.copy_(torch.DoubleStorage([1, 2, 3])))


def test_legacy_storage_classes():
    for name in ("FloatStorage", "DoubleStorage", "HalfStorage", "BFloat16Storage",
                 "LongStorage", "IntStorage", "ShortStorage", "CharStorage", "ByteStorage",
                 "BoolStorage", "ComplexFloatStorage", "ComplexDoubleStorage"):
        E, T = getattr(ember, name), getattr(torch, name)
        assert str(E.dtype) == str(T.dtype).replace("torch", "ember")
        assert E(3).size() == T(3).size() == 3
        assert E([1, 0, 2]).tolist() == T([1, 0, 2]).tolist()
        assert E().size() == T().size() == 0
        assert type(E(2)) is ember.TypedStorage and type(T(2)) is torch.TypedStorage
        assert isinstance(E(2), E) and isinstance(T(2), T)
        assert repr(E).replace("ember", "torch") == repr(T)
    assert not isinstance(ember.FloatStorage(2), ember.DoubleStorage)
    assert ember.FloatStorage([[1, 2]]).tolist() == torch.FloatStorage([[1, 2]]).tolist()
    assert ember.TypedStorage(3, dtype=ember.int32).size() == 3
    assert ember.TypedStorage([1, 2], dtype=ember.int32).tolist() == \
        torch.TypedStorage([1, 2], dtype=torch.int32).tolist()
    w = ember.FloatStorage(wrap_storage=ember.ones(2).untyped_storage())
    assert w.tolist() == torch.FloatStorage(wrap_storage=torch.ones(2).untyped_storage()).tolist()
    assert ember.FloatStorage([1, 2]).type() == torch.FloatStorage([1, 2]).type()
    assert ember.ones(1).storage_type() is ember.FloatStorage
    with pytest.raises(TypeError):
        ember.FloatStorage(ember.ones(2))
    with pytest.raises(TypeError):
        torch.FloatStorage(torch.ones(2))


# ---------------------------------------------------------------------------- set_ and friends

def test_set_to_tensor_shares_memory():
    results = []
    for L in (ember, torch):
        a, b = L.tensor([]), L.arange(3.0)
        assert a.set_(b) is a
        a[0] = 7
        results.append((b.tolist(), a.is_set_to(b), a.data_ptr() == b.data_ptr()))
        b[2] = -1
        results.append(a.tolist())
        results.append(a.set_().tolist())
    assert results[:3] == results[3:]


@pytest.mark.parametrize("dtype", ["float32", "int32", "int16"])
@pytest.mark.parametrize("offset,size,stride", [(1, (2, 2), (2, 1)), (1, (2, 2), (1, 2)),
                                                (0, (6,), None), (3, (2,), (2,)),
                                                (2, (0, 3), (3, 1)), (0, (2, 3), (0, 1))])
def test_set_to_storage(dtype, offset, size, stride):
    def make(L):
        src = L.arange(6.0)
        t = L.tensor([], dtype=getattr(L, dtype))
        args = (src.untyped_storage(), offset, size) + ((stride,) if stride else ())
        t.set_(*args)
        return src, t
    (es, e), (ts, t) = make(ember), make(torch)
    assert e.tolist() == t.tolist() and e.shape == tuple(t.shape)
    assert e.stride() == t.stride() and e.storage_offset() == t.storage_offset()
    assert e.untyped_storage().data_ptr() == es.untyped_storage().data_ptr()
    if e.numel():
        first = (0,) * e.dim()
        e[first] = 1 if dtype != "float32" else 100.0   # a write shows in the source
        t[first] = 1 if dtype != "float32" else 100.0
        assert es.tolist() == ts.tolist()


def test_set_to_typed_storage_and_defaults():
    for dt in ("float32", "float64"):
        _same_outcome(lambda: ember.tensor([], dtype=getattr(ember, dt)).set_(
                          ember.arange(6.0).storage(), 1, (2, 2), (2, 1)).tolist(),
                      lambda: torch.tensor([], dtype=getattr(torch, dt)).set_(
                          torch.arange(6.0).storage(), 1, (2, 2), (2, 1)).tolist())
    assert ember.tensor([]).set_(ember.arange(6.0).untyped_storage()).tolist() == \
        torch.tensor([]).set_(torch.arange(6.0).untyped_storage()).tolist()
    assert ember.tensor([]).set_(ember.arange(6.0).storage()).tolist() == \
        torch.tensor([]).set_(torch.arange(6.0).storage()).tolist()
    assert ember.tensor([]).set_(ember.arange(6.0).untyped_storage(), 0, (2, 3)).tolist() == \
        torch.tensor([]).set_(torch.arange(6.0).untyped_storage(), 0, (2, 3)).tolist()


def test_set_errors():
    cases = [
        lambda L: L.tensor([]).set_(L.arange(6.0).untyped_storage(), -1, (2,), (1,)),
        lambda L: L.tensor([]).set_(L.arange(3)),
        lambda L: L.zeros(2, requires_grad=True).set_(L.arange(3.0)),
        lambda L: L.tensor([]).set_(3),
    ]
    for case in cases:
        got, want = _outcome(lambda: case(ember)), _outcome(lambda: case(torch))
        assert got[0] == want[0] == "raise" and got[1] == want[1]
        if case is not cases[-1]:
            assert got[2] == want[2]
    with ember.no_grad():   # a leaf may be set_ without grad mode, as in torch
        assert ember.zeros(2, requires_grad=True).set_(ember.arange(3.0)).tolist() == [0, 1, 2]
    # a resizable storage grows to fit, the tensor it came from following it
    for L in (ember, torch):
        base = L.arange(6.0)
        t = L.tensor([]).set_(base.untyped_storage(), 5, (2, 2), (2, 1))
        assert base.untyped_storage().nbytes() == 36 and base.tolist() == [0, 1, 2, 3, 4, 5]
        assert t[0, 0].item() == 5.0


def test_is_set_to():
    for L in (ember, torch):
        x = L.arange(4.0)
        got = (x.is_set_to(x[:]), x.is_set_to(x.view(2, 2)), x.is_set_to(x),
               x.is_set_to(x.clone()), x[1:].is_set_to(x[1:]), x[1:].is_set_to(x[:3]))
        if L is ember:
            e_got = got
    assert e_got == got


def test_tensor_from_storage():
    pairs = [
        (lambda L: L.Tensor(L.arange(3.0).untyped_storage())),
        (lambda L: L.Tensor(L.arange(3.0).storage())),
        (lambda L: L.FloatTensor(L.arange(3.0).untyped_storage())),
        (lambda L: L.LongTensor(L.arange(3.0).untyped_storage())),
        (lambda L: L.LongTensor(L.arange(3.0).storage())),
        (lambda L: L.Tensor(L.arange(3).storage())),
    ]
    for fn in pairs:
        got = _outcome(lambda: fn(ember).tolist())
        want = _outcome(lambda: fn(torch).tolist())
        assert got == want
    src = ember.arange(3.0)
    view = ember.Tensor(src.untyped_storage())
    view[0] = 5
    assert src[0].item() == 5   # the legacy constructor shares the storage's memory


# ---------------------------------------------------------------------------- pickling, save/load

def test_pickle_storages():
    s = ember.FloatStorage([1.5, 0, 3])
    back = pickle.loads(pickle.dumps(s))
    assert back.dtype is ember.float32 and back.tolist() == [1.5, 0.0, 3.0]
    u = pickle.loads(pickle.dumps(ember.UntypedStorage([1, 2, 3])))
    assert type(u) is ember.UntypedStorage and u.tolist() == [1, 2, 3]
    t = torch.FloatStorage([1.5, 0, 3])
    assert pickle.loads(pickle.dumps(t)).tolist() == back.tolist()


@pytest.mark.parametrize("fmt", ["ember", "torch"])
def test_save_load_storages(fmt):
    f = ember.arange(4.0)
    obj = {"f": f, "view": f[1:], "s": f.storage(), "u": ember.UntypedStorage([1, 2, 3])}
    buf = io.BytesIO()
    ember.save(obj, buf, format=fmt) if fmt == "torch" else ember.save(obj, buf)
    buf.seek(0)
    back = ember.load(buf)
    assert back["s"].dtype is ember.float32 and back["s"].tolist() == [0.0, 1.0, 2.0, 3.0]
    # the storage and the tensors still share one buffer
    assert back["s"].data_ptr() == back["f"].untyped_storage().data_ptr()
    assert back["view"].untyped_storage().data_ptr() == back["f"].untyped_storage().data_ptr()
    assert back["u"].tolist() == [1, 2, 3]
    if fmt == "torch":   # torch reads it as it reads its own: typed storages
        buf.seek(0)
        tb = torch.load(buf, weights_only=True)
        assert tb["s"].tolist() == [0.0, 1.0, 2.0, 3.0] and tb["s"].dtype == torch.float32
        assert tb["u"].tolist() == [1, 2, 3] and tb["u"].dtype == torch.uint8
        assert tb["s"].data_ptr() == tb["f"].untyped_storage().data_ptr()


def test_load_torch_checkpoint_with_storages():
    tt = torch.arange(4.0)
    buf = io.BytesIO()
    torch.save({"f": tt, "s": tt.storage(), "u": torch.UntypedStorage([5, 6])}, buf)
    buf.seek(0)
    back = ember.load(buf)
    buf.seek(0)
    want = torch.load(buf, weights_only=True)
    for k in ("s", "u"):
        assert type(back[k]) is ember.TypedStorage and type(want[k]) is torch.TypedStorage
        assert back[k].tolist() == want[k].tolist()
        assert str(back[k].dtype) == str(want[k].dtype).replace("torch", "ember")
    assert back["s"].data_ptr() == back["f"].untyped_storage().data_ptr()


# ---------------------------------------------------------------------------- devices

def test_storage_on_device(device):
    x = ember.arange(6.0, device=device)
    tx = torch.arange(6.0)
    s, ts = x[2:].untyped_storage(), tx[2:].untyped_storage()
    assert str(s.device) == str(x.device) and s.is_cuda == (device == "cuda")
    assert s.nbytes() == ts.nbytes() and s.tolist() == ts.tolist() and s[4] == ts[4]
    assert s.data_ptr() == x.data_ptr()
    assert x[1:].untyped_storage().data_ptr() == s.data_ptr()
    assert x.clone().untyped_storage().data_ptr() != s.data_ptr()
    assert x.storage().tolist() == tx.storage().tolist()
    assert s.get_device() == (0 if device == "cuda" else -1)
    host = s.cpu()
    assert str(host.device) == "cpu" and host.tolist() == ts.tolist()
    u = ember.UntypedStorage(4, device=device)
    assert str(u.device) == str(x.device) and u.fill_(7).tolist() == [7] * 4
    assert str(u.clone().device) == str(u.device)
    t = ember.tensor([], device=device).set_(x.untyped_storage(), 1, (2, 2))
    t[0, 0] = 50
    want = torch.tensor([]).set_(tx.untyped_storage(), 1, (2, 2))
    want[0, 0] = 50
    assert x.tolist() == tx.tolist() and t.tolist() == want.tolist()
    assert t.storage_offset() == want.storage_offset()
    if device == "cuda":
        assert str(host.cuda().device) == "cuda:0"
        assert str(ember.FloatStorage([1, 2]).cuda().device) == "cuda:0"
        assert isinstance(x.storage(), ember.cuda.FloatStorage)
        assert not isinstance(x.storage(), ember.FloatStorage)
        assert x.storage_type() is ember.cuda.FloatStorage
        assert x.storage().type() == "torch.cuda.FloatStorage"
        with pytest.raises(RuntimeError, match="must match"):
            ember.tensor([]).set_(x.untyped_storage())


def test_meta_tensors_have_meta_storages():
    for L in (ember, torch):
        x = L.empty(2, 3, device="meta")
        assert x.untyped_storage().nbytes() == 24 and x.untyped_storage().data_ptr() == 0
        assert str(x.untyped_storage().device) == "meta" and len(x.storage()) == 6


def test_cuda_storage_names():
    for name in ("FloatStorage", "LongStorage", "BoolStorage", "HalfStorage"):
        assert getattr(ember.cuda, name).dtype is getattr(ember, name).dtype
        assert getattr(ember.cuda, name).__name__ == getattr(torch.cuda, name).__name__
