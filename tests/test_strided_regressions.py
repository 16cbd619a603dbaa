"""View, stride and in-place semantics on non-contiguous inputs, found by
bench/strided_sweep.py: each case runs the same program on ember and torch and compares
values, strides, contiguity, aliasing and exception types."""
import warnings

import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")


def _run(program, m):
    """program(m) -> a comparable summary; an exception becomes ('raised', type name,
    whether its message names the overlap)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return program(m)
    except Exception as e:  # noqa: BLE001 - the type is compared
        return ("raised", type(e).__name__, "more than one element" in str(e))


def _layout(t):
    """A tensor's values and layout: (shape, stride, contiguous, storage offset, values)."""
    values = np.asarray(t.detach().tolist(), dtype=np.float64).ravel()
    return (tuple(t.shape), t.stride(), t.is_contiguous(), t.storage_offset(),
            [float(f"{v:.9g}") for v in values])   # 9 digits: the libraries' exp may differ by an ulp


def _same(program):
    a, b = _run(program, torch), _run(program, ember)
    assert a == b, (a, b)
    return a


# ---------------------------------------------------------------------------- expanded writes

def _expanded(m):
    return m.zeros(3, 1).expand(3, 4)


OVERLAP_REFUSED = {
    "add_": lambda m, v: v.add_(1),
    "mul_": lambda m, v: v.mul_(2),
    "exp_": lambda m, v: v.exp_(),
    "clamp_": lambda m, v: v.clamp_(0, 1),
    "neg_": lambda m, v: v.neg_(),
    "copy_": lambda m, v: v.copy_(m.ones(3, 4)),
    "copy_ 0-dim": lambda m, v: v.copy_(m.tensor(1.0)),
    "setitem basic": lambda m, v: v.__setitem__(0, 5.0),
    "setitem all": lambda m, v: v.__setitem__(Ellipsis, 5.0),
    "scatter_": lambda m, v: v.scatter_(1, m.tensor([[0]]), 2.0),
    "index_add_": lambda m, v: v.index_add_(1, m.tensor([0]), m.ones(3, 1)),
    "masked_scatter_": lambda m, v: v.masked_scatter_(m.ones(3, 4, dtype=m.bool), m.ones(12)),
    "exp out=": lambda m, v: m.exp(m.ones(3, 4), out=v),
    "mm out=": lambda m, v: m.mm(m.ones(3, 2), m.ones(2, 4), out=v),
    "add_ wrong shape": lambda m, v: m.zeros(5, 1).expand(5, 5)[:, :1].expand(5, 5).add_(
        m.ones(5, 5)),
}


_REFUSED = sorted(OVERLAP_REFUSED)

