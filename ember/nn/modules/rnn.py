"""RNN, LSTM, GRU (multi-layer, bidirectional, batch_first, dropout, proj_size,
PackedSequence inputs) and their cells.

Each layer-direction in float32/float64 runs as one fused node (ember/_ops/rnn.py: padded
or packed input, LSTM projections too); the rest (other dtypes, autocast) is built here
from matmuls and pointwise ops per step: the input projection of a whole layer is one
GEMM, the recurrence then needs only h @ W_hh^T per step. Parameter names and gate order
are PyTorch's: LSTM gates i, f, g, o; GRU gates r, z, n.
"""
import math

from ... import _dtype
from ..._autocast import is_active as _autocast_active, autocast_args
from ..._ops.creation import empty, zeros
from ..._ops.joining import cat, stack
from ..._ops.rnn import gru_layer, lstm_layer, rnn_layer
from ..._tensor import Tensor
from .. import init
from .. import functional as F
from ..parameter import Parameter
from ..utils.rnn import PackedSequence, check_packed_rows
from .module import Module

__all__ = ["RNNBase", "RNN", "LSTM", "GRU", "RNNCellBase", "RNNCell", "LSTMCell", "GRUCell"]

_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}
# dtypes the fused layers (ember/_ops/rnn.py) compute in directly (others take the
# per-step path)
_FUSED_DTYPES = (_dtype.float32, _dtype.float64)


def _lstm_step(gi, h, c, w_hh, b_hh, w_hr):
    g = gi + F.linear(h, w_hh, b_hh)
    i, f, gg, o = g.chunk(4, -1)
    c = f.sigmoid() * c + i.sigmoid() * gg.tanh()
    h = o.sigmoid() * c.tanh()
    if w_hr is not None:
        h = F.linear(h, w_hr)
    return h, c


def _gru_step(gi, h, w_hh, b_hh):
    gh = F.linear(h, w_hh, b_hh)
    ir, iz, inn = gi.chunk(3, -1)
    hr, hz, hn = gh.chunk(3, -1)
    r = (ir + hr).sigmoid()
    z = (iz + hz).sigmoid()
    n = (inn + r * hn).tanh()
    return (1 - z) * n + z * h


def _rnn_step(gi, h, w_hh, b_hh, relu):
    pre = gi + F.linear(h, w_hh, b_hh)
    return pre.relu() if relu else pre.tanh()


