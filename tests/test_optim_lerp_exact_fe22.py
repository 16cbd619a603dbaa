"""optimizer._lerp_ (Muon's momentum, Adafactor's variances, swa_utils' moving averages)
rounds its multiply-add once, as torch's lerp_ / _foreach_lerp_ with a number weight:
the states that depend on the gradients alone are torch's bit for bit after many steps
(the parameters themselves go through matmuls and norms whose sums are ordered otherwise)."""
import numpy as np
import pytest

import ember
from ember.optim import swa_utils as ember_swa

torch = pytest.importorskip("torch")
from torch.optim import swa_utils as torch_swa  # noqa: E402

STEPS = 12


def _grads(shapes, dtype, seed=1):
    rng = np.random.default_rng(seed)
    return [[np.asarray(rng.standard_normal(s), dtype=dtype) for s in shapes]
            for _ in range(STEPS)]


def _states(lib, name, kw, shapes, dtype, key):
    rng = np.random.default_rng(0)
    params = [lib.tensor(np.asarray(rng.standard_normal(s), dtype=dtype), requires_grad=True)
              for s in shapes]
    opt = getattr(lib.optim, name)(params, **kw)
    for step in _grads(shapes, dtype):
        for p, g in zip(params, step):
            p.grad = lib.tensor(g)
        opt.step()
    return [opt.state[p][key].detach().numpy().copy() for p in params]


def _bitwise(got, want):
    for g, w in zip(got, want):
        assert g.dtype == w.dtype and g.shape == w.shape
        bad = int((g.view(np.uint8) != w.view(np.uint8)).sum())
        assert bad == 0, f"{bad} bytes of {g.nbytes} differ ({g.shape})"


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kw", [dict(lr=0.02, momentum=0.95),
                                dict(lr=0.02, momentum=0.3, nesterov=False)], ids=str)
def test_muon_momentum_buffer_bit_exact(kw, dtype):
    shapes = [(7, 5), (33, 17), (64, 65)]
    _bitwise(*(_states(lib, "Muon", kw, shapes, dtype, "momentum_buffer")
               for lib in (ember, torch)))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_adafactor_vector_variance_bit_exact(dtype):
    shapes = [(7,), (1001,), (4099,)]
    _bitwise(*(_states(lib, "Adafactor", dict(lr=0.01), shapes, dtype, "variance")
               for lib in (ember, torch)))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kind", ["ema", "swa"])
def test_swa_utils_averages_bit_exact(kind, dtype):
    rng = np.random.default_rng(5)
    shapes = [(7,), (33, 17), (1001,)]
    start = [np.asarray(rng.standard_normal(s), dtype=dtype) for s in shapes]
    models = [[np.asarray(rng.standard_normal(s), dtype=dtype) for s in shapes]
              for _ in range(STEPS)]
    got = []
    for lib, swa in ((ember, ember_swa), (torch, torch_swa)):
        fn = swa.get_ema_multi_avg_fn(0.9) if kind == "ema" else swa.get_swa_multi_avg_fn()
        avg = [lib.tensor(a.copy()) for a in start]
        with lib.no_grad():
            for n, model in enumerate(models):
                fn(avg, [lib.tensor(m) for m in model], n + 1)
        got.append([a.numpy() for a in avg])
    _bitwise(*got)
