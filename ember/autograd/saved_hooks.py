"""Hooks on saved tensors (torch.autograd.graph.saved_tensors_hooks, save_on_cpu,
disable_saved_tensors_hooks), public as ``ember.autograd.graph.*``.

While hooks are in force, every tensor an op or an ``autograd.Function`` saves for backward
goes through ``pack_hook(tensor)`` and is stored as whatever that returns; when backward
reads it, ``unpack_hook(packed)`` must give a Tensor back. Only the innermost hooks apply.
As in PyTorch, pack hooks run with grad mode off, a pack hook must not modify its input in
place, and a tensor saved through hooks is not checked for later in-place modification
(the hooks may have copied it). Arrays an op keeps for itself rather than as saved tensors
(a max-pooling's indices, a dropout mask) do not pass through the hooks.
"""
import threading

from . import grad_mode


class _ThreadHooks(threading.local):
    def __init__(self):
        # this thread's hooks in force, innermost last: (pack_hook, unpack_hook). Per
        # thread, as PyTorch's: a thread started inside saved_tensors_hooks has none
        self.stack = []
        # the message to raise when hooks are registered under disable_saved_tensors_hooks
        # (None: allowed), and the messages the enclosing disable blocks had, innermost last
        self.disabled = None
        self.disabled_before = []


_THREAD = _ThreadHooks()
# one entry per saved_tensors_hooks entered in any thread and not yet left: while empty,
# saving skips the per-thread lookup (graph.save_tensor)
SAVED_HOOKS = []


class HookedSave:
    """A tensor saved while hooks were in force: what pack_hook made of it, and the
    unpack_hook that turns that back into a Tensor."""
    __slots__ = ("packed", "unpack_hook")

    def __init__(self, packed, unpack_hook):
        self.packed = packed
        self.unpack_hook = unpack_hook

    def unpack(self):
        from .._tensor import Tensor
        t = self.unpack_hook(self.packed)
        if not isinstance(t, Tensor):
            raise TypeError("Output of saved tensor unpack_hook expected to be a Tensor but got "
                            f"result of type {type(t).__name__}")
        return t


def pack(t):
    """Save tensor `t` through this thread's innermost pack hook; None when this thread has
    no hooks in force (the caller saves `t` as usual)."""
    stack = _THREAD.stack
    if not stack:
        return None
    pack_hook, unpack_hook = stack[-1]
    vc = t._vc
    if vc is None:
        vc = t._vc = [0]
    version = vc[0]
    with grad_mode.no_grad():
        packed = pack_hook(t)
    if vc[0] != version:
        raise RuntimeError(
            "A saved tensor pack hook is modifying its input in place. Tensors provided as input "
            "to pack hook cannot be modified by in-place operations as this can lead to "
            "unexpected side-effects. Please open an issue if you need to perform in-place "
            "operations on the input to a pack hook.")
    return HookedSave(packed, unpack_hook)


class saved_tensors_hooks:
    """Context manager: tensors saved for backward inside it are stored as
    ``pack_hook(tensor)`` and read back as ``unpack_hook(packed)``."""

    def __init__(self, pack_hook, unpack_hook):
        self.pack_hook = pack_hook
        self.unpack_hook = unpack_hook

    def __enter__(self):
        if _THREAD.disabled is not None:
            raise RuntimeError(_THREAD.disabled)
        _THREAD.stack.append((self.pack_hook, self.unpack_hook))
        SAVED_HOOKS.append(None)
        return self

    def __exit__(self, *exc):
        _THREAD.stack.pop()
        SAVED_HOOKS.pop()


class save_on_cpu(saved_tensors_hooks):
    """Saved tensors are kept in CPU memory (pinned with `pin_memory` when CUDA is there)
    and copied back to their device when backward reads them."""

    def __init__(self, pin_memory=False, device_type="cuda"):
        def pack_to_cpu(tensor):
            if not pin_memory:
                return tensor.device, tensor.cpu()
            from .. import cuda
            from .._ops.creation import empty
            packed = empty(tensor.size(), dtype=tensor.dtype,
                           pin_memory=cuda.is_available())
            packed.copy_(tensor)
            return tensor.device, packed

        def unpack_from_cpu(packed):
            device, tensor = packed
            return tensor.to(device, non_blocking=pin_memory)

        super().__init__(pack_to_cpu, unpack_from_cpu)


class disable_saved_tensors_hooks:
    """Context manager (or decorator) under which registering saved-tensor hooks raises
    RuntimeError(error_message). Per thread, as PyTorch's: another thread may register
    hooks meanwhile. Entering it while this thread has hooks in force raises the message."""

    def __init__(self, error_message):
        self.error_message = error_message

    def __enter__(self):
        state = _THREAD
        if state.stack:
            raise RuntimeError(self.error_message)
        state.disabled_before.append(state.disabled)
        state.disabled = self.error_message
        return self

    def __exit__(self, *exc):
        state = _THREAD
        state.disabled = state.disabled_before.pop()

    def __call__(self, fn):
        import functools
        message = self.error_message

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with disable_saved_tensors_hooks(message):
                return fn(*args, **kwargs)
        return wrapper
