"""Differential sweep of ember.optim against torch.optim: torch's OptimizerInfo table
(torch.testing._internal's optim_db, 15 optimizers) and every LR scheduler.

For each optimizer and each of its configs (optim_inputs_func, with the foreach / fused /
differentiable variants torch's own tests add), the same parameters (torch's initial values
copied into ember) take STEPS steps with identical gradients (set directly; a closure for
LBFGS; sparse COO gradients for SparseAdam; complex parameters where the optimizer supports
them; float32 and float64, float16/bfloat16 for the default config), and after each step the
parameters and the state_dict (state keys, tensor values, dtypes and shapes, every
param_groups entry) are compared. Beyond torch's table: a Tensor lr everywhere, sparse
gradients for SGD/Adagrad, capturable=True on the CPU. Then, per optimizer: state_dict round
trips (torch's state loaded into ember and ember's into torch, as dicts and through
torch.save/ember.load and ember.save(format="torch")/torch.load files), add_param_group,
zero_grad with and without set_to_none, named parameters, repr, construction and
load_state_dict errors, state loaded into float32 parameters and old-style state_dicts,
step / state_dict / load_state_dict hooks (also the global step hooks), and the error inputs
(exception or warning type and torch's message regex).

The schedulers run on SGD (Adam where betas cycle) with two parameter groups for STEPS_LR
steps in several constructor configs each (float and Tensor lrs); the rates (get_last_lr and
the groups' lr/momentum/betas) are compared after every step, as are the final scheduler
state_dicts; a scheduler resumed from the other library's state_dict mid-way must go on
identically, as must one constructed with last_epoch; step(epoch), the warnings of a wrong
step() order and the constructors' errors must agree.

A probe for finding defects, not a test (its inputs change with torch's tables):
    PYTHONPATH=/tmp/extra:. python -m bench.optim_sweep sweep.json [names...]
(expecttest, which torch.testing._internal needs, lies in /tmp/extra.) Configs ember
documents as NotImplementedError (differentiable=True) are checked to raise it and counted
as skipped; everything else that ember raises counts as a mismatch.
"""
import importlib
import io
import json
import re
import sys
import warnings

import numpy as np
import torch
from torch.testing._internal.common_optimizers import (
    OptimizerErrorEnum, _get_optim_inputs_including_global_cliquey_kwargs, optim_db)

import ember

STEPS = 5
STEPS_LR = 30


# ---------------------------------------------------------------------------- conversion
def to_e(x, memo=None):
    """A torch value (tensors, nested containers, dtypes) as the ember value; a tensor met
    twice becomes one ember tensor (duplicate parameters stay duplicates)."""
    memo = {} if memo is None else memo
    if isinstance(x, torch.Tensor):
        if id(x) not in memo:
            memo[id(x)] = _tensor_to_e(x)
        return memo[id(x)]
    if isinstance(x, torch.dtype):
        return getattr(ember, str(x).split(".")[1])
    if isinstance(x, dict):
        return type(x)((k, to_e(v, memo)) for k, v in x.items())
    if isinstance(x, (list, tuple)):
        return type(x)(to_e(v, memo) for v in x)
    return x


def _tensor_to_e(x):
    if x.layout == torch.sparse_coo:
        x = x.coalesce()
        return ember.sparse_coo_tensor(to_e(x.indices()), to_e(x.values()), tuple(x.shape))
    if x.dtype == torch.bfloat16:      # (no NumPy bfloat16 in torch: through float32)
        t = ember.tensor(x.detach().float().numpy().copy()).to(ember.bfloat16)
    else:
        t = ember.tensor(x.detach().resolve_conj().numpy().copy())
    if isinstance(x, torch.nn.Parameter):
        return ember.nn.Parameter(t, requires_grad=x.requires_grad)
    return t.requires_grad_(x.requires_grad) if x.is_leaf else t


def to_t(x):
    """An ember value as the torch value."""
    if isinstance(x, ember.Tensor):
        if x.is_sparse:
            x = x.coalesce()
            return torch.sparse_coo_tensor(to_t(x.indices()), to_t(x.values()), tuple(x.shape))
        t = torch.from_numpy(np.array(x.detach().numpy(), copy=True))
        if isinstance(x, ember.nn.Parameter):
            return torch.nn.Parameter(t, requires_grad=x.requires_grad)
        return t
    if isinstance(x, ember.dtype):
        return getattr(torch, str(x).split(".")[1])
    if isinstance(x, dict):
        return type(x)((k, to_t(v)) for k, v in x.items())
    if isinstance(x, (list, tuple)):
        return type(x)(to_t(v) for v in x)
    return x


def diff(a, b, rtol, atol, where=""):
    """None when torch value `a` and ember value `b` agree (type, dtype, shape, values within
    tolerances, recursively), else a message."""
    if isinstance(a, torch.Tensor):
        if not isinstance(b, ember.Tensor):
            return f"{where}: torch Tensor, ember {type(b).__name__} {b!r:.60}"
        if tuple(a.shape) != tuple(b.shape):
            return f"{where}: shape {tuple(a.shape)} vs {tuple(b.shape)}"
        if str(a.dtype)[6:] != str(b.dtype)[6:]:
            return f"{where}: dtype {a.dtype} vs {b.dtype}"
        if a.layout == torch.sparse_coo:
            return diff(a.coalesce().to_dense(), b.coalesce().to_dense(), rtol, atol, where)
        if a.dtype == torch.bfloat16:
            a, b = a.float(), b.float()
        an, bn = a.detach().resolve_conj().numpy(), np.asarray(b.detach().numpy())
        if not np.allclose(an, bn, rtol=rtol, atol=atol, equal_nan=True):
            d = np.nanmax(np.abs(an - bn)) if an.size else 0
            return f"{where}: values differ (max abs {d:.3g})"
        return None
    if isinstance(b, ember.Tensor):
        return f"{where}: torch {type(a).__name__} {a!r:.40}, ember Tensor"
    if isinstance(a, dict):
        if not isinstance(b, dict):
            return f"{where}: torch dict, ember {type(b).__name__}"
        if set(a) != set(b):
            return f"{where}: keys {sorted(map(str, a))} vs {sorted(map(str, b))}"
        for k in a:
            msg = diff(a[k], b[k], rtol, atol, f"{where}.{k}")
            if msg:
                return msg
        return None
    if isinstance(a, (list, tuple)):
        if not isinstance(b, (list, tuple)) or len(a) != len(b):
            return f"{where}: {a!r:.60} vs {b!r:.60}"
        if type(a) is not type(b):
            return f"{where}: {type(a).__name__} vs {type(b).__name__}"
        for i, (x, y) in enumerate(zip(a, b)):
            msg = diff(x, y, rtol, atol, f"{where}[{i}]")
            if msg:
                return msg
        return None
    if isinstance(a, float) and isinstance(b, (int, float)) and not isinstance(b, bool):
        if not np.isclose(a, b, rtol=rtol, atol=atol, equal_nan=True):
            return f"{where}: {a!r} vs {b!r}"
        return None
    if isinstance(a, (torch.dtype,)):
        return None if str(a)[6:] == str(b)[6:] else f"{where}: {a} vs {b}"
    if type(a) is not type(b) or a != b:
        return f"{where}: {a!r:.60} ({type(a).__name__}) vs {b!r:.60} ({type(b).__name__})"
    return None


def tolerances(dtype):
    if dtype in (torch.float16, torch.bfloat16):
        return (1e-2, 1e-2) if dtype is torch.bfloat16 else (2e-3, 1e-3)
    return (1e-5, 1e-6) if dtype in (torch.float32, torch.complex64) else (1e-10, 1e-12)


# ---------------------------------------------------------------------------- problems
class Problems:
    """Mismatches of one sweep part, and how many comparisons ran / were skipped."""

    def __init__(self):
        self.items, self.compared, self.skipped = [], 0, []

    def add(self, where, msg):
        self.items.append(f"{where}: {msg}")