# more in-place methods on a (3, 3) tensor expanded from (3, 1): refused or allowed as in
# PyTorch (BLAS-backed addmv_/baddbmm_, tril_/triu_ and integer nan_to_num_ allow it)
AS_TORCH = dict(OVERLAP_REFUSED)
AS_TORCH.update({
    "addmm_": lambda m, v: m.zeros(3, 1).expand(3, 3).addmm_(m.ones(3, 2), m.ones(2, 3)),
    "addr_": lambda m, v: m.zeros(3, 1).expand(3, 3).addr_(m.ones(3), m.ones(3)),
    "addbmm_": lambda m, v: m.zeros(3, 1).expand(3, 3).addbmm_(m.ones(1, 3, 2), m.ones(1, 2, 3)),
    "addmv_": lambda m, v: m.zeros(1).expand(3).addmv_(m.ones(3, 2), m.ones(2)),
    "baddbmm_": lambda m, v: m.zeros(1, 3, 1).expand(1, 3, 3).baddbmm_(m.ones(1, 3, 2),
                                                                        m.ones(1, 2, 3)),
    "tril_": lambda m, v: v.tril_(),
    "triu_": lambda m, v: v.triu_(-1),
    "nan_to_num_ int64": lambda m, v: m.zeros(3, 1, dtype=m.int64).expand(3, 3).nan_to_num_(),
    "clamp_ int64": lambda m, v: m.zeros(3, 1, dtype=m.int64).expand(3, 3).clamp_(0, 1),
    "ceil_ int64": lambda m, v: m.zeros(3, 1, dtype=m.int64).expand(3, 3).ceil_(),
    "logical_not_": lambda m, v: v.logical_not_(),
    "logical_and_": lambda m, v: v.logical_and_(m.ones(3, 4)),
    "logical_xor_": lambda m, v: v.logical_xor_(m.ones(3, 4)),
    "index_copy_": lambda m, v: v.index_copy_(0, m.tensor([0]), m.ones(1, 4)),
    "cumsum_": lambda m, v: v.cumsum_(0),
    "addcmul_": lambda m, v: v.addcmul_(m.ones(3, 4), m.ones(3, 4)),
    "lerp_": lambda m, v: v.lerp_(m.ones(3, 4), 0.5),
    "renorm_": lambda m, v: v.renorm_(2, 0, 1.0),
    "put_ accumulate": lambda m, v: v.put_(m.tensor([0]), m.tensor([1.0]), accumulate=True),
    "index_put_ accumulate": lambda m, v: v.index_put_((m.tensor([0]),), m.tensor(1.0),
                                                       accumulate=True),
    "scatter_add_": lambda m, v: v.scatter_add_(0, m.tensor([[0]]), m.ones(1, 1)),
    "scatter_reduce_": lambda m, v: v.scatter_reduce_(0, m.tensor([[0]]), m.ones(1, 1), "sum"),
    "xlogy_": lambda m, v: v.xlogy_(2.0),
    "heaviside_": lambda m, v: v.heaviside_(m.ones(3, 4)),
    "copysign_": lambda m, v: v.copysign_(1.0),
    "hypot_": lambda m, v: v.hypot_(m.ones(3, 4)),
    "fill_diagonal_": lambda m, v: v.fill_diagonal_(1.0),
    "transpose_": lambda m, v: v.transpose_(0, 1),
})


@pytest.mark.parametrize("name", sorted(AS_TORCH))
def test_inplace_on_expanded_tensor_as_torch(name):
    """Each in-place write into an expanded tensor raises where PyTorch raises (the
    overlap RuntimeError) and is allowed where PyTorch allows it."""
    _same(lambda m: AS_TORCH[name](m, _expanded(m)) and None)


@pytest.mark.parametrize("name", _REFUSED)
def test_writes_into_expanded_tensor_refused(name):
    """An in-place write into a tensor whose elements share memory (stride 0) raises
    PyTorch's RuntimeError naming the overlap (ember used to write through, or leak
    NumPy's errors)."""
    out = _same(lambda m: OVERLAP_REFUSED[name](m, _expanded(m)) and None)
    assert out == ("raised", "RuntimeError", True)


OVERLAP_ALLOWED = {
    "fill_": lambda m, v: v.fill_(1.5),
    "zero_": lambda m, v: v.zero_(),
    "masked_fill_": lambda m, v: v.masked_fill_(m.tensor([[True], [False], [True]]), 2.0),
    "index_fill_": lambda m, v: v.index_fill_(0, m.tensor([1]), 2.0),
    "index_put_": lambda m, v: v.index_put_((m.tensor([2]),), m.tensor(3.0)),
    "setitem advanced": lambda m, v: v.__setitem__(m.tensor([0]), 7.0),
}


@pytest.mark.parametrize("name", sorted(OVERLAP_ALLOWED))
def test_fills_into_expanded_tensor_allowed(name):
    """fill_/zero_, the advanced-indexing fills and reductions' out= may write into an
    expanded tensor, as in PyTorch; the base then holds the same values."""
    def program(m):
        base = m.zeros(3, 1)
        OVERLAP_ALLOWED[name](m, base.expand(3, 4))
        return _layout(base)
    _same(program)


def test_reduction_out_into_expanded_tensor_allowed():
    """Reductions do not check their out= for overlap in PyTorch (what lands in the shared
    memory is then the library's business: torch accumulates, ember writes once)."""
    for m in (torch, ember):
        v = _expanded(m)
        assert m.sum(m.ones(3, 4, 2), -1, out=v) is v


def test_expanded_fill_warns_like_torch():
    for m in (torch, ember):
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            _expanded(m).masked_fill_(m.ones(3, 4, dtype=m.bool), 1.0)
        assert any("masked_fill_ on expanded tensors is deprecated" in str(x.message)
                   for x in w), m.__name__


# ---------------------------------------------------------------------------- out= layouts