class RNNBase(Module):
    def __init__(self, mode, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, proj_size=0, device=None, dtype=None):
        super().__init__()
        self.mode, self.input_size, self.hidden_size = mode, input_size, hidden_size
        self.num_layers, self.bias, self.batch_first = num_layers, bias, batch_first
        self.dropout, self.bidirectional, self.proj_size = float(dropout), bidirectional, \
            proj_size
        if not isinstance(dropout, (int, float)) or not 0 <= dropout <= 1 or \
                isinstance(dropout, bool):
            raise ValueError("dropout should be a number in range [0, 1] representing the "
                             "probability of an element being zeroed")
        if dropout > 0 and num_layers == 1:
            import warnings
            warnings.warn(f"dropout option adds dropout after all but last recurrent layer, so "
                          f"non-zero dropout expects num_layers greater than 1, but got "
                          f"dropout={dropout} and num_layers={num_layers}")
        for name, value, kind in (("bias", bias, bool), ("batch_first", batch_first, bool),
                                  ("input_size", input_size, int)):
            if not isinstance(value, kind):
                raise TypeError(f"{name} should be of type {kind.__name__}, got: "
                                f"{type(value).__name__}")
        if input_size <= 0:
            raise ValueError("input_size must be greater than zero")
        if not isinstance(hidden_size, int):
            raise TypeError(f"hidden_size should be of type int, got: "
                            f"{type(hidden_size).__name__}")
        if hidden_size <= 0:
            raise ValueError("hidden_size must be greater than zero")
        if num_layers <= 0:
            raise ValueError("num_layers must be greater than zero")
        if proj_size < 0:
            raise ValueError("proj_size should be a positive integer or zero to disable "
                             "projections")
        if proj_size >= hidden_size:
            raise ValueError("proj_size has to be smaller than hidden_size")
        if proj_size and mode != "LSTM":
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        gate = _GATES[mode] * hidden_size
        dirs = 2 if bidirectional else 1
        real_hidden = proj_size if proj_size > 0 else hidden_size
        self._flat_weights_names = []
        for layer in range(num_layers):
            for d in range(dirs):
                layer_in = input_size if layer == 0 else real_hidden * dirs
                sfx = f"_l{layer}" + ("_reverse" if d == 1 else "")
                params = [("weight_ih" + sfx, (gate, layer_in)),
                          ("weight_hh" + sfx, (gate, real_hidden))]
                if bias:
                    params += [("bias_ih" + sfx, (gate,)), ("bias_hh" + sfx, (gate,))]
                if proj_size > 0:
                    params += [("weight_hr" + sfx, (proj_size, hidden_size))]
                for name, shape in params:
                    setattr(self, name, Parameter(empty(shape, device=device, dtype=dtype)))
                    self._flat_weights_names.append(name)
        self.reset_parameters()

    def reset_parameters(self):
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for w in self.parameters():
            init.uniform_(w, -stdv, stdv)

    @property
    def _flat_weights(self):
        return [getattr(self, n) for n in self._flat_weights_names]

    def flatten_parameters(self):
        pass

    def extra_repr(self):
        s = "{input_size}, {hidden_size}"
        if self.proj_size != 0:
            s += ", proj_size={proj_size}"
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

    def _weights(self, layer, d):
        sfx = f"_l{layer}" + ("_reverse" if d == 1 else "")
        get = lambda n: getattr(self, n + sfx) if hasattr(self, n + sfx) else None
        return get("weight_ih"), get("weight_hh"), get("bias_ih"), get("bias_hh"), \
            get("weight_hr")

    def _run_direction(self, x, h, c, weights, batch_sizes, reverse):
        """x: (T, B, F) padded, or packed rows with batch_sizes; returns outputs, h, c."""
        w_ih, w_hh, b_ih, b_hh, w_hr = weights
        if _autocast_active() and batch_sizes is None and w_hr is None and self.mode != "GRU":
            # PyTorch runs these on oneDNN's RNN layer, which CPU autocast lists as a
            # lower-precision op: x, h, c and the weights are cast (the per-step path
            # then computes in that dtype); GRU, packed input and projections take its
            # composed path, whose linears alone are autocast (as here)
            present = [t for t in (x, h, c, w_ih, w_hh, b_ih, b_hh) if t is not None]
            cast = iter(autocast_args("mkldnn_rnn_layer", *present))
            x, h, c, w_ih, w_hh, b_ih, b_hh = (None if t is None else next(cast)
                                               for t in (x, h, c, w_ih, w_hh, b_ih, b_hh))
        if x.shape[0] > 0 and x.dtype in _FUSED_DTYPES and h.dtype == x.dtype and \
                not _autocast_active():
            # one node per layer-direction (ember/_ops/rnn.py), padded or packed
            if self.mode == "LSTM":
                return lstm_layer(x, h, c, w_ih, w_hh, b_ih, b_hh, reverse, batch_sizes, w_hr)
            if self.mode == "GRU":
                return gru_layer(x, h, w_ih, w_hh, b_ih, b_hh, reverse, batch_sizes) + (None,)
            if self.mode != "LSTM":
                return rnn_layer(x, h, w_ih, w_hh, b_ih, b_hh, self.mode == "RNN_RELU",
                                 reverse, batch_sizes) + (None,)
        gi_all = F.linear(x, w_ih, b_ih)
        outs = []
        if batch_sizes is None:
            steps = range(x.shape[0] - 1, -1, -1) if reverse else range(x.shape[0])
            for t in steps:
                h, c = self._cell(gi_all[t], h, c, w_hh, b_hh, w_hr)
                outs.append(h)
            if reverse:
                outs.reverse()
            return stack(outs, 0), h, c
        # packed: step t touches the first batch_sizes[t] rows
        bs = [int(b) for b in batch_sizes]
        offsets = [0]
        for b in bs:
            offsets.append(offsets[-1] + b)
        steps = range(len(bs) - 1, -1, -1) if reverse else range(len(bs))
        rows = [None] * len(bs)
        B = h.shape[0]
        if reverse:
            # sequences start (in reverse) when they become active: begin from zero state
            h_cur, c_cur = h[:0], (c[:0] if c is not None else None)
            for t in steps:
                n = bs[t]
                k = h_cur.shape[0]
                if n > k:
                    h_cur = cat([h_cur, h[k:n]], 0)
                    if c is not None:
                        c_cur = cat([c_cur, c[k:n]], 0)
                h_cur, c_cur = self._cell(gi_all[offsets[t]:offsets[t + 1]], h_cur, c_cur, w_hh,
                                          b_hh, w_hr)
                rows[t] = h_cur
            return cat(rows, 0), h_cur, c_cur
        h_fin, c_fin = [None] * B, [None] * B
        h_cur, c_cur = h, c
        for t in steps:
            n = bs[t]
            if n < h_cur.shape[0]:
                for i in range(n, h_cur.shape[0]):
                    h_fin[i] = h_cur[i]
                    if c is not None:
                        c_fin[i] = c_cur[i]
                h_cur = h_cur[:n]
                c_cur = c_cur[:n] if c is not None else None
            h_cur, c_cur = self._cell(gi_all[offsets[t]:offsets[t + 1]], h_cur, c_cur, w_hh, b_hh,
                                      w_hr)
            rows[t] = h_cur
        for i in range(h_cur.shape[0]):
            h_fin[i] = h_cur[i]
            if c is not None:
                c_fin[i] = c_cur[i]
        return cat(rows, 0), stack(h_fin, 0), (stack(c_fin, 0) if c is not None else None)

    def _cell(self, gi, h, c, w_hh, b_hh, w_hr):
        if self.mode == "LSTM":
            return _lstm_step(gi, h, c, w_hh, b_hh, w_hr)
        if self.mode == "GRU":
            return _gru_step(gi, h, w_hh, b_hh), None
        return _rnn_step(gi, h, w_hh, b_hh, self.mode == "RNN_RELU"), None

    def forward(self, input, hx=None):
        name = {"RNN_TANH": "RNN", "RNN_RELU": "RNN"}.get(self.mode, self.mode)
        packed = isinstance(input, PackedSequence)
        dirs = 2 if self.bidirectional else 1
        real_hidden = self.proj_size if self.proj_size > 0 else self.hidden_size
        if packed:
            x, batch_sizes = input.data, input.batch_sizes._data.tolist()
            check_packed_rows(x, batch_sizes, "rnn")
            B = int(batch_sizes[0])
            unbatched = False
            if hx is not None and input.sorted_indices is not None:
                hx = self._permute_hidden(hx, input.sorted_indices)
        else:
            batch_sizes = None
            if input.dim() not in (2, 3):
                raise ValueError(f"{name}: Expected input to be 2D or 3D, got {input.dim()}D "
                                 f"instead")
            unbatched = input.dim() == 2
            x = input.unsqueeze(1) if unbatched else (input.transpose(0, 1) if self.batch_first
                                                       else input)
            B = x.shape[1]
        weight_dtype = self._weights(0, 0)[0].dtype   # (torch-level rnn functions: given)
        if x.dtype != weight_dtype and not _autocast_active():
            raise ValueError(f"RNN input dtype ({x.dtype}) does not match weight dtype "
                             f"({weight_dtype}). Convert input: input.to({weight_dtype}), or "
                             f"convert model: model.to({x.dtype})")
        if x.shape[-1] != self.input_size:
            raise RuntimeError(f"input.size(-1) must be equal to input_size. Expected "
                               f"{self.input_size}, got {x.shape[-1]}")
        L = self.num_layers * dirs
        if self.mode == "LSTM":
            if hx is None:
                h0 = zeros((L, B, real_hidden), dtype=x.dtype, device=x.device)
                c0 = zeros((L, B, self.hidden_size), dtype=x.dtype, device=x.device)
            else:
                h0, c0 = hx[0], hx[1]   # (a Tensor hx fails as PyTorch's, on hx[1])
                if unbatched:
                    if h0.dim() != 2 or c0.dim() != 2:
                        raise RuntimeError(f"For unbatched 2-D input, hx and cx should also be "
                                           f"2-D but got ({h0.dim()}-D, {c0.dim()}-D) tensors")
                    h0, c0 = h0.unsqueeze(1), c0.unsqueeze(1)
                self._check_hidden(h0, (L, B, real_hidden), "hidden[0]")
                self._check_hidden(c0, (L, B, self.hidden_size), "hidden[1]")
        else:
            c0 = None
            if hx is None:
                h0 = zeros((L, B, self.hidden_size), dtype=x.dtype, device=x.device)
            else:
                hx_dim = hx.dim()   # (a tuple hx fails here, as in PyTorch)
                if unbatched and hx_dim != 2:
                    raise RuntimeError(f"For unbatched 2-D input, hx should also be 2-D but got "
                                       f"{hx_dim}-D tensor")
                h0 = hx.unsqueeze(1) if unbatched else hx
                self._check_hidden(h0, (L, B, self.hidden_size))
        h_n, c_n = [], []
        layer_in = x
        for layer in range(self.num_layers):
            outs = []
            for d in range(dirs):
                idx = layer * dirs + d
                out, h, c = self._run_direction(layer_in, h0[idx],
                                                c0[idx] if c0 is not None else None,
                                                self._weights(layer, d), batch_sizes, d == 1)
                outs.append(out)
                h_n.append(h)
                if c is not None:
                    c_n.append(c)
            layer_in = cat(outs, -1) if dirs == 2 else outs[0]
            if self.dropout > 0 and self.training and layer < self.num_layers - 1:
                layer_in = F.dropout(layer_in, self.dropout, True)
        output = layer_in
        h_n = stack(h_n, 0)
        c_n = stack(c_n, 0) if c_n else None
        if packed:
            if input.unsorted_indices is not None:
                h_n = h_n[:, input.unsorted_indices]
                c_n = c_n[:, input.unsorted_indices] if c_n is not None else None
            output = PackedSequence(output, input.batch_sizes, input.sorted_indices,
                                    input.unsorted_indices)
        else:
            if unbatched:
                output = output.squeeze(1)
                h_n = h_n.squeeze(1)
                c_n = c_n.squeeze(1) if c_n is not None else None
            elif self.batch_first:
                output = output.transpose(0, 1)
        return (output, (h_n, c_n)) if self.mode == "LSTM" else (output, h_n)

    @staticmethod
    def _permute_hidden(hx, perm):
        if isinstance(hx, tuple):
            return tuple(h[:, perm] for h in hx)
        return hx[:, perm]

    @staticmethod
    def _check_hidden(h, expected, what="hidden"):
        if tuple(h.shape) != tuple(expected):
            raise RuntimeError(f"Expected {what} size {tuple(expected)}, got {list(h.shape)}")


