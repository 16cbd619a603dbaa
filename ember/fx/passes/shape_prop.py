"""torch.fx.passes.shape_prop: record each node's tensor shape, dtype and layout.

``ShapeProp(gm).propagate(*inputs)`` runs the graph once (an Interpreter) and stores, for
every node whose value holds tensors, ``node.meta['tensor_meta']`` (a TensorMetadata, or
the same structure of them for tuples/lists/dicts) and ``node.meta['type']``.
"""
from typing import NamedTuple

from ..interpreter import Interpreter
from ..node import map_aggregate

__all__ = ["TensorMetadata", "ShapeProp"]


class TensorMetadata(NamedTuple):
    """What ShapeProp records of one tensor."""
    shape: object
    dtype: object
    requires_grad: bool
    stride: tuple
    memory_format: object
    is_quantized: bool
    qparams: dict


def _extract_tensor_metadata(result, include_contiguity=True):
    """The TensorMetadata of tensor `result` (its memory format: the first of
    contiguous/channels_last/channels_last_3d it is contiguous in, else None)."""
    import ember
    memory_format = None
    if include_contiguity:
        for fmt in (ember.contiguous_format, ember.channels_last, ember.channels_last_3d):
            try:
                if result.is_contiguous(memory_format=fmt):
                    memory_format = fmt
                    break
            except (RuntimeError, ValueError):
                continue
    return TensorMetadata(result.shape, result.dtype, result.requires_grad, result.stride(),
                          memory_format, False, {})


class ShapeProp(Interpreter):
    """An Interpreter that notes each node's tensor metadata (see the module docstring)."""

    def __init__(self, gm, fake_mode=None):
        super().__init__(gm)
        if fake_mode is not None:
            raise NotImplementedError("ember.fx: ShapeProp with a fake_mode is not supported "
                                      "(ember has no fake tensors); pass real inputs")
        self.fake_mode = None
        self.fake_module = None
        self.real_module = self.module

    def run_node(self, n):
        import ember
        result = super().run_node(n)
        found = [False]

        def extract(obj):
            if isinstance(obj, ember.Tensor):
                found[0] = True
                return _extract_tensor_metadata(obj)
            return obj

        meta = map_aggregate(result, extract)
        if found[0]:
            n.meta["tensor_meta"] = meta
        n.meta["type"] = type(result)
        return result

    def propagate(self, *args):
        """Run the graph on `args`, recording metadata; its output."""
        return super().run(*args)
