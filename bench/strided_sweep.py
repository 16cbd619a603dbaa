"""Differential sweep of view and stride semantics: torch's OpInfo samples (float64 and
int64), fed to torch and ember as the same *non-contiguous* views, built the same way in
both libraries from a contiguous base (so ember's inputs really are views of a larger
memory, not copies).

Layouts (each applied to every tensor operand of a sample):
    T  the last two dims transposed (a 1-dim operand gets S's view instead)
    S  every other element of the last dim, starting at a negative index (storage offset 1)
    E  the last dim of size > 1 expanded from size 1 (stride 0; values repeat, in both)
    A  `as_strided` of a larger flat base: column-major, every other element, offset 2
A 0-dim operand is one element of a 1-dim base (storage offset 1) in every layout.

For each output it compares values, shape, dtype, `stride()`, `is_contiguous()`, whether
the output aliases an input (view ops must, the others must not) and, for aliases,
`storage_offset()`. For in-place variants it runs the op on the view and compares the
whole base afterwards and the errors (an expanded view refuses most in-place writes:
"unsupported operation: more than one element of the written-to tensor refers to a single
memory location"); for float64 it also checks the error of an in-place op on a view of a
leaf that requires grad. For ops with out= it passes a transposed (non-contiguous) `out`
and an empty (resizable) one and compares what was written and its strides.

A probe for finding defects, not a test:
    PYTHONPATH=/tmp/extra:. python -m bench.strided_sweep strided.json [op names...]
The JSON maps each op to its mismatches; the summary counts them by kind.
"""
import collections
import json
import sys
import warnings

import numpy as np
import torch

import ember
from bench.opinfo_sweep import RANDOM, compare, flat, resolve, to_ember, op_db

warnings.filterwarnings("ignore")
LAYOUTS = ("T", "S", "E", "A")
DTYPES = (torch.float64, torch.int64)


# ---------------------------------------------------------------------------- building views

def _fresh(t):
    """A new row-major torch tensor with t's values (`contiguous()` would keep the odd
    strides of size-1 dims that NumPy's copy does not have)."""
    return torch.empty(tuple(t.shape), dtype=t.dtype).copy_(t)


def _to_ember_base(tb):
    """A contiguous ember tensor with tb's values (tb is a contiguous torch tensor)."""
    return ember.from_numpy(tb.numpy().copy())


def _step_view(lib, base, n):
    """base[..., -2n::2]: n elements of a last dim of 2n + 1, from index 1 (as negative)."""
    return base[..., -2 * n::2] if n else base[..., 1:1]


def _as_strided_spec(shape):
    """Column-major strides with a gap (every other element) and offset 2 for `shape`;
    the base's size."""
    st, acc = [], 2
    for s in shape:
        st.append(acc)
        acc *= max(s, 1)
    numel = 1
    for s in shape:
        numel *= s
    return tuple(st), 2, 2 + 2 * max(numel, 1) + 1


def make_pair(x, layout):
    """(torch view, ember view, torch base, ember base) holding x's values (E: values of
    x's first slice along the expanded dim) in `layout`."""
    x = x.detach()
    shape = tuple(x.shape)
    if x.ndim == 0:
        tb = torch.zeros(3, dtype=x.dtype)
        tb[1] = x
        eb = _to_ember_base(tb)
        return tb[1], eb[1], tb, eb
    if layout == "T" and x.ndim >= 2:
        tb = _fresh(x.transpose(-1, -2))
        eb = _to_ember_base(tb)
        return tb.transpose(-1, -2), eb.transpose(-1, -2), tb, eb
    if layout == "E":
        dims = [d for d in range(x.ndim) if shape[d] > 1]
        if dims:
            d = dims[-1]
            tb = _fresh(x.narrow(d, 0, 1))
            eb = _to_ember_base(tb)
            return tb.expand(shape), eb.expand(shape), tb, eb
    if layout == "A":
        st, off, size = _as_strided_spec(shape)
        tb = torch.zeros(size, dtype=x.dtype)
        tb.as_strided(shape, st, off).copy_(x)
        eb = _to_ember_base(tb)
        return tb.as_strided(shape, st, off), eb.as_strided(shape, st, off), tb, eb
    # S (and T of a 1-dim tensor, E of a tensor with no dim to expand)
    n = shape[-1]
    tb = torch.zeros(shape[:-1] + (2 * n + 1,), dtype=x.dtype)
    _step_view(torch, tb, n).copy_(x)
    eb = _to_ember_base(tb)
    return _step_view(torch, tb, n), _step_view(ember, eb, n), tb, eb


