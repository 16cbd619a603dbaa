"""Differential sweep of nn modules beyond bench/moduleinfo_sweep.py: the parts of torch's
module test tables that sweep leaves out, each run in torch and in ember and compared.

Parts (each can be picked alone with --parts a,b):
  errors   every ModuleInfo's module_error_inputs_func: the ErrorModuleInput's exception
           type (isinstance) and message regex, at construction or forward as it says;
  samples  every module_inputs_func sample (no cap), float64 and float32, with the inputs
           made for training=True in train mode and for training=False in eval mode:
           outputs, then gradients of inputs and parameters (float32 with looser bounds);
  memfmt   the 4-D/5-D samples with input and/or module in channels_last(_3d): values, and
           whether the output is channels_last-contiguous as torch's is;
  api      per distinct constructor call: repr and extra_repr text (torch.->ember.),
           state_dict keys and order, named_parameters/named_buffers names, shapes,
           dtypes, requires_grad, default-initialisation statistics (constant tensors
           equal, random ones within the same bound and spread), the plain attributes a
           user reads (in_features, kernel_size, padding_mode, ...), and train()/eval()
           reaching every submodule;
  legacy   torch.testing._internal.common_nn's old-style dicts (module_tests,
           get_new_module_tests(), criterion_tests): built from constructor /
           constructor_args / input_size / input_fn / target_fn in both (torch's
           constructor lambdas are rebuilt over ember's namespaces), outputs and gradients.

A probe for finding defects, not a test (its inputs change with torch's tables):
    PYTHONPATH=/tmp/extra:. python -m bench.module_api_sweep out.json [--parts api,errors] [names]
Writes {part: {module: [problems]}} to out.json and prints counts per part.
Modules with randomness compare shapes only; lazy modules are skipped in samples/api
(torch's uninitialised parameters cannot be copied over).
"""
import contextlib
import json
import re
import sys
import types
import warnings

import numpy as np
import torch
from torch.testing._internal import common_nn
from torch.testing._internal.common_modules import ModuleErrorEnum, module_db

import ember

from .moduleinfo_sweep import RANDOM, _copy_state, _ember_class
from .opinfo_sweep import compare, flat, to_ember

warnings.filterwarnings("ignore")
EMBER_DTYPE = {torch.float64: ember.float64, torch.float32: ember.float32,
               torch.complex128: ember.complex128, torch.complex64: ember.complex64}
TOL = {torch.float64: (1e-7, 1e-7), torch.float32: (1e-4, 1e-5),
       torch.complex128: (1e-7, 1e-7), torch.complex64: (1e-4, 1e-5)}
GRAD_TOL = {torch.float64: (1e-6, 1e-6), torch.float32: (2e-3, 2e-4),
            torch.complex128: (1e-6, 1e-6), torch.complex64: (2e-3, 2e-4)}
# the dtypes the samples part runs, where a ModuleInfo lists them (ConvTranspose: complex)
SAMPLE_DTYPES = (torch.float64, torch.float32, torch.complex128, torch.complex64)
COMPARED = {}   # part -> how many cases were compared (reported with the problems)


def _count(part):
    COMPARED[part] = COMPARED.get(part, 0) + 1


def _ember(x, memo=None):
    """opinfo_sweep.to_ember, but one torch tensor passed twice becomes one ember tensor
    (KLDivLoss's samples pass the same input as input and target: its gradient sums both)
    and a torch.Size becomes an ember.Size (reprs print it)."""
    memo = {} if memo is None else memo
    if isinstance(x, torch.Tensor):
        if id(x) not in memo:
            memo[id(x)] = to_ember(x)
        return memo[id(x)]
    if isinstance(x, torch.Size):
        return ember.Size(tuple(x))
    if isinstance(x, (list, tuple)) and not hasattr(x, "_fields"):
        return type(x)(_ember(v, memo) for v in x)
    if isinstance(x, dict):
        return {k: _ember(v, memo) for k, v in x.items()}
    return to_ember(x)


def _unique(tensors):
    seen, out = set(), []
    for t in tensors:
        if id(t) not in seen:
            seen.add(id(t))
            out.append(t)
    return out


def _short(e):
    return f"{type(e).__name__}: {str(e).splitlines()[0][:140] if str(e) else ''}"


