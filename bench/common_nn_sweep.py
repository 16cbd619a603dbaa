"""Differential sweep over torch's legacy nn test tables (torch.testing._internal.common_nn:
`module_tests`, `get_new_module_tests()`, `criterion_tests`), deeper than the `legacy` part
of bench/module_api_sweep.py, whose converters it reuses.

Each config is built in torch from its constructor / constructor_args / input_size /
input_fn / target_fn, and in ember from the same names resolved in ember's namespaces
(torch's constructor lambdas and `wrap_functional` modules are re-created over ember.nn,
ember.nn.functional ...); torch's parameters and buffers are loaded into ember. Then, per
config, each of these kinds of check that applies:

  construct   ember builds the module and takes torch's state_dict
  api         repr / extra_repr, state_dict keys, parameter and buffer names, shapes,
              dtypes, plain attributes (not for wrap_functional modules)
  forward     train-mode forward in the table's dtype: values, dtypes, shapes,
              requires_grad of the outputs, or the exception type where torch raises
  grad        gradients of the inputs and parameters (same random grad_output)
  gradgrad    second-order: d/d(leaves, grad_output) of sum(grad . v), for every config
              torch can differentiate twice (also where the table turns gradgradcheck off)
  eval        eval-mode forward
  float32     module.float() with float32 inputs: outputs and gradients
  noncontig   inputs and grad_output made non-contiguous as ModuleTest.test_noncontig does
  pickle      the module through pickle.dumps / pickle.loads, forward again (where the
              table says pickle=True; torch.save(module) pickles it so; ember.save refuses
              whole modules by design: its format stores tensors and plain data only)
  long        the check_with_long_tensor variant of test_nn.py: integer-valued parameters
              and input, module and input cast to int64, forward only
  reduction   criterion modules (a `reduction` attribute) rebuilt with each other
              reduction: forward and gradients
  reference   the table's reference_fn run in both libraries (re-created over ember's
              namespaces, on ember's inputs, parameters and module): its results compared
              (it exercises many ops beyond the module: mm, gather, loops of indexing ...)
  fwad        forward-mode AD where the table says supports_forward_ad: the JVP of the
              output along random input tangents (dual numbers)
  batched_grad  autograd.grad(is_grads_batched=True) with two stacked grad_outputs
  empty_batch the input with its batch dimension set to 0: output and gradients
  half        float16 and bfloat16 forward on the CPU (module and floating inputs cast)
  param_grad  gradients of the parameters alone, the inputs not requiring grad (the ops'
              paths that skip the input gradient)
  no_grad     forward under no_grad (ember's path without graph nodes) and inference_mode:
              values, dtypes, and outputs that do not require grad
  inplace     modules taking inplace=True, rebuilt with it (test_nn's check_inplace): the
              output, the input written over, and the gradient reaching the leaf behind it
  perturb     the inputs changed the way user mistakes change them (an integer or float32
              input to a float64 module, two extra leading dims, the first dim dropped, a
              target one row short or of the other kind of dtype): the same outcome, values
              or the exception's type

A probe for finding defects, not a test (its inputs change with torch's tables):
    PYTHONPATH=/tmp/extra:. nice -n 5 python -m bench.common_nn_sweep out.json [names...]
`names` keep the configs whose name starts with one of them. Writes
{"summary": ..., "configs": {name: {kind: [problems]}}, "skipped": {name: reason}}.
RReLU (random) compares shapes only.
"""
import copy
import functools
import pickle
import json
import sys
import types
import warnings

import numpy as np
import torch
from torch.testing._internal import common_nn

import ember

from .module_api_sweep import (EMBER_DTYPE, GRAD_TOL, RANDOM, TOL, _api_compare, _call,
                               _compare_forward, _copy_state, _default_dtype, _ember,
                               _globals_for, _grads, _leaves, _legacy_tests, _short,
                               _translate)
from .opinfo_sweep import compare, flat

warnings.filterwarnings("ignore")
KINDS = ("construct", "api", "forward", "grad", "gradgrad", "eval", "float32", "noncontig",
         "pickle", "long", "reduction", "reference", "fwad", "batched_grad", "empty_batch",
         "half", "perturb", "inplace", "no_grad", "param_grad")


