"""ember.library (``torch.library``): new operators from Python.

Two front ends build the same thing, an operator (``ember.ops.<ns>.<name>.<overload>``)
with a schema and kernels registered under PyTorch's dispatch keys:

    lib = ember.library.Library("mylib", "FRAGMENT")      # the low-level API
    lib.define("foo(Tensor x, int n, *, float alpha=1.0) -> Tensor")
    lib.impl("foo", foo_cpu, "CPU")
    ember.ops.mylib.foo(x, 2, alpha=0.5)

    @ember.library.custom_op("mylib::crop", mutates_args=())   # the high-level API
    def crop(pic: Tensor, box: Sequence[int]) -> Tensor: ...
    crop.register_fake(fn); crop.register_autograd(backward, setup_context=...)

ember has no C++ dispatcher; calling an operator walks PyTorch's order of keys in Python
(`_dispatch`):

1. a ``__torch_dispatch__`` mode that is active, or a tensor subclass argument with a
   handler, gets the call (a rule registered with `register_torch_dispatch` first);
2. autocast: a rule from `register_autocast` casts floating inputs while autocast is on;
3. autograd, when grad mode is on and a tensor argument requires grad: the kernel at
   ``AutogradCPU``/``AutogradCUDA``/``Autograd`` (`register_autograd` puts one there that
   runs an autograd.Function whose backward is the registered formula), else a
   ``CompositeImplicitAutograd`` kernel, whose own ops record the graph; else the backend
   kernel runs with grad mode on (PyTorch's "warn" fallback: its ops record the graph);
4. the backend kernel: ``CPU``/``CUDA``/``Meta`` by the tensors' device (``Meta`` falls
   back to the fake kernel of `register_fake`), then ``CompositeExplicitAutograd``, then
   ``CompositeImplicitAutograd``.

Arguments are checked against the schema and reach a kernel as PyTorch passes them:
positional as given (trailing defaults not filled in), keyword-only as keywords.
`custom_op` infers the schema from the annotations, registers its function for the
device types given (all when None), and an autograd kernel whose backward raises until
`register_autograd` gives a formula; its kernels see detached inputs under no_grad, and
the tensors named in `mutates_args` get their version bumped after the call.

Not built (ember has no dispatcher to serve them): overriding the kernels of ember's
built-in operators (``Library("aten", "IMPL").impl(...)``), ``Library.fallback``,
``with_keyset=True`` kernels; `register_vmap` rules are kept but ember's vmap runs a
custom operator slice by slice; `triton_op`/`wrap_triton` raise (no Triton); `opcheck`
replaces ``test_aot_dispatch_*`` (which need torch.compile) by running the operator and
its backward eagerly.

The code lives in private modules, one concern each: _registry (the table of operators and
dispatch keys), _libraries (Library), _tags (Tag), _operators (ember.ops, OpOverload),
_dispatch (calling an operator), _fake (fake kernels' context), _autograd
(register_autograd's kernel), _custom_ops (custom_op), _infer_schema (a function's schema),
_api (the module-level functions), _opcheck; the schema language (parsing, binding) is
ember/_library_schema.py, which `import ember` loads (torch.parse_schema).
"""
from ._api import (define, get_kernel, impl, _impl, impl_abstract, register_autocast,
                   register_autograd, register_fake, register_kernel, register_torch_dispatch,
                   register_vmap, triton_op, wrap_triton)
from ._custom_ops import CustomOpDef, custom_op
from ._fake import FakeImplCtx, get_ctx
from ._infer_schema import infer_schema
from ._libraries import Library, _reserved_namespaces, _scoped_library, _validate_out_schema
from ._opcheck import MetadataMismatchError, OpCheckError, UnsupportedOperatorException, opcheck
from ._operators import (OpOverload, OpOverloadPacket, _OpNamespace, _Ops, _overload_named,
                         _packet_named, ops)
from ._registry import fallthrough_kernel, parse_namespace
from ._tags import Tag

__all__ = ["Library", "define", "impl", "fallthrough_kernel", "custom_op", "CustomOpDef",
           "register_fake", "register_autograd", "register_kernel", "register_autocast",
           "register_torch_dispatch", "register_vmap", "impl_abstract", "get_ctx",
           "get_kernel", "infer_schema", "opcheck", "OpCheckError", "triton_op",
           "wrap_triton"]

# named ember.library.<name>, as they were before the split (infer_schema was
# ember._library_schema's): reprs and tracebacks print that name, and pickles name these
# (an OpOverload pickles as a call of _overload_named, ember.ops as an _Ops)
for _obj in (define, get_kernel, impl, _impl, impl_abstract, register_autocast,
             register_autograd, register_fake, register_kernel, register_torch_dispatch,
             register_vmap, triton_op, wrap_triton, CustomOpDef, custom_op, FakeImplCtx,
             get_ctx, infer_schema, Library, _scoped_library, _validate_out_schema,
             MetadataMismatchError, OpCheckError, UnsupportedOperatorException, opcheck,
             OpOverload, OpOverloadPacket, _OpNamespace, _Ops, _overload_named, _packet_named,
             fallthrough_kernel, parse_namespace):
    _obj.__module__ = __name__
del _obj
