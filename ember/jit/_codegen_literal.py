"""Constants as TorchScript source, for the code ember.jit.save writes (_codegen.py and
the layer templates)."""
import math

from .. import _dtype
from . import _ops

__all__ = ["literal", "n_list", "opt", "recomputed_sizes"]


def literal(v):
    """TorchScript source for a constant argument."""
    if v is None or isinstance(v, bool):
        return repr(v)
    if isinstance(v, int):
        return repr(v)
    if isinstance(v, float):
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        if math.isnan(v):
            return "nan"
        return repr(v)
    if isinstance(v, str):
        escaped = v.replace("\\", "\\\\").replace('"', '\\"')
        escaped = escaped.replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")
        return '"' + escaped + '"'
    if isinstance(v, (list, tuple)):
        inner = ", ".join(literal(x) for x in v)
        return f"[{inner}]"   # TorchScript's int[] / float[] arguments are lists
    if isinstance(v, _dtype.dtype):
        return str(_ops._SCALAR_TYPE_OF[str(v).rpartition(".")[2]])
    if type(v).__name__ == "device":
        return f'torch.device("{v}")'
    raise NotImplementedError(f"ember.jit.save: cannot write the constant {v!r} "
                              f"({type(v).__name__}) into TorchScript code")


def n_list(v, n):
    """An int or a tuple as the n-element list ATen's int[n] arguments take."""
    return list(v) if isinstance(v, (tuple, list)) else [v] * n


def opt(m, name):
    """``self.<name>`` when the module has that tensor, else ``None``."""
    return f"self.{name}" if getattr(m, name, None) is not None else "None"


def recomputed_sizes(input_source, scales):
    """Source of the output size F.interpolate computes with recompute_scale_factor:
    floor(input size * scale) per spatial dimension, in double precision."""
    return "[" + ", ".join(f"int(torch.floor(torch.mul(float(torch.size({input_source}, "
                           f"{i + 2})), {literal(f)})))" for i, f in enumerate(scales)) + "]"
