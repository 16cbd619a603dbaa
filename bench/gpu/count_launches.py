"""How many CuPy calls, and how many of them would launch GPU work, one training step makes,
counted on the fake CuPy (tests/fakecupy.py) without a GPU:

    EMBER_FAKE_CUDA=1 python bench/gpu/count_launches.py [cnn resnet ...] [--batch N] [--ops]

The fake's entry points (ufuncs and operators, NumPy functions, array methods, item
assignment, RawModule and ElementwiseKernel launches) are wrapped. A call counts as a
launch unless it only made a view (its result shares memory with an input and no `out=`
was given: reshape, transpose, slicing, ascontiguousarray of a contiguous array) or only
allocated (empty, empty_like). zeros is a memset (cudaMemsetAsync on CuPy), counted with
the launches; a matmul counts as one launch although cuBLAS may run more than one kernel.
Every wrapped call, views included, is a "CuPy call" (host time on a GPU run).

Counts do not depend on the batch on the CUDA path (one im2col and GEMM per conv for the
whole batch), so the default batch is small: the fake runs the kernels on an emulator.
With EMBER_CUDNN_LIB set to the CPU fake of cuDNN (tests/fake_cudnn.py's path()),
convolutions take ember's cuDNN path, and each cuDNN call counts as one launch.
With --ops the launches are broken down by the ember op (autograd node class or public
function) that made them; with --calls every CuPy call is, views and allocations included.
"""
import argparse
import collections
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)

from tests import fakecupy  # noqa: E402

fakecupy.install(force=True)

import numpy  # noqa: E402

import ember  # noqa: E402
from bench import workloads as W  # noqa: E402

MODELS = {   # name -> (model, optimizer, shape of one input, of one target: None for a class)
    "cnn": (W.cnn_model, lambda L, m: L.optim.Adam(m.parameters(), lr=1e-3), (1, 28, 28), None),
    "resnet": (W.resnet_model, lambda L, m: L.optim.SGD(m.parameters(), lr=0.01), (3, 32, 32),
               None),
    "mlp": (W.mlp_model, lambda L, m: L.optim.SGD(m.parameters(), lr=0.01, momentum=0.9),
            (784,), None),
    "transformer": (W.transformer_model, lambda L, m: L.optim.Adam(m.parameters(), lr=1e-3),
                    (128, 128), (128, 128)),
}
_ALLOC = {"empty", "empty_like"}
_MEMSET = {"zeros", "zeros_like"}
_OWN = ("ember/", "ember\\")
COUNTS = {"calls": collections.Counter(), "launches": collections.Counter(),
          "by_op": collections.Counter()}


def _fakes(x):
    return [v for v in fakecupy._flat(x) if isinstance(v, fakecupy.ndarray)]


def _where():
    """The innermost ember frame outside the backend: 'file:function'."""
    f = sys._getframe(3)
    while f is not None:
        path = f.f_code.co_filename
        if "/ember/" in path and "/_backend/" not in path:
            return f"{os.path.basename(path)}:{f.f_code.co_qualname}"
        f = f.f_back
    return "?"


def _record(name, launch):
    COUNTS["calls"][name] += 1
    if launch:
        COUNTS["launches"][name] += 1
    if COUNTS.get("ops") == "calls" or (launch and COUNTS.get("ops")):
        COUNTS["by_op"][f"{_where()} {name}{'' if launch else ' (no launch)'}"] += 1


def _counted_result(orig):
    """fakecupy._result, which every ufunc, NumPy function and array method returns
    through: the caller's frame says which call it was and with what inputs."""
    def result(res, out):
        caller = sys._getframe(1).f_locals
        if "uf" in caller:
            name = caller["uf"].__name__ + ("" if caller["method"] == "__call__"
                                            else "." + caller["method"])
            inputs = caller["inputs"]
        elif "func" in caller:
            name, inputs = caller["func"].__name__, caller["args"]
        else:
            name, inputs = caller.get("name", "?"), (caller.get("self"), caller.get("args"))
        if name in _ALLOC:
            launch = False
        elif name in _MEMSET or out is not None:
            launch = True
        else:
            arrays = [r for r in fakecupy._flat(res) if isinstance(r, numpy.ndarray)]
            launch = not arrays or not any(numpy.may_share_memory(r, i._a) for r in arrays
                                           for i in _fakes(inputs))
        _record(name, launch)
        return orig(res, out)
    return result


