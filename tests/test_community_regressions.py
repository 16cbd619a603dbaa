"""Defects found by running community tutorials (MorvanZhou/PyTorch-Tutorial,
yunjey/pytorch-tutorial, Dive-into-DL-PyTorch, d2l, pytorch-handbook ...) on ember with
bench/script_probe.py; each case is the defect's core, a few lines run on both libraries
and compared: values, dtypes and shapes, or the exception type and message."""
import io
import pickle
import re
import struct
import warnings

import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")

from tests.program_compare import run as _run, same  # noqa: E402


def _loader_iter_names(m, workers):
    """yunjey's pytorch_basics calls data_iter.next() (Python 2): the AttributeError names
    the iterator class, which must be torch's (code also checks isinstance against
    torch.utils.data.dataloader._MultiProcessingDataLoaderIter)."""
    loader = m.utils.data.DataLoader(m.utils.data.TensorDataset(m.arange(6.)), batch_size=2,
                                     num_workers=workers)
    it = iter(loader)
    names = [c.__name__ for c in type(it).__mro__]
    try:
        it.next()
    except AttributeError as e:
        names.append(str(e))
    del it
    return names


def _device_string_compare(m):
    """aladdinpersson's mixed-precision example asserts device == "cuda": a torch.device
    never equals a string (ember's compared the parsed string, taking the other branch)."""
    d, g = m.device("cpu"), m.device("cuda", 0)
    return [d == "cpu", d != "cpu", "cpu" == d, g == "cuda:0", d == m.device("cpu"),
            d in ["cpu"], d == 0, len({d, m.device("cpu")})]


def _legacy_ctor_shares(m, ctor, np_dtype, view=lambda a: a):
    """pytorch-book ch3 and Dive-into-DL show that torch.Tensor(float32 array) shares the
    array's memory (the legacy constructors take arrays as from_numpy does; another dtype
    converts, copying): ember copied every time."""
    base = np.arange(12).reshape(3, 4).astype(np_dtype)
    arr = view(base)
    t = getattr(m, ctor)(arr)
    base[0, 0] = 7
    base[1, 2] = 9
    return [t, list(t.stride())]


def _dropout_node_names(m):
    """pytorch-book ch4 prints a dropout output: PyTorch's CPU dropout multiplies by the
    scaled mask (grad_fn=<MulBackward0>; native_dropout is its CUDA path)."""
    F = m.nn.functional
    x = m.randn(4, 6, requires_grad=True)
    return [F.dropout(x, 0.5).grad_fn.name(), F.dropout(x, 1.0).grad_fn.name(),
            F.dropout(x * 1, 0.3, inplace=True).grad_fn.name(),
            m.nn.Dropout(0.2)(x).grad_fn.name(), F.dropout(x.double(), 0.5).grad_fn.name()]


def _container_forward_error(m, container):
    try:
        container(m)(m.ones(1))
    except NotImplementedError as e:
        return str(e)
    return None


def _collate_private_path(m):
    """`from torch.utils.data._utils.collate import default_collate, collate,
    default_collate_fn_map` (found in community data pipelines) was a ModuleNotFoundError;
    PyTorch 2's extensible collate: a registered type, a defaultdict kept, namedtuples."""
    import collections
    import importlib
    mod = importlib.import_module(m.__name__ + ".utils.data._utils.collate")

    class Point:
        def __init__(self, x):
            self.x = x

    def collate_point(batch, *, collate_fn_map=None):
        return m.tensor([p.x for p in batch])

    fn_map = {**mod.default_collate_fn_map, Point: collate_point}
    named = collections.namedtuple("Named", "a b")
    dd = collections.defaultdict(list, {"k": np.float32(1.5)})
    out = [mod.collate([{"p": Point(1), "t": m.ones(2)}, {"p": Point(3), "t": m.zeros(2)}],
                       collate_fn_map=fn_map),
           mod.default_collate([named(1, 2.0), named(3, 4.5)]),
           mod.default_collate([dd, dd]),
           mod.default_collate([(True, "s", np.array(1)), (False, "t", np.array(2))]),
           mod.default_collate is m.utils.data.default_collate]
    kinds = [type(out[2]).__name__, out[2].default_factory is list]
    return [out[0]["p"], out[0]["t"], list(out[1]), out[2]["k"], out[3][0], list(out[3][1]),
            out[3][2], out[4], kinds]