@contextlib.contextmanager
def _default_dtype(dtype):
    """Both libraries' default float dtype set to `dtype` for the block."""
    t_old, e_old = torch.get_default_dtype(), ember.get_default_dtype()
    torch.set_default_dtype(dtype)
    ember.set_default_dtype(EMBER_DTYPE[dtype])
    try:
        yield
    finally:
        torch.set_default_dtype(t_old)
        ember.set_default_dtype(e_old)


def _build(info, mi, dtype):
    """(torch module, ember module) built from one ModuleInput, ember loaded with torch's state."""
    tm = info.module_cls(*mi.constructor_input.args, **mi.constructor_input.kwargs).to(dtype)
    em = _ember_class(info.module_cls)(*_ember(mi.constructor_input.args),
                                       **_ember(mi.constructor_input.kwargs))
    em = em.to(EMBER_DTYPE[dtype])
    _copy_state(tm, em)
    return tm, em


def _call(fn, *args, **kwargs):
    try:
        return fn(*args, **kwargs), None
    except Exception as e:  # noqa: BLE001 - compared by the caller
        return None, e


# ----------------------------------------------------------------------------- errors
def _raised(cls, c_args, c_kwargs, f_args, f_kwargs, error_on, training):
    """The exception that building `cls` (and, for a forward error, calling it) raises."""
    m, exc = _call(cls, *c_args, **c_kwargs)
    if error_on == ModuleErrorEnum.FORWARD_ERROR and exc is None:
        m.train(training)
        _, exc = _call(m, *f_args, **f_kwargs)
    return exc


def part_errors(info, problems):
    if info.module_error_inputs_func is None:
        return
    ecls = _ember_class(info.module_cls)
    if ecls is None:
        problems.append("MISSING")
        return
    for dtype in (torch.float64, torch.float32):
        if dtype not in info.supported_dtypes("cpu"):
            continue
        for training in (True, False):
            try:
                samples = info.module_error_inputs_func(info, device="cpu", dtype=dtype,
                                                        requires_grad=False, training=training)
            except Exception:  # noqa: BLE001 - torch's generator cannot run here
                continue
            for k, err in enumerate(samples):
                where = f"{str(dtype)[6:]}/{'train' if training else 'eval'}#{k}"
                mi = err.module_error_input
                try:
                    c_args = _ember(mi.constructor_input.args)
                    c_kwargs = _ember(mi.constructor_input.kwargs)
                except TypeError:
                    continue
                t_f = mi.forward_input or types.SimpleNamespace(args=(), kwargs={})
                try:
                    f_args, f_kwargs = _ember((t_f.args, t_f.kwargs))
                except TypeError:
                    continue
                t_exc = _raised(info.module_cls, mi.constructor_input.args,
                                mi.constructor_input.kwargs, t_f.args, t_f.kwargs,
                                err.error_on, training)
                if not isinstance(t_exc, err.error_type) or \
                        not re.search(err.error_regex, str(t_exc)):
                    continue   # torch itself does not raise as its table says (mode, dtype)
                exc = _raised(ecls, c_args, c_kwargs, f_args, f_kwargs, err.error_on, training)
                _count("errors")
                if exc is None:
                    problems.append(f"{where}: ember did not raise {err.error_type.__name__} "
                                    f"/{err.error_regex}/")
                elif not isinstance(exc, err.error_type):
                    problems.append(f"{where}: ember raised {_short(exc)}; torch "
                                    f"{err.error_type.__name__} /{err.error_regex}/")
                elif not re.search(err.error_regex, str(exc)):
                    problems.append(f"{where}: message {str(exc)[:120]!r} does not match "
                                    f"/{err.error_regex}/")


