"""Tensor attributes, conversions and Python protocols, compared with real PyTorch."""
import copy
import pickle

import numpy as np
import pytest
import torch

import ember

from tests.oracle.harness import Grad, check

rng = np.random.default_rng(0)
f32 = rng.standard_normal((2, 3, 4)).astype(np.float32)
m34 = rng.standard_normal((3, 4)).astype(np.float32)
i64 = rng.integers(-5, 5, (3, 2)).astype(np.int64)
one = np.array([2.5], np.float32)
scalar = np.array(-3.75, np.float64)
iscalar = np.array(7, np.int32)
empty = np.zeros((0, 2), np.float32)


def _dt(t):
    return str(t.dtype).split(".")[-1]


CASES = [
    # metadata
    ("shape", lambda L, x: x.shape, (f32,)),
    ("size", lambda L, x: x.size(), (f32,)),
    ("size_dim", lambda L, x: (x.size(0), x.size(-1)), (f32,)),
    ("err_size_dim", lambda L, x: x.size(3), (f32,)),
    ("dim_ndim", lambda L, x: (x.dim(), x.ndim, x.ndimension()), (f32,)),
    ("numel", lambda L, x: (x.numel(), x.nelement(), L.numel(x)), (f32,)),
    ("numel_empty", lambda L, x: x.numel(), (empty,)),
    ("dtype", lambda L, x: _dt(x), (i64,)),
    ("device", lambda L, x: (str(x.device), x.device.type, x.is_cuda, x.is_cpu), (f32,)),
    ("is_leaf_rg", lambda L, x: (x.is_leaf, x.requires_grad, (x * 2).is_leaf), (Grad(f32),)),
    ("grad_none", lambda L, x: x.grad is None, (Grad(f32),)),
    ("grad_fn", lambda L, x: ((x * 2).grad_fn.name(), x.grad_fn), (Grad(f32),)),
    ("element_size", lambda L, x: (x.element_size(), x.itemsize, x.nbytes), (i64,)),
    ("stride", lambda L, x: (x.stride(), x.stride(1), x.transpose(0, 2).stride()), (f32,)),
    ("err_stride_dim", lambda L, x: x.stride(5), (f32,)),
    ("storage_offset", lambda L, x: (x.storage_offset(), x[1].storage_offset(),
                                     x[1, 2].storage_offset()), (f32,)),
    ("contiguity", lambda L, x: (x.is_contiguous(), x.t().is_contiguous(),
                                 x.t().contiguous().is_contiguous()), (m34,)),
    ("is_fp", lambda L, x, y: (x.is_floating_point(), y.is_floating_point(),
                                L.is_floating_point(x), x.is_complex()), (f32, i64)),
    ("is_tensor", lambda L, x: (L.is_tensor(x), L.is_tensor(np.zeros(2)), L.is_tensor(3)), (f32,)),
    ("T", lambda L, x: x.T, (m34,)),
    ("mT", lambda L, x: x.mT, (f32,)),
    ("T_grad", lambda L, x: x.T * 2, (Grad(m34),)),
    ("data", lambda L, x: (x.data.requires_grad, x.data.is_leaf, x.data), (Grad(f32),)),
    # conversions to Python
    ("item_float", lambda L, x: x.item(), (one,)),
    ("item_0d", lambda L, x: x.item(), (scalar,)),
    ("item_int", lambda L, x: x.item(), (iscalar,)),
    ("err_item_many", lambda L, x: x.item(), (f32,)),
    ("tolist", lambda L, x: x.tolist(), (i64,)),
    ("tolist_0d", lambda L, x: x.tolist(), (scalar,)),
    ("tolist_float", lambda L, x: x.tolist(), (m34,)),
    ("int_float_index", lambda L, x: (int(x), float(x), complex(x)), (iscalar,)),
    ("index", lambda L, x: [10, 20, 30, 40, 50, 60, 70, 80][x], (iscalar,)),
    ("err_index_float", lambda L, x: [1, 2, 3][x], (scalar,)),
    ("err_int_many", lambda L, x: int(x), (f32,)),
    ("err_float_many", lambda L, x: float(x), (f32,)),
    ("err_float_empty", lambda L, x: float(x), (empty,)),
    ("bool_one", lambda L, x: bool(x), (one,)),
    ("err_bool_ambiguous", lambda L, x: bool(x), (f32,)),
    ("err_bool_empty", lambda L, x: bool(x), (empty,)),
    ("len", lambda L, x: len(x), (f32,)),
    ("err_len_0d", lambda L, x: len(x), (scalar,)),
    ("iter", lambda L, x: list(x), (m34,)),
    ("err_iter_0d", lambda L, x: list(x), (scalar,)),
    ("format_0d", lambda L, x: f"{x:.2f}", (scalar,)),
    # dtype conversions
    ("to_dtype", lambda L, x: x.to(L.float64), (f32,)),
    ("to_same_is_self", lambda L, x: x.to(L.float32) is x, (f32,)),
    ("to_copy", lambda L, x: x.to(L.float32, copy=True) is x, (f32,)),
    ("to_device", lambda L, x: x.to("cpu") is x, (f32,)),
    ("to_device_dtype", lambda L, x: x.to("cpu", L.int32), (f32,)),
    ("to_kw", lambda L, x: x.to(device="cpu", dtype=L.float16), (f32,)),
    ("to_other", lambda L, x, y: x.to(y), (f32, i64)),
    ("to_grad", lambda L, x: x.to(L.float64) * 3, (Grad(f32),)),
    ("to_grad_fn_name", lambda L, x: x.to(L.float64).grad_fn.name(), (Grad(f32),)),
    ("err_to_bad", lambda L, x: x.to("gpu"), (f32,)),
    ("err_to_kw", lambda L, x: x.to(dtyp=L.float64), (f32,)),
    ("type_str", lambda L, x, y: (x.type(), y.type()), (f32, i64)),
    ("type_dtype", lambda L, x: x.type(L.int32), (f32,)),
    ("type_string", lambda L, x: x.type("torch.IntTensor"), (f32,)),
    ("type_string_double", lambda L, x: x.type("torch.DoubleTensor"), (i64,)),
    ("type_legacy_class", lambda L, x: x.type(L.LongTensor), (f32,)),
    ("err_type_bad", lambda L, x: x.type("torch.FooTensor"), (f32,)),
    ("casts", lambda L, x: (x.float(), x.double(), x.half(), x.bfloat16(), x.long(), x.int(),
                            x.short(), x.char(), x.byte(), x.bool()), (f32,)),
    ("casts_complex", lambda L, x: (x.cfloat(), x.cdouble()), (m34,)),
    ("cast_grad", lambda L, x: x.double() * 2, (Grad(f32),)),
    ("type_as", lambda L, x, y: x.type_as(y), (i64, f32)),
    ("cpu", lambda L, x: x.cpu() is x, (f32,)),
    ("err_cuda", lambda L, x: x.cuda(), (f32,)),
    ("err_to_cuda", lambda L, x: x.to("cuda"), (f32,)),
    ("err_zeros_cuda", lambda L: L.zeros(2, device="cuda"), ()),
    # copies and views
    ("clone", lambda L, x: x.clone(), (f32,)),
    ("clone_grad", lambda L, x: (x.clone() * 2, x.clone().grad_fn.name()), (Grad(f32),)),
    ("clone_noncontig", lambda L, x: x.t().clone().is_contiguous(), (m34,)),
    ("clone_strided_slice", lambda L, x: x[:, ::2].clone().stride(), (m34,)),
    ("clone_contiguous_format", lambda L, x: x.t().clone(memory_format=L.contiguous_format)
     .stride(), (m34,)),
    ("channels_last", lambda L, x: (x.reshape(1, 2, 3, 4).contiguous(
        memory_format=L.channels_last).stride(), x.reshape(1, 2, 3, 4).is_contiguous(
        memory_format=L.channels_last)), (f32,)),
    ("err_channels_last_rank", lambda L, x: x.clone(memory_format=L.channels_last), (f32,)),
    ("detach", lambda L, x: (x.detach().requires_grad, x.detach().is_leaf, x.detach()),
     (Grad(f32),)),
    ("contiguous_grad", lambda L, x: x.t().contiguous() * 2, (Grad(m34),)),
    ("contiguous_self", lambda L, x: x.contiguous() is x, (f32,)),
    ("copy_", lambda L, x, y: x.clone().copy_(y), (m34, m34.T.copy())),
    ("copy_broadcast", lambda L, x: L.zeros(2, 3, 4).copy_(x[0, 0]), (f32,)),
    ("copy_cast", lambda L, x, y: x.clone().copy_(y), (f32[0], i64.reshape(2, 3)[0:1].repeat(4, 0).reshape(3, 4))),
    ("copy_grad", lambda L, x, y: L.zeros(3, 4).copy_(x * y), (Grad(m34), Grad(m34))),
    ("err_copy_shape", lambda L, x: L.zeros(3).copy_(x), (f32,)),
    # requires_grad rules
    ("requires_grad_set", lambda L, x: x.requires_grad_().requires_grad, (f32,)),
    ("err_requires_grad_int", lambda L, x: x.requires_grad_(), (i64,)),
    ("err_requires_grad_nonleaf", lambda L, x: setattr(x * 2, "requires_grad", False),
     (Grad(f32),)),
    ("err_numpy_requires_grad", lambda L, x: x.numpy(), (Grad(f32),)),
    ("numpy_force", lambda L, x: x.numpy(force=True).shape, (Grad(f32),)),
    ("numpy", lambda L, x: x.numpy().tolist(), (i64,)),
    ("array_protocol", lambda L, x: np.asarray(x).tolist(), (m34,)),
    ("array_protocol_dtype", lambda L, x: np.asarray(x, dtype=np.float64).dtype, (m34,)),
]


