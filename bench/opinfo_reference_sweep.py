"""Differential sweep over torch's OpInfo *reference* inputs: the richer generators
(`op.reference_inputs`) that about 250 OpInfos define on top of their sample inputs --
broadcasting, type promotion between tensors and Python scalars, extremal values (inf,
nan, -0.0, huge and tiny magnitudes), empty and noncontiguous tensors.

bench/opinfo_sweep.py runs at most 6 sample inputs per op and dtype; this probe runs every
reference input, for float64, float32, int64, bool and complex128, with float64 gradients
and the Tensor-method and in-place variants, and reports per op (JSON) what differs:
values (NaNs equal to NaNs, infinities compared exactly, the sign of zeros where torch's
result is -0.0), dtypes, shapes, exception types and gradients.

A probe for finding defects, not a test (its inputs change with torch's OpInfo tables):
    PYTHONPATH=/tmp/extra:. nice -n 5 python -m bench.opinfo_reference_sweep out.json [ops]
        --all    also ops without a reference generator of their own (their reference
                 inputs are their sample inputs, here without the 6-sample cap)
Ops named by an OpInfo only as a lambda (the conversions `double`, `bool`, the reflected
operators `__radd__` ...) are checked through their Tensor-method form only.
"""
import json
import sys
import time
import warnings

import numpy as np
import torch
from torch.testing._internal.common_methods_invocations import op_db

import ember
from bench.opinfo_sweep import RANDOM, _variants, compare, flat, resolve, to_ember

warnings.filterwarnings("ignore")
DTYPES = (torch.float64, torch.float32, torch.int64, torch.bool, torch.complex128)
MAX_PROBLEMS = 8          # per op in the report (the count of all is kept too)


def resolve_ref(op):
    """ember's function for an OpInfo: opinfo_sweep.resolve, plus the Tensor dunder methods
    (`__radd__`, `__rpow__` ...) that some OpInfos name as their op."""
    qual = getattr(op.op, "__qualname__", None) or ""
    if qual.startswith(("Tensor.", "TensorBase.")):
        return getattr(ember.Tensor, qual.split(".", 1)[1], "MISSING")
    return resolve(op)


def _as_real(out, m):
    """Complex tensors of an output as (..., 2) real views (others unchanged)."""
    if isinstance(out, (tuple, list)):
        return type(out)(_as_real(o, m) for o in out)
    if isinstance(out, m.Tensor) and out.is_complex():
        return m.view_as_real(out.detach().resolve_conj() if m is torch else out.detach())
    return out


def compare_ref(t_out, e_out, rtol, atol):
    """opinfo_sweep.compare, with complex values compared part by part: NumPy's isclose
    asks an infinite complex number to be exactly equal, so (inf + 1.1330900354567985j)
    and (inf + 1.1330900354567983j) differed there."""
    msg = compare(t_out, e_out, rtol, atol)
    if msg and "values differ" in msg:
        try:
            if compare(_as_real(t_out, torch), _as_real(e_out, ember), rtol, atol) is None:
                return None
        except Exception:  # noqa: BLE001 - no real view: the first verdict stands
            pass
    return msg


def _signed_zeros(t_out, e_out):
    """Where torch's floating result is -0.0, is ember's -0.0 too? (a message or None)"""
    for i, (a, b) in enumerate(zip(flat(t_out), flat(e_out))):
        if not (isinstance(a, torch.Tensor) and isinstance(b, ember.Tensor)):
            continue
        if not a.dtype.is_floating_point or a.dtype == torch.bfloat16:
            continue
        an = a.detach().numpy()
        bn = np.asarray(b.detach().numpy())
        if an.shape != bn.shape:
            continue
        neg_zero = (an == 0) & np.signbit(an)
        if np.any(neg_zero & ~np.signbit(bn)):
            return f"out {i}: -0.0 in torch is +0.0 in ember"
    return None


def _exceptions(where, t_exc, e_exc):
    if t_exc is None:
        return f"{where}: ember raised {type(e_exc).__name__}: {str(e_exc)[:150]}"
    if e_exc is None:
        return f"{where}: torch raised {type(t_exc).__name__}, ember did not ({str(t_exc)[:80]})"
    if type(t_exc) is not type(e_exc):
        return (f"{where}: exc {type(t_exc).__name__} vs {type(e_exc).__name__}: "
                f"{str(e_exc)[:120]}")
    return None