class Case:
    """One config built in both libraries: modules, positional call arguments."""

    def __init__(self, kind, test):
        self.kind, self.test = kind, test
        self.dtype = test.default_dtype
        self.tm = self.em = None
        self.t_args = self.e_args = None
        self.ecls = None
        self.functional = False

    def build(self):
        """Build the torch side (None on success, else why torch cannot) and the ember side
        (raises what ember raised)."""
        test = self.test
        torch.manual_seed(0)
        try:
            self.c_args = test.constructor_args
            self.tm = test.constructor(*self.c_args)
            inp = test._get_input()
            kw = test._extra_kwargs
            has_target = self.kind == "criterion" or any(
                k in kw for k in ("target", "target_fn", "target_size"))
            target = test._get_target() if has_target else None
            extra = test.extra_args
        except Exception as e:  # noqa: BLE001 - torch cannot build its own test here
            return f"torch build raised {_short(e)}"
        self.functional = type(self.tm).__name__ == "FunctionalModule"
        self.t_args = list(inp) if isinstance(inp, tuple) else [inp]
        if target is not None:
            self.t_args.append(target)
        self.t_args += list(extra)
        memo = {}
        self.ecls = _translate(test.constructor, memo)
        self.e_c_args = _translate(self.c_args, memo)
        self.em = self.ecls(*self.e_c_args)
        _copy_state(self.tm, self.em)
        self.e_args = list(_ember(tuple(self.t_args)))
        return None


def _weights(outs, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(tuple(o.shape)) for o in outs]


def _grad_outs(out, lib):
    tensor = torch.Tensor if lib is torch else ember.Tensor
    return [o for o in flat(out) if isinstance(o, tensor) and o.requires_grad]


def _requires_grad_flags(t_out, e_out):
    tf = [o.requires_grad for o in flat(t_out) if isinstance(o, torch.Tensor)]
    ef = [o.requires_grad for o in flat(e_out) if isinstance(o, ember.Tensor)]
    return None if tf == ef else f"outputs' requires_grad {tf} vs {ef}"


def _close(a, b, rtol, atol):
    """None when torch tensor a and ember tensor b agree, else what differs."""
    if a is None or b is None:
        if (a is None) != (b is None):
            nz = (a if a is not None else b).abs().sum().item()
            return f"None in one library only (other's abs sum {nz:.3g})" if nz else None
        return None
    if a.layout != torch.strided:
        a = a.to_dense()
    if a._is_zerotensor():   # torch's symbolic zero (the gradient of a gradient of abs)
        a = torch.zeros(a.shape, dtype=a.dtype)
    if getattr(b, "is_sparse", False):
        b = b.to_dense()
    an, bn = a.detach().numpy(), b.detach().numpy()
    if an.shape != bn.shape:
        return f"shape {an.shape} vs {bn.shape}"
    scale = max(1.0, float(np.nanmax(np.abs(an)))) if an.size else 1.0
    if not np.allclose(an, bn, rtol=rtol, atol=atol * scale, equal_nan=True):
        return f"max abs diff {np.nanmax(np.abs(an - bn)):.3g}"
    return None


# ------------------------------------------------------------------------------- checks
def check_forward(case, out):
    """Train-mode forward in the table dtype; returns the outputs when they agree."""
    problems = out.setdefault("forward", [])
    case.tm.train()
    case.em.train()
    t_out, t_exc = _call(case.tm, *case.t_args)
    e_out, e_exc = _call(case.em, *case.e_args)
    random = type(case.tm).__name__ in RANDOM
    if not _compare_forward(t_out, t_exc, e_out, e_exc, random, case.dtype, "", problems):
        return None
    msg = _requires_grad_flags(t_out, e_out)
    if msg:
        problems.append(msg)
    return t_out, e_out


def check_grad(case, outs, out):
    _grads(outs[0], outs[1], _leaves(case.t_args, case.tm, torch),
           _leaves(case.e_args, case.em, ember), case.dtype, "grad", out.setdefault("grad", []))


