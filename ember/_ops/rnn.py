"""Fused recurrent layers: one graph node for one layer-direction of an LSTM, GRU or
Elman RNN over a whole padded sequence (PyTorch's CPU LSTM is one node too,
``MkldnnRnnLayerBackward0``).

Recording one node per time step and gate costs more Python than the arithmetic of a
small recurrent layer; here the whole recurrence runs on arrays and backward is
backpropagation through time on arrays: one GEMM per step each way (h W_hh^T forward,
dgates W_hh backward), the input projection and every weight gradient one GEMM over all
steps, and whatever does not depend on the incoming gradient computed for all steps at
once before the backward loop.

Each recurrence is written once (`_lstm_recurrence`, `_gru_recurrence`,
`_rnn_recurrence` and their `_bptt`s) over a small kernel namespace: `_ArrayKernel` runs
it on NumPy/CuPy arrays, writing each step's results into preallocated (T, ...) arrays,
`_TensorKernel` on ember Tensors. Backward with ``create_graph=True`` (or forward AD, vmap,
a dispatch mode) runs the same code on Tensors, recomputing the forward from the saved
inputs, so double backward works.

The array kernel computes sigmoid(x) as 0.5 tanh(x/2) + 0.5: the weight rows and biases
of the sigmoid gates are halved once per forward (exact: a power of two), so one tanh
call activates a step's whole gate block and two broadcast operations finish the
sigmoids (NumPy's exp-based sigmoid takes four passes and a reciprocal). The recurrent
weight is used as a contiguous W_hh^T: OpenBLAS's small-batch GEMM is a third slower with
the transposed operand.
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
    """The functions the recurrences need, on arrays of namespace `xp`. An `out` argument
    is a buffer the result is written into (a step's slot, see _ArraySteps, or a running
    gradient the caller owns); the result is returned."""

    def __init__(self, xp):
        self.xp = xp
        self._lstm_fix = None

    def steps(self, T, shape, like):
        return _ArraySteps(self.xp.empty((T,) + shape, like.dtype))

    def own(self, a):
        """A copy of an incoming gradient that later steps may overwrite."""
        return self.xp.array(a, copy=True)

    # -- weights: the sigmoid gates' rows halved (see the module docstring)

    def _gate_scale(self, n, sig, dtype):
        scale = self.xp.ones(n, dtype)
        for s in sig:
            scale[s] = 0.5
        return scale

    def weights(self, w, sig):
        """W^T as a contiguous (in, gates) array, the columns of the sigmoid gate slices
        `sig` halved."""
        wt = self.xp.empty((w.shape[1], w.shape[0]), w.dtype)
        if sig:
            self.xp.multiply(w.T, self._gate_scale(w.shape[0], sig, w.dtype), out=wt)
        else:
            wt[...] = w.T
        return wt

    def bias(self, a, b, sig):
        """a + b (either may be None), the sigmoid gate slices `sig` halved; None if both
        are."""
        if a is None and b is None:
            return None
        total = a if b is None else (b if a is None else a + b)
        if sig:
            return total * self._gate_scale(total.shape[0], sig, total.dtype)
        return total

    def input_gates(self, x, wt, b):
        """x W^T + b for every step at once (one 2-D GEMM over all leading dims: NumPy
        loops a 3-D @ 2-D product per matrix)."""
        y = x.reshape(-1, x.shape[-1]) @ wt
        if b is not None:
            y += b
        return y.reshape(x.shape[:-1] + (wt.shape[1],))

    # -- elementwise

    def mm(self, a, b, out=None):
        return self.xp.matmul(a, b, out=out)

    def add(self, a, b, out=None):
        return self.xp.add(a, b, out=out)

    def mul(self, a, b, out=None):
        return self.xp.multiply(a, b, out=out)

    def tanh(self, x, out=None):
        return self.xp.tanh(x, out=out)

    def relu(self, x, out=None):
        return self.xp.maximum(x, 0, out=out)

    def halved_sigmoid(self, x):
        """sigmoid of 2x, in place: x holds a sigmoid gate's halved pre-activation."""
        self.xp.tanh(x, out=x)
        x *= 0.5
        x += 0.5
        return x

    def shifted(self, first, rest, reverse):
        """The states each step started from, in time order, as one (T, ...) array: `first`
        (the initial state) before rest[:-1] in forward order, after rest[1:] in reverse."""
        xp = self.xp
        if reverse:
            return xp.concatenate((rest[1:], first[None]), 0)
        return xp.concatenate((first[None], rest[:-1]), 0)

    def cat(self, parts):
        return self.xp.concatenate(parts, -1)

    def sum0(self, a):
        return a.sum(0)

    # -- LSTM

    def lstm_gates(self, a, H):
        """Activate pre-activations `a` (B, 4H) [i f g o] in place: i, f, o hold halved
        pre-activations, so one tanh over the block and a scale and shift per column
        ([.5 .5 1 .5], [.5 .5 0 .5]) give the sigmoids and leave tanh(g)."""
        if self._lstm_fix is None:   # made on the first step (a kernel serves one layer)
            scale = self._gate_scale(4 * H, (slice(0, 2 * H), slice(3 * H, 4 * H)), a.dtype)
            self._lstm_fix = (scale, self.xp.subtract(1, scale))
        self.xp.tanh(a, out=a)
        a *= self._lstm_fix[0]
        a += self._lstm_fix[1]
        return a

    def lstm_cell(self, f, c, i, g, out=None):
        """f * c + i * g (the new cell state)."""
        new = self.xp.multiply(f, c, out=out)
        new += self.xp.multiply(i, g)
        return new

    def lstm_factors(self, act, c_prev, tc, H):
        """The factors of BPTT that do not depend on the incoming gradients, all steps at
        once: P = [g i(1-i), c_prev f(1-f), i (1-g^2), tanh(c) o(1-o)] (..., 4H) and
        o (1 - tanh(c)^2) (..., H)."""
        xp = self.xp
        P = xp.subtract(1, act)
        P *= act
        i, g, o = act[..., :H], act[..., 2 * H:3 * H], act[..., 3 * H:]
        Pg = P[..., 2 * H:3 * H]
        xp.multiply(g, g, out=Pg)
        xp.subtract(1, Pg, out=Pg)
        P[..., :H] *= g
        P[..., H:2 * H] *= c_prev
        Pg *= i
        P[..., 3 * H:] *= tc
        dc = xp.multiply(tc, tc)
        xp.subtract(1, dc, out=dc)
        dc *= o
        return P, dc

    def lstm_dgates(self, dc, dh, P, out):
        """[dc, dc, dc, dh] * P (one step), written into `out` (B, 4H)."""
        B, H = dc.shape
        xp = self.xp
        xp.multiply(P[:, :3 * H].reshape(B, 3, H), dc[:, None, :],
                    out=out[:, :3 * H].reshape(B, 3, H))
        xp.multiply(P[:, 3 * H:], dh, out=out[:, 3 * H:])
        return out

    def fma(self, a, b, c):
        """a + b * c in a new array."""
        r = self.xp.multiply(b, c)
        r += a
        return r

    # -- GRU

    def gru_gates(self, gh, gi, H):
        """r, z = sigmoid(gi + gh) over the first 2H columns of gh (B, 3H), in place (halved
        pre-activations); the last H columns (W_hn h + b_hn) are kept."""
        rz = gh[:, :2 * H]
        rz += gi[:, :2 * H]
        self.halved_sigmoid(rz)
        return gh

    def gru_candidate(self, gi_n, r, hn, out=None):
        """n = tanh(gi_n + r * hn)."""
        n = self.xp.multiply(r, hn, out=out)
        n += gi_n
        return self.xp.tanh(n, out=n)

    def gru_mix(self, n, z, h, out=None):
        """(1 - z) n + z h, as n + z (h - n)."""
        new = self.xp.subtract(h, n, out=out)
        new *= z
        new += n
        return new

    def gru_factors(self, gates, n, h_prev, H):
        """F = [hn r(1-r), (h_prev - n) z(1-z), (1-z)(1-n^2)] (..., 3H) for all steps."""
        xp = self.xp
        r, z, hn = gates[..., :H], gates[..., H:2 * H], gates[..., 2 * H:]
        F = xp.empty(gates.shape, gates.dtype)
        Fr, Fz, Fn = F[..., :H], F[..., H:2 * H], F[..., 2 * H:]
        rz = gates[..., :2 * H]
        xp.subtract(1, rz, out=F[..., :2 * H])
        F[..., :2 * H] *= rz
        Fr *= hn
        tmp = xp.subtract(h_prev, n)
        Fz *= tmp
        xp.multiply(n, n, out=tmp)
        xp.subtract(1, tmp, out=tmp)
        xp.subtract(1, z, out=Fn)
        Fn *= tmp
        return F

    def gru_dgates(self, dh, F, r, out):
        """[dn F_r, dh F_z, dn r, dn] with dn = dh F_n (one step), written into `out` (B, 4H):
        the gradients of [r, z] pre-activations, of W_hn h + b_hn, and of n's
        pre-activation."""
        H = dh.shape[1]
        xp = self.xp
        dn = xp.multiply(dh, F[:, 2 * H:], out=out[:, 3 * H:])
        xp.multiply(dn, F[:, :H], out=out[:, :H])
        xp.multiply(dh, F[:, H:2 * H], out=out[:, H:2 * H])
        xp.multiply(dn, r, out=out[:, 2 * H:3 * H])
        return out

    def gru_dh(self, dh, z, dgh, w_hh):
        """dh z + dgh W_hh (the gradient reaching the previous hidden state), into dh."""
        direct = self.xp.multiply(dh, z)
        self.xp.matmul(dgh, w_hh, out=dh)
        dh += direct
        return dh

    # -- RNN

    def rnn_deriv(self, hs, relu):
        """The activation's derivative from its output: 1 - h^2 (tanh), h > 0 (relu)."""
        if relu:
            return (hs > 0).astype(hs.dtype)
        d = self.xp.multiply(hs, hs)
        self.xp.subtract(1, d, out=d)
        return d


