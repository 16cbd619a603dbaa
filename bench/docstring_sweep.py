"""Differential sweep: the runnable examples in PyTorch's own docstrings (``>>> torch.add(a, 20)``
and the like) run once on torch and once on ember (``import ember as torch``), compared
statement by statement; writes every docstring's statements and verdicts to a JSON file and
prints a summary.

A probe for finding defects, not a test (its inputs change with torch's docstrings):
    nice -n 5 python -m bench.docstring_sweep docstrings.json [name substrings...]

How it runs. The examples are collected with ``doctest.DocTestParser`` from the docstrings of
the public API (``torch.*`` incl. the functions documented through ``_torch_docs``,
``torch.Tensor.*``, ``torch.nn`` classes and their methods, ``torch.nn.functional``,
``torch.linalg``, ``torch.fft``, ``torch.special``, ``torch.distributions``, ``torch.optim``,
``torch.utils.data``, ``torch.autograd``, ``torch.func`` ...). Each docstring's block runs
twice in fresh namespaces holding ``torch``, ``nn`` and ``F`` (as PyTorch's own doctest
setup gives them): once bound to torch, once to ember, where every ``import torch...``
inside the example imports ``ember...`` instead (real torch cannot be reached from the
example). Both start from ``manual_seed(0)`` and default global state. xdoctest's ``+SKIP``
and ``+REQUIRES`` (CUDA, quantized engines, hub ...) are honoured.

Per statement the exception type (or none) and the printed/echoed text are compared, with
``ember`` read as ``torch`` and addresses blanked; texts that differ only in digits (and
their padding) match when the numbers agree to print precision. Each mismatch is classed:
  a  random values: torch's RNG was drawn from at or before the statement (ember's generator
     does not reproduce torch's stream)
  b  missing feature: ember raised AttributeError / NotImplementedError / ImportError
  c  wrong value, dtype, shape or repr
  d  wrong exception (ember raised where torch did not, or another type, or did not raise
     where the docstring shows torch raising)
  e  the example is broken in torch too (torch raised where its docstring shows no error)
  cascade  after an ember-only exception in the same block (the namespaces diverged)
"""
import argparse
import builtins
import doctest
import importlib
import inspect
import io
import itertools
import json
import math
import os
import re
import signal
import sys
import tempfile
import time
import types
import warnings
from collections import Counter

import numpy as np
import torch

import ember

from .textcompare import _skeleton, normalize, same_text

warnings.filterwarnings("ignore")

# The namespaces searched, by public name. Whole families that need hardware or services
# (cuda, distributed, onnx, export/compile, quantization) are left out.
MODULES = [
    "torch.Tensor", "torch", "torch.nn", "torch.nn.functional", "torch.nn.init",
    "torch.nn.utils", "torch.nn.utils.rnn", "torch.nn.utils.parametrize",
    "torch.nn.utils.parametrizations", "torch.nn.utils.prune", "torch.nn.utils.stateless",
    "torch.nn.attention", "torch.linalg", "torch.fft", "torch.special", "torch.distributions",
    "torch.distributions.constraints", "torch.distributions.transforms",
    "torch.distributions.kl", "torch.optim", "torch.optim.lr_scheduler",
    "torch.optim.swa_utils", "torch.utils.data", "torch.autograd", "torch.autograd.functional",
    "torch.autograd.forward_ad", "torch.autograd.graph", "torch.func", "torch.random",
    "torch.masked", "torch.signal.windows", "torch.utils.checkpoint", "torch.testing",
    "torch.amp", "torch.sparse", "torch.utils.hooks", "torch.overrides", "torch.storage",
    "torch.serialization", "torch.jit", "torch.profiler", "torch.utils.dlpack",
    "torch.utils.benchmark", "torch.backends",
]

BLOCK_TIMEOUT = 60   # seconds per docstring block and per library
RUN_SKIPPED = False  # --run-skipped: run the examples xdoctest is told to skip, too


class SweepTimeout(BaseException):
    """Raised by the alarm: a BaseException, so that an example's ``except Exception``
    does not swallow it."""


# ----------------------------------------------------------------------------------------
# collection

