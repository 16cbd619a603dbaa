"""Dynamically quantized recurrent layers (torch.ao.nn.quantized.dynamic.LSTM, GRU,
LSTMCell, GRUCell, RNNCell): the float recurrences with each gate's matrix product a
dynamically quantized linear (qint8 weights, activations quantized on the fly to 7 bits;
see linear.py):

    LSTM:  gates = lin(h, W_hh, b_hh) + lin(x, W_ih, b_ih);  i, f, g, o = chunks
           c' = sigmoid(f) * c + sigmoid(i) * tanh(g),   h' = sigmoid(o) * tanh(c')
    GRU:   r = sigmoid(hr + ir),  z = sigmoid(hz + iz),  n = tanh(in + r * hn)
           h' = (h - n) * z + n
    RNN cell: h' = tanh or relu(lin(x, W_ih, b_ih) + lin(h, W_hh, b_hh))

The LSTM/GRU layers project the whole input sequence in one call (one activation range for
all steps), as PyTorch's kernel does; the cells project their one step. As in PyTorch, a
new module holds random placeholder weights (drawn from the generator in PyTorch's order)
until from_float or load_state_dict fills it.
"""
import numbers
import warnings

import numpy as np

import ember
from ember import nn, _script_object
from ember._ops.quantized_ops import sigmoid_float32
from ember.nn.utils.rnn import PackedSequence

from ember.ao.nn.quantized.modules.linear import _float32_scales
from ember.ao.nn.quantized.modules.utils import _quantize_weight
from . import linear
from .linear import linear_dynamic

__all__ = ["LSTM", "GRU", "LSTMCell", "GRUCell", "RNNCell", "PackedParameter"]

# PyTorch's quantized RNNs quantize their activations to 7 bits (reduce_range), as Linear.
_REDUCE_RANGE = True


def _lin(x, weight, bias):
    """One gate projection: dynamic quantized for qint8 weights, float for float16 ones."""
    if weight.is_quantized:
        return linear_dynamic(x, weight, bias, reduce_range=_REDUCE_RANGE)
    return nn.functional.linear(x, weight, bias)


def _check_weight_dtype(dtype):
    if dtype not in (ember.qint8, ember.float16):
        raise RuntimeError(f"Unsupported dtype for dynamic RNN quantization: {dtype}")


def _observer_method(mod):
    if mod.qconfig is not None and mod.qconfig.weight is not None:
        return mod.qconfig.weight
    from ember.ao.quantization.qconfig import default_dynamic_qconfig
    return default_dynamic_qconfig.weight


def _quantized(weight, observer_method, dtype):
    """weight quantized by a fresh observer (qint8), or kept in float16 precision."""
    if dtype == ember.qint8:
        observer = observer_method()
        observer(weight)
        return _quantize_weight(weight.float(), observer)
    return weight.detach().float().to(ember.float16).float()


def _packed(weight):
    """The weight as torch's packed parameters report it (qint8 scales in float32)."""
    return _float32_scales(weight) if weight.is_quantized else weight


def _detached(bias):
    return None if bias is None else bias.detach().float()


class PackedParameter(nn.Module):
    """One layer-direction's packed parameters in torch's layout (``_all_weight_values``
    of a whole LSTM/GRU torch saved); ember's layers keep the weights in ``_cells``."""

    def __init__(self, param):
        super().__init__()
        self.param = param

    def _save_to_state_dict(self, destination, prefix, keep_vars):
        super()._save_to_state_dict(destination, prefix, keep_vars)
        destination[prefix + "param"] = self.param

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys,
                              unexpected_keys, error_msgs):
        self.param = state_dict.pop(prefix + "param")
        super()._load_from_state_dict(state_dict, prefix, local_metadata, False, missing_keys,
                                      unexpected_keys, error_msgs)