def _exc(e):
    return f"{type(e).__name__}: {str(e)[:160]}"


# ---------------------------------------------------------------------------- optimizers
SHAPES = {"Muon": [(3, 2), (2, 4)], "SparseAdam": [(5, 3), (4,)]}
DEFAULT_SHAPES = [(2, 3), (3,), (1, 1)]


def make_params(name, dtype, seed=0):
    """(torch Parameters, ember Parameters) with the same values."""
    rng = np.random.default_rng(seed)
    out = []
    for shape in SHAPES.get(name, DEFAULT_SHAPES):
        a = rng.standard_normal(shape)
        if dtype.is_complex:
            a = a + 1j * rng.standard_normal(shape)
        out.append(torch.nn.Parameter(torch.tensor(a, dtype=dtype)))
    return out, [to_e(p) for p in out]


def set_grads(name, step, tparams, eparams, seed=1):
    """The same gradient in both libraries: dense random values (the last parameter gets
    none on step 1: a parameter without a gradient must be left alone), sparse COO for
    SparseAdam (rows repeated: uncoalesced)."""
    rng = np.random.default_rng(seed + 100 * step)
    for i, (tp, ep) in enumerate(zip(tparams, eparams)):
        if i == len(tparams) - 1 and step == 1 and len(tparams) > 1:
            tp.grad, ep.grad = None, None
            continue
        a = rng.standard_normal(tuple(tp.shape))
        if tp.dtype.is_complex:
            a = a + 1j * rng.standard_normal(tuple(tp.shape))
        if name == "SparseAdam":
            rows = rng.integers(0, tp.shape[0], size=3)
            vals = torch.tensor(a[rows], dtype=tp.dtype)
            idx = torch.tensor(rows[None, :], dtype=torch.int64)
            tp.grad = torch.sparse_coo_tensor(idx, vals, tuple(tp.shape))
            ep.grad = ember.sparse_coo_tensor(to_e(idx), to_e(vals), tuple(tp.shape))
        else:
            tp.grad = torch.tensor(a, dtype=tp.dtype)
            ep.grad = to_e(tp.grad)


def closure_for(lib, params, weights):
    """A smooth loss of the parameters (a weighted quadratic plus a quartic, real also for
    complex parameters), its gradient set by backward."""
    def closure():
        for p in params:
            p.grad = None
        loss = 0
        for p, (w, c) in zip(params, weights):
            d = p - lib.tensor(c, dtype=p.dtype)
            sq = (d * d.conj()).real if p.dtype.is_complex else d * d
            loss = loss + (lib.tensor(w, dtype=sq.dtype) * sq).sum() + 0.1 * (sq * sq).sum()
        loss.backward()
        return loss
    return closure


def loss_weights(tparams, seed=3):
    rng = np.random.default_rng(seed)
    out = []
    for p in tparams:
        c = rng.standard_normal(tuple(p.shape))
        if p.dtype.is_complex:
            c = c + 1j * rng.standard_normal(tuple(p.shape))
        out.append((rng.uniform(0.5, 2.0, tuple(p.shape)), c))
    return out


def step_both(info, name, k, topt, eopt, tparams, eparams, weights):
    """Step k in both (the same gradients, or a closure for LBFGS); (torch exception, ember
    exception), None where a library's step ran."""
    if not info.step_requires_closure:
        set_grads(name, k, tparams, eparams)
    excs = []
    for lib, opt, params in ((torch, topt, tparams), (ember, eopt, eparams)):
        try:
            if info.step_requires_closure:
                opt.step(closure_for(lib, params, weights))
            else:
                opt.step()
            excs.append(None)
        except Exception as e:  # noqa: BLE001
            excs.append(e)
    return tuple(excs)


def must_step(*args):
    """step_both, raising the first library's exception where a step raised."""
    for lib, e in zip(("torch", "ember"), step_both(*args)):
        if e is not None:
            raise RuntimeError(f"{lib} step raised {_exc(e)}")


def check_step(where, excs, problems):
    """True when both steps ran; notes a mismatch where one raised (or the types differ)."""
    te, ee = excs
    if te is None and ee is None:
        return True
    if te is None:
        problems.add(where, f"ember step raised {_exc(ee)}")
    elif ee is None:
        problems.add(where, f"torch step raised {_exc(te)}, ember did not")
    elif type(te).__name__ != type(ee).__name__:
        problems.add(where, f"torch {_exc(te)}; ember {_exc(ee)}")
    return False


def compare_opt(where, topt, eopt, tparams, eparams, dtype, problems):
    rtol, atol = tolerances(dtype)
    for i, (tp, ep) in enumerate(zip(tparams, eparams)):
        msg = diff(tp.detach(), ep.detach(), rtol, atol, f"param{i}")
        if msg:
            problems.add(where, msg)
            return False
    try:
        esd = eopt.state_dict()
    except Exception as e:  # noqa: BLE001
        problems.add(where, f"ember state_dict raised {_exc(e)}")
        return False
    tsd = topt.state_dict()
    if isinstance(topt, torch.optim.LBFGS) and rtol > 1e-8:
        rtol, atol = 1e-3, 1e-4      # float32 L-BFGS: see SCRATCH_STATE
    msg = _diff_scratch(tsd, esd, dtype) or diff(tsd, esd, rtol, atol, "state_dict")
    if msg:
        problems.add(where, msg)
        return False
    return True


# LBFGS's 'al' is the scratch of its last two-loop recursion: products of small gradient
# differences, whose float32 values carry a few percent of rounding (torch rounds each to
# float32, ember keeps the scalars in double; the parameters agree to an ulp). They are
# compared by type, dtype and shape always, by value at rtol 1e-8 in float64 only. The other
# float32 L-BFGS state vectors (differences of gradients) are compared at rtol 1e-3.
SCRATCH_STATE = {"al"}


def _diff_scratch(tsd, esd, dtype):
    """Compare the SCRATCH_STATE entries of two state_dicts (removing them from both)."""
    loose = 1e-8 if dtype in (torch.float64, torch.complex128) else np.inf
    for key in SCRATCH_STATE:
        for i, ts in tsd["state"].items():
            es = esd["state"].get(i, {})
            if key in ts and key in es:
                msg = diff(ts.pop(key), es.pop(key), loose, 1e-12,
                           f"state_dict.state.{i}.{key}")
                if msg:
                    return msg
    return None


def construct(cls_pair, tparams, eparams, kwargs, problems, where):
    """(torch optimizer, ember optimizer) or None after noting why not."""
    tcls, ecls = cls_pair
    try:
        topt = tcls(tparams, **kwargs)
    except Exception:  # noqa: BLE001 - a config torch refuses (e.g. complex + fused)
        return None
    try:
        eopt = ecls(eparams, **to_e(kwargs))
    except NotImplementedError as e:
        if kwargs.get("differentiable"):
            problems.skipped.append(f"{where} (NotImplementedError: differentiable)")
        else:
            problems.add(where, f"ember NotImplementedError: {str(e)[:120]}")
        return None
    except Exception as e:  # noqa: BLE001
        problems.add(where, f"ember constructor raised {_exc(e)}")
        return None
    return topt, eopt


def run_config(info, kwargs, dtype, where, problems):
    name = info.optim_cls.__name__
    pair = (info.optim_cls, getattr(ember.optim, name))
    kwargs = dict(kwargs)
    if kwargs.pop("sparse", False):
        name = "SparseAdam"     # (the grad layout of set_grads: sparse COO rows)
    tparams, eparams = make_params(name, dtype)
    got = construct(pair, tparams, eparams, kwargs, problems, where)
    if got is None:
        return
    topt, eopt = got
    weights = loss_weights(tparams)
    problems.compared += 1
    for k in range(STEPS):
        if not check_step(f"{where} step{k}", step_both(info, name, k, topt, eopt, tparams,
                                                         eparams, weights), problems):
            return
        if not compare_opt(f"{where} step{k}", topt, eopt, tparams, eparams, dtype, problems):
            return


