"""LazyModuleMixin: modules whose parameter shapes are inferred from their first input.

A lazy module (``LazyLinear``, ``LazyConv2d``, ``LazyBatchNorm1d`` ...) starts with
``UninitializedParameter``/``UninitializedBuffer`` in place of the tensors whose shape
depends on the input (``in_features``, ``in_channels``, ``num_features``). A forward
pre-hook runs ``initialize_parameters(*args, **kwargs)`` on the first call: it
materializes every uninitialized tensor with the shape read off the input and runs the
module's usual ``reset_parameters`` (so the weights follow the same distribution as the
non-lazy module's). The hooks are then removed and the module's class becomes
``cls_to_become`` (``type(LazyLinear(4))`` is ``Linear`` after the first call).

Loading a state dict into a lazy module materializes each uninitialized tensor with the
checkpoint's shape before copying (a load pre-hook), without switching the class: the
next forward finishes the initialization.
"""
import itertools

from ...autograd import grad_mode
from ..parameter import is_lazy

__all__ = ["LazyModuleMixin"]


class LazyModuleMixin:
    """Mixin for modules that infer their parameters' shapes from the first input.

    A subclass defines ``initialize_parameters(*args, **kwargs)`` (materialize every
    uninitialized tensor from the input's shape, then reset the parameters) and names its
    non-lazy class in ``cls_to_become``.
    """
    cls_to_become = None

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._load_hook = self._register_load_state_dict_pre_hook(self._lazy_load_hook)
        self._initialize_hook = self.register_forward_pre_hook(self._infer_parameters,
                                                               with_kwargs=True)

    def _save_to_state_dict(self, destination, prefix, keep_vars):
        # an uninitialized tensor is saved as itself: detaching it would read its data
        for name, param in self._parameters.items():
            if param is not None:
                destination[prefix + name] = param if keep_vars or is_lazy(param) \
                    else param.detach()
        for name, buf in self._buffers.items():
            if buf is not None and name not in self._non_persistent_buffers_set:
                destination[prefix + name] = buf if keep_vars or is_lazy(buf) else buf.detach()

    def _lazy_load_hook(self, state_dict, prefix, local_metadata, strict, missing_keys,
                        unexpected_keys, error_msgs):
        """Materialize each uninitialized tensor that the checkpoint holds an initialized
        value for, with that value's shape (the copy then fills it)."""
        for name, param in itertools.chain(self._parameters.items(), self._buffers.items()):
            key = prefix + name
            if param is not None and key in state_dict and is_lazy(param) \
                    and not is_lazy(state_dict[key]):
                with grad_mode.no_grad():
                    param.materialize(state_dict[key].shape)

    def _load_plan(self, state_dict, prefix, strict, missing, unexpected, errors, plan):
        # An uninitialized tensor given an uninitialized checkpoint value has nothing to
        # copy (PyTorch copies an empty tensor into an empty one): leave it out of the
        # copy plan, and of the missing keys.
        skipped = []
        for name, param in itertools.chain(self._parameters.items(), self._buffers.items()):
            key = prefix + name
            if is_lazy(param) and is_lazy(state_dict.get(key)):
                skipped.append(key)
        if skipped:
            state_dict = {k: v for k, v in state_dict.items() if k not in skipped}
            n_missing = len(missing)
        super()._load_plan(state_dict, prefix, strict, missing, unexpected, errors, plan)
        if skipped:
            missing[n_missing:] = [k for k in missing[n_missing:] if k not in skipped]

    def initialize_parameters(self, *args, **kwargs):
        """Materialize the uninitialized tensors from the shapes of the first input."""
        raise NotImplementedError(
            f"initialize_parameters is not implemented for {self.__class__.__name__}")

    def has_uninitialized_params(self):
        """Whether any parameter or buffer of this module (not its children) is
        uninitialized."""
        return any(is_lazy(t) for t in itertools.chain(self._parameters.values(),
                                                       self._buffers.values()))

    def _infer_parameters(self, module, args, kwargs=None):
        """The forward pre-hook: initialize from the first input, then become
        ``cls_to_become``."""
        module.initialize_parameters(*args, **(kwargs or {}))
        if module.has_uninitialized_params():
            raise RuntimeError(f"module {self._get_name()} has not been fully initialized")
        module._initialize_hook.remove()
        module._load_hook.remove()
        delattr(module, "_initialize_hook")
        delattr(module, "_load_hook")
        if module.cls_to_become is not None:
            module.__class__ = module.cls_to_become

    def _replicate_for_data_parallel(self):
        raise RuntimeError("Modules with uninitialized parameters can't be used with "
                           "`DataParallel`. Run a dummy forward pass to correctly initialize "
                           "the modules")