class _RNNBase(nn.Module):
    """The multi-layer LSTM / GRU shared code: one (w_ih, b_ih, w_hh, b_hh) cell per layer
    and direction."""

    _FLOAT_MODULE = nn.RNNBase
    _version = 2
    _mode = None

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, dtype=None):
        super().__init__()
        dtype = ember.qint8 if dtype is None else dtype
        self.mode = self._mode
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bias
        self.batch_first = batch_first
        self.dropout = float(dropout)
        self.bidirectional = bidirectional
        self.dtype = dtype
        self.version = 2
        self.training = False
        self.proj_size = 0
        if (not isinstance(dropout, numbers.Number) or not 0 <= dropout <= 1
                or isinstance(dropout, bool)):
            raise ValueError("dropout should be a number in range [0, 1] representing the "
                             "probability of an element being zeroed")
        if dropout > 0 and num_layers == 1:
            warnings.warn(f"dropout option adds dropout after all but last recurrent layer, so "
                          f"non-zero dropout expects num_layers greater than 1, but got "
                          f"dropout={dropout} and num_layers={num_layers}", stacklevel=2)
        gate_size = (4 if self._mode == "LSTM" else 3) * hidden_size
        directions = 2 if bidirectional else 1
        self._cells = {}
        for layer in range(num_layers):
            for direction in range(directions):
                layer_input = input_size if layer == 0 else hidden_size * directions
                w_ih = ember.randn(gate_size, layer_input)
                w_hh = ember.randn(gate_size, hidden_size)
                b_ih = ember.randn(gate_size).to(ember.float)
                b_hh = ember.randn(gate_size).to(ember.float)
                if dtype == ember.qint8:
                    w_ih = ember.quantize_per_tensor(w_ih, 0.1, 0, ember.qint8)
                    w_hh = ember.quantize_per_tensor(w_hh, 0.1, 0, ember.qint8)
                self._cells[(layer, direction)] = (w_ih, b_ih, w_hh, b_hh)

    def _get_name(self):
        return f"DynamicQuantized{self._mode}"

    def extra_repr(self):
        s = "{input_size}, {hidden_size}"
        if self.num_layers != 1:
            s += ", num_layers={num_layers}"
        if self.bias is not True:
            s += ", bias={bias}"
        if self.batch_first is not False:
            s += ", batch_first={batch_first}"
        if self.dropout != 0:
            s += ", dropout={dropout}"
        if self.bidirectional is not False:
            s += ", bidirectional={bidirectional}"
        return s.format(**self.__dict__)

    def _step(self, projected_t, h, c, w_hh, b_hh):
        raise NotImplementedError

    def _run_direction(self, x, h, c, cell, reverse):
        w_ih, b_ih, w_hh, b_hh = cell
        if _on_arrays(x, h, c, w_ih, w_hh):
            return self._run_arrays(x, h, c, cell, reverse)
        projected = _lin(x, w_ih, b_ih)
        steps = range(x.shape[0] - 1, -1, -1) if reverse else range(x.shape[0])
        outputs = [None] * x.shape[0]
        for t in steps:
            h, c = self._step(projected[t], h, c, w_hh, b_hh)
            outputs[t] = h
        return ember.stack(outputs), h, c

    def _run_arrays(self, x, h, c, cell, reverse):
        """_run_direction on the float32 arrays of a qint8-weight layer: the weights read
        once per call, and each step's arithmetic on arrays (the same float32 operations in
        the same order; sigmoid and tanh give ember.sigmoid's and ember.tanh's values)."""
        w_ih, b_ih, w_hh, b_hh = cell
        ih = linear.dynamic_weight_parts(w_ih, b_ih)
        hh = linear.dynamic_weight_parts(w_hh, b_hh)
        xa = x.detach()._cpu_array()
        T, n = xa.shape[0], xa.shape[1]
        projected = linear.linear_dynamic_array(xa.reshape(T * n, -1), ih, _REDUCE_RANGE)
        projected = projected.reshape(T, n, -1)
        h = h.detach()._cpu_array()
        c = None if c is None else c.detach()._cpu_array()
        outputs = [None] * T
        for t in (range(T - 1, -1, -1) if reverse else range(T)):
            hidden = linear.linear_dynamic_array(h, hh, _REDUCE_RANGE)
            h, c = self._step_arrays(projected[t], hidden, h, c)
            outputs[t] = h
        return (ember.from_numpy(np.stack(outputs)), ember.from_numpy(h),
                None if c is None else ember.from_numpy(c))

    def _run(self, input, h0, c0):
        """(output, h_n, c_n) for a (T, N, input_size) input and (layers * dirs, N, H)
        initial states (c0 None for GRU)."""
        directions = 2 if self.bidirectional else 1
        h_n, c_n = [], []
        layer_input = input
        for layer in range(self.num_layers):
            outs = []
            for direction in range(directions):
                k = layer * directions + direction
                out, h, c = self._run_direction(layer_input, h0[k],
                                                None if c0 is None else c0[k],
                                                self._cells[(layer, direction)],
                                                reverse=direction == 1)
                outs.append(out)
                h_n.append(h)
                c_n.append(c)
            layer_input = ember.cat(outs, dim=2) if directions == 2 else outs[0]
        return layer_input, ember.stack(h_n), None if c0 is None else ember.stack(c_n)

    def _run_packed(self, data, batch_sizes, h0, c0):
        """(output data, h_n, c_n) over a PackedSequence's data (sum(batch_sizes),
        input_size) sorted by decreasing length: each layer's directions over the packed
        steps, their outputs concatenated along the features."""
        sizes = [int(b) for b in batch_sizes.tolist()]
        directions = 2 if self.bidirectional else 1
        h_n, c_n = [], []
        layer_input = data
        for layer in range(self.num_layers):
            outs = []
            for direction in range(directions):
                k = layer * directions + direction
                out, h, c = self._packed_direction(layer_input, sizes, h0[k],
                                                   None if c0 is None else c0[k],
                                                   self._cells[(layer, direction)],
                                                   reverse=direction == 1)
                outs.append(out)
                h_n.append(h)
                c_n.append(c)
            layer_input = ember.cat(outs, dim=1) if directions == 2 else outs[0]
        return layer_input, ember.stack(h_n), None if c0 is None else ember.stack(c_n)

    def _packed_direction(self, data, sizes, h0, c0, cell, reverse):
        """One direction over packed data, as PyTorch's packed layers: the input projected
        for all steps in one call (one activation range); step t runs the sizes[t] longest
        sequences, so a sequence's final state is its state after its own last step (the
        reverse direction starts each sequence from h0 at its last step)."""
        w_ih, b_ih, w_hh, b_hh = cell
        if _on_arrays(data, h0, c0, w_ih, w_hh):
            ih = linear.dynamic_weight_parts(w_ih, b_ih)
            hh = linear.dynamic_weight_parts(w_hh, b_hh)
            projected = linear.linear_dynamic_array(data.detach()._cpu_array(), ih,
                                                    _REDUCE_RANGE)
            h0 = h0.detach()._cpu_array()
            c0 = None if c0 is None else c0.detach()._cpu_array()

            def step(p, h, c):
                return self._step_arrays(p, linear.linear_dynamic_array(h, hh, _REDUCE_RANGE),
                                         h, c)
            cat, wrap = np.concatenate, ember.from_numpy
        else:
            projected = _lin(data, w_ih, b_ih)

            def step(p, h, c):
                return self._step(p, h, c, w_hh, b_hh)
            cat, wrap = ember.cat, (lambda t: t)
        outputs = []
        if not reverse:
            h, c, last, offset, finals = h0, c0, sizes[0], 0, []
            for b in sizes:
                if b < last:     # sequences b..last-1 ended at the previous step
                    finals.append((h[b:last], None if c is None else c[b:last]))
                    h, c = h[:b], None if c is None else c[:b]
                h, c = step(projected[offset:offset + b], h, c)
                offset, last = offset + b, b
                outputs.append(h)
            finals.append((h, c))
            finals.reverse()
            h = cat([f[0] for f in finals])
            c = None if c0 is None else cat([f[1] for f in finals])
        else:
            last, offset = sizes[-1], sum(sizes)
            h, c = h0[:last], None if c0 is None else c0[:last]
            for b in reversed(sizes):
                if b > last:     # sequences last..b-1 start (at their last step) here
                    h = cat([h, h0[last:b]])
                    c = None if c is None else cat([c, c0[last:b]])
                h, c = step(projected[offset - b:offset], h, c)
                offset, last = offset - b, b
                outputs.append(h)
            outputs.reverse()
        return wrap(cat(outputs)), wrap(h), None if c is None else wrap(c)

    def _forward_packed(self, input, hx, messages):
        """(output PackedSequence, states) of a PackedSequence input, as PyTorch's
        forward_packed: hx (in the caller's batch order) permuted to the sorted order, the
        final states permuted back."""
        data, batch_sizes, sorted_indices, unsorted_indices = input
        states = len(messages)
        if hx is None:
            batch = int(batch_sizes[0])
            hx = tuple(self._zeros(data, batch) for _ in range(states))
        else:
            hx = (hx,) if states == 1 else tuple(hx)
            if sorted_indices is not None:
                hx = tuple(h.index_select(1, sorted_indices) for h in hx)
        self._check_packed(data, batch_sizes, hx, messages)
        output, h_n, c_n = self._run_packed(data, batch_sizes, hx[0],
                                            hx[1] if states == 2 else None)
        finals = (h_n,) if states == 1 else (h_n, c_n)
        if unsorted_indices is not None:
            finals = tuple(f.index_select(1, unsorted_indices) for f in finals)
        packed = PackedSequence(output, batch_sizes, sorted_indices, unsorted_indices)
        return packed, finals[0] if states == 1 else finals

    def _check_packed(self, data, batch_sizes, hx, messages):
        if data.dim() != 2:
            raise RuntimeError(f"input must have 2 dimensions, got {data.dim()}")
        if self.input_size != data.size(-1):
            raise RuntimeError(f"input.size(-1) must be equal to input_size. Expected "
                               f"{self.input_size}, got {data.size(-1)}")
        expected = (self.num_layers * (2 if self.bidirectional else 1), int(batch_sizes[0]),
                    self.hidden_size)
        for h, message in zip(hx, messages):
            if tuple(h.size()) != expected:
                raise RuntimeError(message.format(expected, list(h.size())))

    def _prepare(self, input, hx, messages):
        """Time-major input and initial states (zeros when hx is None) after PyTorch's
        checks: a 3-D input (PyTorch's quantized RNNs take no unbatched input), its last
        size input_size, each state (layers * directions, batch, hidden_size)."""
        batch = input.size(0) if self.batch_first else input.size(1)
        states = len(messages)
        if hx is None:
            hx = tuple(self._zeros(input, batch) for _ in range(states))
        elif states == 1:
            hx = (hx,)
        if input.dim() != 3:
            raise RuntimeError(f"input must have 3 dimensions, got {input.dim()}")
        if self.input_size != input.size(-1):
            raise RuntimeError(f"input.size(-1) must be equal to input_size. Expected "
                               f"{self.input_size}, got {input.size(-1)}")
        expected = (self.num_layers * (2 if self.bidirectional else 1), batch,
                    self.hidden_size)
        for h, message in zip(hx, messages):
            if tuple(h.size()) != expected:
                raise RuntimeError(message.format(expected, list(h.size())))
        if self.batch_first:
            input = input.transpose(0, 1)
        return input, hx

    def _finish(self, output):
        return output.transpose(0, 1) if self.batch_first else output

    def _zeros(self, input, batch):
        directions = 2 if self.bidirectional else 1
        return ember.zeros(self.num_layers * directions, batch, self.hidden_size,
                           dtype=input.dtype, device=input.device)

    def _weight_bias(self):
        """{'weight': {name: weight}, 'bias': {name: bias}} (torch's parameter names)."""
        weights, biases = {}, {}
        for (layer, direction), (w_ih, b_ih, w_hh, b_hh) in self._cells.items():
            suffix = "_reverse" if direction == 1 else ""
            weights[f"weight_ih_l{layer}{suffix}"] = w_ih
            weights[f"weight_hh_l{layer}{suffix}"] = w_hh
            biases[f"bias_ih_l{layer}{suffix}"] = b_ih
            biases[f"bias_hh_l{layer}{suffix}"] = b_hh
        return {"weight": weights, "bias": biases}

    def get_weight(self):
        return self._weight_bias()["weight"]

    def get_bias(self):
        return self._weight_bias()["bias"]

    def __setstate__(self, state):
        """ember's pickles restore _cells; a whole LSTM/GRU torch saved holds torch's
        _all_weight_values (PackedParameter modules, layer-major), read into _cells."""
        super().__setstate__(state)
        modules = self.__dict__.get("_modules") or {}
        values = modules.pop("_all_weight_values", None)
        if values is not None and "_cells" not in self.__dict__:
            directions = 2 if self.bidirectional else 1
            cells = {}
            for i, packed in enumerate(values):
                w_ih, w_hh, b_ih, b_hh = _script_object.cell_params(
                    packed.param, f"_all_weight_values.{i}.param")
                cells[(i // directions, i % directions)] = (w_ih, b_ih, w_hh, b_hh)
            self._cells = cells

    def _save_to_state_dict(self, destination, prefix, keep_vars):
        # torch's keys (one packed-parameters entry per layer and direction); each value is
        # torch's CellParamsBase object, as its state pickles (ember/_script_object.py)
        super()._save_to_state_dict(destination, prefix, keep_vars)
        for i, key in enumerate(sorted(self._cells)):
            w_ih, b_ih, w_hh, b_hh = self._cells[key]
            quantized = self.dtype == ember.qint8
            destination[f"{prefix}_all_weight_values.{i}.param"] = _script_object.cell(
                _packed(w_ih), b_ih, _packed(w_hh), b_hh, quantized, _REDUCE_RANGE)

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys,
                              unexpected_keys, error_msgs):
        for i, key in enumerate(sorted(self._cells)):
            name = f"{prefix}_all_weight_values.{i}.param"
            if name not in state_dict:
                if strict:
                    missing_keys.append(name)
                continue
            w_ih, w_hh, b_ih, b_hh = _script_object.cell_params(state_dict.pop(name), name)
            self._cells[key] = (w_ih, b_ih, w_hh, b_hh)
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing_keys,
                                      unexpected_keys, error_msgs)

    @classmethod
    def from_float(cls, mod, use_precomputed_fake_quant=False):
        """Quantize each of mod's weight matrices with its own qconfig.weight observer."""
        if type(mod) not in (nn.LSTM, nn.GRU):
            raise AssertionError("nn.quantized.dynamic.RNNBase.from_float only works for "
                                 "nn.LSTM and nn.GRU")
        if not hasattr(mod, "qconfig"):
            raise AssertionError("Input float module must have qconfig defined")
        observer_method = _observer_method(mod)
        dtype = observer_method().dtype
        _check_weight_dtype(dtype)
        if getattr(mod, "proj_size", 0):
            raise NotImplementedError("dynamic quantized LSTM with proj_size is not built")
        target = LSTM if type(mod) is nn.LSTM else GRU
        qrnn = target(mod.input_size, mod.hidden_size, mod.num_layers, mod.bias,
                      mod.batch_first, mod.dropout, mod.bidirectional, dtype)
        if not mod.bias:   # (after the new module's random draws, as PyTorch)
            raise AssertionError("mod.bias must be True")
        for layer in range(mod.num_layers):
            for direction in range(2 if mod.bidirectional else 1):
                suffix = "_reverse" if direction == 1 else ""
                w_ih = getattr(mod, f"weight_ih_l{layer}{suffix}")
                w_hh = getattr(mod, f"weight_hh_l{layer}{suffix}")
                b_ih = getattr(mod, f"bias_ih_l{layer}{suffix}") if mod.bias else None
                b_hh = getattr(mod, f"bias_hh_l{layer}{suffix}") if mod.bias else None
                qrnn._cells[(layer, direction)] = (
                    _quantized(w_ih, observer_method, dtype), _detached(b_ih),
                    _quantized(w_hh, observer_method, dtype), _detached(b_hh))
        return qrnn


