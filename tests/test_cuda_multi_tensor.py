"""Multi-tensor optimizer steps on CUDA (ember/_backend/cupy_multi_tensor.py): one launch
updates many parameters, with the per-parameter kernels' arithmetic.

The kernel tests run the kernels on the CPU emulator (tests/cuda_emu.py through the fake
CuPy) against the per-parameter ElementwiseKernels, to the bit, with guard bytes around
every array. The optimizer tests need ember's CUDA device (a GPU, or EMBER_FAKE_CUDA=1):
SGD and Adam/AdamW move the parameters as torch does, the same to the bit as the
per-parameter kernels, in the number of launches the grouping promises, and their state
survives a state_dict round trip."""
import sys

import numpy as np
import pytest
import torch

import ember
from ember._backend import cupy_kernels as ck
from ember._backend import cupy_multi_tensor as mt
from ember.optim import adam as adam_mod
from ember.optim import sgd as sgd_mod
from tests import cuda_emu, fakecupy
from tests.test_cuda_kernels_emulated import Guard

needs_emu = pytest.mark.skipif(not cuda_emu.available(),
                               reason="tests/cuda_emu.py needs g++ (or EMBER_CUDA_EMU=0)")
needs_cuda = pytest.mark.skipif(not ember.cuda.is_available(),
                                reason="no CUDA device (EMBER_FAKE_CUDA=1 runs the fake)")
DTYPES = [np.float32, np.float64]


# ------------------------------------------------------------------ the kernels, emulated

@pytest.fixture
def fake(monkeypatch):
    """The fake CuPy as `cupy` for the kernel modules (fresh kernel caches); yields a
    Guard for the arrays, checked at the end."""
    monkeypatch.setitem(sys.modules, "cupy", fakecupy)
    monkeypatch.setattr(ck, "_BUILT", {})
    monkeypatch.setattr(mt, "_MODULE", {})
    guard = Guard()
    yield guard
    guard.check()


# name -> scalars (in the kernel's order) for float type t: two settings each, the second
# taking the other branch of the body where it has one (lerp weight >= 0.5, nesterov)
SCALARS = {
    "adam": [lambda t: (t(1), t(0.01), t(0.9), t(0.999), t(0.013), t(0.7), t(1e-3)),
             lambda t: (t(0.995), t(0), t(0.3), t(0.8), t(0.02), t(0.35), t(1e-8))],
    "sgd": [lambda t: (t(0), t(0.1)), lambda t: (t(0.01), t(0.3))],
    "sgd_momentum": [lambda t: (t(0.01), t(0.9), t(0.9), t(0.1), np.bool_(False)),
                     lambda t: (t(0), t(0.5), t(1), t(0.2), np.bool_(True))],
}
SCALARS["adam_amsgrad"] = SCALARS["adam"]
# more parameters than any kernel's slots, mixed sizes: one element, a block's worth and
# one over, several blocks
SIZES = [1, 256, 257, 3, 1000, 1, 31, 513, 2, 700, 5, 64, 1, 255, 9, 130, 4, 1200, 1, 77]


def _state(rng, name, n, dtype):
    """Arrays (g, x, state...) for a parameter of n values, in the kernel's order."""
    count = len(mt._ARRAYS[name][0]) + len(mt._ARRAYS[name][1])
    arrays = [rng.standard_normal(n).astype(dtype) for _ in range(count)]
    if name.startswith("adam"):   # v and vmax are running squares
        for a in arrays[3:]:
            np.abs(a, out=a)
    return arrays


@needs_emu
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("setting", [0, 1])
@pytest.mark.parametrize("name", list(mt._ARRAYS))
def test_cuda_multi_tensor_kernel_same_as_per_parameter(fake, name, setting, dtype):
    """Every parameter of a multi-tensor launch ends as the per-parameter kernel leaves it,
    to the bit, and nothing outside the arrays is written."""
    assert len(SIZES) > mt.slots(name) >= 8
    rng = np.random.default_rng(setting)
    scalars = SCALARS[name][setting](np.dtype(dtype).type)
    host = [_state(rng, name, n, dtype) for n in SIZES]
    single = [[fake.dev(a) for a in arrays] for arrays in host]
    multi = [tuple(fake.dev(a) for a in arrays) for arrays in host]
    k = ck.kernel(name)
    for g, *out in single:
        k(g, *scalars, *out)
    assert mt.launch(name, multi, scalars)
    for one, many, before in zip(single, multi, host):
        for a, b in zip(one[1:], many[1:]):
            np.testing.assert_array_equal(b.get(), a.get())
        assert not np.array_equal(many[1].get(), before[1])        # the parameter moved
        np.testing.assert_array_equal(many[0].get(), before[0])   # the gradient is read only