def check_gradgrad(case, out):
    """Second order, as gradgradcheck: g = d(out . w)/d(leaves) with w requiring grad,
    then d(sum(g . v))/d(leaves, w)."""
    problems = out.setdefault("gradgrad", [])

    def second(lib, module, args):
        outs = _grad_outs(module(*args), lib)
        leaves = _leaves(args, module, lib)
        if not outs or not leaves:
            return None
        ws = [lib.tensor(w, dtype=o.dtype, requires_grad=True)
              for o, w in zip(outs, _weights(outs))]
        g = lib.autograd.grad(outs, leaves, ws, create_graph=True, allow_unused=True)
        used = [(gi, v) for gi, v in zip(g, _weights(leaves, 1))
                if gi is not None and gi.requires_grad]
        if not used:
            return None
        total = sum((gi * lib.tensor(v, dtype=gi.dtype)).sum() for gi, v in used)
        return lib.autograd.grad(total, leaves + ws, allow_unused=True)

    tg, t_exc = _call(second, torch, case.tm, case.t_args)
    if t_exc is not None or tg is None:
        return bool(t_exc is None)
    eg, e_exc = _call(second, ember, case.em, case.e_args)
    if e_exc is not None:
        problems.append(f"ember raised {_short(e_exc)}")
        return True
    if eg is None:
        problems.append("ember's first-order gradients do not require grad")
        return True
    rtol, atol = GRAD_TOL[case.dtype]
    for j, (a, b) in enumerate(zip(tg, eg)):
        msg = _close(a, b, rtol, atol)
        if msg:
            problems.append(f"grad-of-grad {j}: {msg}")
    return True


def check_eval(case, out):
    problems = out.setdefault("eval", [])
    case.tm.eval()
    case.em.eval()
    try:
        t_out, t_exc = _call(case.tm, *case.t_args)
        e_out, e_exc = _call(case.em, *case.e_args)
        random = type(case.tm).__name__ in RANDOM
        _compare_forward(t_out, t_exc, e_out, e_exc, random, case.dtype, "", problems)
    finally:
        case.tm.train()
        case.em.train()


def _cast(x, lib, dtype, memo):
    """x with floating tensors cast to dtype (leaves keep requires_grad), as to_single."""
    tensor = torch.Tensor if lib is torch else ember.Tensor
    if isinstance(x, tensor):
        if id(x) not in memo:
            if x.is_floating_point():
                y = x.detach().to(dtype)
                memo[id(x)] = y.requires_grad_(x.requires_grad)
            else:
                memo[id(x)] = x
        return memo[id(x)]
    if isinstance(x, (list, tuple)):
        return type(x)(_cast(v, lib, dtype, memo) for v in x)
    return x


def check_float32(case, out):
    problems = out.setdefault("float32", [])
    if case.dtype is not torch.float64:
        return False
    with _default_dtype(torch.float32):
        tm, em = copy.deepcopy(case.tm).float(), copy.deepcopy(case.em).float()
    t_args = _cast(case.t_args, torch, torch.float32, {})
    e_args = _cast(case.e_args, ember, ember.float32, {})
    t_out, t_exc = _call(tm, *t_args)
    e_out, e_exc = _call(em, *e_args)
    random = type(tm).__name__ in RANDOM
    if _compare_forward(t_out, t_exc, e_out, e_exc, random, torch.float32, "", problems):
        _grads(t_out, e_out, _leaves(t_args, tm, torch), _leaves(e_args, em, ember),
               torch.float32, "", problems)
    return True


def _noncontig(x, lib):
    """ModuleTest.noncontiguize: x as a strided view of a stack with a dummy tensor, along
    the dim after x's first dim of size > 1 (leaves keep requires_grad)."""
    tensor = torch.Tensor if lib is torch else ember.Tensor
    if isinstance(x, (list, tuple)):
        return type(x)(_noncontig(v, lib) for v in x)
    if not isinstance(x, tensor):
        return x
    dim = x.dim()
    for d in range(x.dim()):
        if x.size(d) > 1:
            dim = d + 1
            break
    nc = lib.stack([lib.zeros_like(x), x.detach()], dim).select(dim, 1).detach()
    nc.requires_grad_(x.requires_grad)
    return nc


def check_noncontig(case, out):
    problems = out.setdefault("noncontig", [])
    if any(isinstance(a, torch.Tensor) and a.dim() == 0 for a in case.t_args):
        return False
    t_args, e_args = _noncontig(case.t_args, torch), _noncontig(case.e_args, ember)
    for a in e_args:
        if isinstance(a, ember.Tensor) and a.numel() > 1 and a.is_contiguous():
            problems.append("ember's stack/select view of an input is contiguous")
            break
    t_out, t_exc = _call(case.tm, *t_args)
    e_out, e_exc = _call(case.em, *e_args)
    random = type(case.tm).__name__ in RANDOM
    if not _compare_forward(t_out, t_exc, e_out, e_exc, random, case.dtype, "", problems):
        return True
    tf, ef = _grad_outs(t_out, torch), _grad_outs(e_out, ember)
    t_leaves, e_leaves = _leaves(t_args, case.tm, torch), _leaves(e_args, case.em, ember)
    if not tf or len(tf) != len(ef) or not t_leaves or len(t_leaves) != len(e_leaves):
        return True
    ws = _weights(tf, 2)
    t_go = _noncontig([torch.tensor(w, dtype=o.dtype) for o, w in zip(tf, ws)], torch)
    e_go = _noncontig([ember.tensor(w, dtype=o.dtype) for o, w in zip(ef, ws)], ember)
    tg, t_exc = _call(torch.autograd.grad, tf, t_leaves, t_go, allow_unused=True)
    if t_exc is not None:
        return True
    eg, e_exc = _call(ember.autograd.grad, ef, e_leaves, e_go, allow_unused=True)
    if e_exc is not None:
        problems.append(f"ember grad raised {_short(e_exc)}")
        return True
    rtol, atol = GRAD_TOL[case.dtype]
    for j, (a, b) in enumerate(zip(tg, eg)):
        msg = _close(a, b, rtol, atol)
        if msg:
            problems.append(f"grad {j}: {msg}")
    return True


