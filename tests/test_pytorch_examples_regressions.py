"""Defects found by running the programs of pytorch/examples (mnist, vae, dcgan,
word_language_model ...) on ember with bench/script_probe.py; each case is the defect's
core, a few lines run on both libraries and compared: values, dtypes and shapes, or the
exception type and message."""
import importlib
import io
import os
import subprocess
import sys
import textwrap
import warnings

import numpy as np
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
    # the scalar-first overloads PyTorch still takes (with a deprecation warning): old
    # word_language_model's p.data.add_(-lr, p.grad.data), old optimizers' addcmul_(1 - b, g, g)
    "add_scalar_first": lambda m: m.ones(3).add(-0.5, m.arange(3.)),
    "add__scalar_first": lambda m: m.ones(3).add_(-0.5, m.arange(3.)),
    "torch_add_scalar_first": lambda m: m.add(m.ones(3), 2, m.arange(3.)),
    "torch_add_scalar_first_out": lambda m: m.add(m.ones(3), 2, m.arange(3.),
                                                  out=m.empty(3)),
    "add_two_numbers": lambda m: m.ones(3).add(2, 3),
    "sub_scalar_first": lambda m: m.ones(3).sub(2, m.arange(3.)),
    "sub__scalar_first": lambda m: m.ones(3).sub_(2, m.arange(3.)),
    "addcmul_scalar_first": lambda m: m.ones(3).addcmul(0.5, m.arange(3.), m.arange(3.)),
    "addcmul__scalar_first": lambda m: m.ones(3).addcmul_(0.5, m.arange(3.), m.arange(3.)),
    "torch_addcdiv_scalar_first": lambda m: m.addcdiv(m.ones(3), 2, m.arange(3.),
                                                      m.arange(3.) + 1),
    "addcdiv__scalar_first": lambda m: m.ones(3).addcdiv_(2, m.arange(3.), m.arange(3.) + 1),
    "add_scalar_first_and_alpha": lambda m: m.ones(3).add(-0.5, m.arange(3.), alpha=2),
    "add_tensor_then_number": lambda m: m.ones(3).add(m.arange(3.), -0.5),
    "add_scalar_first_grad": lambda m: _scalar_first_grad(m),
    # alpha is checked whatever its value (True, 1.0, 1+0j were let through as 1)
    "add_alpha_true": lambda m: m.ones(3).add(m.arange(3.), alpha=True),
    "add_alpha_complex": lambda m: m.ones(3).add(m.arange(3.), alpha=1j),
    "add_alpha_one_complex": lambda m: m.ones(3).add(m.arange(3.), alpha=1 + 0j),
    "add_long_alpha_one_float": lambda m: m.ones(3).long().add(m.ones(3).long(), alpha=1.0),
    "sub_long_alpha_one_float": lambda m: m.ones(3).long().sub(m.ones(3).long(), alpha=1.0),
    "add_alpha_tensor": lambda m: m.ones(3).add(m.arange(3.), alpha=m.tensor(2.)),
    "add_complex_alpha_complex": lambda m: m.ones(3, dtype=m.complex64).add(m.arange(3.),
                                                                           alpha=1j),
    # mnist_forward_forward asks torch.xpu.is_available() (AttributeError before)
    "xpu_queries": lambda m: [m.xpu.is_available(), m.xpu.device_count(),
                              m.xpu.is_initialized(), m.xpu.is_bf16_supported(),
                              m.xpu.manual_seed(1), m.xpu.manual_seed_all(1),
                              m.xpu.empty_cache(), m.xpu.memory_allocated()],
    "xpu_synchronize": lambda m: m.xpu.synchronize(),
    "xpu_current_device": lambda m: m.xpu.current_device(),
    # a range (or a tuple inside the key) indexes as a sequence of indices, as PyTorch's
    # tensor of it (mnist_forward_forward's x_[range(x.shape[0]), y] = x.max())
    "index_range": lambda m: m.arange(12.).view(3, 4)[range(2)],
    "index_range_pair": lambda m: m.arange(12.).view(3, 4)[range(3), m.tensor([0, 2, 1])],
    "setitem_range_pair": lambda m: _set(m.arange(12.).view(3, 4).clone(),
                                         (range(3), m.tensor([0, 2, 1])), -1.0),
    "index_range_step": lambda m: m.arange(12.).view(3, 4)[:, range(0, 4, 2)],
    "index_range_empty": lambda m: m.arange(12.).view(3, 4)[range(0)],
    "index_tuple_in_key": lambda m: m.arange(12.).view(3, 4)[(0, 2), :],
    "index_tuple_pair": lambda m: m.arange(12.).view(3, 4)[(0, 2), (1, 3)],
    "index_tuple_bools": lambda m: m.arange(12.).view(3, 4)[(True, False, True), :],
    "index_list_of_ranges": lambda m: m.arange(12.).view(3, 4)[[range(2), range(2)]],
    "index_range_grad": lambda m: _index_grad(m),
    # an index out of range: PyTorch names the first one (ember named the largest)
    "index_range_out_of_bounds": lambda m: m.arange(12.).view(3, 4)[range(5)],
    "index_2d_out_of_bounds_first": lambda m: m.arange(12.).view(3, 4)[m.tensor([[0, 5],
                                                                                [4, 1]])],
    # dense + sparse of another dtype computes in the promoted dtype (gcn's torch.eye(V) +
    # an int64 adjacency matrix raised NotImplementedError)
    "dense_plus_sparse_int64": lambda m: m.eye(3) + _adjacency(m),
    "dense64_minus_sparse_int64": lambda m: m.eye(3, dtype=m.float64) - _adjacency(m),
    "int32_plus_sparse_int64": lambda m: m.ones(3, 3, dtype=m.int32) + _adjacency(m),
    "torch_add_dense_sparse_int64": lambda m: m.add(m.eye(3), _adjacency(m)),
    "dense_plus_sparse_grad": lambda m: _dense_sparse_grad(m),
    # vision_transformer imports tqdm from torch.hub (ImportError before); without the tqdm
    # package both offer a counter that cannot wrap an iterable
    "hub_tqdm_counter": lambda m: _hub_progress(m),
    "hub_tqdm_iterable": lambda m: iter(importlib.import_module(m.__name__ + ".hub")
                                        .tqdm([1, 2])),
    # the deprecated non-underscore initializers (super_resolution's init.orthogonal):
    # AttributeError before for orthogonal, sparse, eye, dirac; all initialize as the new ones
    **{f"init_{name}_alias": (lambda name: lambda m: _old_init(m, name))(name)
       for name in ("orthogonal", "sparse", "eye", "dirac", "uniform", "normal",
                    "xavier_uniform", "kaiming_normal")},
    # resize_ to no more elements keeps the storage (the 2017 dcgan's
    # input.data.resize_(batch.size()).copy_(batch) wrote into a detached copy)
    "resize_shrink_through_data": lambda m: _resize_shared(m),
    "resize_same_numel_reshapes": lambda m: m.arange(6.).resize_(2, 3),
    "resize_grow_keeps_values": lambda m: m.arange(4.).resize_(6)[:4],
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


