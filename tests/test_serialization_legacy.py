"""ember.load on PyTorch's legacy (pre-1.6) format, written here by real torch with
``_use_new_zipfile_serialization=False``; torch.load of the same file is the oracle."""
import io
import os
import pickle
import tarfile
from collections import OrderedDict

import ml_dtypes
import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")

DTYPES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "bfloat16", "float32",
          "float64", "complex64", "complex128"]
# torch writes these through an untyped storage and _rebuild_tensor_v3; torch 2.13's own
# legacy reader cannot read them back, so the saved tensors are the reference
UNSIGNED = ["uint16", "uint32", "uint64"]


def _save_legacy(obj, f, **kwargs):
    torch.save(obj, f, _use_new_zipfile_serialization=False, **kwargs)


def _np(t):
    """A torch tensor's values as NumPy (NumPy has no bfloat16 of torch's)."""
    t = t.detach()
    if t.dtype == torch.bfloat16:
        return t.view(torch.int16).numpy().view(ml_dtypes.bfloat16)
    return t.numpy()


def _same(e, t):
    """ember tensor `e` equals torch tensor `t`: dtype, shape, strides, offset, values."""
    assert isinstance(e, ember.Tensor), type(e)
    assert e.dtype.name == str(t.dtype).split(".")[1]
    assert tuple(e.shape) == tuple(t.shape)
    assert e.stride() == t.stride() and e.storage_offset() == t.storage_offset()
    assert e.requires_grad == t.requires_grad
    assert isinstance(e, ember.nn.Parameter) == isinstance(t, torch.nn.Parameter)
    np.testing.assert_array_equal(e.detach().numpy(), _np(t))


def _same_tree(e, t):
    """ember's loaded object `e` has the structure and values of torch's `t`."""
    if isinstance(t, torch.Tensor):
        _same(e, t)
    elif isinstance(t, dict):
        assert type(e) is type(t) and list(e) == list(t)
        for k in t:
            _same_tree(e[k], t[k])
    elif isinstance(t, (list, tuple)):
        assert type(e) is type(t) and len(e) == len(t)
        for a, b in zip(e, t):
            _same_tree(a, b)
    else:
        assert type(e) is type(t) and e == t


def _tensor(dt, shape, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(shape, generator=g, dtype=torch.float64) * 10
    if dt == "bool":
        return x > 0
    if dt.startswith("complex"):
        return torch.complex(x, -x / 3).to(getattr(torch, dt))
    if dt.startswith("uint"):
        x = x.abs()
    return x.to(getattr(torch, dt))


@pytest.mark.parametrize("dt", DTYPES + UNSIGNED)
def test_every_dtype(tmp_path, dt):
    obj = {str(s): _tensor(dt, s) for s in [(), (0,), (3, 0), (4, 5)]}
    obj["non_contiguous"] = _tensor(dt, (4, 6), seed=1).t()[1:, ::2]
    p = tmp_path / "legacy.pt"
    _save_legacy(obj, p)
    reference = obj if dt in UNSIGNED else torch.load(p, weights_only=True)
    _same_tree(ember.load(p), reference)


def test_views_share_memory_as_in_torch(tmp_path):
    base = torch.arange(24.0).view(4, 6)
    obj = {"t": base, "tail": base[1:], "T": base.T, "col": base[:, 2],
           "strided": base.view(-1)[5:17:3], "expanded": torch.ones(3, 1).expand(3, 4),
           "other": base.clone()}
    p = tmp_path / "views.pt"
    _save_legacy(obj, p)
    back, ref = ember.load(p), torch.load(p, weights_only=True)
    _same_tree(back, ref)
    shared = np.shares_memory
    assert all(shared(back["t"].numpy(), back[k].numpy()) for k in ("tail", "T", "col", "strided"))
    assert not shared(back["t"].numpy(), back["other"].numpy())
    # a write through one view shows in the others, as in torch
    back["t"][2, 2] = -1.0
    ref["t"][2, 2] = -1.0
    back["T"][5, 0] = -2.0
    ref["T"][5, 0] = -2.0
    _same_tree(back, ref)


def test_module_state_dict_loads_into_ember_module(tmp_path):
    torch.manual_seed(0)
    tm = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.BatchNorm1d(8), torch.nn.ReLU(),
                             torch.nn.Linear(8, 3))
    tm(torch.randn(16, 4))   # training mode: moves BatchNorm's running statistics
    p = tmp_path / "model.pth"
    _save_legacy(tm.state_dict(), p)
    sd = ember.load(p)
    assert isinstance(sd, OrderedDict) and list(sd) == list(tm.state_dict())
    _same_tree(sd, torch.load(p, weights_only=True))
    em = ember.nn.Sequential(ember.nn.Linear(4, 8), ember.nn.BatchNorm1d(8), ember.nn.ReLU(),
                             ember.nn.Linear(8, 3))
    em.load_state_dict(sd)
    tm.eval()
    em.eval()
    x = np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32)
    np.testing.assert_allclose(em(ember.from_numpy(x)).detach().numpy(),
                               tm(torch.from_numpy(x)).detach().numpy(), rtol=1e-6, atol=1e-6)