@pytest.mark.parametrize("name,fn,inputs", CASES, ids=[c[0] for c in CASES])
def test_attribute(name, fn, inputs):
    if "cuda" in name and ember.cuda.is_available():
        pytest.skip("compares with CPU-only torch's errors; ember has CUDA here")
    check(fn, *inputs)


def test_size_object():
    s = ember.zeros(4, 4, 4).shape
    assert repr(s) == "ember.Size([4, 4, 4])" and str(s) == "ember.Size([4, 4, 4])"
    assert isinstance(s, tuple) and s == (4, 4, 4) and s.numel() == 64
    assert isinstance(s[1:], ember.Size) and s[0] == 4
    assert ember.Size([2, 3]) + (4,) == (2, 3, 4)
    assert pickle.loads(pickle.dumps(s)) == s
    assert ember.Size([]).numel() == torch.Size([]).numel()


def test_numpy_shares_memory():
    t = ember.zeros(3)
    a = t.numpy()
    a[0] = 5
    assert t[0].item() == 5
    t.add_(1)
    assert a[1] == 1
    d = t.detach()
    d.mul_(2)
    assert a[2] == 2


def test_data_ptr_and_views():
    t = ember.arange(12.0).reshape(3, 4)
    assert t[1].data_ptr() == t.data_ptr() + 4 * t.element_size()
    assert t.clone().data_ptr() != t.data_ptr()
    assert t.detach().data_ptr() == t.data_ptr()