class RNN(RNNBase):
    """Elman RNN: h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh) (or relu)."""

    def __init__(self, *args, **kwargs):
        nonlinearity = kwargs.pop("nonlinearity", "tanh")
        if len(args) > 3:
            nonlinearity = args[3]
            args = args[:3] + args[4:]
        if nonlinearity == "tanh":
            mode = "RNN_TANH"
        elif nonlinearity == "relu":
            mode = "RNN_RELU"
        else:
            raise ValueError(f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or "
                             f"'relu'.")
        self.nonlinearity = nonlinearity
        super().__init__(mode, *args, **kwargs)


class LSTM(RNNBase):
    """Long short-term memory; gates i, f, g, o; optional projection (proj_size)."""

    def __init__(self, *args, **kwargs):
        super().__init__("LSTM", *args, **kwargs)


class GRU(RNNBase):
    """Gated recurrent unit; gates r, z, n."""

    def __init__(self, *args, **kwargs):
        super().__init__("GRU", *args, **kwargs)


class RNNCellBase(Module):
    """The parameters every recurrent cell has: weight_ih (num_chunks * hidden_size,
    input_size), weight_hh (num_chunks * hidden_size, hidden_size) and, with `bias`, bias_ih
    and bias_hh (num_chunks * hidden_size,), all initialised U(-k, k), k = 1/sqrt(hidden_size).
    num_chunks is the number of gates: 1 (RNNCell), 4 (LSTMCell), 3 (GRUCell)."""

    def __init__(self, input_size, hidden_size, bias, num_chunks, device=None, dtype=None):
        super().__init__()
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bias
        g = num_chunks * hidden_size
        self.weight_ih = Parameter(empty((g, input_size), device=device, dtype=dtype))
        self.weight_hh = Parameter(empty((g, hidden_size), device=device, dtype=dtype))
        if bias:
            self.bias_ih = Parameter(empty(g, device=device, dtype=dtype))
            self.bias_hh = Parameter(empty(g, device=device, dtype=dtype))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self):
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for w in self.parameters():
            init.uniform_(w, -stdv, stdv)

    def extra_repr(self):
        s = "{input_size}, {hidden_size}"
        if "bias" in self.__dict__ and self.bias is not True:
            s += ", bias={bias}"
        if "nonlinearity" in self.__dict__ and self.nonlinearity != "tanh":
            s += ", nonlinearity={nonlinearity}"
        return s.format(**self.__dict__)

    def _prep(self, input, hx, name):
        if input.dim() not in (1, 2):
            raise ValueError(f"{name}: Expected input to be 1D or 2D, got {input.dim()}D instead")
        hiddens = {"hidden": hx} if name != "LSTMCell" or hx is None else \
            {"hx[0]": hx[0], "hx[1]": hx[1]}
        for what, h in hiddens.items():
            if h is not None and h.dim() not in (1, 2):
                raise ValueError(f"{name}: Expected {what} to be 1D or 2D, got {h.dim()}D "
                                 f"instead")
        if input.shape[-1] != self.input_size:
            raise RuntimeError(f"input has inconsistent input_size: got {input.shape[-1]} "
                               f"expected {self.input_size}")
        unbatched = input.dim() == 1
        x = input.unsqueeze(0) if unbatched else input
        return x, unbatched

    def _check_hidden(self, x, h, index):
        """PyTorch's checks of hidden state `index` (LSTMCell: 0 is h, 1 is c) against the
        (batched) input: the same batch size, then hidden_size features."""
        if x.shape[0] != h.shape[0]:
            raise RuntimeError(f"Input batch size {x.shape[0]} doesn't match hidden{index} batch "
                               f"size {h.shape[0]}")
        if h.shape[1] != self.hidden_size:
            raise RuntimeError(f"hidden{index} has inconsistent hidden_size: got {h.shape[1]}, "
                               f"expected {self.hidden_size}")