class _TensorKernel:
    """The same functions on ember Tensors (differentiable; `out` buffers are ignored, and
    no weight is halved: the sigmoids are sigmoids)."""

    @staticmethod
    def steps(T, shape, like):
        return _TensorSteps(T)

    @staticmethod
    def own(a):
        return a

    @staticmethod
    def weights(w, sig):
        return w.t()

    @staticmethod
    def bias(a, b, sig):
        if a is None:
            return b
        return a if b is None else a + b

    @staticmethod
    def input_gates(x, wt, b):
        y = x @ wt
        return y if b is None else y + b

    @staticmethod
    def mm(a, b, out=None):
        return a @ b

    @staticmethod
    def add(a, b, out=None):
        return a + b

    @staticmethod
    def mul(a, b, out=None):
        return a * b

    @staticmethod
    def tanh(x, out=None):
        return x.tanh()

    @staticmethod
    def relu(x, out=None):
        return x.relu()

    @staticmethod
    def shifted(first, rest, reverse):
        from .joining import cat
        if reverse:
            return cat([rest[1:], first.unsqueeze(0)], 0)
        return cat([first.unsqueeze(0), rest[:-1]], 0)

    @staticmethod
    def cat(parts):
        from .joining import cat
        return cat(list(parts), -1)

    @staticmethod
    def sum0(a):
        return a.sum(0)

    @staticmethod
    def lstm_gates(a, H):
        from .joining import cat
        return cat([a[:, :2 * H].sigmoid(), a[:, 2 * H:3 * H].tanh(), a[:, 3 * H:].sigmoid()],
                   -1)

    @staticmethod
    def lstm_cell(f, c, i, g, out=None):
        return f * c + i * g

    @staticmethod
    def lstm_factors(act, c_prev, tc, H):
        from .joining import cat
        i, f, g, o = (act[..., n * H:(n + 1) * H] for n in range(4))
        P = cat([g * i * (1 - i), c_prev * f * (1 - f), i * (1 - g * g), tc * o * (1 - o)], -1)
        return P, o * (1 - tc * tc)

    @staticmethod
    def lstm_dgates(dc, dh, P, out=None):
        from .joining import cat
        return cat([dc, dc, dc, dh], -1) * P

    @staticmethod
    def fma(a, b, c):
        return a + b * c

    @staticmethod
    def gru_gates(gh, gi, H):
        from .joining import cat
        return cat([(gh[:, :2 * H] + gi[:, :2 * H]).sigmoid(), gh[:, 2 * H:]], -1)

    @staticmethod
    def gru_candidate(gi_n, r, hn, out=None):
        return (gi_n + r * hn).tanh()

    @staticmethod
    def gru_mix(n, z, h, out=None):
        return n + z * (h - n)

    @staticmethod
    def gru_factors(gates, n, h_prev, H):
        from .joining import cat
        r, z, hn = gates[..., :H], gates[..., H:2 * H], gates[..., 2 * H:]
        return cat([hn * r * (1 - r), (h_prev - n) * z * (1 - z), (1 - z) * (1 - n * n)], -1)

    @staticmethod
    def gru_dgates(dh, F, r, out=None):
        from .joining import cat
        H = dh.shape[1]
        dn = dh * F[:, 2 * H:]
        return cat([dn * F[:, :H], dh * F[:, H:2 * H], dn * r, dn], -1)

    @staticmethod
    def gru_dh(dh, z, dgh, w_hh):
        return dh * z + dgh @ w_hh

    @staticmethod
    def rnn_deriv(hs, relu):
        if relu:
            return (hs > 0).to(hs.dtype)
        return 1 - hs * hs


