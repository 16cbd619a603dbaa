"""The modules and objects ``ember.jit.load`` returns.

A ``RecursiveScriptModule`` is an ``nn.Module`` built from one pickled object of an
archive: its ``__parameters__`` become Parameters, its ``__buffers__`` buffers, attributes
holding archive modules become submodules, and the rest plain attributes, so
``named_parameters``, ``state_dict``, ``train``/``eval`` and ``to`` work as on any module.
Its methods are the class's TorchScript definitions, run by the interpreter: ``m(x)`` runs
``forward``, ``m.other(x)`` another method. ``ScriptObject`` is the same for an instance
of a TorchScript class (not a module).
"""
from collections import namedtuple

from ..nn import Module as _Module
from ..nn.parameter import Parameter
from .._tensor import Tensor
from . import _interp


# names kept by nn.Module itself, never taken from an archive's attribute table
_MODULE_OWN = frozenset({"training"})


Attribute = namedtuple("Attribute", ["value", "type"])


class ScriptModule(_Module):
    """Base class of TorchScript modules. A subclass written in Python is an ordinary
    Module here; an ``Attribute(value, type)`` assigned to it is stored as its value."""

    def __setattr__(self, name, value):
        if type(value) is Attribute:
            value = value.value
        super().__setattr__(name, value)


class RecursiveScriptModule(ScriptModule):
    """A module read from a TorchScript archive; its methods run in ember's interpreter
    of TorchScript code."""

    def __init__(self, script_class, interp):
        super().__init__()
        object.__setattr__(self, "_script_class", script_class)
        object.__setattr__(self, "_interp", interp)
        # the archive's plain attributes (ints, lists, strings, tensors that are neither
        # parameters nor buffers) live in their own dict, never in the instance's
        # __dict__: a pickled name can then not shadow a method or Module's bookkeeping
        object.__setattr__(self, "_script_values", {})

    # ------------------------------------------------------------------ building
    def _init_state(self, state, tensor_of):
        """Fill the module from its pickled attribute dict; `tensor_of(t)` gives the
        Parameter or buffer object that stands for a pickled tensor `t`."""
        cls = self._script_class
        for name, value in state.items():
            if (name in cls.parameters or name in cls.buffers) and \
                    not (value is None or isinstance(value, Tensor)):
                raise RuntimeError(f"TorchScript archive: {cls.qualname}.{name} is listed as "
                                   f"a parameter or buffer but holds a "
                                   f"{type(value).__name__}")
            if name in cls.parameters:
                self.register_parameter(name, None if value is None else
                                        tensor_of(value, "parameter"))
            elif name in cls.buffers:
                self.register_buffer(name, None if value is None else tensor_of(value, "buffer"))
            elif isinstance(value, _Module):
                self.add_module(name, value)
            elif name == "training":
                object.__setattr__(self, "training", bool(value))
            else:
                self._script_values[name] = value

    # ------------------------------------------------------------------ running
    def forward(self, *args, **kwargs):
        if "forward" not in self._script_class.methods:
            raise AttributeError(f"'RecursiveScriptModule' object has no attribute 'forward'")
        return self._interp.call(self._script_class.methods["forward"], (self,) + args, kwargs)

    def __getattr__(self, name):
        try:
            return super().__getattr__(name)
        except AttributeError:
            pass
        values = self.__dict__.get("_script_values")
        if values is not None and name in values:
            return values[name]
        cls = self.__dict__.get("_script_class")
        if cls is not None:
            if name in cls.methods:
                return _interp.BoundMethod(self._interp, self, cls.methods[name])
            if name in cls.constants:
                return cls.constants[name]
        raise AttributeError(f"'RecursiveScriptModule' object has no attribute '{name}'")

    def _script_getattr(self, name, interp):
        """An attribute as TorchScript code reads it (``self.weight``, ``(l).forward``)."""
        cls = self._script_class
        if name in cls.methods:
            return _interp.BoundMethod(interp, self, cls.methods[name])
        d = self.__dict__
        for store in ("_parameters", "_buffers", "_modules"):
            if name in d[store]:
                return d[store][name]
        if name == "training":
            return self.training
        if name in self._script_values:
            return self._script_values[name]
        if name in cls.constants:
            return cls.constants[name]
        raise AttributeError(f"TorchScript module {cls.name} has no attribute '{name}'")

    def _script_setattr(self, name, value):
        d = self.__dict__
        if name in d["_parameters"] or name in d["_buffers"] or name in d["_modules"] or \
                name == "training":
            setattr(self, name, value)
        elif name in self._script_values or name in self._script_class.attributes:
            self._script_values[name] = value
        else:
            raise AttributeError(f"TorchScript module {self._script_class.name} has no "
                                 f"attribute '{name}' to assign")

    # ------------------------------------------------------------------ PyTorch's API
    @property
    def original_name(self):
        return self._script_class.name

    @property
    def code(self):
        """The TorchScript source of ``forward``."""
        if "forward" not in self._script_class.methods:
            raise AttributeError("'RecursiveScriptModule' object has no attribute 'code'")
        return self._script_class.method_source("forward")

    @property
    def graph(self):
        raise NotImplementedError("ember.jit: a loaded module has no TorchScript graph (ember "
                                  "interprets the archive's code); read .code instead")

    def save(self, f, _extra_files=None):
        from ._archive import save
        save(self, f, _extra_files)

    def _apply(self, fn, recurse=True):
        """As Module._apply, and plain attributes that held a converted tensor (an LSTM's
        ``_flat_weights`` list) are pointed at the new one."""
        before = {id(t): t for t in self._own_tensors()}
        out = super()._apply(fn, recurse)
        after = {id(old): new for old, new in zip(before.values(), self._own_tensors())}
        swap = {k: v for k, v in after.items() if v is not before[k]}
        if swap:
            for name, value in self._script_values.items():
                self._script_values[name] = _replace(value, swap)
        return out

    def _own_tensors(self):
        return [t for t in list(self._parameters.values()) + list(self._buffers.values())
                if t is not None]

    def extra_repr(self):
        return f"original_name={self.original_name}"

    def __repr__(self):
        if not self._modules:
            return f"RecursiveScriptModule(original_name={self.original_name})"
        lines = [f"  original_name={self.original_name}"]
        for name, m in self._modules.items():
            sub = repr(m).replace("\n", "\n  ")
            lines.append(f"  ({name}): {sub}")
        return "RecursiveScriptModule(\n" + "\n".join(lines) + "\n)"