def extra_inputs(info):
    """Configs beyond torch's table: a Tensor lr for every optimizer (torch's table has it
    for a few; on the CPU it goes with foreach=False), and sparse gradients for the
    optimizers that take them (SGD, Adagrad) with torch's own metadata_for_sparse kwargs."""
    out = [("extra: Tensor lr", dict(lr=torch.tensor(0.01), foreach=False)),
           ("extra: Tensor lr, weight_decay", dict(lr=torch.tensor(0.02), weight_decay=0.1))]
    if info.optim_cls.__name__ in ("Adafactor", "Muon", "SparseAdam", "LBFGS"):
        out = [(d, {k: v for k, v in kw.items() if k != "foreach"}) for d, kw in out]
    if "capturable" in info.optim_cls.__init__.__code__.co_varnames:
        out.append(("extra: capturable on the CPU", dict(capturable=True)))
    if info.supports_sparse:
        out.append(("extra: sparse grads", dict(info.metadata_for_sparse[0], sparse=True)))
    return out


def sweep_configs(info, problems):
    try:
        inputs = _get_optim_inputs_including_global_cliquey_kwargs("cpu", torch.float32, info)
    except Exception:  # noqa: BLE001
        inputs = info.optim_inputs_func(device="cpu", dtype=torch.float32)
    configs = [(oi.desc, oi.kwargs) for oi in inputs] + extra_inputs(info)
    for desc, kwargs in configs:
        for dtype in (torch.float32, torch.float64):
            run_config(info, kwargs, dtype, f"{desc}/{str(dtype)[6:]}", problems)
        if info.supports_complex and not kwargs.get("sparse"):
            run_config(info, kwargs, torch.complex64, f"{desc}/complex64", problems)
    # half precision: the default config only (torch runs them on the CPU too)
    for dtype in (torch.float16, torch.bfloat16):
        run_config(info, configs[0][1], dtype, f"{configs[0][0]}/{str(dtype)[6:]}", problems)


def _fresh(info, dtype=torch.float64, kwargs=None, seed=0):
    name = info.optim_cls.__name__
    tparams, eparams = make_params(name, dtype, seed)
    kwargs = dict(kwargs or {})
    return (name, tparams, eparams, info.optim_cls(tparams, **kwargs),
            getattr(ember.optim, name)(eparams, **to_e(kwargs)), loss_weights(tparams))


def sweep_round_trips(info, problems):
    """torch state -> ember and ember state -> torch, as dicts and through files."""
    dtype = torch.float64
    for route in ("t2e-dict", "e2t-dict", "t2e-file", "e2t-file"):
        where = f"roundtrip {route}"
        problems.compared += 1
        try:
            name, tparams, eparams, topt, eopt, w = _fresh(info)
            for k in range(3):
                must_step(info, name, k, topt, eopt, tparams, eparams, w)
            # a second pair of optimizers on copies of the current parameters takes the state
            t2 = [torch.nn.Parameter(p.detach().clone()) for p in tparams]
            e2 = [to_e(p) for p in t2]
            topt2 = info.optim_cls(t2)
            eopt2 = getattr(ember.optim, name)(e2)
            if route == "t2e-dict":
                topt2.load_state_dict(topt.state_dict())
                eopt2.load_state_dict(to_e(topt.state_dict()))
            elif route == "e2t-dict":
                eopt2.load_state_dict(eopt.state_dict())
                topt2.load_state_dict(to_t(eopt.state_dict()))
            elif route == "t2e-file":
                buf = io.BytesIO()
                torch.save(topt.state_dict(), buf)
                buf.seek(0)
                eopt2.load_state_dict(ember.load(buf))
                topt2.load_state_dict(topt.state_dict())
            else:
                buf = io.BytesIO()
                ember.save(eopt.state_dict(), buf, format="torch")
                buf.seek(0)
                topt2.load_state_dict(torch.load(buf))
                eopt2.load_state_dict(eopt.state_dict())
            if not compare_opt(where + " loaded", topt2, eopt2, t2, e2, dtype, problems):
                continue
            for k in range(3, 5):
                must_step(info, name, k, topt2, eopt2, t2, e2, w)
                if not compare_opt(f"{where} step{k}", topt2, eopt2, t2, e2, dtype, problems):
                    break
        except Exception as e:  # noqa: BLE001
            problems.add(where, f"raised {_exc(e)}")


def sweep_param_groups_and_zero_grad(info, problems):
    name = info.optim_cls.__name__
    where = "add_param_group"
    problems.compared += 1
    try:
        if not info.supports_param_groups:   # LBFGS: both must refuse a second group
            tparams, eparams = make_params(name, torch.float64)
            errs = []
            for opt, ps in ((info.optim_cls(tparams[:1]), tparams),
                            (getattr(ember.optim, name)(eparams[:1]), eparams)):
                try:
                    opt.add_param_group({"params": ps[1:]})
                    opt.step(closure_for(torch if ps is tparams else ember, ps,
                                         loss_weights(tparams)))
                    errs.append(None)
                except Exception as e:  # noqa: BLE001
                    errs.append(type(e).__name__)
            if errs[0] != errs[1]:
                problems.add(where, f"torch {errs[0]}, ember {errs[1]}")
            raise StopIteration
        tparams, eparams = make_params(name, torch.float64)
        topt = info.optim_cls(tparams[:1])
        eopt = getattr(ember.optim, name)(eparams[:1])
        w = loss_weights(tparams)
        must_step(info, name, 0, topt, eopt, tparams, eparams, w)
        topt.add_param_group({"params": tparams[1:], "lr": 0.05})
        eopt.add_param_group({"params": eparams[1:], "lr": 0.05})
        for k in range(1, 4):
            must_step(info, name, k, topt, eopt, tparams, eparams, w)
            if not compare_opt(f"{where} step{k}", topt, eopt, tparams, eparams,
                               torch.float64, problems):
                break
    except StopIteration:
        pass
    except Exception as e:  # noqa: BLE001
        problems.add(where, f"raised {_exc(e)}")
    for set_to_none in (False, True):
        where = f"zero_grad(set_to_none={set_to_none})"
        problems.compared += 1
        try:
            name, tparams, eparams, topt, eopt, w = _fresh(info)
            must_step(info, name, 0, topt, eopt, tparams, eparams, w)
            topt.zero_grad(set_to_none=set_to_none)
            eopt.zero_grad(set_to_none=set_to_none)
            for i, (tp, ep) in enumerate(zip(tparams, eparams)):
                if (tp.grad is None) != (ep.grad is None):
                    problems.add(where, f"param{i}.grad {tp.grad} vs {ep.grad}")
                elif tp.grad is not None:
                    msg = diff(tp.grad, ep.grad, 0, 0, f"param{i}.grad")
                    if msg:
                        problems.add(where, msg)
        except Exception as e:  # noqa: BLE001
            problems.add(where, f"raised {_exc(e)}")


def _kinds(opt, args, kwargs):
    """What a step hook was given, by kind (the optimizer itself, a closure, ...)."""
    def kind(v):
        return "self" if v is opt else type(v).__name__
    return [kind(opt), [kind(a) for a in args], {k: kind(v) for k, v in kwargs.items()}]


def _hooked(lib, opt, log):
    """Register every kind of hook on `opt`, each appending what it saw to `log`; the
    handles."""
    handles = [
        opt.register_step_pre_hook(lambda o, a, k: log.append(("pre", _kinds(o, a, k)))),
        opt.register_step_post_hook(lambda o, a, k: log.append(("post", _kinds(o, a, k)))),
        opt.register_state_dict_pre_hook(lambda o: log.append(("sd_pre",))),
        opt.register_state_dict_post_hook(lambda o, sd: {**sd, "extra": 1}),
        opt.register_load_state_dict_pre_hook(
            lambda o, sd: log.append(("load_pre", sorted(map(str, sd))))),
        opt.register_load_state_dict_post_hook(lambda o: log.append(("load_post",))),
        opt.register_state_dict_pre_hook(lambda o: log.append(("sd_pre_first",)),
                                         prepend=True),
    ]
    return handles