def convert(obj, layout, bases):
    """(torch tree, ember tree) of obj with every strided tensor made a view in `layout`;
    appends (torch base, ember base, torch view, ember view) to `bases`."""
    if isinstance(obj, torch.Tensor):
        if obj.dtype == torch.bfloat16 or obj.layout != torch.strided or obj.is_conj() \
                or obj.is_neg() or obj.is_complex():
            raise TypeError("unsupported input")
        tv, ev, tb, eb = make_pair(obj, layout)
        bases.append((tb, eb, tv, ev))
        return tv, ev
    if isinstance(obj, (list, tuple)) and not hasattr(obj, "_fields"):
        pairs = [convert(v, layout, bases) for v in obj]
        return type(obj)(p[0] for p in pairs), type(obj)(p[1] for p in pairs)
    if isinstance(obj, dict):
        pairs = {k: convert(v, layout, bases) for k, v in obj.items()}
        return {k: p[0] for k, p in pairs.items()}, {k: p[1] for k, p in pairs.items()}
    return obj, to_ember(obj)


# ---------------------------------------------------------------------------- comparing layouts

def _t_aliases(a, inputs):
    if a.numel() == 0:
        return None
    ptr = a.untyped_storage().data_ptr()
    return any(t.untyped_storage().data_ptr() == ptr for t in inputs)


def _e_aliases(b, inputs):
    """Whether b shares memory with the storage (the whole base) of an input."""
    if b._data.size == 0:
        return None
    return any(np.may_share_memory(b._data, e._data) for e in inputs)


def compare_layout(t_out, e_out, t_inputs, e_inputs):
    """Mismatches ('kind: detail') in stride, contiguity, aliasing and storage offset of
    the outputs (values are compared before)."""
    found = []
    for i, (a, b) in enumerate(zip(flat(t_out), flat(e_out))):
        if not isinstance(a, torch.Tensor) or not isinstance(b, ember.Tensor):
            continue
        ta, ea = _t_aliases(a, t_inputs), _e_aliases(b, e_inputs)
        if ta is not None and ta != ea:
            found.append(f"alias: out {i} torch {'aliases' if ta else 'copies'}, ember "
                         f"{'aliases' if ea else 'copies'}")
        elif ta and a.storage_offset() != b.storage_offset():
            found.append(f"offset: out {i} {a.storage_offset()} vs {b.storage_offset()}")
        ts, es = a.stride(), b.stride()
        if ts != es:
            # strides of size-1 dims (and of empty tensors) address nothing: report apart
            real = a.numel() > 0 and any(n > 1 and p != q for n, p, q in zip(a.shape, ts, es))
            found.append(f"{'stride' if real else 'stride-size1'}: out {i} {ts} vs {es}")
        if a.is_contiguous() != b.is_contiguous():
            found.append(f"contiguous: out {i} {a.is_contiguous()} vs {b.is_contiguous()}")
    return found


def _exc_mismatch(t_exc, e_exc):
    if t_exc is None and e_exc is None:
        return None
    if t_exc is None:
        return f"ember raised {type(e_exc).__name__}: {str(e_exc)[:120]}"
    if e_exc is None:
        return f"torch raised {type(t_exc).__name__} ({str(t_exc)[:80]}), ember did not"
    if type(t_exc).__name__.lstrip("_") != type(e_exc).__name__.lstrip("_"):
        # (torch.linalg.LinAlgError is torch._C._LinAlgError)
        return f"{type(t_exc).__name__} vs {type(e_exc).__name__}: {str(e_exc)[:120]}"
    if "more than one element of the written-to tensor" in str(t_exc) and \
            "more than one element" not in str(e_exc):
        return f"overlap message: {str(e_exc)[:120]}"
    return ""


def _call(fn, args, kwargs):
    try:
        return fn(*args, **kwargs), None
    except Exception as e:  # noqa: BLE001 - compared by the caller
        return None, e


# ---------------------------------------------------------------------------- the sweep

def _resolve(op):
    """ember's function for `op`, or None: only one found by its dotted path (opinfo_sweep's
    fallback to the bare function name maps torch.masked.sum to ember.sum), and callable
    (cfloat's OpInfo names the dtype)."""
    efn = resolve(op)
    if efn is None or efn == "MISSING" or not callable(efn) or isinstance(efn, ember.dtype):
        return None
    obj = ember
    for part in op.name.split("."):
        obj = getattr(obj, part, None)
    return efn if obj is not None else None


