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


class _ArraySteps:
    """One result per time step, written in place into one (T, *shape) array: `slot(t)` is
    the view an op writes step t's result into, `keep` has nothing left to do, and `all`
    is every step at once without a copy (what stacking the steps would give)."""

    def __init__(self, all):
        self.all = all

    def slot(self, t):
        return self.all[t]

    def keep(self, t, value):
        pass   # value was written into slot(t)

    def __getitem__(self, t):
        return self.all[t]


class _TensorSteps:
    """One Tensor per time step (ops on Tensors make new ones: no slots to write into)."""

    def __init__(self, T):
        self.items = [None] * T

    def slot(self, t):
        return None

    def keep(self, t, value):
        self.items[t] = value

    def __getitem__(self, t):
        return self.items[t]

    @property
    def all(self):
        from .joining import stack
        return stack(self.items, 0)


class _ArrayKernel:
    """The few functions the recurrence needs, on arrays of namespace `xp`. An `out`
    argument is the slot of a step's result (see _ArraySteps): the result is written there."""

    def __init__(self, xp):
        self.xp = xp

    def steps(self, T, shape, like):
        return _ArraySteps(self.xp.empty((T,) + shape, like.dtype))

    def sigmoid(self, x, out=None):
        # exp(-x) overflows to inf for x below about -88 (float32), giving 1 / inf = 0, the
        # correctly rounded result or its neighbour; the caller silences the overflow warning.
        # divide(1, e) rather than reciprocal(e): the same correctly rounded quotient, and
        # NumPy's float32 reciprocal has no SIMD loop (4x slower on a (32, 512) block)
        xp = self.xp
        e = xp.negative(x)
        xp.exp(e, out=e)
        e += 1
        return xp.divide(1, e, out=e if out is None else out)

    def tanh(self, x, out=None):
        return self.xp.tanh(x, out=out)

    def mul(self, a, b, out=None):
        return self.xp.multiply(a, b, out=out)

    def cell(self, f, c, i, g, out=None):
        """f * c + i * g (the new cell state)."""
        xp = self.xp
        new = xp.multiply(f, c, out=out)
        new += xp.multiply(i, g)
        return new

    def shifted(self, first, rest, reverse):
        """The states each step started from, in time order, as one (T, ...) array: `first`
        (the initial state) before rest[:-1] in forward order, after rest[1:] in reverse."""
        xp = self.xp
        if reverse:
            return xp.concatenate((rest[1:], first[None]), 0)
        return xp.concatenate((first[None], rest[:-1]), 0)

    def input_gates(self, x, w_ih, b_ih, b_hh):
        """x W_ih^T + b_ih + b_hh for every step at once, the biases added in place in
        that order (one 2-D GEMM over all leading dims: NumPy loops a 3-D @ 2-D product
        per matrix)."""
        y = x.reshape(-1, x.shape[-1]) @ w_ih.T
        if b_ih is not None:
            y += b_ih
        if b_hh is not None:
            y += b_hh
        return y.reshape(x.shape[:-1] + (w_ih.shape[0],))

    def hidden_gates(self, h, w_hh, gi):
        """h W_hh^T + gi (one step)."""
        y = h @ w_hh.T
        y += gi
        return y

    def gate_activations(self, gates, H, out=None):
        """The activated gates [i f g o] of pre-activations `gates` (B, 4H): sigmoid over
        the whole block (fewer calls than one per gate), then tanh over g's slice."""
        act = self.sigmoid(gates, out)
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

    def gate_grads(self, pairs, deriv, out=None):
        """[a0 b0, a1 b1, a2 b2, a3 b3] * deriv for the (a, b) `pairs`, products written
        into their slices of one block."""
        xp = self.xp
        if out is None:
            out = xp.empty_like(deriv)
        H = deriv.shape[-1] // 4
        for n, (a, b) in enumerate(pairs):
            xp.multiply(a, b, out=out[:, n * H:(n + 1) * H])
        out *= deriv
        return out


