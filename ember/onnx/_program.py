"""torch.onnx.ONNXProgram: what ``export(..., dynamo=True)`` returns."""
import os
import tempfile

import numpy as np

from ._save import LARGE_MODEL_BYTES, encode, initializer_bytes, save

__all__ = ["ONNXProgram"]


class ONNXProgram:
    """An exported ONNX model: ``save(path)`` writes it (its weights in ``path + ".data"``
    with external_data=True); calling it runs the model in onnxruntime, as PyTorch's does
    (``call_reference``: onnx's reference evaluator); ``model_proto`` parses it with the
    `onnx` package (which ember itself does not need); ``apply_weights``,
    ``rename_axes`` and ``optimize`` (nothing to do) as PyTorch's; ``exported_program`` is
    the ember.export program it was written from. (PyTorch's ``model``, an onnx_ir Model,
    and ``compute_values`` are not built.)"""

    def __init__(self, graph, exported_program=None):
        self._graph = graph
        self._bytes = None
        self._session = None
        self._tempdir = None
        self.exported_program = exported_program

    def _model_bytes(self):
        if self._bytes is None:
            self._bytes = encode(self._graph)
        return self._bytes

    @property
    def model_proto(self):
        try:
            import onnx
        except ImportError:
            raise ImportError("ONNXProgram.model_proto needs the onnx package "
                              "(pip install onnx); save(path) does not") from None
        return onnx.load_from_string(self._model_bytes())

    def save(self, destination, *, include_initializers=True, keep_initializers_as_inputs=False,
             external_data=None):
        """Write the model to `destination`. external_data=True (or a model whose weights
        pass 1.5 GiB) puts initializers of more than 256 bytes into ``destination + ".data"``;
        include_initializers=False leaves the weights out; keep_initializers_as_inputs
        lists them as graph inputs too."""
        save(self._graph, destination, include_initializers=include_initializers,
             keep_initializers_as_inputs=keep_initializers_as_inputs,
             external_data=bool(external_data))

    def optimize(self):
        """PyTorch's optimize() folds constants and drops redundant nodes with onnxscript's
        optimizer; ember's exporter already computed every value that does not depend on
        the model's inputs when it wrote the graph, so there is nothing left to do."""
        return None

    def apply_weights(self, state_dict):
        """Replace initializers by state_dict key with the given tensors' values; a key the
        model lacks warns and is skipped (as PyTorch's)."""
        import warnings
        from .errors import OnnxExporterWarning
        inits = self._graph.initializers
        for name, tensor in state_dict.items():
            if name not in inits:
                warnings.warn(f"Weight '{name}' not found in the model. Skipped applying.",
                              OnnxExporterWarning, stacklevel=2)
                continue
            array = _host(tensor)
            if array.shape != inits[name].shape or array.dtype != inits[name].dtype:
                raise ValueError(f"apply_weights: '{name}' is {inits[name].dtype} "
                                 f"{tuple(inits[name].shape)} in the model, got "
                                 f"{array.dtype} {tuple(array.shape)}")
            inits[name] = array
        self._changed()

    def rename_axes(self, rename_mapping):
        """Rename dynamic axes (dim_param names of the inputs and outputs):
        ``{"batch": "N"}``."""
        for old, new in rename_mapping.items():
            old = str(old)
            for entries in (self._graph.inputs, self._graph.outputs):
                for i, (value, shape) in enumerate(entries):
                    if shape is not None and old in shape:
                        entries[i] = (value, [new if d == old else d for d in shape])
        self._changed()

    def _changed(self):
        self._bytes = None
        self.release()

    def call_reference(self, *args, **kwargs):
        """Run the model with onnx's reference evaluator (onnx.reference); a tuple of
        tensors."""
        import onnx.reference
        evaluator = onnx.reference.ReferenceEvaluator(self.model_proto)
        names = [i.name for i in self.model_proto.graph.input]
        outputs = evaluator.run(None, self._feed(names, args, kwargs))
        return tuple(_tensor(o) for o in outputs)

    def _feed(self, names, args, kwargs):
        from ..utils._pytree import tree_leaves
        leaves = [a for a in tree_leaves((args, kwargs)) if a is not None]
        if len(leaves) != len(names):
            raise ValueError(f"the ONNX model takes {len(names)} inputs ({names}), "
                             f"got {len(leaves)}")
        return {n: _host(a) for n, a in zip(names, leaves)}

    def initialize_inference_session(self, initializer=None):
        """Start the onnxruntime session that ``__call__`` runs (CPU provider; a model past
        1.5 GiB of weights is saved to a temporary directory first). `initializer`: a
        function of the model (a path or bytes) returning an InferenceSession."""
        import onnxruntime as ort
        if initializer is None:
            def initializer(model):
                return ort.InferenceSession(model, providers=["CPUExecutionProvider"])
        model = None
        if initializer_bytes(self._graph) > LARGE_MODEL_BYTES:
            self._tempdir = tempfile.TemporaryDirectory(ignore_cleanup_errors=True)
            model = os.path.join(self._tempdir.name, "model.onnx")
            self.save(model, external_data=True)
        else:
            model = self._model_bytes()
        self._session = initializer(model)

    def release(self):
        """Drop the onnxruntime session (and any temporary files)."""
        self._session = None
        if self._tempdir is not None:
            self._tempdir.cleanup()
            self._tempdir = None

    def __call__(self, *args, **kwargs):
        """Run the ONNX model with onnxruntime on the arguments the model was exported with
        (tensors, numbers; None left out); returns a tuple of tensors."""
        if self._session is None:
            self.initialize_inference_session()
        names = [i.name for i in self._session.get_inputs()]
        outputs = self._session.run(None, self._feed(names, args, kwargs))
        return tuple(_tensor(o) for o in outputs)

    def __repr__(self):
        return f"ONNXProgram(<{len(self._model_bytes())} bytes of ONNX ModelProto>)"


def _host(value):
    """A model argument as onnxruntime takes it: an ndarray (numbers as 0-d arrays of
    PyTorch's dtypes: int64, float32, bool)."""
    from .._tensor import Tensor
    if isinstance(value, Tensor):
        return np.ascontiguousarray(value.detach().cpu().numpy())
    if isinstance(value, bool):
        return np.array(value)
    if isinstance(value, int):
        return np.array(value, np.int64)
    if isinstance(value, float):
        return np.array(value, np.float32)
    return np.asarray(value)


def _tensor(array):
    import ember
    return ember.from_numpy(np.array(array))