def check_pickle(case, out):
    problems = out.setdefault("pickle", [])
    if case.functional or not getattr(case.test, "should_test_pickle", False):
        return False
    try:
        em2 = pickle.loads(pickle.dumps(case.em))
    except Exception as e:  # noqa: BLE001 - reported
        problems.append(f"pickle round trip raised {_short(e)}")
        return True
    e_out, e_exc = _call(case.em, *case.e_args)
    e2_out, e2_exc = _call(em2, *case.e_args)
    if (e_exc is None) != (e2_exc is None):
        problems.append(f"loaded module: {_short(e2_exc) if e2_exc else 'no exception'}")
    elif e_exc is None and type(case.tm).__name__ not in RANDOM:
        t_like = [o.detach().numpy() if isinstance(o, ember.Tensor) else o for o in flat(e_out)]
        e2 = [o.detach().numpy() if isinstance(o, ember.Tensor) else o for o in flat(e2_out)]
        if len(t_like) != len(e2) or not all(np.array_equal(a, b, equal_nan=True)
                                             for a, b in zip(t_like, e2)):
            problems.append("loaded module's output differs")
    if repr(em2) != repr(case.em):
        problems.append(f"loaded repr {repr(em2)[:120]!r} vs {repr(case.em)[:120]!r}")
    return True


def check_long(case, out):
    """test_nn.py's check_with_long_tensor: parameters and input drawn as integers in
    [-1000, 1000) (as doubles), then module and input cast to int64; forward only."""
    problems = out.setdefault("long", [])
    if "check_with_long_tensor" not in case.test._extra_kwargs:
        return False
    torch.manual_seed(1)
    state = {k: (torch.randint(-1000, 1000, v.shape).double() if v.is_floating_point() else v)
             for k, v in case.tm.state_dict().items()}
    size = case.test._extra_kwargs["input_size"]
    t_in = torch.randint(-1000, 1000, size).long()
    tm = copy.deepcopy(case.tm)
    tm.load_state_dict(state)
    for p in tm.parameters():
        p.requires_grad_(False)
    tm._apply(lambda t: t.long())
    em = copy.deepcopy(case.em)
    em.load_state_dict(_ember(state))
    for p in em.parameters():
        p.requires_grad_(False)
    try:
        em._apply(lambda t: t.long())
    except Exception as e:  # noqa: BLE001 - reported
        problems.append(f"ember module._apply(long) raised {_short(e)}")
        return True
    t_out, t_exc = _call(tm, t_in)
    e_out, e_exc = _call(em, _ember(t_in))
    if t_exc is not None or e_exc is not None:
        if t_exc is None:
            problems.append(f"ember raised {_short(e_exc)}")
        elif e_exc is None:
            problems.append(f"torch raised {_short(t_exc)}, ember did not")
        elif not isinstance(e_exc, type(t_exc)):
            problems.append(f"torch raised {type(t_exc).__name__}, ember {_short(e_exc)}")
        return True
    msg = compare(t_out, e_out, 0, 0)
    if msg:
        problems.append(msg)
    return True