def _collate_unknown_type(m):
    import importlib
    mod = importlib.import_module(m.__name__ + ".utils.data._utils.collate")
    return mod.default_collate([object()])


CASES = {
    "collate_private_module": _collate_private_path,
    "collate_unknown_type_raises": _collate_unknown_type,
    "dropout_node_is_mul_on_cpu": _dropout_node_names,
    "modulelist_forward_message": lambda m: _container_forward_error(
        m, lambda m: m.nn.ModuleList([m.nn.ReLU()])),
    "moduledict_forward_message": lambda m: _container_forward_error(
        m, lambda m: m.nn.ModuleDict({"a": m.nn.ReLU()})),
    "Tensor_of_float32_array_shares": lambda m: _legacy_ctor_shares(m, "Tensor", np.float32),
    "FloatTensor_of_float32_array_shares": lambda m: _legacy_ctor_shares(m, "FloatTensor",
                                                                          np.float32),
    "DoubleTensor_of_float64_array_shares": lambda m: _legacy_ctor_shares(m, "DoubleTensor",
                                                                           np.float64),
    "LongTensor_of_int64_array_shares": lambda m: _legacy_ctor_shares(m, "LongTensor", np.int64),
    "Tensor_of_float64_array_copies": lambda m: _legacy_ctor_shares(m, "Tensor", np.float64),
    "LongTensor_of_int32_array_copies": lambda m: _legacy_ctor_shares(m, "LongTensor", np.int32),
    "Tensor_of_strided_array_shares": lambda m: _legacy_ctor_shares(
        m, "Tensor", np.float32, lambda a: a[:, ::2]),
    "Tensor_of_0d_array_shares": lambda m: _legacy_ctor_shares(
        m, "Tensor", np.float32, lambda a: a[1:2, 2].reshape(())),
    "from_numpy_big_endian_raises": lambda m: m.from_numpy(np.ones(3, dtype=">f4")),
    "Tensor_of_reversed_array_raises": lambda m: _legacy_ctor_shares(
        m, "Tensor", np.float32, lambda a: a[::-1]),
    "Tensor_of_float64_reversed_array_raises": lambda m: _legacy_ctor_shares(
        m, "Tensor", np.float64, lambda a: a[:, ::-1]),
    "Tensor_of_big_endian_array_raises": lambda m: m.Tensor(np.ones(3, dtype=">f4")),
    "device_never_equals_a_string": _device_string_compare,
    "dataloader_iter_class_names": lambda m: _loader_iter_names(m, 0),
    "dataloader_iter_class_names_workers": lambda m: _loader_iter_names(m, 1),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_same_as_torch(name):
    got, want = _run(CASES[name], ember), _run(CASES[name], torch)
    assert same(got, want, rtol=1e-5, atol=1e-6, strict_types=True), (got, want)


def _write_idx(path, arr):
    header = bytes([0, 0, 0x08, arr.ndim]) + b"".join(struct.pack(">i", s) for s in arr.shape)
    path.write_bytes(header + arr.tobytes())


@pytest.mark.parametrize("train", [True, False])
def test_mnist_old_attribute_names(tmp_path, train):
    """MorvanZhou's 401_CNN/402_RNN read train_data, train_labels, test_data, test_labels
    (torchvision's names before 0.2.2, still there with a warning): AttributeError before.
    They are data and targets, with torchvision's warning text."""
    from ember.vision import datasets
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for prefix in ("train", "t10k"):
        _write_idx(raw / f"{prefix}-images-idx3-ubyte",
                   rng.integers(0, 256, (3, 28, 28), dtype=np.uint8))
        _write_idx(raw / f"{prefix}-labels-idx1-ubyte", rng.integers(0, 10, 3, dtype=np.uint8))
    ds = datasets.MNIST(str(tmp_path), train=train)
    for old, new in (("train_data", "data"), ("test_data", "data"),
                     ("train_labels", "targets"), ("test_labels", "targets")):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            assert getattr(ds, old) is getattr(ds, new)
        assert [str(w.message) for w in caught] == [f"{old} has been renamed {new}"]
        assert caught[0].category is UserWarning


@pytest.mark.parametrize("data", [3.5, True, 2 + 1j, np.float32(2), np.bool_(True)])
def test_legacy_constructor_refuses_a_number(data):
    """torch.Tensor(3.5) is not a tensor of 3.5: the legacy constructors take sizes or
    sequences; ember made a 0-d tensor of any non-integral number."""
    messages = []
    for m in (ember, torch):
        with pytest.raises(TypeError) as info:
            m.Tensor(data)
        messages.append(str(info.value))
    assert messages[0] == messages[1]


@pytest.mark.parametrize("mode", [False, True])
def test_set_grad_enabled_repr(mode):
    """chenyuntc/pytorch-book ch3 ends a notebook cell with t.set_grad_enabled(True), whose
    shown value is PyTorch's repr (ember's was the default <... object at 0x...>)."""
    shown = []
    for m in (ember, torch):
        with m.set_grad_enabled(True):
            ctx = m.set_grad_enabled(mode)
            shown.append((repr(ctx).replace("ember.", "torch."), str(ctx).replace("ember.", "torch.")))
    assert shown[0] == shown[1]
    assert ember.is_grad_enabled()


def _mul_add_node(m):
    class MulAdd(m.autograd.Function):
        @staticmethod
        def forward(ctx, w, x):
            return w * x

        @staticmethod
        def backward(ctx, grad):
            return grad, grad

    z = MulAdd.apply(m.ones(1, requires_grad=True), m.ones(1))
    return z.grad_fn


def test_custom_function_node_repr():
    """pytorch-book ch3 shows z.grad_fn of its MultiplyAdd Function: PyTorch's node is a
    class made in torch.autograd.function (<torch.autograd.function.MultiplyAddBackward
    object at 0x...>); ember's printed <MultiplyAddBackward object at 0x...>."""
    shown = []
    for m in (ember, torch):
        node = _mul_add_node(m)
        shown.append([re.sub(r"0x[0-9a-f]+", "0x", repr(node)).replace("ember.", "torch."),
                      str(type(node)).replace("ember.", "torch."), node.name()])
    assert shown[0] == shown[1]


class _Config:
    """A user's object saved beside tensors (MorvanZhou/yunjey save whole objects)."""

    def __init__(self, lr):
        self.lr = lr


def _saved_model(m):
    m.manual_seed(0)
    model = m.nn.Sequential(m.nn.Linear(2, 3), m.nn.ReLU(), m.nn.BatchNorm1d(3))
    buf = io.BytesIO()
    m.save(model, buf)
    return model, buf


def _load_error(m, buf, trusted=()):
    buf.seek(0)
    with pytest.raises(pickle.UnpicklingError) as info:
        with m.serialization.safe_globals(list(trusted)):
            m.load(buf)
    return str(info.value).replace("ember.", "torch.").replace(
        "torch.nn.modules.normalization.BatchNorm1d", "torch.nn.modules.batchnorm.BatchNorm1d")


def test_weights_only_refusal_message_is_torchs():
    """torch.load(whole saved model) (MorvanZhou 304_save_reload, yunjey pytorch_basics)
    refuses with PyTorch's message, which names torch.serialization.add_safe_globals / the
    safe_globals context manager with the class at fault."""
    messages = [_load_error(m, _saved_model(m)[1]) for m in (ember, torch)]
    assert messages[0] == messages[1]
    partial = [_load_error(m, _saved_model(m)[1], [m.nn.Sequential]) for m in (ember, torch)]
    assert partial[0] == partial[1] and "modules.linear.Linear" in partial[0]


@pytest.mark.parametrize("writer", ["ember", "torch"])
def test_safe_globals_load_a_whole_model(writer):
    """torch.serialization.safe_globals / add_safe_globals (PyTorch 2.4+, the remedy its
    weights_only error names) were missing: the weights-only reader admits the marked
    classes, by ember's name or by PyTorch's (a file torch.save wrote)."""
    model, buf = _saved_model(torch if writer == "torch" else ember)
    classes = [ember.nn.Sequential, ember.nn.Linear, ember.nn.ReLU, ember.nn.BatchNorm1d]
    buf.seek(0)
    with ember.serialization.safe_globals(classes):
        assert all(c in ember.serialization.get_safe_globals() for c in classes)
        loaded = ember.load(buf)
    assert not any(c in ember.serialization.get_safe_globals() for c in classes)
    assert type(loaded) is ember.nn.Sequential and type(loaded[2]) is ember.nn.BatchNorm1d
    x = np.array([[1.0, -2.0], [0.5, 3.0]], dtype=np.float32)
    model.eval()
    loaded.eval()
    want = model((ember if writer == "ember" else torch).tensor(x))
    got = loaded(ember.tensor(x))
    np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), rtol=1e-6)


