"""The legacy typed constructors of CUDA tensors (torch.cuda.FloatTensor ...): on this
CPU-only machine they fail as in torch's CPU build; on CUDA (a GPU or the fake CuPy:
EMBER_FAKE_CUDA=1) they make CUDA tensors."""
import warnings

import pytest

import ember

torch = pytest.importorskip("torch")

NAMES = ["FloatTensor", "DoubleTensor", "HalfTensor", "BFloat16Tensor", "ByteTensor",
         "CharTensor", "ShortTensor", "IntTensor", "LongTensor", "BoolTensor"]


def _outcome(fn):
    try:
        fn()
    except Exception as e:  # noqa: BLE001 - type and message compared
        return type(e).__name__, str(e).replace("torch.", "ember.")
    return "ok"


@pytest.mark.parametrize("name", NAMES)
def test_isinstance_checks_dtype_and_device(name):
    for mod in (ember, torch):
        t = mod.ones(2, dtype=getattr(mod, name)._legacy_dtype if mod is ember else
                     getattr(mod, name).dtype)
        assert isinstance(t, getattr(mod, name))
        assert not isinstance(t, getattr(mod.cuda, name))
    assert getattr(ember.cuda, name).__module__ == "ember.cuda"


@pytest.mark.skipif(ember.cuda.is_available(), reason="compares with a CPU-only build")
@pytest.mark.parametrize("call", [
    lambda m: m.cuda.FloatTensor([1.0]),
    lambda m: m.cuda.LongTensor(3),
    lambda m: m.FloatTensor([1.0], device="cuda"),
    lambda m: m.set_default_tensor_type(m.cuda.FloatTensor),
])
def test_without_cuda_as_torch_cpu_build(call):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert _outcome(lambda: call(ember)) == _outcome(lambda: call(torch))
    assert ember.get_default_dtype() is ember.float32
    assert ember.get_default_device().type == "cpu"


@pytest.mark.skipif(not ember.cuda.is_available(), reason="no CUDA device")
def test_cuda_legacy_constructors_make_cuda_tensors():
    t = ember.cuda.FloatTensor([1.0, 2.0])
    assert t.device.type == "cuda" and t.dtype is ember.float32
    assert isinstance(t, ember.cuda.FloatTensor) and not isinstance(t, ember.FloatTensor)
    assert t.type() == "torch.cuda.FloatTensor"   # as ember.FloatTensor.type() names torch
    assert ember.cuda.LongTensor(3).shape == (3,)
    moved = ember.ones(2).type(ember.cuda.DoubleTensor)
    assert moved.device.type == "cuda" and moved.dtype is ember.float64
    back = moved.type(ember.FloatTensor)
    assert back.device.type == "cpu" and back.dtype is ember.float32
    with pytest.raises(RuntimeError, match="legacy constructor expects device type: cuda"):
        ember.cuda.FloatTensor([1.0], device="cpu")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ember.set_default_tensor_type(ember.cuda.FloatTensor)
        assert ember.zeros(2).device.type == "cuda"
    finally:
        ember.set_default_device(None)
