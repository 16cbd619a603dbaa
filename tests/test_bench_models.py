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


def test_numpy_floor_step_is_the_mlp_training_step():
    """bench/numpy_floor.py's NumPy-alone MLP step does the workload's arithmetic: two
    SGD-momentum steps from torch's weights leave torch's weights."""
    from bench import numpy_floor
    tm = W.mlp_model(torch)
    linears = [m for m in tm if isinstance(m, torch.nn.Linear)]
    ws = [m.weight.detach().numpy().copy() for m in linears]
    bs = [m.bias.detach().numpy().copy() for m in linears]
    x, y = _batch("mlp", 16)
    step = numpy_floor.numpy_mlp_train(ws, bs, x, y)
    opt = torch.optim.SGD(tm.parameters(), lr=0.01, momentum=0.9)
    for _ in range(2):
        step()
        opt.zero_grad()
        torch.nn.functional.cross_entropy(tm(torch.from_numpy(x)), torch.from_numpy(y)).backward()
        opt.step()
    for mine, m in zip(ws, linears):
        np.testing.assert_allclose(mine, m.weight.detach().numpy(), rtol=1e-5, atol=1e-6)
    for mine, m in zip(bs, linears):
        np.testing.assert_allclose(mine, m.bias.detach().numpy(), rtol=1e-5, atol=1e-6)
