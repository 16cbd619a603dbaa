"""Error-input sweep: torch's OpInfo `error_inputs` (bad inputs for which torch's own test
suite expects a given exception type and message regex, about 226 ops) run through torch
and ember; writes the mismatches per op to a JSON file and prints counts by category.

A probe for finding defects, not a test (its inputs change with torch's OpInfo tables):
    PYTHONPATH=/tmp/extra:. python -m bench.opinfo_errors_sweep errors.json [op names...]

Each error input is tried in the function form and, where the op has them, the Tensor
method and in-place method forms. Categories, worst first:
  no_raise   ember returned where torch raised
  raw        ember raised another type than torch, and the exception was not raised by an
             explicit `raise` in ember (a NumPy/Python-internal error leaking out)
  wrong_type ember raised another type than torch, from its own `raise`
  message    same type, but torch's error_regex does not match ember's message (softer)
  missing    ember has no such function or method (not an error-handling defect)
Ops torch gives as lambdas over torch (`lambda x, shape: x.view(shape)`) run with `torch`
bound to ember.
Inputs ember cannot take (CUDA/meta tensors, bfloat16, callables from torch) are counted as
skipped; sparse error inputs (`error_inputs_sparse`) are out of scope.
"""
import json
import linecache
import os
import re
import signal
import sys
import types
import warnings
from collections import Counter

import torch
from torch.testing._internal.common_methods_invocations import op_db

import ember
from bench.opinfo_sweep import resolve, to_ember

warnings.filterwarnings("ignore")
CATEGORIES = ("no_raise", "raw", "wrong_type", "message")
_EMBER_DIR = os.path.dirname(os.path.abspath(ember.__file__))


class _Timeout(Exception):
    pass


def _alarm(signum, frame):
    raise _Timeout()


def _explicit_raise(exc):
    """True when the innermost frame of `exc`'s traceback is ember code on a `raise` line,
    that is ember refused the input itself rather than NumPy or Python doing it for it."""
    tb = exc.__traceback__
    if tb is None:
        return False
    while tb.tb_next is not None:
        tb = tb.tb_next
    filename = tb.tb_frame.f_code.co_filename
    if not os.path.abspath(filename).startswith(_EMBER_DIR):
        return False
    # a `raise` statement may span lines: look back a few lines for its start
    for lineno in range(tb.tb_lineno, max(tb.tb_lineno - 6, 0), -1):
        line = linecache.getline(filename, lineno).strip()
        if line.startswith("raise"):
            return True
        if lineno != tb.tb_lineno and line.endswith((":", ")")) and "raise" not in line:
            break
    return False


def _call(fn, args, kwargs, timeout=10):
    """fn(*args, **kwargs) -> the exception it raised, or None when it returned."""
    signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(timeout)
    try:
        fn(*args, **kwargs)
    except _Timeout:
        return _Timeout("timed out")
    except Exception as e:  # noqa: BLE001 - the exception is what we compare
        return e
    finally:
        signal.alarm(0)
    return None


def _matches(regex, message):
    """`regex` found in `message`, reading `torch.` in it as `ember.` too (ember's dtype
    and layout reprs say `ember.float32` where torch's say `torch.float32`)."""
    if re.search(regex, message):
        return True
    return bool(re.search(regex.replace("torch", "ember"), message))


def classify(t_exc, e_exc, regex):
    """Compare ember's outcome `e_exc` with torch's exception `t_exc` and the expected
    `regex`: None when they agree, else (category, detail). The message is compared only
    where torch's own message matches the regex (the method form of an op can fail earlier
    than the function form the regex was written for)."""
    if e_exc is None:
        return "no_raise", f"torch {type(t_exc).__name__}: {str(t_exc)[:120]}"
    if isinstance(e_exc, _Timeout):
        return "no_raise", "ember timed out"
    if type(e_exc) is not type(t_exc):
        kind = "wrong_type" if _explicit_raise(e_exc) else "raw"
        return kind, (f"{type(t_exc).__name__} vs {type(e_exc).__name__}: "
                      f"{str(e_exc)[:150]}")
    if regex and re.search(regex, str(t_exc)) and not _matches(regex, str(e_exc)):
        return "message", f"/{regex[:80]}/ vs {str(e_exc)[:150]!r}"
    return None


def _seedless(fn, *args, **kwargs):
    return fn(*args, **kwargs)


def _ember_lambda(fn):
    """An OpInfo op given as a lambda over torch (`lambda x, shape: x.view(shape)`,
    `lambda w, idx: torch.nn.functional.embedding(idx, w)`) rebuilt with `torch` bound to
    ember in its globals; None for one that closes over other values."""
    code = getattr(fn, "__code__", None)
    if code is None or code.co_freevars:
        return None
    glob = dict(fn.__globals__, torch=ember, wrapper_set_seed=_seedless)
    return types.FunctionType(code, glob, fn.__name__, fn.__defaults__)


def _tensors(x):
    """The torch tensors in a sample's (nested) arguments."""
    if isinstance(x, torch.Tensor):
        return [x]
    if isinstance(x, (list, tuple)):
        return [t for v in x for t in _tensors(v)]
    if isinstance(x, dict):
        return [t for v in x.values() for t in _tensors(v)]
    return []


def _storage_key(t):
    return t.untyped_storage().data_ptr(), t.dtype


def _aliased(t):
    """Whether ember must see `t` as a view: it shares storage with another argument, or
    its own elements overlap (an expanded `out=`), which error inputs test on purpose."""
    return t.layout == torch.strided and any(
        st == 0 and n > 1 for n, st in zip(t.shape, t.stride()))


