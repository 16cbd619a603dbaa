"""Defects found by running the examples of PyTorch's own docstrings on ember
(bench/docstring_sweep.py); each case is the docstring's program (or the defect's core)
run on both, compared: values, dtypes and shapes, or the exception type; REPR_CASES
compare the printed text, with ``ember`` read as ``torch``."""
import re
import warnings

import numpy as np
import pytest

import ember
import ember.futures  # noqa: F401  (torch.futures; the attribute once imported)

torch = pytest.importorskip("torch")

from tests.program_compare import run as _run, same  # noqa: E402


def _same(a, b):
    return same(a, b, strict_types=True)


_COND = lambda m: m.tensor([[0.5, -1.0], [-0.1, 2.0], [0.0, -3.0]]) > 0  # noqa: E731


def _dlpack_shared(m):
    """torch.from_dlpack's docstring: three tensors share memory, one made from a capsule."""
    t = m.arange(4)
    t2 = m.from_dlpack(t)
    t2[:2] = -1
    t3 = m.from_dlpack(m.utils.dlpack.to_dlpack(t))
    t3[0] = -9
    return [t, t2, t3]



def _mm_reduce(m, reduce, layout="csr", b=((0, 1.0), (2, -1), (4, -3))):
    """torch.sparse.mm's docstring: CSR @ dense with a reduction; the result and b's
    gradient."""
    a = m.tensor([[1.0, 0, 2], [0, 3, 0], [0, 0, 0]])
    a = a.to_sparse_csr() if layout == "csr" else a.to_sparse()
    b = m.tensor(b, requires_grad=True)
    y = m.sparse.mm(a, b, reduce)
    y.sum().backward()
    return [y, b.grad]


