"""OptimizedModule: what ``torch.compile(module)`` returns.

ember does not compile, but the wrapper is what programs see of a compiled module, so it is
kept as PyTorch's: the original module is its one child ``_orig_mod`` (so ``state_dict``
keys read ``_orig_mod.linear.weight``, ``model._orig_mod`` unwraps it and
``isinstance(m, OptimizedModule)`` tells a compiled module), calling it runs the original
module (eagerly), and every other attribute read or written goes to the original module.
"""
from ..nn.modules.module import Module

__all__ = ["OptimizedModule"]


class OptimizedModule(Module):
    """A module returned by ``compile(mod)``: forwards to ``mod``, registered as
    ``_orig_mod``."""

    # attributes that belong to the wrapper itself; any other goes to the original module
    _opt_mod_attributes = {"_orig_mod", "dynamo_ctx", "_torchdynamo_orig_callable", "forward",
                           "__dict__", "_super_module_initialized"}

    def __init__(self, mod, dynamo_ctx=None):
        # reachable while Module.__init__ runs (attribute access forwards to it)
        object.__setattr__(self, "_orig_mod", mod)
        object.__setattr__(self, "_super_module_initialized", False)
        super().__init__()
        self._super_module_initialized = True
        self._orig_mod = mod    # registered as the one child module
        self.dynamo_ctx = dynamo_ctx
        object.__setattr__(self, "_torchdynamo_orig_callable", mod)   # not a second child
        self.forward = mod.__call__   # the original module with its own hooks, run eagerly

    @property
    def training(self):
        return self._orig_mod.training

    @training.setter
    def training(self, value):
        if self._super_module_initialized:
            self._orig_mod.training = value

    def __len__(self):
        try:
            return len(self._orig_mod)
        except TypeError:
            raise TypeError(f"{type(self._orig_mod).__name__} does not support len()") from None

    def __getattr__(self, name):
        if name == "_orig_mod":
            return self.__dict__["_modules"]["_orig_mod"]
        return getattr(self._orig_mod, name)

    def __setattr__(self, name, value):
        if hasattr(type(self), name) or name in OptimizedModule._opt_mod_attributes:
            return super().__setattr__(name, value)
        return setattr(self._orig_mod, name, value)

    def __delattr__(self, name):
        if hasattr(type(self), name) or name in OptimizedModule._opt_mod_attributes:
            return super().__delattr__(name)
        return delattr(self._orig_mod, name)

    def __reduce__(self):
        return (self.__class__, (self._orig_mod, self.dynamo_ctx))

    def __dir__(self):
        own = self._orig_mod.__dir__()
        return own + [a for a in super().__dir__() if a not in own]
