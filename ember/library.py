"""ember.library (``torch.library``): Python functions as custom operators.

    @ember.library.custom_op("mylib::crop", mutates_args=())
    def crop(pic: Tensor, box: Sequence[int]) -> Tensor: ...

    crop.register_fake(fn)                         # shapes/dtypes of the output (meta)
    crop.register_autograd(backward, setup_context=setup_context)
    crop(img, box); ember.ops.mylib.crop(img, box); ember.ops.mylib.crop.default(...)

An operator is its Python function plus what is registered for it. Calling it runs the
function (the kernel registered for the inputs' device with register_kernel, if any) with
grad mode off, so the op is opaque to autograd unless register_autograd gave it a backward:
then the call goes through an autograd.Function named as PyTorch's node,
``GeneratedBackwardFor_<ns>_<name>_defaultBackward``, whose backward is the registered one
(built from differentiable ops, so it may be differentiated again). The tensors named in
`mutates_args` are written in place by the function: their version counters are bumped, as
any in-place op's. ember has no dispatcher, FakeTensor or torch.compile to serve, so the
fake kernel is kept (``_abstract_fn``) but only used by ``opcheck``, and schemas are not
inferred from annotations. Not built: ``Library``/``define``/``impl`` (the string-schema
API) and ``opcheck``'s compile-time tests.
"""
import inspect

from . import autograd
from ._tensor import Tensor
from .autograd import grad_mode

__all__ = ["custom_op", "CustomOpDef", "register_fake", "register_autograd", "register_kernel",
           "opcheck", "Library", "define", "impl"]

# "ns::name" -> CustomOpDef, for ember.ops.<ns>.<name>
_OPS = {}


class CustomOpDef:
    """A custom operator made by custom_op: callable like its function."""

    def __init__(self, qualname, fn, mutates_args, device_types):
        namespace, sep, name = qualname.partition("::")
        if not sep or not namespace or not name or "." in name:
            raise ValueError(f"Expected there to be a namespace in {qualname}, i.e. The "
                             f"operator name should look something like ns::foo")
        self._namespace, self._name, self._qualname = namespace, name, qualname
        self._init_fn = fn
        self._params = list(inspect.signature(fn).parameters)
        if mutates_args == "unknown":
            mutates_args = tuple(self._params)
        if isinstance(mutates_args, str) or not hasattr(mutates_args, "__iter__"):
            raise ValueError(f"mutates_args must be a tuple, list or set of argument names "
                             f"or 'unknown', got {mutates_args!r}")
        for arg in mutates_args:
            if arg not in self._params:
                raise ValueError(f"{qualname}: mutates_args names '{arg}', which is not an "
                                 f"argument of the function")
        self._mutates = tuple(mutates_args)
        self._kernels = {}
        if device_types is not None:
            for dt in ([device_types] if isinstance(device_types, str) else device_types):
                self._kernels[dt] = fn
        self._abstract_fn = None
        self._backward = self._setup_context = None
        self._function = None
        self.__name__ = name
        self.__doc__ = fn.__doc__
        _OPS[qualname] = self

    def __repr__(self):
        return f"<CustomOpDef({self._qualname})>"

    @property
    def default(self):   # torch.ops.ns.name.default: the one overload
        return self

    # ------------------------------------------------------------------ registrations

    def register_fake(self, fn=None):
        """fn(*args) -> output of the right shape and dtype (for opcheck)."""
        def register(fake):
            self._abstract_fn = fake
            return fake
        return register if fn is None else register(fn)

    def register_kernel(self, device_types, fn=None):
        """fn runs the op for inputs on `device_types` ("cpu", "cuda" or a list)."""
        def register(kernel):
            for dt in ([device_types] if isinstance(device_types, str) else device_types):
                self._kernels[dt] = kernel
            return kernel
        return register if fn is None else register(fn)

    def register_autograd(self, backward, *, setup_context=None):
        """backward(ctx, *grad_outputs) -> one gradient (or None) per input;
        setup_context(ctx, inputs, output) saves what backward needs on ctx."""
        if self._mutates:
            raise RuntimeError(f"Cannot register autograd formula for {self._qualname}: it "
                               f"mutates its inputs (mutates_args={self._mutates})")
        self._backward, self._setup_context = backward, setup_context
        self._function = _autograd_function(self)

    # ------------------------------------------------------------------ calling

    def _kernel(self, args):
        devices = {a.device.type for a in args if isinstance(a, Tensor)}
        for dt in devices:
            if dt in self._kernels:
                return self._kernels[dt]
        if self._kernels and devices:
            raise NotImplementedError(f"{self._qualname}: no kernel registered for device "
                                      f"type(s) {sorted(devices)} (registered: "
                                      f"{sorted(self._kernels)})")
        return self._init_fn

    def _run(self, *args, **kwargs):
        """The kernel, with grad mode off on detached tensors (the op is opaque to autograd:
        the kernel may call .numpy()), bumping the versions of the tensors it mutates."""
        def plain(a):
            return a.detach() if isinstance(a, Tensor) else a
        with grad_mode.no_grad():
            out = self._kernel(args)(*map(plain, args),
                                     **{k: plain(v) for k, v in kwargs.items()})
        if self._mutates:
            bound = inspect.signature(self._init_fn).bind(*args, **kwargs)
            for name in self._mutates:
                t = bound.arguments.get(name)
                for x in (t if isinstance(t, (list, tuple)) else (t,)):
                    if isinstance(x, Tensor):
                        x._bump_version()
        return out

    def __call__(self, *args, **kwargs):
        if self._function is not None and grad_mode.is_grad_enabled() and any(
                isinstance(a, Tensor) and a.requires_grad
                for a in list(args) + list(kwargs.values())):
            if kwargs:
                bound = inspect.signature(self._init_fn).bind(*args, **kwargs)
                bound.apply_defaults()
                args = bound.args
            return self._function.apply(*args)
        return self._run(*args, **kwargs)


