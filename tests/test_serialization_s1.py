"""Devices in PyTorch's legacy (pre-1.6) format, and bare storages in both torch formats.

Each storage record of a legacy file names the location its tensor was saved from ('cpu',
'cuda:0'); torch.load puts it back there after map_location, as for the zip format
(tests/test_serialization_devices.py). The files are written by real torch with
``_use_new_zipfile_serialization=False``; a CUDA record is made without a GPU by rewriting
the location string in the pickle. torch.load of the same bytes is the oracle. The CUDA
cases skip without a GPU (EMBER_FAKE_CUDA=1 runs them on tests/fakecupy.py)."""
import io
import pickle
import zipfile

import numpy as np
import pytest

import ember
from tests.test_serialization_devices import _CPU, _CUDA0, needs_cuda, no_cuda
from tests.test_serialization_legacy import _same_tree, _save_legacy

torch = pytest.importorskip("torch")


def _legacy(obj):
    buf = io.BytesIO()
    _save_legacy(obj, buf)
    return buf.getvalue()


def _on_cuda(raw):
    """`raw` (a torch file of CPU tensors) with its storage records saying 'cuda:0', as
    torch writes them for CUDA tensors. pickle memoizes the string: it appears once."""
    assert raw.count(_CPU) == 1
    return raw.replace(_CPU, _CUDA0)


def _state():
    """A state with two views of one storage, a Parameter and an int64 scalar."""
    w = torch.arange(12, dtype=torch.float32).reshape(3, 4)
    return {"w": w, "row": w[1], "b": torch.nn.Parameter(torch.tensor([1.5, -2.0])),
            "steps": torch.tensor(7)}


def _load_both(raw, torch_map, ember_map):
    return (torch.load(io.BytesIO(raw), map_location=torch_map),
            ember.load(io.BytesIO(raw), map_location=ember_map))


@no_cuda
def test_legacy_cuda_records_without_a_gpu_raise_torchs_error():
    raw = _on_cuda(_legacy(_state()))
    with pytest.raises(RuntimeError) as want:
        torch.load(io.BytesIO(raw))
    with pytest.raises(RuntimeError) as got:
        ember.load(io.BytesIO(raw))
    assert str(got.value) == str(want.value)
    assert "Attempting to deserialize object on a CUDA device" in str(got.value)


@no_cuda
@pytest.mark.parametrize("where", ["cuda:0", {"cpu": "cuda:0"}], ids=["str", "dict"])
def test_legacy_cpu_records_mapped_to_a_missing_gpu_raise_torchs_error(where):
    raw = _legacy(_state())
    with pytest.raises(RuntimeError) as want:
        torch.load(io.BytesIO(raw), map_location=where)
    with pytest.raises(RuntimeError) as got:
        ember.load(io.BytesIO(raw), map_location=where)
    assert str(got.value) == str(want.value)


@pytest.mark.parametrize("map_location", ["cpu", "device", "dict", "callable"])
def test_legacy_cuda_records_mapped_to_the_cpu(map_location):
    raw = _on_cuda(_legacy(_state()))
    maps = {"cpu": ("cpu", "cpu"),
            "device": (torch.device("cpu"), ember.device("cpu")),
            "dict": ({"cuda:0": "cpu"}, {"cuda:0": "cpu"}),
            "callable": (lambda s, loc: s, lambda t, loc: t)}
    want, got = _load_both(raw, *maps[map_location])
    _same_tree(got, want)
    assert all(t.device.type == "cpu" for t in got.values() if isinstance(t, ember.Tensor))
    got["w"][1, 0] = 100.0   # views of one storage still share it
    assert got["row"][0].item() == 100.0


def test_legacy_cpu_records_stay_on_the_cpu_with_their_types():
    """No map_location: CPU records load on the CPU; a Size stays a Size (it became a tuple
    when map_location was applied by walking the loaded tree)."""
    raw = _legacy(dict(_state(), shape=torch.Size([3, 4])))
    for torch_map, ember_map in [(None, None), ("cpu", "cpu")]:
        want, got = _load_both(raw, torch_map, ember_map)
        assert type(got.pop("shape")) is ember.Size and tuple(want.pop("shape")) == (3, 4)
        _same_tree(got, want)
        assert all(t.device.type == "cpu" for t in got.values() if isinstance(t, ember.Tensor))