def _gradients(s, t_out, e_out, e_in, e_args, e_kwargs, where):
    """float64 vector-Jacobian products of torch and ember with the same random cotangents;
    a message or None."""
    tf = [o for o in flat(t_out) if isinstance(o, torch.Tensor) and o.requires_grad]
    ef = [o for o in flat(e_out) if isinstance(o, ember.Tensor) and o.requires_grad]
    if len(tf) != len(ef):
        return f"{where}: grad outputs {len(tf)} vs {len(ef)}"
    if not tf:
        return None
    t_leaves = [x for x in flat([s.input, list(s.args), list(s.kwargs.values())])
                if isinstance(x, torch.Tensor) and x.requires_grad]
    e_leaves = [x for x in flat([e_in, list(e_args), list(e_kwargs.values())])
                if isinstance(x, ember.Tensor) and x.requires_grad]
    if len(t_leaves) != len(e_leaves):
        return None
    rng = np.random.default_rng(0)
    ws = [rng.standard_normal(tuple(o.shape)) for o in tf]
    try:
        tg = torch.autograd.grad(sum((o * torch.tensor(w, dtype=o.dtype)).sum().real
                                     for o, w in zip(tf, ws)), t_leaves, allow_unused=True)
    except Exception:  # noqa: BLE001 - torch cannot differentiate this sample
        return None
    try:
        eg = ember.autograd.grad(sum((o * ember.tensor(w, dtype=o.dtype)).sum().real
                                     for o, w in zip(ef, ws)), e_leaves, allow_unused=True)
    except Exception as e:  # noqa: BLE001 - reported
        return f"{where}: ember grad raised {type(e).__name__}: {str(e)[:150]}"
    for j, (a, b) in enumerate(zip(tg, eg)):
        if a is None or b is None:
            if a is not None and a.abs().sum().item() != 0:
                return f"{where}: grad {j} None in ember"
            continue
        an, bn = a.numpy(force=True), b.numpy()
        if an.shape != bn.shape:
            return f"{where}: grad {j} shape {an.shape} vs {bn.shape}"
        if not np.array_equal(np.isnan(an), np.isnan(bn)):
            return (f"{where}: grad {j} NaN where the other is not ({np.isnan(an).sum()} NaNs "
                    f"in torch's, {np.isnan(bn).sum()} in ember's)")
        if not np.allclose(an, bn, rtol=1e-6, atol=1e-6, equal_nan=True):
            with np.errstate(invalid="ignore"):
                d = np.nanmax(np.abs(an - bn)) if an.size else 0
            return f"{where}: grad {j} differs (max abs {d:.3g})"
    return None


def _tolerances(dtype, t_out):
    """(rtol, atol): float64's where the samples and every floating result are double
    precision, float32's otherwise (windows and factories of float64 samples give the
    default float32)."""
    doubles = (torch.float64, torch.complex128)
    low = dtype not in doubles or any(
        isinstance(o, torch.Tensor) and (o.is_floating_point() or o.is_complex())
        and o.dtype not in doubles for o in flat(t_out))
    return (1e-4, 1e-5) if low else (1e-7, 1e-7)


class _NamedVariants:
    """An OpInfo's method and in-place variants as opinfo_sweep._variants reads them, less
    those torch gives only as lambdas (elu's in-place form calls F.elu(inplace=True)): they
    have no Tensor-method name to look up in ember."""

    def __init__(self, op):
        def named(fn):
            return fn if getattr(fn, "__name__", "<lambda>") != "<lambda>" else None
        self.method_variant = named(op.method_variant)
        self.inplace_variant = named(op.inplace_variant)