def to_ember_sample(s):
    """(input, args, kwargs) of SampleInput `s` as ember values. Tensors sharing a storage
    in torch share one in ember (as_strided views of a copy of that storage), so that the
    error inputs about overlapping `out=` tensors mean the same. torch's own tensors are
    never handed to .numpy() (that would make their storage non-resizable, and torch would
    then fail for that reason instead)."""
    tensors = _tensors([s.input, s.args, s.kwargs])
    seen = Counter(_storage_key(t) for t in tensors if t.numel())
    shared = {k for k, n in seen.items() if n > 1}
    bases = {}
    made = {}   # id of a torch tensor -> its ember tensor: one object stays one object

    def conv(x):
        if isinstance(x, torch.Tensor):
            if id(x) not in made:
                made[id(x)] = conv_tensor(x)
            return made[id(x)]
        if isinstance(x, (list, tuple)) and not hasattr(x, "_fields"):
            return type(x)(conv(v) for v in x)
        if isinstance(x, dict):
            return {k: conv(v) for k, v in x.items()}
        return to_ember(x)

    def conv_tensor(x):
        if x.device.type != "cpu":
            raise TypeError("not a CPU tensor")
        if x.numel() and (_storage_key(x) in shared or _aliased(x)):
            key = _storage_key(x)
            if key not in bases:
                n = x.untyped_storage().nbytes() // x.element_size()
                flat = torch.as_strided(x.detach(), (n,), (1,), 0).clone()
                bases[key] = to_ember(flat)
            e = ember.as_strided(bases[key], tuple(x.shape), x.stride(), x.storage_offset())
            return e.requires_grad_() if x.requires_grad else e
        c = x.detach().clone()
        return to_ember(c.requires_grad_() if x.requires_grad else c)

    return conv(s.input), conv(s.args), conv(s.kwargs)


def _forms(op, efn, sample):
    """(form name, torch callable, ember callable) for the function form and the Tensor
    method form of `op`."""
    forms = []
    if efn is not None and efn != "MISSING":
        forms.append(("function", op.op, efn))
    elif efn is None and getattr(op.op, "__name__", None) == "<lambda>":
        lam = _ember_lambda(op.op)
        if lam is not None:
            forms.append(("lambda", op.op, lam))
    for kind, variant in (("method", op.method_variant), ("inplace", op.inplace_variant)):
        name = getattr(variant, "__name__", None)
        if variant is None or not name or name == "<lambda>" or \
                not isinstance(sample.input, torch.Tensor):
            continue
        e_method = getattr(ember.Tensor, name, None)
        forms.append((kind, variant, "MISSING" if e_method is None else e_method))
    return forms


def run(ops_filter=None):
    """-> (report {op key: [problems]}, counters)."""
    report = {}
    counts = Counter()
    for op in op_db:
        if op.error_inputs_func is None or (ops_filter and op.name not in ops_filter):
            continue
        key = op.name + ("." + op.variant_test_name if op.variant_test_name else "")
        # dunder ops (__radd__) exist only as Tensor methods: tried in the method form
        efn = None if op.name.startswith("__") else resolve(op)
        problems = []
        try:
            error_inputs = list(op.error_inputs("cpu"))
        except Exception as e:  # noqa: BLE001 - a generator torch cannot run here
            counts["generator_failed"] += 1
            continue
        for k, ei in enumerate(error_inputs):
            s = ei.sample_input
            try:
                e_in, e_args, e_kwargs = to_ember_sample(s)
            except (TypeError, RuntimeError, ValueError):
                counts["skipped"] += 1
                continue
            for form, t_fn, e_fn in _forms(op, efn, s):
                counts["tried"] += 1
                if e_fn == "MISSING":
                    problems.append(("missing", f"#{k} {form}: not in ember"))
                    continue
                t_exc = _call(t_fn, (s.input,) + tuple(s.args), s.kwargs)
                if t_exc is None:
                    counts["torch_did_not_raise"] += 1
                    continue
                e_exc = _call(e_fn, (e_in,) + tuple(e_args), e_kwargs)
                verdict = classify(t_exc, e_exc, ei.error_regex)
                if verdict is not None:
                    problems.append((verdict[0], f"#{k} {form}: {verdict[1]}"))
            if not _forms(op, efn, s):
                counts["unreached"] += 1
        if efn == "MISSING":
            problems.append(("missing", "function form not in ember"))
        if problems:
            report[key] = problems
    return report, counts


def summary(report):
    """Ops with any mismatch, and ops per category (an op counts once per category)."""
    by_cat = Counter()
    for problems in report.values():
        for cat in {p[0] for p in problems}:
            by_cat[cat] += 1
    return {"ops_with_any_mismatch": len(report),
            "ops_with_type_mismatch": sum(
                1 for ps in report.values()
                if any(p[0] in ("no_raise", "raw", "wrong_type") for p in ps)),
            "ops_by_category": dict(by_cat),
            "inputs_by_category": dict(Counter(p[0] for ps in report.values() for p in ps))}


if __name__ == "__main__":
    ops = sys.argv[2:] or None
    rep, counts = run(ops)
    summ = summary(rep)
    with open(sys.argv[1], "w") as f:
        json.dump({"summary": summ, "counts": dict(counts),
                   "ops": {k: [f"{c}: {d}" for c, d in v] for k, v in sorted(rep.items())}},
                  f, indent=1)
    print(json.dumps(summ, indent=1))
    print(dict(counts))