class _CellBase(RNNCellBase):
    """RNNCellBase with the cells' own signature; `_gates` is the number of chunks."""
    _gates = 1

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, self._gates, device, dtype)


class RNNCell(_CellBase):
    def __init__(self, input_size, hidden_size, bias=True, nonlinearity="tanh", device=None,
                 dtype=None):
        self.nonlinearity = nonlinearity
        super().__init__(input_size, hidden_size, bias, device, dtype)

    def forward(self, input, hx=None):
        x, unbatched = self._prep(input, hx, "RNNCell")
        if hx is None:
            h = zeros((x.shape[0], self.hidden_size), dtype=x.dtype, device=x.device)
        else:
            h = hx.unsqueeze(0) if unbatched else hx
            self._check_hidden(x, h, 0)
        out = _rnn_step(F.linear(x, self.weight_ih, self.bias_ih), h, self.weight_hh,
                        self.bias_hh, self.nonlinearity == "relu")
        return out.squeeze(0) if unbatched else out


class LSTMCell(_CellBase):
    _gates = 4

    def forward(self, input, hx=None):
        x, unbatched = self._prep(input, hx, "LSTMCell")
        if hx is None:
            z = zeros((x.shape[0], self.hidden_size), dtype=x.dtype, device=x.device)
            h, c = z, z
        else:
            h, c = hx
            if unbatched:
                h, c = h.unsqueeze(0), c.unsqueeze(0)
            self._check_hidden(x, h, 0)
            self._check_hidden(x, c, 1)
        h, c = _lstm_step(F.linear(x, self.weight_ih, self.bias_ih), h, c, self.weight_hh,
                          self.bias_hh, None)
        return (h.squeeze(0), c.squeeze(0)) if unbatched else (h, c)


class GRUCell(_CellBase):
    _gates = 3

    def forward(self, input, hx=None):
        x, unbatched = self._prep(input, hx, "GRUCell")
        if hx is None:
            h = zeros((x.shape[0], self.hidden_size), dtype=x.dtype, device=x.device)
        else:
            h = hx.unsqueeze(0) if unbatched else hx
            self._check_hidden(x, h, 0)
        out = _gru_step(F.linear(x, self.weight_ih, self.bias_ih), h, self.weight_hh,
                        self.bias_hh)
        return out.squeeze(0) if unbatched else out
