"""device objects and the backend that serves each device type."""
from . import _backend

__all__ = ["device"]

# the device types PyTorch's parser knows (its "Expected one of ..." message)
_DEVICE_TYPES = ("cpu", "cuda", "ipu", "xpu", "mkldnn", "opengl", "opencl", "ideep", "hip", "ve",
                 "fpga", "maia", "xla", "lazy", "vulkan", "mps", "meta", "hpu", "mtia",
                 "privateuseone")


# the device types ember's tensors can live on; device objects of PyTorch's other types
# can be made (programs test them: `device("mps")`), and using them for data raises
_USABLE = frozenset(("cpu", "cuda", "meta"))


class device:
    """A device: a type (any of PyTorch's; ember's tensors live on 'cpu', 'cuda' and
    'meta') and an optional index."""
    __slots__ = ("type", "index")

    def __init__(self, type, index=None):
        if isinstance(type, device):
            self.type, self.index = type.type, type.index
            return
        if isinstance(type, int) and not isinstance(type, bool):
            type, index = "cuda", type
        if not isinstance(type, str):
            raise TypeError(f"device() received an invalid combination of arguments - got ({type!r})")
        # a type is letters and underscores: PyTorch's parser refuses anything else
        # ('float32' passed to .to() as a device) before it looks the type up
        if not type:
            raise RuntimeError("Device string must not be empty")
        name = type.partition(":")[0]
        if not name or not all(c == "_" or (c.isascii() and c.isalpha()) for c in name):
            raise RuntimeError(f"Invalid device string: '{type}'")
        if ":" in type:
            if index is not None:
                raise RuntimeError(f"type (string) must not include an index because index was "
                                   f"passed explicitly: {type}")
            type, _, idx = type.partition(":")
            # an index is plain decimal digits without a leading zero, as PyTorch parses it
            if not (idx.isdigit() and idx.isascii()) or (len(idx) > 1 and idx[0] == "0"):
                raise RuntimeError(f"Invalid device string: '{type}:{idx}'")
            index = int(idx)
        if type not in _DEVICE_TYPES:
            # the message lists every device type PyTorch knows, as its own does
            raise RuntimeError("Expected one of " + ", ".join(_DEVICE_TYPES) + " device type at "
                               "start of device string: " + type)
        if type == "mkldnn":
            import warnings
            warnings.warn("'mkldnn' is no longer used as device type. So torch.device('mkldnn') "
                          "will be deprecated and removed in the future. Please use other valid "
                          "device types instead.", UserWarning, stacklevel=2)
        if index is not None and index < 0:
            raise RuntimeError(f"Device index must not be negative, got {index}")
        self.type, self.index = type, index

    def __repr__(self):
        if self.index is None:
            return f"device(type='{self.type}')"
        return f"device(type='{self.type}', index={self.index})"

    def __str__(self):
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __eq__(self, other):
        # only devices compare equal, as in PyTorch: device('cuda') == 'cuda' is False (a
        # script's `if device == "cuda":` takes PyTorch's branch)
        if not isinstance(other, device):
            return NotImplemented
        return self.type == other.type and self.index == other.index

    def __hash__(self):
        return hash((self.type, self.index))

    def __reduce__(self):
        return (device, (self.type, self.index))

    def __enter__(self):
        """`with device:` makes it the default device of factory functions inside the block."""
        from ._threads import set_default_device
        _ENTERED.append(DEFAULT[0])
        try:
            set_default_device(self)
        except Exception:
            _ENTERED.pop()
            raise
        return self

    def __exit__(self, *exc):
        DEFAULT[0] = _ENTERED.pop()
        return False


CPU = device("cpu")

# the device factory functions use when given none (ember.set_default_device); None: the CPU
DEFAULT = [None]
_ENTERED = []   # the defaults that `with device:` blocks replaced, innermost last


def factory_device(d):
    """The device a factory function creates on: `d`, or the default device when None."""
    if d is None:
        return DEFAULT[0] or CPU
    return as_device(d)


def as_device(d):
    """Normalise a device argument (str, int, device, None) to a device; None means CPU."""
    if d is None:
        return CPU
    if type(d) is device:
        return d if d.type in _USABLE else _unusable(d)
    if isinstance(d, str) and d == "cpu":
        return CPU
    d = device(d)
    return d if d.type in _USABLE else _unusable(d)


def _unusable(d):
    """Raise for data on a device type ember has no backend for, as a PyTorch build
    without it does (XPU: AssertionError from its lazy init; others: NotImplementedError)."""
    if d.type == "xpu":
        raise AssertionError("Torch not compiled with XPU enabled")
    raise NotImplementedError(f"ember has no '{d.type}' backend: tensors live on the cpu, "
                              f"cuda (through CuPy) and meta devices")


def backend_for(dev):
    """The array namespace module serving a device."""
    return _backend.get(dev)