@pytest.mark.parametrize("fn", ["exp", "neg", "add", "abs"])
def test_resized_out_takes_result_layout(fn):
    """An out= tensor that must be resized takes the strides PyTorch computes for the
    result: a transposed input gives a transposed out."""
    def program(m):
        x = m.arange(12.0, dtype=m.float64).reshape(3, 4).t()
        out = m.empty(0, dtype=m.float64)
        args = (x, x) if fn == "add" else (x,)
        getattr(m, fn)(*args, out=out)
        return _layout(out)
    _same(program)


def test_noncontiguous_out_written_in_place():
    def program(m):
        base = m.zeros(4, 3, dtype=m.float64)
        out = base.t()
        r = m.exp(m.arange(12.0, dtype=m.float64).reshape(3, 4), out=out)
        return _layout(out), r is out, _layout(base)
    _same(program)


# ---------------------------------------------------------------------------- strides

@pytest.mark.parametrize("shape", [(0,), (2, 0, 3), (0, 3), (3, 0), (1, 0)])
def test_empty_tensor_strides(shape):
    """A new empty tensor has row-major strides (NumPy gives empty arrays zero strides)."""
    _same(lambda m: (m.empty(shape).stride(), m.zeros(shape).stride(),
                     m.zeros(shape).is_contiguous()))


# ---------------------------------------------------------------------------- aliasing

def _shares(m, a, b):
    if m is torch:
        return a.untyped_storage().data_ptr() == b.untyped_storage().data_ptr()
    return bool(np.may_share_memory(a._data, b._data))


def test_unbind_of_1d_tensor_gives_views():
    """The 0-dim parts of a 1-D tensor's unbind are views (NumPy gave scalar copies), so
    writes through them reach the base."""
    def program(m):
        base = m.arange(4.0, dtype=m.float64)
        parts = base[::2].unbind(0)
        parts[1].add_(10)
        return ([_shares(m, p, base) for p in parts], [p.storage_offset() for p in parts],
                _layout(base))
    _same(program)


@pytest.mark.parametrize("factor", [1, 2])
def test_pixel_shuffle_copies(factor):
    """pixel_shuffle/unshuffle return a new row-major tensor even where reshapes could
    view the input (ember returned a view: writes to the result changed the input)."""
    def program(m):
        x = m.arange(32.0, dtype=m.float64).reshape(1, 8, 2, 2).transpose(-1, -2)
        y = m.nn.functional.pixel_shuffle(x, factor)
        z = m.nn.functional.pixel_unshuffle(x, factor)
        return (_layout(y), _shares(m, y, x), _layout(z), _shares(m, z, x))
    _same(program)


def test_diff_of_order_zero_copies():
    def program(m):
        x = m.arange(12.0, dtype=m.float64).reshape(3, 4).t()
        d = m.diff(x, n=0)
        return _layout(d), _shares(m, d, x), d is x
    _same(program)


# ---------------------------------------------------------------------------- result layouts

def _transposed(m):
    return m.arange(60.0, dtype=m.float64).reshape(3, 4, 5).transpose(0, 2)


def _gapped(m):
    """A column-major, every-other-element view of a larger base (as_strided)."""
    return m.arange(130.0, dtype=m.float64).as_strided((3, 4, 5), (2, 6, 24), 2)


ROW_MAJOR_RESULTS = {
    "cumsum": lambda m, x: x.cumsum(1),
    "cumprod": lambda m, x: m.cumprod(x, 0),
    "cummax": lambda m, x: m.cummax(x, 2),
    "cummin": lambda m, x: m.cummin(x, 1),
    "cat": lambda m, x: m.cat([x, x], 1),
    "stack": lambda m, x: m.stack([x, x], -1),
    "hstack": lambda m, x: m.hstack([x, x]),
    "prod": lambda m, x: x.prod(1),
    "var": lambda m, x: x.var(1),
    "std keepdim": lambda m, x: x.std(2, keepdim=True),
    "var_mean": lambda m, x: m.var_mean(x, 0),
    "aminmax": lambda m, x: m.aminmax(x, dim=1),
    "max dim": lambda m, x: x.max(1),
    "median dim": lambda m, x: x.median(0),
    "softmax": lambda m, x: m.softmax(x, 1),
    "log_softmax": lambda m, x: m.log_softmax(x, 0),
    "gather": lambda m, x: m.gather(x, 1, m.zeros(3, 2, 5, dtype=m.int64)),
    "index_select": lambda m, x: m.index_select(x, 2, m.tensor([0, 2])),
    "masked_fill": lambda m, x: x.masked_fill(x > 20, 0.0),
    "take_along_dim": lambda m, x: m.take_along_dim(x, m.zeros(1, 1, 1, dtype=m.int64), 1),
    "roll": lambda m, x: m.roll(x, 1, 0),
    "logcumsumexp": lambda m, x: m.logcumsumexp(x, 1),
}

