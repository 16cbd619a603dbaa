"""torch.ScriptObject in checkpoints: the packed parameters of quantized modules.

PyTorch keeps some quantized weights in TorchBind objects (``torch.ScriptObject``) and
pickles each as ``torch.ScriptObject.__new__()`` followed by BUILD with the pair
``(state, qualified class name)``, the state being what the class's ``__getstate__`` gives:

  __torch__.torch.classes.quantized.LinearPackedParamsBase   (weight, bias): a qint8
        quantized weight (or a float one for float16 packing) and a float bias or None;
  __torch__.torch.classes.rnn.CellParamsBase   (kind, tensors, doubles, longs, packed):
        kind 'quantized_dynamic': tensors = [b_ih, b_hh], longs = [reduce_range],
        packed = [LinearPackedParamsBase of w_ih, of w_hh]; 'quantized_fp16': packed only;
  __torch__.torch.classes.quantized.EmbeddingPackedParamsBase   (version 1, [weight], [],
        [bit rate 8]): a quantized Embedding(Bag)'s quint8 table.

A dynamic quantized LSTM/GRU's state_dict holds CellParamsBase objects, its cells'
LinearPackedParamsBase objects; a whole saved quantized Linear holds one in its
LinearPackedParams, an Embedding(Bag) an EmbeddingPackedParamsBase. ember holds such an object as `ScriptObject` (the class name and
the state, nothing packed): format='torch' writes it as torch does (ember/_zipformat_write.py),
``load(weights_only=False)`` reads torch's (ember/_object_pickle.py; the weights-only
readers of both libraries refuse torch.ScriptObject), ember's own format stores its
state (ember/_ember_format.py), and the modules convert it to and from their weights.
"""
import pickle

LINEAR = "__torch__.torch.classes.quantized.LinearPackedParamsBase"
CELL = "__torch__.torch.classes.rnn.CellParamsBase"
EMBEDDING = "__torch__.torch.classes.quantized.EmbeddingPackedParamsBase"
KNOWN = (LINEAR, CELL, EMBEDDING)


class ScriptObject:
    """A TorchBind object of a checkpoint: its qualified class name and pickled state."""

    def __init__(self, qualified_name=LINEAR, state=None):
        self._qualified_name, self._state = qualified_name, state

    def __getstate__(self):
        return (self._state, self._qualified_name)

    def __setstate__(self, pair):
        if not (isinstance(pair, tuple) and len(pair) == 2 and pair[1] in KNOWN):
            name = pair[1] if isinstance(pair, tuple) and len(pair) == 2 else pair
            raise pickle.UnpicklingError(f"torch.ScriptObject of class {name!r}: ember reads "
                                         f"only {', '.join(KNOWN)}")
        self._state, self._qualified_name = pair

    def qualified_name(self):
        return self._qualified_name

    def __repr__(self):
        return f"<ember ScriptObject {self._qualified_name}>"


def linear(weight, bias):
    """The LinearPackedParamsBase object of (weight, bias)."""
    return ScriptObject(LINEAR, (weight, bias))


def cell(w_ih, b_ih, w_hh, b_hh, quantized, reduce_range=True):
    """The CellParamsBase object of a dynamic RNN cell (qint8 weights when `quantized`,
    else float16-precision float ones)."""
    packed = [linear(w_ih, b_ih), linear(w_hh, b_hh)]
    if quantized:
        return ScriptObject(CELL, ("quantized_dynamic", [b_ih, b_hh], [], [int(reduce_range)],
                                   packed))
    return ScriptObject(CELL, ("quantized_fp16", [], [], [], packed))


def linear_params(obj, where):
    """(weight, bias) of a LinearPackedParamsBase object (or of a (weight, bias) pair)."""
    if isinstance(obj, (tuple, list)) and len(obj) == 2:
        return tuple(obj)
    from ._tensor import Tensor
    if isinstance(obj, ScriptObject) and obj._qualified_name == LINEAR:
        state = obj._state
        if isinstance(state, (tuple, list)) and len(state) == 2 and \
                isinstance(state[0], Tensor) and (state[1] is None or
                                                  isinstance(state[1], Tensor)):
            return tuple(state)
    raise RuntimeError(f"{where}: expected packed linear parameters (weight, bias), got "
                       f"{obj!r}")


def cell_params(obj, where):
    """(w_ih, w_hh, b_ih, b_hh) of a CellParamsBase object (or of such a 4-tuple)."""
    if isinstance(obj, (tuple, list)) and len(obj) == 4:
        return tuple(obj)
    if isinstance(obj, ScriptObject) and obj._qualified_name == CELL:
        state = obj._state
        if isinstance(state, (tuple, list)) and len(state) == 5 and \
                isinstance(state[4], (tuple, list)) and len(state[4]) == 2:
            kind, tensors, _, _, packed = state
            (w_ih, b_ih), (w_hh, b_hh) = (linear_params(p, where) for p in packed)
            if kind == "quantized_dynamic" and isinstance(tensors, (list, tuple)) and \
                    len(tensors) == 2:
                b_ih, b_hh = tensors
                return w_ih, w_hh, b_ih, b_hh
            if kind == "quantized_fp16":
                return w_ih, w_hh, b_ih, b_hh
    raise RuntimeError(f"{where}: expected a dynamic quantized RNN cell's packed parameters, "
                       f"got {obj!r}")


def embedding_weight(obj, where):
    """The quint8 table of an EmbeddingPackedParamsBase object (or the table itself)."""
    from ._tensor import Tensor
    if isinstance(obj, Tensor):
        return obj
    if isinstance(obj, ScriptObject) and obj._qualified_name == EMBEDDING:
        state = obj._state
        if isinstance(state, (tuple, list)) and len(state) == 4 and \
                isinstance(state[1], (tuple, list)) and len(state[1]) == 1 and \
                isinstance(state[1][0], Tensor) and state[3] in ([8], (8,)):
            return state[1][0]
    raise RuntimeError(f"{where}: expected a quantized embedding table (8-bit), got {obj!r}")