def _counted(cls, attr, name):
    orig = getattr(cls, attr)

    def call(self, *args, **kwargs):
        _record(name, True)
        return orig(self, *args, **kwargs)
    setattr(cls, attr, call)


def install_counters():
    fakecupy._result = _counted_result(fakecupy._result)
    _counted(fakecupy.ndarray, "__setitem__", "setitem")
    _counted(fakecupy.ndarray, "fill", "fill")
    _counted(fakecupy._Function, "__call__", "raw_kernel")
    _counted(fakecupy.RawKernel, "__call__", "raw_kernel")
    _counted(fakecupy.ElementwiseKernel, "__call__", "elementwise_kernel")
    orig_getitem = fakecupy.ndarray.__getitem__

    def getitem(self, index):   # a view unless the index is an array (a gather kernel)
        r = orig_getitem(self, index)
        _record("getitem", not numpy.may_share_memory(r._a, self._a))
        return r
    fakecupy.ndarray.__getitem__ = getitem
    from ember._backend import cudnn
    lib = cudnn.library()   # with EMBER_CUDNN_LIB=<tests/fake_cudnn.py's path()>
    if lib is not None:     # each cuDNN call counts as one launch (it may run more)
        for name in ("cudnnConvolutionForward", "cudnnConvolutionBackwardData",
                     "cudnnConvolutionBackwardFilter", "cudnnConvolutionBackwardBias",
                     "cudnnAddTensor", "cudnnBatchNormalizationForwardTraining",
                     "cudnnBatchNormalizationBackward"):
            if hasattr(lib, name):
                setattr(lib, name, _counted_call(getattr(lib, name), name))


def _counted_call(fn, name):
    def call(*args):
        _record(name, True)
        return fn(*args)
    call.__name__ = name
    return call


def build(name, batch):
    make_model, make_opt, shape, target = MODELS[name]
    model = make_model(ember).to("cuda")
    opt = make_opt(ember, model)
    x = W._data(ember, batch, *shape).to("cuda")
    if target is None:
        y, loss = W._labels(ember, batch, 10), ember.nn.CrossEntropyLoss()
    else:   # as the GPU workloads (bench/workloads.py *_cuda): MSE against random targets
        y, loss = W._data(ember, batch, *target, seed=2), ember.nn.MSELoss()
    return W._train_step(ember, model, opt, loss, x, y.to("cuda"))


def count(name, batch, by_op=False):
    """(launches, CuPy calls, launches by call name, launches by op) of one step (the
    third step: the first ones create optimizer state)."""
    step = build(name, batch)
    for _ in range(2):
        step()
    for c in ("calls", "launches", "by_op"):
        COUNTS[c].clear()
    COUNTS["ops"] = by_op
    step()
    ember.cuda.synchronize()
    return (sum(COUNTS["launches"].values()), sum(COUNTS["calls"].values()),
            COUNTS["launches"].copy(), COUNTS["by_op"].copy())


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("models", nargs="*", help=f"of {', '.join(MODELS)} (default: all)")
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--ops", action="store_true", help="launches per ember op")
    ap.add_argument("--calls", action="store_true",
                    help="all CuPy calls per ember op, views and allocations included")
    args = ap.parse_args()
    install_counters()
    ember.backends.cudnn.allow_tf32 = True
    for name in args.models or list(MODELS):
        launches, calls, by_name, by_op = count(name, args.batch,
                                               "calls" if args.calls else args.ops)
        print(f"{name}: {launches} launches, {calls} CuPy calls per step (batch {args.batch})")
        for call, n in by_name.most_common():
            print(f"    {n:4d}  {call}")
        if args.ops or args.calls:
            print("  by op:")
            for op, n in by_op.most_common():
                print(f"    {n:4d}  {op}")


if __name__ == "__main__":
    main()
