"""The time loop of a converted (static quantized) LSTM layer on integer arrays.

After ``convert`` a quantizable LSTM cell is made of quantized Linear layers, QFunctionals
and sigmoid/tanh modules on quantized tensors; running them module by module costs a dozen
module calls and quantized tensors per time step. When the cell is exactly that converted
cell (no hooks, quint8 per-tensor input and state), ``run`` steps it here instead, through
the same integer kernels the modules call (quantized_functional.linear_*,
functional_modules.add_ints / mul_8bit_ints, quantized_ops.float_op_vector/_scalar), with
the weights centred and the requantization constants computed once per call instead of once
per step, and sigmoid and tanh looked up in tables of their 256 results (one 8-bit integer
in, one out: the table is the kernel's integers).
The integers are those of the module path (tests/test_quant_lstm_steps_qk.py checks both
against PyTorch). Anything else (split gates, other module types, hooks, unbatched input,
qint8 state, bad parameters) returns None and the caller runs the modules, which also
raise PyTorch's errors.
"""
import numpy as np

import ember
from ember import _quantized as Q
from ember import nn
from ember._ops import quantized_functional as QF
from ember._ops import quantized_ops as QO
from ember.nn.modules import module as _module

from . import functional_modules as FM
from .linear import Linear

_SIGMOID = QO._fixed_qparams(ember.quint8, "sigmoid", symmetric=False)
_TANH = QO._fixed_qparams(ember.quint8, "tanh", symmetric=True)
_QUINT8 = (0, 255)


def _hooked(modules):
    if _module._global_forward_hooks or _module._global_forward_pre_hooks:
        return True
    return any(m._forward_pre_hooks or m._forward_hooks or m._backward_hooks
               or m._backward_pre_hooks or m._compiled_call_impl is not None
               for m in modules)


def _converted(cell):
    """Whether `cell` is a converted, unsplit quantizable LSTM cell without hooks."""
    f = FM.QFunctional
    kinds = {"igates": Linear, "hgates": Linear, "gates": f, "input_gate": nn.Sigmoid,
             "forget_gate": nn.Sigmoid, "cell_gate": nn.Tanh, "output_gate": nn.Sigmoid,
             "fgate_cx": f, "igate_cgate": f, "fgate_cx_igate_cgate": f, "ogate_cy": f}
    children = cell._modules
    if cell.split_gates or set(children) != set(kinds):
        return False
    if any(type(children[name]) is not kind for name, kind in kinds.items()):
        return False
    posts = [children[name].activation_post_process for name, kind in kinds.items()
             if kind is f]
    if any(type(p) is not nn.Identity for p in posts):
        return False
    return not _hooked([cell, *children.values(), *posts])


def _state(t, n, h):
    """(ints, scale, zero point) of a quint8 per-tensor state of shape (n, h), or None."""
    if type(t) is not Q.QuantizedTensor or t.dtype is not ember.quint8 or \
            t._qscheme is not Q.per_tensor_affine or tuple(t.shape) != (n, h):
        return None
    return Q.per_tensor_parts(t)


def _valid(scale, zero_point):
    return 0 <= zero_point <= 255 and np.isfinite(scale) and scale > 0


class _Linear:
    """One quantized Linear's constants for this call: the centred weight, and fbgemm's
    requantization constants per input scale (the input's, and the hidden state's)."""

    def __init__(self, mod):
        weight, bias = mod._weight_bias()
        self.parts = QF.linear_weight_parts(
            weight, QF._check_bias(bias, weight.shape[0], "quantized::linear"))
        self.scale, self.zero_point = float(mod.scale), int(mod.zero_point)
        self._constants = {}

    def __call__(self, ints, scale, zero_point):
        constants = self._constants.get(scale)
        if constants is None:
            constants = self._constants[scale] = QF.requantize_constants(
                scale, self.parts[1], self.parts[2], self.scale, 2, 1)
        acc = QF.linear_sums(ints, zero_point, self.parts)
        return QF.requantize_with(acc, *constants, self.zero_point)