@pytest.mark.parametrize("dtype", ["float32", "int64", "bool"])
@pytest.mark.parametrize("legacy", [True, False], ids=["legacy", "zip"])
def test_bare_storages_load_as_typed_storages(dtype, legacy):
    """A storage saved for itself loads as a TypedStorage of its elements, as torch's does
    (the legacy reader returned the raw NumPy array)."""
    t = torch.tensor([1, 0, 3], dtype=getattr(torch, dtype))
    buf = io.BytesIO()
    torch.save({"s": t.storage(), "t": t}, buf, _use_new_zipfile_serialization=not legacy)
    want = torch.load(io.BytesIO(buf.getvalue()))
    got = ember.load(io.BytesIO(buf.getvalue()))
    assert type(got["s"]).__name__ == type(want["s"]).__name__ == "TypedStorage"
    assert got["s"].dtype.name == dtype and got["s"].device.type == "cpu"
    assert got["s"].tolist() == want["s"].tolist()
    got["t"][0] = 0   # the storage and the tensor saved over it share memory, as in torch
    want["t"][0] = 0
    assert got["s"].tolist() == want["s"].tolist()


def _zip_on_cuda(obj):
    """A torch zip file of `obj` whose storage records say 'cuda:0'."""
    buf = io.BytesIO()
    torch.save(obj, buf)
    src = zipfile.ZipFile(io.BytesIO(buf.getvalue()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename.endswith("/data.pkl"):
                data = data.replace(_CPU, _CUDA0)
            dst.writestr(info.filename, data)
    return out.getvalue()


@no_cuda
@pytest.mark.parametrize("legacy", [True, False], ids=["legacy", "zip"])
def test_bare_cuda_storage_without_a_gpu_raises_torchs_error(legacy):
    obj = {"s": torch.arange(3.0).storage()}
    raw = _on_cuda(_legacy(obj)) if legacy else _zip_on_cuda(obj)
    with pytest.raises(RuntimeError) as want:
        torch.load(io.BytesIO(raw))
    with pytest.raises(RuntimeError) as got:
        ember.load(io.BytesIO(raw))
    assert str(got.value) == str(want.value)
    want = torch.load(io.BytesIO(raw), map_location="cpu")
    got = ember.load(io.BytesIO(raw), map_location="cpu")
    assert got["s"].device.type == "cpu" and got["s"].tolist() == want["s"].tolist()


@needs_cuda
def test_legacy_cuda_records_load_on_the_gpu():
    raw = _on_cuda(_legacy(_state()))
    want = torch.load(io.BytesIO(raw), map_location="cpu")
    back = ember.load(io.BytesIO(raw))
    assert list(back) == list(want)
    for k in want:
        assert back[k].is_cuda and back[k].dtype.name == str(want[k].dtype)[6:]
        np.testing.assert_array_equal(back[k].detach().cpu().numpy(), want[k].detach().numpy())
    assert isinstance(back["b"], ember.nn.Parameter) and back["b"].requires_grad
    back["w"][1, 0] = 100.0   # one device storage for the two views
    assert back["row"][0].item() == 100.0
    cpu = ember.load(io.BytesIO(raw), map_location="cpu")
    _same_tree(cpu, want)


@needs_cuda
def test_legacy_cpu_records_mapped_to_the_gpu():
    raw = _legacy(_state())
    for where in ["cuda:0", ember.device("cuda"), {"cpu": "cuda:0"}]:
        back = ember.load(io.BytesIO(raw), map_location=where)
        assert back["w"].is_cuda and back["row"].is_cuda and back["steps"].is_cuda
        np.testing.assert_array_equal(back["w"].cpu().numpy(),
                                      np.arange(12, dtype=np.float32).reshape(3, 4))
        back["w"][1, 0] = 100.0
        assert back["row"][0].item() == 100.0


def test_public_names_stay_importable_from_ember_serialization():
    """ember/serialization.py was split into files of one concern: the names users reach
    through it are still there, and the safe-globals API acts on the one registry."""
    from ember import serialization as S
    for name in ["save", "load", "add_safe_globals", "get_safe_globals",
                 "clear_safe_globals", "safe_globals", "safetensors_metadata"]:
        assert callable(getattr(S, name)), name
        assert name in S.__all__
    # torch.serialization's public names, but for the HPU's and the StorageType class
    missing = {n for n in torch.serialization.__all__ if not hasattr(S, n)}
    assert missing == {"validate_hpu_device", "StorageType"}

    class _Trusted:
        pass
    with S.safe_globals([_Trusted]):
        assert _Trusted in S.get_safe_globals()
    assert _Trusted not in S.get_safe_globals()


# ---------------------------------------------------------------- torch.serialization's options

def test_files_saved_without_crc32s_load():
    """torch.serialization.set_crc32_options(False) writes zeros for the records' CRC-32s;
    torch.load reads such files, and ember read them as corrupted (zipfile checks CRCs)."""
    obj = {"w": torch.arange(6.0).reshape(2, 3), "n": 3}
    torch.serialization.set_crc32_options(False)
    try:
        buf = io.BytesIO()
        torch.save(obj, buf)
    finally:
        torch.serialization.set_crc32_options(True)
    raw = buf.getvalue()
    assert all(i.CRC == 0 for i in zipfile.ZipFile(io.BytesIO(raw)).infolist())
    _same_tree(ember.load(io.BytesIO(raw)), torch.load(io.BytesIO(raw)))


@pytest.mark.parametrize("fmt", ["torch", "ember"])
def test_set_crc32_options_is_honoured_by_save(fmt):
    assert ember.serialization.get_crc32_options() is torch.serialization.get_crc32_options()
    ember.serialization.set_crc32_options(False)
    try:
        assert ember.serialization.get_crc32_options() is False
        buf = io.BytesIO()
        ember.save({"w": ember.arange(4.0)}, buf, format=fmt)
    finally:
        ember.serialization.set_crc32_options(True)
    raw = buf.getvalue()
    assert all(i.CRC == 0 for i in zipfile.ZipFile(io.BytesIO(raw)).infolist())
    assert ember.load(io.BytesIO(raw))["w"].tolist() == [0.0, 1.0, 2.0, 3.0]
    if fmt == "torch":
        assert torch.load(io.BytesIO(raw))["w"].tolist() == [0.0, 1.0, 2.0, 3.0]
    buf = io.BytesIO()
    ember.save({"w": ember.arange(4.0)}, buf, format=fmt)   # the default again
    assert all(i.CRC != 0 for i in zipfile.ZipFile(io.BytesIO(buf.getvalue())).infolist()
               if i.file_size)


def test_default_load_endianness_reads_files_without_a_byteorder_record():
    E, T = ember.serialization, torch.serialization
    assert [(m.name, m.value) for m in E.LoadEndianness] == \
        [(m.name, m.value) for m in T.LoadEndianness]
    assert E.get_default_load_endianness() is None and T.get_default_load_endianness() is None
    with pytest.raises(TypeError, match="Invalid argument type in function "
                                        "set_default_load_endianness"):
        E.set_default_load_endianness("big")
    buf = io.BytesIO()
    torch.save({"x": torch.tensor([1.0, -2.5, 3.0]), "i": torch.tensor([1, 256])}, buf)
    src, out = zipfile.ZipFile(io.BytesIO(buf.getvalue())), io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as dst:   # as torch < 2.1 wrote it
        for info in src.infolist():
            if not info.filename.endswith("/byteorder"):
                dst.writestr(info.filename, src.read(info.filename))
    raw = out.getvalue()
    for name in ["BIG", "LITTLE", "NATIVE"]:
        T.set_default_load_endianness(getattr(T.LoadEndianness, name))
        E.set_default_load_endianness(getattr(E.LoadEndianness, name))
        try:
            assert E.get_default_load_endianness() is getattr(E.LoadEndianness, name)
            want, got = torch.load(io.BytesIO(raw)), ember.load(io.BytesIO(raw))
        finally:
            T.set_default_load_endianness(None)
            E.set_default_load_endianness(None)
        for k in want:
            np.testing.assert_array_equal(got[k].numpy(), want[k].numpy())


def test_mmap_shared_writes_reach_the_file(tmp_path):
    import mmap
    E, T = ember.serialization, torch.serialization
    assert E.get_default_mmap_options() == T.get_default_mmap_options() == mmap.MAP_PRIVATE
    with pytest.raises(ValueError) as want:
        T.set_default_mmap_options(12345)
    with pytest.raises(ValueError) as got:
        E.set_default_mmap_options(12345)
    assert str(got.value) == str(want.value)
    for lib, path in [(torch, tmp_path / "t.pt"), (ember, tmp_path / "e.pt")]:
        lib.save({"x": lib.zeros(4)}, path) if lib is torch else \
            ember.save({"x": ember.zeros(4)}, path, format="torch")
        private = lib.load(path, mmap=True)
        private["x"][0] = 5.0   # copy-on-write: the file keeps its zeros
        assert lib.load(path)["x"].tolist() == [0.0] * 4
        with lib.serialization.set_default_mmap_options(mmap.MAP_SHARED):
            assert lib.serialization.get_default_mmap_options() == mmap.MAP_SHARED
            shared = lib.load(path, mmap=True)
            shared["x"][1] = 7.0
            del shared
        assert lib.serialization.get_default_mmap_options() == mmap.MAP_PRIVATE
        assert lib.load(path)["x"].tolist() == [0.0, 7.0, 0.0, 0.0]


class _Point:
    """A user class a checkpoint may hold (pickled by reference)."""

    def __init__(self, x):
        self.x = x


def test_get_unsafe_globals_in_checkpoint():
    buf = io.BytesIO()
    torch.save({"w": torch.ones(2), "p": _Point(1), "od": {"a": torch.nn.Parameter(
        torch.zeros(1))}}, buf)
    raw = buf.getvalue()
    want = torch.serialization.get_unsafe_globals_in_checkpoint(io.BytesIO(raw))
    got = ember.serialization.get_unsafe_globals_in_checkpoint(io.BytesIO(raw))
    assert sorted(got) == sorted(want) == [f"{__name__}._Point"]
    with torch.serialization.safe_globals([_Point]), ember.serialization.safe_globals([_Point]):
        assert ember.serialization.get_unsafe_globals_in_checkpoint(io.BytesIO(raw)) == [] == \
            torch.serialization.get_unsafe_globals_in_checkpoint(io.BytesIO(raw))
    legacy = _legacy({"w": torch.ones(2)})
    for lib in (torch, ember):
        with pytest.raises(ValueError, match="Expected input to be a checkpoint returned by "
                                             "torch.save"):
            lib.serialization.get_unsafe_globals_in_checkpoint(io.BytesIO(legacy))


def test_storage_locations_and_small_utilities():
    E, T = ember.serialization, torch.serialization
    s_e, s_t = ember.arange(3.0).untyped_storage(), torch.arange(3.0).untyped_storage()
    assert E.location_tag(s_e) == T.location_tag(s_t) == "cpu"
    back = E.default_restore_location(s_e, "cpu")
    assert back.device.type == "cpu" and bytes(back.tolist()) == bytes(s_t.tolist())
    with pytest.raises(RuntimeError) as want:
        T.default_restore_location(s_t, "foo")
    with pytest.raises(RuntimeError) as got:
        E.default_restore_location(s_e, "foo")
    assert str(got.value) == str(want.value).replace("torch.", "ember.")
    if not ember.cuda.is_available():
        for fn in (lambda m, s: m.serialization.validate_cuda_device("cuda:0"),
                   lambda m, s: m.serialization.default_restore_location(s, "cuda:1")):
            with pytest.raises(RuntimeError) as want:
                fn(torch, s_t)
            with pytest.raises(RuntimeError) as got:
                fn(ember, s_e)
            assert str(got.value) == str(want.value)
    assert E.normalize_storage_type(ember.FloatStorage) is ember.FloatStorage
    assert issubclass(E.SourceChangeWarning, Warning)
    assert E.check_module_version_greater_or_equal(np, (1, 20)) is \
        T.check_module_version_greater_or_equal(np, (1, 20)) is True

    class Malformed:
        __version__ = "1.x.3"
    for lib in (torch, ember):
        with pytest.raises(RuntimeError, match="module version string is malformed"):
            lib.serialization.check_module_version_greater_or_equal(Malformed, (1, 2))
    import os
    with E.mkdtemp() as d:
        assert os.path.isdir(d)
    assert not os.path.exists(d)


def test_skip_data_and_register_package_are_not_built():
    with pytest.raises(NotImplementedError, match="skip_data"):
        with ember.serialization.skip_data():
            pass
    with pytest.raises(NotImplementedError, match="register_package"):
        ember.serialization.register_package(30, lambda s: None, lambda s, loc: None)


# ---------------------------------------------------------------- a callable map_location

def _shared_state(lib):
    w = lib.arange(6.0).reshape(2, 3)
    return {"w": w, "row": w[1], "b": lib.ones(2)}


@pytest.mark.parametrize("fmt", ["zip", "legacy", "ember", "zip-cuda", "legacy-cuda"])
def test_callable_map_location_is_called_once_per_storage_with_a_storage(fmt):
    """As torch.load: the callable gets each storage (untyped, on the CPU) and its saved
    location, once, and returns the storage to use; tensors that shared a storage still
    share the returned one."""
    if fmt == "zip-cuda":
        raw = _zip_on_cuda(_shared_state(torch))
    else:
        buf = io.BytesIO()
        torch.save(_shared_state(torch), buf, _use_new_zipfile_serialization="legacy" not in fmt)
        raw = _on_cuda(buf.getvalue()) if fmt == "legacy-cuda" else buf.getvalue()
    seen_t = []
    torch.load(io.BytesIO(raw),
               map_location=lambda s, loc: seen_t.append((type(s).__name__, loc)) or s)
    if fmt == "ember":   # the same object in ember's own format
        out = io.BytesIO()
        ember.save(_shared_state(ember), out)
        raw = out.getvalue()
    seen_e = []
    got = ember.load(io.BytesIO(raw),
                     map_location=lambda s, loc: seen_e.append((type(s).__name__, loc)) or s)
    location = "cuda:0" if fmt.endswith("cuda") else "cpu"
    assert seen_e == seen_t == [("UntypedStorage", location)] * 2
    got["w"][1, 0] = 100.0
    assert got["row"][0].item() == 100.0


@pytest.mark.parametrize("legacy", [True, False], ids=["legacy", "zip"])
def test_callable_map_location_returning_none_restores_the_saved_location(legacy):
    raw = _legacy(_state()) if legacy else _zip_bytes(_state())
    want, got = _load_both(raw, lambda s, loc: None, lambda s, loc: None)
    _same_tree(got, want)
    if not ember.cuda.is_available():
        cuda_raw = _on_cuda(raw) if legacy else _zip_on_cuda(_state())
        with pytest.raises(RuntimeError) as want:
            torch.load(io.BytesIO(cuda_raw), map_location=lambda s, loc: None)
        with pytest.raises(RuntimeError) as got:
            ember.load(io.BytesIO(cuda_raw), map_location=lambda s, loc: None)
        assert str(got.value) == str(want.value)


def test_callable_map_location_must_return_a_storage():
    raw = _zip_bytes({"x": torch.ones(2)})
    with pytest.raises(TypeError, match="map_location returned a str"):
        ember.load(io.BytesIO(raw), map_location=lambda s, loc: "cpu")


def _zip_bytes(obj):
    buf = io.BytesIO()
    torch.save(obj, buf)
    return buf.getvalue()


# ---------------------------------------------------------------- whole objects, legacy format

def _legacy_file(object_pickle):
    """A legacy-format file whose object pickle is `object_pickle` (bytes) and which has no
    storages: torch's three header pickles, the object, an empty key list."""
    head = pickle.dumps(0x1950A86A20F9469CFC6C, protocol=2) + pickle.dumps(1001, protocol=2)
    head += pickle.dumps({"protocol_version": 1001, "little_endian": True,
                          "type_sizes": {"short": 2, "int": 4, "long": 4}}, protocol=2)
    return head + object_pickle + pickle.dumps([], protocol=2)


@pytest.mark.parametrize("records", ["cpu", "cuda"])
def test_legacy_whole_module_loads_with_weights_only_false(records):
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2))
    raw = _legacy(model)
    if records == "cuda":
        raw = _on_cuda(raw)
    kwargs = {"map_location": "cpu"} if records == "cuda" else {}
    want = torch.load(io.BytesIO(raw), weights_only=False, **kwargs)
    got = ember.load(io.BytesIO(raw), weights_only=False, **kwargs)
    assert isinstance(got, ember.nn.Sequential) and repr(got) == repr(want)
    _same_tree(dict(got.state_dict()), dict(want.state_dict()))
    x = np.random.default_rng(0).standard_normal((5, 3)).astype(np.float32)
    np.testing.assert_allclose(got(ember.tensor(x)).detach().numpy(),
                               want(torch.tensor(x)).detach().numpy(), rtol=1e-6)
    if records == "cuda" and not ember.cuda.is_available():
        with pytest.raises(RuntimeError) as want_err:
            torch.load(io.BytesIO(raw), weights_only=False)
        with pytest.raises(RuntimeError) as got_err:
            ember.load(io.BytesIO(raw), weights_only=False)
        assert str(got_err.value) == str(want_err.value)
    with pytest.raises(pickle.UnpicklingError):   # the weights-only reader refuses it
        ember.load(io.BytesIO(raw), **kwargs)


