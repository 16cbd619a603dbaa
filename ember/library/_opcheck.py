"""``opcheck``: test an operator's registrations on sample inputs (schema, autograd
registration, fake kernel, and an eager stand-in for PyTorch's torch.compile check)."""
import functools

from .._tensor import Tensor
from ..autograd import grad_mode
from ._custom_ops import CustomOpDef, _backend_missing_fake, _shares
from ._dispatch import _backend_kernel, _call_kernel, _device_types, _tensors
from ._fake import _DYNAMIC_SIZES
from ._operators import OpOverload, OpOverloadPacket


class OpCheckError(Exception):
    """An opcheck test failed (``torch.testing._internal.optests.OpCheckError``)."""


class UnsupportedOperatorException(RuntimeError):
    """The operator has no fake kernel (``torch._subclasses.fake_tensor``'s exception)."""


class MetadataMismatchError(Exception):
    """A fake kernel's output differs from the real one's in shape, dtype or device."""


_DEFAULT_UTILS = ("test_schema", "test_autograd_registration", "test_faketensor",
                  "test_aot_dispatch_dynamic")
_ALL_UTILS = ("test_schema", "test_autograd_registration", "test_faketensor",
              "test_aot_dispatch_static", "test_aot_dispatch_dynamic")


def _clone_args(values):
    def clone(v):
        if isinstance(v, Tensor):
            c = v.detach().clone()
            return c.requires_grad_(v.requires_grad) if v.requires_grad else c
        if isinstance(v, (list, tuple)):
            return type(v)(clone(e) for e in v)
        if isinstance(v, dict):
            return {k: clone(e) for k, e in v.items()}
        return v
    return clone(values)


def _check_schema(op, args, kwargs, rtol, atol):
    """Run the op on copies; a tensor argument the schema does not mark written must keep
    its values, an output must not alias an argument the schema does not alias."""
    args, kwargs = _clone_args((args, kwargs))
    pos, kw = op._entry.schema.bind(args, kwargs)
    before = [[t.detach().clone() for t in _tensors([v])] for v in pos + list(kw.values())]
    out = op(*args, **kwargs)
    names = [a for a in op._entry.schema.arguments]
    for a, v, saved in zip(names, pos + list(kw.values()), before):
        for t, old in zip(_tensors([v]), saved):
            if a.is_write:
                continue
            if t.shape != old.shape or not bool((t.detach() == old).all()) and not \
                    bool((t.detach().isnan() & old.isnan()).any()):
                raise RuntimeError(f"Argument {a.name} is not defined as mutable but was "
                                   f"mutated")
    outs = list(_tensors(out if isinstance(out, (list, tuple)) else [out]))
    for a, v in zip(names, pos + list(kw.values())):
        if a.alias_info is not None:
            continue
        for t in _tensors([v]):
            if any(_shares(o, t) for o in outs):
                raise RuntimeError(f"Argument {a.name} is not defined to alias output but "
                                   f"was aliasing")
    for i, o in enumerate(outs):
        for j in range(i + 1, len(outs)):
            if _shares(o, outs[j]):
                raise RuntimeError(f"Outputs {i} and {j} alias unexpectedly")