class _TensorKernel:
    """The same functions on ember Tensors (differentiable; `out` slots are None)."""

    @staticmethod
    def steps(T, shape, like):
        return _TensorSteps(T)

    @staticmethod
    def sigmoid(x, out=None):
        return x.sigmoid()

    @staticmethod
    def tanh(x, out=None):
        return x.tanh()

    @staticmethod
    def mul(a, b, out=None):
        return a * b

    @staticmethod
    def cell(f, c, i, g, out=None):
        return f * c + i * g

    @staticmethod
    def shifted(first, rest, reverse):
        from .joining import cat
        if reverse:
            return cat([rest[1:], first.unsqueeze(0)], 0)
        return cat([first.unsqueeze(0), rest[:-1]], 0)

    @staticmethod
    def input_gates(x, w_ih, b_ih, b_hh):
        from .layers import linear
        y = linear(x, w_ih, b_ih)
        return y if b_hh is None else y + b_hh

    @staticmethod
    def hidden_gates(h, w_hh, gi):
        from .layers import linear
        return linear(h, w_hh) + gi

    @staticmethod
    def gate_activations(gates, H, out=None):
        from .joining import cat
        return cat([gates[:, :2 * H].sigmoid(), gates[:, 2 * H:3 * H].tanh(),
                    gates[:, 3 * H:].sigmoid()], -1)

    @staticmethod
    def gate_derivs(act, H):
        from .joining import cat
        i_f, g, o = act[..., :2 * H], act[..., 2 * H:3 * H], act[..., 3 * H:]
        return cat([i_f * (1 - i_f), 1 - g * g, o * (1 - o)], -1)

    @staticmethod
    def gate_grads(pairs, deriv, out=None):
        from .joining import cat
        return cat([a * b for a, b in pairs], -1) * deriv


def _steps(T, reverse):
    return range(T - 1, -1, -1) if reverse else range(T)


def _lstm_recurrence(k, x, h0, c0, w_ih, w_hh, b_ih, b_hh, reverse):
    """Run the LSTM over x (T, B, I) from (h0, c0) (B, H); kernel `k`.

        gates_t = x_t W_ih^T + b_ih + b_hh + h_{t-1} W_hh^T;  i, f, g, o = chunks of gates_t
        i, f, o = sigmoid(.), g = tanh(.)
        c_t = f * c_{t-1} + i * g;  h_t = o * tanh(c_t)

    Returns (hs, cs, acts, tcs), step stores (k.steps) indexed by t (in time order): h_t,
    c_t, the activated gates [i f g o] as one (B, 4H) block, and tanh(c_t). On arrays each
    step's results are computed straight into their (T, ...) arrays (no stacking later).
    """
    T = x.shape[0]
    B, H = h0.shape[-2], h0.shape[-1]
    gi = k.input_gates(x, w_ih, b_ih, b_hh)   # both biases added once for all steps
    hs, cs = k.steps(T, (B, H), gi), k.steps(T, (B, H), gi)
    acts, tcs = k.steps(T, (B, 4 * H), gi), k.steps(T, (B, H), gi)
    h, c = h0, c0
    for t in _steps(T, reverse):
        gates = k.hidden_gates(h, w_hh, gi[t])
        act = k.gate_activations(gates, H, acts.slot(t))
        i, f, g, o = act[:, :H], act[:, H:2 * H], act[:, 2 * H:3 * H], act[:, 3 * H:]
        c = k.cell(f, c, i, g, cs.slot(t))
        tc = k.tanh(c, tcs.slot(t))
        h = k.mul(o, tc, hs.slot(t))
        hs.keep(t, h)
        cs.keep(t, c)
        acts.keep(t, act)
        tcs.keep(t, tc)
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
    B, H = h0.shape[-2], h0.shape[-1]
    dh, dc = g_h, g_c
    order = list(_steps(T, reverse))
    act_all = acts.all
    derivs = k.gate_derivs(act_all, H)
    tc_all = tcs.all
    dcs = act_all[..., 3 * H:] * (1 - tc_all * tc_all)
    dgates = k.steps(T, (B, 4 * H), derivs)
    for n in range(T - 1, -1, -1):
        t = order[n]
        c_prev = cs[order[n - 1]] if n > 0 else c0   # the cell state step t started from
        act = acts[t]
        i, f, g = act[:, :H], act[:, H:2 * H], act[:, 2 * H:3 * H]
        dh = dh + g_out[t]
        dct = dc + dh * dcs[t]
        dgate = k.gate_grads(((dct, g), (dct, c_prev), (dct, i), (dh, tcs[t])), derivs[t],
                             dgates.slot(t))
        dgates.keep(t, dgate)
        dc = dct * f
        dh = dgate @ w_hh
    dG = dgates.all
    flat = dG.reshape(-1, dG.shape[-1])
    grads = [None] * 7
    if need[0]:
        grads[0] = (flat @ w_ih).reshape(x.shape)
    grads[1], grads[2] = dh, dc
    if need[3]:
        grads[3] = flat.T @ x.reshape(-1, x.shape[-1])
    if need[4]:
        grads[4] = flat.T @ k.shifted(h0, hs.all, reverse).reshape(-1, H)
    if need[5] or need[6]:
        db = flat.sum(0)
        grads[5], grads[6] = db, db
    return grads


