"""Devices in PyTorch's legacy (pre-1.6) format, and bare storages in both torch formats.

Each storage record of a legacy file names the location its tensor was saved from ('cpu',
'cuda:0'); torch.load puts it back there after map_location, as for the zip format
(tests/test_serialization_devices.py). The files are written by real torch with
``_use_new_zipfile_serialization=False``; a CUDA record is made without a GPU by rewriting
the location string in the pickle. torch.load of the same bytes is the oracle. The CUDA
cases skip without a GPU (EMBER_FAKE_CUDA=1 runs them on tests/fakecupy.py)."""
import io
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


def test_legacy_callable_map_location_sees_the_saved_location():
    raw = _on_cuda(_legacy({"x": torch.ones(2)}))
    seen_t, seen_e = [], []
    torch.load(io.BytesIO(raw), map_location=lambda s, loc: seen_t.append(loc) or s)
    got = ember.load(io.BytesIO(raw), map_location=lambda t, loc: seen_e.append(loc) or t)
    assert seen_e == seen_t == ["cuda:0"]
    assert got["x"].tolist() == [1.0, 1.0]


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

    class _Trusted:
        pass
    with S.safe_globals([_Trusted]):
        assert _Trusted in S.get_safe_globals()
    assert _Trusted not in S.get_safe_globals()
