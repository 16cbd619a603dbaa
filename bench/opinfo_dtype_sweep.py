"""Differential sweep over the dtypes bench/opinfo_sweep.py leaves out: torch's OpInfo samples
in float16, bfloat16, int32, int16, int8, uint8 and complex64, float32 gradients, the ops
torch's table names only through a lambda (in every dtype), and the dtypes an op has no CPU
kernel for (torch raises "not implemented for 'Half'": ember must raise too).

A probe for finding defects, not a test (its inputs change with torch's OpInfo tables):
    PYTHONPATH=/tmp/extra:. python -m bench.opinfo_dtype_sweep out.json [op names...]
(/tmp/extra holds `expecttest`, which torch.testing._internal imports.)

How it compares:
  * dtype and shape exactly; integer and bool values exactly; floating values at
    torch.testing's default tolerance for the dtype (float16 rtol 1e-3, bfloat16 rtol 1.6e-2,
    float32/complex64 rtol 1.3e-6, all atol 1e-5), half-precision results compared in float32;
  * float32 gradients of sum(out * w) for a fixed random w, at rtol 1e-4/atol 1e-5 (two
    float32 programs that add in a different order differ by more than 1.3e-6);
  * for a dtype outside `op.supported_dtypes('cpu')`: if torch raises, ember must raise the
    same exception type; if torch computes (the table is conservative), the values are
    compared as above.
A lambda op (``lambda x, shape: x.view(shape)``) is run on ember by calling the same lambda
with `torch` in its globals bound to ember, so it exercises exactly the method it names.
"""
import json
import sys
import types
import warnings

import ml_dtypes
import numpy as np
import torch
from torch.testing._internal.common_methods_invocations import op_db

import ember
from bench.opinfo_sweep import RANDOM, flat, resolve
from bench.opinfo_sweep import to_ember as _base_to_ember

warnings.filterwarnings("ignore")

NEW_DTYPES = (torch.float16, torch.bfloat16, torch.int32, torch.int16, torch.int8, torch.uint8,
              torch.complex64)
# the lambda-named ops were never swept, so they get the base sweep's dtypes as well
BASE_DTYPES = (torch.float64, torch.float32, torch.int64, torch.bool, torch.complex128)
ALL_DTYPES = NEW_DTYPES + BASE_DTYPES

# torch.testing.assert_close's default (rtol, atol) per dtype
TOLERANCE = {torch.float16: (1e-3, 1e-5), torch.bfloat16: (1.6e-2, 1e-5),
             torch.float32: (1.3e-6, 1e-5), torch.complex64: (1.3e-6, 1e-5),
             torch.float64: (1e-7, 1e-7), torch.complex128: (1e-7, 1e-7)}
GRAD_TOLERANCE = (1e-4, 1e-5)
# ops whose lambda cannot be rebound to ember (CUDA-only jiterator kernels)
SKIP = {"jiterator_unary", "jiterator_binary", "jiterator_4inputs_with_extra_args",
        "jiterator_binary_return_by_ref", "jiterator_2inputs_2outputs"}


def to_ember(x):
    """torch inputs -> ember inputs; unlike the base converter it carries bfloat16 tensors
    (through float32, which holds every bfloat16 value exactly)."""
    if isinstance(x, torch.Tensor) and x.dtype == torch.bfloat16 and x.layout == torch.strided:
        arr = x.detach().float().numpy().astype(ml_dtypes.bfloat16)
        t = ember.from_numpy(arr) if arr.ndim else ember.tensor(arr)
        return t.requires_grad_() if x.requires_grad else t
    if isinstance(x, (list, tuple)) and not hasattr(x, "_fields"):
        return type(x)(to_ember(v) for v in x)
    if isinstance(x, dict):
        return {k: to_ember(v) for k, v in x.items()}
    return _base_to_ember(x)