def _check_autograd_registration(op, args, kwargs, rtol, atol):
    """PyTorch's autograd_registration_check: with inputs that require grad, an operator
    needs an autograd kernel (or a CompositeImplicitAutograd one) for its outputs' graph
    to be right."""
    args, kwargs = _clone_args((args, kwargs))
    tensors = list(_tensors(list(args) + list(kwargs.values())))
    if not any(t.requires_grad for t in tensors):
        return
    entry = op._entry
    key = "AutogradCUDA" if any(t.device.type == "cuda" for t in tensors) else "AutogradCPU"
    for k in (key, "Autograd", "CompositeImplicitAutograd"):
        if entry.has_kernel(k):
            return
    with grad_mode.enable_grad():
        fn = _backend_kernel(entry, _device_types(tensors))
        pos, kw = entry.schema.bind(args, kwargs)
        out = _call_kernel(entry, fn, pos, kw) if fn is not None else None
    ids = {id(t) for t in tensors}
    outs = _tensors(out if isinstance(out, (list, tuple)) else [out])
    if any(o.requires_grad and id(o) not in ids for o in outs):
        raise AssertionError(
            f"{entry.name}: at least one output of this operator has requires_grad=True but "
            f"the operator does not have an autograd kernel defined at an autograd key (e.g. "
            f"DispatchKey::Autograd). This could mean that you have incorrectly registered an "
            f"autograd kernel to a non-Autograd DispatchKey, which may lead to silently "
            f"incorrect results. If your operator consists of regular PyTorch operations, "
            f"consider not using an operator at all or registering your operator as "
            f"CompositeImplicitAutograd. If you have an autograd.Function registered to a "
            f"backend (CPU/CUDA/XPU) key, the correct location for it is the Autograd key.")


def _to_meta(v):
    if isinstance(v, Tensor):
        from .._ops.creation import empty_strided
        return empty_strided(tuple(v.shape), tuple(v.stride()), dtype=v.dtype, device="meta")
    if isinstance(v, (list, tuple)):
        return type(v)(_to_meta(e) for e in v)
    return v


def _check_fake(op, args, kwargs, rtol, atol):
    """The fake kernel's outputs (on meta copies of the inputs) against the real ones:
    same number, shapes (number of dims only for data-dependent sizes) and dtypes.
    PyTorch compares strides too; ember's meta tensors keep no strides, so it cannot."""
    entry = op._entry
    args, kwargs = _clone_args((args, kwargs))
    if entry.custom is not None:
        if entry.custom._abstract_fn is None:
            _backend_missing_fake(entry.custom)
    elif entry.fake is None and not entry.has_kernel("Meta") and not \
            entry.has_kernel("CompositeImplicitAutograd") and not \
            entry.has_kernel("CompositeExplicitAutograd"):
        raise UnsupportedOperatorException(entry.name)
    with grad_mode.no_grad():
        real = op(*args, **kwargs)
        made = _DYNAMIC_SIZES[0]
        fake = op(*_to_meta(list(args)), **{k: _to_meta(v) for k, v in kwargs.items()})
    dynamic = _DYNAMIC_SIZES[0] != made
    reals = real if isinstance(real, (list, tuple)) else [real]
    fakes = fake if isinstance(fake, (list, tuple)) else [fake]
    if len(reals) != len(fakes):
        raise MetadataMismatchError(f"When comparing the output of {op} on FakeTensor and "
                                    f"concrete Tensors, found {len(fakes)} fake output(s) and "
                                    f"{len(reals)} real output(s)")
    for r, f in zip(reals, fakes):
        if isinstance(r, Tensor) != isinstance(f, Tensor):
            raise MetadataMismatchError(f"When comparing the output of {op} on FakeTensor and "
                                        f"concrete Tensors, found a tensor and a non-tensor")
        if not isinstance(r, Tensor):
            continue
        prefix = (f"When comparing the output of {op} on FakeTensor and concrete Tensors, "
                  f"found mismatched tensor metadata: ")
        if dynamic:
            if r.ndim != f.ndim:
                raise MetadataMismatchError(prefix + f"Number of dimensions {r.ndim} and "
                                            f"{f.ndim} are not equal!")
        elif tuple(r.shape) != tuple(f.shape):
            raise MetadataMismatchError(prefix + f"Shapes {_size(r)} and {_size(f)} are not "
                                        f"equal!")
        if r.dtype != f.dtype:
            raise MetadataMismatchError(prefix + f"Dtypes {_dtype_name(r.dtype)} and "
                                        f"{_dtype_name(f.dtype)} are not equal!")


def _size(t):
    return f"torch.Size({list(t.shape)})"


def _dtype_name(d):
    return "torch." + str(d).split(".")[-1]