def _tolerance(t_out):
    """(rtol, atol) for the outputs: float32 results (of int64 inputs) need float32's."""
    low = any(isinstance(a, torch.Tensor) and a.dtype in (torch.float32, torch.complex64)
              for a in flat(t_out))
    return (1e-5, 1e-5) if low else (1e-7, 1e-7)


def run(ops_filter=None, max_samples=4):
    report = {}
    counted = 0
    for op in op_db:
        if ops_filter and op.name not in ops_filter:
            continue
        if op.name in RANDOM:
            continue
        efn = _resolve(op)
        if efn is None:
            continue
        key = op.name + ("." + op.variant_test_name if op.variant_test_name else "")
        problems = []
        counted += 1
        try:
            _one(op, efn, problems, max_samples)
        except Exception as e:  # noqa: BLE001 - a defect of the probe, reported as such
            problems.append(f"SWEEP CRASH {type(e).__name__}: {str(e)[:150]}")
        if problems:
            report[key] = problems[:8]
    return report, counted


def _one(op, efn, problems, max_samples):
    seen = set()

    def note(msg):
        kind = msg.split(": ", 2)[1].split(":")[0] if msg.count(": ") >= 1 else msg
        if kind not in seen or len(problems) < 3:
            seen.add(kind)
            problems.append(msg)

    for dtype in DTYPES:
        if dtype not in op.supported_dtypes("cpu"):
            continue
        try:
            samples = list(op.sample_inputs("cpu", dtype, requires_grad=False))[:max_samples]
        except Exception:  # noqa: BLE001 - a sample generator torch cannot run here
            continue
        for k, s in enumerate(samples):
            for layout in LAYOUTS:
                where = f"{str(dtype)[6:]}#{k}{layout}"
                try:
                    bases = []
                    t_in, e_in = convert(s.input, layout, bases)
                    t_args, e_args = convert(tuple(s.args), layout, bases)
                    t_kw, e_kw = convert(dict(s.kwargs), layout, bases)
                except TypeError:
                    continue
                t_views = [b[2] for b in bases]
                e_views = [b[1] for b in bases]   # the bases: storages, as torch compares
                t_out, t_exc = _call(op.op, (t_in,) + t_args, t_kw)
                e_out, e_exc = _call(efn, (e_in,) + e_args, e_kw)
                msg = _exc_mismatch(t_exc, e_exc)
                if msg:
                    note(f"{where}: exc: {msg}")
                if msg is None:
                    msg = compare(t_out, e_out, *_tolerance(t_out))
                    if msg:
                        note(f"{where}: value: {msg}")
                    else:
                        for m in compare_layout(t_out, e_out, t_views, e_views):
                            note(f"{where}: {m}")
                        if not _bases_equal(bases):
                            note(f"{where}: input-modified: ember's bases differ after an "
                                 f"out-of-place op")
                if isinstance(s.input, torch.Tensor):
                    _inplace(op, s, layout, where, note, dtype)
                    if op.supports_out and t_exc is None and isinstance(t_out, torch.Tensor):
                        _out(op, efn, s, layout, where, note, t_out)


def _bases_equal(bases):
    for tb, eb, _, _ in bases:
        a, b = tb.detach().numpy(), eb.detach().numpy()
        if a.shape != b.shape:
            return False
        if a.dtype.kind == "f" or b.dtype.kind == "f":
            tol = 1e-7 if a.dtype == np.float64 else 1e-5
            if not np.allclose(a, b, rtol=tol, atol=tol, equal_nan=True):
                return False
        elif not np.array_equal(a, b):
            return False
    return True