def _on_arrays(x, h, c, w_ih, w_hh):
    """Whether a direction runs on arrays: qint8 weights, float32 CPU input and states."""
    f32 = ember.float32
    return (w_ih.is_quantized and w_hh.is_quantized and x.dtype is f32 and h.dtype is f32
            and (c is None or c.dtype is f32) and x.device.type == "cpu"
            and h.device.type == "cpu" and (c is None or c.device.type == "cpu"))


def _sigmoid_chunks(a, H, which):
    """The sigmoids of the H-wide column chunks `which` of a (computed together: the
    function is elementwise), ember.sigmoid's values without its per-call dispatch."""
    with np.errstate(over="ignore"):   # (exp(-x) overflows to inf below -88.7: 0 out)
        s = sigmoid_float32(a)
    return [s[:, k * H:(k + 1) * H] for k in which]


def _tanh(a):
    """ember.tanh's values (NumPy's float32 tanh) of array a."""
    return np.tanh(a)


class LSTM(_RNNBase):
    """LSTM with dynamically quantized weights (float input, float output)."""

    _FLOAT_MODULE = nn.LSTM
    _mode = "LSTM"

    def _step(self, projected_t, h, c, w_hh, b_hh):
        gates = _lin(h, w_hh, b_hh) + projected_t
        i, f, g, o = gates.chunk(4, 1)
        c = ember.sigmoid(f) * c + ember.sigmoid(i) * ember.tanh(g)
        return ember.sigmoid(o) * ember.tanh(c), c

    @staticmethod
    def _step_arrays(projected_t, hidden, h, c):
        gates = hidden + projected_t
        H = h.shape[1]
        i, f, o = _sigmoid_chunks(gates, H, (0, 1, 3))
        c = f * c + i * _tanh(gates[:, 2 * H:3 * H])
        return o * _tanh(c), c

    def forward(self, input, hx=None):
        messages = ("Expected hidden[0] size {}, got {}", "Expected hidden[1] size {}, got {}")
        if isinstance(input, PackedSequence):
            return self._forward_packed(input, hx, messages)
        input, hx = self._prepare(input, hx, messages)
        output, h_n, c_n = self._run(input, hx[0], hx[1])
        return self._finish(output), (h_n, c_n)