def check_sample(op, efn, s, dtype, where, req, problems):
    """Run one reference input `s` through torch's `op` and ember's `efn` (None: only the
    method/in-place forms) and append what differs to `problems`."""
    try:
        e_in, e_args, e_kwargs = to_ember(s.input), to_ember(s.args), to_ember(s.kwargs)
    except TypeError:           # an input ember has no form for (bfloat16, sparse, conj views)
        return
    named = _NamedVariants(op)
    if efn is None:
        rtol, atol = _tolerances(dtype, None)
        _variants(named, s, e_in, e_args, e_kwargs, where, rtol, atol, problems)
        return
    t_exc = e_exc = None
    try:
        t_out = op.op(s.input, *s.args, **s.kwargs)
    except Exception as e:  # noqa: BLE001 - compared below
        t_exc = e
    try:
        e_out = efn(e_in, *e_args, **e_kwargs)
    except Exception as e:  # noqa: BLE001 - compared below
        e_exc = e
    if t_exc is not None or e_exc is not None:
        msg = _exceptions(where, t_exc, e_exc)
        if msg:
            problems.append(msg)
        return
    rtol, atol = _tolerances(dtype, t_out)
    msg = compare_ref(t_out, e_out, rtol, atol) or _signed_zeros(t_out, e_out)
    if msg:
        problems.append(f"{where}: {msg}")
        return
    _variants(named, s, e_in, e_args, e_kwargs, where, rtol, atol, problems)
    if req:
        msg = _gradients(s, t_out, e_out, e_in, e_args, e_kwargs, where)
        if msg:
            problems.append(msg)


def _reference_samples(op, dtype, req):
    """The reference inputs of `op` in `dtype` (a list), and whether they require grad:
    some generators make integer operands with requires_grad, which torch refuses (clamp,
    addcmul); those run without gradients."""
    try:
        return list(op.reference_inputs("cpu", dtype, requires_grad=req)), req
    except ValueError:
        if not req:
            raise
        return list(op.reference_inputs("cpu", dtype, requires_grad=False)), False


def sweep_op(op, efn, grads=True):
    """All problems of one OpInfo over its reference inputs in DTYPES, and the number of
    samples run."""
    problems, n = [], 0
    for dtype in DTYPES:
        if dtype not in op.supported_dtypes("cpu"):
            continue
        req = grads and dtype == torch.float64 and op.supports_autograd and efn is not None
        try:
            samples, req = _reference_samples(op, dtype, req)
        except Exception as e:  # noqa: BLE001 - a generator torch cannot run here
            problems.append(f"{str(dtype)[6:]}: SWEEP CRASH {type(e).__name__}: {str(e)[:150]}")
            continue
        for k, s in enumerate(samples):
            n += 1
            try:
                check_sample(op, efn, s, dtype, f"{str(dtype)[6:]}#{k}", req, problems)
            except Exception as e:  # noqa: BLE001 - the probe's own failure, reported
                problems.append(f"{str(dtype)[6:]}#{k}: SWEEP CRASH {type(e).__name__}: "
                                f"{str(e)[:150]}")
    return problems, n


def run(ops_filter=None, all_ops=False, grads=True, verbose=True, path=None):
    """{op key: problems} over op_db (or the ops named in `ops_filter`); with `path` the
    report is rewritten there after each op, so a long sweep can be read while it runs."""
    # opinfo_sweep._variants compares through its module's `compare`: here the complex-aware
    # compare_ref, for the duration of the sweep
    import bench.opinfo_sweep as base
    base.compare = compare_ref
    try:
        return _run(ops_filter, all_ops, grads, verbose, path)
    finally:
        base.compare = compare


def _run(ops_filter, all_ops, grads, verbose, path):
    report = {}
    for op in op_db:
        if ops_filter and op.name not in ops_filter:
            continue
        if not all_ops and op.reference_inputs_func is None:
            continue
        if op.name in RANDOM:
            continue
        key = op.name + ("." + op.variant_test_name if op.variant_test_name else "")
        efn = resolve_ref(op)
        if efn == "MISSING":
            report[key] = {"problems": ["MISSING"], "count": 1, "samples": 0}
            continue
        t0 = time.perf_counter()
        problems, n = sweep_op(op, efn, grads)
        if verbose:
            print(f"{key:45s} {n:5d} samples {len(problems):4d} problems "
                  f"{time.perf_counter() - t0:6.1f}s", flush=True)
        if problems:
            report[key] = {"problems": problems[:MAX_PROBLEMS], "count": len(problems),
                           "samples": n}
        if path:
            with open(path, "w") as f:
                json.dump(report, f, indent=1)
    return report


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    rep = run(args[1:] or None, all_ops="--all" in sys.argv, path=args[0])
    print(len(rep), "ops with problems")