# ---------------------------------------------------------------------------- samples
def _grads(t_out, e_out, t_leaves, e_leaves, dtype, where, problems):
    """Compare the gradients of sum(out * w) (same random w) with respect to the leaves."""
    tf = [o for o in flat(t_out) if isinstance(o, torch.Tensor) and o.requires_grad]
    ef = [o for o in flat(e_out) if isinstance(o, ember.Tensor) and o.requires_grad]
    if len(tf) != len(ef):
        problems.append(f"{where}: outputs requiring grad {len(tf)} vs {len(ef)}")
        return
    if not tf or len(t_leaves) != len(e_leaves) or not t_leaves:
        return
    rng = np.random.default_rng(0)
    ws = [rng.standard_normal(tuple(o.shape)) for o in tf]
    # complex outputs: the real part of sum(out * w), a real loss (PyTorch's convention)
    t_loss = sum(_real((o * torch.tensor(w, dtype=o.dtype)).sum()) for o, w in zip(tf, ws))
    tg, t_exc = _call(torch.autograd.grad, t_loss, t_leaves, allow_unused=True)
    if t_exc is not None:
        return
    e_loss = sum(_real((o * ember.tensor(w, dtype=o.dtype)).sum()) for o, w in zip(ef, ws))
    eg, e_exc = _call(ember.autograd.grad, e_loss, e_leaves, allow_unused=True)
    if e_exc is not None:
        problems.append(f"{where}: ember grad raised {_short(e_exc)}")
        return
    rtol, atol = GRAD_TOL[dtype]
    for j, (a, b) in enumerate(zip(tg, eg)):
        if a is None or b is None:
            if (a is None) != (b is None) and (a if a is not None else b).abs().sum().item():
                problems.append(f"{where}: grad {j} is None in one library only")
            continue
        if a.layout != torch.strided:   # sparse gradients (Embedding(sparse=True)) densified
            a = a.to_dense()
        if getattr(b, "is_sparse", False):
            b = b.to_dense()
        an, bn = a.numpy(), b.numpy()
        scale = max(1.0, float(np.nanmax(np.abs(an)))) if an.size else 1.0
        if an.shape != bn.shape or not np.allclose(an, bn, rtol=rtol, atol=atol * scale,
                                                   equal_nan=True):
            d = np.nanmax(np.abs(an - bn)) if an.shape == bn.shape and an.size else "shape"
            problems.append(f"{where}: grad {j} differs ({d})")


def _real(x):
    return x.real if x.is_complex() else x


def _leaves(args, module, lib):
    tensor = torch.Tensor if lib is torch else ember.Tensor
    return _unique([x for x in flat([list(args)]) if isinstance(x, tensor) and x.requires_grad]
                   + list(module.parameters()))


def _forward_pair(tm, em, mi, f_args, f_kwargs):
    t_out, t_exc = _call(tm, *mi.forward_input.args, **mi.forward_input.kwargs)
    e_out, e_exc = _call(em, *f_args, **f_kwargs)
    return t_out, t_exc, e_out, e_exc


def _compare_forward(t_out, t_exc, e_out, e_exc, random, dtype, where, problems):
    """True when both outputs exist and agree (so gradients are worth comparing)."""
    if t_exc is not None or e_exc is not None:
        if t_exc is None:
            problems.append(f"{where}: ember raised {_short(e_exc)}")
        elif e_exc is None:
            problems.append(f"{where}: torch raised {_short(t_exc)}, ember did not")
        elif not isinstance(e_exc, type(t_exc)) and not isinstance(t_exc, type(e_exc)):
            problems.append(f"{where}: torch raised {type(t_exc).__name__}, ember "
                            f"{_short(e_exc)}")
        return False
    if random:
        ts = [tuple(t.shape) for t in flat(t_out) if isinstance(t, torch.Tensor)]
        es = [tuple(e.shape) for e in flat(e_out) if isinstance(e, ember.Tensor)]
        if ts != es:
            problems.append(f"{where}: shapes {ts} vs {es}")
        return False
    msg = compare(t_out, e_out, *TOL[dtype])
    if msg:
        problems.append(f"{where}: {msg}")
        return False
    return True