def test_index_out_of_bounds_message():
    """The first index out of range is the one named, as PyTorch's message."""
    for key in (range(5), ember.tensor([[0, 5], [4, 1]]), ember.tensor([0, -7, 9])):
        tkey = torch.tensor(key.tolist()) if isinstance(key, ember.Tensor) else key
        with pytest.raises(IndexError) as want:
            torch.arange(12.).view(3, 4)[tkey]
        with pytest.raises(IndexError) as got:
            ember.arange(12.).view(3, 4)[key]
        assert str(got.value) == str(want.value)


@pytest.mark.parametrize("name", sorted(RAISING))
def test_accelerator_needs_a_device(name):
    if ember.cuda.is_available():
        pytest.skip("the no-accelerator behaviour needs a machine without CUDA")
    got, want = _raised(RAISING[name], ember), _raised(RAISING[name], torch)
    assert want is not None and got == want, (got, want)


def _adjacency(m):
    return m.sparse_coo_tensor(m.tensor([[0, 1, 2], [1, 2, 0]]), m.ones(3), (3, 3),
                               dtype=m.int64)


def _dense_sparse_grad(m):
    x = m.eye(3, dtype=m.float64, requires_grad=True)
    y = x + _adjacency(m)
    (y * y).sum().backward()
    return [y, x.grad]


def _hub_progress(m):
    tqdm = importlib.import_module(m.__name__ + ".hub").tqdm
    bar = tqdm(total=8, disable=True)
    with bar:
        bar.update(3)
        bar.set_description("x")
    return [bar.n, bar.total, bar.disable]


_OLD_INIT_ARGS = {"sparse": (0.5,), "dirac": (), "eye": ()}


def _old_init(m, name):
    m.manual_seed(0)
    w = m.empty(4, 3, 3) if name == "dirac" else m.empty(4, 3)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        getattr(m.nn.init, name)(w, *_OLD_INIT_ARGS.get(name, ()))
    return [w, [(c.category.__name__, str(c.message)) for c in caught]]


def _resize_shared(m):
    a = m.zeros(6)
    a.data.resize_(2, 2).fill_(1)
    b = m.zeros(6)
    b[:].resize_(3).fill_(2)
    return [a, b]


def _set(x, key, value):
    x[key] = value
    return x


def _index_grad(m):
    x = m.ones(3, 3, requires_grad=True)
    x[range(2), range(1, 3)].sum().backward()
    return x.grad