LIKE_INPUT_RESULTS = {
    "sort": lambda m, x: m.sort(x, 1),
    "sort descending": lambda m, x: m.sort(x, 0, descending=True),
    "argsort": lambda m, x: m.argsort(x, 2),
    "msort": lambda m, x: m.msort(x),
    "flip": lambda m, x: m.flip(x, (0, 2)),
}


@pytest.mark.parametrize("layout", ["transposed", "gapped"])
@pytest.mark.parametrize("name", sorted(LIKE_INPUT_RESULTS))
def test_result_laid_out_like_input(name, layout):
    """sort/argsort/msort and flip give results in the input's dim order, as PyTorch."""
    make = _transposed if layout == "transposed" else _gapped

    def program(m):
        out = LIKE_INPUT_RESULTS[name](m, make(m))
        return [_layout(o) for o in (out if isinstance(out, tuple) else (out,))]
    _same(program)


@pytest.mark.parametrize("layout", ["transposed", "gapped"])
@pytest.mark.parametrize("name", sorted(ROW_MAJOR_RESULTS))
def test_result_layout_of_strided_input(name, layout):
    """Scans, concatenation and reductions return new row-major tensors whatever the
    input's layout, as PyTorch (NumPy's results followed the input's layout)."""
    make = _transposed if layout == "transposed" else _gapped

    def program(m):
        out = ROW_MAJOR_RESULTS[name](m, make(m))
        return [_layout(o) for o in (out if isinstance(out, tuple) else (out,))]
    _same(program)


def test_cat_of_channels_last_stays_channels_last():
    def program(m):
        x = m.arange(120.0).reshape(2, 3, 4, 5).contiguous(memory_format=m.channels_last)
        return [m.cat([x, x], d).stride() for d in range(4)] + [m.cat([x, x.contiguous()]).stride()]
    _same(program)


ELEMENTWISE = {
    "addcmul broadcast": lambda m, x, r, c: m.addcmul(x, r, c),
    "addcdiv broadcast": lambda m, x, r, c: m.addcdiv(x, r, c + 1),
    "add broadcast": lambda m, x, r, c: x + r * c,
    "where": lambda m, x, r, c: m.where(r > 1, x, c),
    "clamp tensors": lambda m, x, r, c: m.clamp(x, r, c + 5),
    "igamma 0-dim": lambda m, x, r, c: m.special.gammainc(x + 1, m.tensor(2.0, dtype=m.float64)),
    "zeta 0-dim": lambda m, x, r, c: m.special.zeta(x + 2, m.tensor(1.0, dtype=m.float64)),
    "lerp": lambda m, x, r, c: m.lerp(x, r, 0.25),
    "ceil int64": lambda m, x, r, c: m.ceil(x.to(m.int64)),
    "pow": lambda m, x, r, c: m.pow(x, c),
    "chebyshev_polynomial_t": lambda m, x, r, c: m.special.chebyshev_polynomial_t(
        x / 20, m.tensor(3.0, dtype=m.float64)),
    "hermite_polynomial_h": lambda m, x, r, c: m.special.hermite_polynomial_h(x / 20, 2),
    "mvlgamma (row-major)": lambda m, x, r, c: m.mvlgamma(x + 2, 2),
}


@pytest.mark.parametrize("name", sorted(ELEMENTWISE))
def test_elementwise_result_laid_out_like_operands(name):
    """Elementwise results follow the operands' dim order by PyTorch's TensorIterator rule
    (the first operand whose strides tell two dims apart decides), also where operands
    broadcast or NumPy's routine builds its result row-major."""
    def program(m):
        x = m.arange(20.0, dtype=m.float64).reshape(4, 5).t()      # (5, 4), column-major
        r = m.arange(4.0, dtype=m.float64).reshape(1, 4)
        c = m.arange(5.0, dtype=m.float64).reshape(5, 1)
        return _layout(ELEMENTWISE[name](m, x, r, c))
    _same(program)



