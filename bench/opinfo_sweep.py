"""Differential sweep: torch's OpInfo sample inputs (torch.testing._internal's op_db, about
700 ops) run through torch and ember; writes the mismatches per op (values, dtypes,
shapes, exception types, float64 gradients) to a JSON file.

A probe for finding defects, not a test (its inputs change with torch's OpInfo tables):
    pip install expecttest      # torch.testing._internal needs it
    python -m bench.opinfo_sweep sweep.json [op names...]
Random ops are skipped; ops torch names only as lambdas (method variants) are not reached;
inputs that are views of a larger storage arrive as copies, so as_strided's partial-view
samples differ by construction.
"""
import json
import sys
import warnings

import numpy as np
import torch
from torch.testing._internal.common_methods_invocations import op_db

import ember

warnings.filterwarnings("ignore")
RANDOM = {"cauchy", "exponential", "geometric", "log_normal", "normal", "uniform", "bernoulli",
          "multinomial", "rand_like", "randint_like", "randn_like", "randint", "randn", "rand",
          "empty", "empty_like", "empty_strided", "new_empty", "new_empty_strided", "empty_permuted",
          "nn.functional.dropout", "nn.functional.dropout2d", "nn.functional.dropout3d",
          "nn.functional.alpha_dropout", "nn.functional.feature_alpha_dropout",
          "nn.functional.rrelu", "poisson", "nn.functional.fractional_max_pool2d",
          "nn.functional.fractional_max_pool3d", "nn.functional.gumbel_softmax",
          "svd_lowrank", "pca_lowrank", "nn.functional.multi_head_attention_forward",
          "torch.ops.aten._efficient_attention_forward", "item", "randperm"}


def resolve(op):
    fn = op.op
    name = getattr(fn, "__name__", None)
    if name is None or name == "<lambda>":
        # method variants: try Tensor.method
        return None
    parts = op.name.split(".")
    obj = ember
    try:
        for p in parts:
            obj = getattr(obj, p)
        return obj
    except AttributeError:
        pass
    try:
        return getattr(ember, name)
    except AttributeError:
        return "MISSING"


def to_ember(x):
    if isinstance(x, torch.Tensor):
        if x.dtype == torch.bfloat16 or x.layout != torch.strided or x.is_conj() or x.is_neg():
            raise TypeError("unsupported input")
        arr = x.detach().resolve_conj().numpy().copy()
        t = ember.from_numpy(arr) if arr.ndim else ember.tensor(arr)
        if x.requires_grad:
            t.requires_grad_()
        return t
    if isinstance(x, torch.dtype):
        return getattr(ember, str(x).split(".")[1])
    if isinstance(x, torch.device):
        return ember.device(str(x))
    if isinstance(x, torch.Size):
        return tuple(x)
    if isinstance(x, (list, tuple)):
        return type(x)(to_ember(v) for v in x) if not hasattr(x, "_fields") else x
    if isinstance(x, dict):
        return {k: to_ember(v) for k, v in x.items()}
    if x is torch.strided or isinstance(x, torch.memory_format) or isinstance(x, torch.layout):
        return getattr(ember, str(x).split(".")[1])
    if callable(x) and getattr(x, "__module__", "").startswith("torch"):
        raise TypeError("callable arg")
    return x


def flat(out):
    if isinstance(out, (tuple, list)):
        r = []
        for o in out:
            r += flat(o)
        return r
    return [out]


