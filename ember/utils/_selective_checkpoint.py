"""Selective activation checkpointing (``torch.utils.checkpoint``'s
``create_selective_checkpoint_contexts``, ``CheckpointPolicy``).

``checkpoint(f, x, use_reentrant=False, context_fn=partial(
create_selective_checkpoint_contexts, policy))`` recomputes ``f`` in backward as plain
checkpointing does, except the ops the policy chooses to save: their outputs are kept
from the forward and handed back, not recomputed. The two contexts are
``__torch_dispatch__`` modes (ember/utils/_python_dispatch.py), so the policy sees each
ATen overload ``f`` runs (``ember.ops.aten.mm.default`` ...), with its arguments, as
PyTorch 2.13 shows them:

- during the forward, a caching mode runs each op, then asks the policy
  ``policy(ctx, op, *args, **kwargs)`` (``ctx.op_output`` is the output;
  ``ctx.is_recompute`` is always False) and notes, per op and per call of it, either
  the (detached) output for ``MUST_SAVE``/``PREFER_SAVE`` (or ``True``) or "recompute";
- during the recomputation a cached mode, without asking the policy again, hands back
  the noted output of the n-th call of each op, or runs the op where "recompute" was
  noted. A cached output written in place since is refused unless
  ``allow_cache_entry_mutation``; an output is handed back once: a second backward
  through the region raises, as PyTorch's.

A list of overloads is the policy "save these, recompute the rest". ``aten.detach`` is
never asked about (`SAC_IGNORED_OPS`). The CPU_OFFLOAD policies recompute in eager mode,
as PyTorch's. ember's op overloads are those its ops report (ember/_ops/aten.py),
PyTorch's for the common ops; an op ember composes from others is seen as those others.
"""
import enum
from collections import defaultdict

from .._ops.aten import OpOverload, OpOverloadPacket, aten
from ._python_dispatch import TorchDispatchMode

__all__ = ["CheckpointPolicy", "SelectiveCheckpointContext",
           "create_selective_checkpoint_contexts", "SAC_IGNORED_OPS"]


class CheckpointPolicy(enum.Enum):
    """What to do with an op's output under selective checkpointing: save it (MUST_SAVE,
    PREFER_SAVE) or recompute it in backward (MUST_RECOMPUTE, PREFER_RECOMPUTE; the
    CPU_OFFLOAD pair recomputes too outside torch.compile). ember, which has no compiler
    to overrule a preference, treats MUST and PREFER alike."""
    MUST_SAVE = 0
    PREFER_SAVE = 1
    MUST_RECOMPUTE = 2
    PREFER_RECOMPUTE = 3
    MUST_CPU_OFFLOAD = 4
    PREFER_CPU_OFFLOAD = 5


class SelectiveCheckpointContext:
    """The policy's first argument: ``op_output`` is the output of the op asked about;
    ``is_recompute`` is always False (the policy is asked during the forward only)."""

    def __init__(self, *, is_recompute, op_output=None):
        self.is_recompute = is_recompute
        self.op_output = op_output


SAC_IGNORED_OPS = {aten.detach.default}

_SAVE = (CheckpointPolicy.MUST_SAVE, CheckpointPolicy.PREFER_SAVE)
_RECOMPUTE = object()   # a storage entry: this call of the op is run again
_CONSUMED = object()    # a storage entry already handed back
_MISMATCH = ("This can happen if the operations in the checkpointed region are "
             "nondeterministic or depend on global state that changed between "
             "forward and backward.")


class _Cached:
    """An op output kept for the recomputation, with the version counter it had."""

    def __init__(self, value):
        from .._tensor import Tensor
        self.is_tensor = isinstance(value, Tensor)
        self.value = value.detach() if self.is_tensor else value
        self.version = value._version if self.is_tensor else None

    def get(self, allow_mutation):
        if self.is_tensor and not allow_mutation and self.value._version != self.version:
            raise RuntimeError("Tensor cached during selective activation checkpoint has been "
                               "mutated")
        return self.value