def test_optimizer_state_dict_resumes_training(tmp_path):
    torch.manual_seed(0)
    tm = torch.nn.Linear(3, 2)
    topt = torch.optim.Adam(tm.parameters(), lr=0.01)
    x = torch.randn(5, 3)
    for _ in range(2):
        topt.zero_grad()
        tm(x).pow(2).sum().backward()
        topt.step()
    p = tmp_path / "ckpt.pt"
    _save_legacy({"model": tm.state_dict(), "optim": topt.state_dict(), "epoch": 2}, p)
    ck = ember.load(p)
    _same_tree(ck, torch.load(p, weights_only=True))
    em = ember.nn.Linear(3, 2)
    em.load_state_dict(ck["model"])
    eopt = ember.optim.Adam(em.parameters(), lr=0.01)
    eopt.load_state_dict(ck["optim"])
    # one more step on both sides from the restored state
    topt.zero_grad()
    tm(x).pow(2).sum().backward()
    topt.step()
    eopt.zero_grad()
    em(ember.from_numpy(x.numpy())).pow(2).sum().backward()
    eopt.step()
    for (k, v), w in zip(tm.state_dict().items(), em.state_dict().values()):
        np.testing.assert_allclose(w.numpy(), v.numpy(), rtol=1e-6, atol=1e-7, err_msg=k)


def test_nested_containers_and_parameters(tmp_path):
    t = torch.arange(6.0)
    obj = OrderedDict(
        list=[1, -2.5, "s", None, True, (t[:2], [t[3:], {"deep": torch.ones(2, 2)}])],
        tuple=(1, (2, (3, t))), int_keys={3: torch.zeros(1), -1: "neg"},
        param=torch.nn.Parameter(torch.randn(2, 3)),
        frozen=torch.nn.Parameter(torch.ones(2), requires_grad=False),
        requires_grad=torch.ones(3, requires_grad=True), big=2 ** 70, c=1 + 2j,
        text="ünïcode", empty=[], empty_dict={})
    p = tmp_path / "nested.pt"
    _save_legacy(obj, p)
    back = ember.load(p)
    _same_tree(back, torch.load(p, weights_only=True))
    assert back["param"].requires_grad and not back["frozen"].requires_grad