def test_legacy_user_objects_load_with_weights_only_false():
    raw = _legacy({"p": _Point(torch.arange(3.0)), "n": [_Point(2)]})
    want = torch.load(io.BytesIO(raw), weights_only=False)
    got = ember.load(io.BytesIO(raw), weights_only=False)
    assert type(got["p"]) is _Point and type(got["n"][0]) is _Point
    _same_tree(got["p"].x, want["p"].x)
    assert got["n"][0].x == want["n"][0].x == 2


def test_legacy_missing_class_raises_its_import_error():
    raw = _legacy_file(b"\x80\x02cno_such_module_s1\nThing\n)\x81.")
    with pytest.raises(ModuleNotFoundError) as want:
        torch.load(io.BytesIO(raw), weights_only=False)
    with pytest.raises(ModuleNotFoundError) as got:
        ember.load(io.BytesIO(raw), weights_only=False)
    assert str(got.value) == str(want.value)


@pytest.mark.parametrize("name", ["reconstructor_popen_protocol2", "newobj_reduce_custom_new",
                                  "newobj_opcode_custom_new", "inst_os_system",
                                  "obj_os_system"])
def test_legacy_forged_object_pickle_runs_nothing(tmp_path, name):
    """The forged pickles of tests/test_object_pickle_safety.py, as a legacy file's object:
    the object reader refuses each without running it."""
    from tests.test_object_pickle_safety import CASES
    marker = tmp_path / "pwned"
    raw = _legacy_file(CASES[name](marker))
    with pytest.raises(pickle.UnpicklingError, match="refusing"):
        ember.load(io.BytesIO(raw), weights_only=False)
    with pytest.raises(pickle.UnpicklingError):
        ember.load(io.BytesIO(raw))
    assert not marker.exists()