class GRU(_RNNBase):
    """GRU with dynamically quantized weights (float input, float output)."""

    _FLOAT_MODULE = nn.GRU
    _mode = "GRU"

    def _step(self, projected_t, h, c, w_hh, b_hh):
        i_r, i_z, i_n = projected_t.chunk(3, 1)
        h_r, h_z, h_n = _lin(h, w_hh, b_hh).chunk(3, 1)
        reset = ember.sigmoid(h_r + i_r)
        update = ember.sigmoid(h_z + i_z)
        new = ember.tanh(i_n + h_n * reset)
        return (h - new) * update + new, None

    @staticmethod
    def _step_arrays(projected_t, hidden, h, c):
        H = h.shape[1]
        reset, update = _sigmoid_chunks(hidden[:, :2 * H] + projected_t[:, :2 * H], H, (0, 1))
        new = _tanh(projected_t[:, 2 * H:] + hidden[:, 2 * H:] * reset)
        return (h - new) * update + new, None

    def forward(self, input, hx=None):
        messages = ("Expected hidden size {}, got {}",)
        if isinstance(input, PackedSequence):
            return self._forward_packed(input, hx, messages)
        input, (hx,) = self._prepare(input, hx, messages)
        output, h_n, _ = self._run(input, hx, None)
        return self._finish(output), h_n