class TaggedList(list):
    """A list attribute with the TorchScript type the archive pickled it with: a type tag
    (``"List[str]"``) or the name of the builder (``"build_tensorlist"``), so that saving
    writes it back as TorchScript's loader expects."""

    def __init__(self, values, tag):
        super().__init__(values)
        self.tag = tag


class TaggedDict(dict):
    """A dict attribute with its TorchScript type tag (``"Dict[str, Tensor]"``)."""

    def __init__(self, values, tag):
        super().__init__(values)
        self.tag = tag


def retag(old, new):
    """`new` (a rebuilt list or dict) with `old`'s TorchScript tag, if it had one."""
    tag = getattr(old, "tag", None)
    if tag is None:
        return new
    return TaggedList(new, tag) if isinstance(new, list) else TaggedDict(new, tag)


def _replace(value, swap):
    if isinstance(value, Tensor):
        return swap.get(id(value), value)
    if isinstance(value, list):
        return retag(value, [_replace(v, swap) for v in value])
    if isinstance(value, tuple) and type(value) is tuple:
        return tuple(_replace(v, swap) for v in value)
    if isinstance(value, dict):
        return retag(value, {k: _replace(v, swap) for k, v in value.items()})
    return value


class ScriptObject:
    """An instance of a TorchScript class (``class Foo(object)`` in the archive's code)."""

    def __init__(self, script_class, interp, state):
        object.__setattr__(self, "_script_class", script_class)
        object.__setattr__(self, "_interp", interp)
        object.__setattr__(self, "_state", dict(state))

    def _script_getattr(self, name, interp):
        if name in self._script_class.methods:
            return _interp.BoundMethod(interp, self, self._script_class.methods[name])
        if name in self._state:
            return self._state[name]
        if name in self._script_class.constants:
            return self._script_class.constants[name]
        raise AttributeError(f"TorchScript object {self._script_class.name} has no "
                             f"attribute '{name}'")

    def _script_setattr(self, name, value):
        self._state[name] = value

    def __getattr__(self, name):
        try:
            return self._script_getattr(name, self._interp)
        except AttributeError:
            raise AttributeError(f"'ScriptObject' object has no attribute '{name}'") from None


def as_parameter(t):
    """A loaded tensor as a Parameter (its requires_grad flag kept)."""
    return Parameter(t, requires_grad=t.requires_grad) if not isinstance(t, Parameter) else t
