"""Defects found by running the programs of pytorch/examples (mnist, vae, dcgan,
word_language_model ...) on ember with bench/script_probe.py; each case is the defect's
core, a few lines run on both libraries and compared: values, dtypes and shapes, or the
exception type and message."""
import importlib

import pytest

import ember

torch = pytest.importorskip("torch")

from tests.program_compare import run as _run, same  # noqa: E402


def _raised(program, m):
    """(exception type name, message) of `program(m)`, or None when it does not raise."""
    try:
        program(m)
    except Exception as e:  # noqa: BLE001 - the type and message are what gets compared
        return type(e).__name__, str(e)
    return None


def _accelerator_device(m):
    """mnist/main.py's device choice (pytorch/examples since PyTorch 2.6)."""
    use_accel = m.accelerator.is_available()
    device = m.accelerator.current_accelerator() if use_accel else m.device("cpu")
    return [use_accel, str(device), m.accelerator.device_count(),
            m.accelerator.current_accelerator(check_available=True)]


CASES = {
    "accelerator_device_choice": _accelerator_device,
    "accelerator_device_index_none": lambda m: m.accelerator.device_index(None).__enter__(),
    # dcgan/main.py and mnist_rnn warn or choose with torch.backends.mps (AttributeError before)
    "mps_available": lambda m: [m.backends.mps.is_available(), m.backends.mps.is_built()],
    "mps_macos13": lambda m: m.backends.mps.is_macos13_or_newer(),
    # word_language_model/main.py imports torch.onnx at the top (ModuleNotFoundError before)
    "onnx_not_exporting": lambda m: importlib.import_module(m.__name__ + ".onnx")
    .is_in_onnx_export(),
}

# without an accelerator these need a device and raise PyTorch's RuntimeError
RAISING = {
    "current_device_index": lambda m: m.accelerator.current_device_index(),
    "set_device_index": lambda m: m.accelerator.set_device_index(0),
    "synchronize": lambda m: m.accelerator.synchronize(),
    "current_stream": lambda m: m.accelerator.current_stream(),
    "empty_cache": lambda m: m.accelerator.empty_cache(),
    "memory_allocated": lambda m: m.accelerator.memory_allocated(),
    "get_memory_info": lambda m: m.accelerator.get_memory_info(),
    "device_index_0": lambda m: m.accelerator.device_index(0).__enter__(),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_same_as_torch(name):
    got, want = _run(CASES[name], ember), _run(CASES[name], torch)
    assert same(got, want, strict_types=True), (got, want)


@pytest.mark.parametrize("name", sorted(RAISING))
def test_accelerator_needs_a_device(name):
    if ember.cuda.is_available():
        pytest.skip("the no-accelerator behaviour needs a machine without CUDA")
    got, want = _raised(RAISING[name], ember), _raised(RAISING[name], torch)
    assert want is not None and got == want, (got, want)


def test_onnx_export_not_built():
    """ember cannot write ONNX: export says so instead of failing obscurely."""
    onnx = importlib.import_module("ember.onnx")
    with pytest.raises(NotImplementedError, match="torch.onnx.export"):
        onnx.export(ember.nn.Linear(2, 2), (ember.zeros(1, 2),), "m.onnx")