@pytest.mark.parametrize("map_location", ["cpu", "device", {"cpu": "cpu"}, "callable"])
def test_map_location(tmp_path, map_location):
    p = tmp_path / "m.pt"
    _save_legacy({"w": torch.randn(2, 3), "b": torch.arange(3)}, p)
    seen = {"ember": [], "torch": []}

    def mapper(who):
        return lambda x, location: seen[who].append(location) or x
    if map_location == "device":
        ml_e, ml_t = ember.device("cpu"), torch.device("cpu")
    elif map_location == "callable":
        ml_e, ml_t = mapper("ember"), mapper("torch")
    else:
        ml_e = ml_t = map_location
    back = ember.load(p, map_location=ml_e)
    _same_tree(back, torch.load(p, map_location=ml_t, weights_only=True))
    assert all(v.device.type == "cpu" for v in back.values())
    assert set(seen["ember"]) == set(seen["torch"])


def test_file_objects(tmp_path):
    obj = {"a": torch.randn(3, 2), "b": [torch.arange(4)]}
    buf = io.BytesIO()
    _save_legacy(obj, buf)
    buf.seek(0)
    _same_tree(ember.load(buf), obj)
    p = tmp_path / "f.pt"
    _save_legacy(obj, p)
    with open(p, "rb") as fh:
        _same_tree(ember.load(fh), obj)
    _same_tree(ember.load(str(p)), obj)


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_pickle_protocols(tmp_path, protocol):
    base = torch.randn(4, 4)
    obj = {"w": base, "v": base[1:, 2]}
    p = tmp_path / "proto.pt"
    _save_legacy(obj, p, pickle_protocol=protocol)
    # torch's weights-only unpickler stops at protocol 4's FRAME opcode; this file is ours
    _same_tree(ember.load(p), torch.load(p, weights_only=protocol == 2))


class _Evil:
    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (os.system, (f"touch {self.path}",))


def test_malicious_pickle_refused(tmp_path):
    marker = tmp_path / "pwned"
    p = tmp_path / "evil.pt"
    _save_legacy({"x": torch.ones(1), "evil": _Evil(marker)}, p)
    with pytest.raises(pickle.UnpicklingError, match=r"(posix|os)\.system"):
        ember.load(p)
    with pytest.raises(pickle.UnpicklingError):
        ember.load(p, weights_only=False)
    with pytest.raises(pickle.UnpicklingError):
        torch.load(p, weights_only=True)
    assert not marker.exists()


def test_whole_module_pickle_refused(tmp_path):
    p = tmp_path / "module.pt"
    _save_legacy(torch.nn.Linear(2, 2), p)
    with pytest.raises(pickle.UnpicklingError, match=r"torch\.nn\.modules\.linear\.Linear"):
        ember.load(p)
    with pytest.raises(pickle.UnpicklingError):
        torch.load(p, weights_only=True)


def test_every_truncation_is_a_runtime_error(tmp_path):
    p = tmp_path / "whole.pt"
    _save_legacy({"a": torch.arange(5.0), "b": [torch.ones(2, dtype=torch.int64)]}, p)
    raw = p.read_bytes()
    cut = tmp_path / "cut.pt"
    for n in range(len(raw)):
        cut.write_bytes(raw[:n])
        with pytest.raises(RuntimeError, match="cut.pt"):
            ember.load(cut)
    with pytest.raises(RuntimeError, match="truncated"):
        ember.load(io.BytesIO(raw[:-3]))


def _split_header(raw):
    """(magic, protocol version, sys_info, the rest) of a legacy file's bytes."""
    f = io.BytesIO(raw)
    parts = [pickle.load(f) for _ in range(3)]   # plain ints and dicts: safe to unpickle
    return (*parts, raw[f.tell():])


def _with_header(raw, magic=None, version=None, sys_info=None):
    m, v, info, rest = _split_header(raw)
    return (pickle.dumps(m if magic is None else magic, protocol=2)
            + pickle.dumps(v if version is None else version, protocol=2)
            + pickle.dumps(info if sys_info is None else sys_info, protocol=2) + rest)