def test_data_setter_and_detach_version():
    x = ember.ones(2, requires_grad=True)
    x.data = ember.zeros(2)
    assert x.requires_grad and x.tolist() == [0.0, 0.0]
    y = x.detach()
    assert not y.requires_grad
    assert y._version == x._version


def test_deepcopy_and_pickle():
    x = ember.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    x.grad = ember.ones(2, 2)
    y = copy.deepcopy(x)
    assert y.requires_grad and y.tolist() == x.tolist() and y.grad.tolist() == [[1.0, 1.0]] * 2
    assert y.data_ptr() != x.data_ptr()
    z = pickle.loads(pickle.dumps(x))
    assert z.requires_grad and z.tolist() == x.tolist() and z.dtype is ember.float32
    for dt in (ember.bfloat16, ember.int8, ember.bool, ember.complex64):
        t = ember.ones(3, dtype=dt)
        assert pickle.loads(pickle.dumps(t)).dtype is dt
    with pytest.raises(RuntimeError):
        copy.deepcopy(x * 2)


def test_deepcopy_of_a_trained_parameter_starts_its_own_graph_state():
    """A Parameter that took part in a backward (its gradient accumulator cached, its version
    counter bumped by an in-place step) deep-copies into an independent leaf, as torch's."""
    results = []
    for lib in (torch, ember):
        p = lib.nn.Parameter(lib.tensor([1.0, 2.0]))
        (p * 3).sum().backward()
        with lib.no_grad():
            p.add_(1)
        q = copy.deepcopy(p)
        (q * q).sum().backward()
        with lib.no_grad():
            q.mul_(2)
        results.append((p.grad.tolist(), q.grad.tolist(), p.tolist(), q.tolist(), p._version,
                        q.is_leaf, type(q).__name__))
    assert results[0] == results[1]


