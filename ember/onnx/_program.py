"""torch.onnx.ONNXProgram: what ``export(..., dynamo=True)`` returns."""
import os
import tempfile

import numpy as np

from ._save import LARGE_MODEL_BYTES, encode, initializer_bytes, save

__all__ = ["ONNXProgram"]


class ONNXProgram:
    """An exported ONNX model: ``save(path)`` writes it (its weights in ``path + ".data"``
    with external_data=True); calling it runs the model in onnxruntime, as PyTorch's does;
    ``model_proto`` parses it with the `onnx` package (which ember itself does not need);
    ``exported_program`` is the ember.export program it was written from."""

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
        import ember
        from ..utils._pytree import tree_leaves
        if self._session is None:
            self.initialize_inference_session()
        leaves = [a for a in tree_leaves((args, kwargs)) if a is not None]
        inputs = self._session.get_inputs()
        if len(leaves) != len(inputs):
            raise ValueError(f"the ONNX model takes {len(inputs)} inputs "
                             f"({[i.name for i in inputs]}), got {len(leaves)}")
        feed = {i.name: _host(a) for i, a in zip(inputs, leaves)}
        outputs = self._session.run(None, feed)
        return tuple(ember.from_numpy(np.asarray(o)) for o in outputs)

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