def _own_members(obj, prefix):
    """(qualified name, object) of the public members a class or module defines itself."""
    if isinstance(obj, types.ModuleType):
        names = sorted(set(getattr(obj, "__all__", ()))
                       | {n for n in dir(obj) if not n.startswith("_")})
        for n in names:
            try:
                v = getattr(obj, n)
            except Exception:  # noqa: BLE001 - lazy attributes that fail to load
                continue
            if isinstance(v, types.ModuleType):
                continue
            mod = getattr(v, "__module__", None) or ""
            if (callable(v) or isinstance(v, type)) and not (
                    mod.startswith("torch") or mod == "" or obj.__name__ == "torch"):
                continue
            yield f"{prefix}.{n}", v
    elif obj is torch.Tensor:   # its C methods live on the base class
        for n in dir(obj):
            if not n.startswith("_") or n in ("__init__", "__call__"):
                yield f"{prefix}.{n}", getattr(obj, n)
    else:
        for n, v in vars(obj).items():
            if n.startswith("_") and n not in ("__init__", "__call__"):
                continue
            if isinstance(v, (staticmethod, classmethod)):
                v = v.__func__
            if isinstance(v, property):
                v = v.fget
            if isinstance(v, type):   # a class held as an attribute (cls_to_become)
                continue
            yield f"{prefix}.{n}", v


def collect(filters=None):
    """[{"name", "home", "public", "examples": [{"source", "want", "skip"}]}] for every
    docstring that has examples, deduplicated (one docstring reached under several names
    counts once). `home` is the module that defines the object (the examples run in its
    globals, as doctest and xdoctest run them), `public` the namespace it was found in."""
    parser = doctest.DocTestParser()
    seen = set()
    out = []

    def add(name, obj, home, public):
        doc = getattr(obj, "__doc__", None)
        if not isinstance(doc, str) or ">>>" not in doc or doc in seen:
            return
        seen.add(doc)
        if filters and not any(f in name for f in filters):
            return
        try:
            examples = parser.get_examples(_xdoctest_to_doctest(inspect.cleandoc(doc)), name)
        except ValueError:   # malformed doctest markup
            return
        examples = _with_skips(examples)
        if examples:
            out.append({"name": name, "home": home if home in sys.modules else public,
                        "public": public, "examples": examples})

    for modname in MODULES:
        try:
            obj = torch.Tensor if modname == "torch.Tensor" else importlib.import_module(modname)
        except Exception:  # noqa: BLE001 - a namespace this torch build lacks
            continue
        public = "torch" if modname == "torch.Tensor" else modname
        add(modname, obj, public, public)
        for name, v in _own_members(obj, modname):
            home = getattr(v, "__module__", None) or public
            if obj is torch.Tensor:
                home = "torch"
            add(name, v, home, public)
            if isinstance(v, type) and (v.__module__ or "").startswith("torch"):
                for mname, m in _own_members(v, name):
                    add(mname, m, v.__module__, public)
    return out


_PROMPT = re.compile(r"^(\s*)>>>( *)(.*)$")
_DIRECTIVE_LINE = re.compile(r"^\s*#\s*x?doctest:\s*\+")


def _xdoctest_to_doctest(doc):
    """xdoctest's markup in plain doctest's: continuation lines written with ``>>>``
    (an indented body, a decorated def, a blank line inside a block) become ``...``, and a
    directive alone on its line (``>>> # xdoctest: +SKIP``, which doctest would drop as a
    comment) becomes a marker statement that `_with_skips` reads."""
    lines = doc.splitlines()
    res = []
    prev_code = None     # source of the previous prompt line, if the previous line was one
    for line in lines:
        m = _PROMPT.match(line)
        if not m:
            res.append(line)
            prev_code = None
            continue
        indent, spaces, code = m.groups()
        if _DIRECTIVE_LINE.match(code):
            res.append(f"{indent}>>> __sweep_directive__({code.strip()!r})")
            prev_code = None
            continue
        continuation = prev_code is not None and (
            len(spaces) > 1                                   # an indented body line
            or (not code and (prev_code.startswith((" ", "\t")) or prev_code.rstrip().endswith(":")))
            or prev_code.lstrip().startswith("@"))            # the def under a decorator
        if continuation:
            res.append(f"{indent}... {spaces[1:] if spaces else ''}{code}")
        else:
            res.append(line)
        prev_code = (spaces[1:] if spaces else "") + code
    return "\n".join(res)