class _RNNCellBase(nn.Module):
    """One recurrent step with dynamically quantized weights."""

    _num_chunks = 4

    def __init__(self, input_size, hidden_size, bias=True, dtype=None):
        super().__init__()
        dtype = ember.qint8 if dtype is None else dtype
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.bias = bias
        self.weight_dtype = dtype
        size = self._num_chunks * hidden_size
        # random placeholders in PyTorch's draw order: biases first, then the weights
        if bias:
            self.bias_ih = ember.randn(size).to(ember.float)
            self.bias_hh = ember.randn(size).to(ember.float)
        else:
            self.bias_ih = self.bias_hh = None
        weight_ih = ember.randn(size, input_size)
        weight_hh = ember.randn(size, hidden_size)
        if dtype == ember.qint8:
            weight_ih = ember.quantize_per_tensor(weight_ih, 1.0, 0, ember.qint8)
            weight_hh = ember.quantize_per_tensor(weight_hh, 1.0, 0, ember.qint8)
        self._packed_weight_ih = (weight_ih, self.bias_ih)
        self._packed_weight_hh = (weight_hh, self.bias_hh)

    def extra_repr(self):
        s = "{input_size}, {hidden_size}"
        if self.bias is not True:
            s += ", bias={bias}"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            s += ", nonlinearity={nonlinearity}"
        return s.format(**self.__dict__)

    def check_forward_input(self, input):
        if input.size(1) != self.input_size:
            raise RuntimeError(f"input has inconsistent input_size: got {input.size(1)}, "
                               f"expected {self.input_size}")

    def check_forward_hidden(self, input, hx, hidden_label=""):
        if input.size(0) != hx.size(0):
            raise RuntimeError(f"Input batch size {input.size(0)} doesn't match "
                               f"hidden{hidden_label} batch size {hx.size(0)}")
        if hx.size(1) != self.hidden_size:
            raise RuntimeError(f"hidden{hidden_label} has inconsistent hidden_size: got "
                               f"{hx.size(1)}, expected {self.hidden_size}")

    def _zeros(self, input):
        return ember.zeros(input.size(0), self.hidden_size, dtype=input.dtype,
                           device=input.device)

    def _projections(self, input, hx):
        return _lin(input, *self._packed_weight_ih), _lin(hx, *self._packed_weight_hh)

    def _weight_bias(self):
        (w1, b1), (w2, b2) = self._packed_weight_ih, self._packed_weight_hh
        return {"weight": {"weight_ih": w1, "weight_hh": w2},
                "bias": {"bias_ih": b1, "bias_hh": b2}}

    def get_weight(self):
        return self._weight_bias()["weight"]

    def get_bias(self):
        return self._weight_bias()["bias"]

    def __setstate__(self, state):
        # a whole cell torch saved holds torch.ScriptObjects: ember keeps (weight, bias)
        super().__setstate__(state)
        for name in ("_packed_weight_ih", "_packed_weight_hh"):
            if name in self.__dict__:
                setattr(self, name, _script_object.linear_params(getattr(self, name), name))

    def _save_to_state_dict(self, destination, prefix, keep_vars):
        super()._save_to_state_dict(destination, prefix, keep_vars)
        for name in ("_packed_weight_ih", "_packed_weight_hh"):   # torch's packed objects
            weight, bias = getattr(self, name)
            destination[prefix + name] = _script_object.linear(_packed(weight), bias)

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys,
                              unexpected_keys, error_msgs):
        for name in ("_packed_weight_ih", "_packed_weight_hh"):
            value = state_dict.pop(prefix + name)
            setattr(self, name, _script_object.linear_params(value, prefix + name))
        super()._load_from_state_dict(state_dict, prefix, local_metadata, False, missing_keys,
                                      unexpected_keys, error_msgs)

    @classmethod
    def from_float(cls, mod, use_precomputed_fake_quant=False):
        if type(mod) not in (nn.LSTMCell, nn.GRUCell, nn.RNNCell):
            raise AssertionError("nn.quantized.dynamic.RNNCellBase.from_float only works for "
                                 "nn.LSTMCell, nn.GRUCell and nn.RNNCell")
        if not hasattr(mod, "qconfig"):
            raise AssertionError("Input float module must have qconfig defined")
        observer_method = _observer_method(mod)
        dtype = observer_method().dtype
        _check_weight_dtype(dtype)
        if type(mod) is nn.RNNCell:
            qcell = RNNCell(mod.input_size, mod.hidden_size, bias=mod.bias,
                            nonlinearity=mod.nonlinearity, dtype=dtype)
        else:
            target = LSTMCell if type(mod) is nn.LSTMCell else GRUCell
            qcell = target(mod.input_size, mod.hidden_size, bias=mod.bias, dtype=dtype)
        if not mod.bias:
            raise AssertionError("mod.bias must be True")
        qcell._packed_weight_ih = (_quantized(mod.weight_ih, observer_method, dtype),
                                   _detached(mod.bias_ih))
        qcell._packed_weight_hh = (_quantized(mod.weight_hh, observer_method, dtype),
                                   _detached(mod.bias_hh))
        return qcell