def part_samples(info, problems):
    if info.is_lazy:
        return
    if _ember_class(info.module_cls) is None:
        problems.append("MISSING")
        return
    random = info.module_cls.__name__ in RANDOM
    for dtype in SAMPLE_DTYPES:
        if dtype not in info.supported_dtypes("cpu"):
            continue
        for training in (True, False):
            mode = "train" if training else "eval"
            torch.manual_seed(0)
            try:
                inputs = info.module_inputs_func(info, device="cpu", dtype=dtype,
                                                 requires_grad=True, training=training)
            except Exception:  # noqa: BLE001 - torch's generator cannot run here
                continue
            for k, mi in enumerate(inputs):
                where = f"{str(dtype)[6:]}/{mode}#{k}"
                if mi.forward_input is None:
                    continue
                try:
                    f_args, f_kwargs = _ember((mi.forward_input.args, mi.forward_input.kwargs))
                    to_ember(mi.constructor_input.args)
                    to_ember(mi.constructor_input.kwargs)
                except TypeError:
                    continue
                try:
                    tm = info.module_cls(*mi.constructor_input.args,
                                         **mi.constructor_input.kwargs)
                except Exception:  # noqa: BLE001 - torch refuses the arguments itself
                    continue
                try:
                    tm, em = _build(info, mi, dtype)
                except Exception as e:  # noqa: BLE001 - reported
                    problems.append(f"{where}: ember construct/load raised {_short(e)}")
                    continue
                tm.train(training)
                em.train(training)
                _count("samples")
                res = _forward_pair(tm, em, mi, f_args, f_kwargs)
                if _compare_forward(*res, random, dtype, where, problems):
                    _grads(res[0], res[2], _leaves(mi.forward_input.args, tm, torch),
                           _leaves(f_args, em, ember), dtype, where, problems)


# ----------------------------------------------------------------------------- memfmt
def _formats(ndim):
    if ndim == 4:
        return torch.channels_last, ember.channels_last
    if ndim == 5:
        return torch.channels_last_3d, ember.channels_last_3d
    return None


def _to_format(args, lib, fmt):
    """The tensors of `args` with 4-D/5-D ones made `fmt`-contiguous (ember: kept leaves)."""
    out = []
    for a in args:
        if isinstance(a, (torch.Tensor, ember.Tensor)) and _formats(a.dim()):
            f = _formats(a.dim())[0 if lib is torch else 1]
            b = a.detach().contiguous(memory_format=f)
            a = b.requires_grad_() if a.requires_grad else b
        out.append(a)
    return out


def _layout(out, fmt_pair):
    return [o.is_contiguous(memory_format=fmt_pair[0 if isinstance(o, torch.Tensor) else 1])
            for o in flat(out) if isinstance(o, (torch.Tensor, ember.Tensor))
            and o.dim() in (4, 5)]


def part_memfmt(info, problems):
    if info.is_lazy or _ember_class(info.module_cls) is None:
        return
    if info.module_cls.__name__ in RANDOM:
        return
    dtype = torch.float32 if torch.float32 in info.supported_dtypes("cpu") else torch.float64
    torch.manual_seed(0)
    try:
        inputs = info.module_inputs_func(info, device="cpu", dtype=dtype,
                                         requires_grad=False, training=False)
    except Exception:  # noqa: BLE001
        return
    for k, mi in enumerate(inputs):
        if mi.forward_input is None:
            continue
        dims = [a.dim() for a in mi.forward_input.args if isinstance(a, torch.Tensor)]
        if not dims or _formats(dims[0]) is None:
            continue
        fmts = _formats(dims[0])
        try:
            tm, em = _build(info, mi, dtype)
            f_args, f_kwargs = _ember((mi.forward_input.args, mi.forward_input.kwargs))
        except Exception:  # noqa: BLE001 - the samples part reports these
            continue
        tm.eval()
        em.eval()
        for in_cl, mod_cl in ((True, False), (False, True), (True, True)):
            where = f"#{k} input {'CL' if in_cl else 'contig'} module {'CL' if mod_cl else 'contig'}"
            t_args = _to_format(mi.forward_input.args, torch, fmts[0]) if in_cl else \
                list(mi.forward_input.args)
            e_args = _to_format(f_args, ember, fmts[1]) if in_cl else list(f_args)
            if mod_cl:
                if _call(tm.to, memory_format=fmts[0])[1] is not None:
                    continue    # torch cannot lay this module's weights out so
                _, e_exc = _call(em.to, memory_format=fmts[1])
                if e_exc is not None:
                    problems.append(f"{where}: Module.to(memory_format=) raised {_short(e_exc)}")
                    continue
            t_out, t_exc = _call(tm, *t_args, **mi.forward_input.kwargs)
            e_out, e_exc = _call(em, *e_args, **f_kwargs)
            _count("memfmt")
            if _compare_forward(t_out, t_exc, e_out, e_exc, False, dtype, where, problems):
                if _layout(t_out, fmts) != _layout(e_out, fmts):
                    problems.append(f"{where}: output channels_last-contiguous "
                                    f"{_layout(t_out, fmts)} vs {_layout(e_out, fmts)}")
            if mod_cl:
                _call(tm.to, memory_format=torch.contiguous_format)
                em.to(memory_format=ember.contiguous_format)


