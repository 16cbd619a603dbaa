"""Public functions made picklable by reference, as PyTorch's are.

pickle stores a function as its (__module__, __qualname__) and checks, when saving, that
this path leads back to the very same object. Many of ember's public functions are made
by factories (`_unary_row`, `_pool_fns`, `_copy_variant` ...) or wrapped after they are
defined (keyword fronts), so their path leads to a closure's local name or to the function
they wrap: pickling `ember.abs`, or a module that holds `F.gelu` as its activation (what
`torch.save(module)` and spawned DataLoader workers do), raised PicklingError.

`name_public_functions()` runs once the namespaces are built: each public function (and
Tensor method) whose path does not lead back to it takes the public name it is reached by
(the first namespace listed wins; functions whose path already works keep it)."""
import sys
import types

_NAMESPACES = ("ember", "ember.nn.functional", "ember.linalg", "ember.fft", "ember.special",
               "ember.nn.init", "ember.sparse", "ember.autograd", "ember.distributions")


def _resolves(fn):
    """Whether pickle's lookup of fn's (module, qualname) gives fn back."""
    obj = sys.modules.get(fn.__module__)
    for part in fn.__qualname__.split("."):
        obj = getattr(obj, part, None)
    return obj is fn


def name_public_functions():
    for module_name in _NAMESPACES:
        module = sys.modules.get(module_name)
        if module is None:
            continue
        for name, fn in list(vars(module).items()):
            if name[0] == "_" or type(fn) is not types.FunctionType or _resolves(fn):
                continue
            fn.__module__, fn.__qualname__ = module_name, name
    # Tensor methods made by factories (x.float(), x.pow ...): Tensor.<name>, as PyTorch's
    # methods pickle (a function shared with a namespace above already resolves)
    from ._tensor import Tensor
    for name, fn in list(vars(Tensor).items()):
        if name[0] == "_" or type(fn) is not types.FunctionType or _resolves(fn):
            continue
        fn.__module__, fn.__qualname__ = Tensor.__module__, f"Tensor.{name}"