def sweep_named_params(info, problems):
    """Parameters given as (name, tensor) pairs (module.named_parameters()): the
    state_dict's groups carry 'param_names'; a named state loads into a named optimizer."""
    where = "named params"
    problems.compared += 1
    try:
        name = info.optim_cls.__name__
        tparams, eparams = make_params(name, torch.float64)
        names = [f"p{i}" for i in range(len(tparams))]
        topt = info.optim_cls(list(zip(names, tparams)))
        eopt = getattr(ember.optim, name)(list(zip(names, eparams)))
        w = loss_weights(tparams)
        for k in range(2):
            must_step(info, name, k, topt, eopt, tparams, eparams, w)
            if not compare_opt(f"{where} step{k}", topt, eopt, tparams, eparams,
                               torch.float64, problems):
                return
        t2, e2 = make_params(name, torch.float64, seed=5)
        topt2 = info.optim_cls(list(zip(names, t2)))
        eopt2 = getattr(ember.optim, name)(list(zip(names, e2)))
        topt2.load_state_dict(topt.state_dict())
        eopt2.load_state_dict(to_e(topt.state_dict()))
        compare_opt(f"{where} loaded", topt2, eopt2, t2, e2, torch.float64, problems)
    except Exception as e:  # noqa: BLE001
        problems.add(where, f"raised {_exc(e)}")


def sweep_api(info, problems):
    """repr, the optimizer's own construction errors, a state_dict loaded into parameters
    of another dtype (state cast to the parameter's dtype, 'step' kept), and an old-style
    state_dict (Python-number 'step', group keys of later versions missing)."""
    name = info.optim_cls.__name__
    ecls = getattr(ember.optim, name)
    problems.compared += 1
    tparams, eparams = make_params(name, torch.float64)
    topt, eopt = info.optim_cls(tparams), ecls(eparams)
    if repr(topt) != repr(eopt):
        problems.add("repr", f"{repr(eopt)!r:.300} vs torch's {repr(topt)!r:.300}")
    for desc, build in (
            ("empty params", lambda L, ps: []),
            ("a set", lambda L, ps: set(ps)),
            ("not a tensor", lambda L, ps: [1.0]),
            ("non-leaf", lambda L, ps: [ps[0] * 2]),
            ("group without params", lambda L, ps: [{"lr": 0.1}])):
        problems.compared += 1
        got = []
        for L, cls, ps in ((torch, info.optim_cls, tparams), (ember, ecls, eparams)):
            try:
                cls(build(L, ps))
                got.append(None)
            except Exception as e:  # noqa: BLE001
                got.append((type(e).__name__, str(e)))
        if got[0] != got[1] and not (got[0] and got[1] and got[0][0] == got[1][0] and
                                     desc == "non-leaf"):
            problems.add(f"construct {desc}", f"torch {got[0]}, ember {got[1]}")
    for desc, change in (("fewer groups", lambda sd: {**sd, "param_groups": []}),
                         ("group size", lambda sd: {**sd, "param_groups": [
                             {**sd["param_groups"][0], "params": [0]}]}),
                         ("no state key", lambda sd: {"param_groups": sd["param_groups"]})):
        problems.compared += 1
        got = []
        for L, cls, ps in ((torch, info.optim_cls, tparams), (ember, ecls, eparams)):
            opt = cls(ps)
            try:
                opt.load_state_dict(change(opt.state_dict()))
                got.append(None)
            except Exception as e:  # noqa: BLE001
                got.append((type(e).__name__, str(e)))
        if got[0] != got[1]:
            problems.add(f"load_state_dict {desc}", f"torch {got[0]}, ember {got[1]}")
    for desc, convert in (("float32 params", "dtype"), ("old-style state", "old")):
        problems.compared += 1
        try:
            _, tparams, eparams, topt, eopt, w = _fresh(info)
            for k in range(2):
                must_step(info, name, k, topt, eopt, tparams, eparams, w)
            tsd = topt.state_dict()
            dtype = torch.float32 if convert == "dtype" else torch.float64
            t2, e2 = make_params(name, dtype, seed=4)
            topt2, eopt2 = info.optim_cls(t2), ecls(e2)
            popped = {}
            if convert == "old":
                for st in tsd["state"].values():
                    if isinstance(st.get("step"), torch.Tensor):
                        st["step"] = int(st["step"].item())
                for g in tsd["param_groups"]:
                    for key in ("foreach", "maximize", "capturable", "differentiable", "fused",
                                "decoupled_weight_decay"):
                        if key in g:
                            popped[key] = g.pop(key)
            esd = to_e(tsd)
            topt2.load_state_dict(tsd)
            # keys torch's own __setstate__ does not restore: given back to both (torch
            # could not step without them)
            lost = {k: v for k, v in popped.items() if k not in topt2.param_groups[0]}
            for g in topt2.param_groups + esd["param_groups"]:
                g.update(lost)
            eopt2.load_state_dict(esd)
            if not compare_opt(f"load {desc}", topt2, eopt2, t2, e2, dtype, problems):
                continue
            for k in range(2, 4):
                must_step(info, name, k, topt2, eopt2, t2, e2, w)
                if not compare_opt(f"load {desc} step{k}", topt2, eopt2, t2, e2, dtype,
                                   problems):
                    break
        except Exception as e:  # noqa: BLE001
            problems.add(f"load {desc}", f"raised {_exc(e)}")


def sweep_hooks(info, problems):
    where = "hooks"
    problems.compared += 1
    try:
        name, tparams, eparams, topt, eopt, w = _fresh(info)
        tlog, elog = [], []
        th, eh = _hooked(torch, topt, tlog), _hooked(ember, eopt, elog)
        must_step(info, name, 0, topt, eopt, tparams, eparams, w)
        tsd, esd = topt.state_dict(), eopt.state_dict()
        if ("extra" in tsd) != ("extra" in esd):
            problems.add(where, "state_dict post hook's returned dict ignored by one")
        tsd.pop("extra", None)
        esd.pop("extra", None)
        topt.load_state_dict(tsd)
        eopt.load_state_dict(esd)
        for h in th + eh:
            h.remove()
        must_step(info, name, 1, topt, eopt, tparams, eparams, w)
        if str(tlog) != str(elog):
            problems.add(where, f"log {tlog} vs {elog}")
        # the global hooks of torch.optim.optimizer
        tg, eg = [], []
        try:
            t_optimizer = importlib.import_module("torch.optim.optimizer")
            t1 = t_optimizer.register_optimizer_step_pre_hook(
                lambda o, a, k: tg.append("pre"))
            t2 = t_optimizer.register_optimizer_step_post_hook(
                lambda o, a, k: tg.append("post"))
            e1 = ember.optim.optimizer.register_optimizer_step_pre_hook(
                lambda o, a, k: eg.append("pre"))
            e2 = ember.optim.optimizer.register_optimizer_step_post_hook(
                lambda o, a, k: eg.append("post"))
            must_step(info, name, 2, topt, eopt, tparams, eparams, w)
            for h in (t1, t2, e1, e2):
                h.remove()
            must_step(info, name, 3, topt, eopt, tparams, eparams, w)
            if tg != eg:
                problems.add(where, f"global hooks {tg} vs {eg}")
        except Exception as e:  # noqa: BLE001
            problems.add(where, f"global hooks raised {_exc(e)}")
        compare_opt(where, topt, eopt, tparams, eparams, torch.float64, problems)
    except Exception as e:  # noqa: BLE001
        problems.add(where, f"raised {_exc(e)}")