def check_reduction(case, out):
    """A criterion module rebuilt with each other reduction: forward and gradients."""
    problems = out.setdefault("reduction", [])
    if case.functional or not isinstance(getattr(case.tm, "reduction", None), str):
        return False
    cls, ecls = type(case.tm), type(case.em)
    for red in ("none", "mean", "sum"):
        if red == case.tm.reduction:
            continue
        kwargs = {k: v for k, v in vars(case.tm).items() if not k.startswith("_")
                  and k != "training" and isinstance(v, (int, float, bool, str))}
        kwargs["reduction"] = red
        t_m, t_exc = _call(cls, **kwargs)
        if t_exc is not None:
            continue
        e_m, e_exc = _call(ecls, **kwargs)
        if e_exc is not None:
            problems.append(f"{red}: ember construct raised {_short(e_exc)}")
            continue
        for name, b in case.tm.named_buffers():
            t_m.register_buffer(name, b)
        for name, b in case.em.named_buffers():
            e_m.register_buffer(name, b)
        t_out, t_exc = _call(t_m, *case.t_args)
        e_out, e_exc = _call(e_m, *case.e_args)
        where = f"{red}: "
        if _compare_forward(t_out, t_exc, e_out, e_exc, False, case.dtype, where, problems):
            _grads(t_out, e_out, _leaves(case.t_args, t_m, torch),
                   _leaves(case.e_args, e_m, ember), case.dtype, red, problems)
    return True


def _ember_tables():
    """common_nn's globals as re-created over ember (module_api_sweep._globals_for), with
    its dicts of reference functions (loss_reference_fns) pointing at the re-created
    functions: the originals would call torch's functions on ember tensors."""
    g = common_nn.__dict__
    new = _globals_for(g, {})
    for k, v in g.items():
        if isinstance(v, dict) and new[k] is v and any(
                isinstance(f, (types.FunctionType, functools.partial)) for f in v.values()):
            new[k] = _translate(v, {})


def check_reference(case, out):
    """The table's reference_fn(input, parameters, module) (modules) or
    reference_fn(*inputs, target, *extra, module) (criteria), in both libraries."""
    problems = out.setdefault("reference", [])
    ref = case.test.reference_fn
    if ref is None or type(case.tm).__name__ in RANDOM:
        return False
    _ember_tables()
    try:
        e_ref = _translate(ref, {})
    except TypeError:
        return False
    tm, em = copy.deepcopy(case.tm), copy.deepcopy(case.em)
    t_args, e_args = copy.deepcopy(case.t_args), copy.deepcopy(case.e_args)
    if case.kind == "criterion":
        t_call = (*t_args, tm)
        e_call = (*e_args, em)
    else:
        t_in = tuple(t_args) if len(t_args) > 1 else t_args[0]
        e_in = tuple(e_args) if len(e_args) > 1 else e_args[0]
        t_call = (t_in, list(tm.parameters()), tm)
        e_call = (e_in, list(em.parameters()), em)
    t_out, t_exc = _call(ref, *t_call)
    if t_exc is not None:
        return False
    e_out, e_exc = _call(e_ref, *e_call)
    if e_exc is not None:
        problems.append(f"ember raised {_short(e_exc)}")
        return True
    if not isinstance(t_out, (torch.Tensor, list, tuple)):
        t_out, e_out = [t_out], [e_out]
    msg = compare(t_out, e_out, *TOL[case.dtype])
    if msg:
        problems.append(msg)
    return True


def check_fwad(case, out):
    """JVP of the module's outputs along random tangents of its floating inputs."""
    problems = out.setdefault("fwad", [])
    if not case.test._extra_kwargs.get("supports_forward_ad", False):
        return False

    def jvp(lib, module, args):
        fwad = lib.autograd.forward_ad
        tensor = torch.Tensor if lib is torch else ember.Tensor
        rng = np.random.default_rng(3)
        with fwad.dual_level():
            duals = []
            for a in args:
                if isinstance(a, tensor) and a.is_floating_point():
                    t = lib.tensor(rng.standard_normal(tuple(a.shape)), dtype=a.dtype)
                    a = fwad.make_dual(a.detach(), t)
                duals.append(a)
            res = module(*duals)
            return [fwad.unpack_dual(o).tangent for o in flat(res) if isinstance(o, tensor)]

    tt, t_exc = _call(jvp, torch, case.tm, case.t_args)
    if t_exc is not None:
        return False
    et, e_exc = _call(jvp, ember, case.em, case.e_args)
    if e_exc is not None:
        problems.append(f"ember raised {_short(e_exc)}")
        return True
    rtol, atol = GRAD_TOL[case.dtype]
    for j, (a, b) in enumerate(zip(tt, et)):
        msg = _close(a, b, rtol, atol)
        if msg:
            problems.append(f"tangent {j}: {msg}")
    return True