@needs_emu
def test_cuda_multi_tensor_kernel_grid_stride(fake, monkeypatch):
    """Slots with more values than their blocks' threads (the grid-stride loop, here with
    at most 2 blocks a slot) update every value once."""
    monkeypatch.setattr(mt, "SLOT_BLOCKS", 2)
    rng = np.random.default_rng(5)
    scalars = SCALARS["sgd"][1](np.float64)
    host = [_state(rng, "sgd", n, np.float64) for n in (2000, 1, 513, 1025, 512)]
    params = [tuple(fake.dev(a) for a in arrays) for arrays in host]
    assert mt.launch("sgd", params, scalars)
    for (g, x), (dg, dx) in zip(host, params):
        np.testing.assert_array_equal(dx.get(), x - 0.3 * (g + 0.01 * x))


def test_cuda_multi_tensor_slots_fit():
    """The launch arguments of each kernel fit the emulator's 64 parameters, with 8 to 16
    parameters a launch."""
    for name in mt._ARRAYS:
        read, written = mt._ARRAYS[name]
        k = mt.slots(name)
        assert 8 <= k <= 16
        assert k * (len(read) + len(written) + 1) + len(mt._scalars(name)) <= 64


# ------------------------------------------------------------------ the optimizers

# 20 parameters: empty ones, single values, more than any kernel's slots
SHAPES = [(3, 4), (0,), (1,), (257,), (40, 30), (2, 2, 2), (5,), (1, 1), (300,), (7, 3),
          (0, 4), (256,), (1,), (11,), (3,), (6, 6), (513,), (2,), (9, 1), (4,)]
# (step, parameter) pairs without a gradient: parameter 3 starts a step late (its Adam step
# count lags the others'), parameter 8 sits out step 2
SKIPS = {(0, 3), (2, 8)}
CONFIGS = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.1, weight_decay=0.05)),
    ("SGD", dict(lr=0.1, momentum=0.9, dampening=0.2, weight_decay=0.01)),
    ("SGD", dict(lr=0.05, momentum=0.8, nesterov=True, weight_decay=0.1)),
    ("Adam", dict(lr=0.01)),
    ("Adam", dict(lr=0.01, betas=(0.3, 0.9), weight_decay=0.1)),
    ("Adam", dict(lr=0.01, weight_decay=0.1, amsgrad=True)),
    ("AdamW", dict(lr=0.01, weight_decay=0.5)),
    ("AdamW", dict(lr=0.01, betas=(0.6, 0.8), amsgrad=True)),
]
IDS = [f"{n}-{i}" for i, (n, _) in enumerate(CONFIGS)]


def _params(lib, dtype, device):
    rng = np.random.default_rng(0)
    return [lib.nn.Parameter(lib.from_numpy(rng.standard_normal(s).astype(dtype)).to(device))
            for s in SHAPES]


def _steps(lib, opt, ps, dtype, device, steps, first=0):
    """`steps` steps with gradients drawn per (step, parameter), SKIPS left without one."""
    for step in range(first, first + steps):
        rng = np.random.default_rng(100 + step)
        for i, p in enumerate(ps):
            g = rng.standard_normal(tuple(p.shape)).astype(dtype)
            p.grad = None if (step, i) in SKIPS else lib.from_numpy(g).to(device)
        opt.step()


def _run(lib, name, kwargs, dtype, device="cpu", steps=4):
    ps = _params(lib, dtype, device)
    opt = getattr(lib.optim, name)(ps, **kwargs)
    _steps(lib, opt, ps, dtype, device, steps)
    return ps, opt


def _host(t):
    return t.detach().cpu().numpy()


def _state_arrays(opt, ps):
    """{(parameter index, key): NumPy array} of the optimizer's state."""
    return {(i, k): _host(v) for i, p in enumerate(ps) for k, v in opt.state[p].items()}


@pytest.fixture
def per_parameter(monkeypatch):
    """Turns the multi-tensor path off: each parameter through its own kernel, as before."""
    def off():
        monkeypatch.setattr(adam_mod, "_multi_tensor_steps", lambda todo, *args: todo)
        monkeypatch.setattr(sgd_mod, "_multi_tensor_steps", lambda todo, *args: todo)
    return off


