"""torch.export: a module's forward as a graph of ops, with its state and input guards.

``ep = ember.export.export(model, (x,))`` runs forward once on the example inputs and
records the ember calls it makes (ember/export/_trace.py) into an ``ExportedProgram``:
``print(ep)`` shows the graph with PyTorch's ATen names (``torch.ops.aten.linear.default``),
``ep.graph_signature`` which inputs are parameters, buffers, constants and user inputs,
``ep.module()`` runs it again as a Module (same outputs and gradients as the model, input
shapes checked), ``dynamic_shapes={"x": {0: Dim("batch")}}`` lets marked dims vary, and
``save(ep, "m.pt2")`` / ``load("m.pt2")`` store it as data (ember/export/_serialize.py).

Differences from PyTorch: a node calls ember's function with the arguments the program
gave it (``F.batch_norm``'s order, not ``aten.batch_norm``'s schema); ops that ember.nn
modules compute below ember's public functions are recorded as the op class that ran
(``aten.convolution`` of a ConvTranspose2d, ``aten.avg_pool2d``), except convolutions and
max pooling, recorded as ``F.conv2d``/``F.max_pool2d``; an array such an op made itself
(avg pooling's divisor) is a lifted constant.

Not built: strict (TorchDynamo) tracing (``strict=True`` traces as non-strict does),
``torch.cond``/``torch.export`` control-flow operators, decompositions to core ATen
(``run_decompositions`` keeps the graph), training-IR functionalization (buffer mutations
are in-place calls in the graph, not extra outputs), ``unflatten`` into the original module
hierarchy (NotImplementedError), and reading or writing PyTorch's .pt2 files.
"""
from .dynamic_shapes import Dim, ShapesCollection, dims, \
    refine_dynamic_shapes_from_suggested_fixes
from .graph_signature import (ExportGraphSignature, InputKind, OutputKind, InputSpec,  # noqa: F401
                              OutputSpec, TensorArgument, SymIntArgument, ConstantArgument)
from .exported_program import ExportedProgram, ModuleCallSignature, ModuleCallEntry
from ._errors import UserError, GuardOnDataDependentSymNode, ConstraintViolationError
from ._export import export
from ._serialize import save, load

__all__ = ["export", "ExportedProgram", "ExportGraphSignature", "Dim", "ShapesCollection",
           "dims", "save", "load", "unflatten", "ModuleCallSignature", "ModuleCallEntry",
           "register_dataclass", "export_for_training", "draft_export",
           "refine_dynamic_shapes_from_suggested_fixes", "UserError",
           "GuardOnDataDependentSymNode", "ConstraintViolationError"]


def export_for_training(mod, args, kwargs=None, *, dynamic_shapes=None, strict=False,
                        preserve_module_call_signature=()):
    """The training-IR export (PyTorch 2.5-2.8's name): the same as `export`."""
    return export(mod, args, kwargs, dynamic_shapes=dynamic_shapes, strict=strict,
                  preserve_module_call_signature=preserve_module_call_signature)


def draft_export(mod, args, kwargs=None, *, dynamic_shapes=None, strict=False,
                 preserve_module_call_signature=()):
    """PyTorch's export that reports problems instead of raising; ember raises them."""
    return export(mod, args, kwargs, dynamic_shapes=dynamic_shapes, strict=strict,
                  preserve_module_call_signature=preserve_module_call_signature)


def register_dataclass(cls, *, serialized_type_name=None):
    """Make a dataclass usable as an input/output container (a pytree node)."""
    import dataclasses
    from ..utils import _pytree
    fields = [f.name for f in dataclasses.fields(cls)]

    def flatten(obj):
        return [getattr(obj, f) for f in fields], fields

    def unflatten(values, context):
        return cls(**dict(zip(context, values)))

    _pytree.register_pytree_node(cls, flatten, unflatten,
                                 serialized_type_name=serialized_type_name)


def unflatten(module, flat_args_adapter=None):
    raise NotImplementedError("ember.export.unflatten is not built: use ep.module(), which "
                              "runs the whole program as one GraphModule")