def _autograd_function(op):
    """The autograd.Function that runs `op` with its registered backward."""
    def forward(*args):
        return op._run(*args)

    def setup_context(ctx, inputs, output):
        if op._setup_context is not None:
            op._setup_context(ctx, inputs, output)

    def backward(ctx, *grads):
        result = op._backward(ctx, *grads)
        return result if isinstance(result, tuple) else (result,)

    name = f"GeneratedBackwardFor_{op._namespace}_{op._name}_default"
    return type(name, (autograd.Function,), {
        "forward": staticmethod(forward), "setup_context": staticmethod(setup_context),
        "backward": staticmethod(backward), "__module__": "ember.library"})


def custom_op(name, fn=None, /, *, mutates_args, device_types=None, schema=None):
    """Wrap `fn` into the custom operator `name` ("namespace::name"); a decorator when fn
    is not given. `mutates_args`: the names of the tensor arguments fn writes in place
    ("unknown": any of them)."""
    def wrap(func):
        return CustomOpDef(name, func, mutates_args, device_types)
    return wrap if fn is None else wrap(fn)


def _op(op):
    if isinstance(op, CustomOpDef):
        return op
    if isinstance(op, str) and op in _OPS:
        return _OPS[op]
    raise ValueError(f"{op!r} is not a custom operator made by ember.library.custom_op")


def register_fake(op, fn=None, /, *, lib=None, _stacklevel=1):
    return _op(op).register_fake(fn)


def register_kernel(op, device_types, fn=None, /, *, lib=None):
    return _op(op).register_kernel(device_types, fn)


def register_autograd(op, backward, /, *, setup_context=None, lib=None):
    return _op(op).register_autograd(backward, setup_context=setup_context)


def opcheck(op, args, kwargs=None, *, test_utils=None, raise_exception=True, atol=None,
            rtol=None):
    """PyTorch's opcheck tests the operator's registrations against its dispatcher,
    FakeTensor and torch.compile, none of which ember has."""
    raise NotImplementedError("ember.library.opcheck is not built: ember has no dispatcher, "
                              "FakeTensor or torch.compile to check the registrations against")


def _not_built(what):
    def refuse(*args, **kwargs):
        raise NotImplementedError(f"ember.library.{what} (the string-schema operator API) is "
                                  f"not built; use ember.library.custom_op")
    refuse.__name__ = what
    return refuse


Library = _not_built("Library")
define = _not_built("define")
impl = _not_built("impl")


class _OpNamespace:
    """ember.ops.<namespace>: the custom operators defined in it."""

    def __init__(self, name):
        self._name = name

    def __getattr__(self, name):
        op = _OPS.get(f"{self._name}::{name}")
        if op is None:
            raise AttributeError(f"'_OpNamespace' '{self._name}' object has no attribute "
                                 f"'{name}'")
        return op


class _Ops:
    """ember.ops (``torch.ops``): ``ember.ops.<namespace>.<name>`` is a custom operator;
    ``ember.ops.aten.<name>.<overload>`` an ATen operator's overload (ember/_ops/aten.py)."""

    def __getattr__(self, namespace):
        if namespace.startswith("__"):
            raise AttributeError(namespace)
        if namespace == "aten":
            from ._ops.aten import aten
            return aten
        if namespace == "quantized":   # the quantized kernels (ember/_ops/quantized_torch_ops)
            from ._ops.quantized_torch_ops import quantized
            return quantized
        return _OpNamespace(namespace)


ops = _Ops()