def _as_float_array(t):
    """A torch or ember tensor's values as a NumPy array; half precision widened to float32
    (NumPy cannot subtract bfloat16 arrays reliably)."""
    if isinstance(t, torch.Tensor):
        t = t.detach().resolve_conj().resolve_neg()
        if t.dtype in (torch.bfloat16, torch.float16):
            t = t.float()
        return t.numpy()
    arr = t.detach().numpy()
    if arr.dtype in (np.float16, np.dtype(ml_dtypes.bfloat16)):
        arr = arr.astype(np.float32)
    return arr


def _ulps(dtype, expected, actual):
    """", N ulp": the largest difference in units in the last place of half-precision
    `expected` (a result one rounding away from torch's is 1 ulp off), else ""."""
    eps = {torch.float16: 2.0 ** -10, torch.bfloat16: 2.0 ** -7}.get(dtype)
    if eps is None:
        return ""
    with np.errstate(all="ignore"):
        rtol, atol = TOLERANCE[dtype]
        bad = np.abs(expected - actual) > atol + rtol * np.abs(actual)   # allclose's test
        expected, actual = expected[bad], actual[bad]
        mag = np.maximum(np.abs(expected), {torch.float16: 6.1e-5}.get(dtype, 1.2e-38))
        ulp = eps * np.exp2(np.floor(np.log2(mag)))
        n = np.abs(expected - actual) / ulp
    n = n[np.isfinite(n)]
    return f", {np.max(n):.0f} ulp" if n.size else ""


def compare(t_out, e_out, dtype):
    """None when ember's outputs match torch's, else a one-line description."""
    tf, ef = flat(t_out), flat(e_out)
    if len(tf) != len(ef):
        return f"n outputs {len(tf)} vs {len(ef)}"
    for i, (a, b) in enumerate(zip(tf, ef)):
        if isinstance(a, torch.Tensor):
            if not isinstance(b, ember.Tensor):
                return f"out {i}: ember gave {type(b).__name__}"
            if a.layout != torch.strided:
                continue
            if tuple(a.shape) != tuple(b.shape):
                return f"out {i}: shape {tuple(a.shape)} vs {tuple(b.shape)}"
            if str(a.dtype)[6:] != str(b.dtype)[6:]:
                return f"out {i}: dtype {a.dtype} vs {b.dtype}"
            if a.dtype == torch.complex32:
                continue
            rtol, atol = TOLERANCE.get(a.dtype, TOLERANCE.get(dtype, (1.3e-6, 1e-5)))
            an, bn = _as_float_array(a), _as_float_array(b)
            if an.dtype.kind in "fc":
                if not np.allclose(an, bn, rtol=rtol, atol=atol, equal_nan=True):
                    with np.errstate(invalid="ignore"):
                        d = np.nanmax(np.abs(an - bn)) if an.size else 0
                    return f"out {i}: values differ (max abs {d:.3g}{_ulps(a.dtype, an, bn)})"
            elif not np.array_equal(an, bn):
                return f"out {i}: values differ"
        elif isinstance(a, (int, float, bool, complex)):
            if isinstance(b, ember.Tensor):
                b = b.item()
            rtol, atol = TOLERANCE.get(dtype, (0, 0))
            if not np.allclose(a, b, rtol=rtol, atol=atol, equal_nan=True):
                return f"out {i}: {a} vs {b}"
    return None


def _module_for(value):
    """The ember module standing in for torch module `value` (torch.nn.functional ->
    ember.nn.functional), or None."""
    name = value.__name__
    if name == "torch":
        return ember
    if not name.startswith("torch."):
        return None
    obj = ember
    for part in name.split(".")[1:]:
        obj = getattr(obj, part, None)
        if obj is None:
            return None
    return obj


def rebind(fn):
    """`fn` (a lambda from torch's OpInfo table) with every torch module in its globals
    replaced by ember's, so its body calls ember."""
    glb = dict(fn.__globals__)
    for key, value in fn.__globals__.items():
        if isinstance(value, types.ModuleType):
            sub = _module_for(value)
            if sub is not None:
                glb[key] = sub
    return types.FunctionType(fn.__code__, glb, fn.__name__, fn.__defaults__, fn.__closure__)


