"""The quantizable LSTM (torch.ao.nn.quantizable.LSTM / LSTMCell): nn.LSTM taken apart into
Linear layers, FloatFunctional arithmetic and gate activations, so that eager ``prepare`` can
put an observer after each of them and ``convert`` can swap them for quantized ones.

One step of a cell (gates in PyTorch's order i, f, g, o):

    gates = igates(x) + hgates(h)               Linear(in, 4H), Linear(H, 4H); FloatFunctional add
    i, f, g, o = sigmoid, sigmoid, tanh, sigmoid of the four chunks
    c' = f * c + i * g                          three FloatFunctionals (fgate_cx, igate_cgate,
                                                fgate_cx_igate_cgate)
    h' = o * tanh(c')                           FloatFunctional ogate_cy

``split_gates=True`` keeps one Linear / FloatFunctional per gate (ModuleDicts keyed input,
forget, cell, output) instead of chunking one 4H-wide result. A layer runs a cell over the
sequence (``_LSTMSingleLayer``), with a reversed twin when bidirectional (``_LSTMLayer``); the
LSTM stacks layers. Module names and state_dict keys are PyTorch's. The quantized model
(ember.ao.nn.quantized.LSTM) is this module after ``convert``.
"""
import numbers
import warnings

import ember
from ember import nn

__all__ = ["LSTMCell", "LSTM"]

_GATES = ("input", "forget", "cell", "output")


def _float_functional():
    # Imported here: ember.ao.nn.quantized imports this package (its LSTM derives from ours).
    from ember.ao.nn.quantized.modules.functional_modules import FloatFunctional
    return FloatFunctional()


