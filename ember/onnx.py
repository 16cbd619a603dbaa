"""ember.onnx (torch.onnx): ONNX export is not built in ember.

Programs import ``torch.onnx`` at the top and export only on request (pytorch/examples'
word_language_model exports with ``--onnx-export``), so the module exists: the import
succeeds, ``is_in_onnx_export()`` is False (models ask it while tracing), and ``export``
raises NotImplementedError.
"""

__all__ = ["export", "is_in_onnx_export", "OnnxExporterError"]


class OnnxExporterError(RuntimeError):
    """Errors raised by the ONNX exporter (torch.onnx.OnnxExporterError)."""


def is_in_onnx_export():
    """False: ember never traces a model for ONNX export."""
    return False


def export(model, args=(), f=None, **kwargs):
    raise NotImplementedError("torch.onnx.export is not implemented in ember: ember has no "
                              "graph tracer to write ONNX models from; save the weights with "
                              "torch.save(model.state_dict(), path) instead")