def ember_fn(op):
    """(callable running op on ember, whether op was lambda-named), or (None, _) when
    ember lacks the op, or (False, _) when the sweep cannot run it."""
    head = op.name.split(".")[0]
    if "." in op.name and not hasattr(ember, head):
        return None, False   # torch.masked.sum: the base resolver would fall back to ember.sum
    efn = resolve(op)
    if isinstance(efn, ember.dtype):   # Tensor.cfloat resolved to the dtype ember.cfloat
        efn = getattr(ember.Tensor, op.name, "MISSING")
    if efn is None:
        if op.name in SKIP or not isinstance(op.op, types.FunctionType):
            return False, True
        return rebind(op.op), True
    if efn == "MISSING":
        return None, False
    return efn, False


def _outcome(fn, *args, **kwargs):
    try:
        return fn(*args, **kwargs), None
    except Exception as e:  # noqa: BLE001 - compared by the caller
        return None, e


def _exc_problem(where, t_exc, e_exc):
    if t_exc is None:
        return f"{where}: ember raised {type(e_exc).__name__}: {str(e_exc)[:150]}"
    if e_exc is None:
        return f"{where}: torch raised {type(t_exc).__name__} ({str(t_exc)[:80]}), ember did not"
    if type(t_exc) is not type(e_exc):
        return (f"{where}: exc {type(t_exc).__name__} vs {type(e_exc).__name__}: "
                f"{str(e_exc)[:120]}")
    return None


def _grads(s, e_in, e_args, e_kwargs, t_out, e_out, where, problems):
    """float32 gradients of sum(out * w) with respect to every input that requires grad."""
    tf = [o for o in flat(t_out) if isinstance(o, torch.Tensor) and o.requires_grad]
    ef = [o for o in flat(e_out) if isinstance(o, ember.Tensor) and o.requires_grad]
    if len(tf) != len(ef):
        problems.append(f"{where}: grad outputs {len(tf)} vs {len(ef)}")
        return
    if not tf:
        return
    t_leaves = [x for x in flat([s.input, list(s.args), list(s.kwargs.values())])
                if isinstance(x, torch.Tensor) and x.requires_grad]
    e_leaves = [x for x in flat([e_in, list(e_args), list(e_kwargs.values())])
                if isinstance(x, ember.Tensor) and x.requires_grad]
    if len(t_leaves) != len(e_leaves):
        return
    rng = np.random.default_rng(0)
    ws = [rng.standard_normal(tuple(o.shape)).astype(np.float32) for o in tf]
    try:
        tg = torch.autograd.grad(sum((o * torch.tensor(w).to(o.dtype)).sum().real
                                     for o, w in zip(tf, ws)), t_leaves, allow_unused=True)
    except Exception:  # noqa: BLE001 - torch has no gradient here: nothing to compare
        return
    try:
        eg = ember.autograd.grad(sum((o * ember.tensor(w).to(o.dtype)).sum().real
                                     for o, w in zip(ef, ws)), e_leaves, allow_unused=True)
    except Exception as e:  # noqa: BLE001 - reported
        problems.append(f"{where}: ember grad raised {type(e).__name__}: {str(e)[:150]}")
        return
    rtol, atol = GRAD_TOLERANCE
    for j, (a, b) in enumerate(zip(tg, eg)):
        if a is None or b is None:
            if (a is None) != (b is None) and a is not None and a.abs().sum().item() != 0:
                problems.append(f"{where}: grad {j} None mismatch")
            continue
        if str(a.dtype)[6:] != str(b.dtype)[6:]:
            problems.append(f"{where}: grad {j} dtype {a.dtype} vs {b.dtype}")
            continue
        an, bn = _as_float_array(a), _as_float_array(b)
        if an.shape != bn.shape:
            problems.append(f"{where}: grad {j} shape {an.shape} vs {bn.shape}")
        elif not np.allclose(an, bn, rtol=rtol, atol=atol, equal_nan=True):
            problems.append(f"{where}: grad {j} differs (max abs "
                            f"{np.nanmax(np.abs(an - bn)):.3g})")