def compare(t_out, e_out, rtol, atol):
    tf, ef = flat(t_out), flat(e_out)
    if len(tf) != len(ef):
        return f"n outputs {len(tf)} vs {len(ef)}"
    for i, (a, b) in enumerate(zip(tf, ef)):
        if isinstance(a, torch.Tensor):
            if not isinstance(b, ember.Tensor):
                return f"out {i}: ember gave {type(b).__name__}"
            if tuple(a.shape) != tuple(b.shape):
                return f"out {i}: shape {tuple(a.shape)} vs {tuple(b.shape)}"
            if str(a.dtype)[6:] != str(b.dtype)[6:]:
                return f"out {i}: dtype {a.dtype} vs {b.dtype}"
            if a.dtype == torch.bfloat16:
                continue
            an = a.detach().resolve_conj().resolve_neg().numpy()
            bn = b.detach().numpy()
            if an.dtype.kind in "fc":
                if not np.allclose(an, bn, rtol=rtol, atol=atol, equal_nan=True):
                    d = np.nanmax(np.abs(an - bn)) if an.size else 0
                    return f"out {i}: values differ (max abs {d:.3g})"
            elif not np.array_equal(an, bn):
                return f"out {i}: values differ"
        elif isinstance(a, (int, float, bool, complex)):
            if isinstance(b, ember.Tensor):
                b = b.item()
            if not np.allclose(a, b, rtol=rtol, atol=atol, equal_nan=True):
                return f"out {i}: {a} vs {b}"
    return None


def run(ops_filter=None, max_samples=6, grads=True):
    report = {}
    for op in op_db:
        if ops_filter and op.name not in ops_filter:
            continue
        key = op.name + ("." + op.variant_test_name if op.variant_test_name else "")
        if op.name in RANDOM:
            continue
        efn = resolve(op)
        if efn is None:
            continue
        if efn == "MISSING":
            report[key] = ["MISSING"]
            continue
        problems = []
        try:
            _one(op, efn, problems, max_samples, grads)
        except Exception as e:  # noqa
            problems.append(f"SWEEP CRASH {type(e).__name__}: {str(e)[:150]}")
        if problems:
            report[key] = problems[:5]
    return report


def _one(op, efn, problems, max_samples, grads):
    """Append to `problems` every mismatch of op `op` (ember function `efn`) over its
    samples in each dtype it supports."""
    for dtype in (torch.float64, torch.float32, torch.int64, torch.bool, torch.complex128):
        if dtype not in op.supported_dtypes("cpu"):
            continue
        req = grads and dtype in (torch.float64,) and op.supports_autograd
        try:
            samples = list(op.sample_inputs("cpu", dtype, requires_grad=req))[:max_samples]
        except Exception:  # noqa: BLE001 - a sample generator torch cannot run here
            continue
        for k, s in enumerate(samples):
            try:
                e_in = to_ember(s.input)
                e_args = to_ember(s.args)
                e_kwargs = to_ember(s.kwargs)
            except TypeError:
                continue
            t_exc = e_exc = None
            try:
                t_out = op.op(s.input, *s.args, **s.kwargs)
            except Exception as e:  # noqa
                t_exc = e
            try:
                e_out = efn(e_in, *e_args, **e_kwargs)
            except NotImplementedError as e:
                e_exc = e
            except Exception as e:  # noqa
                e_exc = e
            where = f"{str(dtype)[6:]}#{k}"
            if t_exc is not None or e_exc is not None:
                if t_exc is None:
                    problems.append(f"{where}: ember raised {type(e_exc).__name__}: "
                                    f"{str(e_exc)[:150]}")
                elif e_exc is None:
                    problems.append(f"{where}: torch raised {type(t_exc).__name__}, ember "
                                    f"did not")
                elif type(t_exc) is not type(e_exc):
                    problems.append(f"{where}: exc {type(t_exc).__name__} vs "
                                    f"{type(e_exc).__name__}")
                continue
            rtol, atol = (1e-7, 1e-7) if dtype in (torch.float64, torch.complex128) else (1e-4, 1e-5)
            msg = compare(t_out, e_out, rtol, atol)
            if msg:
                problems.append(f"{where}: {msg}")
                continue
            _variants(op, s, e_in, e_args, e_kwargs, where, rtol, atol, problems)
            if req:
                tf = [o for o in flat(t_out) if isinstance(o, torch.Tensor) and o.requires_grad]
                ef = [o for o in flat(e_out) if isinstance(o, ember.Tensor) and o.requires_grad]
                if len(tf) != len(ef):
                    problems.append(f"{where}: grad outputs {len(tf)} vs {len(ef)}")
                    continue
                if not tf:
                    continue
                t_leaves = [x for x in flat([s.input, list(s.args), list(s.kwargs.values())])
                            if isinstance(x, torch.Tensor) and x.requires_grad]
                e_leaves = [x for x in flat([e_in, list(e_args), list(e_kwargs.values())])
                            if isinstance(x, ember.Tensor) and x.requires_grad]
                if len(t_leaves) != len(e_leaves):
                    continue
                rng = np.random.default_rng(0)
                ws = [rng.standard_normal(tuple(o.shape)) for o in tf]
                try:
                    tg = torch.autograd.grad(sum((o * torch.tensor(w, dtype=o.dtype)).sum().real
                                                 for o, w in zip(tf, ws)), t_leaves,
                                             allow_unused=True)
                except Exception:  # noqa
                    continue
                try:
                    eg = ember.autograd.grad(sum((o * ember.tensor(w, dtype=o.dtype)).sum().real
                                                 for o, w in zip(ef, ws)), e_leaves,
                                             allow_unused=True)
                except Exception as e:  # noqa
                    problems.append(f"{where}: ember grad raised {type(e).__name__}: "
                                    f"{str(e)[:150]}")
                    continue
                for j, (a, b) in enumerate(zip(tg, eg)):
                    if a is None and b is None:
                        continue
                    if a is None or b is None:
                        if a is not None and not a.abs().sum().item() == 0:
                            problems.append(f"{where}: grad {j} None mismatch")
                        continue
                    if not np.allclose(a.numpy(force=True), b.numpy(), rtol=1e-6, atol=1e-6,
                                       equal_nan=True):
                        problems.append(f"{where}: grad {j} differs (max abs "
                                        f"{np.nanmax(np.abs(a.numpy(force=True) - b.numpy())):.3g})")


