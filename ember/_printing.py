"""Tensor repr, laid out exactly as PyTorch lays it out (with ``ember.`` for ``torch.``).

The algorithm is PyTorch's (torch/_tensor_str.py), run on the NumPy array behind the tensor:

1. **Summarize** when the tensor holds more than ``threshold`` elements: each dimension
   longer than ``2 * edgeitems`` shows its first and last ``edgeitems`` entries around
   ``...``.
2. **One formatter for the whole tensor** (two for complex: real and imaginary parts),
   built from the values that will be shown. For floats it picks one of three modes from
   the nonzero finite values ``v``:

   - scientific (``1.0000e+10``) when ``max|v| / min|v| > 1000``, ``max|v| > 1e8`` or
     ``min|v| < 1e-4`` (or as ``sci_mode`` forces),
   - integer (``2.``) when every ``v`` is a whole number,
   - fixed (``0.1235``) otherwise, with ``precision`` digits.

   Every element is right-aligned to the widest formatted value, so columns line up.
3. **Lay out** rows recursively: a vector wraps at ``linewidth`` with as many elements
   per line as fit; a dimension ``d`` joins its slices with ``,`` plus ``d - 1`` newlines,
   indented one column per nesting level.
4. **Suffixes** in PyTorch's order: ``device=``, ``size=``, ``dtype=`` (when it differs
   from what the values imply), ``grad_fn=<...>`` or ``requires_grad=True``; a suffix
   that would pass ``linewidth`` goes on its own line.
"""
import contextlib
import dataclasses
import math

import numpy as np

from . import _dtype

__all__ = ["set_printoptions", "get_printoptions", "printoptions"]


@dataclasses.dataclass
class _PrintOptions:
    precision: int = 4
    threshold: float = 1000
    edgeitems: int = 3
    linewidth: int = 80
    sci_mode: bool = None


PRINT_OPTS = _PrintOptions()

_PROFILES = {
    "default": dict(precision=4, threshold=1000, edgeitems=3, linewidth=80),
    "short": dict(precision=2, threshold=1000, edgeitems=2, linewidth=80),
    "full": dict(precision=4, threshold=math.inf, edgeitems=3, linewidth=80),
}


def set_printoptions(precision=None, threshold=None, edgeitems=None, linewidth=None,
                     profile=None, sci_mode=None):
    """Set how tensors print (``torch.set_printoptions``).

    Args:
        precision: digits after the decimal point for floats (default 4).
        threshold: element count above which the repr is summarized with ``...`` (1000).
        edgeitems: entries kept at each end of a summarized dimension (3).
        linewidth: characters per line before wrapping (80).
        profile: ``'default'``, ``'short'`` or ``'full'``; applied first, then the other
            arguments override it.
        sci_mode: True/False forces scientific notation on/off; None (the default, and what
            every call that omits it resets to) lets the formatter choose.
    """
    if profile is not None:
        if profile in _PROFILES:
            for name, value in _PROFILES[profile].items():
                setattr(PRINT_OPTS, name, value)
    for name, value in (("precision", precision), ("threshold", threshold),
                        ("edgeitems", edgeitems), ("linewidth", linewidth)):
        if value is not None:
            setattr(PRINT_OPTS, name, value)
    PRINT_OPTS.sci_mode = sci_mode


def get_printoptions():
    """The current print options as a dict that ``set_printoptions(**d)`` accepts."""
    return dataclasses.asdict(PRINT_OPTS)


@contextlib.contextmanager
def printoptions(**kwargs):
    """Context manager that sets print options and restores the previous ones on exit."""
    old = get_printoptions()
    set_printoptions(**kwargs)
    try:
        yield
    finally:
        set_printoptions(**old)


class _Formatter:
    """Formats the scalars of one tensor (or one part of a complex tensor) to a common width.

    `arr` holds the values that will be shown (already summarized), floats as float64 so
    that Python's formatting sees each value exactly.
    """

    def __init__(self, arr, floating):
        self.floating = floating
        self.int_mode = True
        self.sci_mode = False
        self.max_width = 1
        flat = arr.reshape(-1)
        if not floating:
            for value in flat.tolist():
                self.max_width = max(self.max_width, len(str(value)))
            return
        shown = flat[np.isfinite(flat) & (flat != 0)]
        if shown.size == 0:
            return
        magnitudes = np.abs(shown)
        smallest, largest = magnitudes.min(), magnitudes.max()
        self.int_mode = bool(np.all(shown == np.ceil(shown)))
        if PRINT_OPTS.sci_mode is None:
            self.sci_mode = bool(largest / smallest > 1000.0 or largest > 1.0e8
                                 or smallest < 1.0e-4)
        else:
            self.sci_mode = PRINT_OPTS.sci_mode
        precision = PRINT_OPTS.precision
        for value in shown.tolist():
            if self.sci_mode:
                width = len(f"{value:.{precision}e}")
            elif self.int_mode:
                width = len(f"{value:.0f}") + 1  # the trailing "."
            else:
                width = len(f"{value:.{precision}f}")
            self.max_width = max(self.max_width, width)

    def width(self):
        return self.max_width

    def format(self, value):
        """`value` (a Python scalar) right-aligned to the common width."""
        if self.floating:
            precision = PRINT_OPTS.precision
            if self.sci_mode:
                text = f"{value:{self.max_width}.{precision}e}"
            elif self.int_mode:
                text = f"{value:.0f}"
                if not (math.isinf(value) or math.isnan(value)):
                    text += "."
            else:
                text = f"{value:.{precision}f}"
        else:
            text = str(value)
        return (self.max_width - len(text)) * " " + text