# -------------------------------------------------------------------------------- api
def _plain(v):
    """A comparable form of a module attribute, or a marker for what is not compared."""
    if isinstance(v, (torch.Tensor, ember.Tensor, torch.nn.Module, ember.nn.Module)):
        return "<skip>"
    if isinstance(v, (torch.dtype, torch.device, torch.Size)):
        return str(v).replace("torch.", "ember.") if not isinstance(v, torch.Size) else tuple(v)
    if isinstance(v, (ember.dtype, ember.device)):
        return str(v)
    if isinstance(v, (list, tuple)):
        return type(v)(_plain(x) for x in v) if not hasattr(v, "_fields") else tuple(v)
    if isinstance(v, (int, float, str, bool, type(None))):
        return v
    return "<skip>"


def _stats_problem(name, t, e, t_more=()):
    """Compare the default initialisation of one tensor by its statistics, not its values.
    t_more: the same tensor from further torch constructions, pooled with t (small tensors
    need several draws to show their bound)."""
    t = np.concatenate([x.detach().double().numpy().ravel() for x in (t, *t_more)])
    e = e.detach().double().numpy().ravel()
    if t.size == 0:
        return None
    if np.all(t == t[0]) and t.size > 1 or t.size == 1 and t[0] in (0.0, 1.0):
        if not np.all(e == t[0]):
            return f"init {name}: torch constant {t[0]:.4g}, ember {e[:3]}"
        return None
    if np.all(e == e[0]) and e.size > 1:
        return f"init {name}: ember constant {e[0]:.4g}, torch random"
    t_max, e_max = np.abs(t).max(), np.abs(e).max()
    if e.size >= 64:
        # uniform(-b, b) draws of this many elements reach ~b, normal ones ~3 sigma
        if not 0.75 < e_max / t_max < 1.33:
            return f"init {name}: max |x| torch {t_max:.4g} ember {e_max:.4g}"
        if not 0.8 < e.std() / t.std() < 1.25:
            return f"init {name}: std torch {t.std():.4g} ember {e.std():.4g}"
        if abs(e.mean() - t.mean()) > 6 * t.std() / np.sqrt(e.size) + 0.05 * abs(t.mean()):
            return f"init {name}: mean torch {t.mean():.4g} ember {e.mean():.4g}"
    elif e_max > (1 + 2 / t.size + 0.02) * t_max + 1e-12:   # the pooled draws' max, widened
        return f"init {name}: max |x| torch {t_max:.4g} ember {e_max:.4g}"
    return None


def _materialized(params):
    return [(n, p) for n, p in params if not isinstance(
        p, (torch.nn.parameter.UninitializedParameter, torch.nn.parameter.UninitializedBuffer))
        and not type(p).__name__.startswith("Uninitialized")]