_DIRECTIVE = re.compile(r"#\s*x?doctest:\s*\+(\w+)(\(([^)]*)\))?")
# REQUIRES(...) conditions this CPU-only run meets
_MET = {"env:TORCH_DOCTEST_LAPACK", "env:TORCH_DOCTEST_AUTOGRAD", "env:TORCH_DOCTEST_FUTURES",
        "env:TORCH_DOCTEST_AUTOGRAD_PROFILER"}


def _with_skips(examples):
    """Examples as dicts with xdoctest's SKIP/REQUIRES applied: a directive alone on its
    line applies to the rest of the block, one after code to that statement only."""
    block_skip = False
    res = []
    for ex in examples:
        src = ex.source
        alone = src.startswith("__sweep_directive__(")
        if alone:
            src = eval(src[len("__sweep_directive__"):])
        skip = block_skip or bool(ex.options.get(doctest.SKIP))
        for m in _DIRECTIVE.finditer(src):
            kind, cond = m.group(1), (m.group(3) or "").strip()
            if (kind == "SKIP" and not RUN_SKIPPED) or (kind == "REQUIRES" and cond not in _MET):
                skip = True
                block_skip = block_skip or alone
        if not alone:
            res.append({"source": src, "want": ex.want, "skip": skip})
    return res


# ----------------------------------------------------------------------------------------
# running

def _ember_import(real_import):
    """An ``__import__`` for the ember run: ``torch`` and ``torch.x`` import ``ember`` and
    ``ember.x``; torch's satellite packages (which would import real torch) are refused."""
    def imp(name, globals=None, locals=None, fromlist=(), level=0):
        if level == 0:
            if name == "torch" or name.startswith("torch."):
                name = "ember" + name[5:]
            elif name.split(".")[0] in ("torchvision", "torchaudio", "torchtext", "functorch",
                                        "torchdata", "triton"):
                raise ModuleNotFoundError(f"No module named {name!r} (blocked in the ember run)")
        return real_import(name, globals, locals, fromlist, level)
    return imp


def _reset(mod):
    """Default global state, so that one docstring's settings (default dtype, print
    options, grad mode ...) do not leak into the next."""
    for call in (lambda: mod.set_default_dtype(mod.float32),
                 lambda: mod.set_grad_enabled(True),
                 lambda: mod.set_printoptions(profile="default"),
                 lambda: mod.set_printoptions(sci_mode=None),
                 lambda: mod.autograd.set_detect_anomaly(False),
                 lambda: mod.use_deterministic_algorithms(False),
                 lambda: mod.set_default_device(None),
                 lambda: mod.manual_seed(0)):
        try:
            call()
        except Exception:  # noqa: BLE001 - a setting this library lacks
            pass


_GLOBALS = {}


def _module_globals(mod, home, public):
    """The globals of torch module `home` (where the documented object is defined: its
    examples may use the names it imports, as doctest runs them there), or, for the ember
    run, those globals with each torch object replaced by ember's object of that name in
    ``ember.<home>`` or ``ember.<public>`` (left out where ember has none)."""
    key = (mod.__name__, home, public)
    if key in _GLOBALS:
        return _GLOBALS[key]
    # (names that shadow builtins are left out: torch's own namespace holds a dtype
    # called float, and doctest's runner does not see it there either)
    src = {k: v for k, v in vars(sys.modules[home]).items()
           if not k.startswith("__") and not hasattr(builtins, k)}
    if mod is torch:
        _GLOBALS[key] = src
        return src
    places = []
    for name in (home, public):
        try:
            places.append(importlib.import_module("ember" + name[5:]))
        except Exception:  # noqa: BLE001 - a module ember lays out otherwise
            pass
    res = {}
    for k, v in src.items():
        if isinstance(v, types.ModuleType):
            if v.__name__.split(".")[0] != "torch":
                res[k] = v
                continue
            try:
                res[k] = importlib.import_module("ember" + v.__name__[5:])
            except Exception:  # noqa: BLE001 - a torch module ember has not got
                pass
            continue
        owner = getattr(v, "__module__", None) or ""
        if not (owner.split(".")[0] == "torch" or isinstance(v, (torch.Tensor, torch.dtype))):
            res[k] = v      # a plain Python object (math.pi, typing.Optional ...)
            continue
        for place in places:
            if hasattr(place, k):
                res[k] = getattr(place, k)
                break
    _GLOBALS[key] = res
    return res


