"""Differential sweep of autograd graphs: for torch's OpInfo samples (float64, inputs that
require grad), the graph each library records, compared node by node from every
differentiable output down to the leaves:

- "class": type(node).__name__ differs (PyTorch's class is named as its node:
  SumBackward0, AccumulateGrad, CopySlices, MyFuncBackward);
- "name": node.name() differs;
- "edges": next_functions differ in number or in which entries are (None, 0).

A probe for finding defects, not a test:
    python bench/grad_graph_sweep.py out.json [op names...]
    (or python -m bench.grad_graph_sweep ... from the repository root)
Reuses bench/opinfo_sweep.py's conversion of samples (random ops are skipped as there).
"""
import json
import os
import sys
import warnings

if __package__ in (None, ""):   # run as a script: the repository root holds `bench`
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import torch
from torch.testing._internal.common_methods_invocations import op_db

import ember
from bench.opinfo_sweep import RANDOM, resolve, to_ember, flat

warnings.filterwarnings("ignore")


def signature(fn, depth=4):
    """(class name, name(), edges) of node `fn` and, `depth` levels down, of the nodes its
    edges lead to; an edge is (signature or None, output_nr)."""
    if fn is None:
        return None
    edges = ()
    if depth > 0:
        edges = tuple((signature(f, depth - 1), nr) for f, nr in fn.next_functions)
    return (type(fn).__name__, fn.name(), edges)


def differences(t_sig, e_sig, path="out"):
    """The first differences between two signatures, as (kind, text) pairs."""
    if t_sig is None or e_sig is None:
        if (t_sig is None) != (e_sig is None):
            return [("edges", f"{path}: torch {t_sig and t_sig[1]} vs ember {e_sig and e_sig[1]}")]
        return []
    found = []
    if t_sig[1] != e_sig[1]:
        found.append(("name", f"{path}: {t_sig[1]} vs {e_sig[1]}"))
        return found   # a different op below: its edges say nothing
    if t_sig[0] != e_sig[0]:
        found.append(("class", f"{path}: class {t_sig[0]} vs {e_sig[0]}"))
    t_edges, e_edges = t_sig[2], e_sig[2]
    if len(t_edges) != len(e_edges) or any((a[0] is None) != (b[0] is None)
                                           for a, b in zip(t_edges, e_edges)):
        shape = lambda es: [None if s is None else s[1] for s, _ in es]  # noqa: E731
        found.append(("edges", f"{path} {t_sig[1]}: {shape(t_edges)} vs {shape(e_edges)}"))
        return found
    for k, (a, b) in enumerate(zip(t_edges, e_edges)):
        found += differences(a[0], b[0], f"{path}.{k}")
    return found


def run(ops_filter=None, max_samples=4):
    report = {}
    for op in op_db:
        if ops_filter and op.name not in ops_filter:
            continue
        if op.name in RANDOM or not op.supports_autograd:
            continue
        if torch.float64 not in op.supported_dtypes("cpu"):
            continue
        efn = resolve(op)
        if efn is None or efn == "MISSING":
            continue
        key = op.name + ("." + op.variant_test_name if op.variant_test_name else "")
        problems = []
        try:
            samples = list(op.sample_inputs("cpu", torch.float64, requires_grad=True))[:max_samples]
        except Exception:  # noqa: BLE001 - a sample generator torch cannot run here
            continue
        for k, s in enumerate(samples):
            try:
                e_in, e_args, e_kwargs = to_ember(s.input), to_ember(s.args), to_ember(s.kwargs)
                t_out = op.op(s.input, *s.args, **s.kwargs)
                e_out = efn(e_in, *e_args, **e_kwargs)
            except Exception:  # noqa: BLE001 - values are opinfo_sweep's business
                continue
            tf = [o for o in flat(t_out) if isinstance(o, torch.Tensor)]
            ef = [o for o in flat(e_out) if isinstance(o, ember.Tensor)]
            for j, (a, b) in enumerate(zip(tf, ef)):
                for kind, text in differences(signature(a.grad_fn), signature(b.grad_fn),
                                              f"#{k}.out{j}"):
                    problems.append(f"{kind}: {text}")
        if problems:
            report[key] = sorted(set(problems))[:6]
    return report


if __name__ == "__main__":
    out_path = sys.argv[1] if len(sys.argv) > 1 else "grad_graph_sweep.json"
    rep = run(sys.argv[2:] or None)
    with open(out_path, "w") as f:
        json.dump(rep, f, indent=1)
    counts = {}
    for problems in rep.values():
        for kind in {p.split(":")[0] for p in problems}:
            counts[kind] = counts.get(kind, 0) + 1
    print(len(rep), "ops with differences;", counts)