def _api_compare(tm, em, problems, where, more=()):
    """API parity of torch module tm and ember module em built alike; `more`: further torch
    modules built alike (for initialisation bounds)."""
    t_repr = repr(tm).replace("torch.", "ember.")
    e_repr = repr(em)
    if t_repr != e_repr:
        problems.append(f"{where}: repr {t_repr[:160]!r} vs {e_repr[:160]!r}")
    elif tm.extra_repr().replace("torch.", "ember.") != em.extra_repr():
        problems.append(f"{where}: extra_repr {tm.extra_repr()!r} vs {em.extra_repr()!r}")
    t_keys, e_keys = list(tm.state_dict()), list(em.state_dict())
    if t_keys != e_keys:
        problems.append(f"{where}: state_dict keys {t_keys} vs {e_keys}")
    tp = [(n, tuple(p.shape), str(p.dtype)[6:], p.requires_grad)
          for n, p in _materialized(tm.named_parameters())]
    ep = [(n, tuple(p.shape), str(p.dtype)[6:], p.requires_grad)
          for n, p in _materialized(em.named_parameters())]
    if tp != ep:
        problems.append(f"{where}: named_parameters {tp} vs {ep}")
    tb = [(n, tuple(b.shape), str(b.dtype)[6:]) for n, b in _materialized(tm.named_buffers())]
    eb = [(n, tuple(b.shape), str(b.dtype)[6:]) for n, b in _materialized(em.named_buffers())]
    if tb != eb:
        problems.append(f"{where}: named_buffers {tb} vs {eb}")
    if tp == ep:
        others = [dict(m.named_parameters()) for m in more]
        for (n, t), (_, e) in zip(_materialized(tm.named_parameters()),
                                  _materialized(em.named_parameters())):
            msg = _stats_problem(n, t, e, [o[n] for o in others if n in o])
            if msg:
                problems.append(f"{where}: {msg}")
    if tb == eb:
        for (n, t), (_, e) in zip(_materialized(tm.named_buffers()),
                                  _materialized(em.named_buffers())):
            if t.dtype.is_floating_point and not np.array_equal(t.numpy(), e.numpy()):
                problems.append(f"{where}: buffer {n} initial values differ")
    for name, sub in tm.named_modules():
        esub = em.get_submodule(name) if name else em
        for attr, v in vars(sub).items():
            if attr.startswith("_") or attr == "training":
                continue
            tv = _plain(v)
            if tv == "<skip>":
                continue
            if not hasattr(esub, attr):
                problems.append(f"{where}: attribute {name + '.' if name else ''}{attr} missing")
                continue
            ev = _plain(getattr(esub, attr))
            if tv != ev and not (isinstance(tv, float) and isinstance(ev, float)
                                 and np.isclose(tv, ev)):
                problems.append(f"{where}: attribute {name + '.' if name else ''}{attr} "
                                f"{tv!r} vs {ev!r}")
    t_names = [n for n, _ in tm.named_modules()]
    e_names = [n for n, _ in em.named_modules()]
    if t_names != e_names:
        problems.append(f"{where}: named_modules {t_names} vs {e_names}")
        return
    for flag in (False, True):
        tm.train(flag)
        em.train(flag)
        if [m.training for m in em.modules()] != [m.training for m in tm.modules()]:
            problems.append(f"{where}: train({flag}) reached {[m.training for m in em.modules()]}")


def part_api(info, problems):
    if _ember_class(info.module_cls) is None:
        problems.append("MISSING")
        return
    ecls = _ember_class(info.module_cls)
    seen = set()
    try:
        inputs = info.module_inputs_func(info, device="cpu", dtype=torch.float32,
                                         requires_grad=False, training=True)
    except Exception:  # noqa: BLE001
        return
    for k, mi in enumerate(inputs):
        key = repr((mi.constructor_input.args, mi.constructor_input.kwargs))
        if key in seen:
            continue
        seen.add(key)
        try:
            c_args = _ember(mi.constructor_input.args)
            c_kwargs = _ember(mi.constructor_input.kwargs)
        except TypeError:
            continue
        tm, t_exc = _call(info.module_cls, *mi.constructor_input.args,
                          **mi.constructor_input.kwargs)
        if t_exc is not None:
            continue
        em, e_exc = _call(ecls, *c_args, **c_kwargs)
        if e_exc is not None:
            problems.append(f"#{k}: ember construct raised {_short(e_exc)}")
            continue
        _count("api")
        found = []
        for draws in (7, 63):   # a bound flagged on few draws is checked again on many
            more = [info.module_cls(*mi.constructor_input.args, **mi.constructor_input.kwargs)
                    for _ in range(draws)]
            found = []
            _api_compare(tm, em, found, f"#{k}", more)
            if not any("init " in f for f in found):
                break
        problems += found


# ----------------------------------------------------------------------------- legacy
_MODULE_MAP = {}


def _ember_module_for(mod):
    """The ember module standing for torch module object `mod` (torch.nn -> ember.nn ...)."""
    name = mod.__name__
    if not name.startswith("torch"):
        return mod
    target = "ember" + name[len("torch"):]
    try:
        return __import__(target, fromlist=["_"])
    except ImportError:
        return mod


