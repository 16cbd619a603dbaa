"""ember.utils.module_tracker (``torch.utils.module_tracker``): which modules are running.

``ModuleTracker().parents`` is the set of the fully qualified names of the modules whose
forward is running (``"Global"`` always among them), and, during backward, of the modules
whose backward is running: a module enters when the gradients of its outputs are all
known and leaves when those of its inputs are (hooks on the tensors, as PyTorch's). A
module's name is its class name for a root module and ``<parent>.<attribute>`` below it.
A module whose inputs need no gradient stays in `parents` until the backward pass ends
(PyTorch resets the set then; ember resets it when the next forward starts).
"""
import weakref

from ..autograd.graph import register_multi_grad_hook
from ..autograd.engine import _ENGINE
from ..nn.modules.module import register_module_forward_hook, register_module_forward_pre_hook
from .._tensor import Tensor
from ._pytree import tree_flatten

__all__ = ["ModuleTracker"]


def _backward_running():
    return bool(_ENGINE.__dict__.get("tasks"))


class ModuleTracker:
    """Context manager: `parents` holds the names of the modules running now."""

    def __init__(self):
        self.parents = {"Global"}
        self._known_modules = weakref.WeakKeyDictionary()
        self._seen_modules = weakref.WeakSet()
        self._hooks = []
        self._entered_in_backward = set()

    @property
    def is_bw(self):
        """Whether a backward pass is running."""
        return _backward_running()

    def _get_mod_name(self, mod):
        if mod not in self._known_modules:
            self._known_modules[mod] = type(mod).__name__
        name = self._known_modules[mod]
        if mod not in self._seen_modules:
            for child_name, child in mod.named_children():
                self._known_modules[child] = f"{name}.{child_name}"
                self._get_mod_name(child)
            self._seen_modules.add(mod)
        return name

    def _enter(self, name, backward):
        def enter(*args):
            self.parents.add(name)
            if backward:
                self._entered_in_backward.add(name)
        return enter

    def _leave(self, name):
        def leave(*args):
            self.parents.discard(name)
            self._entered_in_backward.discard(name)
        return leave

    def _fw_pre_hook(self, mod, inputs):
        if not _backward_running() and self._entered_in_backward:
            # a backward pass ended since: the modules it left in the set leave now
            self.parents -= self._entered_in_backward
            self._entered_in_backward.clear()
        name = self._get_mod_name(mod)
        self._enter(name, False)()
        tensors = [a for a in tree_flatten(inputs)[0] if isinstance(a, Tensor) and a.requires_grad]
        if tensors:
            self._hooks.append(register_multi_grad_hook(tensors, self._leave(name)))

    def _fw_post_hook(self, mod, inputs, output):
        name = self._get_mod_name(mod)
        self._leave(name)()
        tensors = [a for a in tree_flatten(output)[0] if isinstance(a, Tensor) and a.requires_grad]
        if tensors:
            self._hooks.append(register_multi_grad_hook(tensors, self._enter(name, True)))

    def __enter__(self):
        self._fw_pre_handle = register_module_forward_pre_hook(self._fw_pre_hook)
        self._fw_post_handle = register_module_forward_hook(self._fw_post_hook)
        return self

    def __exit__(self, *args):
        self._fw_pre_handle.remove()
        self._fw_post_handle.remove()
        for hook in self._hooks:
            hook.remove()
        self._hooks.clear()