def check_batched_grad(case, out):
    problems = out.setdefault("batched_grad", [])
    if not case.test._extra_kwargs.get("check_batched_grad", True) or \
            type(case.tm).__name__ in RANDOM:
        return False

    def batched(lib, module, args):
        outs = _grad_outs(module(*args), lib)
        leaves = _leaves(args, module, lib)
        if not outs or not leaves:
            return None
        ws = [lib.tensor(np.stack([w, -2 * w]), dtype=o.dtype)
              for o, w in zip(outs, _weights(outs, 4))]
        return lib.autograd.grad(outs, leaves, ws, is_grads_batched=True, allow_unused=True)

    tg, t_exc = _call(batched, torch, case.tm, case.t_args)
    if t_exc is not None or tg is None:
        return False
    eg, e_exc = _call(batched, ember, case.em, case.e_args)
    if e_exc is not None:
        problems.append(f"ember raised {_short(e_exc)}")
        return True
    rtol, atol = GRAD_TOL[case.dtype]
    for j, (a, b) in enumerate(zip(tg, eg)):
        msg = _close(a, b, rtol, atol)
        if msg:
            problems.append(f"grad {j}: {msg}")
    return True


def check_empty_batch(case, out):
    """The first input with a batch of 0 (modules taking one input of 2+ dims)."""
    problems = out.setdefault("empty_batch", [])
    if case.kind == "criterion" or len(case.t_args) != 1:
        return False
    x = case.t_args[0]
    if not isinstance(x, torch.Tensor) or x.dim() < 3 or not x.is_floating_point():
        return False
    t_in = torch.zeros((0, *x.shape[1:]), dtype=x.dtype, requires_grad=True)
    e_in = _ember(t_in)
    t_out, t_exc = _call(case.tm, t_in)
    e_out, e_exc = _call(case.em, e_in)
    if _compare_forward(t_out, t_exc, e_out, e_exc, False, case.dtype, "", problems):
        _grads(t_out, e_out, _leaves([t_in], case.tm, torch), _leaves([e_in], case.em, ember),
               case.dtype, "grad", problems)
    return True


def check_half(case, out):
    problems = out.setdefault("half", [])
    if type(case.tm).__name__ in RANDOM:
        return False
    ran = False
    for t_dt, e_dt in ((torch.float16, ember.float16), (torch.bfloat16, ember.bfloat16)):
        tm, em = copy.deepcopy(case.tm).to(t_dt), copy.deepcopy(case.em).to(e_dt)
        t_args = _cast(case.t_args, torch, t_dt, {})
        e_args = [a.detach().to(e_dt).requires_grad_(a.requires_grad)
                  if isinstance(a, ember.Tensor) and a.is_floating_point() else a
                  for a in case.e_args]
        t_out, t_exc = _call(tm, *t_args)
        e_out, e_exc = _call(em, *e_args)
        name = str(t_dt)[6:]
        if isinstance(t_exc, NotImplementedError) and e_exc is None:
            continue   # torch's CPU kernel lacks this dtype; ember computes it
        if t_exc is not None or e_exc is not None:
            if t_exc is None:
                problems.append(f"{name}: ember raised {_short(e_exc)}")
            elif e_exc is None:
                problems.append(f"{name}: torch raised {_short(t_exc)}, ember did not")
            elif not isinstance(e_exc, type(t_exc)):
                problems.append(f"{name}: torch raised {type(t_exc).__name__}, ember "
                                f"{_short(e_exc)}")
            ran = True
            continue
        ran = True
        tf = [o for o in flat(t_out) if isinstance(o, torch.Tensor)]
        ef = [o for o in flat(e_out) if isinstance(o, ember.Tensor)]
        if [(tuple(a.shape), str(a.dtype)[6:]) for a in tf] != \
                [(tuple(b.shape), str(b.dtype)[6:]) for b in ef]:
            problems.append(f"{name}: shapes/dtypes {[(tuple(a.shape), a.dtype) for a in tf]} "
                            f"vs {[(tuple(b.shape), str(b.dtype)) for b in ef]}")
            continue
        for j, (a, b) in enumerate(zip(tf, ef)):
            if not a.is_floating_point():
                continue
            an = a.detach().float().numpy()
            bn = b.detach().float().numpy()
            tol = 2e-2 if t_dt is torch.float16 else 8e-2
            scale = max(1.0, float(np.nanmax(np.abs(an)))) if an.size else 1.0
            if not np.allclose(an, bn, rtol=tol, atol=tol * scale, equal_nan=True):
                problems.append(f"{name}: out {j} max abs diff "
                                f"{np.nanmax(np.abs(an - bn)):.3g}")
    return ran