class LSTMCell(nn.Module):
    r"""A quantizable LSTM cell: (x (N, input_dim), (h, c) (N, hidden_dim) each) -> (h', c').
    Without ``hidden`` the state starts at zeros (quantized with
    ``initial_hidden_state_qparams`` / ``initial_cell_state_qparams`` when x is quantized).
    Parameters live in ``igates`` / ``hgates`` (Linear layers); see the module docstring."""

    _FLOAT_MODULE = nn.LSTMCell
    __constants__ = ["split_gates"]

    def __init__(self, input_dim, hidden_dim, bias=True, device=None, dtype=None, *,
                 split_gates=False):
        factory = {"device": device, "dtype": dtype}
        super().__init__()
        self.input_size = input_dim
        self.hidden_size = hidden_dim
        self.bias = bias
        self.split_gates = split_gates
        if split_gates:
            self.igates = nn.ModuleDict()
            self.hgates = nn.ModuleDict()
            self.gates = nn.ModuleDict()
            for name in _GATES:
                self.igates[name] = nn.Linear(input_dim, hidden_dim, bias=bias, **factory)
                self.hgates[name] = nn.Linear(hidden_dim, hidden_dim, bias=bias, **factory)
                self.gates[name] = _float_functional()
        else:
            self.igates = nn.Linear(input_dim, 4 * hidden_dim, bias=bias, **factory)
            self.hgates = nn.Linear(hidden_dim, 4 * hidden_dim, bias=bias, **factory)
            self.gates = _float_functional()
        self.input_gate = nn.Sigmoid()
        self.forget_gate = nn.Sigmoid()
        self.cell_gate = nn.Tanh()
        self.output_gate = nn.Sigmoid()
        self.fgate_cx = _float_functional()
        self.igate_cgate = _float_functional()
        self.fgate_cx_igate_cgate = _float_functional()
        self.ogate_cy = _float_functional()
        self.initial_hidden_state_qparams = (1.0, 0)
        self.initial_cell_state_qparams = (1.0, 0)
        self.hidden_state_dtype = ember.quint8
        self.cell_state_dtype = ember.quint8

    def forward(self, x, hidden=None):
        if hidden is None or hidden[0] is None or hidden[1] is None:
            hidden = self.initialize_hidden(x.shape[0], x.is_quantized)
        hx, cx = hidden
        if self.split_gates:
            pre = {name: add.add(self.igates[name](x), self.hgates[name](hx))
                   for name, add in self.gates.items()}
            i, f, g, o = (pre[name] for name in _GATES)
        else:
            i, f, g, o = self.gates.add(self.igates(x), self.hgates(hx)).chunk(4, 1)
        i, f = self.input_gate(i), self.forget_gate(f)
        g, o = self.cell_gate(g), self.output_gate(o)
        cy = self.fgate_cx_igate_cgate.add(self.fgate_cx.mul(f, cx),
                                           self.igate_cgate.mul(i, g))
        hy = self.ogate_cy.mul(o, ember.tanh(cy))
        return hy, cy

    def initialize_hidden(self, batch_size, is_quantized=False):
        """Zero (h, c) of shape (batch_size, hidden_size); quantized with the cell's initial
        state qparams when ``is_quantized``."""
        h = ember.zeros((batch_size, self.hidden_size))
        c = ember.zeros((batch_size, self.hidden_size))
        if is_quantized:
            h_scale, h_zp = self.initial_hidden_state_qparams
            c_scale, c_zp = self.initial_cell_state_qparams
            h = ember.quantize_per_tensor(h, scale=h_scale, zero_point=h_zp,
                                          dtype=self.hidden_state_dtype)
            c = ember.quantize_per_tensor(c, scale=c_scale, zero_point=c_zp,
                                          dtype=self.cell_state_dtype)
        return h, c

    def _get_name(self):
        return "QuantizableLSTMCell"

    @classmethod
    def from_params(cls, wi, wh, bi=None, bh=None, split_gates=False):
        """A cell whose Linear layers take the weights wi (4H, in), wh (4H, H) and biases
        bi, bh (4H,) (both or neither); split_gates cuts them into the four gates."""
        if (bi is None) != (bh is None):
            raise AssertionError("bi and bh must both be None or both have values")
        cell = cls(input_dim=wi.shape[1], hidden_dim=wh.shape[1], bias=bi is not None,
                   split_gates=split_gates)
        for w, b, linears in ((wi, bi, cell.igates), (wh, bh, cell.hgates)):
            if split_gates:
                targets = list(linears.values())
                weights = w.chunk(4, dim=0)
                biases = b.chunk(4, dim=0) if b is not None else (None,) * 4
            else:
                targets, weights, biases = [linears], [w], [b]
            for linear, w_part, b_part in zip(targets, weights, biases):
                linear.weight = nn.Parameter(w_part)
                if b_part is not None:
                    linear.bias = nn.Parameter(b_part)
        return cell

    @classmethod
    def from_float(cls, other, use_precomputed_fake_quant=False, split_gates=False):
        """The quantizable cell holding nn.LSTMCell ``other``'s weights and its qconfig."""
        if type(other) is not cls._FLOAT_MODULE:
            raise AssertionError(f"Expected module type {cls._FLOAT_MODULE}, got {type(other)}")
        if not hasattr(other, "qconfig"):
            raise AssertionError("The float module must have 'qconfig'")
        observed = cls.from_params(other.weight_ih, other.weight_hh, other.bias_ih,
                                   other.bias_hh, split_gates=split_gates)
        observed.qconfig = other.qconfig
        observed.igates.qconfig = other.qconfig
        observed.hgates.qconfig = other.qconfig
        if split_gates:
            for linear in list(observed.igates.values()) + list(observed.hgates.values()):
                linear.qconfig = other.qconfig
        return observed


class _LSTMSingleLayer(nn.Module):
    """One direction of one layer: the cell run over x (T, N, in) -> (outputs (T, N, H),
    last (h, c))."""

    def __init__(self, input_dim, hidden_dim, bias=True, device=None, dtype=None, *,
                 split_gates=False):
        super().__init__()
        self.cell = LSTMCell(input_dim, hidden_dim, bias=bias, split_gates=split_gates,
                             device=device, dtype=dtype)

    def forward(self, x, hidden=None):
        if x.is_quantized:   # a converted cell: its time loop on the integers
            from ember.ao.nn.quantized.modules import _lstm_steps
            result = _lstm_steps.run(self.cell, x, hidden)
            if result is not None:
                return result
        outputs = []
        for t in range(x.shape[0]):
            hidden = self.cell(x[t], hidden)
            outputs.append(hidden[0])
        return ember.stack(outputs, 0), hidden

    @classmethod
    def from_params(cls, *args, **kwargs):
        cell = LSTMCell.from_params(*args, **kwargs)
        layer = cls(cell.input_size, cell.hidden_size, cell.bias, split_gates=cell.split_gates)
        layer.cell = cell
        return layer


