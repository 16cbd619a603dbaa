"""assert_close: are two (nests of) tensors, numbers or booleans equal up to tolerances?

Elements ``a`` (actual) and ``e`` (expected) are close when

    |a - e| <= atol + rtol * |e|

(NaNs equal to each other only with ``equal_nan``; infinities only to themselves). The
default ``rtol``/``atol`` depend on the dtype (table below, the looser of the two inputs'
dtypes; 0 for integers and bool, which must be equal). Nests (sequences, mappings) are
compared element by element after their structure is checked. Failures raise
``AssertionError`` with PyTorch's messages ("Tensor-likes are not close!", the number of
mismatched elements, the greatest absolute and relative differences and where they are),
with ``ember.`` where PyTorch writes ``torch.``.

The work happens in two passes, as in PyTorch: the inputs are first paired up (structure,
types and tolerance arguments checked; those errors ignore ``msg``), then each pair's
values are compared and the first failure is raised (its message replaced by ``msg`` when
one is given).
"""
import cmath
import collections.abc
import contextlib
import warnings

import numpy as np

from .. import _dtype

__all__ = ["assert_close", "assert_allclose"]

# {dtype: (rtol, atol)}
_PRECISIONS = {
    _dtype.float16: (1e-3, 1e-5),
    _dtype.bfloat16: (1.6e-2, 1e-5),
    _dtype.float32: (1.3e-6, 1e-5),
    _dtype.float64: (1e-7, 1e-7),
    _dtype.complex64: (1.3e-6, 1e-5),
    _dtype.complex128: (1e-7, 1e-7),
}

# the dtype whose tolerances a Python number gets
_NUMBER_DTYPES = {int: _dtype.int64, float: _dtype.float64, complex: _dtype.complex128}


class _Failure(Exception):
    """A comparison failure waiting to be raised: the exception type to raise, its message
    and the path (`id`) of the failing element within the nests."""

    def __init__(self, type, msg, id=()):
        super().__init__(msg)
        self.type, self.msg, self.id = type, msg, id

    def to_error(self, msg=None):
        if isinstance(msg, str):
            return self.type(msg)
        text = self.msg
        if self.id:
            text += "\n\nThe failure occurred for item " + "".join(str([i]) for i in self.id)
        return self.type(msg(text) if callable(msg) else text)


class _Unsupported(Exception):
    """A pair type cannot handle these inputs; the next one is tried."""


def _tolerances(dtypes, rtol, atol, id):
    if (rtol is None) != (atol is None):
        raise _Failure(ValueError, "Both 'rtol' and 'atol' must be either specified or omitted, "
                                   f"but got no {'rtol' if rtol is None else 'atol'}.", id)
    if rtol is not None:
        return rtol, atol
    rtols, atols = zip(*(_PRECISIONS.get(d, (0.0, 0.0)) for d in dtypes))
    return max(rtols), max(atols)


def _mismatch_msg(identifier, extra, abs_diff, abs_idx, atol, rel_diff, rel_idx, rtol):
    equality = rtol == 0 and atol == 0

    def line(kind, diff, idx, tol):
        text = (f"{kind.title()} difference: {diff}" if idx is None
                else f"Greatest {kind} difference: {diff} at index {idx}")
        return text + ("" if equality else f" (up to {tol} allowed)") + "\n"

    msg = f"{identifier} are not {'equal' if equality else 'close'}!\n\n{extra.strip()}\n"
    msg += line("absolute", abs_diff, abs_idx, atol) + line("relative", rel_diff, rel_idx, rtol)
    return msg.strip()


def _scalar_msg(actual, expected, rtol, atol):
    abs_diff = abs(actual - expected)
    rel_diff = float("inf") if expected == 0 else abs_diff / abs(expected)
    return _mismatch_msg("Scalars", f"Expected {expected} but got {actual}.", abs_diff, None,
                         atol, rel_diff, None, rtol)


class _NonePair:
    def __init__(self, actual, expected, id, **options):
        if not (actual is None or expected is None):
            raise _Unsupported
        self.actual, self.expected, self.id = actual, expected, id

    def compare(self):
        if not (self.actual is None and self.expected is None):
            raise _Failure(AssertionError,
                           f"None mismatch: {self.actual} is not {self.expected}", self.id)


class _BoolPair:
    def __init__(self, actual, expected, id, **options):
        if not all(isinstance(x, (bool, np.bool_)) for x in (actual, expected)):
            raise _Unsupported
        self.actual, self.expected, self.id = bool(actual), bool(expected), id

    def compare(self):
        if self.actual is not self.expected:
            raise _Failure(AssertionError,
                           f"Booleans mismatch: {self.actual} is not {self.expected}", self.id)


