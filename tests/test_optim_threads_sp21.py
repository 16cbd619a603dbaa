"""Optimizer updates at one OpenBLAS thread, and the exact lerp_ (one rounding) against torch.

ember/optim/_foreach.for_each runs a step's per-parameter updates with NumPy's OpenBLAS at
one thread (its axpy, which the exact updates call, would otherwise split itself over the
cores that ember's own two update threads already use); the results must not depend on
that, and must stay torch's bit for bit on the split path (more than _PARALLEL_MIN values).
"""
import numpy as np
import pytest

import ember
from ember._backend import blas_threads
from ember.optim import _foreach
from ember.optim._fma import lerp_

torch = pytest.importorskip("torch")


@pytest.fixture
def two_blas_threads():
    n = blas_threads.num_threads()
    if n is None:
        pytest.skip("NumPy's OpenBLAS thread count cannot be controlled here")
    blas_threads.set_num_threads(2)
    if blas_threads.num_threads() != 2:     # (an OpenBLAS started with one thread)
        blas_threads.set_num_threads(n)
        pytest.skip("NumPy's OpenBLAS cannot run two threads here")
    yield
    blas_threads.set_num_threads(n)


@pytest.mark.parametrize("split", [False, True])
def test_for_each_runs_updates_at_one_blas_thread_and_restores(two_blas_threads, split,
                                                               monkeypatch):
    monkeypatch.setattr(_foreach, "_num_threads", lambda: 2)
    seen = []
    arrays = [np.zeros(_foreach._PARALLEL_MIN if split else 10, np.float32) for _ in range(4)]
    _foreach.for_each(lambda a: seen.append(blas_threads.num_threads()), arrays, arrays)
    assert seen == [1, 1, 1, 1]
    assert blas_threads.num_threads() == 2


def test_for_each_restores_the_count_when_an_update_raises(two_blas_threads):
    def boom(item):
        raise ValueError("boom")
    with pytest.raises(ValueError, match="boom"):
        _foreach.for_each(boom, [1], [np.zeros(3)])
    assert blas_threads.num_threads() == 2


def _steps(lib, opt_name, kw, dtype, shapes, steps=3):
    rng = np.random.default_rng(0)
    params = [lib.tensor(rng.standard_normal(s).astype(dtype), requires_grad=True)
              for s in shapes]
    opt = getattr(lib.optim, opt_name)(params, **kw)
    grads = np.random.default_rng(1)
    for _ in range(steps):
        for p in params:
            p.grad = lib.tensor(grads.standard_normal(tuple(p.shape)).astype(dtype))
        opt.step()
    return params, opt


@pytest.mark.parametrize("kw", [dict(lr=0.01, momentum=0.9),
                                dict(lr=0.01, momentum=0.9, weight_decay=1e-2, nesterov=True)],
                         ids=str)
def test_sgd_on_the_two_thread_split_path_is_torch_bit_for_bit(kw, monkeypatch):
    """~1.1M values in all (above _PARALLEL_MIN): half the list on ember's helper thread,
    each axpy over more than OpenBLAS's 10,000-value threading threshold."""
    monkeypatch.setattr(_foreach, "_num_threads", lambda: 2)
    shapes = [(700, 801), (3,), (500, 1001), (9999,)]
    want, _ = _steps(torch, "SGD", kw, np.float32, shapes)
    got, _ = _steps(ember, "SGD", kw, np.float32, shapes)
    for w, g in zip(want, got):
        assert np.array_equal(w.detach().numpy(), g.detach().numpy())


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("weight", [0.1, -0.3, 0.5, 0.9, 1.7, 1e-3, 0.49999999, 1,
                                    np.float32(0.3), np.float64(0.7)], ids=repr)
def test_lerp_is_torch_lerp_bit_for_bit(dtype, weight):
    rng = np.random.default_rng(5)
    for n in list(range(1, 40)) + [1001, 20011]:
        a, b = rng.standard_normal((2, n)).astype(dtype)
        want = torch.from_numpy(a.copy()).lerp_(torch.from_numpy(b), weight).numpy()
        assert np.array_equal(lerp_(a.copy(), b, weight), want), (n, weight)
        assert np.array_equal(lerp_(a.copy(), b, weight, np.empty_like(a)), want)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", ["Adam", "AdamW", "RMSprop"])
def test_first_moments_are_torch_bit_for_bit(name, dtype):
    """exp_avg (Adam, AdamW) and grad_avg (centered RMSprop) are lerp_s of the gradients:
    with the gradients equal, equal to the bit (the parameters differ from torch's in the
    last bit through addcmul_, which rounds twice here)."""
    kw = dict(lr=1e-2, centered=True) if name == "RMSprop" else dict(lr=1e-3)
    key = "grad_avg" if name == "RMSprop" else "exp_avg"
    shapes = [(1,), (33, 17), (4099,)]
    tp, topt = _steps(torch, name, kw, dtype, shapes, steps=5)
    ep, eopt = _steps(ember, name, kw, dtype, shapes, steps=5)
    for t, e in zip(tp, ep):
        assert np.array_equal(topt.state[t][key].numpy(), eopt.state[e][key].numpy())


@pytest.mark.parametrize("name", ["Adamax", "NAdam", "RAdam"])
def test_loop_optimizers_step_at_one_blas_thread(name, two_blas_threads, monkeypatch):
    """Adamax/NAdam/RAdam update parameter by parameter on the calling thread; their lerp_
    (an axpy) runs with OpenBLAS at one thread, and the count is restored after."""
    import importlib
    mod = importlib.import_module(f"ember.optim.{name.lower()}")
    seen = []

    def spy(*args):
        seen.append(blas_threads.num_threads())
        return lerp_(*args)
    monkeypatch.setattr(mod, "lerp_", spy)
    p = ember.zeros(20000, requires_grad=True)
    p.grad = ember.ones(20000)
    getattr(ember.optim, name)([p], lr=0.1).step()
    assert seen == [1]
    assert blas_threads.num_threads() == 2
