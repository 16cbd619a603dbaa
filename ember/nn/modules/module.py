"""nn.Module: parameters, buffers and submodules registered by attribute assignment,
state dicts, hooks, train/eval, device and dtype moves, and PyTorch's repr."""
import itertools
import threading
import warnings
import weakref
from collections import OrderedDict, namedtuple
from typing import Any, Dict, TypeVar

from ... import __future__ as future   # (also makes ember.__future__ an attribute, as torch's)
from ..._tensor import Tensor
from ..._threads import typename as _typename
from ...autograd import grad_mode
from ...autograd._zero_grad import zero_grads
from ...autograd.graph import RemovableHandle
from ..parameter import Parameter

__all__ = ["Module"]


class _IncompatibleKeys(namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])):
    def __repr__(self):
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return super().__repr__()

    __str__ = __repr__


def _addindent(s, n):
    lines = s.split("\n")
    if len(lines) == 1:
        return s
    first = lines.pop(0)
    return first + "\n" + "\n".join(" " * n + line for line in lines)


_global_forward_hooks = OrderedDict()
_global_forward_pre_hooks = OrderedDict()

# the state_dict key (after the module's prefix) of what get_extra_state returns
_EXTRA_STATE_KEY_SUFFIX = "_extra_state"
# the load_state_dict running in this thread: its copy plan and the checkpoint's metadata
_LOADING = threading.local()

T_destination = TypeVar("T_destination", bound=Dict[str, Any])


def _no_backend(message_type, message):
    """The conversion function of Module.xpu/ipu/mtia: ember has none of these backends,
    so moving any tensor there raises (a module without tensors is returned unchanged)."""
    def convert(t):
        raise message_type(message)
    return convert


