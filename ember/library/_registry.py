"""The table of operators ember.library knows: one `_OpDef` per overload ("ns::name" and
an overload name), with its schema and its kernels by dispatch key; the names of the
dispatch keys and device types a kernel may be registered at."""

# the dispatch keys a kernel may be registered at (PyTorch parses these names)
_DISPATCH_KEYS = frozenset((
    "CPU", "CUDA", "Meta", "XLA", "MPS", "XPU", "HPU", "IPU", "MTIA", "Lazy", "PrivateUse1",
    "QuantizedCPU", "QuantizedCUDA", "SparseCPU", "SparseCUDA", "SparseCsrCPU",
    "SparseCsrCUDA", "NestedTensorCPU", "NestedTensorCUDA",
    "CompositeImplicitAutograd", "CompositeExplicitAutograd",
    "CompositeExplicitAutogradNonFunctional", "CompositeImplicitAutogradNestedTensor",
    "Autograd", "AutogradCPU", "AutogradCUDA", "AutogradXLA", "AutogradMPS", "AutogradXPU",
    "AutogradMeta", "AutogradOther", "AutogradNestedTensor", "AutogradPrivateUse1",
    "AutocastCPU", "AutocastCUDA", "AutocastXPU", "AutocastMPS", "BackendSelect",
    "ADInplaceOrView", "Functionalize", "FuncTorchBatched", "FuncTorchDynamicLayerFrontMode",
    "Python", "PythonTLSSnapshot", "Conjugate", "Negative", "ZeroTensor", "FPGA", "MAIA",
    "Undefined"))

# device type -> the dispatch key of its backend kernels ("default": every device's)
_DEVICE_KEYS = {"cpu": "CPU", "cuda": "CUDA", "meta": "Meta", "xla": "XLA", "mps": "MPS",
                "xpu": "XPU", "hpu": "HPU", "ipu": "IPU", "mtia": "MTIA", "lazy": "Lazy",
                "privateuseone": "PrivateUse1", "default": "CompositeExplicitAutograd"}


def fallthrough_kernel():
    """A dummy kernel: registered at a key, it makes the op skip that key (``Library.impl``
    with it leaves the key without a kernel)."""
    raise NotImplementedError("fallthrough_kernel() should never be called.")


def _check_autocast_device(device_type):
    """PyTorch's errors for a device type that register_autocast cannot take."""
    if device_type not in _DEVICE_KEYS or device_type == "default":
        raise RuntimeError(f"Expected one of cpu, cuda, ipu, xpu, mkldnn, opengl, opencl, "
                           f"ideep, hip, ve, fpga, maia, xla, lazy, vulkan, mps, meta, hpu, "
                           f"mtia, privateuseone device type at start of device string: "
                           f"{device_type}")
    if device_type not in ("cpu", "cuda", "xpu", "mps", "hpu", "mtia", "xla"):
        raise ValueError(f"Device type '{device_type}' does not support autocast.")


class _OpDef:
    """One operator overload: its schema, kernels by dispatch key (a stack of
    (library id, fn) per key: the newest registration wins, destroying its library
    uncovers the one before) and the rules of the other registration APIs."""

    def __init__(self, qualname, overload):
        self.qualname = qualname
        self.overload = overload
        self.schema = None
        self.tags = ()
        self.kernels = {}          # key -> [(lib id, fn)]
        self.fake = None           # (lib id, fn)
        self.dispatch_rules = {}   # torch_dispatch class -> fn
        self.autocast = {}         # device type -> dtype
        self.vmap = None
        self.custom = None         # the CustomOpDef, for ops made by custom_op

    def kernel(self, key):
        stack = self.kernels.get(key)
        return stack[-1][1] if stack else None

    def has_kernel(self, key):
        return bool(self.kernels.get(key))

    @property
    def name(self):
        return self.qualname + ("" if self.overload == "default" else "." + self.overload)


# "ns::name" -> {overload name: _OpDef}; an entry exists as soon as a kernel is registered
# (PyTorch allows impl before define), is callable once defined
_OPDEFS = {}
_DEF_LIBRARIES = {}   # namespace -> weakref to its live "DEF" Library
_KEEP_ALIVE = []      # the FRAGMENT libraries of the module-level functions


def _split_name(name):
    """"foo.out" -> ("foo", "out"); "foo" -> ("foo", "default")."""
    base, _, overload = name.partition(".")
    return base, overload or "default"


def _opdef(qualname, overload, create=False):
    table = _OPDEFS.get(qualname)
    if table is None:
        if not create:
            return None
        table = _OPDEFS[qualname] = {}
    entry = table.get(overload)
    if entry is None and create:
        entry = table[overload] = _OpDef(qualname, overload)
    return entry


def _defined(qualname):
    """The defined overloads of `qualname` (name -> _OpDef), in definition order."""
    table = _OPDEFS.get(qualname, {})
    return {k: v for k, v in table.items() if v.schema is not None}


def parse_namespace(qualname):
    """"ns::name" -> ("ns", "name"), with PyTorch's ValueError for anything else."""
    namespace, sep, name = qualname.partition("::") if isinstance(qualname, str) else \
        ("", "", "")
    if not sep or not namespace or not name or "::" in name:
        raise ValueError(f'Expected `qualname` to be of the form "namespace::name", but got '
                         f"{qualname}. The qualname passed to the torch.library APIs must "
                         f"consist of a namespace and a name, e.g. aten::sin")
    return namespace, name