def _translate(obj, memo):
    """`obj` from torch's test tables rebuilt over ember: tensors converted, torch modules
    swapped for ember's, functions and locally defined nn.Module classes re-created with
    those namespaces (so a lambda calling F.l1_loss calls ember's)."""
    if id(obj) in memo:
        return memo[id(obj)]
    if isinstance(obj, torch.Tensor):
        return to_ember(obj)
    if isinstance(obj, torch.Size):
        return ember.Size(tuple(obj))
    if isinstance(obj, (torch.dtype, torch.device, torch.memory_format)):
        return to_ember(obj)
    if isinstance(obj, types.ModuleType):
        return _ember_module_for(obj)
    if isinstance(obj, (list, tuple)) and not hasattr(obj, "_fields"):
        return type(obj)(_translate(x, memo) for x in obj)
    if isinstance(obj, dict):
        return {k: _translate(v, memo) for k, v in obj.items()}
    if isinstance(obj, types.FunctionType):
        mod = obj.__module__ or ""
        if mod.startswith("torch.testing") or mod == "__main__":
            g = _globals_for(obj.__globals__, memo)
            cells = None
            if obj.__closure__:
                cells = tuple(types.CellType(_translate(c.cell_contents, memo))
                              for c in obj.__closure__)
            fn = types.FunctionType(obj.__code__, g, obj.__name__,
                                    _translate(obj.__defaults__, memo) if obj.__defaults__
                                    else None, cells)
            fn.__kwdefaults__ = _translate(obj.__kwdefaults__, memo) \
                if obj.__kwdefaults__ else None
            memo[id(obj)] = fn
            return fn
        if mod.startswith("torch"):
            target = _ember_module_for(sys.modules.get(mod, types.ModuleType("x")))
            if target is not None and hasattr(target, obj.__name__):
                return getattr(target, obj.__name__)
            raise TypeError(f"no ember counterpart for {mod}.{obj.__name__}")
        return obj
    if isinstance(obj, functools_partial):
        return functools_partial(_translate(obj.func, memo), *_translate(obj.args, memo),
                                 **_translate(obj.keywords, memo))
    if isinstance(obj, type) and issubclass(obj, torch.nn.Module):
        if hasattr(ember.nn, obj.__name__) and obj.__module__.startswith("torch.nn"):
            return getattr(ember.nn, obj.__name__)
        bases = tuple(_translate(b, memo) for b in obj.__bases__)
        ns = {k: _translate(v, memo) for k, v in vars(obj).items()
              if k not in ("__dict__", "__weakref__")}
        cls = type(obj.__name__, bases, ns)
        memo[id(obj)] = cls
        return cls
    if obj is torch.nn.Module:
        return ember.nn.Module
    if isinstance(obj, types.BuiltinFunctionType) and hasattr(ember.nn.functional,
                                                                obj.__name__):
        return getattr(ember.nn.functional, obj.__name__)   # torch._C._nn.gelu ...
    if callable(obj) and getattr(obj, "__module__", "") and \
            str(getattr(obj, "__module__", "")).startswith("torch"):
        raise TypeError(f"no ember counterpart for {obj!r}")
    return obj


functools_partial = __import__("functools").partial
_GLOBALS = {}


def _globals_for(g, memo):
    """A copy of module globals `g` with torch's modules swapped for ember's and the
    module's own functions re-created over the copy."""
    key = id(g)
    if key in _GLOBALS:
        return _GLOBALS[key]
    new = dict(g)
    _GLOBALS[key] = new
    for k, v in g.items():
        if isinstance(v, types.ModuleType):
            new[k] = _ember_module_for(v)
        elif isinstance(v, types.FunctionType) and v.__globals__ is g:
            new[k] = types.FunctionType(v.__code__, new, v.__name__, v.__defaults__,
                                        v.__closure__)
    return new