@pytest.mark.parametrize("change, match", [
    ({"magic": 12345}, "magic number"),
    ({"version": 1002}, "protocol version"),
])
def test_bad_magic_or_version_as_torch(tmp_path, change, match):
    p = tmp_path / "ok.pt"
    _save_legacy({"a": torch.ones(2)}, p)
    bad = tmp_path / "bad.pt"
    bad.write_bytes(_with_header(p.read_bytes(), **change))
    with pytest.raises(RuntimeError, match=match):
        torch.load(bad, weights_only=True)
    with pytest.raises(RuntimeError, match=f"bad.pt.*{match}"):
        ember.load(bad)


@pytest.mark.parametrize("edit, match", [
    (lambda info: info.update(little_endian=False), "big-endian"),
    (lambda info: info.pop("little_endian"), "sys_info"),
    (lambda info: info["type_sizes"].update(int=8), "sys_info"),
    (lambda info: info.pop("type_sizes"), "sys_info"),
])
def test_odd_sys_info_refused(tmp_path, edit, match):
    p = tmp_path / "ok.pt"
    _save_legacy({"a": torch.ones(2)}, p)
    info = _split_header(p.read_bytes())[2]
    edit(info)
    bad = tmp_path / "odd.pt"
    bad.write_bytes(_with_header(p.read_bytes(), sys_info=info))
    with pytest.raises(RuntimeError, match=f"odd.pt.*{match}"):
        ember.load(bad)


def test_wrong_storage_count_refused(tmp_path):
    p = tmp_path / "ok.pt"
    _save_legacy(torch.arange(4.0), p)
    raw = p.read_bytes()
    count_at = len(raw) - 4 * 4 - 8   # the last storage: an int64 count, then 4 floats
    assert int.from_bytes(raw[count_at:count_at + 8], "little") == 4
    bad = tmp_path / "count.pt"
    bad.write_bytes(raw[:count_at] + (5).to_bytes(8, "little") + raw[count_at + 8:])
    with pytest.raises(RuntimeError, match="count.pt.*5 elements"):
        ember.load(bad)


def test_mmap_refused_as_torch(tmp_path):
    p = tmp_path / "m.pt"
    _save_legacy({"a": torch.ones(2)}, p)
    with pytest.raises(RuntimeError, match="mmap"):
        torch.load(p, mmap=True, weights_only=True)
    with pytest.raises(RuntimeError, match="mmap"):
        ember.load(p, mmap=True)


def test_dtype_ember_lacks_is_not_implemented(tmp_path):
    p = tmp_path / "bits8.pt"
    _save_legacy(torch.empty(3, dtype=torch.bits8), p)
    with pytest.raises(NotImplementedError, match="bits8"):
        ember.load(p)
    # complex32 is held (as a record of two float16 parts)
    p = tmp_path / "c32.pt"
    _save_legacy(torch.tensor([1 + 2j, -3j], dtype=torch.complex32), p)
    back = ember.load(p)
    assert back.dtype is ember.complex32
    assert back.to(ember.complex64).tolist() == [1 + 2j, -3j]


@pytest.mark.parametrize("legacy", [True, False])
def test_unsigned_dtypes_both_torch_formats(tmp_path, legacy):
    obj = {dt: _tensor(dt, (2, 3)) for dt in UNSIGNED}
    obj["view"] = obj["uint32"][1:, ::2]
    p = tmp_path / "u.pt"
    torch.save(obj, p, _use_new_zipfile_serialization=not legacy)
    back = ember.load(p)
    _same_tree(back, obj)
    assert np.shares_memory(back["view"].numpy(), back["uint32"].numpy())
    if not legacy:
        _same_tree(back, torch.load(p, weights_only=True))


def test_tar_format_not_implemented(tmp_path):
    p = tmp_path / "ancient.pt"
    with tarfile.open(p, "w", format=tarfile.PAX_FORMAT) as tar:
        for member in ("sys_info", "pickle", "storages", "tensors"):
            data = pickle.dumps(0, protocol=2)
            info = tarfile.TarInfo(member)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    with pytest.raises(NotImplementedError, match="tar"):
        ember.load(p)


