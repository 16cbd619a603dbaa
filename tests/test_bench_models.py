"""The benchmark's networks give PyTorch's loss and gradients.

Each model of bench/workloads.py is built in both frameworks, ember gets torch's
weights, and one forward + backward on the same (smaller) batch must agree. This guards
the speed work on the training hot paths (fused ops, engine, conv, norm) against any
change of results, including the first layer, whose input needs no gradient.
"""
import numpy as np
import pytest
import torch

import ember
from bench import workloads as W


def _copy_weights(src, dst):
    state = {k: ember.from_numpy(v.detach().numpy().copy()) for k, v in src.state_dict().items()}
    dst.load_state_dict(state)


def _batch(kind, n):
    rng = np.random.default_rng(0)
    if kind == "mlp":
        return rng.standard_normal((n, 784), dtype=np.float32), rng.integers(0, 10, n)
    if kind == "cnn":
        return rng.standard_normal((n, 1, 28, 28), dtype=np.float32), rng.integers(0, 10, n)
    if kind == "resnet":
        return rng.standard_normal((n, 3, 32, 32), dtype=np.float32), rng.integers(0, 10, n)
    if kind == "lstm":
        return (rng.standard_normal((n, 7, 32), dtype=np.float32),
                rng.standard_normal((n, 7, 1), dtype=np.float32))
    return (rng.standard_normal((n, 9, 128), dtype=np.float32),
            rng.standard_normal((n, 9, 128), dtype=np.float32))


MODELS = {
    "mlp": (W.mlp_model, "cross_entropy"),
    "cnn": (W.cnn_model, "cross_entropy"),
    "resnet": (W.resnet_model, "cross_entropy"),
    "lstm": (W.lstm_model, "mse_loss"),
    "transformer": (W.transformer_model, "mse_loss"),
}


def _loss_and_grads(lib, model, loss_name, x, y):
    out = model(lib.from_numpy(x))
    loss = getattr(lib.nn.functional, loss_name)(out, lib.from_numpy(y))
    loss.backward()
    return (loss.detach().numpy(),
            {n: p.grad.numpy() for n, p in model.named_parameters()},
            {n: b.numpy().copy() for n, b in model.named_buffers()})


@pytest.mark.parametrize("kind", list(MODELS))
def test_bench_model_matches_torch(kind):
    build, loss_name = MODELS[kind]
    tm, em = build(torch), build(ember)
    _copy_weights(tm, em)
    x, y = _batch(kind, 4)
    t_loss, t_grads, t_bufs = _loss_and_grads(torch, tm, loss_name, x, y)
    e_loss, e_grads, e_bufs = _loss_and_grads(ember, em, loss_name, x, y)
    np.testing.assert_allclose(e_loss, t_loss, rtol=1e-4, atol=1e-5)
    assert e_grads.keys() == t_grads.keys()
    for name in t_grads:
        scale = max(1.0, float(np.abs(t_grads[name]).max()))
        np.testing.assert_allclose(e_grads[name], t_grads[name], rtol=1e-3, atol=1e-4 * scale,
                                   err_msg=name)
    for name in t_bufs:  # BatchNorm running statistics
        np.testing.assert_allclose(e_bufs[name], t_bufs[name], rtol=1e-4, atol=1e-5,
                                   err_msg=name)