def _perturbations(case):
    """(label, torch args, ember args) variants of the call arguments."""
    first = case.t_args[0]
    if not isinstance(first, torch.Tensor):
        return []

    def swap(i, fn_t, fn_e):
        t_args, e_args = list(case.t_args), list(case.e_args)
        t_args[i] = fn_t(t_args[i].detach())
        e_args[i] = fn_e(e_args[i].detach())
        return t_args, e_args

    out = []
    if first.is_floating_point():
        out.append(("int64 input", *swap(0, lambda t: t.long(), lambda e: e.long())))
        if first.dtype is torch.float64:
            out.append(("float32 input", *swap(0, lambda t: t.float(), lambda e: e.float())))
    out.append(("2 extra dims", *swap(0, lambda t: t[None, None], lambda e: e[None, None])))
    if first.dim() >= 1 and first.shape[0] > 0:
        out.append(("first dim dropped", *swap(0, lambda t: t[0], lambda e: e[0])))
    if case.kind == "criterion" or len(case.t_args) > 1:
        last = len(case.t_args) - 1
        t_last = case.t_args[last]
        if isinstance(t_last, torch.Tensor) and t_last.dtype is not torch.bool:
            if t_last.is_floating_point():
                out.append(("int64 last argument",
                            *swap(last, lambda t: t.long(), lambda e: e.long())))
            else:
                out.append(("float64 last argument",
                            *swap(last, lambda t: t.double(), lambda e: e.double())))
        if isinstance(t_last, torch.Tensor) and t_last.dim() >= 1 and t_last.shape[0] > 1:
            out.append(("last argument one row short",
                        *swap(last, lambda t: t[:-1], lambda e: e[:-1])))
    return out


def check_perturb(case, out):
    problems = out.setdefault("perturb", [])
    if type(case.tm).__name__ in RANDOM:
        return False
    variants = _perturbations(case)
    for label, t_args, e_args in variants:
        t_out, t_exc = _call(case.tm, *t_args)
        e_out, e_exc = _call(case.em, *e_args)
        if t_exc is not None or e_exc is not None:
            if t_exc is None:
                problems.append(f"{label}: ember raised {_short(e_exc)}")
            elif e_exc is None:
                problems.append(f"{label}: torch raised {_short(t_exc)}, ember did not")
            elif not isinstance(e_exc, type(t_exc)):
                problems.append(f"{label}: torch raised {_short(t_exc)}; ember "
                                f"{_short(e_exc)}")
            continue
        msg = compare(t_out, e_out, *TOL[torch.float32])
        if msg:
            problems.append(f"{label}: {msg}")
    return bool(variants)


def check_inplace(case, out):
    problems = out.setdefault("inplace", [])
    if case.functional or len(case.t_args) != 1 or type(case.tm).__name__ in RANDOM:
        return False
    import inspect
    cls, ecls = type(case.tm), type(case.em)
    if "inplace" not in inspect.signature(cls.__init__).parameters:
        return False
    t_m, t_exc = _call(case.test.constructor, *case.c_args, inplace=True)
    if t_exc is not None:
        return False
    e_m, e_exc = _call(case.ecls, *case.e_c_args, inplace=True)
    if e_exc is not None:
        problems.append(f"ember construct raised {_short(e_exc)}")
        return True
    _copy_state(t_m, e_m)
    t_leaf, e_leaf = case.t_args[0], case.e_args[0]
    if not isinstance(t_leaf, torch.Tensor) or not t_leaf.is_floating_point():
        return False
    t_leaf = t_leaf.detach().requires_grad_()
    e_leaf = e_leaf.detach().requires_grad_()
    t_in, e_in = t_leaf.clone(), e_leaf.clone()   # in-place needs a non-leaf
    t_out, t_exc = _call(t_m, t_in)
    e_out, e_exc = _call(e_m, e_in)
    if not _compare_forward(t_out, t_exc, e_out, e_exc, False, case.dtype, "", problems):
        return True
    if (t_out is t_in) != (e_out is e_in):
        problems.append(f"output is the input: torch {t_out is t_in}, ember {e_out is e_in}")
    msg = compare(t_in, e_in, *TOL[case.dtype])
    if msg:
        problems.append(f"input after the call: {msg}")
    _grads(t_out, e_out, [t_leaf], [e_leaf], case.dtype, "grad", problems)
    return True