class _ElementFormatter:
    """One formatter for real tensors; a real and an imaginary one for complex tensors."""

    def __init__(self, real, imag=None):
        self.real = real
        self.imag = imag

    def element_length(self):
        """Columns one element takes in a row, including the ``", "`` after it."""
        length = self.real.width() + 2
        if self.imag is not None:
            length += self.imag.width() + 1  # the imaginary part and its "j"
        return length

    def format(self, value):
        if self.imag is None:
            return self.real.format(value)
        real_text = self.real.format(value.real)
        imag_text = (self.imag.format(value.imag) + "j").lstrip()
        if imag_text[0] in "+-":  # a sign already separates the parts (also for -0.0)
            return real_text + imag_text
        return real_text + "+" + imag_text


def _summarized(arr):
    """The values a summarized repr shows: each long dimension cut to its two edges."""
    edge = PRINT_OPTS.edgeitems
    if arr.ndim == 0:
        return arr
    if arr.ndim == 1:
        if arr.shape[0] > 2 * edge:
            # with edge == 0 PyTorch's `t[-0:]` keeps the whole vector; NumPy agrees
            return np.concatenate((arr[:edge], arr[-edge:]))
        return arr
    if not edge:
        return np.empty([0] * arr.ndim, dtype=arr.dtype)
    n = arr.shape[0]
    rows = list(range(edge)) + list(range(n - edge, n)) if n > 2 * edge else range(n)
    return np.stack([_summarized(arr[i]) for i in rows])


def _vector_str(arr, indent, summarize, fmt):
    edge = PRINT_OPTS.edgeitems
    per_line = max(1, math.floor((PRINT_OPTS.linewidth - indent) / fmt.element_length()))
    if summarize and not edge:
        data = ["..."]
    elif summarize and arr.shape[0] > 2 * edge:
        data = ([fmt.format(v) for v in arr[:edge].tolist()] + [" ..."]
                + [fmt.format(v) for v in arr[-edge:].tolist()])
    else:
        data = [fmt.format(v) for v in arr.tolist()]
    lines = [", ".join(data[i:i + per_line]) for i in range(0, len(data), per_line)]
    return "[" + (",\n" + " " * (indent + 1)).join(lines) + "]"


def _nested_str(arr, indent, summarize, fmt):
    """The bracketed body of `arr`, its first line starting at column `indent`."""
    if arr.ndim == 0:
        return fmt.format(arr.item())
    if arr.ndim == 1:
        return _vector_str(arr, indent, summarize, fmt)
    edge = PRINT_OPTS.edgeitems
    n = arr.shape[0]
    if summarize and n > 2 * edge:
        slices = ([_nested_str(arr[i], indent + 1, summarize, fmt) for i in range(edge)]
                  + ["..."]
                  + [_nested_str(arr[i], indent + 1, summarize, fmt)
                     for i in range(n - edge, n)])
    else:
        slices = [_nested_str(arr[i], indent + 1, summarize, fmt) for i in range(n)]
    separator = "," + "\n" * (arr.ndim - 1) + " " * (indent + 1)
    return "[" + separator.join(slices) + "]"


def _as_exact(arr, dt):
    """`arr` in a dtype whose Python scalars are the exact values (float64 / complex128)."""
    if dt.is_complex:
        return _dtype.cast_array(arr, np.complex128)   # complex32 is a record type
    if dt.is_floating_point:
        return _dtype.cast_array(arr, np.float64)
    return arr


def _tensor_str(arr, dt, indent):
    """The body of a non-empty tensor's repr, e.g. ``[[1., 2.],\\n [3., 4.]]``."""
    summarize = arr.size > PRINT_OPTS.threshold
    arr = _as_exact(arr, dt)
    shown = _summarized(arr) if summarize else arr
    if dt.is_complex:
        fmt = _ElementFormatter(_Formatter(shown.real, True), _Formatter(shown.imag, True))
    else:
        fmt = _ElementFormatter(_Formatter(shown, dt.is_floating_point))
    return _nested_str(arr, indent, summarize, fmt)


def _add_suffixes(text, suffixes, indent, force_newline=False):
    """Append ``, suffix`` items and the closing parenthesis, wrapping at linewidth
    (force_newline: the first suffix starts a line, as a COO tensor's do)."""
    parts = [text]
    # PyTorch measures the last line this way (two columns more than its length when the
    # text has no newline); kept so wrapping decisions match.
    last_line_len = len(text) - text.rfind("\n") + 1
    for suffix in suffixes:
        if force_newline or last_line_len + len(suffix) + 2 > PRINT_OPTS.linewidth:
            parts.append(",\n" + " " * indent + suffix)
            last_line_len = indent + len(suffix)
            force_newline = False
        else:
            parts.append(", " + suffix)
            last_line_len += len(suffix) + 2
    parts.append(")")
    return "".join(parts)


