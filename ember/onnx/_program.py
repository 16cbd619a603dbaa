"""torch.onnx.ONNXProgram: what ``export(..., dynamo=True)`` returns."""
import os
import tempfile

import numpy as np

from ._save import EXTERNAL_MIN_BYTES, LARGE_MODEL_BYTES, encode, initializer_bytes, save

__all__ = ["ONNXProgram"]


class ONNXProgram:
    """An exported ONNX model: ``save(path)`` writes it (its weights in ``path + ".data"``
    with external_data=True); calling it runs the model in onnxruntime, as PyTorch's does
    (``call_reference``: onnx's reference evaluator); ``model_proto`` parses it with the
    `onnx` package (which ember itself does not need); ``apply_weights``,
    ``rename_axes``, ``compute_values`` and ``optimize`` (nothing to do) as PyTorch's;
    ``exported_program`` is the ember.export program it was written from."""

    def __init__(self, graph, exported_program=None):
        self._graph = graph
        self._bytes = None
        self._session = None
        self._tempdir = None
        self._ir = None         # the onnx_ir Model, once `model` was read
        self.exported_program = exported_program

    def _model_bytes(self):
        if self._ir is not None:        # (edits to `model` are kept)
            import onnx_ir
            return onnx_ir.serde.serialize_model(self._ir).SerializeToString()
        if self._bytes is None:
            self._bytes = encode(self._graph)
        return self._bytes

    @property
    def model(self):
        """The model as an onnx_ir Model (PyTorch's ONNXProgram.model; needs the onnx_ir
        package). Once read it is the program, as PyTorch's: model_proto, save, __call__
        and compute_values see the edits made to it."""
        if self._ir is None:
            try:
                import onnx
                import onnx_ir
            except ImportError:
                raise ImportError("ONNXProgram.model is an onnx_ir Model: it needs the "
                                  "onnx_ir package (pip install onnx-ir); model_proto needs "
                                  "only onnx, save(path) neither") from None
            self._ir = onnx_ir.serde.deserialize_model(
                onnx.load_from_string(self._model_bytes()))
            self.release()
        return self._ir

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
        if self._ir is not None:
            return self._save_ir(destination, include_initializers,
                                 keep_initializers_as_inputs, bool(external_data))
        save(self._graph, destination, include_initializers=include_initializers,
             keep_initializers_as_inputs=keep_initializers_as_inputs,
             external_data=bool(external_data))

    def _save_ir(self, destination, include_initializers, keep_initializers_as_inputs,
                 external_data):
        """save() once `model` was read: its ModelProto written with onnx, in the same
        layout (more than 256 bytes to ``destination + ".data"`` with external_data)."""
        import os
        import onnx
        proto = onnx.load_from_string(self._model_bytes())
        if keep_initializers_as_inputs:
            inputs = {i.name for i in proto.graph.input}
            proto.graph.input.extend(
                onnx.helper.make_tensor_value_info(t.name, t.data_type, list(t.dims))
                for t in proto.graph.initializer if t.name not in inputs)
        if not include_initializers:
            del proto.graph.initializer[:]
        if hasattr(destination, "write"):
            if external_data:
                raise TypeError("external data is written to a file beside the model: "
                                "the destination must be a file path, not a file object")
            destination.write(proto.SerializeToString())
            return
        kw = {}
        if external_data:
            kw = dict(save_as_external_data=True, all_tensors_to_one_file=True,
                      location=os.path.basename(os.fspath(destination)) + ".data",
                      size_threshold=EXTERNAL_MIN_BYTES)
        onnx.save_model(proto, os.fspath(destination), **kw)

    def _graph_edit(self, what):
        if self._ir is not None:
            raise NotImplementedError(f"ONNXProgram.{what} after `model` was read: ember "
                                      f"edits its own graph, not the onnx_ir Model; edit "
                                      f"`model` instead")

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
        self._graph_edit("apply_weights")
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
        self._graph_edit("rename_axes")
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

    def compute_values(self, value_names, args=(), kwargs=None):
        """The values of the named tensors of the model (graph inputs, initializers or any
        node's output: ``"linear"``, the name of the fx node that made it) when it runs on
        `args`, `kwargs` in onnxruntime: a tuple of tensors, in the order of
        `value_names` (as PyTorch's, which runs the model with those as its outputs)."""
        import onnx
        import onnxruntime as ort
        proto = onnx.load_from_string(self._model_bytes())
        known = {v.name: v for v in onnx.shape_inference.infer_shapes(proto).graph.value_info}
        for v in list(proto.graph.input) + list(proto.graph.output):
            known[v.name] = v
        for t in proto.graph.initializer:
            known.setdefault(t.name, onnx.helper.make_tensor_value_info(
                t.name, t.data_type, list(t.dims)))
        for name in value_names:
            if name not in known:
                raise ValueError(f"Value '{name}' not found in the model. Please provide a "
                                 f"valid value name.")
        del proto.graph.output[:]
        for name in value_names:
            info = onnx.ValueInfoProto()
            info.CopyFrom(known[name])
            proto.graph.output.append(info)
        session = ort.InferenceSession(proto.SerializeToString(),
                                       providers=["CPUExecutionProvider"])
        names = [i.name for i in session.get_inputs()]
        outputs = session.run(None, self._feed(names, args, kwargs or {}))
        return tuple(_tensor(o) for o in outputs)

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
