"""ember.jit.save of forwards calling Tensor methods that tutorials and PyTorch programs
use beyond the first tables (aliases such as arccos/divide/greater, in-place forms, casts
such as byte()/bfloat16(), linear algebra, predicates such as is_contiguous()): each saved
forward runs in real torch.jit.load with the values of torch's own method, and in
ember.jit.load with ember's eager values."""
import io

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import ember  # noqa: E402

# (arguments, by name: y, z float (3, 3) tensors, i an int64 index tensor, m a bool mask;
# method names called with them)
TABLE = [
    ((), """
    absolute absolute_ acos_ acosh acosh_ adjoint aminmax angle arccos arccos_ arccosh
    arccosh_ arcsin arcsin_ arcsinh arcsinh_ arctan arctan_ arctanh arctanh_ asin_ asinh
    asinh_ atan_ atanh atanh_ bfloat16 byte cdouble ceil_ cfloat char conj corrcoef cos_
    cosh_ count_nonzero cov cpu deg2rad deg2rad_ det detach_ diag_embed diagflat diff
    digamma digamma_ element_size erf_ erfc erfc_ erfinv_ exp2_ expm1_ fix fix_ fliplr
    flipud frac_ frexp hardshrink histc i0 i0_ inverse is_complex is_conj is_contiguous
    is_floating_point is_inference is_neg is_signed isneginf isposinf isreal lgamma
    lgamma_ log10_ log1p_ log2_ logdet logical_not_ logit_ matrix_exp mode msort
    nan_to_num_ nanmean nanmedian nansum ndimension negative negative_ nelement pinverse
    positive qr rad2deg rad2deg_ ravel reciprocal_ resolve_conj resolve_neg rot90 rsqrt_
    sgn_ short sign_ signbit sin_ sinc sinc_ sinh_ slogdet square_ storage_offset stride
    svd tan_ trace tril_ triu_ trunc_
    """),
    (('y', 'z'), """
    addcdiv addcdiv_ addcmul addcmul_ addmm_ lerp_
    """),
    (('y',), """
    allclose arctan2 arctan2_ atan2 atan2_ cholesky_solve clip clip_ copysign copysign_
    cross dist divide divide_ eq_ equal float_power floor_divide_ fmax fmin fmod_ ge_
    greater greater_ greater_equal greater_equal_ gt_ heaviside heaviside_ hypot hypot_
    igamma igamma_ igammac igammac_ inner is_same_size isclose kron ldexp ldexp_ le_
    less less_ less_equal less_equal_ logaddexp logaddexp2 logical_and_ logical_or_
    logical_xor_ lt_ maximum minimum multiply multiply_ ne_ nextafter nextafter_
    not_equal not_equal_ remainder_ slice_scatter subtract subtract_ true_divide
    true_divide_ xlogy xlogy_
    """),
    ((1,), """
    cumprod_ cumsum_ fill_diagonal_ hsplit logcumsumexp matrix_power mvlgamma mvlgamma_
    polygamma_ sum_to_size tensor_split vsplit
    """),
    (('m', 'y'), """
    masked_scatter masked_scatter_
    """),
    ((0, 1), """
    moveaxis swapaxes swapaxes_ swapdims swapdims_
    """),
    (('i', 'y'), """
    put put_
    """),
    ((2, 0, 1.0), """
    renorm renorm_
    """),
    ((1, 'i', 'y', 'sum'), """
    scatter_reduce scatter_reduce_
    """),
    (('i',), """
    take take_along_dim
    """),
]
CASES = [(name, args) for args, names in TABLE for name in names.split()]
RANDOM = "bernoulli multinomial exponential_ geometric_ log_normal_ cauchy_ random_".split()


def data(lib):
    rng = np.random.default_rng(0)
    x, y, z = (rng.uniform(0.1, 0.9, (3, 3)).astype(np.float32) for _ in range(3))
    i = np.array([[0, 1, 2], [2, 1, 0], [1, 1, 1]])
    make = torch.from_numpy if lib is torch else ember.tensor
    return tuple(make(v.copy()) for v in (x, y, z, i, x > 0.5))


def bind(args, y, z, i, m):
    named = {"y": y, "z": z, "i": i, "m": m}
    return tuple(named[a] if isinstance(a, str) and a in named else a for a in args)