@pytest.mark.parametrize("shapes", [((2, 3), (3,)), ((3,), (3,)), ((2, 3), (3, 2)),
                                    ((2, 2, 3), (3, 2))])
def test_matmul_writes_out(shapes):
    """matmul(out=) writes into `out` (ember returned a new tensor and left `out` alone
    for every form but the batched one): into a strided view, and resized from empty.
    (Not 1-D @ 2-D: PyTorch writes that one's strided out as if it were contiguous.)"""
    def program(m):
        a = m.arange(float(np.prod(shapes[0])), dtype=m.float64).reshape(shapes[0])
        b = m.arange(float(np.prod(shapes[1])), dtype=m.float64).reshape(shapes[1])
        want = m.matmul(a, b)
        base = m.zeros(2 * want.numel() + 1, dtype=m.float64)
        view = base[1::2].view(want.shape) if want.dim() else base[1]
        r1 = m.matmul(a, b, out=view)
        fresh = m.empty(0, dtype=m.float64)
        r2 = m.matmul(a, b, out=fresh)
        return _layout(base), r1 is view, _layout(fresh), r2 is fresh
    _same(program)


@pytest.mark.parametrize("view", [False, True])
def test_real_conj_physical_inplace_on_grad_leaf_refused(view):
    """conj_physical_ of a real tensor writes nothing, yet PyTorch refuses it on a leaf
    that requires grad or a view of one (ember returned it)."""
    def program(m):
        base = m.zeros(3, dtype=m.float64, requires_grad=True)
        target = base[1:] if view else base
        target.conj_physical_()
        return "ok"
    assert _same(program)[0] == "raised"


LIKE_FACTORIES = {
    "zeros_like": lambda m, x, **kw: m.zeros_like(x, **kw),
    "ones_like": lambda m, x, **kw: m.ones_like(x, **kw),
    "empty_like": lambda m, x, **kw: m.empty_like(x, **kw).zero_(),
    "full_like": lambda m, x, **kw: m.full_like(x, 2.0, **kw),
}


@pytest.mark.parametrize("fmt", [None, "contiguous_format", "preserve_format"])
@pytest.mark.parametrize("layout", ["transposed", "gapped"])
@pytest.mark.parametrize("name", sorted(LIKE_FACTORIES))
def test_like_factories_keep_memory_format(name, layout, fmt):
    """zeros_like & co. lay out their result like the input by default (preserve_format)
    and honour memory_format= (ember ignored it and always gave row-major)."""
    make = _transposed if layout == "transposed" else _gapped

    def program(m):
        kw = {} if fmt is None else {"memory_format": getattr(m, fmt)}
        return _layout(LIKE_FACTORIES[name](m, make(m), **kw))
    _same(program)


def test_like_factory_channels_last():
    _same(lambda m: _layout(m.ones_like(m.zeros(2, 3, 4, 5), memory_format=m.channels_last)))


COPY_VARIANTS = {
    "t_copy": lambda m, x: m.t_copy(x[0]),
    "expand_copy": lambda m, x: m.expand_copy(x[:, :1], (5, 4, 3)),
    "permute_copy": lambda m, x: m.permute_copy(x, (2, 0, 1)),
    "transpose_copy": lambda m, x: m.transpose_copy(x, 0, 1),
    "view_copy of non-viewable": lambda m, x: m.view_copy(x, (60,)),
    "unsqueeze_copy": lambda m, x: m.unsqueeze_copy(x, 1),
    "diagonal_copy": lambda m, x: m.diagonal_copy(x),
    "narrow_copy": lambda m, x: m.narrow_copy(x, 0, 1, 2),
    "select_copy": lambda m, x: m.select_copy(x, 0, 1),
    "t_copy out=": lambda m, x: m.t_copy(x[0], out=m.empty(0, dtype=m.float64)),
}


@pytest.mark.parametrize("name", sorted(COPY_VARIANTS))
def test_copy_variants_are_row_major(name):
    """The *_copy variants of view ops return new row-major tensors (they kept the view's
    strides), view_copy takes strides no view could (it raised), and out= works."""
    _same(lambda m: _layout(COPY_VARIANTS[name](m, _transposed(m))))
