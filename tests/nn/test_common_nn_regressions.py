"""Defects found by bench/common_nn_sweep.py (torch's legacy nn test tables in
torch.testing._internal.common_nn, run through ember with extra checks: empty batches,
non-contiguous inputs, second-order and batched gradients, reference functions, half
precision ...). Each case runs the same program on torch and on ember and compares the
outcome: values, shape and dtype, gradients, or the exception's type and message."""
import numpy as np
import pytest

import ember
from tests.program_compare import norm

torch = pytest.importorskip("torch")


def _outcome(lib, program):
    """norm(program(lib)), or ("raised", type name, message with torch. -> ember.)."""
    try:
        return norm(program(lib))
    except Exception as e:  # noqa: BLE001 - the type and message are compared
        return ("raised", type(e).__name__, str(e).replace("torch.", "ember."))


def _same(a, b):
    if isinstance(a, list):
        return isinstance(b, list) and len(a) == len(b) and all(map(_same, a, b))
    if isinstance(a, tuple) and a and a[0] == "T":
        return isinstance(b, tuple) and a[:3] == b[:3] and np.allclose(
            a[3], b[3], rtol=1e-6, atol=1e-7, equal_nan=True)
    return a == b


def check(program):
    t, e = _outcome(torch, program), _outcome(ember, program)
    assert _same(t, e), f"torch {t}\nember {e}"


# ------------------------------------------------------------- reflect/replicate pad
@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
@pytest.mark.parametrize("shape,npad", [
    ((0, 2, 2, 2), 3),       # unbatched 3-d: the channel dim is 0 (ReplicationPad3d)
    ((2, 0, 2, 2, 2), 3),    # batched: channels 0
    ((1, 2, 0, 2, 2), 3),    # a padded dim 0
    ((0, 2, 2, 2, 2), 3),    # batch 0: allowed
    ((2, 0, 3), 1),
    ((0, 2, 3), 1),
    ((2, 3, 0), 2),
    ((0, 3, 3, 3), 2),
])
def test_edge_padding_of_empty_dims(mode, shape, npad):
    """reflect/replicate need every non-batch dim non-empty (NumPy's pad leaked a
    ValueError); circular wraps only the padded dims."""
    def program(L):
        x = L.zeros(shape, dtype=L.float64, requires_grad=True)
        out = L.nn.functional.pad(x, (1, 1) * npad, mode=mode)
        (g,) = L.autograd.grad(out.sum(), x)
        return out, g
    check(program)


def test_replication_pad3d_module_empty_channels():
    check(lambda L: L.nn.ReplicationPad3d(1)(L.zeros(0, 2, 2, 2)))


# ------------------------------------------------------------------ pixel unshuffle
@pytest.mark.parametrize("shape", [(0, 1, 12, 12), (2, 0, 12, 12), (2, 1, 0, 12),
                                   (0, 3, 6, 6), (0, 1, 12, 13)])
def test_pixel_unshuffle_of_empty_input(shape):
    """PyTorch returns an empty input's copy, its shape unchanged (checks still run)."""
    check(lambda L: L.nn.PixelUnshuffle(3)(L.zeros(shape, dtype=L.float64)))


def test_pixel_unshuffle_of_empty_input_gradient():
    """The gradient has the input's shape (PyTorch's own backward raises here: it
    pixel-shuffles the unchanged-shape gradient, so it is not the oracle for this)."""
    x = ember.zeros(0, 1, 12, 12, dtype=ember.float64, requires_grad=True)
    (g,) = ember.autograd.grad(ember.nn.functional.pixel_unshuffle(x, 3).sum(), x)
    assert tuple(g.shape) == (0, 1, 12, 12)


@pytest.mark.parametrize("shape", [(0, 9, 2, 2), (2, 0, 2, 2), (2, 9, 0, 2)])
def test_pixel_shuffle_of_empty_input(shape):
    check(lambda L: L.nn.functional.pixel_shuffle(L.zeros(shape), 3))


# ------------------------------------------------------- attention with empty sizes
@pytest.mark.parametrize("need_weights", [True, False])
@pytest.mark.parametrize("q_shape,kv_shape", [((0, 3, 4), (0, 3, 4)), ((2, 3, 4), (0, 3, 4)),
                                              ((2, 0, 4), (2, 0, 4)), ((0, 0, 4), (0, 0, 4))])
def test_multihead_attention_of_empty_sequences(q_shape, kv_shape, need_weights):
    """A sequence or batch of length 0 (ember reshaped with -1, ambiguous for 0 elements)."""
    torch.manual_seed(0)
    tm = torch.nn.MultiheadAttention(4, 2).double()
    state = {k: v.numpy() for k, v in tm.state_dict().items()}

    def program(L):
        m = tm if L is torch else ember.nn.MultiheadAttention(4, 2).double()
        if L is ember:
            m.load_state_dict({k: ember.tensor(v) for k, v in state.items()})
        q = L.ones(q_shape, dtype=L.float64, requires_grad=True)
        kv = L.ones(kv_shape, dtype=L.float64, requires_grad=True)
        out, weights = m(q, kv, kv, need_weights=need_weights)
        grads = L.autograd.grad(out.sum(), [q, kv] + list(m.parameters()), allow_unused=True)
        return [out, weights] + [g for g in grads if g is not None]
    check(program)


@pytest.mark.parametrize("shape", [(0, 3, 4), (2, 0, 4)])
def test_transformer_encoder_layer_of_empty_sequences(shape):
    """common_nn's TransformerEncoderLayer configs with a sequence (or batch) of 0."""
    torch.manual_seed(0)
    tm = torch.nn.TransformerEncoderLayer(4, 2, 16, 0.0).double()
    state = {k: v.numpy() for k, v in tm.state_dict().items()}

    def program(L):
        m = tm if L is torch else ember.nn.TransformerEncoderLayer(4, 2, 16, 0.0).double()
        if L is ember:
            m.load_state_dict({k: ember.tensor(v) for k, v in state.items()})
        x = L.ones(shape, dtype=L.float64, requires_grad=True)
        out = m(x)
        grads = L.autograd.grad(out.sum(), [x] + list(m.parameters()), allow_unused=True)
        return [out] + [g for g in grads if g is not None]
    check(program)


# ----------------------------------------------------------------------------- rrelu
@pytest.mark.parametrize("value", [-0.5, 0.5])
def test_rrelu_training_keeps_a_0dim_input_0dim(value):
    """common_nn's RReLU_with_up_down_scalar: the output of a 0-dim input was (1,)."""
    def program(L):
        x = L.tensor(value, dtype=L.float64, requires_grad=True)
        out = L.nn.RReLU(0.1, 0.9).train()(x)
        (g,) = L.autograd.grad(out, x)
        return tuple(out.shape), out.dtype is L.float64, tuple(g.shape), out.item() == value
    check(program)