def _steps(T, reverse):
    return range(T - 1, -1, -1) if reverse else range(T)


def _weight_grads(k, dgi, dgh, x, h_prev, w_ih, need, db_ih=None, db_hh=None):
    """The gradients over all steps at once from the pre-activation gradients dgi (of
    x W_ih^T + b_ih) and dgh (of h W_hh^T + b_hh), both (T, B, G):
        dx = dgi W_ih,  dW_ih = sum_t dgi_t^T x_t,  dW_hh = sum_t dgh_t^T h_{t-1},
        db_ih = sum dgi,  db_hh = sum dgh.
    Returns [dx, None, None, dW_ih, dW_hh, db_ih, db_hh] (slots 1, 2: the caller's h0, c0)."""
    gi = dgi.reshape(-1, dgi.shape[-1])
    gh = gi if dgh is dgi else dgh.reshape(-1, dgh.shape[-1])
    grads = [None] * 7
    if need[0]:
        grads[0] = (gi @ w_ih).reshape(x.shape)
    if need[3]:
        grads[3] = gi.T @ x.reshape(-1, x.shape[-1])
    if need[4]:
        grads[4] = gh.T @ h_prev.reshape(-1, h_prev.shape[-1])
    if need[5]:
        grads[5] = k.sum0(gi)
    if need[6]:
        grads[6] = grads[5] if dgh is dgi and need[5] else k.sum0(gh)
    return grads