@needs_cuda
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name,kwargs", CONFIGS, ids=IDS)
def test_cuda_multi_tensor_step_like_torch_and_per_parameter(name, kwargs, dtype,
                                                             per_parameter):
    """Parameters and state after 4 steps: as torch's (CPU), and to the bit as the
    per-parameter kernels leave them; state on the device, steps counted per parameter."""
    ps, opt = _run(ember, name, kwargs, dtype, "cuda")
    tps, topt = _run(torch, name, kwargs, dtype)
    per_parameter()
    ops, oopt = _run(ember, name, kwargs, dtype, "cuda")
    tol = dict(rtol=1e-9, atol=1e-12) if dtype == np.float64 else dict(rtol=2e-5, atol=2e-6)
    for p, tp, op in zip(ps, tps, ops):
        assert p.device.type == "cuda"
        np.testing.assert_allclose(_host(p), _host(tp), **tol)
        np.testing.assert_array_equal(_host(p), _host(op))
    got, want, other = _state_arrays(opt, ps), _state_arrays(topt, tps), _state_arrays(oopt, ops)
    assert got.keys() == want.keys() == other.keys()
    for key in got:
        if key[1] == "step":
            assert got[key] == want[key]
            assert opt.state[ps[key[0]]]["step"].device.type == "cpu"
        else:
            assert opt.state[ps[key[0]]][key[1]].device.type == "cuda"
            np.testing.assert_allclose(got[key], want[key], **tol)
        np.testing.assert_array_equal(got[key], other[key])
    if name.startswith("Adam"):
        assert _host(opt.state[ps[3]]["step"]) == 3 and _host(opt.state[ps[0]]["step"]) == 4


class _Launches:
    """Counts multi-tensor launches and per-parameter kernel launches."""

    def __init__(self, monkeypatch):
        self.multi, self.single = [], 0
        function, kernel = mt._function, ck.kernel

        def counted_function(name, dtype):
            fn = function(name, dtype)
            if fn is None:
                return None

            def launch(grid, block, args):
                self.multi.append(name)
                fn(grid, block, args)
            return launch

        def counted_kernel(name):
            k = kernel(name)

            def launch(*args):
                self.single += 1
                return k(*args)
            return None if k is None else launch
        monkeypatch.setattr(mt, "_function", counted_function)
        monkeypatch.setattr(adam_mod, "kernel", counted_kernel)
        monkeypatch.setattr(sgd_mod, "kernel", counted_kernel)

    def clear(self):
        self.multi, self.single = [], 0