class LSTMLayer(Op):
    """One LSTM layer-direction over a padded sequence: inputs x (T, B, I), h0, c0 (B, H),
    w_ih (4H, I), w_hh (4H, H), b_ih, b_hh (4H,) or None; outputs h_t for every step
    (T, B, H), h_T and c_T (the state after the last step processed).

    The outputs h_t are the hidden states backward reads, so output 0 is saved (with its
    version, as PyTorch saves it: writing into it in place makes backward raise)."""
    _name = "MkldnnRnnLayerBackward0"
    save_inputs = (0, 1, 2, 3, 4, 5, 6)
    save_output = (0,)

    @staticmethod
    def forward(ctx, x, h0, c0, w_ih, w_hh, b_ih, b_hh, reverse):
        k = _ArrayKernel(ctx.xp)
        token = ignore_fp_errors()
        try:
            hs, cs, acts, tcs = _lstm_recurrence(k, x, h0, c0, w_ih, w_hh, b_ih, b_hh, reverse)
        finally:
            restore_fp_errors(token)
        ctx.reverse = reverse
        ctx.arrays = (cs, acts, tcs)
        last = 0 if reverse else x.shape[0] - 1
        # h_T and c_T are copies: h_T's memory is also output 0's, c_T's backward reads
        return hs.all, hs[last].copy(), cs[last].copy()

    @staticmethod
    def backward(ctx, g_out, g_h, g_c):
        need = ctx.needs_input_grad
        saved = ctx.saved_tensors
        if grad_mode.backward_on_tensors():
            # create_graph or tangents: the same computation on Tensors, so it can be differentiated
            x, h0, c0, w_ih, w_hh, b_ih, b_hh = saved[:7]
            k = _TensorKernel
            states = _lstm_recurrence(k, x, h0, c0, w_ih, w_hh, b_ih, b_hh, ctx.reverse)
            return tuple(_lstm_bptt(k, x, h0, c0, w_ih, w_hh, *states, g_out, g_h, g_c,
                                    ctx.reverse, need))
        x, h0, c0, w_ih, w_hh = (t._data for t in saved[:5])
        hs = _ArraySteps(saved[7]._data)
        k = _ArrayKernel(ctx.xp)
        token = ignore_fp_errors()
        try:
            grads = _lstm_bptt(k, x, h0, c0, w_ih, w_hh, hs, *ctx.arrays, g_out._data,
                               g_h._data, g_c._data, ctx.reverse, need)
        finally:
            restore_fp_errors(token)
        return tuple(None if g is None else Tensor._make(g) for g in grads)


def lstm_layer(x, h0, c0, w_ih, w_hh, b_ih, b_hh, reverse=False):
    """One LSTM layer-direction over x (T, B, I) as one graph node (no projection, no
    packed input: the caller checks). Returns (outputs (T, B, H), h_T, c_T)."""
    inputs = (x, h0, c0, w_ih, w_hh, b_ih, b_hh)
    arrays = tuple(None if t is None else t._data for t in inputs)
    return apply(LSTMLayer, inputs, arrays, reverse)