def sweep_errors(info, problems):
    name = info.optim_cls.__name__
    ecls = getattr(ember.optim, name)
    for k, ei in enumerate(info.optim_error_inputs_func(device="cpu", dtype=torch.float32)):
        oi = ei.optimizer_error_input
        where = f"error#{k} {oi.desc}"
        problems.compared += 1
        tparams = oi.params
        if tparams is None:
            tparams = [torch.nn.Parameter(torch.randn(2, 2))]
        try:
            eparams, ekwargs = to_e(tparams), to_e(oi.kwargs)
        except Exception as e:  # noqa: BLE001
            problems.add(where, f"input conversion raised {_exc(e)}")
            continue
        if ei.error_type is UserWarning or issubclass(ei.error_type, Warning):
            with warnings.catch_warnings(record=True) as rec:
                warnings.simplefilter("always")
                try:
                    ecls(eparams, **ekwargs)
                except Exception as e:  # noqa: BLE001
                    problems.add(where, f"ember raised {_exc(e)}, torch warns")
                    continue
            if not any(issubclass(r.category, ei.error_type) and
                       re.search(ei.error_regex, str(r.message)) for r in rec):
                problems.add(where, f"no {ei.error_type.__name__} matching "
                                    f"{ei.error_regex!r}: {[str(r.message) for r in rec]}")
            continue
        try:
            eopt = ecls(eparams, **ekwargs)
            if ei.error_on == OptimizerErrorEnum.STEP_ERROR:
                plist = eparams if isinstance(eparams, list) else [eparams]
                for p in plist:
                    if isinstance(p, ember.Tensor):
                        p.grad = ember.ones_like(p)
                eopt.step()
            problems.add(where, f"ember raised nothing; torch {ei.error_type.__name__}")
        except Exception as e:  # noqa: BLE001
            if not isinstance(e, ei.error_type):
                problems.add(where, f"ember {_exc(e)}; torch {ei.error_type.__name__}")
            elif not re.search(ei.error_regex, str(e)):
                problems.add(where, f"message {str(e)[:160]!r} does not match "
                                    f"{ei.error_regex!r}")


def sweep_optimizers(names=None):
    report = {}
    for info in optim_db:
        name = info.optim_cls.__name__
        if names and name not in names:
            continue
        problems = Problems()
        if not hasattr(ember.optim, name):
            report[name] = {"problems": ["MISSING"]}
            continue
        for part in (sweep_configs, sweep_round_trips, sweep_param_groups_and_zero_grad,
                     sweep_named_params, sweep_api, sweep_hooks, sweep_errors):
            try:
                part(info, problems)
            except Exception as e:  # noqa: BLE001 - the sweep goes on
                problems.add(part.__name__, f"SWEEP CRASH {_exc(e)}")
        report[name] = {"compared": problems.compared, "problems": problems.items,
                        "skipped": problems.skipped}
    return report


# ---------------------------------------------------------------------------- schedulers
def _lambda_pair(fn_name):
    fns = {"lin": lambda e: 1 / (e + 1), "exp": lambda e: 0.95 ** e}
    return fns[fn_name]


def scheduler_configs():
    """(name, builder(lib, opt) -> scheduler, uses metrics, optimizer kwargs)."""
    S = "optim.lr_scheduler"
    sgd = dict(lr=0.1, momentum=0.9)
    adam = dict(lr=0.1)

    def sched(lib, cls):
        return getattr(lib.optim.lr_scheduler, cls)

    c = []

    def add(desc, builder, metrics=False, opt=("SGD", sgd)):
        c.append((desc, builder, metrics, opt))

    add("LambdaLR", lambda L, o: sched(L, "LambdaLR")(o, _lambda_pair("lin")))
    add("LambdaLR-list", lambda L, o: sched(L, "LambdaLR")(o, [_lambda_pair("lin"),
                                                              _lambda_pair("exp")]))
    add("MultiplicativeLR", lambda L, o: sched(L, "MultiplicativeLR")(o, lambda e: 0.9))
    add("StepLR", lambda L, o: sched(L, "StepLR")(o, step_size=4, gamma=0.5))
    add("MultiStepLR", lambda L, o: sched(L, "MultiStepLR")(o, milestones=[3, 7, 7, 20],
                                                            gamma=0.3))
    add("ConstantLR", lambda L, o: sched(L, "ConstantLR")(o, factor=0.25, total_iters=6))
    add("LinearLR", lambda L, o: sched(L, "LinearLR")(o, start_factor=0.2, end_factor=0.9,
                                                      total_iters=10))
    add("ExponentialLR", lambda L, o: sched(L, "ExponentialLR")(o, gamma=0.9))
    add("PolynomialLR", lambda L, o: sched(L, "PolynomialLR")(o, total_iters=12, power=2.0))
    add("CosineAnnealingLR", lambda L, o: sched(L, "CosineAnnealingLR")(o, T_max=8,
                                                                        eta_min=0.001))
    add("CosineAnnealingWarmRestarts", lambda L, o: sched(L, "CosineAnnealingWarmRestarts")(
        o, T_0=3, T_mult=2, eta_min=0.01))
    add("CosineAnnealingWarmRestarts-T1", lambda L, o: sched(L, "CosineAnnealingWarmRestarts")(
        o, T_0=5))
    for mode in ("triangular", "triangular2", "exp_range"):
        add(f"CyclicLR-{mode}", lambda L, o, m=mode: sched(L, "CyclicLR")(
            o, base_lr=0.01, max_lr=0.1, step_size_up=4, step_size_down=3, mode=m,
            gamma=0.9))
    add("CyclicLR-adam-beta1", lambda L, o: sched(L, "CyclicLR")(
        o, base_lr=0.01, max_lr=0.1, step_size_up=5, base_momentum=0.8, max_momentum=0.9),
        opt=("Adam", adam))
    add("CyclicLR-no-momentum", lambda L, o: sched(L, "CyclicLR")(
        o, base_lr=[0.01, 0.02], max_lr=[0.1, 0.2], step_size_up=5, cycle_momentum=False,
        scale_fn=lambda x: 0.5 ** x, scale_mode="iterations"))
    for strategy in ("cos", "linear"):
        add(f"OneCycleLR-{strategy}", lambda L, o, s=strategy: sched(L, "OneCycleLR")(
            o, max_lr=[0.5, 0.2], total_steps=STEPS_LR + 1, anneal_strategy=s))
    add("OneCycleLR-three-phase", lambda L, o: sched(L, "OneCycleLR")(
        o, max_lr=0.5, epochs=4, steps_per_epoch=8, three_phase=True, pct_start=0.2))
    add("OneCycleLR-adam", lambda L, o: sched(L, "OneCycleLR")(
        o, max_lr=0.5, total_steps=STEPS_LR + 1, base_momentum=0.7, max_momentum=0.9),
        opt=("Adam", adam))
    add("SequentialLR", lambda L, o: sched(L, "SequentialLR")(
        o, [sched(L, "LinearLR")(o, start_factor=0.1, total_iters=4),
            sched(L, "ExponentialLR")(o, gamma=0.9),
            sched(L, "StepLR")(o, step_size=3)], milestones=[5, 12]))
    add("ChainedScheduler", lambda L, o: sched(L, "ChainedScheduler")(
        [sched(L, "ConstantLR")(o, factor=0.5, total_iters=4),
         sched(L, "ExponentialLR")(o, gamma=0.9)]))
    add("ChainedScheduler-opt", lambda L, o: sched(L, "ChainedScheduler")(
        [sched(L, "StepLR")(o, step_size=3), sched(L, "CosineAnnealingLR")(o, T_max=10)],
        optimizer=o))
    add("SWALR-cos", lambda L, o: L.optim.swa_utils.SWALR(o, swa_lr=0.05, anneal_epochs=5))
    add("SWALR-linear", lambda L, o: L.optim.swa_utils.SWALR(o, swa_lr=[0.05, 0.5],
                                                             anneal_epochs=3,
                                                             anneal_strategy="linear"))
    add("custom-subclass", lambda L, o: _custom_scheduler(L)(o))
    add("tensor-lr-StepLR", lambda L, o: sched(L, "StepLR")(o, step_size=3, gamma=0.5),
        opt=("SGD", dict(lr="tensor", momentum=0.9)))
    add("tensor-lr-OneCycleLR", lambda L, o: sched(L, "OneCycleLR")(
        o, max_lr=0.5, total_steps=STEPS_LR + 1), opt=("SGD", dict(lr="tensor", momentum=0.9)))
    add("tensor-lr-ReduceLROnPlateau", lambda L, o: sched(L, "ReduceLROnPlateau")(
        o, patience=1, factor=0.5), metrics=True, opt=("SGD", dict(lr="tensor", momentum=0.9)))
    add("two-schedulers", lambda L, o: [sched(L, "StepLR")(o, step_size=4, gamma=0.5),
                                        sched(L, "ExponentialLR")(o, gamma=0.95)])
    for mode in ("min", "max"):
        for tm in ("rel", "abs"):
            add(f"ReduceLROnPlateau-{mode}-{tm}", lambda L, o, m=mode, t=tm: sched(
                L, "ReduceLROnPlateau")(o, mode=m, factor=0.5, patience=2, threshold=0.05,
                                        threshold_mode=t, cooldown=1, min_lr=[0.01, 0.002],
                                        eps=1e-4), metrics=True)
    del S
    return c