def _ceil(a, b):
    return -(-a // b)


@needs_cuda
@pytest.mark.parametrize("name,kwargs,kernel", [
    ("SGD", dict(lr=0.1), "sgd"),
    ("SGD", dict(lr=0.1, momentum=0.9), "sgd_momentum"),
    ("Adam", dict(lr=0.01), "adam"),
    ("AdamW", dict(lr=0.01, amsgrad=True), "adam_amsgrad")])
@pytest.mark.parametrize("dtype", DTYPES)
def test_cuda_multi_tensor_launches_per_step(monkeypatch, name, kwargs, kernel, dtype):
    """One launch per slots(kernel) parameters with a gradient (the empty ones need none),
    and for Adam one more group per step count: a parameter that started late, or sat a step
    out, has its own bias corrections. SGD momentum's first step (a copy) is per parameter;
    no per-parameter kernel runs."""
    launches = _Launches(monkeypatch)
    ps = _params(ember, dtype, "cuda")
    opt = getattr(ember.optim, name)(ps, **kwargs)
    k, full = mt.slots(kernel), sum(1 for s in SHAPES if np.prod(s) > 0)   # 18
    adam = name.startswith("Adam")
    # step 0: 17 parameters (3 waits); step 1: 18, parameter 3 a step behind; step 2: 17
    # (8 sits out), 3 behind; step 3: 18: 3 behind, 8 behind by one, so with 3
    want = [_ceil(full - 1, k),
            _ceil(full - 1, k) + 1 if adam else _ceil(full, k),
            _ceil(full - 2, k) + 1 if adam else _ceil(full - 1, k),
            _ceil(full - 2, k) + 1 if adam else _ceil(full, k)]
    if kernel == "sgd_momentum":   # the buffers' first steps: 3's at step 1
        want[0] = 0
        want[1] = _ceil(full - 1, k)
    for step in range(4):
        launches.clear()
        _steps(ember, opt, ps, dtype, "cuda", 1, first=step)
        assert launches.multi == [kernel] * want[step], step
        assert launches.single == 0


@needs_cuda
@pytest.mark.parametrize("name,kwargs", CONFIGS, ids=IDS)
def test_cuda_multi_tensor_state_dict_round_trip(name, kwargs):
    """2 steps, state_dict, a new optimizer on copies of the parameters loads it, 2 more
    steps: the same to the bit as 4 steps in one go."""
    dtype = np.float32
    ps, opt = _run(ember, name, kwargs, dtype, "cuda")
    qs = _params(ember, dtype, "cuda")
    first = getattr(ember.optim, name)(qs, **kwargs)
    _steps(ember, first, qs, dtype, "cuda", 2)
    sd = first.state_dict()
    qs2 = [ember.nn.Parameter(q.detach().clone()) for q in qs]
    second = getattr(ember.optim, name)(qs2, **kwargs)
    second.load_state_dict(sd)
    _steps(ember, second, qs2, dtype, "cuda", 2, first=2)
    for p, q in zip(ps, qs2):
        np.testing.assert_array_equal(_host(q), _host(p))
    want, got = _state_arrays(opt, ps), _state_arrays(second, qs2)
    assert want.keys() == got.keys()
    for key in want:
        np.testing.assert_array_equal(got[key], want[key])


@needs_cuda
@pytest.mark.parametrize("name,kwargs", [CONFIGS[2], CONFIGS[6]], ids=["SGD", "Adam"])
def test_cuda_multi_tensor_leaves_what_does_not_fit(monkeypatch, name, kwargs):
    """A non-contiguous gradient, and a float64 parameter among float32 ones, still step
    like torch: the first through the per-parameter path, the second in a launch of its own
    dtype."""
    launches = _Launches(monkeypatch)
    rng = np.random.default_rng(3)
    data = [rng.standard_normal(s) for s in [(4, 6), (5,), (3, 7), (2,)]]
    dtypes = [np.float32, np.float32, np.float32, np.float64]
    ps = [ember.nn.Parameter(ember.from_numpy(d.astype(t)).to("cuda"))
          for d, t in zip(data, dtypes)]
    tps = [torch.nn.Parameter(torch.from_numpy(d.astype(t))) for d, t in zip(data, dtypes)]
    opt = getattr(ember.optim, name)(ps, **kwargs)
    topt = getattr(torch.optim, name)(tps, **kwargs)
    for step in range(3):
        launches.clear()
        grads = [rng.standard_normal(tuple(p.shape)).astype(t) for p, t in zip(ps, dtypes)]
        grads[2] = np.ascontiguousarray(grads[2].T)   # (7, 3), given transposed
        for i, (p, tp, g) in enumerate(zip(ps, tps, grads)):
            eg, tg = ember.from_numpy(g).to("cuda"), torch.from_numpy(g)
            p.grad, tp.grad = (eg.t(), tg.t()) if i == 2 else (eg, tg)
        assert not ps[2].grad.is_contiguous()
        opt.step()
        topt.step()
        if step > 0 or name == "Adam":    # (SGD's first step fills the buffers)
            assert len(launches.multi) == 2     # float32, float64
            assert launches.single == 1         # the transposed gradient's parameter
    for p, tp in zip(ps, tps):
        np.testing.assert_allclose(_host(p), _host(tp), rtol=1e-5, atol=1e-6)


@needs_cuda
@pytest.mark.parametrize("name,kwargs", [CONFIGS[3], CONFIGS[5]], ids=["SGD", "Adam"])
def test_cuda_multi_tensor_parameter_listed_twice(monkeypatch, name, kwargs):
    """A parameter given twice (torch warns) is updated twice, one after the other, as by
    the per-parameter loop: its second update is left out of the launch (on a GPU two slots
    of one launch would race on it)."""
    def run():
        ps = _params(ember, np.float64, "cuda")[:4]
        with pytest.warns(UserWarning, match="duplicate parameters"):
            opt = getattr(ember.optim, name)(ps + ps[2:3], **kwargs)
        _steps(ember, opt, ps, np.float64, "cuda", 3, first=5)
        return [_host(p) for p in ps]
    launches = _Launches(monkeypatch)
    got = run()
    assert launches.single == 3   # its second update of each step
    monkeypatch.setattr(adam_mod, "_multi_tensor_steps", lambda todo, *args: todo)
    monkeypatch.setattr(sgd_mod, "_multi_tensor_steps", lambda todo, *args: todo)
    for a, b in zip(got, run()):
        np.testing.assert_array_equal(a, b)