class _NumberPair:
    """Python numbers (and NumPy scalars): ints compare exactly, floats with float64's
    tolerances, complex numbers with complex128's."""

    def __init__(self, actual, expected, id, rtol=None, atol=None, equal_nan=False,
                 check_dtype=False, **options):
        kinds = (int, float, complex, np.number)
        if not all(isinstance(x, kinds) for x in (actual, expected)):
            raise _Unsupported
        self.actual, self.expected = (x.item() if isinstance(x, np.number) else x
                                      for x in (actual, expected))
        self.id = id
        self.rtol, self.atol = _tolerances(
            [_NUMBER_DTYPES[type(x)] for x in (self.actual, self.expected)], rtol, atol, id)
        self.equal_nan, self.check_dtype = equal_nan, check_dtype

    def compare(self):
        a, e = self.actual, self.expected
        if self.check_dtype and type(a) is not type(e):
            raise _Failure(AssertionError,
                           f"The (d)types do not match: {type(a)} != {type(e)}.", self.id)
        if a == e or (self.equal_nan and cmath.isnan(a) and cmath.isnan(e)):
            return
        abs_diff = abs(a - e)
        if cmath.isfinite(abs_diff) and abs_diff <= self.atol + self.rtol * abs(e):
            return
        raise _Failure(AssertionError, _scalar_msg(a, e, self.rtol, self.atol), self.id)


class _TensorPair:
    """Tensors, or two objects of related types that ember.as_tensor converts (NumPy
    arrays, ...). Attributes are checked first (shape always; layout, stride, device and
    dtype as asked), then values."""

    def __init__(self, actual, expected, id, allow_subclasses=True, rtol=None, atol=None,
                 equal_nan=False, check_device=True, check_dtype=True, check_layout=True,
                 check_stride=False, **options):
        related = isinstance(actual, type(expected)) or isinstance(expected, type(actual))
        if not related or (not allow_subclasses and type(actual) is not type(expected)):
            raise _Unsupported
        self.actual, self.expected = _to_tensor(actual), _to_tensor(expected)
        self.id = id
        self.rtol, self.atol = _tolerances([self.actual.dtype, self.expected.dtype],
                                           rtol, atol, id)
        self.equal_nan = equal_nan
        self.check_device, self.check_dtype = check_device, check_dtype
        self.check_layout, self.check_stride = check_layout, check_stride

    def _fail_attribute(self, name, a, e):
        raise _Failure(AssertionError,
                       f"The values for attribute '{name}' do not match: {a} != {e}.", self.id)

    def compare(self):
        a, e = self.actual, self.expected
        if a.shape != e.shape:
            self._fail_attribute("shape", a.shape, e.shape)
        if a.layout != e.layout:
            if self.check_layout:
                self._fail_attribute("layout", a.layout, e.layout)
        elif self.check_stride and a.stride() != e.stride():
            self._fail_attribute("stride()", a.stride(), e.stride())
        if self.check_device and a.device != e.device:
            self._fail_attribute("device", a.device, e.device)
        if self.check_dtype and a.dtype != e.dtype:
            self._fail_attribute("dtype", a.dtype, e.dtype)
        a, e = _equalize(a, e)
        self._compare_values(a, e)

    def _compare_values(self, a, e):
        from .. import isclose
        matches = isclose(a, e, rtol=self.rtol, atol=self.atol, equal_nan=self.equal_nan)
        if bool(matches.all()):
            return
        if a.dim() == 0:
            msg = _scalar_msg(a.item(), e.item(), self.rtol, self.atol)
        else:
            msg = _tensor_msg(a, e, matches, self.rtol, self.atol)
        raise _Failure(AssertionError, msg, self.id)


def _to_tensor(x):
    from .._tensor import Tensor
    if isinstance(x, Tensor):
        return x.detach()
    from .. import as_tensor
    try:
        return as_tensor(x)
    except Exception:
        raise _Unsupported from None


def _equalize(a, e):
    """Both tensors on the CPU when their devices differ, and in one dtype (the promoted
    one; unsigned 16-64 bit integers taken as int64) when their dtypes differ."""
    if a.device != e.device:
        a, e = a.cpu(), e.cpu()
    if a.dtype != e.dtype:
        wide_unsigned = (_dtype.uint16, _dtype.uint32, _dtype.uint64)
        da = _dtype.int64 if a.dtype in wide_unsigned else a.dtype
        de = _dtype.int64 if e.dtype in wide_unsigned else e.dtype
        common = _dtype.promote_types(da, de)
        a, e = a.to(common), e.to(common)
    return a, e


