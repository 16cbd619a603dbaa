"""Differential sweep over torch's ModuleInfo table (torch.testing._internal's module_db,
about 110 nn modules): each module is built in torch and in ember with the same
constructor arguments, torch's parameters and buffers are copied into ember's, and the
forward outputs (train and eval mode) and the float64 gradients of inputs and parameters
are compared. Writes the mismatches per module to a JSON file.

A probe for finding defects, not a test (its inputs change with torch's tables):
    pip install expecttest      # torch.testing._internal needs it
    python -m bench.moduleinfo_sweep sweep.json [module names...]
Modules with randomness (dropout family, RReLU, fractional pooling) compare shapes only;
lazy modules are skipped. Inputs that torch builds as non-leaf tensors arrive as leaves, so
their gradients can differ by construction (KLDivLoss's log-made inputs).
"""
import json
import sys
import warnings

import numpy as np
import torch
from torch.testing._internal.common_modules import module_db

import ember

from .opinfo_sweep import compare, flat, to_ember

warnings.filterwarnings("ignore")
RANDOM = {"Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout",
          "FeatureAlphaDropout", "RReLU", "FractionalMaxPool2d", "FractionalMaxPool3d"}


def _ember_class(cls):
    name = cls.__name__
    if hasattr(ember.nn, name):
        return getattr(ember.nn, name)
    return None


def _copy_state(tm, em):
    sd = {k: to_ember(v.detach()) for k, v in tm.state_dict().items()}
    em.load_state_dict(sd)


def _one(info, problems, max_samples=4):
    if info.is_lazy:   # torch's own uninitialized state_dict cannot be copied over
        return
    ecls = _ember_class(info.module_cls)
    if ecls is None:
        problems.append("MISSING")
        return
    random = info.module_cls.__name__ in RANDOM
    for dtype in (torch.float64, torch.float32):
        if dtype not in info.supported_dtypes("cpu"):
            continue
        try:
            inputs = info.module_inputs_func(info, device="cpu", dtype=dtype,
                                             requires_grad=dtype is torch.float64,
                                             training=True)[:max_samples]
        except Exception:  # noqa: BLE001 - an input generator torch cannot run here
            continue
        for k, mi in enumerate(inputs):
            where = f"{str(dtype)[6:]}#{k}"
            if mi.forward_input is None:
                continue
            try:
                c_args, c_kwargs = to_ember(mi.constructor_input.args), to_ember(
                    mi.constructor_input.kwargs)
                f_args, f_kwargs = to_ember(mi.forward_input.args), to_ember(
                    mi.forward_input.kwargs)
            except TypeError:
                continue
            try:
                tm = info.module_cls(*mi.constructor_input.args,
                                     **mi.constructor_input.kwargs).to(dtype)
            except Exception:  # noqa: BLE001 - torch's own constructor refused: skip
                continue
            try:
                em = ecls(*c_args, **c_kwargs).to(getattr(ember, str(dtype)[6:]))
                _copy_state(tm, em)
            except Exception as e:  # noqa: BLE001 - reported
                problems.append(f"{where}: ember construct/load raised {type(e).__name__}: "
                                f"{str(e)[:150]}")
                continue
            for mode in ("train", "eval"):
                getattr(tm, mode)()
                getattr(em, mode)()
                t_exc = e_exc = None
                try:
                    t_out = tm(*mi.forward_input.args, **mi.forward_input.kwargs)
                except Exception as e:  # noqa: BLE001
                    t_exc = e
                try:
                    e_out = em(*f_args, **f_kwargs)
                except Exception as e:  # noqa: BLE001
                    e_exc = e
                if t_exc is not None or e_exc is not None:
                    if t_exc is None:
                        problems.append(f"{where} {mode}: ember raised {type(e_exc).__name__}: "
                                        f"{str(e_exc)[:150]}")
                    elif e_exc is None:
                        problems.append(f"{where} {mode}: torch raised, ember did not")
                    continue
                if random:
                    tf, ef = flat(t_out), flat(e_out)
                    if [tuple(t.shape) for t in tf if isinstance(t, torch.Tensor)] != \
                            [tuple(e.shape) for e in ef if isinstance(e, ember.Tensor)]:
                        problems.append(f"{where} {mode}: shapes differ")
                    continue
                tol = (1e-7, 1e-7) if dtype is torch.float64 else (1e-4, 1e-5)
                msg = compare(t_out, e_out, *tol)
                if msg:
                    problems.append(f"{where} {mode}: {msg}")
                    continue
                if dtype is torch.float64 and mode == "train":
                    _grads(tm, em, t_out, e_out, mi, f_args, f_kwargs, where, problems)


def _grads(tm, em, t_out, e_out, mi, f_args, f_kwargs, where, problems):
    tf = [o for o in flat(t_out) if isinstance(o, torch.Tensor) and o.requires_grad]
    ef = [o for o in flat(e_out) if isinstance(o, ember.Tensor) and o.requires_grad]
    if len(tf) != len(ef):
        problems.append(f"{where}: grad outputs {len(tf)} vs {len(ef)}")
        return
    if not tf:
        return
    t_leaves = [x for x in flat([list(mi.forward_input.args)]) if isinstance(x, torch.Tensor)
                and x.requires_grad] + list(tm.parameters())
    e_leaves = [x for x in flat([list(f_args)]) if isinstance(x, ember.Tensor)
                and x.requires_grad] + list(em.parameters())
    if len(t_leaves) != len(e_leaves):
        return
    rng = np.random.default_rng(0)
    ws = [rng.standard_normal(tuple(o.shape)) for o in tf]
    try:
        tg = torch.autograd.grad(sum((o * torch.tensor(w, dtype=o.dtype)).sum()
                                     for o, w in zip(tf, ws)), t_leaves, allow_unused=True)
    except Exception:  # noqa: BLE001 - torch cannot differentiate it either
        return
    try:
        eg = ember.autograd.grad(sum((o * ember.tensor(w, dtype=o.dtype)).sum()
                                     for o, w in zip(ef, ws)), e_leaves, allow_unused=True)
    except Exception as e:  # noqa: BLE001 - reported
        problems.append(f"{where}: ember grad raised {type(e).__name__}: {str(e)[:150]}")
        return
    for j, (a, b) in enumerate(zip(tg, eg)):
        if (a is None) != (b is None):
            if a is not None and a.abs().sum().item() != 0:
                problems.append(f"{where}: grad {j} None mismatch")
            continue
        if a is not None and not np.allclose(a.numpy(), b.numpy(), rtol=1e-6, atol=1e-6,
                                             equal_nan=True):
            problems.append(f"{where}: grad {j} differs (max abs "
                            f"{np.nanmax(np.abs(a.numpy() - b.numpy())):.3g})")


def run(names=None):
    report = {}
    for info in module_db:
        name = info.module_cls.__name__
        if names and name not in names:
            continue
        problems = []
        try:
            _one(info, problems)
        except Exception as e:  # noqa: BLE001 - the sweep goes on
            problems.append(f"SWEEP CRASH {type(e).__name__}: {str(e)[:150]}")
        if problems:
            report[name] = problems[:5]
    return report


if __name__ == "__main__":
    rep = run(sys.argv[2:] or None)
    with open(sys.argv[1], "w") as f:
        json.dump(rep, f, indent=1)
    print(len(rep), "modules with problems")
