"""Devices in PyTorch's zip format: each storage record names the location its tensor lived
on ('cpu', 'cuda:0'), and loading puts the tensor back there after map_location, as
torch.load does. Without a GPU, a file whose records say 'cuda:0' raises torch's
RuntimeError unless map_location maps it; the files are checked against real torch.load.
The CUDA cases skip without a GPU (EMBER_FAKE_CUDA=1 runs them on tests/fakecupy.py)."""
import io

import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")

needs_cuda = pytest.mark.skipif(not ember.cuda.is_available(), reason="no CUDA device")
no_cuda = pytest.mark.skipif(ember.cuda.is_available(), reason="the machine has CUDA")

_CPU = b"X\x03\x00\x00\x00cpu"          # the location string as protocol 2 pickles it
_CUDA0 = b"X\x06\x00\x00\x00cuda:0"


def _saved_on_cuda(obj):
    """The bytes of a torch-format file of `obj` (CPU tensors) whose storage records say
    'cuda:0': what torch.save writes for CUDA tensors, made without a GPU."""
    import zipfile
    buf = io.BytesIO()
    ember.save(obj, buf, format="torch")
    src = zipfile.ZipFile(io.BytesIO(buf.getvalue()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename.endswith("/data.pkl"):
                assert data.count(_CPU) == 1
                data = data.replace(_CPU, _CUDA0)
            dst.writestr(info.filename, data)
    return out.getvalue()


def _state():
    w = ember.arange(12, dtype=ember.float32).reshape(3, 4)
    return {"w": w, "row": w[1], "b": ember.tensor([1.5, -2.0])}


@no_cuda
def test_cuda_records_without_a_gpu_raise_torchs_error():
    raw = _saved_on_cuda(_state())
    with pytest.raises(RuntimeError) as want:
        torch.load(io.BytesIO(raw))
    with pytest.raises(RuntimeError) as got:
        ember.load(io.BytesIO(raw))
    assert str(got.value) == str(want.value)
    assert "Attempting to deserialize object on a CUDA device" in str(got.value)


@pytest.mark.parametrize("map_location", ["cpu", ember.device("cpu"), {"cuda:0": "cpu"}],
                         ids=["str", "device", "dict"])
def test_cuda_records_mapped_to_the_cpu(map_location):
    raw = _saved_on_cuda(_state())
    torch_map = ({"cuda:0": "cpu"} if isinstance(map_location, dict) else "cpu")
    want = torch.load(io.BytesIO(raw), map_location=torch_map)
    got = ember.load(io.BytesIO(raw), map_location=map_location)
    assert list(got) == list(want)
    for k in want:
        assert got[k].device.type == "cpu"
        np.testing.assert_array_equal(got[k].numpy(), want[k].numpy())
    got["w"][1, 0] = 100.0   # views of one storage still share it
    assert got["row"][0].item() == 100.0


def test_callable_map_location_sees_the_saved_location():
    raw = _saved_on_cuda({"x": ember.ones(2)})
    seen_t, seen_e = [], []
    torch.load(io.BytesIO(raw), map_location=lambda s, loc: seen_t.append(loc) or s)
    got = ember.load(io.BytesIO(raw), map_location=lambda t, loc: seen_e.append(loc) or t)
    assert seen_e == seen_t == ["cuda:0"]
    assert got["x"].tolist() == [1.0, 1.0]


def test_cpu_records_stay_on_the_cpu():
    buf = io.BytesIO()
    ember.save(_state(), buf, format="torch")
    assert _CPU in buf.getvalue() and _CUDA0 not in buf.getvalue()
    got = ember.load(io.BytesIO(buf.getvalue()))
    assert all(t.device.type == "cpu" for t in got.values())


@needs_cuda
def test_cuda_tensors_are_recorded_on_cuda_and_torch_reads_them():
    state = {k: v.cuda() for k, v in _state().items()}
    state["row"] = state["w"][1]   # a view of the device tensor, as saved from a model
    buf = io.BytesIO()
    ember.save(state, buf, format="torch")
    raw = buf.getvalue()
    assert _CUDA0 in raw
    with pytest.raises(RuntimeError, match="Attempting to deserialize object on a CUDA"):
        torch.load(io.BytesIO(raw))   # the oracle has no GPU: the record says cuda:0
    want = torch.load(io.BytesIO(raw), map_location="cpu")
    for k in want:
        np.testing.assert_array_equal(state[k].cpu().numpy(), want[k].numpy())
    assert want["row"].untyped_storage().data_ptr() == want["w"].untyped_storage().data_ptr()
    back = ember.load(io.BytesIO(raw))
    assert all(t.is_cuda for t in back.values())
    for k in state:
        np.testing.assert_array_equal(back[k].cpu().numpy(), state[k].cpu().numpy())
    back["w"][1, 0] = 100.0   # one device storage for the two views
    assert back["row"][0].item() == 100.0
    cpu = ember.load(io.BytesIO(raw), map_location="cpu")
    assert all(t.device.type == "cpu" for t in cpu.values())


@needs_cuda
def test_whole_cuda_module_round_trip_stays_on_cuda():
    ember.manual_seed(0)
    model = ember.nn.Sequential(ember.nn.Linear(3, 4), ember.nn.ReLU()).cuda()
    buf = io.BytesIO()
    ember.save(model, buf)
    back = ember.load(io.BytesIO(buf.getvalue()), weights_only=False)
    assert all(p.is_cuda for p in back.parameters())
    x = ember.randn(2, 3, device="cuda")
    np.testing.assert_allclose(back(x).cpu().detach().numpy(),
                               model(x).cpu().detach().numpy(), rtol=1e-6)
    on_cpu = ember.load(io.BytesIO(buf.getvalue()), weights_only=False, map_location="cpu")
    assert all(p.device.type == "cpu" for p in on_cpu.parameters())


@no_cuda
def test_ember_format_cuda_records_without_a_gpu_raise_the_same_error():
    """ember's own format records devices too; without a GPU its CUDA records get torch's
    error, and map_location='cpu' reads them."""
    import zipfile
    buf = io.BytesIO()
    ember.save({"x": ember.ones(3)}, buf)
    src = zipfile.ZipFile(io.BytesIO(buf.getvalue()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename.endswith("data.json"):
                assert data.count(b'"parameter": false}') == 1, data   # CPU: no device key
                data = data.replace(b'"parameter": false}',
                                    b'"parameter": false, "device": "cuda:0"}')
            dst.writestr(info.filename, data)
    with pytest.raises(RuntimeError, match="Attempting to deserialize object on a CUDA device"):
        ember.load(io.BytesIO(out.getvalue()))
    got = ember.load(io.BytesIO(out.getvalue()), map_location="cpu")
    assert got["x"].tolist() == [1.0, 1.0, 1.0]