def _map(fn, out):
    if isinstance(out, (tuple, list)):
        return type(out)(_map(fn, o) for o in out)
    return fn(out)


class _CachingMode(TorchDispatchMode):
    """The forward's mode: runs each op and notes its output or "recompute"."""

    def __init__(self, policy_fn, storage):
        super().__init__()
        self.policy_fn, self.storage = policy_fn, storage
        self.calls = defaultdict(int)

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = {} if kwargs is None else kwargs
        if func in SAC_IGNORED_OPS:
            return func(*args, **kwargs)
        out = func(*args, **kwargs)
        index = self.calls[func]
        self.calls[func] += 1
        policy = self.policy_fn(SelectiveCheckpointContext(is_recompute=False, op_output=out),
                                func, *args, **kwargs)
        if isinstance(policy, bool):
            policy = CheckpointPolicy.MUST_SAVE if policy else CheckpointPolicy.PREFER_RECOMPUTE
        self.storage[func][index] = _map(_Cached, out) if policy in _SAVE else _RECOMPUTE
        return out


class _CachedMode(TorchDispatchMode):
    """The recomputation's mode: hands back the noted outputs, runs the other calls."""

    def __init__(self, policy_fn, storage, allow_cache_entry_mutation=False):
        super().__init__()
        self.storage = storage
        self.allow_mutation = allow_cache_entry_mutation
        self.calls = defaultdict(int)

    def __enter__(self):
        self.calls.clear()   # (a second backward finds consumed entries, not missing ones)
        return super().__enter__()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = {} if kwargs is None else kwargs
        if func in SAC_IGNORED_OPS:
            return func(*args, **kwargs)
        index = self.calls[func]
        self.calls[func] += 1
        entries = self.storage.get(func)
        if entries is None:
            raise RuntimeError(f"{func} encountered during backward but not found in "
                               f"storage. {_MISMATCH}")
        entry = entries.get(index)
        if entry is None:
            raise RuntimeError(f"{func} invocation index {index} encountered during backward "
                               f"but not found in storage. {_MISMATCH}")
        if entry is _CONSUMED:
            raise RuntimeError("Trying to backward an extra time. You are only allowed to "
                               "backward once on any region computed under selective "
                               "activation checkpoint.")
        if entry is _RECOMPUTE:
            return func(*args, **kwargs)
        entries[index] = _CONSUMED
        return _map(lambda c: c.get(self.allow_mutation), entry)


def create_selective_checkpoint_contexts(policy_fn_or_list, allow_cache_entry_mutation=False):
    """The (forward, recomputation) context pair for ``checkpoint``'s ``context_fn``:
    `policy_fn_or_list` is ``policy(ctx, op, *args, **kwargs)`` returning a
    CheckpointPolicy (or a bool: True saves), or a list of op overloads to save."""
    if isinstance(policy_fn_or_list, list):
        for op in policy_fn_or_list:
            if not isinstance(op, OpOverload):
                hint = ("Please update the OpOverloadPacket to a specific OpOverload.For "
                        "example, if you have `torch.ops.aten.mm`, change it to "
                        "`torch.ops.aten.mm.default`.") if isinstance(op, OpOverloadPacket) else ""
                raise ValueError(f"Expected op in `op_list` to be an OpOverload but got: {op} "
                                 f"of type {type(op)}. {hint}")
        ops = list(policy_fn_or_list)

        def policy_fn(ctx, op, *args, **kwargs):
            return CheckpointPolicy.MUST_SAVE if op in ops else CheckpointPolicy.PREFER_RECOMPUTE
    elif callable(policy_fn_or_list):
        policy_fn = policy_fn_or_list
    else:
        raise TypeError("policy_fn_or_list must be either a function or a list of ops.")
    storage = defaultdict(dict)
    return (_CachingMode(policy_fn, storage),
            _CachedMode(policy_fn, storage, allow_cache_entry_mutation))