def _tensor_msg(a, e, matches, rtol, atol):
    """The message of a failed tensor comparison: how many elements mismatch, and the
    greatest absolute |a - e| and relative |a - e| / |e| difference among the mismatches
    (computed in the tensors' dtype, integers and bool in int64), with their indices."""
    from .. import int64
    total = matches.numel()
    mismatched = total - int(matches.sum())
    extra = f"Mismatched elements: {mismatched} / {total} ({mismatched / total:.1%})"
    a, e, matched = a.flatten(), e.flatten(), matches.flatten()
    if not (a.dtype.is_floating_point or a.dtype.is_complex):
        a, e = a.to(int64), e.to(int64)
    abs_diff = (a - e).abs()
    abs_diff[matched] = 0
    max_abs, abs_at = abs_diff.max(0)
    rel_diff = abs_diff / e.abs()
    rel_diff[matched] = 0
    max_rel, rel_at = rel_diff.max(0)
    shape = tuple(matches.shape)
    return _mismatch_msg("Tensor-likes", extra, max_abs.item(), _unravel(int(abs_at), shape),
                         atol, max_rel.item(), _unravel(int(rel_at), shape), rtol)


def _unravel(flat, shape):
    return tuple(int(i) for i in np.unravel_index(flat, shape)) if shape else ()


_PAIR_TYPES = (_NonePair, _BoolPair, _NumberPair, _TensorPair)


def _originate(actual, expected, id, options):
    """The leaf pairs of two nests, after checking that their structures agree."""
    seq = collections.abc.Sequence
    if (isinstance(actual, seq) and not isinstance(actual, str)
            and isinstance(expected, seq) and not isinstance(expected, str)):
        if len(actual) != len(expected):
            raise _Failure(AssertionError, "The length of the sequences mismatch: "
                                           f"{len(actual)} != {len(expected)}", id)
        pairs = []
        for i in range(len(actual)):
            pairs += _originate(actual[i], expected[i], (*id, i), options)
        return pairs
    mapping = collections.abc.Mapping
    if isinstance(actual, mapping) and isinstance(expected, mapping):
        keys_a, keys_e = set(actual.keys()), set(expected.keys())
        if keys_a != keys_e:
            raise _Failure(AssertionError,
                           "The keys of the mappings do not match:\n"
                           f"Missing keys in the actual mapping: {sorted(keys_e - keys_a)}\n"
                           f"Additional keys in the actual mapping: {sorted(keys_a - keys_e)}",
                           id)
        keys = keys_a
        with contextlib.suppress(Exception):   # a fixed order, where the keys can be sorted
            keys = sorted(keys)
        pairs = []
        for k in keys:
            pairs += _originate(actual[k], expected[k], (*id, k), options)
        return pairs
    for pair_type in _PAIR_TYPES:
        try:
            return [pair_type(actual, expected, id, **options)]
        except _Unsupported:
            continue
    raise _Failure(TypeError, "No comparison pair was able to handle inputs of type "
                              f"{type(actual)} and {type(expected)}.", id)


def assert_close(actual, expected, *, allow_subclasses=True, rtol=None, atol=None,
                 equal_nan=False, check_device=True, check_dtype=True, check_layout=True,
                 check_stride=False, msg=None):
    """Raise AssertionError unless ``actual`` and ``expected`` are close (see the module
    docstring); ``msg`` (a string, or a function of the generated message) replaces the
    message of a value mismatch."""
    __tracebackhide__ = True
    options = dict(allow_subclasses=allow_subclasses, rtol=rtol, atol=atol,
                   equal_nan=equal_nan, check_device=check_device, check_dtype=check_dtype,
                   check_layout=check_layout, check_stride=check_stride)
    try:
        pairs = _originate(actual, expected, (), options)
    except _Failure as failure:
        raise failure.to_error() from None
    for pair in pairs:
        try:
            pair.compare()
        except _Failure as failure:
            raise failure.to_error(msg) from None


def assert_allclose(actual, expected, rtol=None, atol=None, equal_nan=True, msg=""):
    """Deprecated (as in PyTorch since 1.12): assert_close with looser float defaults,
    no dtype check and ``equal_nan=True``."""
    warnings.warn(
        "`torch.testing.assert_allclose()` is deprecated since 1.12 and will be removed in a "
        "future release. Please use `torch.testing.assert_close()` instead. You can find "
        "detailed upgrade instructions in https://github.com/pytorch/pytorch/issues/61844.",
        FutureWarning, stacklevel=2)
    from .. import tensor
    from .._tensor import Tensor
    if not isinstance(actual, Tensor):
        actual = tensor(actual)
    if not isinstance(expected, Tensor):
        expected = tensor(expected, dtype=actual.dtype)
    if rtol is None and atol is None:
        loose = {_dtype.float16: (1e-3, 1e-3), _dtype.float32: (1e-4, 1e-5),
                 _dtype.float64: (1e-5, 1e-8)}
        rtol = max(loose.get(t.dtype, (0.0, 0.0))[0] for t in (actual, expected))
        atol = max(loose.get(t.dtype, (0.0, 0.0))[1] for t in (actual, expected))
    assert_close(actual, expected, rtol=rtol, atol=atol, equal_nan=equal_nan,
                 check_device=True, check_dtype=False, check_stride=False, msg=msg or None)