def _namespace(mod, blk):
    ns = dict(_module_globals(mod, blk["home"], blk["public"]))
    # numpy, math and itertools too: many examples use them unimported (they fail in
    # torch's own doctest run); with them, those examples compare instead of counting as e
    ns.update({"__name__": "__doctest__", "torch": mod, "nn": mod.nn, "F": mod.nn.functional,
               "np": np, "numpy": np, "math": math, "itertools": itertools})
    if mod is ember:
        b = dict(vars(builtins))
        b["__import__"] = _ember_import(builtins.__import__)
        ns["__builtins__"] = b
    return ns


def _on_alarm(signum, frame):
    raise SweepTimeout()


def run_block(blk, mod):
    """Run one docstring's examples on `mod`; per statement {"out", "exc", "rng"} (rng:
    torch's generator was drawn from by this statement; torch run only)."""
    name, examples = blk["name"], blk["examples"]
    _reset(mod)
    ns = _namespace(mod, blk)
    results = []
    old_hook, old_out, old_err = sys.displayhook, sys.stdout, sys.stderr
    signal.signal(signal.SIGALRM, _on_alarm)
    signal.alarm(BLOCK_TIMEOUT)
    timed_out = False
    try:
        for i, ex in enumerate(examples):
            if ex["skip"]:
                results.append(None)
                continue
            if timed_out:
                results.append({"out": "", "exc": "SweepTimeout", "msg": "", "rng": False})
                continue
            buf = io.StringIO()
            state = torch.random.get_rng_state() if mod is torch else None
            exc = msg = None
            try:
                code = compile(ex["source"], f"<{name}[{i}]>", "single")
                sys.stdout = sys.stderr = buf
                sys.displayhook = _displayhook(buf)
                exec(code, ns)
            except SweepTimeout:
                exc, timed_out = "SweepTimeout", True
            except BaseException as e:  # noqa: BLE001 - compared with the other run
                exc, msg = type(e).__name__, str(e)[:300]
            finally:
                sys.displayhook, sys.stdout, sys.stderr = old_hook, old_out, old_err
            rng = bool(state is not None and not torch.equal(state, torch.random.get_rng_state()))
            results.append({"out": buf.getvalue(), "exc": exc, "msg": msg, "rng": rng})
    finally:
        signal.alarm(0)
        sys.displayhook, sys.stdout, sys.stderr = old_hook, old_out, old_err
    return results


def _displayhook(buf):
    def hook(value):
        if value is not None:
            buf.write(repr(value) + "\n")
    return hook


# ----------------------------------------------------------------------------------------
# comparing (the text comparison is bench/textcompare.py's)

# (NameError: a name the example takes from its module's globals that ember's lacks)
MISSING = ("AttributeError", "NotImplementedError", "ImportError", "ModuleNotFoundError",
           "NameError")


# statements whose output shows uninitialized memory or a fresh OS seed: not comparable
_UNCOMPARABLE = re.compile(r"\bempty\w*\(|new_empty|skip_init|\.seed\(\)|key_averages")