def _is_plain(t):
    """Plain tensors and nn.Parameter print as ``tensor(...)``; subclasses by class name."""
    from ._tensor import Tensor
    cls = type(t)
    if cls is Tensor:
        return True
    return cls.__name__ == "Parameter" and cls.__module__.startswith("ember.")


def tensor_repr(t, tensor_contents=None, header=""):
    """``repr(t)`` as PyTorch writes it.

    Args:
        t: the tensor.
        tensor_contents: text to print instead of the values (``Tensor.__repr__``'s
            keyword of the same name).
        header: text before the repr; ``nn.Parameter`` passes ``"Parameter containing:\\n"``.
    """
    prefix = "tensor(" if _is_plain(t) else type(t).__name__ + "("
    indent = len(prefix)
    suffixes = []
    dev = t.device
    if dev.type != "cpu":
        suffixes.append(f"device='{dev}'")
    dt = t.dtype
    default = _dtype.get_default_dtype()
    has_default_dtype = dt in (default, _dtype.default_complex_dtype(), _dtype.int64,
                               _dtype.bool)
    if dev.type == "meta":   # no values: the shape and the dtype stand for them
        suffixes.append(f"size={tuple(t.shape)}")
        if dt is not default:
            suffixes.append(f"dtype={dt}")
        body = "..." if tensor_contents is None else tensor_contents
        arr = None
    else:
        arr = t._cpu_array()
    if arr is None:
        pass
    elif arr.size == 0:
        # explicit shape unless it is (0,), as NumPy does; no values imply the dtype
        if arr.ndim != 1:
            suffixes.append(f"size={tuple(arr.shape)}")
        if dt is not default:
            suffixes.append(f"dtype={dt}")
        body = "[]" if tensor_contents is None else tensor_contents
    else:
        if not PRINT_OPTS.edgeitems:
            suffixes.append(f"size={tuple(arr.shape)}")
        if not has_default_dtype:
            suffixes.append(f"dtype={dt}")
        body = _tensor_str(arr, dt, indent) if tensor_contents is None else tensor_contents
    if t.grad_fn is not None:
        suffixes.append(f"grad_fn=<{t.grad_fn.name().rsplit('::', 1)[-1]}>")
    elif t.requires_grad:
        suffixes.append("requires_grad=True")
    if t._fw_tangent is not None:   # a dual tensor (autograd.forward_ad)
        suffixes.append(f"tangent={t._fw_tangent}")
    text = _add_suffixes(prefix + body, suffixes, indent)
    if t.__dict__.get("_is_param", False):   # a Tensor subclass made a Parameter, as PyTorch
        text = f"Parameter({text})"
    return header + text


def _component_str(name, t, indent):
    """``name=tensor([...])`` for a component of a sparse tensor, its body indented to
    continue under the opening bracket."""
    prefix = name + "=tensor("
    arr = t._cpu_array()
    if arr.size == 0:
        return prefix + "[], size=" + str(tuple(arr.shape)) + ")"
    return prefix + _tensor_str(arr, t.dtype, indent + len(prefix)) + ")"


def sparse_repr(t, tensor_contents=None):
    """``repr`` of a sparse tensor as PyTorch writes it: its components, then size, nnz,
    dtype, layout and grad suffixes."""
    prefix = "tensor("
    indent = len(prefix)
    suffixes = []
    dev = t.device
    if dev.type != "cpu":
        suffixes.append(f"device='{dev}'")
    suffixes.append(f"size={tuple(t.shape)}")
    suffixes.append(f"nnz={t._nnz()}")
    dt = t.dtype
    if dt not in (_dtype.get_default_dtype(), _dtype.default_complex_dtype(), _dtype.int64,
                  _dtype.bool):
        suffixes.append(f"dtype={dt}")
    if tensor_contents is not None:
        body = tensor_contents
    elif t.layout.name == "sparse_coo":
        body = (_component_str("indices", t._ix, indent) + ",\n" + " " * indent
                + _component_str("values", t._vals, indent))
    else:
        compressed, plain = ("crow", "col") if t.layout.name in ("sparse_csr", "sparse_bsr") \
            else ("ccol", "row")
        body = (_component_str(compressed + "_indices", t._cidx, indent) + ",\n" + " " * indent
                + _component_str(plain + "_indices", t._pidx, indent) + ",\n" + " " * indent
                + _component_str("values", t._vals, indent))
    suffixes.append(f"layout={t.layout}")
    if t.grad_fn is not None:
        suffixes.append(f"grad_fn=<{t.grad_fn.name().rsplit('::', 1)[-1]}>")
    elif t.requires_grad:
        suffixes.append("requires_grad=True")
    return _add_suffixes(prefix + body, suffixes, indent,
                         force_newline=t.layout.name == "sparse_coo")