def _scalar_first_grad(m):
    p = m.ones(3, requires_grad=True)
    g = m.arange(3.0, requires_grad=True)
    p.addcmul(2, g, g).add(-0.5, g).sum().backward()
    return [p.grad, g.grad]


def test_scalar_first_overload_warns_once():
    """PyTorch's argument parser warns once per process on a deprecated overload."""
    from ember._ops import pointwise
    pointwise._DEPRECATED_OVERLOAD_WARNED[0] = False
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ember.ones(2).add(-1, ember.ones(2))
        ember.ones(2).addcmul(2, ember.ones(2), ember.ones(2))
    assert [str(w.message).split(":")[0] for w in caught] == ["This overload of add is "
                                                               "deprecated"]
    assert all(w.category is UserWarning for w in caught)


@pytest.mark.parametrize("writer", ["torch", "ember"])
def test_numpy_checkpoint_loads(writer):
    """time_sequence_prediction saves a NumPy array with torch.save and reads it back with
    weights_only=False (ember refused NumPy's _codecs.encode call); weights_only=True refuses
    it with pickle's UnpicklingError, as torch."""
    import pickle
    obj = {"data": np.sin(np.arange(6.0)).reshape(2, 3), "step": np.int64(3),
           "lr": np.float32(0.5), "kind": np.dtype("float32")}
    buf = io.BytesIO()
    (torch if writer == "torch" else ember).save(obj, buf)
    got = {}
    for m in (torch, ember):
        buf.seek(0)
        got[m.__name__] = m.load(buf, weights_only=False)
        buf.seek(0)
        with pytest.raises(pickle.UnpicklingError):
            m.load(buf)
    a, b = got["torch"], got["ember"]
    assert a.keys() == b.keys()
    for k in a:
        assert type(a[k]) is type(b[k]) and np.array_equal(a[k], b[k]), k


def test_onnx_export_writes_a_model(tmp_path):
    """word_language_model's --onnx-export step writes a file (the ONNX contents are
    checked in tests/test_onnx_export_ox.py)."""
    onnx = importlib.import_module("ember.onnx")
    onnx.export(ember.nn.Linear(2, 2), (ember.zeros(1, 2),), str(tmp_path / "m.onnx"))
    assert (tmp_path / "m.onnx").stat().st_size > 0


_SPAWN_PROGRAM = """
import torch
import torch.multiprocessing as mp
import helper


def work(rank, q):
    q.put((rank, torch.__name__, helper.total(rank), type(torch.ones(1)).__module__))


if __name__ == "__main__":
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    procs = [ctx.Process(target=work, args=(rank, q)) for rank in range(2)]
    for p in procs:
        p.start()
    results = sorted(q.get(timeout=60) for _ in procs)
    for p in procs:
        p.join()
    print(torch.__name__, results)
"""


def test_spawned_children_see_ember(tmp_path):
    """mnist_hogwild starts its workers with mp.set_start_method('spawn'): under
    python -m ember.run the fresh children re-import the script and its modules, and
    imported the real torch (or failed where it is absent); they get ember as the parent.
    The same program on torch prints the same, with torch's names."""
    (tmp_path / "prog.py").write_text(textwrap.dedent(_SPAWN_PROGRAM))
    (tmp_path / "helper.py").write_text("import torch\n\n\ndef total(k):\n"
                                        "    return torch.arange(k + 3).sum().item()\n")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ, PYTHONPATH=root + os.pathsep + os.environ.get("PYTHONPATH", ""))
    outs = {}
    for name, cmd in (("ember", [sys.executable, "-m", "ember.run", "prog.py"]),
                      ("torch", [sys.executable, "prog.py"])):
        proc = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True,
                              timeout=180)
        assert proc.returncode == 0, proc.stderr
        outs[name] = proc.stdout
    assert outs["ember"].replace("ember", "torch") == outs["torch"], outs
    assert outs["ember"].startswith("ember [(0, 'ember', 3, 'ember")


def test_models_namespace_lists_only_builders():
    """imagenet/main.py offers as --arch every lowercase callable of torchvision.models:
    ember's namespace leaked the loop variable `_obj` and vgg's `make_layers` (not in
    torchvision.models); it holds the builders and torchvision's five lookup functions."""
    import ember.vision.models as models
    scanned = sorted(name for name in models.__dict__ if name.islower()
                     and not name.startswith("__") and callable(models.__dict__[name]))
    api = ["get_model", "get_model_builder", "get_model_weights", "get_weight", "list_models"]
    assert scanned == sorted(models.list_models(models) + api)
    from ember.vision.models.vgg import cfgs, make_layers  # still importable from vgg
    assert callable(make_layers) and "A" in cfgs
