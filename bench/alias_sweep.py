"""Probe: NumPy's parameter names (axis for dim, keepdims for keepdim, x/a/x1 for input, x2
for other) in torch and in ember, name by name.

For every public callable of torch, torch.linalg, torch.fft, torch.special,
torch.nn.functional and every named Tensor method that ember has too, and for each of the
four parameters in its signature (ember's, or torch's from torch.overrides), the probe
finds a call that works in torch with the parameter passed by its own name (the required
arguments filled by name from a few small tensors), then makes the same call with each
alias instead, in torch and in ember, and compares: accepted by both with the same result,
refused by both (TypeError), or a difference. It also passes the name and its alias
together (torch: TypeError). Writes the table to a JSON file and prints the counts.

A probe, not a test (what it can reach depends on its argument guesses):
    PYTHONPATH=/tmp/extra:. python -m bench.alias_sweep alias.json [names...]
"""
import inspect
import json
import re
import sys
import warnings

import torch

import ember

from .opinfo_sweep import RANDOM, compare, to_ember

warnings.filterwarnings("ignore")

ALIASES = {"dim": ("axis",), "keepdim": ("keepdims",), "input": ("x", "a", "x1"),
           "other": ("x2",)}

NAMESPACES = (("torch", torch, ember), ("torch.linalg", torch.linalg, ember.linalg),
              ("torch.fft", torch.fft, ember.fft), ("torch.special", torch.special, ember.special),
              ("torch.nn.functional", torch.nn.functional, ember.nn.functional),
              ("Tensor", torch.Tensor, ember.Tensor))

# calls with effects beyond their result, or too slow for a probe
SKIP = RANDOM | {"set_default_dtype", "set_default_tensor_type", "set_default_device",
                 "manual_seed", "seed", "set_rng_state", "use_deterministic_algorithms",
                 "set_printoptions", "save", "load", "compile", "vmap", "cond", "while_loop",
                 "set_num_threads", "set_num_interop_threads", "backward", "register_hook",
                 "share_memory_", "set_", "resize_", "record_stream", "pin_memory",
                 "set_flush_denormal", "set_warn_always", "set_anomaly_enabled",
                 "from_file", "lobpcg", "bernoulli_", "cauchy_", "exponential_",
                 "geometric_", "log_normal_", "normal_", "random_", "uniform_"}


def _inputs():
    """Candidate first arguments: float matrices (3x4 and square), a vector, a 3-d and
    a 4-d tensor (for the pooling and convolution functions), integer and bool tensors."""
    g = torch.Generator().manual_seed(0)
    return [torch.rand(3, 4, generator=g) + 0.5, torch.rand(3, 3, generator=g) + 0.5,
            torch.rand(4, generator=g) + 0.5, torch.rand(2, 3, 4, generator=g) + 0.5,
            torch.rand(1, 2, 4, 4, generator=g) + 0.5, torch.arange(12).reshape(3, 4),
            torch.arange(12).reshape(3, 4) > 5]


def _fill(name, t):
    """A torch value for a required parameter called `name`, given the first argument t;
    KeyError for names the probe cannot guess."""
    values = {
        "input": lambda: t, "self": lambda: t, "other": lambda: t.clone(), "A": lambda: t,
        "B": lambda: t.clone(), "x": lambda: t, "y": lambda: t.clone(),
        "tensors": lambda: [t, t.clone()], "tensor": lambda: t, "dim": lambda: 0,
        "dim0": lambda: 0, "dim1": lambda: -1, "dims": lambda: (0,), "keepdim": lambda: True,
        "index": lambda: torch.zeros_like(t, dtype=torch.long),
        "src": lambda: t.clone(), "source": lambda: t.clone(), "value": lambda: 1,
        "mask": lambda: t > t.flatten()[0], "k": lambda: 1, "n": lambda: 2, "p": lambda: 2.0,
        "q": lambda: 0.5, "start": lambda: 0, "length": lambda: 1, "end": lambda: 1,
        "size": lambda: tuple(t.shape), "shape": lambda: tuple(t.shape),
        "repeats": lambda: 2, "chunks": lambda: 2, "sections": lambda: 1,
        "indices_or_sections": lambda: 1, "split_size": lambda: 1, "split_size_or_sections": 1,
        "exponent": lambda: 2, "min": lambda: 0.1, "max": lambda: 0.9, "weight": lambda: t,
        "tensor1": lambda: t.clone(), "tensor2": lambda: t.clone(), "end_dim": lambda: -1,
        "start_dim": lambda: 0, "source_dim": lambda: 0, "destination": lambda: -1,
        "shifts": lambda: 1, "offset": lambda: 0, "diagonal": lambda: 0, "vec": lambda: t,
        "mat2": lambda: t.mT.clone(), "condition": lambda: t > t.flatten()[0],
        "sizes": lambda: tuple(t.shape), "ord": lambda: 2, "step": lambda: 1,
        "bins": lambda: 3, "lambd": lambda: 0.5, "threshold": lambda: 0.5, "correction": 1,
        "output_size": lambda: 1, "kernel_size": lambda: 1, "upscale_factor": lambda: 1,
        "downscale_factor": lambda: 1, "groups": lambda: 1, "num_classes": lambda: -1,
        "scale": lambda: 1.0, "x1": lambda: t, "x2": lambda: t.clone(), "end_value": 1,
    }
    v = values[name]
    return v() if callable(v) else v