@pytest.mark.skipif(ember.cuda.is_available(), reason="ember has CUDA here")
def test_cuda_module_without_gpu():
    assert ember.cuda.is_available() == torch.cuda.is_available() is False
    assert ember.cuda.device_count() == 0
    ember.cuda.manual_seed(0)
    ember.cuda.manual_seed_all(0)
    ember.cuda.empty_cache()
    for name in ("synchronize", "current_device", "initial_seed"):
        with pytest.raises(AssertionError):
            getattr(torch.cuda, name)()
        with pytest.raises(AssertionError):
            getattr(ember.cuda, name)()


def test_bfloat16_item_and_tolist():
    t = ember.tensor([1.5, -2.25], dtype=ember.bfloat16)
    assert t.tolist() == [1.5, -2.25] and isinstance(t[0].item(), float)


def test_legacy_type_checks():
    assert isinstance(ember.zeros(2), ember.FloatTensor)
    assert not isinstance(ember.zeros(2), ember.DoubleTensor)
    assert isinstance(ember.zeros(2, dtype=ember.int64), ember.LongTensor)
    i = ember.FloatTensor([32])
    assert i.type(ember.int).dtype is ember.int32


# Device objects of every type PyTorch knows can be made (programs probe them:
# `torch.device("mps")`); data on a type ember has no backend for raises as a PyTorch
# build without it does
DEVICE_STRINGS = ["mps", "xpu:1", "hpu", "ipu", "xla", "mtia", "privateuseone", "lazy",
                  "vulkan", "maia", "fpga", "ve", "hip", "ideep", "opengl", "opencl", "mkldnn",
                  "meta:0", "cuda:2", "tpu", "mps:-1", "cuda:+1", "cuda: 1", "cpu:00", "cpu:0"]


def _device_info(m, s):
    import warnings
    try:
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            d = m.device(s)
        return (repr(d).replace("ember", "torch"), d.type, d.index,
                [str(x.message).split(" (Triggered internally")[0] for x in w])
    except Exception as e:  # noqa: BLE001 - the type and message are compared
        return ("raised", type(e).__name__, str(e).split(":")[0])


@pytest.mark.parametrize("s", DEVICE_STRINGS)
def test_device_types_as_torch(s):
    torch = pytest.importorskip("torch")
    assert _device_info(ember, s) == _device_info(torch, s)


@pytest.mark.parametrize("s, exc", [("mps", NotImplementedError), ("xpu", AssertionError)])
def test_data_on_a_device_without_backend_raises(s, exc):
    torch = pytest.importorskip("torch")
    for m in (torch, ember):
        with pytest.raises(exc):
            m.ones(2, device=s)
    with pytest.raises(exc):
        ember.ones(2).to(s)