def _variants(op, s, e_in, e_args, e_kwargs, where, rtol, atol, problems):
    """The Tensor-method and in-place forms (x.op(...), x.op_(...)) on copies of the input,
    without autograd: same results (and, in place, the input itself updated) or the same
    exception types."""
    for kind, t_fn in (("method", op.method_variant), ("inplace", op.inplace_variant)):
        name = getattr(t_fn, "__name__", None)
        if t_fn is None or name is None or not isinstance(s.input, torch.Tensor):
            continue
        e_fn = getattr(ember.Tensor, name, None)
        if e_fn is None:
            problems.append(f"{where}: Tensor.{name} MISSING")
            continue
        t_x = s.input.detach().clone()
        e_x = e_in.detach().clone()
        t_exc = e_exc = None
        with torch.no_grad(), ember.no_grad():
            try:
                t_out = t_fn(t_x, *[a.detach() if isinstance(a, torch.Tensor) else a
                                    for a in s.args], **s.kwargs)
            except Exception as e:  # noqa: BLE001 - compared below
                t_exc = e
            try:
                e_out = e_fn(e_x, *[a.detach() if isinstance(a, ember.Tensor) else a
                                    for a in e_args], **e_kwargs)
            except Exception as e:  # noqa: BLE001 - compared below
                e_exc = e
        if t_exc is not None or e_exc is not None:
            if (t_exc is None) != (e_exc is None) or type(t_exc) is not type(e_exc):
                problems.append(f"{where} {kind} {name}: exc "
                                f"{type(t_exc).__name__ if t_exc else None} vs "
                                f"{type(e_exc).__name__ if e_exc else None}: "
                                f"{str(e_exc or t_exc)[:120]}")
            continue
        msg = compare(t_out, e_out, rtol, atol)
        if msg is None and kind == "inplace":
            msg = compare(t_x, e_x, rtol, atol)
            if msg is None and e_out is not e_x:
                msg = "in-place result is not the input tensor"
        if msg:
            problems.append(f"{where} {kind} {name}: {msg}")


if __name__ == "__main__":
    ops = sys.argv[2:] or None
    rep = run(ops)
    with open(sys.argv[1], "w") as f:
        json.dump(rep, f, indent=1)
    print(len(rep), "ops with problems")