def _signature_names(fn):
    try:
        return inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return {}


def _call_for(tfn, efn, method, param):
    """torch keyword arguments that pass `param` by its own name in a call torch answers
    (the required parameters filled in, and dim too for keepdim), or None."""
    overrides = torch.overrides.get_testing_overrides()
    sources = [_signature_names(efn)]
    if tfn in overrides:
        sources.append(_signature_names(overrides[tfn]))
    for params in sources:
        names = [n for n in params if params[n].kind in (inspect.Parameter.POSITIONAL_ONLY,
                                                         inspect.Parameter.POSITIONAL_OR_KEYWORD,
                                                         inspect.Parameter.KEYWORD_ONLY)]
        if param not in names:
            continue
        wanted = {param, "dim"} if param == "keepdim" else {param}
        for t in _inputs():
            try:
                kw = {n: _fill(n, t) for n in names
                      if params[n].default is inspect.Parameter.empty or n in wanted}
            except KeyError:
                break
            except Exception:  # noqa: BLE001 - a value this input cannot give (t.mT of a vector)
                continue
            if method:
                kw.pop(names[0], None)
                kw = {"self": t, **kw}
            if _run(tfn, kw, method)[0] == "ok":
                return kw
    for kw in _opinfo_calls(tfn, efn, method):
        if param in kw and _run(tfn, kw, method)[0] == "ok":
            return kw
    return None


PREFIX = {"torch": "", "torch.linalg": "linalg.", "torch.fft": "fft.",
          "torch.special": "special.", "torch.nn.functional": "nn.functional.", "Tensor": ""}


def _opinfo_calls(tfn, efn, method):
    """Keyword calls made of the first OpInfo samples of the op (its positional arguments
    named after ember's parameters), for the functions the guesses above do not reach."""
    from torch.testing._internal.common_methods_invocations import op_db
    qual = _CURRENT[0]
    params = _signature_names(efn)
    names = [n for n in params if params[n].kind in (inspect.Parameter.POSITIONAL_ONLY,
                                                     inspect.Parameter.POSITIONAL_OR_KEYWORD)]
    for op in op_db:
        if op.name != qual or (method and op.method_variant is None):
            continue
        try:
            samples = list(op.sample_inputs("cpu", torch.float32))[:4]
        except Exception:  # noqa: BLE001 - a generator torch cannot run here
            continue
        for smp in samples:
            positional = [smp.input, *smp.args]
            if len(positional) > len(names) or not isinstance(smp.input, torch.Tensor):
                continue
            kw = dict(zip(names, positional))
            kw.update(smp.kwargs)
            if method:
                kw = {"self": kw.pop(names[0]), **kw}
            yield kw


_CURRENT = [""]   # the OpInfo name of the callable being probed


def _run(fn, kw, method):
    """("ok", result) or (exception type name, message) of fn called by keyword (on
    copies of the tensors: in-place functions must not change the next call's inputs)."""
    kw = {k: _copy(v) for k, v in kw.items()}
    try:
        if method:
            self = kw.pop("self")
            with torch.no_grad(), ember.no_grad():
                return "ok", getattr(self, fn if isinstance(fn, str) else fn.__name__)(**kw)
        return "ok", fn(**kw)
    except Exception as e:  # noqa: BLE001 - a probe records every outcome
        return type(e).__name__, str(e)[:160]


def _copy(v):
    if isinstance(v, (torch.Tensor, ember.Tensor)):
        return v.clone()
    if isinstance(v, list):
        return [_copy(u) for u in v]
    return v


def _to_ember_kw(kw):
    out = {}
    for k, v in kw.items():
        v = v.clone() if isinstance(v, torch.Tensor) else v
        out[k] = to_ember(v)
    return out


