"""ONNX exporter errors (torch.onnx.errors)."""

__all__ = ["OnnxExporterError", "OnnxExporterWarning", "SymbolicValueError",
           "UnsupportedOperatorError"]


class OnnxExporterError(RuntimeError):
    """Errors raised by the ONNX exporter (torch.onnx.OnnxExporterError)."""


class OnnxExporterWarning(UserWarning):
    """Warnings from the ONNX exporter."""


class SymbolicValueError(OnnxExporterError):
    """An error about a value of the graph being exported."""


class UnsupportedOperatorError(OnnxExporterError):
    """An operator of the model that the exporter cannot write at the requested opset.

    ``UnsupportedOperatorError(name, version, supported_version)``, as PyTorch's: `name`
    the operator ('aten::lstm'), `version` the opset asked for, `supported_version` the
    first opset that has it (None: no opset)."""

    def __init__(self, name, version, supported_version):
        if supported_version is not None:
            msg = (f"Exporting the operator '{name}' to ONNX opset version {version} is not "
                   f"supported. Support for this operator was added in version "
                   f"{supported_version}, try exporting with this version")
        elif name.startswith(("aten::", "prim::", "quantized::")):
            msg = (f"Exporting the operator '{name}' to ONNX opset version {version} is not "
                   "supported")
        else:
            msg = (f"ONNX export failed on an operator with unrecognized namespace {name}. "
                   "If you are trying to export a custom operator, make sure you registered "
                   "it with the right domain and version.")
        super().__init__(msg)