CASES = {
    **{f"sparse_mm_reduce_{r}": (lambda r: lambda m: _mm_reduce(m, r))(r)
       for r in ("sum", "mean", "amax", "amin", "max", "min", "prod", "foo")},
    "sparse_mm_reduce_coo": lambda m: _mm_reduce(m, "sum", "coo"),
    "sparse_mm_reduce_amax_tie": lambda m: _mm_reduce(m, "amax", b=((0, 1.0), (2, -1), (0, -3))),
    "sparse_mm_reduce_empty": lambda m: m.sparse.mm(m.zeros(2, 3).to_sparse_csr(),
                                                    m.ones(3, 2), "amax"),
    "from_dlpack_capsule_writable": _dlpack_shared,
    # torch.where's docstring: both branches Python scalars
    "where_two_floats": lambda m: m.where(_COND(m), 1.0, 0.0),
    "where_two_ints": lambda m: m.where(_COND(m), 1, 0),
    "where_int_float": lambda m: m.where(_COND(m), 1, 0.5),
    "where_two_bools": lambda m: m.where(_COND(m), True, False),
    "where_int_complex": lambda m: m.where(_COND(m), 1, 2j),
    "where_float_condition_scalars": lambda m: m.where(m.ones(2), 1.0, 0.0),
    # torch.linalg.lstsq's: rank and singular values over A's batch, not the broadcast one
    "lstsq_rank_of_A_batch": lambda m: list(m.linalg.lstsq(
        m.tensor([[[2.0, 1.0, 0.0], [1.0, 3.0, 1.0], [0.0, 1.0, 4.0]]]),
        m.arange(18.0).reshape(2, 3, 3), driver="gelsd"))[1:],
    "lstsq_rank_batched_A": lambda m: m.linalg.lstsq(
        m.eye(3).expand(2, 3, 3), m.ones(1, 3, 2)).rank,
    "lstsq_B_more_dims": lambda m: m.linalg.lstsq(m.eye(3), m.ones(2, 3, 2)),
    # Tensor.dim_order's: ambiguity_check
    "dim_order_check_true_ambiguous": lambda m: m.zeros(1, 2, 3, 4).dim_order(
        ambiguity_check=True),
    "dim_order_check_true_unique": lambda m: m.zeros(2, 3, 4).transpose(0, 2).dim_order(
        ambiguity_check=True),
    "dim_order_check_formats": lambda m: m.zeros(1, 2, 3, 4).dim_order(
        ambiguity_check=[m.contiguous_format, m.channels_last]),
    "dim_order_check_one_format_unmet": lambda m: m.zeros(1, 2, 3, 4).dim_order(
        ambiguity_check=[m.channels_last]),
    # Tensor.dim_order's / torch.empty_permuted's: empty lays out channels-last
    "empty_channels_last": lambda m: [
        (t.shape, t.stride(), t.dim_order(), t.requires_grad)
        for t in (m.empty((2, 3, 5, 7), memory_format=m.channels_last),
                  m.empty(2, 3, 4, 5, 6, memory_format=m.channels_last_3d),
                  m.empty((2, 3, 5, 7), memory_format=m.channels_last, requires_grad=True),
                  m.empty(2, 3, memory_format=m.contiguous_format))],
    "empty_channels_last_3d_tensor": lambda m: m.empty(2, 3, 4, memory_format=m.channels_last),
    "empty_channels_last_3d_4d": lambda m: m.empty(2, 3, 4, 5,
                                                   memory_format=m.channels_last_3d),
    "empty_preserve_format": lambda m: m.empty(2, 3, memory_format=m.preserve_format),
    "dim_order_check_illegal": lambda m: m.zeros(1, 2).dim_order(ambiguity_check="ILLEGAL"),
    "dim_order_check_not_formats": lambda m: m.zeros(1, 2).dim_order(ambiguity_check=[1]),
    # torch.histogramdd's: bin_edges is a tuple
    "histogramdd_density": lambda m: m.histogramdd(
        m.tensor([[0., 0.], [1., 1.], [2., 2.]]), bins=[2, 2], range=[0., 1., 0., 1.],
        density=True).bin_edges,
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_same_as_torch(name):
    got, want = _run(CASES[name], ember), _run(CASES[name], torch)
    assert _same(got, want), (got, want)


def _text(program, m):
    """What the program prints (its result's repr), with ember read as torch."""
    try:
        out = repr(program(m))
    except Exception as e:  # noqa: BLE001 - the type is what gets compared
        out = f"raised {type(e).__name__}"
    return re.sub(r"\bember\b", "torch", out)


def _hook_log(m, op):
    """What saved-tensor hooks see of op(a, b): the packed and unpacked tensors, in order
    (torch.autograd.graph.saved_tensors_hooks's docstring)."""
    log = []
    a = m.ones(3, requires_grad=True)
    b = m.full((3,), 2.0, requires_grad=True)
    with m.autograd.graph.saved_tensors_hooks(lambda x: log.append(("pack", x)) or x,
                                              lambda x: log.append(("unpack", x)) or x):
        y = op(a, b)
    y.sum().backward()
    return [repr(x) for x in log] + [a.grad, b.grad]


def _bags(m, mode):
    """nn.EmbeddingBag's docstring, with fixed weights."""
    w = m.arange(30.0).reshape(10, 3).requires_grad_()
    return m.nn.functional.embedding_bag(m.tensor([1, 2, 4, 5, 4, 3, 2, 9]), w,
                                         m.tensor([0, 4]), mode=mode)


def _raised(f):
    try:
        return f()
    except Exception as e:  # noqa: BLE001 - the type is what gets compared
        return f"raised {type(e).__name__}"


def _grad_dtype(m):
    """Tensor.grad_dtype's docstring, and the engine casting to it."""
    x = m.tensor([1.0, 2.0], requires_grad=True)
    out = [x.grad_dtype]
    x.grad_dtype = m.float16
    (x * 2).sum().backward()
    out.append(x.grad)
    for v in (m.float64, 3, None):   # a gradient of another dtype is there; not a dtype
        out += [_raised(lambda: setattr(x, "grad_dtype", v)), x.grad_dtype]
    x.grad = None
    x.grad_dtype = m.float64
    (x * 3).sum().backward()
    out.append(x.grad)
    out.append(_raised(lambda: setattr(x, "grad", m.ones(2))))
    y = x * 2
    out.append(_raised(lambda: y.grad_dtype))
    out.append(_raised(lambda: setattr(y, "grad_dtype", m.float16)))
    out.append(m.zeros(2).grad_dtype)
    return out


def _futures(m):
    """torch.futures.Future's docstrings (then, add_done_callback, set_result,
    set_exception), collect_all and wait_all: what the callbacks see and the errors."""
    F, log = m.futures.Future, []
    fut = F()
    cb = fut.then(lambda f: log.append(("then", f.wait())) or 7)
    chained = cb.then(lambda f: log.append(("chained", f.wait())))
    fut.add_done_callback(lambda f: log.append(("done cb", f.value())))
    log.append(fut.done())
    fut.set_result(5)
    log += [fut.done(), fut.wait(), chained.wait(), _raised(lambda: fut.set_result(6))]
    late = []
    fut.add_done_callback(lambda f: late.append(f.value()))   # already done: runs at once
    log.append(late)
    bad = F()
    bad.set_exception(ValueError("foo"))
    log += [_raised(bad.wait), _raised(bad.value), _raised(lambda: F().set_exception(3))]
    raising = F()
    child = raising.then(lambda f: {}["k"])
    raising.set_result(1)
    log.append(_raised(child.wait))
    a, b = F(), F()
    both = m.futures.collect_all([a, b])
    a.set_result(1)
    log.append(both.done())
    b.set_result(2)
    log += [[f.wait() for f in both.wait()], m.futures.wait_all([a, b])]
    log.append(m.jit.fork(lambda x: x * 2, 4).wait())
    return log


_FQ_X = [0.05, 0.15, -0.25, 1.0, 30.0, 0.25, 0.35, 2.5, -0.05]   # ties round to even
_FQ_C = (np.arange(24).reshape(2, 3, 4) / 7 - 1.3).tolist()


def _fake_quant(m, dtype="float32", *args):
    """torch.fake_quantize_per_tensor_affine's docstring: the result and the gradient
    (1 where not clamped)."""
    x = m.tensor(_FQ_X, dtype=getattr(m, dtype), requires_grad=True)
    y = m.fake_quantize_per_tensor_affine(x, *(args or (0.1, 3, 0, 255)))
    y.sum().backward()
    return [y, x.grad]


def _fake_quant_channel(m, scale, zero_point, axis=1, lo=0, hi=255, dtype="float32"):
    """torch.fake_quantize_per_channel_affine's docstring, with its checks."""
    x = m.tensor(_FQ_C, dtype=getattr(m, dtype), requires_grad=True)
    y = m.fake_quantize_per_channel_affine(x, scale(m), zero_point(m), axis, lo, hi)
    y.sum().backward()
    return [y, x.grad]


_S = lambda m: m.tensor([0.5, 0.1, 0.3])  # noqa: E731
_Z = lambda m: m.tensor([1, 0, 4], dtype=m.int32)  # noqa: E731

def _spdiags_grad(m):
    d = m.arange(9.0).reshape(3, 3).requires_grad_()
    s = m.sparse.spdiags(d, m.tensor([0, -1, 2]), (3, 3))
    (s.to_dense() * m.arange(9.0).reshape(3, 3)).sum().backward()
    return d.grad


_D = lambda m: m.arange(9).reshape(3, 3)  # noqa: E731

def _layout_policy(m):
    """torch.autograd.enforce_grad_layout_policy's docstring: the strides of a permuted
    leaf's gradient with the policy relaxed (context manager, function, decorator) and
    enforced."""
    p = m.zeros(2, 3, 4).permute(2, 0, 1).requires_grad_()
    strides = []

    def step():
        (p * 2).sum().backward()
        strides.append(p.grad.stride())
        p.grad = None
    with m.autograd.enforce_grad_layout_policy(False):
        step()
    step()
    m.autograd.enforce_grad_layout_policy(False)
    step()
    m.autograd.enforce_grad_layout_policy(True)
    step()
    m.autograd.enforce_grad_layout_policy(False)(step)()
    step()
    return strides


_IMAGES = lambda m: m.arange(2 * 6 * 4 * 3).reshape(2, 6, 4, 3)  # noqa: E731


def _rearranged(m, pattern, **lengths):
    return _raised(lambda: m.func.rearrange(_IMAGES(m), pattern, **lengths))


def _asarray(m):
    """torch.asarray's docstring: a tensor keeps its history unless requires_grad=False
    (unset, it follows the tensor's requires_grad, as PyTorch 2.13)."""
    a = m.tensor([1.0, 2, 3], requires_grad=True)
    b = a + 2
    out = [m.asarray(b, requires_grad=False), m.asarray(b, requires_grad=True),
           m.asarray(b, requires_grad=False).data_ptr() == b.data_ptr()]
    with warnings.catch_warnings():   # (torch warns once per process)
        warnings.simplefilter("ignore")
        out += [m.asarray(b), m.asarray(b) is b, m.asarray(b, dtype=m.float64),
                m.asarray(b, copy=True)]
    out += [m.asarray(b, dtype=m.float64, requires_grad=False),
            m.asarray(b, copy=True, requires_grad=False), m.asarray(m.ones(2)),
            m.asarray(m.ones(2), requires_grad=True), m.asarray([1, 2]),
            _raised(lambda: m.asarray(m.ones(2), dtype=m.int64, copy=False))]
    return out


def _vmap_vjp(m):
    """torch.vmap's docstring: the Jacobian row by row and by vmap over autograd.grad
    (ember runs the slices one by one, keeping the graph until the last); the graph is
    freed afterwards as in PyTorch."""
    x = m.arange(1.0, 6.0, requires_grad=True)
    y = x ** 2
    eye = m.eye(5)
    rows = m.stack([m.autograd.grad(y, x, v, retain_graph=True)[0] for v in eye.unbind()])
    batched = m.vmap(lambda v: m.autograd.grad(y, x, v))(eye)
    return [rows, batched, _raised(lambda: m.autograd.grad(y, x, eye[0]))]


_SP4 = lambda m: m.arange(16).reshape(2, 2, 2, 2).to_sparse(2)  # noqa: E731
_SPU = lambda m: m.sparse_coo_tensor(m.tensor([[1, 0, 1], [0, 1, 0]]),  # noqa: E731
                                     m.tensor([1.0, 2, 3]), (2, 2))

REPR_CASES = {
    "vmap_of_autograd_grad": _vmap_vjp,
    "asarray_of_tensor": _asarray,
    # torch.func.rearrange's docstring (it raised ImportError), and its checks
    **{f"rearrange_{i}": (lambda p, kw: lambda m: _rearranged(m, p, **kw))(p, kw)
       for i, (p, kw) in enumerate([
        ("b h w c -> b h w c", {}), ("b h w c -> (b h) w c", {}),
        ("b h w c -> h (b w) c", {}), ("b h w c -> b c h w", {}),
        ("b h w c -> b (c h w)", {}), ("b (h1 h) (w1 w) c -> (b h1 w1) h w c", dict(h1=2, w1=2)),
        ("b (h h1) (w w1) c -> b h w (c h1 w1)", dict(h1=2, w1=2)),
        ("b ... c -> c ... b", {}), ("b h w c -> b h w c 1", {}), ("b h w c -> b () h w c", {}),
        ("(b1 b2) h w c -> b1 b2 h w c", dict(b1=1)),
        # refused: one side only, too many dims, unknown length, repeat, two unknowns,
        # uneven split, sizes that do not match
        ("b h w c -> b h w", {}), ("b h w c d -> b h w c d", {}), ("b h w c -> b h w c", dict(e=3)),
        ("b b w c -> b w c", {}), ("b (h h1) w c -> b h h1 w c", {}),
        ("b (h h1) w c -> b h h1 w c", dict(h1=4)),
        ("(b1 b2) h w c -> b1 b2 h w c", dict(b1=1, b2=3))])},
    "rearrange_list": lambda m: m.func.rearrange([_IMAGES(m), _IMAGES(m) + 1],
                                                 "l b h w c -> l c (w h) b"),
    "enforce_grad_layout_policy": _layout_policy,
    # torch.narrow_copy's docstring on a sparse COO tensor (it raised NotImplementedError)
    "narrow_copy_sparse_dim": lambda m: m.narrow_copy(_SP4(m), 0, 0, 1),
    "narrow_copy_dense_dim": lambda m: m.narrow_copy(_SP4(m), 2, 1, 1),
    "narrow_copy_method": lambda m: _SP4(m).narrow_copy(1, 1, 1),
    "narrow_copy_uncoalesced": lambda m: [m.narrow_copy(_SPU(m), 0, 1, 1),
                                          _SPU(m).narrow_copy(1, 0, 1).is_coalesced(),
                                          _SPU(m).coalesce().narrow_copy(1, 0, 1).is_coalesced()],
    **{f"narrow_copy_sparse_refuses_{i}": (lambda a: lambda m: _raised(
        lambda: m.narrow_copy(_SP4(m), *a)))(a)
       for i, a in enumerate([(0, -1, 1), (0, 1, 2), (4, 0, 1), (-1, 0, 1)])},
    # torch.sparse.spdiags's docstring (it raised NotImplementedError), and its checks
    "spdiags_coo": lambda m: m.sparse.spdiags(_D(m), m.tensor([0, -1, -2]), (3, 3)),
    "spdiags_dense": lambda m: m.sparse.spdiags(_D(m), m.tensor([0, -1, -2]), (3, 3)).to_dense(),
    "spdiags_csr": lambda m: m.sparse.spdiags(_D(m), m.tensor([0, -1, -2]), (3, 3),
                                              layout=m.sparse_csr),
    "spdiags_csc": lambda m: m.sparse.spdiags(_D(m), m.tensor([0, -1, -2]), (3, 3),
                                              layout=m.sparse_csc),
    "spdiags_partial": lambda m: m.sparse.spdiags(m.tensor([[1, 2], [3, 4]]), m.tensor([0, -1]),
                                                  (5, 5)).to_dense(),
    "spdiags_above": lambda m: m.sparse.spdiags(_D(m).float(), m.tensor([1, -1, 2]), (3, 4)),
    "spdiags_vector": lambda m: m.sparse.spdiags(_D(m)[0], m.tensor(1), (3, 3)).to_dense(),
    "spdiags_grad": _spdiags_grad,
    **{f"spdiags_refuses_{name}": (lambda f: lambda m: _raised(lambda: f(m)))(f)
       for name, f in {
        "duplicate": lambda m: m.sparse.spdiags(_D(m), m.tensor([0, 0, 1]), (3, 3)),
        "count": lambda m: m.sparse.spdiags(_D(m), m.tensor([0, 1]), (3, 3)),
        "3d_shape": lambda m: m.sparse.spdiags(_D(m), m.tensor([0, 1, 2]), (3, 3, 3)),
        "float_offsets": lambda m: m.sparse.spdiags(_D(m), m.tensor([0., 1, 2]), (3, 3)),
        "2d_offsets": lambda m: m.sparse.spdiags(_D(m), m.tensor([[0, 1, 2]]), (3, 3)),
        "bsr": lambda m: m.sparse.spdiags(_D(m), m.tensor([0, 1, 2]), (3, 3), m.sparse_bsr),
        "list_offsets": lambda m: m.sparse.spdiags(_D(m), [0, 1, 2], (3, 3))}.items()},
    "fake_quant_tensor": lambda m: _fake_quant(m),
    "fake_quant_tensor_float64": lambda m: _fake_quant(m, "float64"),
    "fake_quant_tensor_float16": lambda m: _fake_quant(m, "float16"),
    "fake_quant_tensor_qparams": lambda m: _fake_quant(m, "float32", m.tensor(0.1),
                                                       m.tensor(0), 0, 255),
    "fake_quant_tensor_signed": lambda m: _fake_quant(m, "float32", 0.1, 0, -128, 127),
    "fake_quant_tensor_min_above_max": lambda m: _raised(lambda: _fake_quant(
        m, "float32", 0.1, 3, 5, 2)),
    "fake_quant_tensor_zero_point_out": lambda m: _raised(lambda: _fake_quant(
        m, "float32", 0.1, 300, 0, 255)),
    "fake_quant_tensor_int_input": lambda m: _raised(
        lambda: m.fake_quantize_per_tensor_affine(m.tensor([1, 2]), 0.1, 3, 0, 255)),
    "fake_quant_tensor_two_scales": lambda m: _raised(lambda: _fake_quant(
        m, "float32", m.tensor([0.1, 0.2]), m.tensor(0), 0, 255)),
    "fake_quant_channel": lambda m: _fake_quant_channel(m, _S, _Z),
    "fake_quant_channel_float64": lambda m: _fake_quant_channel(m, _S, _Z, dtype="float64"),
    "fake_quant_channel_float_zero_point": lambda m: _fake_quant_channel(
        m, _S, lambda m: m.tensor([1.7, 0.2, 4.5])),
    "fake_quant_channel_axis2": lambda m: _fake_quant_channel(
        m, lambda m: m.tensor([0.5, 0.1, 0.3, 0.2]),
        lambda m: m.tensor([1, 0, 4, 2], dtype=m.int32), axis=2),
    **{f"fake_quant_channel_refuses_{name}": (lambda kw: lambda m: _raised(
        lambda: _fake_quant_channel(m, **kw)))(kw) for name, kw in {
        "long_zero_point": dict(scale=_S, zero_point=lambda m: m.tensor([1, 0, 4])),
        "double_scale": dict(scale=lambda m: _S(m).double(), zero_point=_Z),
        "size_mismatch": dict(scale=lambda m: _S(m)[:2], zero_point=_Z),
        "inconsistent": dict(scale=lambda m: _S(m)[:2], zero_point=lambda m: _Z(m)[:2]),
        "axis_too_big": dict(scale=_S, zero_point=_Z, axis=3),
        "axis_negative": dict(scale=_S, zero_point=_Z, axis=-1),
        "min_above_max": dict(scale=_S, zero_point=_Z, lo=5, hi=2),
        "zero_point_out": dict(scale=_S, zero_point=lambda m: m.tensor([1, 0, 400],
                                                                       dtype=m.int32)),
        "2d_scale": dict(scale=lambda m: _S(m)[None], zero_point=_Z)}.items()},
    "futures": _futures,
    "grad_dtype": _grad_dtype,
    "sparse_mm_reduce_node": lambda m: _mm_reduce(m, "amax")[0],
    "sparse_mm_reduce_empty_node": lambda m: m.sparse.mm(
        m.zeros(2, 3).to_sparse_csr(), m.ones(3, 2, requires_grad=True), "amax"),
    # grad_fn names of composite ops: the fused kernel's node, as PyTorch prints it
    "embedding_bag_sum_node": lambda m: _bags(m, "sum"),
    "embedding_bag_max_node": lambda m: _bags(m, "max"),
    "dist_node": lambda m: m.dist(m.tensor([1.0, 2.0], requires_grad=True), m.ones(2)),
    "dist_inf_node": lambda m: m.tensor([1.0, 2.0], requires_grad=True).dist(m.ones(2),
                                                                              float("inf")),
    "saved_hooks_mul_order": lambda m: _hook_log(m, lambda a, b: a * b),
    "saved_hooks_div_order": lambda m: _hook_log(m, lambda a, b: a / b),
    # torch.typename's: a class is named by its own qualified name
    "typename_class": lambda m: m.typename(m.nn.Parameter),
    "typename_module_instance": lambda m: m.typename(m.nn.Linear(1, 1)),
    "typename_tensor": lambda m: m.typename(m.zeros(1, dtype=m.float64)),
    "typename_int": lambda m: m.typename(1),
    "histogramdd_weight": lambda m: m.histogramdd(
        m.tensor([[0., 1.], [1., 0.], [2., 0.], [2., 2.]]), bins=[3, 3],
        weight=m.tensor([1., 2., 4., 8.])),
}


@pytest.mark.parametrize("name", sorted(REPR_CASES))
def test_repr_as_torch(name):
    assert _text(REPR_CASES[name], ember) == _text(REPR_CASES[name], torch)


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_quantize_docstring_examples():
    """torch's quantize_per_tensor / quantize_per_channel / quantized_max_pool2d docstring
    examples (they raised NotImplementedError before ember had quantized tensors)."""
    def run(m):
        x = m.tensor([-1.0, 0.0, 1.0, 2.0])
        qc = m.quantize_per_channel(m.tensor([[-1.0, 0.0], [1.0, 2.0]]), m.tensor([0.1, 0.01]),
                                    m.tensor([10, 0]), 0, m.quint8)
        pooled = m.quantized_max_pool2d(
            m.quantize_per_tensor(m.arange(16.0).reshape(1, 1, 4, 4), 0.5, 2, m.quint8), [2, 2])
        return [repr(m.quantize_per_tensor(x, 0.1, 10, m.quint8)),
                repr(m.quantize_per_tensor([x, m.tensor([3.0])], m.tensor([0.1, 0.2]),
                                           m.tensor([10, 20]), m.quint8)),
                repr(qc), repr(qc.int_repr()), repr(pooled)]
    assert [t.replace("torch.", "ember.") for t in run(torch)] == run(ember)


def test_asarray_warns_when_requires_grad_unset():
    """As PyTorch 2.13: asarray of a tensor that requires grad, requires_grad unset, warns
    that the result now keeps the history."""
    b = ember.ones(2, requires_grad=True) * 2
    with pytest.warns(UserWarning, match="unspecified requires_grad now defaults"):
        assert ember.asarray(b) is b
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ember.asarray(b, requires_grad=True)
        ember.asarray(ember.ones(2))


def test_futures_is_reachable_as_an_attribute():
    """torch.futures needs no import of its own (ember imports it on first use)."""
    import subprocess
    import sys
    code = "import ember; f = ember.futures.Future(); f.set_result(3); print(f.wait())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "3"
