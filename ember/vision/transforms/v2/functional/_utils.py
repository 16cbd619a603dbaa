"""The kernel registry behind the v2 functionals: each functional (``F.resize`` ...) looks
up the kernel for its input's type (a plain Tensor, a PIL image, each TVTensor class).

Kernels for TVTensors run on the plain tensor and get the result wrapped back into the
input's class (with its metadata), unless registered with ``tv_tensor_wrapper=False``
(the bounding-box kernels, which set a new canvas size themselves)."""
import functools

from ....._tensor import Tensor
from .... import tv_tensors

_KERNEL_REGISTRY = {}


def is_pure_tensor(inpt):
    """A Tensor that is not a TVTensor."""
    return isinstance(inpt, Tensor) and not isinstance(inpt, tv_tensors.TVTensor)


def _tv_tensor_wrapper(kernel):
    @functools.wraps(kernel)
    def wrapper(inpt, *args, **kwargs):
        output = kernel(inpt.as_subclass(Tensor), *args, **kwargs)
        return tv_tensors.wrap(output, like=inpt)
    return wrapper


def _register_kernel_internal(functional, input_type, *, tv_tensor_wrapper=True):
    registry = _KERNEL_REGISTRY.setdefault(functional, {})
    if input_type in registry:
        raise ValueError(f"Functional {functional} already has a kernel registered for type "
                         f"{input_type}.")

    def decorator(kernel):
        wraps = tv_tensor_wrapper and isinstance(input_type, type) and \
            issubclass(input_type, tv_tensors.TVTensor)
        registry[input_type] = _tv_tensor_wrapper(kernel) if wraps else kernel
        return kernel
    return decorator


def _register(functional, *input_types, tv_tensor_wrapper=True):
    """Register one kernel for several input types."""
    def decorator(kernel):
        for tp in input_types:
            _register_kernel_internal(functional, tp, tv_tensor_wrapper=tv_tensor_wrapper)(kernel)
        return kernel
    return decorator


_BUILTIN = None


def register_kernel(functional, tv_tensor_cls):
    """Decorator: register a kernel for `functional` (a v2 functional or its name) and a
    TVTensor subclass of your own; the kernel gets the TVTensor itself and must return
    one."""
    from .. import functional as F
    global _BUILTIN
    if isinstance(functional, str):
        try:
            functional = getattr(F, functional)
        except AttributeError:
            raise ValueError(f"Could not find functional with name '{functional}' in "
                             f"torchvision.transforms.v2.functional.") from None
    elif not (callable(functional) and functional in _KERNEL_REGISTRY):
        raise ValueError(f"Kernels can only be registered on functionals from the "
                         f"torchvision.transforms.v2.functional namespace, but got "
                         f"{functional}.")
    if not (isinstance(tv_tensor_cls, type) and issubclass(tv_tensor_cls, tv_tensors.TVTensor)):
        raise ValueError(f"Kernels can only be registered for subclasses of "
                         f"torchvision.tv_tensors.TVTensor, but got {tv_tensor_cls}.")
    if _BUILTIN is None:
        _BUILTIN = {v for v in vars(tv_tensors).values()
                    if isinstance(v, type) and issubclass(v, tv_tensors.TVTensor)}
    if tv_tensor_cls in _BUILTIN:
        raise ValueError(f"Kernels cannot be registered for the builtin tv_tensor classes, but "
                         f"got {tv_tensor_cls}")
    return _register_kernel_internal(functional, tv_tensor_cls, tv_tensor_wrapper=False)


def _passthrough(inpt, *args, **kwargs):
    return inpt


def _get_kernel(functional, input_type, *, allow_passthrough=False):
    """The kernel of `functional` for `input_type` (found along its MRO, up to TVTensor);
    with allow_passthrough, an unknown type gets the identity."""
    registry = _KERNEL_REGISTRY.get(functional)
    if not registry:
        raise ValueError(f"No kernel registered for functional {functional.__name__}.")
    for cls in input_type.__mro__:
        if cls in registry:
            return registry[cls]
        if cls is tv_tensors.TVTensor:
            break
    if allow_passthrough:
        return _passthrough
    raise TypeError(f"Functional F.{functional.__name__} supports inputs of type "
                    f"{registry.keys()}, but got {input_type} instead.")


def _dispatch(functional, inpt, *args, **kwargs):
    """Run the kernel of `functional` for `inpt`'s type."""
    if type(inpt) is Tensor:
        return _KERNEL_REGISTRY[functional][Tensor](inpt, *args, **kwargs)
    return _get_kernel(functional, type(inpt))(inpt, *args, **kwargs)


try:
    from PIL.Image import Image as PILImage
except ImportError:   # Pillow is optional: no PIL kernels then
    PILImage = None


def _register_pil(functional):
    """Register a PIL kernel when Pillow is installed."""
    if PILImage is None:
        return lambda kernel: kernel
    return _register_kernel_internal(functional, PILImage)