def classify(examples, t_res, e_res):
    """The verdict of each statement: 'skip', 'match', or a mismatch class (see above)."""
    verdicts = []
    tainted = diverged = broken = garbage = False
    for ex, t, e in zip(examples, t_res, e_res):
        if t is None:
            verdicts.append("skip")
            continue
        tainted = tainted or t["rng"]
        garbage = garbage or bool(_UNCOMPARABLE.search(ex["source"]))
        intended = ex["want"].lstrip().startswith("Traceback")
        if t["exc"] and not intended:
            verdicts.append("e")
            broken = True
            continue
        if t["exc"]:
            if e["exc"] == t["exc"]:
                v = "match"
            else:
                v = "b" if e["exc"] in MISSING else "d"
        elif e["exc"]:
            v = "b" if e["exc"] in MISSING else "d"
            if diverged:
                v = "cascade"
            diverged = True
        elif same_text(t["out"], e["out"]):
            v = "match"
        elif broken or (garbage and ("tensor(" in t["out"] or "Self CPU" in t["out"])):
            v = "e"     # after a statement torch failed (its names differ), or garbage
        elif tainted and _skeleton(normalize(t["out"]))[0] == _skeleton(normalize(e["out"]))[0]:
            v = "a"     # only the numbers differ, and they come from the generator
        else:
            v = "c"
        if diverged and v != "match" and not e["exc"]:
            v = "cascade"
        verdicts.append(v)
    return verdicts


# ----------------------------------------------------------------------------------------

def sweep(filters=None, verbose=False):
    blocks = collect(filters)
    report = []
    cwd = os.getcwd()
    with tempfile.TemporaryDirectory() as tmp:
        os.chdir(tmp)   # examples save files (torch.save(x, 'tensor.pt'))
        try:
            for k, blk in enumerate(blocks):
                t0 = time.perf_counter()
                t_res = run_block(blk, torch)
                t1 = time.perf_counter()
                e_res = run_block(blk, ember)
                t2 = time.perf_counter()
                verdicts = classify(blk["examples"], t_res, e_res)
                stmts = []
                for ex, t, e, v in zip(blk["examples"], t_res, e_res, verdicts):
                    s = {"source": ex["source"].rstrip(), "verdict": v}
                    if v not in ("match", "skip"):
                        s.update(torch_out=t["out"][-600:], torch_exc=t["exc"],
                                 ember_out=e["out"][-600:], ember_exc=e["exc"],
                                 ember_msg=e["msg"], torch_msg=t["msg"])
                    stmts.append(s)
                first = next((v for v in verdicts if v not in ("match", "skip")), "match")
                report.append({"name": blk["name"], "first": first, "statements": stmts,
                               "seconds": [round(t1 - t0, 3), round(t2 - t1, 3)]})
                if verbose:
                    print(f"{k + 1}/{len(blocks)} {blk['name']}: {first}", file=sys.stderr)
        finally:
            os.chdir(cwd)
    return report


def summarize(report):
    stmt = Counter()
    first = Counter()
    missing = Counter()
    for blk in report:
        first[blk["first"]] += 1
        for s in blk["statements"]:
            stmt[s["verdict"]] += 1
            if s["verdict"] in ("b", "d"):
                missing[f"{s['ember_exc']}: {(s['ember_msg'] or '')[:100]}"] += 1
    lines = [f"docstrings with examples: {len(report)}",
             "docstrings by first mismatch: " + ", ".join(f"{k}={v}" for k, v in sorted(first.items())),
             "statements: " + ", ".join(f"{k}={v}" for k, v in sorted(stmt.items())),
             "most common ember exceptions (b, d):"]
    lines += [f"  {n:4d}  {m}" for m, n in missing.most_common(40)]
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out", help="JSON file to write")
    ap.add_argument("filters", nargs="*", help="only docstrings whose name contains one of these")
    ap.add_argument("-v", "--verbose", action="store_true")
    ap.add_argument("--run-skipped", action="store_true",
                    help="also run the examples marked +SKIP (many need names they lack: "
                         "those count as broken in torch)")
    args = ap.parse_args()
    global RUN_SKIPPED
    RUN_SKIPPED = args.run_skipped
    torch.set_num_threads(1)
    report = sweep(args.filters or None, args.verbose)
    summary = summarize(report)
    with open(args.out, "w") as f:
        json.dump({"summary": summary, "docstrings": report}, f, indent=1)
    print(summary)


if __name__ == "__main__":
    main()