def test_add_safe_globals_user_class():
    """add_safe_globals admits a user's class (constructed, its __dict__ restored) until
    cleared; a non-list raises PyTorch's TypeError."""
    objs = {}
    for m in (ember, torch):
        buf = io.BytesIO()
        m.save({"cfg": _Config(0.25), "w": m.arange(3.0)}, buf)
        buf.seek(0)
        with m.serialization.safe_globals([_Config]):
            objs[m.__name__] = m.load(buf)
    for loaded in objs.values():
        assert type(loaded["cfg"]) is _Config and loaded["cfg"].lr == 0.25
    assert objs["ember"]["w"].tolist() == objs["torch"]["w"].tolist()
    try:
        ember.serialization.add_safe_globals([_Config])
        assert _Config in ember.serialization.get_safe_globals()
    finally:
        ember.serialization.clear_safe_globals()
    assert ember.serialization.get_safe_globals() == []
    errors = []
    for m in (ember, torch):
        with pytest.raises(TypeError) as info:
            m.serialization.add_safe_globals(_Config)
        errors.append(str(info.value))
    assert errors[0] == errors[1]



def test_normalize_more_channels_than_image_raises():
    """PyTorch-GAN's wgan_gp normalizes 1-channel MNIST with 3-channel mean/std: torchvision
    subtracts in place on a clone and raises; ember's out-of-place normalize broadcast the
    image to 3 channels silently. The message is the one torch's in-place sub_ gives."""
    from ember.vision import transforms
    with pytest.raises(RuntimeError) as want:
        torch.zeros(1, 4, 4).sub_(torch.tensor([0.5, 0.5, 0.5]).view(-1, 1, 1))
    with pytest.raises(RuntimeError) as got:
        transforms.Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))(ember.zeros(1, 4, 4))
    assert str(got.value) == str(want.value)
    x = ember.arange(12.0).reshape(3, 2, 2).requires_grad_()
    y = transforms.functional.normalize(x, (0.5, 0.4, 0.3), (0.2, 0.25, 0.5))
    y.sum().backward()
    xt = torch.arange(12.0).reshape(3, 2, 2).requires_grad_()
    yt = (xt - torch.tensor([0.5, 0.4, 0.3]).view(-1, 1, 1)) / torch.tensor([0.2, 0.25, 0.5]).view(-1, 1, 1)
    yt.sum().backward()
    np.testing.assert_allclose(y.detach().numpy(), yt.detach().numpy(), rtol=1e-6)
    np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy(), rtol=1e-6)
    assert x.grad is not None and float(x.sum()) == 66.0   # the input itself is unchanged