class _LSTMLayer(nn.Module):
    """One layer, forward (``layer_fw``) and, when bidirectional, backward over the reversed
    sequence (``layer_bw``); the directions' outputs are concatenated on the feature dim and
    their states stacked on a new leading dim."""

    def __init__(self, input_dim, hidden_dim, bias=True, batch_first=False,
                 bidirectional=False, device=None, dtype=None, *, split_gates=False):
        factory = {"device": device, "dtype": dtype}
        super().__init__()
        self.batch_first = batch_first
        self.bidirectional = bidirectional
        self.layer_fw = _LSTMSingleLayer(input_dim, hidden_dim, bias=bias,
                                         split_gates=split_gates, **factory)
        if bidirectional:
            self.layer_bw = _LSTMSingleLayer(input_dim, hidden_dim, bias=bias,
                                             split_gates=split_gates, **factory)

    def forward(self, x, hidden=None):
        if self.batch_first:
            x = x.transpose(0, 1)
        hx, cx = (None, None) if hidden is None else hidden
        hidden_bw = None
        if self.bidirectional:
            # the state carries the two directions on its leading dim
            hx, hx_bw = (None, None) if hx is None else (hx[0], hx[1])
            cx, cx_bw = (None, None) if cx is None else (cx[0], cx[1])
            if hx_bw is not None and cx_bw is not None:
                hidden_bw = (hx_bw, cx_bw)
        hidden_fw = None if hx is None and cx is None else (hx, cx)
        result, hidden_fw = self.layer_fw(x, hidden_fw)
        if self.bidirectional and hasattr(self, "layer_bw"):
            result_bw, hidden_bw = self.layer_bw(x.flip(0), hidden_bw)
            result = ember.cat([result, result_bw.flip(0)], result.dim() - 1)
            if hidden_fw is None and hidden_bw is None:
                h = c = None
            elif hidden_fw is None or hidden_bw is None:
                h, c = hidden_bw if hidden_fw is None else hidden_fw
            else:
                h = ember.stack([hidden_fw[0], hidden_bw[0]], 0)
                c = ember.stack([hidden_fw[1], hidden_bw[1]], 0)
        else:
            h, c = hidden_fw
        if self.batch_first:
            result.transpose_(0, 1)
        return result, (h, c)

    @classmethod
    def from_float(cls, other, layer_idx=0, qconfig=None, **kwargs):
        """Layer ``layer_idx`` of nn.LSTM ``other`` (keyword arguments override its sizes and
        flags); there is no float twin of this class, this mirrors prepare."""
        if not hasattr(other, "qconfig") and qconfig is None:
            raise AssertionError("other must have qconfig or qconfig must be provided")
        settings = {name: kwargs.get(name, getattr(other, name)) for name in
                    ("input_size", "hidden_size", "bias", "batch_first", "bidirectional")}
        split_gates = kwargs.get("split_gates", False)
        layer = cls(settings["input_size"], settings["hidden_size"], settings["bias"],
                    settings["batch_first"], settings["bidirectional"],
                    split_gates=split_gates)
        layer.qconfig = getattr(other, "qconfig", qconfig)
        directions = [("layer_fw", "")] + ([("layer_bw", "_reverse")]
                                           if other.bidirectional else [])
        for attr, suffix in directions:
            params = [getattr(other, f"{kind}_l{layer_idx}{suffix}", None)
                      for kind in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
            setattr(layer, attr, _LSTMSingleLayer.from_params(*params, split_gates=split_gates))
        return layer


class LSTM(nn.Module):
    r"""A quantizable LSTM: nn.LSTM's arguments and call ((x, (h0, c0)) -> (out, (hn, cn)),
    batch_first, bidirectional, num_layers), built from ``layers`` (``_LSTMLayer``s).
    ``dropout`` is accepted but ignored (with a warning); the module starts in eval mode.
    Weights are reached per layer: ``lstm.layers[0].layer_fw.cell.igates.weight``."""

    _FLOAT_MODULE = nn.LSTM

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, device=None, dtype=None, *,
                 split_gates=False):
        factory = {"device": device, "dtype": dtype}
        super().__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bias
        self.batch_first = batch_first
        self.dropout = float(dropout)
        self.bidirectional = bidirectional
        self.training = False
        if (not isinstance(dropout, numbers.Number) or isinstance(dropout, bool)
                or not 0 <= dropout <= 1):
            raise ValueError("dropout should be a number in range [0, 1] representing the "
                             "probability of an element being zeroed")
        if dropout > 0:
            warnings.warn("dropout option for quantizable LSTM is ignored. If you are "
                          "training, please, use nn.LSTM version followed by `prepare` step.",
                          stacklevel=2)
            if num_layers == 1:
                warnings.warn("dropout option adds dropout after all but last recurrent "
                              "layer, so non-zero dropout expects num_layers greater than 1, "
                              f"but got dropout={dropout} and num_layers={num_layers}",
                              stacklevel=2)
        self.layers = nn.ModuleList(
            _LSTMLayer(input_size if idx == 0 else hidden_size, hidden_size, bias,
                       batch_first=False, bidirectional=bidirectional,
                       split_gates=split_gates, **factory)
            for idx in range(num_layers))

    def forward(self, x, hidden=None):
        if self.batch_first:
            x = x.transpose(0, 1)
        batch = x.size(1)
        directions = 2 if self.bidirectional else 1
        if hidden is None:
            zeros = ember.zeros(directions, batch, self.hidden_size, dtype=ember.float,
                                device=x.device)
            zeros.squeeze_(0)
            if x.is_quantized:
                zeros = ember.quantize_per_tensor(zeros, scale=1.0, zero_point=0,
                                                  dtype=x.dtype)
            states = [(zeros, zeros)] * self.num_layers
        elif isinstance(hidden[0], ember.Tensor):
            shape = (self.num_layers, directions, batch, self.hidden_size)
            hx, cx = hidden[0].reshape(shape), hidden[1].reshape(shape)
            states = [(hx[idx].squeeze(0), cx[idx].squeeze(0))
                      for idx in range(self.num_layers)]
        else:
            states = hidden    # one (h, c) per layer
        hs, cs = [], []
        for layer, state in zip(self.layers, states):
            x, (h, c) = layer(x, state)
            hs.append(h)
            cs.append(c)
        h_n, c_n = ember.stack(hs), ember.stack(cs)
        # fold the directions' dim into the layers' one
        h_n = h_n.reshape(-1, h_n.shape[-2], h_n.shape[-1])
        c_n = c_n.reshape(-1, c_n.shape[-2], c_n.shape[-1])
        if self.batch_first:
            x = x.transpose(0, 1)
        return x, (h_n, c_n)

    def _get_name(self):
        return "QuantizableLSTM"

    @classmethod
    def from_float(cls, other, qconfig=None, split_gates=False):
        """nn.LSTM ``other`` taken apart, its weights copied, and prepared (observers in
        eval mode, fake-quantizers through prepare_qat in training mode)."""
        from ember.ao.quantization.quantize import prepare, prepare_qat
        if not isinstance(other, cls._FLOAT_MODULE):
            raise AssertionError(f"Expected module type {cls._FLOAT_MODULE}, got {type(other)}")
        if not hasattr(other, "qconfig") and not qconfig:
            raise AssertionError("other must have qconfig or qconfig must be provided")
        observed = cls(other.input_size, other.hidden_size, other.num_layers, other.bias,
                       other.batch_first, other.dropout, other.bidirectional,
                       split_gates=split_gates)
        observed.qconfig = getattr(other, "qconfig", qconfig)
        for idx in range(other.num_layers):
            observed.layers[idx] = _LSTMLayer.from_float(other, idx, qconfig, batch_first=False,
                                                         split_gates=split_gates)
        if other.training:
            observed.train()
            return prepare_qat(observed, inplace=True)
        observed.eval()
        return prepare(observed, inplace=True)

    @classmethod
    def from_observed(cls, other):
        raise NotImplementedError("It looks like you are trying to convert a non-quantizable "
                                  "LSTM module. Please, see the examples on quantizable LSTMs.")