def _custom_scheduler(L):
    """A user's scheduler: LRScheduler subclassed with get_lr over base_lrs/last_epoch."""
    class Halving(L.optim.lr_scheduler.LRScheduler):
        def __init__(self, optimizer, every=4, last_epoch=-1):
            self.every = every
            super().__init__(optimizer, last_epoch)

        def get_lr(self):
            return [base * 0.5 ** (self.last_epoch // self.every) for base in self.base_lrs]
    return Halving


METRICS = [1.0, 0.9, 0.95, 0.96, 0.97, 0.99, 0.6, 0.61, 0.62, 0.63, 0.64, 0.65, 0.3, 0.31,
           0.32, 0.32, 0.33, 0.34, 0.35, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1]


def _opt_pair(opt_spec):
    """torch and ember optimizers of kind opt_spec[0] over two groups (the second at a tenth
    of the lr); lr="tensor" gives each group a 0-dim float64 Tensor lr."""
    kind, kwargs = opt_spec
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal((2, 2)), rng.standard_normal(3)]
    tp = [torch.nn.Parameter(torch.tensor(a)) for a in arrays]
    ep = [to_e(p) for p in tp]
    tensor_lr = kwargs["lr"] == "tensor"
    lr = 0.1 if tensor_lr else kwargs["lr"]

    def build(lib, ps):
        lrs = [lr, lr / 10]
        if tensor_lr:
            lrs = [lib.tensor(v, dtype=lib.float64) for v in lrs]
        groups = [{"params": [ps[0]], "lr": lrs[0]}, {"params": [ps[1]], "lr": lrs[1]}]
        return getattr(lib.optim, kind)(groups, **dict(kwargs, lr=lrs[0]))
    return build(torch, tp), build(ember, ep), tp, ep


def _rates(opt, scheds):
    out = [[g["lr"], g.get("momentum"), g.get("betas")] for g in opt.param_groups]
    for s in scheds:
        out.append(list(s.get_last_lr()) if hasattr(s, "get_last_lr") else None)
    return out


def _as_list(s):
    return s if isinstance(s, list) else [s]


def _sched_step(s, metrics, k):
    if metrics:
        s.step(METRICS[k % len(METRICS)])
    else:
        s.step()


def run_scheduler(desc, builder, metrics, opt_spec, problems):
    problems.compared += 1
    topt, eopt, tp, ep = _opt_pair(opt_spec)
    with warnings.catch_warnings(record=True) as trec:
        warnings.simplefilter("always")
        ts = _as_list(builder(torch, topt))
    with warnings.catch_warnings(record=True) as erec:
        warnings.simplefilter("always")
        try:
            es = _as_list(builder(ember, eopt))
        except Exception as e:  # noqa: BLE001
            problems.add(desc, f"ember constructor raised {_exc(e)}")
            return
    _compare_warnings(desc + " init", trec, erec, problems)
    msg = diff(_rates(topt, ts), _rates(eopt, es), 1e-12, 1e-15, "rates")
    if msg:
        problems.add(desc + " init", msg)
        return
    for k in range(STEPS_LR):
        for p in tp:
            p.grad = torch.ones_like(p)
        for p in ep:
            p.grad = ember.ones_like(p)
        with warnings.catch_warnings(record=True) as trec:
            warnings.simplefilter("always")
            topt.step()
            for s in ts:
                _sched_step(s, metrics, k)
        with warnings.catch_warnings(record=True) as erec:
            warnings.simplefilter("always")
            try:
                eopt.step()
                for s in es:
                    _sched_step(s, metrics, k)
            except Exception as e:  # noqa: BLE001
                problems.add(f"{desc} step{k}", f"ember raised {_exc(e)}")
                return
        _compare_warnings(f"{desc} step{k}", trec, erec, problems)
        msg = diff(_rates(topt, ts), _rates(eopt, es), 1e-12, 1e-15, "rates")
        if msg:
            problems.add(f"{desc} step{k}", msg)
            return
        if k == 10:
            _resume(desc, builder, metrics, opt_spec, topt, eopt, ts, es, k, problems)
    for i, (t, e) in enumerate(zip(ts, es)):
        msg = diff(_plain_state(t.state_dict()), _plain_state(e.state_dict()), 1e-12, 1e-15,
                   f"scheduler{i}.state_dict")
        if msg:
            problems.add(desc, msg)


def _plain_state(sd):
    """A scheduler state_dict with what cannot be compared across libraries made
    comparable: callables (bound methods, partials) by kind, nested scheduler dicts
    recursively."""
    out = {}
    for k, v in sd.items():
        if callable(v) and not isinstance(v, (torch.Tensor, ember.Tensor)):
            out[k] = "<callable>"
        elif isinstance(v, dict):
            out[k] = _plain_state(v)
        elif isinstance(v, list) and v and all(isinstance(x, dict) for x in v):
            out[k] = [_plain_state(x) for x in v]
        else:
            out[k] = v
    return out


def _resume(desc, builder, metrics, opt_spec, topt, eopt, ts, es, k0, problems):
    """Fresh optimizers and schedulers loaded from the state_dicts at step k0 (ember's
    from torch's, converted, and torch's from ember's): the next steps agree."""
    problems.compared += 1
    where = f"{desc} resume"
    try:
        topt2, eopt2, tp, ep = _opt_pair(opt_spec)
        topt2.load_state_dict(topt.state_dict())
        eopt2.load_state_dict(to_e(topt.state_dict()))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ts2, es2 = _as_list(builder(torch, topt2)), _as_list(builder(ember, eopt2))
        for t, e, t_old in zip(ts2, es2, ts):
            t.load_state_dict(t_old.state_dict())   # (torch's load pops keys of its
            e.load_state_dict(to_e(t_old.state_dict()))   # argument: a fresh dict each)
        msg = diff(_rates(topt2, ts2), _rates(eopt2, es2), 1e-12, 1e-15, "rates")
        if msg:
            problems.add(where + " loaded", msg)
            return
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for k in range(k0 + 1, k0 + 8):
                for o in (topt2, eopt2):
                    o.step()
                for s in ts2 + es2:
                    _sched_step(s, metrics, k)
                msg = diff(_rates(topt2, ts2), _rates(eopt2, es2), 1e-12, 1e-15, "rates")
                if msg:
                    problems.add(f"{where} step{k}", msg)
                    return
        # last_epoch resume: a new scheduler told the epoch, on the loaded optimizer
    except Exception as e:  # noqa: BLE001
        problems.add(where, f"raised {_exc(e)}")


def _compare_warnings(where, trec, erec, problems):
    tw = sorted({(r.category.__name__, str(r.message)[:60]) for r in trec})
    ew = sorted({(r.category.__name__, str(r.message)[:60]) for r in erec})
    if tw != ew:
        problems.add(where, f"warnings {tw} vs {ew}")


def sweep_step_order(problems):
    """scheduler.step() before optimizer.step() warns alike; stepping with epoch warns the
    deprecation; a scheduler on a non-optimizer raises the same type; get_lr() outside step
    warns."""
    cases = {
        "order": lambda L, o, s: (s.step(), o.step()),
        "epoch-arg": lambda L, o, s: (o.step(), s.step(3)),
        "get_lr-outside": lambda L, o, s: (o.step(), s.get_lr()),
        "overridden-step": lambda L, o, s: (setattr(o, "step", lambda *a: None), s.step()),
    }
    for name, body in cases.items():
        problems.compared += 1
        topt, eopt, tp, ep = _opt_pair(("SGD", dict(lr=0.1)))
        recs = []
        for L, o in ((torch, topt), (ember, eopt)):
            s = L.optim.lr_scheduler.StepLR(o, step_size=2)
            for p in o.param_groups[0]["params"] + o.param_groups[1]["params"]:
                p.grad = L.ones_like(p)
            with warnings.catch_warnings(record=True) as rec:
                warnings.simplefilter("always")
                try:
                    body(L, o, s)
                except Exception as e:  # noqa: BLE001
                    rec.append(type("W", (), {"category": type(e), "message": str(e)}))
            recs.append(rec)
        _compare_warnings(f"step-order {name}", recs[0], recs[1], problems)
    problems.compared += 1
    for L in (torch, ember):
        try:
            L.optim.lr_scheduler.StepLR(object(), step_size=2)
        except Exception as e:  # noqa: BLE001
            recs.append(type(e).__name__)
    if recs[-1] != recs[-2]:
        problems.add("not an optimizer", f"{recs[-2]} vs {recs[-1]}")


def sweep_last_epoch(problems):
    """Constructing with last_epoch=k (after the optimizer has 'initial_lr') gives the same
    rates and the same next rates; a missing 'initial_lr' raises the same KeyError."""
    for cls, kw in (("StepLR", dict(step_size=3)), ("ExponentialLR", dict(gamma=0.9)),
                    ("CosineAnnealingLR", dict(T_max=10)), ("MultiStepLR",
                                                            dict(milestones=[2, 5])),
                    ("LinearLR", dict(total_iters=6)), ("PolynomialLR", dict(total_iters=6)),
                    ("CosineAnnealingWarmRestarts", dict(T_0=4)),
                    ("ConstantLR", dict(total_iters=6))):
        problems.compared += 1
        where = f"last_epoch {cls}"
        try:
            topt, eopt, tp, ep = _opt_pair(("SGD", dict(lr=0.1)))
            for g in topt.param_groups + eopt.param_groups:
                g["initial_lr"] = g["lr"]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ts = getattr(torch.optim.lr_scheduler, cls)(topt, last_epoch=4, **kw)
                es = getattr(ember.optim.lr_scheduler, cls)(eopt, last_epoch=4, **kw)
                for k in range(6):
                    msg = diff(_rates(topt, [ts]), _rates(eopt, [es]), 1e-12, 1e-15, "rates")
                    if msg:
                        problems.add(f"{where} step{k}", msg)
                        break
                    topt.step()
                    eopt.step()
                    ts.step()
                    es.step()
        except Exception as e:  # noqa: BLE001
            problems.add(where, f"raised {_exc(e)}")
    # a second scheduler taking over an optimizer the first ran for 5 steps, told the epoch
    S = lambda L, name: getattr(L.optim.lr_scheduler, name)
    takeovers = {
        "OneCycleLR": lambda L, o, e: S(L, "OneCycleLR")(o, max_lr=0.5, total_steps=20,
                                                         last_epoch=e),
        "CyclicLR": lambda L, o, e: S(L, "CyclicLR")(o, 0.01, 0.1, step_size_up=3,
                                                     last_epoch=e),
        "LambdaLR": lambda L, o, e: S(L, "LambdaLR")(o, lambda k: 0.9 ** k, last_epoch=e),
        "MultiplicativeLR": lambda L, o, e: S(L, "MultiplicativeLR")(o, lambda k: 0.9,
                                                                     last_epoch=e),
        "CosineAnnealingWarmRestarts": lambda L, o, e: S(L, "CosineAnnealingWarmRestarts")(
            o, T_0=3, last_epoch=e),
    }
    for cls, build in takeovers.items():
        problems.compared += 1
        where = f"takeover {cls}"
        try:
            topt, eopt, _, _ = _opt_pair(("SGD", dict(lr=0.1, momentum=0.9)))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ts, es = build(torch, topt, -1), build(ember, eopt, -1)
                for _ in range(5):
                    for o, s_ in ((topt, ts), (eopt, es)):
                        o.step()
                        s_.step()
                ts, es = build(torch, topt, 5), build(ember, eopt, 5)
                for k in range(6):
                    msg = diff(_rates(topt, [ts]), _rates(eopt, [es]), 1e-12, 1e-15, "rates")
                    if msg:
                        problems.add(f"{where} step{k}", msg)
                        break
                    for o, s_ in ((topt, ts), (eopt, es)):
                        o.step()
                        s_.step()
        except Exception as e:  # noqa: BLE001
            problems.add(where, f"raised {_exc(e)}")
    problems.compared += 1
    names = []
    for L in (torch, ember):
        o = L.optim.SGD([L.nn.Parameter(L.zeros(2))], lr=0.1)
        try:
            L.optim.lr_scheduler.StepLR(o, step_size=2, last_epoch=3)
            names.append("none")
        except Exception as e:  # noqa: BLE001
            names.append(type(e).__name__)
    if names[0] != names[1]:
        problems.add("last_epoch without initial_lr", f"{names[0]} vs {names[1]}")


def scheduler_errors():
    """(description, builder(lib, optimizer)) that torch refuses."""
    S = lambda L, name: getattr(L.optim.lr_scheduler, name)
    return [
        ("LambdaLR wrong count", lambda L, o: S(L, "LambdaLR")(o, [lambda e: 1.0] * 3)),
        ("MultiplicativeLR wrong count", lambda L, o: S(L, "MultiplicativeLR")(
            o, [lambda e: 1.0] * 3)),
        ("ConstantLR factor > 1", lambda L, o: S(L, "ConstantLR")(o, factor=1.5)),
        ("LinearLR start_factor 0", lambda L, o: S(L, "LinearLR")(o, start_factor=0)),
        ("LinearLR end_factor > 1", lambda L, o: S(L, "LinearLR")(o, end_factor=1.5)),
        ("SequentialLR milestones", lambda L, o: S(L, "SequentialLR")(
            o, [S(L, "StepLR")(o, 2), S(L, "StepLR")(o, 3)], milestones=[1, 2])),
        ("SequentialLR other optimizer", lambda L, o: S(L, "SequentialLR")(
            o, [S(L, "StepLR")(o, 2), S(L, "StepLR")(_other_opt(L), 3)], milestones=[2])),
        ("SequentialLR empty", lambda L, o: S(L, "SequentialLR")(o, [], milestones=[])),
        ("ChainedScheduler other optimizer", lambda L, o: S(L, "ChainedScheduler")(
            [S(L, "StepLR")(o, 2), S(L, "StepLR")(_other_opt(L), 3)])),
        ("ReduceLROnPlateau factor 1", lambda L, o: S(L, "ReduceLROnPlateau")(o, factor=1.0)),
        ("ReduceLROnPlateau mode", lambda L, o: S(L, "ReduceLROnPlateau")(o, mode="mid")),
        ("ReduceLROnPlateau threshold_mode", lambda L, o: S(L, "ReduceLROnPlateau")(
            o, threshold_mode="x")),
        ("ReduceLROnPlateau min_lr count", lambda L, o: S(L, "ReduceLROnPlateau")(
            o, min_lr=[0.1, 0.2, 0.3])),
        ("CyclicLR mode", lambda L, o: S(L, "CyclicLR")(o, 0.01, 0.1, mode="sine")),
        ("CyclicLR base_lr count", lambda L, o: S(L, "CyclicLR")(o, [0.01] * 3, 0.1)),
        ("CyclicLR no momentum", lambda L, o: S(L, "CyclicLR")(_other_opt(L, "Adagrad"),
                                                              0.01, 0.1)),
        ("OneCycleLR no total", lambda L, o: S(L, "OneCycleLR")(o, 0.1)),
        ("OneCycleLR total_steps 0", lambda L, o: S(L, "OneCycleLR")(o, 0.1, total_steps=0)),
        ("OneCycleLR epochs float", lambda L, o: S(L, "OneCycleLR")(o, 0.1, epochs=2.5,
                                                                    steps_per_epoch=3)),
        ("OneCycleLR pct_start", lambda L, o: S(L, "OneCycleLR")(o, 0.1, total_steps=10,
                                                                 pct_start=1.5)),
        ("OneCycleLR anneal", lambda L, o: S(L, "OneCycleLR")(o, 0.1, total_steps=10,
                                                              anneal_strategy="exp")),
        ("OneCycleLR past the end", lambda L, o: _step_n(S(L, "OneCycleLR")(
            o, 0.1, total_steps=2), 3)),
        ("OneCycleLR no momentum", lambda L, o: S(L, "OneCycleLR")(_other_opt(L, "Adagrad"),
                                                                   0.1, total_steps=5)),
        ("CosineAnnealingWarmRestarts T_0", lambda L, o: S(L, "CosineAnnealingWarmRestarts")(
            o, T_0=0)),
        ("CosineAnnealingWarmRestarts T_mult", lambda L, o: S(
            L, "CosineAnnealingWarmRestarts")(o, T_0=2, T_mult=0)),
        ("CosineAnnealingWarmRestarts T_0 float", lambda L, o: S(
            L, "CosineAnnealingWarmRestarts")(o, T_0=2.5)),
        ("CosineAnnealingWarmRestarts negative epoch", lambda L, o: S(
            L, "CosineAnnealingWarmRestarts")(o, T_0=2).step(-1)),
        ("SWALR anneal_strategy", lambda L, o: L.optim.swa_utils.SWALR(
            o, 0.1, anneal_strategy="exp")),
        ("SWALR anneal_epochs", lambda L, o: L.optim.swa_utils.SWALR(o, 0.1,
                                                                      anneal_epochs=-1)),
    ]


def _step_n(scheduler, n):
    for _ in range(n):
        scheduler.step()


def _other_opt(L, kind="SGD"):
    return getattr(L.optim, kind)([L.nn.Parameter(L.zeros(2))], lr=0.1)


def sweep_scheduler_errors(problems):
    for desc, build in scheduler_errors():
        problems.compared += 1
        got = []
        for L in (torch, ember):
            o = _opt_pair(("SGD", dict(lr=0.1, momentum=0.9)))[0 if L is torch else 1]
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    build(L, o)
                got.append(None)
            except Exception as e:  # noqa: BLE001
                got.append((type(e).__name__, str(e)))
        t, e = got
        if t is None and e is None:
            continue
        if t is None or e is None or t[0] != e[0]:
            problems.add(f"error {desc}", f"torch {t}, ember {e}")
        elif t[1].replace("torch.", "") != e[1].replace("ember.", ""):
            problems.add(f"error {desc}", f"message {e[1][:150]!r} vs torch's {t[1][:150]!r}")


def sweep_epoch_argument(problems):
    """step(epoch) (deprecated, closed form where there is one) gives the same rates."""
    S = lambda L, name: getattr(L.optim.lr_scheduler, name)
    cases = {
        "StepLR": lambda L, o: S(L, "StepLR")(o, step_size=3, gamma=0.5),
        "MultiStepLR": lambda L, o: S(L, "MultiStepLR")(o, milestones=[2, 5]),
        "ExponentialLR": lambda L, o: S(L, "ExponentialLR")(o, gamma=0.9),
        "CosineAnnealingLR": lambda L, o: S(L, "CosineAnnealingLR")(o, T_max=6),
        "LinearLR": lambda L, o: S(L, "LinearLR")(o, total_iters=5),
        "ConstantLR": lambda L, o: S(L, "ConstantLR")(o, total_iters=4),
        "PolynomialLR": lambda L, o: S(L, "PolynomialLR")(o, total_iters=6, power=2),
        "LambdaLR": lambda L, o: S(L, "LambdaLR")(o, lambda e: 0.9 ** e),
        "CosineAnnealingWarmRestarts": lambda L, o: S(L, "CosineAnnealingWarmRestarts")(
            o, T_0=3, T_mult=2),
    }
    epochs = [1, 2, 4, 3, 7, 0, 10, 5.5, 12]
    for name, build in cases.items():
        problems.compared += 1
        topt, eopt, _, _ = _opt_pair(("SGD", dict(lr=0.1)))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ts, es = build(torch, topt), build(ember, eopt)
            for ep in epochs:
                if isinstance(ep, float) and name != "CosineAnnealingWarmRestarts":
                    continue
                errs = []
                for s_ in (ts, es):
                    try:
                        s_.step(ep)
                        errs.append(None)
                    except Exception as e:  # noqa: BLE001
                        errs.append(type(e).__name__)
                if errs[0] != errs[1]:
                    problems.add(f"step(epoch) {name} {ep}", f"torch {errs[0]}, ember {errs[1]}")
                    break
                msg = diff(_rates(topt, [ts]), _rates(eopt, [es]), 1e-12, 1e-15, "rates")
                if msg:
                    problems.add(f"step(epoch) {name} {ep}", msg)
                    break


def sweep_schedulers(names=None):
    problems = Problems()
    for desc, builder, metrics, opt_spec in scheduler_configs():
        if names and desc.split("-")[0] not in names:
            continue
        try:
            run_scheduler(desc, builder, metrics, opt_spec, problems)
        except Exception as e:  # noqa: BLE001
            problems.add(desc, f"SWEEP CRASH {_exc(e)}")
    if not names:
        for part in (sweep_step_order, sweep_last_epoch, sweep_scheduler_errors,
                     sweep_epoch_argument):
            try:
                part(problems)
            except Exception as e:  # noqa: BLE001
                problems.add(part.__name__, f"SWEEP CRASH {_exc(e)}")
    return {"compared": problems.compared, "problems": problems.items}


def main(argv):
    warnings.filterwarnings("ignore")
    names = argv[2:] or None
    report = {"optimizers": sweep_optimizers(names),
              "lr_scheduler": sweep_schedulers(names)}
    with open(argv[1], "w") as f:
        json.dump(report, f, indent=1)
    n_opt = sum(len(v["problems"]) for v in report["optimizers"].values())
    compared = sum(v.get("compared", 0) for v in report["optimizers"].values())
    skipped = sum(len(v.get("skipped", ())) for v in report["optimizers"].values())
    print(f"optimizers: {compared} comparisons, {n_opt} mismatches, {skipped} skipped "
          f"(NotImplementedError)")
    print(f"lr_scheduler: {report['lr_scheduler']['compared']} comparisons, "
          f"{len(report['lr_scheduler']['problems'])} mismatches")


if __name__ == "__main__":
    main(sys.argv)