class Call(ember.nn.Module):
    def __init__(self, name, args, kwargs=None):
        super().__init__()
        self.name, self.args, self.kwargs = name, args, kwargs or {}

    def forward(self, x, y, z, i, m):
        return getattr(x, self.name)(*bind(self.args, y, z, i, m), **self.kwargs)


def as_numpy(v):
    if isinstance(v, (tuple, list)):
        return [as_numpy(u) for u in v]
    if isinstance(v, ember.Tensor):
        return np.array((v.float() if v.dtype == ember.bfloat16 else v).numpy())
    if isinstance(v, torch.Tensor):
        return (v.float() if v.dtype == torch.bfloat16 else v).numpy()
    return v


def check_same(got, want, rtol=1e-5, atol=1e-6):
    if isinstance(want, list):
        assert isinstance(got, list) and len(got) == len(want)
        for g, w in zip(got, want):
            check_same(g, w, rtol, atol)
    elif isinstance(want, np.ndarray):
        assert np.shape(got) == want.shape
        np.testing.assert_allclose(np.asarray(got, dtype=want.dtype), want, rtol=rtol,
                                   atol=atol, equal_nan=True)
    else:
        assert got == want


def round_trip(model):
    buf = io.BytesIO()
    ember.jit.save(model, buf)
    buf.seek(0)
    theirs = torch.jit.load(buf)
    buf.seek(0)
    return theirs, ember.jit.load(buf)


@pytest.mark.parametrize("name,args", CASES, ids=[n for n, _ in CASES])
def test_method_saves_and_matches_torch(name, args):
    theirs, back = round_trip(Call(name, args))
    tx, ty, tz, ti, tm = data(torch)
    want = getattr(tx, name)(*bind(args, ty, tz, ti, tm))
    got = theirs(*data(torch))
    check_same(as_numpy(got), as_numpy(want))
    ours = Call(name, args)(*data(ember))
    check_same(as_numpy(back(*data(ember))), as_numpy(ours), rtol=1e-6, atol=1e-7)
    check_same(as_numpy(ours), as_numpy(want))
    if isinstance(want, torch.Tensor):
        assert got.dtype == want.dtype


@pytest.mark.parametrize("name,args,kwargs", [
    ("clip", (), {"min": 0.2, "max": 0.5}),
    ("divide", ("y",), {"rounding_mode": "floor"}),
    ("count_nonzero", (), {"dim": 0}),
    ("diff", (), {"dim": 0, "prepend": "y"}),
    ("histc", (), {"bins": 4, "min": 0, "max": 1}),
    ("rot90", (1, [0, 1]), {}),
    ("nansum", (), {"dim": 1, "keepdim": True}),
    ("moveaxis", (0, 1), {}),
    ("isclose", ("y",), {"rtol": 0.5, "atol": 0.1}),
    ("tensor_split", ([1, 2],), {"dim": 1}),
])
def test_method_called_with_keywords(name, args, kwargs):
    class Kw(Call):
        def forward(self, x, y, z, i, m):
            kw = {k: y if v == "y" else v for k, v in self.kwargs.items()}
            return getattr(x, self.name)(*bind(self.args, y, z, i, m), **kw)
    theirs, back = round_trip(Kw(name, args, kwargs))
    tx, ty, tz, ti, tm = data(torch)
    kw = {k: ty if v == "y" else v for k, v in kwargs.items()}
    want = getattr(tx, name)(*bind(args, ty, tz, ti, tm), **kw)
    check_same(as_numpy(theirs(*data(torch))), as_numpy(want))
    check_same(as_numpy(back(*data(ember))), as_numpy(want))


@pytest.mark.parametrize("name", RANDOM)
def test_random_methods_save_with_torch_shapes_and_dtypes(name):
    args = {"multinomial": (1,), "geometric_": (0.5,)}.get(name, ())
    theirs, back = round_trip(Call(name, args))
    tx, ty, tz, ti, tm = data(torch)
    want = getattr(tx, name)(*args)
    got = theirs(*data(torch))
    again = back(*data(ember))
    assert got.shape == want.shape and got.dtype == want.dtype
    assert tuple(again.shape) == tuple(want.shape)
