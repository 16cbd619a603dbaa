"""torch.onnx.ONNXProgram: what ``export(..., dynamo=True)`` returns."""
from ._export import write_model

__all__ = ["ONNXProgram"]


class ONNXProgram:
    """An exported ONNX model: ``save(path)`` writes it; ``model_proto`` parses it with
    the `onnx` package (which ember itself does not need); ``exported_program`` is the
    ember.export program it was written from."""

    def __init__(self, model_bytes, exported_program=None):
        self._bytes = model_bytes
        self.exported_program = exported_program

    @property
    def model_proto(self):
        try:
            import onnx
        except ImportError:
            raise ImportError("ONNXProgram.model_proto needs the onnx package "
                              "(pip install onnx); save(path) does not") from None
        return onnx.load_from_string(self._bytes)

    def save(self, destination, *, include_initializers=True, keep_initializers_as_inputs=False,
             external_data=None):
        if not include_initializers or keep_initializers_as_inputs or external_data:
            raise NotImplementedError("ONNXProgram.save: ember writes one file with its "
                                      "initializers inside (include_initializers=True, "
                                      "keep_initializers_as_inputs=False, no external data)")
        write_model(self._bytes, destination)

    def __call__(self, *args, **kwargs):
        raise NotImplementedError("ONNXProgram.__call__ (running the model with onnxruntime) "
                                  "is not built in ember: save it and load it in "
                                  "onnxruntime.InferenceSession")

    def __repr__(self):
        return f"ONNXProgram(<{len(self._bytes)} bytes of ONNX ModelProto>)"