def _inplace(op, s, layout, where, note, dtype):
    """The in-place variant on views: same base afterwards, same errors; then a view of a
    leaf that requires grad must refuse it."""
    t_fn = op.inplace_variant
    name = getattr(t_fn, "__name__", None)
    if t_fn is None or name is None:
        return
    e_fn = getattr(ember.Tensor, name, None)
    if e_fn is None:
        return
    try:
        bases = []
        t_x, e_x = convert(s.input, layout, bases)
        t_args, e_args = convert(tuple(s.args), layout, bases)
        t_kw, e_kw = convert(dict(s.kwargs), layout, bases)
    except TypeError:
        return
    with torch.no_grad(), ember.no_grad():
        t_out, t_exc = _call(t_fn, (t_x,) + t_args, t_kw)
        e_out, e_exc = _call(e_fn, (e_x,) + e_args, e_kw)
    msg = _exc_mismatch(t_exc, e_exc)
    if msg:
        note(f"{where}: inplace-exc: {name}: {msg}")
    if msg is None:
        if e_out is not e_x:
            note(f"{where}: inplace-result: {name} did not return its input")
        elif not _bases_equal(bases[:1]):
            note(f"{where}: inplace-base: {name}: the base of the view differs afterwards")
        elif t_x.stride() != e_x.stride() and t_x.numel() > 0:
            note(f"{where}: inplace-stride: {name}: {t_x.stride()} vs {e_x.stride()}")
    if dtype != torch.float64 or not op.supports_autograd:
        return
    # a view of a leaf that requires grad refuses in-place ops (when grad mode is on)
    bases = []
    try:
        t_x, e_x = convert(s.input, layout, bases)
        t_args, e_args = convert(tuple(s.args), layout, bases)
        t_kw, e_kw = convert(dict(s.kwargs), layout, bases)
    except TypeError:
        return
    tb, eb = bases[0][0], bases[0][1]
    if tb is t_x._base or eb is e_x._base:
        tb.requires_grad_()
        eb.requires_grad_()
        t_x, e_x = make_view_like(t_x, tb, torch), make_view_like(e_x, eb, ember)
        t_out, t_exc = _call(t_fn, (t_x,) + t_args, t_kw)
        e_out, e_exc = _call(e_fn, (e_x,) + e_args, e_kw)
        msg = _exc_mismatch(t_exc, e_exc)
        if msg:
            note(f"{where}: leaf-view-exc: {name}: {msg}")


def make_view_like(view, base, lib):
    """The view `view` of its base remade on `base` (now requiring grad), so it is a view
    in the graph too."""
    return base.as_strided(tuple(view.shape), view.stride(), view.storage_offset())


def _out(op, efn, s, layout, where, note, t_ref):
    """out= into a non-contiguous output (written in place, strides kept) and into an
    empty one (resized to the result's shape)."""
    if layout not in ("T", "S"):
        return
    try:
        bases = []
        t_in, e_in = convert(s.input, layout, bases)
        t_args, e_args = convert(tuple(s.args), layout, bases)
        t_kw, e_kw = convert(dict(s.kwargs), layout, bases)
    except TypeError:
        return
    for kind in ("strided", "resized"):
        if kind == "strided":
            out_bases = []
            try:
                t_o, e_o = convert(torch.zeros_like(t_ref), layout, out_bases)
            except TypeError:   # a complex result
                return
        else:
            t_o = torch.empty(0, dtype=t_ref.dtype)
            e_o = ember.empty(0, dtype=to_ember(t_ref.dtype))
        t_r, t_exc = _call(op.op, (t_in,) + t_args, dict(t_kw, out=t_o))
        e_r, e_exc = _call(efn, (e_in,) + e_args, dict(e_kw, out=e_o))
        msg = _exc_mismatch(t_exc, e_exc)
        if msg:
            note(f"{where}: out-exc: {kind}: {msg}")
            continue
        if msg == "":
            continue
        msg = compare(t_o, e_o, *_tolerance(t_o))
        if msg:
            note(f"{where}: out-value: {kind}: {msg}")
        elif e_r is not e_o:
            note(f"{where}: out-result: {kind}: the result is not the out tensor")
        elif t_o.stride() != e_o.stride() and t_o.numel() > 1:
            note(f"{where}: out-stride: {kind}: {t_o.stride()} vs {e_o.stride()}")
        elif kind == "strided" and not _bases_equal(out_bases):
            note(f"{where}: out-base: the out view's base differs")


def summary(report):
    kinds = collections.Counter()
    for problems in report.values():
        for p in problems:
            parts = p.split(": ")
            kinds[parts[1] if len(parts) > 1 else p.split(" ")[0]] += 1
    return kinds


if __name__ == "__main__":
    rep, n = run(sys.argv[2:] or None)
    with open(sys.argv[1], "w") as f:
        json.dump(rep, f, indent=1)
    print(n, "ops compared,", len(rep), "with mismatches")
    for kind, c in summary(rep).most_common():
        print(f"  {kind}: {c}")
