"""Fused recurrent layers: one graph node for one LSTM layer-direction over a whole
padded sequence (PyTorch's CPU LSTM is one node too, ``MkldnnRnnLayerBackward0``).

Recording one node per time step and gate costs more Python than the arithmetic of a
small LSTM; here the whole recurrence runs on arrays and backward is backpropagation
through time on arrays. The recurrence is written once, `_lstm_recurrence` and
`_lstm_bptt`, over a small kernel namespace: `_ArrayKernel` runs it on NumPy/CuPy arrays,
`_TensorKernel` on ember Tensors. Backward with ``create_graph=True`` runs the same code
on Tensors (recomputing the forward from the saved inputs), so double backward works.
"""
import numpy as np

from ..autograd import grad_mode
from .._tensor import Tensor
from ._base import Op, apply
from ._util import ignore_fp_errors, restore_fp_errors

__all__ = []


class _ArrayKernel:
    """The few functions the recurrence needs, on arrays of namespace `xp`."""

    def __init__(self, xp):
        self.xp = xp

    def sigmoid(self, x):
        # exp(-x) overflows to inf for x below about -88 (float32), giving 1 / inf = 0, the
        # correctly rounded result or its neighbour; the caller silences the overflow warning
        xp = self.xp
        e = xp.negative(x)
        xp.exp(e, out=e)
        e += 1
        return xp.reciprocal(e, out=e)

    def tanh(self, x):
        return self.xp.tanh(x)

    def cat(self, arrays):
        return self.xp.concatenate(arrays, -1)

    def stack(self, arrays):
        return self.xp.stack(arrays, 0)

    def linear(self, x, w, b):
        # one 2-D GEMM over all leading dims (NumPy loops a 3-D @ 2-D product per matrix)
        y = x.reshape(-1, x.shape[-1]) @ w.T
        if b is not None:
            y += b
        return y.reshape(x.shape[:-1] + (w.shape[0],))

    def gate_activations(self, gates, H):
        """The activated gates [i f g o] of pre-activations `gates` (B, 4H): sigmoid over
        the whole block (fewer calls than one per gate), then tanh over g's slice."""
        act = self.sigmoid(gates)
        self.xp.tanh(gates[:, 2 * H:3 * H], out=act[:, 2 * H:3 * H])
        return act

    def gate_derivs(self, act, H):
        """The derivatives [i(1-i) f(1-f) 1-g^2 o(1-o)] of activated gates `act` (..., 4H)
        (all steps at once)."""
        xp = self.xp
        deriv = xp.subtract(1, act)
        deriv *= act
        g, dg = act[..., 2 * H:3 * H], deriv[..., 2 * H:3 * H]
        xp.multiply(g, g, out=dg)
        xp.subtract(1, dg, out=dg)
        return deriv

    def gate_grads(self, pairs, deriv):
        """[a0 b0, a1 b1, a2 b2, a3 b3] * deriv for the (a, b) `pairs`, products written
        into their slices of one block."""
        xp = self.xp
        out = xp.empty_like(deriv)
        H = deriv.shape[-1] // 4
        for n, (a, b) in enumerate(pairs):
            xp.multiply(a, b, out=out[:, n * H:(n + 1) * H])
        out *= deriv
        return out


class _TensorKernel:
    """The same functions on ember Tensors (differentiable)."""

    @staticmethod
    def sigmoid(x):
        return x.sigmoid()

    @staticmethod
    def tanh(x):
        return x.tanh()

    @staticmethod
    def cat(tensors):
        from .joining import cat
        return cat(tensors, -1)

    @staticmethod
    def stack(tensors):
        from .joining import stack
        return stack(tensors, 0)

    @staticmethod
    def linear(x, w, b):
        from .layers import linear
        return linear(x, w, b)

    @staticmethod
    def gate_activations(gates, H):
        from .joining import cat
        return cat([gates[:, :2 * H].sigmoid(), gates[:, 2 * H:3 * H].tanh(),
                    gates[:, 3 * H:].sigmoid()], -1)

    @staticmethod
    def gate_derivs(act, H):
        from .joining import cat
        i_f, g, o = act[..., :2 * H], act[..., 2 * H:3 * H], act[..., 3 * H:]
        return cat([i_f * (1 - i_f), 1 - g * g, o * (1 - o)], -1)

    @staticmethod
    def gate_grads(pairs, deriv):
        from .joining import cat
        return cat([a * b for a, b in pairs], -1) * deriv