class LSTMCell(_RNNCellBase):
    """LSTMCell with dynamically quantized weights: (h', c') = cell(x, (h, c))."""

    _num_chunks = 4

    def _get_name(self):
        return "DynamicQuantizedLSTMCell"

    def forward(self, input, hx=None):
        self.check_forward_input(input)
        if hx is None:
            hx = (self._zeros(input), self._zeros(input))
        self.check_forward_hidden(input, hx[0], "[0]")
        self.check_forward_hidden(input, hx[1], "[1]")
        projected, hidden = self._projections(input, hx[0])
        i, f, g, o = (hidden + projected).chunk(4, 1)
        c = ember.sigmoid(f) * hx[1] + ember.sigmoid(i) * ember.tanh(g)
        return ember.sigmoid(o) * ember.tanh(c), c


class GRUCell(_RNNCellBase):
    """GRUCell with dynamically quantized weights: h' = cell(x, h)."""

    _num_chunks = 3

    def _get_name(self):
        return "DynamicQuantizedGRUCell"

    def forward(self, input, hx=None):
        self.check_forward_input(input)
        if hx is None:
            hx = self._zeros(input)
        self.check_forward_hidden(input, hx, "")
        projected, hidden = self._projections(input, hx)
        i_r, i_z, i_n = projected.chunk(3, 1)
        h_r, h_z, h_n = hidden.chunk(3, 1)
        reset = ember.sigmoid(h_r + i_r)
        update = ember.sigmoid(h_z + i_z)
        new = ember.tanh(i_n + h_n * reset)
        return (hx - new) * update + new


class RNNCell(_RNNCellBase):
    """Elman RNNCell with dynamically quantized weights: h' = tanh|relu(x W_ih^T + b_ih +
    h W_hh^T + b_hh)."""

    _num_chunks = 1

    def __init__(self, input_size, hidden_size, bias=True, nonlinearity="tanh", dtype=None):
        super().__init__(input_size, hidden_size, bias, dtype=dtype)
        self.nonlinearity = nonlinearity

    def _get_name(self):
        return "DynamicQuantizedRNNCell"

    def forward(self, input, hx=None):
        self.check_forward_input(input)
        if hx is None:
            hx = self._zeros(input)
        self.check_forward_hidden(input, hx, "")
        projected, hidden = self._projections(input, hx)
        if self.nonlinearity == "tanh":
            return ember.tanh(projected + hidden)
        if self.nonlinearity == "relu":
            return ember.relu(projected + hidden)
        raise RuntimeError(f"Unknown nonlinearity: {self.nonlinearity}")