def check_no_grad(case, out):
    problems = out.setdefault("no_grad", [])
    if type(case.tm).__name__ in RANDOM:
        return False
    for mode in ("no_grad", "inference_mode"):
        with getattr(torch, mode)():
            t_out, t_exc = _call(case.tm, *case.t_args)
        with getattr(ember, mode)():
            e_out, e_exc = _call(case.em, *case.e_args)
        if _compare_forward(t_out, t_exc, e_out, e_exc, False, case.dtype, f"{mode}: ",
                            problems):
            msg = _requires_grad_flags(t_out, e_out)
            if msg:
                problems.append(f"{mode}: {msg}")
    return True


def check_param_grad(case, out):
    problems = out.setdefault("param_grad", [])
    if type(case.tm).__name__ in RANDOM or not list(case.tm.parameters()):
        return False
    t_args = [a.detach() if isinstance(a, torch.Tensor) else a for a in case.t_args]
    e_args = [a.detach() if isinstance(a, ember.Tensor) else a for a in case.e_args]
    t_out, t_exc = _call(case.tm, *t_args)
    e_out, e_exc = _call(case.em, *e_args)
    if _compare_forward(t_out, t_exc, e_out, e_exc, False, case.dtype, "", problems):
        _grads(t_out, e_out, list(case.tm.parameters()), list(case.em.parameters()),
               case.dtype, "grad", problems)
    return True


# ---------------------------------------------------------------------------------- run
def one(name, kind, test, counts):
    """{check kind: [problems]} for one config; counts[kind] gets the checks run."""
    out = {}
    case = Case(kind, test)
    if case.dtype not in EMBER_DTYPE:
        return None, f"default dtype {case.dtype}"
    with _default_dtype(case.dtype):
        try:
            why = case.build()
        except Exception as e:  # noqa: BLE001 - reported
            counts["construct"] += 1
            return {"construct": [_short(e)]}, None
        if why:
            return None, why
        counts["construct"] += 1
        if not case.functional:
            counts["api"] += 1
            _api_compare(case.tm, case.em, out.setdefault("api", []), "api")
        counts["forward"] += 1
        outs = check_forward(case, out)
        if outs is not None:
            counts["grad"] += 1
            check_grad(case, outs, out)
            # every config, also where the table turns gradgradcheck off (torch decides)
            if type(case.tm).__name__ not in RANDOM:
                counts["gradgrad"] += bool(check_gradgrad(case, out))
        counts["eval"] += 1
        check_eval(case, out)
        for kind_name, fn in (("float32", check_float32), ("noncontig", check_noncontig),
                              ("pickle", check_pickle), ("long", check_long),
                              ("reduction", check_reduction), ("reference", check_reference),
                              ("fwad", check_fwad), ("batched_grad", check_batched_grad),
                              ("empty_batch", check_empty_batch), ("half", check_half),
                              ("perturb", check_perturb), ("inplace", check_inplace),
                              ("no_grad", check_no_grad), ("param_grad", check_param_grad)):
            try:
                counts[kind_name] += bool(fn(case, out))
            except Exception as e:  # noqa: BLE001 - the sweep goes on
                counts[kind_name] += 1
                out.setdefault(kind_name, []).append(f"SWEEP CRASH {_short(e)}")
    return {k: v for k, v in out.items() if v}, None


def run(names=None):
    counts = dict.fromkeys(KINDS, 0)
    configs, skipped = {}, {}
    n = 0
    for name, kind, test in _legacy_tests():
        if names and not any(name.startswith(p) for p in names):
            continue
        n += 1
        try:
            problems, why = one(name, kind, test, counts)
        except Exception as e:  # noqa: BLE001 - the sweep goes on
            problems, why = {"sweep": [f"SWEEP CRASH {_short(e)}"]}, None
        if why:
            skipped[name] = why
        elif problems:
            configs[name] = problems
    by_kind = {k: sum(1 for p in configs.values() if k in p) for k in KINDS}
    summary = {"configs": n, "compared": n - len(skipped), "skipped": len(skipped),
               "configs_with_mismatches": len(configs), "checks_run": counts,
               "configs_mismatching_by_kind": by_kind}
    return {"summary": summary, "configs": configs, "skipped": skipped}


def main(argv):
    rep = run(argv[1:] or None)
    with open(argv[0], "w") as f:
        json.dump(rep, f, indent=1)
    print(json.dumps(rep["summary"], indent=1))


if __name__ == "__main__":
    main(sys.argv[1:])
