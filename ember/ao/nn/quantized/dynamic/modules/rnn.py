"""Dynamically quantized LSTM (torch.ao.nn.quantized.dynamic.LSTM): the float LSTM with
each gate's matrix product a dynamically quantized linear (qint8 weights, the input and
hidden state quantized per step; see linear.py):

    gates = linear_dynamic(h, W_hh, b_hh) + linear_dynamic(x, W_ih, b_ih)
    (the input projection for the whole sequence in one call, so one activation range; 7-bit
    activations as Linear's)
    i, f, g, o = sigmoid, sigmoid, tanh, sigmoid of the four chunks
    c' = f * c + i * g,  h' = o * tanh(c')

GRU, LSTMCell, GRUCell and RNNCell are not built (NotImplementedError)."""
import ember
from ember import nn

from ember.ao.nn.quantized.modules.utils import _quantize_weight
from .linear import linear_dynamic

__all__ = ["LSTM", "GRU", "LSTMCell", "GRUCell", "RNNCell"]

# PyTorch's quantized LSTM quantizes its activations to 7 bits (reduce_range), as Linear.
_REDUCE_RANGE = True


class LSTM(nn.Module):
    """LSTM with dynamically quantized qint8 weights (float input, float output)."""

    _FLOAT_MODULE = nn.LSTM

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, dtype=None):
        super().__init__()
        self.mode = "LSTM"
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bias
        self.batch_first = batch_first
        self.dropout = float(dropout)
        self.bidirectional = bidirectional
        self.dtype = ember.qint8 if dtype is None else dtype
        self.version = 2
        self.proj_size = 0
        # (layer, direction) -> (w_ih, b_ih, w_hh, b_hh), weights quantized
        self._cells = {}

    def _get_name(self):
        return "DynamicQuantizedLSTM"

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

    def _run_direction(self, x, h, c, cell, reverse):
        w_ih, b_ih, w_hh, b_hh = cell
        # The input projection of the whole sequence at once (one activation range), the
        # hidden state's per step, as PyTorch's CPU kernel does.
        projected = linear_dynamic(x, w_ih, b_ih, reduce_range=_REDUCE_RANGE)
        steps = range(x.shape[0] - 1, -1, -1) if reverse else range(x.shape[0])
        outputs = [None] * x.shape[0]
        for t in steps:
            gates = linear_dynamic(h, w_hh, b_hh, reduce_range=_REDUCE_RANGE) + projected[t]
            i, f, g, o = gates.chunk(4, 1)
            c = ember.sigmoid(f) * c + ember.sigmoid(i) * ember.tanh(g)
            h = ember.sigmoid(o) * ember.tanh(c)
            outputs[t] = h
        return ember.stack(outputs), h, c

    def forward(self, input, hx=None):
        batched = input.dim() == 3
        if not batched:
            input = input.unsqueeze(1)
        if self.batch_first and batched:
            input = input.transpose(0, 1)
        num_directions = 2 if self.bidirectional else 1
        batch = input.shape[1]
        if hx is None:
            zeros = ember.zeros(self.num_layers * num_directions, batch, self.hidden_size,
                                dtype=input.dtype, device=input.device)
            hx = (zeros, zeros)
        elif not batched:
            hx = (hx[0].unsqueeze(1), hx[1].unsqueeze(1))
        h_n, c_n = [], []
        layer_input = input
        for layer in range(self.num_layers):
            outs = []
            for direction in range(num_directions):
                k = layer * num_directions + direction
                out, h, c = self._run_direction(layer_input, hx[0][k], hx[1][k],
                                                self._cells[(layer, direction)],
                                                reverse=direction == 1)
                outs.append(out)
                h_n.append(h)
                c_n.append(c)
            layer_input = ember.cat(outs, dim=2) if num_directions == 2 else outs[0]
        output = layer_input
        if self.batch_first and batched:
            output = output.transpose(0, 1)
        h_n, c_n = ember.stack(h_n), ember.stack(c_n)
        if not batched:
            output, h_n, c_n = output.squeeze(1), h_n.squeeze(1), c_n.squeeze(1)
        return output, (h_n, c_n)

    def _weight_bias(self):
        """{'weight': {name: qweight}, 'bias': {name: bias}} (torch's names)."""
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

    def _cell_keys(self):
        directions = 2 if self.bidirectional else 1
        return [(layer, direction) for layer in range(self.num_layers)
                for direction in range(directions)]

    def _save_to_state_dict(self, destination, prefix, keep_vars):
        # torch's keys (one packed-parameters entry per layer and direction); each value is
        # the tuple (w_ih, w_hh, b_ih, b_hh) (torch stores an opaque packed object there).
        super()._save_to_state_dict(destination, prefix, keep_vars)
        for i, key in enumerate(self._cell_keys()):
            w_ih, b_ih, w_hh, b_hh = self._cells[key]
            destination[f"{prefix}_all_weight_values.{i}.param"] = (w_ih, w_hh, b_ih, b_hh)

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys,
                              unexpected_keys, error_msgs):
        for i, key in enumerate(self._cell_keys()):
            name = f"{prefix}_all_weight_values.{i}.param"
            if name not in state_dict:
                if strict:
                    missing_keys.append(name)
                continue
            value = state_dict.pop(name)
            if not (isinstance(value, (tuple, list)) and len(value) == 4):
                raise NotImplementedError(
                    f"{name}: ember reads the (w_ih, w_hh, b_ih, b_hh) tuples its own "
                    f"dynamic quantized LSTM saves, not torch's packed cell parameters")
            w_ih, w_hh, b_ih, b_hh = value
            self._cells[key] = (w_ih, b_ih, w_hh, b_hh)
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing_keys,
                                      unexpected_keys, error_msgs)

    @classmethod
    def from_float(cls, mod, use_precomputed_fake_quant=False):
        """Quantize each of mod's weight matrices with its own qconfig.weight observer."""
        if type(mod) not in (nn.LSTM,):
            raise AssertionError("nn.quantized.dynamic.LSTM.from_float only works for nn.LSTM")
        if not hasattr(mod, "qconfig"):
            raise AssertionError("Input float module must have qconfig defined")
        if mod.qconfig is not None and mod.qconfig.weight is not None:
            weight_observer_method = mod.qconfig.weight
        else:
            from ember.ao.quantization.qconfig import default_dynamic_qconfig
            weight_observer_method = default_dynamic_qconfig.weight
        dtype = weight_observer_method().dtype
        if dtype != ember.qint8:
            raise NotImplementedError(f"dynamic quantized LSTM with {dtype} weights is not "
                                      f"built in ember (qint8 only)")
        if getattr(mod, "proj_size", 0):
            raise NotImplementedError("dynamic quantized LSTM with proj_size is not built")
        qlstm = cls(mod.input_size, mod.hidden_size, mod.num_layers, mod.bias, mod.batch_first,
                    mod.dropout, mod.bidirectional, dtype)

        def quantized(w):
            observer = weight_observer_method()
            observer(w)
            return _quantize_weight(w.float(), observer)

        for layer in range(mod.num_layers):
            for direction in range(2 if mod.bidirectional else 1):
                suffix = "_reverse" if direction == 1 else ""
                w_ih = getattr(mod, f"weight_ih_l{layer}{suffix}")
                w_hh = getattr(mod, f"weight_hh_l{layer}{suffix}")
                b_ih = getattr(mod, f"bias_ih_l{layer}{suffix}", None) if mod.bias else None
                b_hh = getattr(mod, f"bias_hh_l{layer}{suffix}", None) if mod.bias else None
                qlstm._cells[(layer, direction)] = (
                    quantized(w_ih), None if b_ih is None else b_ih.detach().float(),
                    quantized(w_hh), None if b_hh is None else b_hh.detach().float())
        return qlstm


def _not_built(name):
    def refuse(*args, **kwargs):
        raise NotImplementedError(f"torch.ao.nn.quantized.dynamic.{name} is not built in ember "
                                  f"(only Linear and LSTM are); leave it in float")

    def __init__(self, *args, **kwargs):
        refuse()

    return type(name, (nn.Module,), {"__init__": __init__, "__module__": __name__,
                                      "from_float": staticmethod(refuse)})


GRU = _not_built("GRU")
LSTMCell = _not_built("LSTMCell")
GRUCell = _not_built("GRUCell")
RNNCell = _not_built("RNNCell")