def _steps(T, reverse):
    return range(T - 1, -1, -1) if reverse else range(T)


def _lstm_recurrence(k, x, h0, c0, w_ih, w_hh, b_ih, b_hh, reverse):
    """Run the LSTM over x (T, B, I) from (h0, c0) (B, H); kernel `k`.

        gates_t = x_t W_ih^T + b_ih + b_hh + h_{t-1} W_hh^T;  i, f, g, o = chunks of gates_t
        i, f, o = sigmoid(.), g = tanh(.)
        c_t = f * c_{t-1} + i * g;  h_t = o * tanh(c_t)

    Returns (hs, cs, acts, tcs), indexed by t (in time order): h_t, c_t, the activated
    gates [i f g o] as one (B, 4H) block, and tanh(c_t).
    """
    T = x.shape[0]
    H = h0.shape[-1]
    gi = k.linear(x, w_ih, b_ih)
    if b_hh is not None:   # both biases added once for all steps
        gi = gi + b_hh
    hs, cs, acts, tcs = [None] * T, [None] * T, [None] * T, [None] * T
    h, c = h0, c0
    for t in _steps(T, reverse):
        gates = k.linear(h, w_hh, None)
        gates += gi[t]
        act = k.gate_activations(gates, H)
        i, f, g, o = act[:, :H], act[:, H:2 * H], act[:, 2 * H:3 * H], act[:, 3 * H:]
        c = f * c + i * g
        tc = k.tanh(c)
        h = o * tc
        hs[t], cs[t], acts[t], tcs[t] = h, c, act, tc
    return hs, cs, acts, tcs


def _lstm_bptt(k, x, h0, c0, w_ih, w_hh, hs, cs, acts, tcs, g_out, g_h, g_c, reverse, need):
    """Backpropagation through time for `_lstm_recurrence`'s outputs.

    g_out (T, B, H) is the gradient of every h_t, (g_h, g_c) that of the final state.
    Per step, with dh, dc the gradients reaching h_t, c_t:
        dc_t = dc + dh * o * (1 - tanh(c_t)^2)
        di = dc_t * g * i(1-i),  df = dc_t * c_{t-1} * f(1-f),  dg = dc_t * i * (1-g^2)
        do = dh * tanh(c_t) * o(1-o);   dgates = [di, df, dg, do]
        dh_{t-1} = dgates W_hh,  dc_{t-1} = dc_t * f
    (the factors that do not depend on dh, dc -- the gates' derivatives and
    o (1 - tanh(c_t)^2) -- computed for all steps at once first), then the weight
    gradients are sums over steps: dW_hh = sum_t dgates_t^T h_{t-1},
    dW_ih = sum_t dgates_t^T x_t, db = sum_t dgates_t, dx_t = dgates_t W_ih.
    `need` says which of (x, h0, c0, w_ih, w_hh, b_ih, b_hh) need a gradient.
    """
    T = x.shape[0]
    H = h0.shape[-1]
    dgates = [None] * T
    dh, dc = g_h, g_c
    order = list(_steps(T, reverse))
    # the state each step started from, indexed by time
    h_prev, c_prev = [None] * T, [None] * T
    for n, t in enumerate(order):
        h_prev[t] = hs[order[n - 1]] if n > 0 else h0
        c_prev[t] = cs[order[n - 1]] if n > 0 else c0
    act_all = k.stack(acts)
    derivs = k.gate_derivs(act_all, H)
    tc_all = k.stack(tcs)
    dcs = act_all[..., 3 * H:] * (1 - tc_all * tc_all)
    for t in reversed(order):
        act = acts[t]
        i, f, g = act[:, :H], act[:, H:2 * H], act[:, 2 * H:3 * H]
        dh = dh + g_out[t]
        dct = dc + dh * dcs[t]
        dgate = k.gate_grads(((dct, g), (dct, c_prev[t]), (dct, i), (dh, tcs[t])), derivs[t])
        dgates[t] = dgate
        dc = dct * f
        dh = dgate @ w_hh
    dG = k.stack(dgates)
    flat = dG.reshape(-1, dG.shape[-1])
    grads = [None] * 7
    if need[0]:
        grads[0] = (flat @ w_ih).reshape(x.shape)
    grads[1], grads[2] = dh, dc
    if need[3]:
        grads[3] = flat.T @ x.reshape(-1, x.shape[-1])
    if need[4]:
        grads[4] = flat.T @ k.stack(h_prev).reshape(-1, h0.shape[-1])
    if need[5] or need[6]:
        db = flat.sum(0)
        grads[5], grads[6] = db, db
    return grads