def _variants(op, s, e_in, e_args, e_kwargs, dtype, where, problems):
    """Tensor-method and in-place forms on copies of the input, without autograd."""
    for kind, t_fn in (("method", op.method_variant), ("inplace", op.inplace_variant)):
        name = getattr(t_fn, "__name__", None)
        if t_fn is None or name in (None, "<lambda>") or not isinstance(s.input, torch.Tensor):
            continue
        e_fn = getattr(ember.Tensor, name, None)
        if e_fn is None:
            problems.append(f"{where}: Tensor.{name} MISSING")
            continue
        t_x, e_x = s.input.detach().clone(), e_in.detach().clone()
        t_args = [a.detach() if isinstance(a, torch.Tensor) else a for a in s.args]
        e_args2 = [a.detach() if isinstance(a, ember.Tensor) else a for a in e_args]
        with torch.no_grad(), ember.no_grad():
            t_out, t_exc = _outcome(t_fn, t_x, *t_args, **s.kwargs)
            e_out, e_exc = _outcome(e_fn, e_x, *e_args2, **e_kwargs)
        if t_exc is not None or e_exc is not None:
            msg = _exc_problem(f"{where} {kind} {name}", t_exc, e_exc)
            if msg:
                problems.append(msg)
            continue
        msg = _differs(op, s, t_out, e_out, dtype)
        if msg is None and kind == "inplace":
            msg = _differs(op, s, t_x, e_x, dtype)
            if msg is None and e_out is not e_x:
                msg = "in-place result is not the input tensor"
        if msg:
            problems.append(f"{where} {kind} {name}: {msg}")


def _samples(op, dtype, requires_grad, limit):
    try:
        return list(op.sample_inputs("cpu", dtype, requires_grad=requires_grad))[:limit]
    except Exception:  # noqa: BLE001 - a sample generator torch cannot run for this dtype
        return []


def _widen(x, dtype):
    """torch inputs with their `dtype` tensors turned float64 (the reference's inputs)."""
    if isinstance(x, torch.Tensor):
        return x.detach().double() if x.dtype == dtype else x.detach()
    if isinstance(x, (list, tuple)) and not hasattr(x, "_fields"):
        return type(x)(_widen(v, dtype) for v in x)
    if isinstance(x, dict):
        return {k: _widen(v, dtype) for k, v in x.items()}
    return x


def _nearer_than_torch(op, s, t_out, e_out, dtype):
    """True when a half-precision result that differs from torch's is no farther than
    torch's from the float64 computation on the same (widened) inputs: torch's CPU kernel
    for half rounds intermediate values (log_softmax subtracts the max in float16), and
    ember, which computes in float32 and rounds once, is then the more accurate one.
    "No farther" is measured in units of the dtype's tolerance around the reference: ember
    must be within tolerance of it, or no worse than torch's worst element."""
    if dtype not in (torch.float16, torch.bfloat16):
        return False
    try:
        with torch.no_grad():
            ref = op.op(_widen(s.input, dtype), *_widen(s.args, dtype),
                        **_widen(s.kwargs, dtype))
    except Exception:  # noqa: BLE001 - no float64 reference: keep the difference
        return False
    for r, a, b in zip(flat(ref), flat(t_out), flat(e_out)):
        if not isinstance(a, torch.Tensor) or not a.dtype.is_floating_point:
            continue
        rn = r.detach().double().numpy() if isinstance(r, torch.Tensor) else np.asarray(r)
        an, bn = _as_float_array(a).astype(np.float64), _as_float_array(b).astype(np.float64)
        if rn.shape != an.shape:
            return False
        rtol, atol = TOLERANCE[dtype]
        with np.errstate(all="ignore"):   # errors in units of the dtype's tolerance
            scale = atol + rtol * np.abs(rn)
            t_err = np.nan_to_num(np.abs(an - rn) / scale)
            e_err = np.nan_to_num(np.abs(bn - rn) / scale)
        if e_err.size and np.max(e_err) > max(1.0, np.max(t_err)):
            return False
    return True


