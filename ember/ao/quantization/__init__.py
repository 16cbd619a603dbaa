"""ember.ao.quantization (torch.ao.quantization, also reachable as torch.quantization):
the entry points of PyTorch's quantization workflows, each raising NotImplementedError.

ember has no quantized tensors (qint8/quint8 storage with a scale and a zero point) and no
quantized kernels (fbgemm, qnnpack, x86), so a model cannot be converted to int8. Run the
float model, or simulate quantization with the fake-quantize ops
(``ember.fake_quantize_per_tensor_affine``, ``fake_quantize_per_channel_affine``), which
ember has.
"""

__all__ = ["quantize_dynamic", "quantize", "quantize_qat", "prepare", "prepare_qat", "convert",
           "fuse_modules", "fuse_modules_qat", "get_default_qconfig", "get_default_qat_qconfig",
           "get_default_qconfig_mapping", "QConfig", "QConfigMapping", "QuantStub",
           "DeQuantStub", "QuantWrapper"]


def _refuse(name):
    raise NotImplementedError(
        f"torch.ao.quantization.{name} is not supported by ember: ember has no quantized "
        f"tensors or quantized kernels (fbgemm/qnnpack). Run the float model, or simulate "
        f"quantization with ember.fake_quantize_per_tensor_affine / "
        f"fake_quantize_per_channel_affine.")


def _refusing_function(name):
    def refuse(*args, **kwargs):
        _refuse(name)
    refuse.__name__ = refuse.__qualname__ = name
    refuse.__doc__ = f"``torch.ao.quantization.{name}``: raises NotImplementedError."
    return refuse


def _refusing_class(name):
    def __init__(self, *args, **kwargs):
        _refuse(name)
    return type(name, (), {"__init__": __init__, "__module__": __name__,
                           "__doc__": f"``torch.ao.quantization.{name}``: raises "
                                      f"NotImplementedError when made."})


for _name in __all__:
    globals()[_name] = (_refusing_class(_name) if _name[0].isupper()
                        else _refusing_function(_name))
del _name