class _Cell:
    """The converted cell's parameters, read once per call."""

    def __init__(self, cell):
        self.ih, self.hh = _Linear(cell.igates), _Linear(cell.hgates)
        self.hidden_size = cell.hidden_size
        self.qparams = {name: (float(getattr(cell, name).scale),
                               int(getattr(cell, name).zero_point))
                        for name in ("gates", "fgate_cx", "igate_cgate",
                                     "fgate_cx_igate_cgate", "ogate_cy")}

    def valid(self, c_scale):
        """Whether every output parameter is in range and every product's multiplier is
        finite (else the modules run, and take their own paths)."""
        q = self.qparams
        if not all(_valid(*p) for p in [*q.values(), (self.ih.scale, self.ih.zero_point),
                                        (self.hh.scale, self.hh.zero_point)]):
            return False
        multipliers = [FM.mul_multiplier(_SIGMOID[0], s, q["fgate_cx"][0])
                       for s in (c_scale, q["fgate_cx_igate_cgate"][0])]
        multipliers += [FM.mul_multiplier(_SIGMOID[0], _TANH[0], q[name][0])
                        for name in ("igate_cgate", "ogate_cy")]
        return bool(np.all(np.isfinite(multipliers)))

    def tables(self, n):
        """The activations as tables of their 256 results, which the kernels' integers are
        (elementwise functions of one 8-bit integer): sigmoid of the gates as its vector
        loop and as its scalar tail computes it, and the positions of each gate chunk's
        tail (the last (n * H) % 64 elements of the contiguous chunk) in the gates."""
        every = np.arange(256, dtype=np.uint8)
        gs, gz = self.qparams["gates"]
        cs, cz = self.qparams["fgate_cx_igate_cgate"]
        sig = (gs, gz, QO.sigmoid_float32, *_SIGMOID, ember.quint8)
        self.sigmoid = QO.float_op_vector(every, *sig)
        self.sigmoid_tail = QO.float_op_scalar(every, *sig)
        self.tanh_gates, self.tanh_cell = _tanh(every, gs, gz), _tanh(every, cs, cz)
        H = self.hidden_size
        flat = np.arange(n * H - (n * H) % QO._VECTOR_WIDTH, n * H)
        self.tail = (flat // H, flat % H)

    def step(self, x, x_scale, x_zp, h, c):
        """(h', c') of one step, each (ints, scale, zero point); x the (N, in) integers."""
        q, H = self.qparams, self.hidden_size
        gi = self.ih(x, x_scale, x_zp)
        gh = self.hh(h[0], h[1], h[2])
        gates = FM.add_ints(gi.reshape(-1), self.ih.scale, self.ih.zero_point, gh.reshape(-1),
                            self.hh.scale, self.hh.zero_point, *q["gates"],
                            ember.quint8).reshape(gi.shape)
        sig = self.sigmoid[gates]
        if self.tail[0].size:
            rows, cols = self.tail
            for k in (0, 1, 3):
                sig[rows, cols + k * H] = self.sigmoid_tail[gates[rows, cols + k * H]]
        i, f, o = sig[:, :H], sig[:, H:2 * H], sig[:, 3 * H:]
        g = self.tanh_gates[gates[:, 2 * H:3 * H]]
        fc = self._mul("fgate_cx", f, _SIGMOID, c)
        ig = self._mul("igate_cgate", i, _SIGMOID, (g, *_TANH))
        cs, cz = q["fgate_cx_igate_cgate"]
        cy = FM.add_ints(fc.reshape(-1), *q["fgate_cx"], ig.reshape(-1), *q["igate_cgate"],
                         cs, cz, ember.quint8).reshape(fc.shape)
        hy = self._mul("ogate_cy", o, _SIGMOID, (self.tanh_cell[cy], *_TANH))
        return (hy, *q["ogate_cy"]), (cy, cs, cz)

    def _mul(self, name, x, x_qparams, y):
        scale, zero_point = self.qparams[name]
        multiplier = FM.mul_multiplier(x_qparams[0], y[1], scale)
        return FM.mul_8bit_ints(x, x_qparams[1], y[0], y[2], multiplier, zero_point, _QUINT8)


def _tanh(ints, scale, zero_point):
    """quantized tanh's integers (output parameters 2/256, 128): quantize_per_tensor of
    tanh of the plainly dequantized values."""
    y = np.tanh(Q.dequantize_array(ints, scale, zero_point)).astype(np.float32)
    return Q.quantize_array(y, *_TANH, ember.quint8)


def run(cell, x, hidden):
    """(outputs (T, N, H), (h, c)) of the converted `cell` over quantized x (T, N, in), as
    _LSTMSingleLayer's loop gives them, or None where the modules must run."""
    if type(x) is not Q.QuantizedTensor or x.dtype is not ember.quint8 or \
            x._qscheme is not Q.per_tensor_affine or x.dim() != 3 or x.shape[0] == 0 or \
            x.shape[2] != cell.input_size or not _converted(cell):
        return None
    n, H = x.shape[1], cell.hidden_size
    if hidden is None or hidden[0] is None or hidden[1] is None:
        hidden = cell.initialize_hidden(n, True)
    h, c = _state(hidden[0], n, H), _state(hidden[1], n, H)
    if h is None or c is None:
        return None
    steps = _Cell(cell)
    if not steps.valid(c[1]):
        return None
    steps.tables(n)
    xs, x_scale, x_zp = Q.per_tensor_parts(x)
    outputs = []
    for t in range(xs.shape[0]):
        h, c = steps.step(xs[t], x_scale, x_zp, h, c)
        outputs.append(h[0])
    h_scale, h_zp = h[1], h[2]
    out = Q.per_tensor(np.stack(outputs), ember.quint8, h_scale, h_zp)
    return out, (Q.per_tensor(h[0], ember.quint8, h_scale, h_zp),
                 Q.per_tensor(c[0], ember.quint8, c[1], c[2]))