# ---------------------------------------------------------------------------------- LSTM

def _lstm_recurrence(k, x, h0, c0, w_ih, w_hh, b_ih, b_hh, reverse):
    """Run the LSTM over x (T, B, I) from (h0, c0) (B, H); kernel `k`.

        gates_t = x_t W_ih^T + b_ih + b_hh + h_{t-1} W_hh^T;  i, f, g, o = chunks of gates_t
        i, f, o = sigmoid(.), g = tanh(.)
        c_t = f * c_{t-1} + i * g;  h_t = o * tanh(c_t)

    Returns (hs, cs, acts, tcs), step stores (k.steps) indexed by t (in time order): h_t,
    c_t, the activated gates [i f g o] as one (B, 4H) block, and tanh(c_t).
    """
    T = x.shape[0]
    B, H = h0.shape[-2], h0.shape[-1]
    sig = (slice(0, 2 * H), slice(3 * H, 4 * H))
    w_hh_t = k.weights(w_hh, sig)
    gi = k.input_gates(x, k.weights(w_ih, sig), k.bias(b_ih, b_hh, sig))
    hs, cs = k.steps(T, (B, H), gi), k.steps(T, (B, H), gi)
    acts, tcs = k.steps(T, (B, 4 * H), gi), k.steps(T, (B, H), gi)
    h, c = h0, c0
    for t in _steps(T, reverse):
        a = k.mm(h, w_hh_t, acts.slot(t))
        a = k.add(a, gi[t], a)
        act = k.lstm_gates(a, H)
        i, f, g, o = act[:, :H], act[:, H:2 * H], act[:, 2 * H:3 * H], act[:, 3 * H:]
        c = k.lstm_cell(f, c, i, g, cs.slot(t))
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
    (the factors that do not depend on dh, dc computed for all steps at once first), then
    the weight gradients are sums over steps (`_weight_grads`). `need` says which of
    (x, h0, c0, w_ih, w_hh, b_ih, b_hh) need a gradient.
    """
    T = x.shape[0]
    B, H = h0.shape[-2], h0.shape[-1]
    order = list(_steps(T, reverse))
    act_all = acts.all
    P, dcs = k.lstm_factors(act_all, k.shifted(c0, cs.all, reverse), tcs.all, H)
    dgates = k.steps(T, (B, 4 * H), P)
    dh, dc = k.own(g_h), k.own(g_c)
    for n in range(T - 1, -1, -1):
        t = order[n]
        dh = k.add(dh, g_out[t], dh)
        dct = k.fma(dc, dh, dcs[t])
        dgate = k.lstm_dgates(dct, dh, P[t], dgates.slot(t))
        dgates.keep(t, dgate)
        dc = k.mul(dct, act_all[t][:, H:2 * H], dc)
        dh = k.mm(dgate, w_hh, dh)
    dG = dgates.all
    grads = _weight_grads(k, dG, dG, x, k.shifted(h0, hs.all, reverse), w_ih, need)
    grads[1], grads[2] = dh, dc
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


# ----------------------------------------------------------------------------------- GRU

def _gru_recurrence(k, x, h0, w_ih, w_hh, b_ih, b_hh, reverse):
    """Run the GRU over x (T, B, I) from h0 (B, H); kernel `k`.

        r = sigmoid(x W_ir^T + b_ir + h W_hr^T + b_hr)
        z = sigmoid(x W_iz^T + b_iz + h W_hz^T + b_hz)
        n = tanh(x W_in^T + b_in + r * (h W_hn^T + b_hn))
        h' = (1 - z) n + z h

    Returns (hs, gates, ns), step stores indexed by t: h_t, the block [r, z, h W_hn^T + b_hn]
    (B, 3H) and n.
    """
    T = x.shape[0]
    B, H = h0.shape[-2], h0.shape[-1]
    sig = (slice(0, 2 * H),)
    w_hh_t = k.weights(w_hh, sig)
    b_h = k.bias(b_hh, None, sig)
    gi = k.input_gates(x, k.weights(w_ih, sig), k.bias(b_ih, None, sig))
    hs, gates, ns = k.steps(T, (B, H), gi), k.steps(T, (B, 3 * H), gi), k.steps(T, (B, H), gi)
    h = h0
    for t in _steps(T, reverse):
        gh = k.mm(h, w_hh_t, gates.slot(t))
        if b_h is not None:
            gh = k.add(gh, b_h, gh)
        g = k.gru_gates(gh, gi[t], H)
        n = k.gru_candidate(gi[t][:, 2 * H:], g[:, :H], g[:, 2 * H:], ns.slot(t))
        h = k.gru_mix(n, g[:, H:2 * H], h, hs.slot(t))
        hs.keep(t, h)
        gates.keep(t, g)
        ns.keep(t, n)
    return hs, gates, ns


def _gru_bptt(k, x, h0, w_ih, w_hh, hs, gates, ns, g_out, g_h, reverse, need):
    """Backpropagation through time for `_gru_recurrence`. Per step, with dh the gradient
    reaching h_t:
        dn = dh (1-z) (1-n^2)     (of n's pre-activation)
        dr = dn (h W_hn^T + b_hn) r(1-r),   dz = dh (h_{t-1} - n) z(1-z)
        dhn = dn r                (of h W_hn^T + b_hn)
        dh_{t-1} = dh z + [dr, dz, dhn] W_hh
    the pre-activation gradients being [dr, dz, dn] for the input side, [dr, dz, dhn] for
    the hidden side (their factors without dh computed for all steps first)."""
    T = x.shape[0]
    B, H = h0.shape[-2], h0.shape[-1]
    order = list(_steps(T, reverse))
    g_all = gates.all
    h_prev = k.shifted(h0, hs.all, reverse)
    F = k.gru_factors(g_all, ns.all, h_prev, H)
    # per step [dr, dz, dhn, dn]: the hidden side's gradients are the first 3H columns
    dgates = k.steps(T, (B, 4 * H), F)
    dh = k.own(g_h)
    for n in range(T - 1, -1, -1):
        t = order[n]
        dh = k.add(dh, g_out[t], dh)
        g = g_all[t]
        dgate = k.gru_dgates(dh, F[t], g[:, :H], dgates.slot(t))
        dgates.keep(t, dgate)
        dh = k.gru_dh(dh, g[:, H:2 * H], dgate[:, :3 * H], w_hh)
    dG = dgates.all
    dgh = dG[..., :3 * H]
    dgi = k.cat((dG[..., :2 * H], dG[..., 3 * H:]))
    grads = _weight_grads(k, dgi, dgh, x, h_prev, w_ih, need)
    grads[1] = dh
    return grads


class _SavedStateLayer(Op):
    """A GRU or RNN layer-direction as one node. PyTorch builds these from per-step ops
    whose output is a stack of the hidden states, so the node carries the name a user
    sees on its output, ``StackBackward0``; and since that stack saves nothing, writing
    into the output in place is allowed: the hidden states backward reads are a private
    copy (ctx.arrays), not the output."""
    _name = "StackBackward0"

    @classmethod
    def run(cls, inputs, *params):
        arrays = tuple(None if t is None else t._data for t in inputs)
        return apply(cls, inputs, arrays, *params)


class GRULayer(_SavedStateLayer):
    """One GRU layer-direction: inputs x (T, B, I), h0 (B, H), w_ih (3H, I), w_hh (3H, H),
    b_ih, b_hh (3H,) or None; outputs h_t for every step (T, B, H) and h_T."""
    save_inputs = (0, 1, 2, 3, 4, 5)

    @staticmethod
    def forward(ctx, x, h0, w_ih, w_hh, b_ih, b_hh, reverse):
        k = _ArrayKernel(ctx.xp)
        token = ignore_fp_errors()
        try:
            states = _gru_recurrence(k, x, h0, w_ih, w_hh, b_ih, b_hh, reverse)
        finally:
            restore_fp_errors(token)
        ctx.reverse, ctx.arrays = reverse, states
        hs = states[0]
        return hs.all.copy(), hs[0 if reverse else x.shape[0] - 1].copy()

    @staticmethod
    def backward(ctx, g_out, g_h):
        need = ctx.needs_input_grad
        need = (need[0], need[1], False, need[2], need[3], need[4], need[5])
        saved = ctx.saved_tensors
        if grad_mode.backward_on_tensors():
            x, h0, w_ih, w_hh, b_ih, b_hh = saved
            k = _TensorKernel
            states = _gru_recurrence(k, x, h0, w_ih, w_hh, b_ih, b_hh, ctx.reverse)
            grads = _gru_bptt(k, x, h0, w_ih, w_hh, *states, g_out, g_h, ctx.reverse, need)
        else:
            x, h0, w_ih, w_hh = (t._data for t in saved[:4])
            k = _ArrayKernel(ctx.xp)
            token = ignore_fp_errors()
            try:
                grads = _gru_bptt(k, x, h0, w_ih, w_hh, *ctx.arrays, g_out._data, g_h._data,
                                  ctx.reverse, need)
            finally:
                restore_fp_errors(token)
            grads = [None if g is None else Tensor._make(g) for g in grads]
        del grads[2]   # the c0 slot
        return tuple(grads)


def gru_layer(x, h0, w_ih, w_hh, b_ih, b_hh, reverse=False):
    """One GRU layer-direction over x (T, B, I) as one graph node (no packed input: the
    caller checks). Returns (outputs (T, B, H), h_T)."""
    return GRULayer.run((x, h0, w_ih, w_hh, b_ih, b_hh), reverse)


# ----------------------------------------------------------------------------------- RNN

def _rnn_recurrence(k, x, h0, w_ih, w_hh, b_ih, b_hh, relu, reverse):
    """Run the Elman RNN over x (T, B, I) from h0 (B, H):
        h_t = act(x_t W_ih^T + b_ih + b_hh + h_{t-1} W_hh^T),  act = tanh or relu.
    Returns the step store of h_t."""
    T = x.shape[0]
    B, H = h0.shape[-2], h0.shape[-1]
    w_hh_t = k.weights(w_hh, ())
    gi = k.input_gates(x, k.weights(w_ih, ()), k.bias(b_ih, b_hh, ()))
    hs = k.steps(T, (B, H), gi)
    h = h0
    for t in _steps(T, reverse):
        pre = k.mm(h, w_hh_t, hs.slot(t))
        pre = k.add(pre, gi[t], pre)
        h = k.relu(pre, pre) if relu else k.tanh(pre, pre)
        hs.keep(t, h)
    return hs


def _rnn_bptt(k, x, h0, w_ih, w_hh, hs, g_out, g_h, relu, reverse, need):
    """Backpropagation through time for `_rnn_recurrence`: per step
        dpre_t = (dh + g_out_t) act'(h_t),   dh_{t-1} = dpre_t W_hh,
    act' = 1 - h^2 (tanh) or h > 0 (relu), computed for all steps first."""
    T = x.shape[0]
    B, H = h0.shape[-2], h0.shape[-1]
    order = list(_steps(T, reverse))
    D = k.rnn_deriv(hs.all, relu)
    dpres = k.steps(T, (B, H), D)
    dh = k.own(g_h)
    for n in range(T - 1, -1, -1):
        t = order[n]
        dh = k.add(dh, g_out[t], dh)
        dpre = k.mul(dh, D[t], dpres.slot(t))
        dpres.keep(t, dpre)
        dh = k.mm(dpre, w_hh, dh)
    dP = dpres.all
    grads = _weight_grads(k, dP, dP, x, k.shifted(h0, hs.all, reverse), w_ih, need)
    grads[1] = dh
    return grads


class RNNLayer(_SavedStateLayer):
    """One Elman RNN layer-direction (tanh or relu): inputs x (T, B, I), h0 (B, H),
    w_ih (H, I), w_hh (H, H), b_ih, b_hh (H,) or None; outputs h_t for every step (T, B, H)
    and h_T."""
    save_inputs = (0, 1, 2, 3, 4, 5)

    @staticmethod
    def forward(ctx, x, h0, w_ih, w_hh, b_ih, b_hh, relu, reverse):
        k = _ArrayKernel(ctx.xp)
        token = ignore_fp_errors()
        try:
            hs = _rnn_recurrence(k, x, h0, w_ih, w_hh, b_ih, b_hh, relu, reverse)
        finally:
            restore_fp_errors(token)
        ctx.relu, ctx.reverse, ctx.arrays = relu, reverse, hs
        return hs.all.copy(), hs[0 if reverse else x.shape[0] - 1].copy()

    @staticmethod
    def backward(ctx, g_out, g_h):
        need = ctx.needs_input_grad
        need = (need[0], need[1], False, need[2], need[3], need[4], need[5])
        saved = ctx.saved_tensors
        if grad_mode.backward_on_tensors():
            x, h0, w_ih, w_hh, b_ih, b_hh = saved
            k = _TensorKernel
            hs = _rnn_recurrence(k, x, h0, w_ih, w_hh, b_ih, b_hh, ctx.relu, ctx.reverse)
            grads = _rnn_bptt(k, x, h0, w_ih, w_hh, hs, g_out, g_h, ctx.relu, ctx.reverse,
                              need)
        else:
            x, h0, w_ih, w_hh = (t._data for t in saved[:4])
            k = _ArrayKernel(ctx.xp)
            token = ignore_fp_errors()
            try:
                grads = _rnn_bptt(k, x, h0, w_ih, w_hh, ctx.arrays, g_out._data, g_h._data,
                                  ctx.relu, ctx.reverse, need)
            finally:
                restore_fp_errors(token)
            grads = [None if g is None else Tensor._make(g) for g in grads]
        del grads[2]   # the c0 slot
        return tuple(grads)


def rnn_layer(x, h0, w_ih, w_hh, b_ih, b_hh, relu=False, reverse=False):
    """One Elman RNN layer-direction over x (T, B, I) as one graph node (tanh, or relu
    with `relu`). Returns (outputs (T, B, H), h_T)."""
    return RNNLayer.run((x, h0, w_ih, w_hh, b_ih, b_hh), relu, reverse)