class Module:
    """Base class of all network layers (``torch.nn.Module``)."""
    training: bool
    _version = 1
    call_super_init = False
    # PyTorch's flag for printing source-change warnings when loading pickled modules
    dump_patches = False
    T_destination = T_destination
    _compiled_call_impl = None   # set by Module.compile

    def __init__(self, *args, **kwargs):
        if args or kwargs:
            raise TypeError(f"{type(self).__name__}.__init__() takes 1 positional argument but "
                            f"{len(args) + 1} were given")
        setattr_ = object.__setattr__
        setattr_(self, "training", True)
        setattr_(self, "_parameters", {})
        setattr_(self, "_buffers", {})
        setattr_(self, "_non_persistent_buffers_set", set())
        setattr_(self, "_modules", {})
        setattr_(self, "_forward_hooks", OrderedDict())
        setattr_(self, "_forward_hooks_with_kwargs", {})
        setattr_(self, "_forward_hooks_always_called", {})
        setattr_(self, "_forward_pre_hooks", OrderedDict())
        setattr_(self, "_forward_pre_hooks_with_kwargs", {})
        setattr_(self, "_backward_hooks", OrderedDict())
        setattr_(self, "_backward_pre_hooks", OrderedDict())
        setattr_(self, "_state_dict_hooks", OrderedDict())
        setattr_(self, "_state_dict_pre_hooks", OrderedDict())
        setattr_(self, "_load_state_dict_pre_hooks", OrderedDict())
        setattr_(self, "_load_state_dict_post_hooks", OrderedDict())

    def forward(self, *input):
        raise NotImplementedError(f'Module [{type(self).__name__}] is missing the required '
                                  f'"forward" function')

    # ------------------------------------------------------------------ registration
    def _check_init(self):
        if "_parameters" not in self.__dict__:
            raise AttributeError("cannot assign module before Module.__init__() call")

    def register_parameter(self, name, param):
        if "_parameters" not in self.__dict__:
            raise AttributeError("cannot assign parameter before Module.__init__() call")
        self._check_name(name, "parameter")
        if hasattr(self, name) and name not in self._parameters:
            raise KeyError(f"attribute '{name}' already exists")
        if param is None:
            self._parameters[name] = None
        elif not isinstance(param, Parameter):
            raise TypeError(f"cannot assign '{_typename(param)}' "
                            f"object to parameter '{name}' (torch.nn.Parameter or None required)")
        elif param.grad_fn is not None:
            raise ValueError(f"Cannot assign non-leaf Tensor to parameter '{name}'. Model "
                             f"parameters must be created explicitly. To express '{name}' as a "
                             f"function of another Tensor, compute the value in the forward() "
                             f"method.")
        else:
            self._parameters[name] = param

    def register_buffer(self, name, tensor, persistent=True):
        if "_buffers" not in self.__dict__:
            raise AttributeError("cannot assign buffer before Module.__init__() call")
        self._check_name(name, "buffer")
        if hasattr(self, name) and name not in self._buffers:
            raise KeyError(f"attribute '{name}' already exists")
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"cannot assign '{type(tensor).__name__}' object to buffer '{name}' "
                            f"(torch Tensor or None required)")
        if tensor is not None and getattr(tensor, "_is_buffer", False):
            persistent = tensor._persistent
        self._buffers[name] = tensor
        if persistent:
            self._non_persistent_buffers_set.discard(name)
        else:
            self._non_persistent_buffers_set.add(name)

    def add_module(self, name, module):
        if not isinstance(module, Module) and module is not None:
            raise TypeError(f"{type(module).__name__} is not a Module subclass")
        self._check_name(name, "module")
        if hasattr(self, name) and name not in self._modules:
            raise KeyError(f"attribute '{name}' already exists")
        self._modules[name] = module

    register_module = add_module

    @staticmethod
    def _check_name(name, kind):
        if not isinstance(name, str):
            raise TypeError(f"{kind} name should be a string. Got {type(name).__name__}")
        if "." in name:
            # (PyTorch's add_module alone names the offending name)
            got = f", got: {name}" if kind == "module" else ""
            raise KeyError(f'{kind} name can\'t contain "."{got}')
        if name == "":
            raise KeyError(f'{kind} name can\'t be empty string ""')

    def __setattr__(self, name, value):
        d = self.__dict__
        params = d.get("_parameters")
        if isinstance(value, Parameter):
            if params is None:
                raise AttributeError("cannot assign parameters before Module.__init__() call")
            # a parameter reassigned keeps its place in _parameters (named_parameters and
            # state_dict order), as PyTorch's
            self._remove_from(name, d, params, exclude="_parameters")
            self.register_parameter(name, value)
            return
        if params is not None and name in params:
            if value is not None:
                raise TypeError(f"cannot assign '{_typename(value)}' "
                                f"as parameter '{name}' (torch.nn.Parameter or None expected)")
            self.register_parameter(name, value)
            return
        modules = d.get("_modules")
        if isinstance(value, Module):
            if modules is None:
                raise AttributeError("cannot assign module before Module.__init__() call")
            self._remove_from(name, d, params, exclude="_modules")
            modules[name] = value
            return
        if modules is not None and name in modules:
            if value is not None:
                raise TypeError(f"cannot assign '{_typename(value)}' "
                                f"as child module '{name}' (torch.nn.Module or None expected)")
            modules[name] = value
            return
        buffers = d.get("_buffers")
        if isinstance(value, Tensor) and getattr(value, "_is_buffer", False):
            self._remove_from(name, d, params, exclude="_buffers")
            self.register_buffer(name, value)
            return
        if buffers is not None and name in buffers:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(f"cannot assign '{_typename(value)}' "
                                f"as buffer '{name}' (torch.nn.Buffer, torch.Tensor or None expected)")
            buffers[name] = value
            return
        object.__setattr__(self, name, value)

    def _remove_from(self, name, d, params, exclude=None):
        d.pop(name, None)
        for key in ("_parameters", "_buffers", "_modules"):
            if key != exclude and key in d:
                d[key].pop(name, None)
        if "_non_persistent_buffers_set" in d and exclude != "_buffers":
            d["_non_persistent_buffers_set"].discard(name)

    def __getattr__(self, name):
        d = self.__dict__
        for key in ("_parameters", "_buffers", "_modules"):
            store = d.get(key)
            if store is not None and name in store:
                return store[name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name):
        for key in ("_parameters", "_buffers", "_modules"):
            store = self.__dict__.get(key)
            if store is not None and name in store:
                del store[name]
                self._non_persistent_buffers_set.discard(name)
                return
        object.__delattr__(self, name)

    def __dir__(self):
        keys = list(object.__dir__(self))
        keys += list(self._parameters) + list(self._buffers) + list(self._modules)
        return sorted(set(k for k in keys if not k[0].isdigit()))

    def __setstate__(self, state):
        self.__dict__.update(state)

    # ------------------------------------------------------------------ traversal
    def named_modules(self, memo=None, prefix="", remove_duplicate=True):
        if memo is None:
            memo = set()
        stack = [(prefix, self)]
        while stack:
            pre, mod = stack.pop()
            if remove_duplicate:
                if mod in memo:
                    continue
                memo.add(mod)
            yield pre, mod
            children = [(name, m) for name, m in mod._modules.items() if m is not None]
            for name, m in reversed(children):
                stack.append((pre + ("." if pre else "") + name, m))

    def modules(self):
        for _, m in self.named_modules():
            yield m

    def named_children(self):
        memo = set()
        for name, m in self._modules.items():
            if m is not None and m not in memo:
                memo.add(m)
                yield name, m

    def children(self):
        for _, m in self.named_children():
            yield m

    def _named_members(self, get, prefix="", recurse=True, remove_duplicate=True):
        memo = set()
        mods = self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate) if recurse \
            else [(prefix, self)]
        for mod_prefix, mod in mods:
            for name, v in get(mod):
                if v is None:
                    continue
                if remove_duplicate:
                    if id(v) in memo:
                        continue
                    memo.add(id(v))
                yield mod_prefix + ("." if mod_prefix else "") + name, v

    def named_parameters(self, prefix="", recurse=True, remove_duplicate=True):
        return self._named_members(lambda m: m._parameters.items(), prefix, recurse,
                                   remove_duplicate)

    def parameters(self, recurse=True):
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix="", recurse=True, remove_duplicate=True):
        return self._named_members(lambda m: m._buffers.items(), prefix, recurse,
                                   remove_duplicate)

    def buffers(self, recurse=True):
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    def get_submodule(self, target):
        if target == "":
            return self
        mod = self
        for item in target.split("."):
            if not hasattr(mod, item):
                raise AttributeError(mod._get_name() + " has no attribute `" + item + "`")
            mod = getattr(mod, item)
            if not isinstance(mod, Module):
                raise AttributeError("`" + item + "` is not an nn.Module")
        return mod

    def set_submodule(self, target, module, strict=False):
        """Set the submodule at dotted path `target` to `module`: replace it, or add it
        to an existing parent (with ``strict=True``, only replace)."""
        if target == "":
            raise ValueError("Cannot set the submodule without a target name!")
        if not isinstance(module, Module):
            raise ValueError(f"`module` is not an nn.Module, found {type(module)}")
        parent_path, _, name = target.rpartition(".")
        parent = self.get_submodule(parent_path)
        if strict and not hasattr(parent, name):
            raise AttributeError(parent._get_name() + " has no attribute `" + name + "`")
        if hasattr(parent, name) and not isinstance(getattr(parent, name), Module):
            raise AttributeError("`" + name + "` is not an nn.Module")
        setattr(parent, name, module)

    def get_parameter(self, target):
        path, _, name = target.rpartition(".")
        mod = self.get_submodule(path)
        if not hasattr(mod, name):
            raise AttributeError(mod._get_name() + " has no attribute `" + name + "`")
        p = getattr(mod, name)
        if not isinstance(p, Parameter):
            raise AttributeError("`" + name + "` is not an nn.Parameter")
        return p

    def get_buffer(self, target):
        path, _, name = target.rpartition(".")
        mod = self.get_submodule(path)
        if name not in mod._buffers:
            raise AttributeError(mod._get_name() + " has no attribute `" + name + "`")
        return mod._buffers[name]

    # ------------------------------------------------------------------ modes
    def train(self, mode=True):
        if not isinstance(mode, bool):
            raise ValueError("training mode is expected to be boolean")
        self.training = mode
        for m in self.children():
            m.train(mode)
        return self

    def eval(self):
        return self.train(False)

    def requires_grad_(self, requires_grad=True):
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none=True):
        zero_grads(self.parameters(), set_to_none)

    def share_memory(self):
        """Move every parameter and buffer into shared memory (Tensor.share_memory_)."""
        for t in itertools.chain(self.parameters(), self.buffers()):
            t.share_memory_()
        return self

    # ------------------------------------------------------------------ conversions
    def _apply(self, fn, recurse=True):
        if recurse:
            for m in self.children():
                m._apply(fn)
        swap = future.get_swap_module_params_on_conversion()
        overwrite = future.get_overwrite_module_params_on_conversion()
        for key, p in list(self._parameters.items()):
            if p is None:
                continue
            with grad_mode.no_grad():
                new = fn(p)
            grad = p._grad
            if new is not p and swap:
                # __future__'s swap: the converted tensor goes into the Parameter object
                # itself (class, attributes and data), which keeps its identity
                p._grad = None
                self._swap_converted(key, p, Parameter(new, requires_grad=p.requires_grad))
            elif new is not p and overwrite:
                # __future__'s overwrite: a new Parameter object takes the old one's place
                self._parameters[key] = Parameter(new, requires_grad=p.requires_grad)
            elif new is not p:
                # keep the Parameter object (optimizers hold it): swap its data in place
                p._data = new._data
                p._vc = [0] if p._vc is None else p._vc
            out = self._parameters[key]
            if grad is not None:
                with grad_mode.no_grad():
                    g = fn(grad)
                if g is not grad and swap:
                    g.requires_grad_(grad.requires_grad)
                    self._swap_converted(key + ".grad", grad, g)
                    out._grad = grad
                elif g is not grad and out is p:
                    grad._data = g._data   # the gradient object stays too (PyTorch's .data =)
                    out._grad = grad
                elif g is not grad:
                    out._grad = g
                else:
                    out._grad = grad
        for key, b in self._buffers.items():
            if b is not None:
                new = fn(b)
                if new is not b:
                    if getattr(b, "_is_buffer", False):
                        new._is_buffer, new._persistent = True, b._persistent
                    self._buffers[key] = new
        return self

    def _swap_converted(self, name, old, new):
        from ...utils import swap_tensors
        try:
            swap_tensors(old, new)
        except Exception as e:
            raise RuntimeError(f"_apply(): Couldn't swap {self._get_name()}.{name}") from e

    def apply(self, fn):
        for m in self.children():
            m.apply(fn)
        fn(self)
        return self

    def to(self, *args, **kwargs):
        from ..._ops.conversion import _parse_to
        kwargs = dict(kwargs)
        memory_format = kwargs.pop("memory_format", None)
        dev, dt, _ = _parse_to(args, kwargs)
        if dt is not None and not (dt.is_floating_point or dt.is_complex):
            raise TypeError(f"nn.Module.to only accepts floating point or complex dtypes, but got "
                            f"desired dtype={dt}")

        def convert(t):
            target_dt = dt if dt is not None and (t.is_floating_point() or t.is_complex()) \
                else None
            if memory_format is not None and t.dim() in (4, 5):   # as PyTorch: 4-D/5-D only
                return t.to(device=dev, dtype=target_dt, memory_format=memory_format)
            return t.to(device=dev, dtype=target_dt)
        return self._apply(convert)

    def to_empty(self, *, device, recurse=True):
        """Give every parameter and buffer (of submodules too, unless recurse=False) new,
        uninitialised memory on `device`: same shapes, dtypes and requires_grad, no values
        copied. The way from a model built on the meta device to a real one, to be filled by
        ``reset_parameters()`` or ``load_state_dict()``."""
        from ..._ops.creation import empty_like
        return self._apply(lambda t: empty_like(t, device=device), recurse=recurse)

    def cpu(self):
        return self._apply(lambda t: t.cpu())

    def cuda(self, device=None):
        return self._apply(lambda t: t.cuda(device))

    def xpu(self, device=None):
        return self._apply(_no_backend(AssertionError,
                                       "Torch not compiled with XPU enabled (ember has no XPU "
                                       "backend)"))

    def ipu(self, device=None):
        return self._apply(_no_backend(RuntimeError,
                                       "PyTorch is not linked with support for ipu devices "
                                       "(ember has no IPU backend)"))

    def mtia(self, device=None):
        return self._apply(_no_backend(AssertionError,
                                       "Torch not compiled with MTIA enabled (ember has no MTIA "
                                       "backend)"))

    def _float_cast(self, dt):
        return self._apply(lambda t: t.to(dt) if t.is_floating_point() else t)

    def float(self):
        from ... import _dtype
        return self._float_cast(_dtype.float32)

    def double(self):
        from ... import _dtype
        return self._float_cast(_dtype.float64)

    def half(self):
        from ... import _dtype
        return self._float_cast(_dtype.float16)

    def bfloat16(self):
        from ... import _dtype
        return self._float_cast(_dtype.bfloat16)

    def type(self, dst_type):
        return self._apply(lambda t: t.type(dst_type))

    # ------------------------------------------------------------------ state dict
    def _save_to_state_dict(self, destination, prefix, keep_vars):
        for name, p in self._parameters.items():
            if p is not None:
                destination[prefix + name] = p if keep_vars else p.detach()
        for name, b in self._buffers.items():
            if b is not None and name not in self._non_persistent_buffers_set:
                destination[prefix + name] = b if keep_vars else b.detach()
        if self._has_extra_state("get_extra_state"):
            destination[prefix + _EXTRA_STATE_KEY_SUFFIX] = self.get_extra_state()

    def _has_extra_state(self, method):
        """Whether this module's class overrides Module.get_extra_state / set_extra_state."""
        return getattr(type(self), method) is not getattr(Module, method)

    def get_extra_state(self):
        """Extra (picklable) state to store in this module's state_dict, under the key
        ``_extra_state``; a subclass that has any defines it with set_extra_state."""
        raise RuntimeError("Reached a code path in Module.get_extra_state() that should never "
                           "be called: only a module that defines get_extra_state and "
                           "set_extra_state has extra state.")

    def set_extra_state(self, state):
        """Restore what get_extra_state returned, from a loaded state_dict."""
        raise RuntimeError("Reached a code path in Module.set_extra_state() that should never "
                           "be called: only a module that defines get_extra_state and "
                           "set_extra_state has extra state.")

    def state_dict(self, *args, destination=None, prefix="", keep_vars=False):
        if args:
            destination = args[0] if len(args) > 0 else destination
            prefix = args[1] if len(args) > 1 else prefix
            keep_vars = args[2] if len(args) > 2 else keep_vars
        if destination is None:
            destination = OrderedDict()
            destination._metadata = OrderedDict()
        # the class's version per module, which its _load_from_state_dict may read back
        local_metadata = dict(version=self._version)
        if hasattr(destination, "_metadata"):
            destination._metadata[prefix[:-1]] = local_metadata
        for hook in self._state_dict_pre_hooks.values():
            hook(self, prefix, keep_vars)
        self._save_to_state_dict(destination, prefix, keep_vars)
        for name, m in self._modules.items():
            if m is not None:
                m.state_dict(destination=destination, prefix=prefix + name + ".",
                             keep_vars=keep_vars)
        for hook in self._state_dict_hooks.values():
            r = hook(self, destination, prefix, local_metadata)
            if r is not None:
                destination = r
        return destination

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys,
                              unexpected_keys, error_msgs):
        """This module's own part of load_state_dict (PyTorch's extension point: a subclass
        may rename or fill keys of `state_dict`, e.g. by `local_metadata["version"]`, and
        then call this). Runs the load pre-hooks, then checks each of its parameters and
        buffers (missing keys, shapes) and adds the copies to load_state_dict's plan, which
        copies them all only if nothing failed; `strict` also lists `prefix` keys of no
        parameter, buffer or submodule as unexpected. Called outside load_state_dict, the
        copies are made at once."""
        for hook in self._load_state_dict_pre_hooks.values():
            hook(state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                 error_msgs)
        loading = getattr(_LOADING, "plan", None)
        plan = [] if loading is None else loading
        local = [(n, p) for n, p in self._parameters.items() if p is not None]
        local += [(n, b) for n, b in self._buffers.items()
                  if b is not None and n not in self._non_persistent_buffers_set]
        for name, param in local:
            key = prefix + name
            if key not in state_dict:
                if strict:
                    missing_keys.append(key)
                continue
            value = state_dict[key]
            if not isinstance(value, Tensor):
                error_msgs.append(f'While copying the parameter named "{key}", expected '
                                  f"torch.Tensor or Tensor-like object from checkpoint but "
                                  f"received {type(value)}")
                continue
            if tuple(value.shape) != tuple(param.shape):
                error_msgs.append(f"size mismatch for {key}: copying a param with shape "
                                  f"{value.shape} from checkpoint, the shape in current model "
                                  f"is {param.shape}.".replace("ember.Size", "torch.Size"))
                continue
            plan.append((self, name, param, value, key))
        extra_key = prefix + _EXTRA_STATE_KEY_SUFFIX
        takes_extra = self._has_extra_state("set_extra_state")
        if takes_extra:
            if extra_key in state_dict:
                plan.append((self, _EXTRA_STATE_KEY_SUFFIX, None, state_dict[extra_key],
                             extra_key))
            elif strict:
                missing_keys.append(extra_key)
        if strict:
            for key in state_dict:
                if key == extra_key and takes_extra:
                    continue
                if key.startswith(prefix):
                    rest = key[len(prefix):]
                    head = rest.split(".", 1)[0]
                    if "." not in rest:
                        if head not in self._parameters and head not in self._buffers:
                            unexpected_keys.append(key)
                        elif head in self._non_persistent_buffers_set:
                            unexpected_keys.append(key)
                    elif head not in self._modules:
                        unexpected_keys.append(key)
        if loading is None and plan:
            self._copy_loaded(plan, False)

    def _load_plan(self, state_dict, prefix, strict, missing, unexpected, errors, plan):
        """load_state_dict's walk: this module's _load_from_state_dict with its metadata
        (the `version` its class had when the checkpoint was saved), then the submodules'."""
        metadata = getattr(_LOADING, "metadata", None)
        local_metadata = {} if metadata is None else metadata.get(prefix[:-1], {})
        self._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing,
                                   unexpected, errors)
        for name, m in self._modules.items():
            if m is not None:
                m._load_plan(state_dict, prefix + name + ".", strict, missing, unexpected, errors,
                             plan)

    def load_state_dict(self, state_dict, strict=True, assign=False):
        """Copy parameters and buffers from `state_dict`; all-or-nothing: on any error the
        module is left unchanged and every problem is reported at once."""
        if not isinstance(state_dict, dict):
            raise TypeError(f"Expected state_dict to be dict-like, got {type(state_dict)}.")
        missing, unexpected, errors, plan = [], [], [], []
        # a copy, as PyTorch's: _load_from_state_dict overrides and pre-hooks may change it
        metadata = getattr(state_dict, "_metadata", None)
        state_dict = OrderedDict(state_dict)
        if metadata is not None:
            state_dict._metadata = metadata
        # missing and unexpected keys are always collected (and returned), as PyTorch's;
        # only strict makes them errors
        outer = getattr(_LOADING, "plan", None), getattr(_LOADING, "metadata", None)
        _LOADING.plan, _LOADING.metadata = plan, metadata
        try:
            self._load_plan(state_dict, "", True, missing, unexpected, errors, plan)
        finally:
            _LOADING.plan, _LOADING.metadata = outer
        if strict:
            if unexpected:
                errors.insert(0, "Unexpected key(s) in state_dict: {}. ".format(
                    ", ".join(f'"{k}"' for k in unexpected)))
            if missing:
                errors.insert(0, "Missing key(s) in state_dict: {}. ".format(
                    ", ".join(f'"{k}"' for k in missing)))
        if errors:
            raise RuntimeError("Error(s) in loading state_dict for {}:\n\t{}".format(
                self._get_name(), "\n\t".join(errors)))
        swap_errors = self._copy_loaded(plan, assign)
        if swap_errors:
            raise RuntimeError("Error(s) in loading state_dict for {}:\n\t{}".format(
                self._get_name(), "\n\t".join(swap_errors)))
        result = _IncompatibleKeys(missing, unexpected)
        for m in self.modules():
            for hook in m._load_state_dict_post_hooks.values():
                hook(m, result)
        return result

    def _copy_loaded(self, plan, assign):
        """Carry out load_state_dict's copies (or assignments, or swaps under __future__'s
        swap setting); returns the swap errors, which PyTorch reports together."""
        swap = future.get_swap_module_params_on_conversion()
        swap_errors = []
        with grad_mode.no_grad():
            for mod, name, param, value, key in plan:
                if param is None:   # the module's extra state
                    mod.set_extra_state(value)
                    continue
                if param.is_meta and not value.is_meta and not assign:
                    warnings.warn(f"for {key}: copying from a non-meta parameter in the checkpoint "
                                  f"to a meta parameter in the current model, which is a no-op. "
                                  f"(Did you mean to pass `assign=True` to assign items in the "
                                  f"state dictionary to their corresponding key in the module "
                                  f"instead of copying them in place?)", UserWarning, stacklevel=4)
                if swap:
                    try:
                        self._swap_loaded(param, value, assign)
                    except Exception as ex:  # noqa: BLE001 - reported with the others, as PyTorch
                        swap_errors.append(
                            f'While swapping the parameter named "{key}", whose dimensions in '
                            f"the model are {param.size()} and whose dimensions in the "
                            f"checkpoint are {value.size()}, an exception occurred : {ex.args}."
                            .replace("ember.Size", "torch.Size"))
                    continue
                if value.device != param.device and not assign:
                    value = value.to(param.device)   # assign=True keeps the loaded tensor's
                if assign:
                    if name in mod._parameters:
                        new = value if isinstance(value, Parameter) else Parameter(
                            value, requires_grad=param.requires_grad)
                        mod._parameters[name] = new
                    else:
                        mod._buffers[name] = value
                else:
                    param._data[...] = value._data.astype(param._data.dtype, copy=False)
                    param._bump_version()
        return swap_errors

    @staticmethod
    def _swap_loaded(param, value, assign):
        """load_state_dict under __future__'s swap: param.module_load(value, assign) (a
        Tensor subclass's extension point) is swapped into the existing object."""
        from ...utils import swap_tensors
        new = param.module_load(value, assign=assign)
        if new is value or new is param:
            raise RuntimeError("module_load returned one of self or other, please .detach() "
                               "the result if returning one of the inputs in module_load")
        if isinstance(param, Parameter) and not isinstance(new, Parameter):
            new = Parameter(new, requires_grad=param.requires_grad)
        elif not isinstance(param, Parameter):
            new.requires_grad_(param.requires_grad)
        swap_tensors(param, new)

    def _register_state_dict_hook(self, hook):
        h = RemovableHandle(self._state_dict_hooks)
        self._state_dict_hooks[h.id] = hook
        return h

    register_state_dict_post_hook = _register_state_dict_hook

    def register_state_dict_pre_hook(self, hook):
        h = RemovableHandle(self._state_dict_pre_hooks)
        self._state_dict_pre_hooks[h.id] = hook
        return h

    def _register_load_state_dict_pre_hook(self, hook, with_module=False):
        h = RemovableHandle(self._load_state_dict_pre_hooks)
        if with_module:
            self._load_state_dict_pre_hooks[h.id] = lambda *a: hook(self, *a)
        else:
            self._load_state_dict_pre_hooks[h.id] = hook
        return h

    def register_load_state_dict_pre_hook(self, hook):
        return self._register_load_state_dict_pre_hook(hook, with_module=True)

    def register_load_state_dict_post_hook(self, hook):
        h = RemovableHandle(self._load_state_dict_post_hooks)
        self._load_state_dict_post_hooks[h.id] = hook
        return h

    # ------------------------------------------------------------------ hooks and call
    def register_forward_pre_hook(self, hook, *, prepend=False, with_kwargs=False):
        h = RemovableHandle(self._forward_pre_hooks)
        self._forward_pre_hooks[h.id] = hook
        if with_kwargs:
            self._forward_pre_hooks_with_kwargs[h.id] = True
        if prepend:
            self._forward_pre_hooks.move_to_end(h.id, last=False)
        return h

    def register_forward_hook(self, hook, *, prepend=False, with_kwargs=False,
                              always_call=False):
        h = RemovableHandle(self._forward_hooks)
        self._forward_hooks[h.id] = hook
        if with_kwargs:
            self._forward_hooks_with_kwargs[h.id] = True
        if always_call:
            self._forward_hooks_always_called[h.id] = True
        if prepend:
            self._forward_hooks.move_to_end(h.id, last=False)
        return h

    def register_full_backward_hook(self, hook, prepend=False):
        if self.__dict__.get("_is_full_backward_hook") is False:
            from ._backward_hooks import _MIXED
            raise RuntimeError(_MIXED)
        self.__dict__["_is_full_backward_hook"] = True
        h = RemovableHandle(self._backward_hooks)
        self._backward_hooks[h.id] = hook
        if prepend:
            self._backward_hooks.move_to_end(h.id, last=False)
        return h

    def register_full_backward_pre_hook(self, hook, prepend=False):
        h = RemovableHandle(self._backward_pre_hooks)
        self._backward_pre_hooks[h.id] = hook
        if prepend:
            self._backward_pre_hooks.move_to_end(h.id, last=False)
        return h

    def register_backward_hook(self, hook):
        """Deprecated (register_full_backward_hook is the module-level hook): hook(module,
        grad_input, grad_output) on the autograd node that made the module's output, so
        grad_input holds that node's input gradients (a convolution's input, weight and
        bias), as PyTorch's (see _backward_hooks.attach_node_hooks)."""
        if self.__dict__.get("_is_full_backward_hook") is True:
            from ._backward_hooks import _MIXED
            raise RuntimeError(_MIXED)
        self.__dict__["_is_full_backward_hook"] = False
        h = RemovableHandle(self._backward_hooks)
        self._backward_hooks[h.id] = hook
        return h

    def __call__(self, *args, **kwargs):
        if self._compiled_call_impl is not None:
            return self._compiled_call_impl(*args, **kwargs)
        return self._call_impl(*args, **kwargs)

    def _call_impl(self, *args, **kwargs):
        """The call itself: forward with the module's hooks around it."""
        if not (self._forward_pre_hooks or self._forward_hooks or self._backward_hooks
                or self._backward_pre_hooks or _global_forward_hooks
                or _global_forward_pre_hooks):
            return self.forward(*args, **kwargs)
        return self._call_with_hooks(args, kwargs)

    def _call_with_hooks(self, args, kwargs):
        for hid, hook in itertools.chain(_global_forward_pre_hooks.items(),
                                         self._forward_pre_hooks.items()):
            if hid in self._forward_pre_hooks_with_kwargs:
                r = hook(self, args, kwargs)
                if r is not None:
                    args, kwargs = r
            else:
                r = hook(self, args)
                if r is not None:
                    args = r if isinstance(r, tuple) else (r,)
        bw = None
        node_hooks = self.__dict__.get("_is_full_backward_hook") is False
        if (self._backward_hooks and not node_hooks) or self._backward_pre_hooks:
            from ._backward_hooks import BackwardHookState
            bw = BackwardHookState(self)
            args = bw.wrap_inputs(args)
        result = self.forward(*args, **kwargs)
        for hid, hook in itertools.chain(_global_forward_hooks.items(),
                                         self._forward_hooks.items()):
            if hid in self._forward_hooks_with_kwargs:
                r = hook(self, args, kwargs, result)
            else:
                r = hook(self, args, result)
            if r is not None:
                result = r
        if bw is not None:
            result = bw.wrap_outputs(result)
        if node_hooks and self._backward_hooks and grad_mode.GRAD_ENABLED[0]:
            from ._backward_hooks import attach_node_hooks
            attach_node_hooks(self, args, result)
        return result

    def compile(self, *args, **kwargs):
        """Call this module through ``torch.compile(self._call_impl, *args, **kwargs)``
        from now on (ember's compile runs it eagerly); parameters and state_dict keys are
        unchanged, unlike wrapping the module with torch.compile."""
        from ..._threads import compile as _compile
        self._compiled_call_impl = _compile(self._call_impl, *args, **kwargs)

    def __getstate__(self):
        # a compiled call is not pickled, as in PyTorch: the copy calls forward eagerly
        state = self.__dict__.copy()
        state.pop("_compiled_call_impl", None)
        return state

    def _replicate_for_data_parallel(self):
        """A shallow copy for DataParallel: shares submodules and buffers dicts' contents,
        with its own (empty) parameter dict that replicate() fills."""
        replica = self.__new__(type(self))
        replica.__dict__ = self.__dict__.copy()
        replica._parameters = {}
        replica._buffers = replica._buffers.copy()
        replica._modules = replica._modules.copy()
        replica._is_replica = True
        return replica

    # ------------------------------------------------------------------ repr
    def extra_repr(self):
        return ""

    def _get_name(self):
        return type(self).__name__

    def __repr__(self):
        extra = self.extra_repr()
        extra_lines = extra.split("\n") if extra else []
        child_lines = []
        for key, module in self._modules.items():
            child_lines.append("(" + key + "): " + _addindent(repr(module), 2))
        lines = extra_lines + child_lines
        s = self._get_name() + "("
        if lines:
            if len(extra_lines) == 1 and not child_lines:
                s += extra_lines[0]
            else:
                s += "\n  " + "\n  ".join(lines) + "\n"
        return s + ")"


def register_module_forward_hook(hook):
    h = RemovableHandle(_global_forward_hooks)
    _global_forward_hooks[h.id] = hook
    return h


def register_module_forward_pre_hook(hook):
    h = RemovableHandle(_global_forward_pre_hooks)
    _global_forward_pre_hooks[h.id] = hook
    return h