def _differs(op, s, t_out, e_out, dtype):
    """compare()'s verdict, except that half-precision values nearer the float64 result
    than torch's own are no defect (see _nearer_than_torch)."""
    msg = compare(t_out, e_out, dtype)
    if msg and "values differ" in msg and _nearer_than_torch(op, s, t_out, e_out, dtype):
        return None
    return msg


def _one_dtype(op, efn, dtype, supported, grads, problems, max_samples):
    req = grads and supported and dtype == torch.float32 and op.supports_autograd
    samples = _samples(op, dtype, req, max_samples if supported else 2)
    for k, s in enumerate(samples):
        where = f"{str(dtype)[6:]}{'' if supported else '(unsupported)'}#{k}"
        if s.kwargs.get("dropout_p", 0) or s.kwargs.get("p", 0) and "dropout" in op.name:
            continue   # random: torch's generator cannot be matched
        try:
            e_in, e_args, e_kwargs = to_ember(s.input), to_ember(s.args), to_ember(s.kwargs)
        except (TypeError, NotImplementedError):
            continue
        t_out, t_exc = _outcome(op.op, s.input, *s.args, **s.kwargs)
        e_out, e_exc = _outcome(efn, e_in, *e_args, **e_kwargs)
        if t_exc is not None or e_exc is not None:
            msg = _exc_problem(where, t_exc, e_exc)
            if msg:
                problems.append(msg)
            continue
        msg = _differs(op, s, t_out, e_out, dtype)
        if msg:
            problems.append(f"{where}: {msg}")
            continue
        _variants(op, s, e_in, e_args, e_kwargs, dtype, where, problems)
        if req:
            _grads(s, e_in, e_args, e_kwargs, t_out, e_out, where, problems)


def run(ops_filter=None, max_samples=6, grads=True, dtypes=None, progress=False):
    """{op key: [problems]} over op_db (or the ops named in ops_filter)."""
    report = {}
    for op in op_db:
        if ops_filter and op.name not in ops_filter:
            continue
        if op.name in RANDOM or op.name in SKIP:
            continue
        key = op.name + ("." + op.variant_test_name if op.variant_test_name else "")
        efn, lambda_named = ember_fn(op)
        if efn is False:
            continue
        if efn is None:
            report[key] = ["MISSING"]
            continue
        if progress:
            print(key, file=sys.stderr, flush=True)
        supported = op.supported_dtypes("cpu")
        problems = []
        for dtype in dtypes or ALL_DTYPES:
            in_table = dtype in supported
            # the base sweep already compares a name-resolved op in its dtypes; float32
            # runs again for its gradients (a wrong value would spoil them, so both run)
            if (in_table and dtype in BASE_DTYPES and dtype != torch.float32
                    and not lambda_named):
                continue
            try:
                _one_dtype(op, efn, dtype, in_table, grads, problems, max_samples)
            except Exception as e:  # noqa: BLE001 - one op's crash must not stop the sweep
                problems.append(f"{str(dtype)[6:]}: SWEEP CRASH {type(e).__name__}: "
                                f"{str(e)[:150]}")
        if problems:
            report[key] = problems[:8]
    return report


def summary(report):
    """{dtype: number of ops with a problem in that dtype}."""
    counts = {}
    for problems in report.values():
        seen = set()
        for p in problems:
            seen.add(p.split("#")[0].split(":")[0])
        for d in seen:
            counts[d] = counts.get(d, 0) + 1
    return dict(sorted(counts.items()))


if __name__ == "__main__":
    rep = run(sys.argv[2:] or None, progress=True)
    with open(sys.argv[1], "w") as f:
        json.dump(rep, f, indent=1)
    print(len(rep), "ops with problems;", summary(rep))