class LSTMLayer(Op):
    """One LSTM layer-direction over a padded sequence: inputs x (T, B, I), h0, c0 (B, H),
    w_ih (4H, I), w_hh (4H, H), b_ih, b_hh (4H,) or None; outputs h_t for every step
    (T, B, H), h_T and c_T (the state after the last step processed)."""
    _name = "MkldnnRnnLayerBackward0"
    save_inputs = (0, 1, 2, 3, 4, 5, 6)

    @staticmethod
    def forward(ctx, x, h0, c0, w_ih, w_hh, b_ih, b_hh, reverse):
        k = _ArrayKernel(ctx.xp)
        token = ignore_fp_errors()
        try:
            states = _lstm_recurrence(k, x, h0, c0, w_ih, w_hh, b_ih, b_hh, reverse)
        finally:
            restore_fp_errors(token)
        ctx.reverse = reverse
        ctx.arrays = states
        hs, cs = states[0], states[1]
        last = 0 if reverse else x.shape[0] - 1
        return k.stack(hs), hs[last], cs[last]

    @staticmethod
    def backward(ctx, g_out, g_h, g_c):
        need = ctx.needs_input_grad
        saved = ctx.saved_tensors
        if grad_mode.backward_on_tensors():
            # create_graph or tangents: the same computation on Tensors, so it can be differentiated
            x, h0, c0, w_ih, w_hh, b_ih, b_hh = saved
            k = _TensorKernel
            states = _lstm_recurrence(k, x, h0, c0, w_ih, w_hh, b_ih, b_hh, ctx.reverse)
            return tuple(_lstm_bptt(k, x, h0, c0, w_ih, w_hh, *states, g_out, g_h, g_c,
                                    ctx.reverse, need))
        x, h0, c0, w_ih, w_hh = (t._data for t in saved[:5])
        k = _ArrayKernel(ctx.xp)
        token = ignore_fp_errors()
        try:
            grads = _lstm_bptt(k, x, h0, c0, w_ih, w_hh, *ctx.arrays, g_out._data, g_h._data,
                               g_c._data, ctx.reverse, need)
        finally:
            restore_fp_errors(token)
        return tuple(None if g is None else Tensor._make(g) for g in grads)


def lstm_layer(x, h0, c0, w_ih, w_hh, b_ih, b_hh, reverse=False):
    """One LSTM layer-direction over x (T, B, I) as one graph node (no projection, no
    packed input: the caller checks). Returns (outputs (T, B, H), h_T, c_T)."""
    inputs = (x, h0, c0, w_ih, w_hh, b_ih, b_hh)
    arrays = tuple(None if t is None else t._data for t in inputs)
    return apply(LSTMLayer, inputs, arrays, reverse)