def _legacy_tests():
    """(name, kind, params) for every dict of common_nn's old-style tables."""
    out = []
    for kind, table in (("module", common_nn.module_tests),
                        ("module", common_nn.get_new_module_tests()),
                        ("criterion", common_nn.criterion_tests)):
        for params in table:
            params = dict(params)
            if "constructor" not in params:
                params["constructor"] = getattr(torch.nn, params.pop("module_name"))
            params.pop("decorator", None)
            cls = common_nn.NewModuleTest if kind == "module" else common_nn.CriterionTest
            test = cls(**params)
            out.append((test.get_name()[5:], kind, test))
    return out


def _legacy_one(kind, test, problems):
    dtype = test.default_dtype
    if dtype not in EMBER_DTYPE:
        return
    with _default_dtype(dtype):
        torch.manual_seed(0)
        try:
            c_args = test.constructor_args
            tm = test.constructor(*c_args)
            inp = test._get_input()
            target = test._get_target() if kind == "criterion" or \
                "target" in test._extra_kwargs or "target_fn" in test._extra_kwargs or \
                "target_size" in test._extra_kwargs else None
            extra = test.extra_args
        except Exception:  # noqa: BLE001 - torch cannot build its own test here
            return
        try:
            memo = {}
            ecls = _translate(test.constructor, memo)
            em = ecls(*_translate(c_args, memo))
            _copy_state(tm, em)
            e_inp, e_target, e_extra = _ember((inp, target, extra))
        except Exception as e:  # noqa: BLE001 - reported
            problems.append(f"ember construct raised {_short(e)}")
            return
        t_args = (list(inp) if isinstance(inp, tuple) else [inp])
        e_args = (list(e_inp) if isinstance(e_inp, tuple) else [e_inp])
        if target is not None:
            t_args.append(target)
            e_args.append(e_target)
        t_args += list(extra)
        e_args += list(e_extra)
        if type(tm).__name__ != "FunctionalModule":
            # ember holds torch's values (loaded): init statistics compare trivially here
            _api_compare(tm, em, problems, "api")
        _count("legacy")
        t_out, t_exc = _call(tm, *t_args)
        e_out, e_exc = _call(em, *e_args)
        random = type(tm).__name__ in RANDOM
        if _compare_forward(t_out, t_exc, e_out, e_exc, random, dtype, "forward", problems):
            _grads(t_out, e_out, _leaves(t_args, tm, torch), _leaves(e_args, em, ember),
                   dtype, "grad", problems)


def part_legacy(names, report):
    for name, kind, test in _legacy_tests():
        if names and not any(name.startswith(n) for n in names):
            continue
        problems = []
        try:
            _legacy_one(kind, test, problems)
        except Exception as e:  # noqa: BLE001 - the sweep goes on
            problems.append(f"SWEEP CRASH {_short(e)}")
        if problems:
            report[name] = problems[:6]


def _distinct(problems):
    """The problems with one entry per message (the dtype/mode/sample prefix set aside)."""
    seen, out = set(), []
    for p in problems:
        key = p.split(": ", 1)[-1]
        if key not in seen:
            seen.add(key)
            out.append(p)
    return out


PARTS = {"errors": part_errors, "samples": part_samples, "memfmt": part_memfmt,
         "api": part_api}


def run(parts, names=None):
    result = {}
    for part in parts:
        report = {}
        if part == "legacy":
            part_legacy(names, report)
        else:
            for info in module_db:
                name = info.name
                if names and info.module_cls.__name__ not in names and name not in names:
                    continue
                problems = []
                try:
                    PARTS[part](info, problems)
                except Exception as e:  # noqa: BLE001 - the sweep goes on
                    problems.append(f"SWEEP CRASH {_short(e)}")
                if problems:
                    report[name] = _distinct(problems)[:8]
        result[part] = report
    return result


def main(argv):
    out, rest = argv[0], argv[1:]
    parts = ["errors", "samples", "memfmt", "api", "legacy"]
    if rest and rest[0] == "--parts":
        parts, rest = rest[1].split(","), rest[2:]
    rep = run(parts, rest or None)
    with open(out, "w") as f:
        json.dump({"compared": COMPARED, **rep}, f, indent=1)
    for part, r in rep.items():
        print(f"{part}: {COMPARED.get(part, 0)} cases compared, {len(r)} modules/tests with "
              f"problems ({sum(len(v) for v in r.values())} problems listed)")


if __name__ == "__main__":
    main(sys.argv[1:])