class _OldStorage:
    """A storage the way torch < 1.0 pickled it: a slice (`view`) of a root storage."""

    def __init__(self, root_key, numel, view=None):
        self.root_key, self.numel, self.view = root_key, numel, view


class _OldTensor:
    def __init__(self, storage, offset, size, stride):
        self.args = (storage, offset, size, stride, False, OrderedDict())

    def __reduce__(self):
        return (torch._utils._rebuild_tensor_v2, self.args)


def _old_style_file(values, tensors):
    """A legacy file whose persistent ids carry view_metadata, as torch < 1.0 wrote for
    tensors over storage slices. `values`: the root storage's float32 data."""
    class Pickler(pickle.Pickler):
        def persistent_id(self, obj):
            if isinstance(obj, _OldStorage):
                return ("storage", torch.FloatStorage, obj.root_key, "cpu", obj.numel, obj.view)
            return None
    buf = io.BytesIO()
    for header in (0x1950A86A20F9469CFC6C, 1001, {"protocol_version": 1001, "little_endian": True,
                                                   "type_sizes": {"short": 2, "int": 4,
                                                                  "long": 4}}):
        pickle.dump(header, buf, protocol=2)
    Pickler(buf, protocol=2).dump(tensors)
    pickle.dump(["root"], buf, protocol=2)
    buf.write(len(values).to_bytes(8, "little") + np.asarray(values, np.float32).tobytes())
    return buf.getvalue()


def test_old_storage_views_share_their_root(tmp_path):
    n = 10
    tensors = {"whole": _OldTensor(_OldStorage("root", n), 0, (n,), (1,)),
               "slice": _OldTensor(_OldStorage("root", n, ("v1", 2, 6)), 1, (2, 2), (1, 2)),
               "same_slice": _OldTensor(_OldStorage("root", n, ("v1", 2, 6)), 0, (6,), (1,))}
    p = tmp_path / "old.pt"
    p.write_bytes(_old_style_file(np.arange(n) * 1.5, tensors))
    back, ref = ember.load(p), torch.load(p, weights_only=True)
    for k in tensors:   # strides and values; offsets are into the slice, not the root
        e, t = back[k], ref[k]
        assert e.stride() == t.stride() and tuple(e.shape) == tuple(t.shape)
        np.testing.assert_array_equal(e.numpy(), t.numpy())
    back["whole"][4] = -7.0
    ref["whole"][4] = -7.0
    for k in tensors:
        np.testing.assert_array_equal(back[k].numpy(), ref[k].numpy())
    bad = tmp_path / "bad_view.pt"
    tensors["slice"] = _OldTensor(_OldStorage("root", n, ("v2", 8, 6)), 0, (1,), (1,))
    bad.write_bytes(_old_style_file(np.arange(n), tensors))
    with pytest.raises(RuntimeError, match="bad_view.pt.*outside"):
        ember.load(bad)


# pickles whose sizes no pickler writes, and the words of the error that refuses them
FORGED_PICKLES = [
    # LONG_BINPUT 2**24: CPython's unpickler would size its memo table to match
    (b"\x80\x02K\x01r\x00\x00\x00\x01.", "memo index"),
    # a protocol-4 FRAME claiming a terabyte
    (b"\x80\x04\x95" + (2 ** 40).to_bytes(8, "little") + b"K\x01.", "frame"),
]


@pytest.mark.parametrize("object_pickle, match", FORGED_PICKLES)
def test_forged_pickle_sizes_refused_before_allocating(tmp_path, object_pickle, match):
    p = tmp_path / "ok.pt"
    _save_legacy(1, p)
    m, v, info, _ = _split_header(p.read_bytes())
    bomb = tmp_path / "bomb.pt"
    bomb.write_bytes(b"".join(pickle.dumps(x, protocol=2) for x in (m, v, info))
                     + object_pickle + pickle.dumps([], protocol=2))
    with pytest.raises(RuntimeError, match=f"bomb.pt.*{match}"):
        ember.load(bomb)
