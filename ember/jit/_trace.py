"""What ``ember.jit.trace`` of a module returns: a ``TopLevelTracedModule``, as PyTorch's.

PyTorch's ``torch.jit.trace(module, example)`` returns a ``torch.jit._trace.
TopLevelTracedModule`` (a ``ScriptModule``): not an instance of the module's own class,
its ``repr`` reads ``Net(original_name=Net ...)``, it has ``.code``, ``.graph`` and
``.save``, and it shares its parameters and buffers with the module it traced; its Python
attributes and methods other than ``forward`` are gone (AttributeError).

ember has no TorchScript compiler, so the traced module here runs the traced module's own
``forward`` eagerly on every call (PyTorch runs the recorded graph, which keeps the
example's control flow: a forward that branches on values gives PyTorch's trace-time
branch, ember's the branch of each input). It shares the module's parameter, buffer,
submodule and hook tables, so ``state_dict``, ``parameters``, ``to``, optimizers and
``load_state_dict`` act on the same tensors; ``train``/``eval`` set both. ``.code`` is the
TorchScript code ``ember.jit.save`` writes for the module (_codegen.py), ``.save`` is
``ember.jit.save`` of the module.
"""
import functools
import weakref

from ..nn import Module
from ._script_module import ScriptModule

__all__ = ["TracedModule", "TopLevelTracedModule"]

# Module's bookkeeping tables, shared with the traced module (not its training flag)
_SHARED = ("_parameters", "_buffers", "_non_persistent_buffers_set", "_modules",
           "_forward_hooks", "_forward_hooks_with_kwargs", "_forward_hooks_always_called",
           "_forward_pre_hooks", "_forward_pre_hooks_with_kwargs", "_backward_hooks",
           "_backward_pre_hooks", "_state_dict_hooks", "_state_dict_pre_hooks",
           "_load_state_dict_pre_hooks", "_load_state_dict_post_hooks")


class TracedModule(ScriptModule):
    """A module seen through ``ember.jit.trace`` (see the module docstring)."""

    def __init__(self, orig):
        super().__init__()
        object.__setattr__(self, "_actual_module", orig)
        object.__setattr__(self, "training", orig.training)
        for key in _SHARED:
            if key in orig.__dict__:
                object.__setattr__(self, key, orig.__dict__[key])

    def forward(self, *args, **kwargs):
        orig = self.__dict__["_actual_module"]
        return type(orig).forward(orig, *args, **kwargs)

    def __getattr__(self, name):
        try:
            return super().__getattr__(name)
        except AttributeError:
            pass
        # (PyTorch's words: its traced module's attributes live in a RecursiveScriptModule)
        raise AttributeError(f"'RecursiveScriptModule' object has no attribute '{name}'")

    def train(self, mode=True):
        self.__dict__["_actual_module"].train(mode)
        return super().train(mode)

    def __reduce_ex__(self, protocol):
        # (PyTorch's ScriptModules cannot be pickled: torch.save of one raises this)
        kind = type(self.__dict__["_actual_module"])
        module = kind.__module__
        module = "" if module == "__main__" else "torch" + module[len("ember"):] + "." \
            if module == "ember" or module.startswith("ember.") else module + "."
        raise RuntimeError(f"Tried to serialize object __torch__.{module}{kind.__name__} "
                           f"which does not have a __getstate__ method defined!")

    def __deepcopy__(self, memo):
        import copy
        out = traced(copy.deepcopy(self.__dict__["_actual_module"], memo))
        object.__setattr__(out, "training", self.training)
        return out

    @property
    def original_name(self):
        return type(self.__dict__["_actual_module"]).__name__

    def _get_name(self):
        return self.original_name

    def extra_repr(self):
        return f"original_name={self.original_name}"

    def __repr__(self):
        lines = [f"original_name={self.original_name}"]
        for name, child in self._modules.items():
            text = repr(child) if isinstance(child, ScriptModule) else _script_repr(child)
            lines.append(f"({name}): " + text.replace("\n", "\n  "))
        if len(lines) == 1:
            return f"{self.original_name}({lines[0]})"
        return f"{self.original_name}(\n  " + "\n  ".join(lines) + "\n)"

    @property
    def code(self):
        """The TorchScript source of ``forward`` that ``ember.jit.save`` writes."""
        from ._codegen import script_module
        return script_module(self.__dict__["_actual_module"]).code

    @property
    def graph(self):
        raise NotImplementedError("ember.jit: a traced module has no TorchScript graph (ember "
                                  "has no TorchScript compiler); read .code instead")

    inlined_graph = graph

    def save(self, f, _extra_files=None):
        from ._archive import save
        save(self, f, _extra_files)


class TopLevelTracedModule(TracedModule):
    """What ``ember.jit.trace`` / ``trace_module`` return for a module."""


def _script_repr(m):
    """A submodule as PyTorch prints the submodules of a traced module."""
    name = type(m).__name__
    if not m._modules:
        return f"{name}(original_name={name})"
    lines = [f"original_name={name}"]
    for key, child in m._modules.items():
        lines.append(f"({key}): " + _script_repr(child).replace("\n", "\n  "))
    return f"{name}(\n  " + "\n  ".join(lines) + "\n)"


def actual_module(m):
    """The module a traced module stands for (`m` itself otherwise)."""
    return m.__dict__.get("_actual_module", m) if isinstance(m, TracedModule) else m


_CLASSES = weakref.WeakKeyDictionary()   # module class -> its TopLevelTracedModule class


def _traced_class(kind):
    """A TopLevelTracedModule subclass whose ``forward`` wraps `kind`'s (so that
    ember.fx, and what traces with it, reads the original's arguments)."""
    if kind not in _CLASSES:
        original = kind.forward

        @functools.wraps(original)
        def forward(self, *args, **kwargs):
            orig = self.__dict__["_actual_module"]
            return type(orig).forward(orig, *args, **kwargs)
        _CLASSES[kind] = type("TopLevelTracedModule", (TopLevelTracedModule,),
                              {"forward": forward, "__module__": __name__,
                               "__qualname__": "TopLevelTracedModule"})
    return _CLASSES[kind]


def traced(m):
    """`m` as ``ember.jit.trace`` returns it: a TopLevelTracedModule over a plain module;
    a script module (loaded, or traced already) as it is."""
    if isinstance(m, ScriptModule) or not isinstance(m, Module):
        return m
    return _traced_class(type(m))(m)