def _check_eager(op, args, kwargs, rtol, atol):
    """In place of PyTorch's torch.compile comparison (ember has no compiler): the op runs
    on copies, twice with equal results, and, where an input requires grad, its backward
    runs."""
    from ..testing import assert_close
    entry = op._entry
    if entry.custom is None and entry.fake is None and not any(entry.has_kernel(k) for k in (
            "Meta", "CompositeImplicitAutograd", "CompositeExplicitAutograd")):
        raise UnsupportedOperatorException(entry.name)   # (tracing needs the fake kernel)
    a1, k1 = _clone_args((args, kwargs))
    a2, k2 = _clone_args((args, kwargs))
    out1 = op(*a1, **k1)
    out2 = op(*a2, **k2)
    close = functools.partial(assert_close, rtol=rtol, atol=atol) if rtol is not None else \
        assert_close
    if not op._entry.schema.is_mutable:
        close(out2, out1, equal_nan=True)
    outs = [o for o in _tensors(out1 if isinstance(out1, (list, tuple)) else [out1])
            if o.requires_grad]
    if outs:
        from ..autograd import grad as _grad
        inputs = [t for t in _tensors(list(a1) + list(k1.values())) if t.requires_grad]
        _grad(outs, inputs, [o.new_ones(o.shape) for o in outs], allow_unused=True)


_TESTERS = {"test_schema": _check_schema,
            "test_autograd_registration": _check_autograd_registration,
            "test_faketensor": _check_fake,
            "test_aot_dispatch_static": _check_eager,
            "test_aot_dispatch_dynamic": _check_eager}


def opcheck(op, args, kwargs=None, *, test_utils=_DEFAULT_UTILS, raise_exception=True,
            atol=None, rtol=None):
    """Check `op`'s registrations on sample inputs (``torch.library.opcheck``):

    - test_schema: arguments the schema does not mark written keep their values, outputs
      do not alias arguments the schema does not alias;
    - test_autograd_registration: with inputs that require grad, an autograd kernel exists
      (register_autograd or an Autograd key), or the op is CompositeImplicitAutograd;
    - test_faketensor: a fake kernel exists and its outputs on meta copies of the inputs
      have the real outputs' shapes and dtypes;
    - test_aot_dispatch_dynamic/static: PyTorch compares torch.compile with eager; ember
      has no compiler, so this runs the op eagerly (twice, equal results) and its backward.

    Returns {test: "SUCCESS" or the exception}; the first failure raises OpCheckError
    when `raise_exception`."""
    if (rtol is None) != (atol is None):
        raise ValueError("opcheck(op, ...): if you specify one of rtol/atol, you must specify "
                         "both")
    kwargs = {} if kwargs is None else kwargs
    if isinstance(op, CustomOpDef):
        op = op._opoverload
    if isinstance(op, OpOverloadPacket):
        names = op.overloads()
        if len(names) != 1:
            raise RuntimeError(f"opcheck(op, ...): {op} has multiple overloads ({names}); "
                               f"please pass one OpOverload (e.g. {op}.{names[0]})")
        op = getattr(op, names[0])
    if not isinstance(op, OpOverload):
        raise ValueError(f"opcheck(op, ...): op must be instance of torch._ops.OpOverload, "
                         f"e.g. torch.ops.aten.sin.default, got {type(op)}")
    if test_utils == "ALL":
        test_utils = _ALL_UTILS
    if isinstance(test_utils, str):
        test_utils = (test_utils,)
    if not isinstance(test_utils, (tuple, list)) or not set(test_utils) <= set(_ALL_UTILS):
        raise ValueError(f"opcheck(op, ..., test_utils={test_utils}), expected test_utils to "
                         f"be subset of {_ALL_UTILS} but it was not")
    results = {}
    for name in test_utils:
        try:
            _TESTERS[name](op, args, kwargs, rtol, atol)
            results[name] = "SUCCESS"
        except Exception as ex:
            if raise_exception:
                raise OpCheckError(f"opcheck(op, ...): {name} failed with {ex} (scroll up for "
                                   f"stack trace)") from ex
            results[name] = ex
    return results