def probe(ns, tns, ens, name):
    """The rows for one callable: one per (parameter, alias) found in a working call."""
    tfn, efn = getattr(tns, name), getattr(ens, name, None)
    method = ns == "Tensor"
    _CURRENT[0] = PREFIX[ns] + name
    if efn is None:
        return []
    rows = []
    found = {}
    for p in ALIASES:
        if not (method and p == "input"):
            kw = _call_for(tfn, efn, method, p)
            if kw is not None:
                found[p] = kw
    for p, kw in found.items():
        for alias in ALIASES[p]:
            if alias in kw:
                continue
            akw = {(alias if k == p else k): v for k, v in kw.items()}
            ecall = name if method else efn
            want = _run(tfn, kw, method)
            t = _run(tfn, akw, method)
            e = _run(ecall, _to_ember_kw(akw), method)
            both = dict(kw, **{alias: kw[p]})
            tb = _run(tfn, both, method)
            eb = _run(ecall, _to_ember_kw(both), method)
            row = {"ns": ns, "name": name, "param": p, "alias": alias,
                   "torch": t[0], "ember": e[0], "torch_both": tb[0], "ember_both": eb[0]}
            if t[0] == "ok" and e[0] == "ok":
                # a value difference is the alias's only when the call by name agrees
                e_want = _run(ecall, _to_ember_kw(kw), method)
                try:
                    diff = compare(t[1], e[1], 1e-5, 1e-6)
                    if diff and e_want[0] == "ok" and compare(want[1], e_want[1], 1e-5, 1e-6):
                        diff = None
                except Exception as exc:  # noqa: BLE001
                    diff = f"compare failed: {exc}"
                row["diff"] = diff
            if e[0] != "ok":
                row["ember_msg"] = e[1]
            if t[0] != "ok":
                row["torch_msg"] = t[1]
            rows.append(row)
    return rows


def parser_names(tfn, method):
    """The parameter names torch's C++ argument parser knows for `tfn` (from the message
    of a call it refuses), or None for a function written in Python."""
    if type(tfn).__name__ not in ("builtin_function_or_method", "method_descriptor"):
        return None
    try:
        if method:
            tfn(torch.ones(1), __probe=1)
        else:
            tfn(__probe=1)
    except TypeError as e:
        msg = str(e)
    except Exception:  # noqa: BLE001 - a message without the names
        return set()
    else:
        return set()
    names = set(re.findall(r'"(\w+)"', msg))
    for sig in re.findall(r"\* \((.*)\)", msg):
        for part in sig.split(","):
            words = part.split("=")[0].split()
            if words and words[-1] != "*":
                names.add(words[-1])
    return names


def renamed_parameters(only=None):
    """Functions whose ember parameter names miss one of the four names torch's parser
    reads (so the aliases of that name cannot be found by name): ns.name -> missing."""
    out = {}
    for ns, tns, ens in NAMESPACES:
        method = ns == "Tensor"
        for name in sorted(dir(tns)):
            if name.startswith("_") or (only and name not in only):
                continue
            tfn, efn = getattr(tns, name, None), getattr(ens, name, None)
            if efn is None or not callable(efn):
                continue
            names = parser_names(tfn, method)
            if not names:
                continue
            missing = (names & set(ALIASES)) - set(_signature_names(efn)) - \
                ({"input"} if method else set())
            if missing:
                out[f"{ns}.{name}"] = [sorted(missing), list(_signature_names(efn))[:3]]
    return out


def run(only=None):
    rows, untested = [], []
    for ns, tns, ens in NAMESPACES:
        for name in sorted(dir(tns)):
            if name.startswith("_") or name in SKIP or (only and name not in only):
                continue
            tfn = getattr(tns, name, None)
            if type(tfn).__name__ not in ("builtin_function_or_method", "method_descriptor",
                                          "function"):
                continue
            efn = getattr(ens, name, None)
            if efn is None or not callable(efn):
                continue
            params = set(_signature_names(efn))
            overrides = torch.overrides.get_testing_overrides()
            if tfn in overrides:
                params |= set(_signature_names(overrides[tfn]))
            if ns == "Tensor":
                params.discard("input")
            if not params & set(ALIASES):
                continue
            got = probe(ns, tns, ens, name)
            if not got:
                untested.append(f"{ns}.{name}")
            rows += got
    return rows, untested


def summary(rows):
    agree = [r for r in rows if r["torch"] == r["ember"] or
             (r["torch"] != "ok" and r["ember"] != "ok" and r["ember"] == "TypeError")]
    diff = [r for r in rows if r not in agree or r.get("diff")]
    both = [r for r in rows if (r["torch_both"] == "ok") != (r["ember_both"] == "ok")]
    return {"rows": len(rows),
            "torch_accepts": sum(r["torch"] == "ok" for r in rows),
            "ember_accepts": sum(r["ember"] == "ok" for r in rows),
            "both_accept": sum(r["torch"] == "ok" and r["ember"] == "ok" for r in rows),
            "differ": diff, "conflict_differ": both}


if __name__ == "__main__":
    rows, untested = run(set(sys.argv[2:]) or None)
    s = summary(rows)
    with open(sys.argv[1], "w") as f:
        json.dump({"summary": s, "untested": untested,
                   "renamed": renamed_parameters(set(sys.argv[2:]) or None), "rows": rows}, f,
                  indent=1)
    print({k: (len(v) if isinstance(v, list) else v) for k, v in s.items()},
          "untested", len(untested))
