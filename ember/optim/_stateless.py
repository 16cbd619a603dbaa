"""swap_in_optimizer_params_and_state (torch.optim): run an optimizer, for the length of a
``with`` block, on other parameter tensors and other state given as a state_dict."""
import contextlib
from collections import defaultdict

from .._tensor import Tensor

__all__ = ["swap_in_optimizer_params_and_state"]

_NAME = "swap_in_optimizer_params_and_state"


@contextlib.contextmanager
def swap_in_optimizer_params_and_state(optimizer, swapin_parameters, swapin_optim_state):
    """Inside the block, `optimizer` holds the tensors of the dict `swapin_parameters`
    (in the order of its param_groups' parameters) and the state and per-group options of
    `swapin_optim_state` (an ``optimizer.state_dict()``-shaped dict: state keyed by packed
    parameter ids, param_groups with the same keys as the live ones); on exit its own
    parameters, options and state come back.

    The per-parameter state dicts are shallow copies: a step's in-place updates of their
    tensors reach `swapin_optim_state`, entries it adds or replaces do not."""
    state, swaps = _check(optimizer, swapin_parameters, swapin_optim_state)
    live_state = optimizer.state
    saved_groups = [dict(g) for g in optimizer.param_groups]
    try:
        swapped_state = defaultdict(dict)
        for group, swapin_group, params in swaps:
            group["params"] = params
            group.update((k, v) for k, v in swapin_group.items() if k != "params")
            for p, packed_id in zip(params, swapin_group["params"]):
                swapped_state[p] = dict(state.get(packed_id, {}))
        optimizer.state = swapped_state
        yield
    finally:
        for group, saved in zip(optimizer.param_groups, saved_groups):
            group.clear()
            group.update(saved)
        optimizer.state = live_state


def _check(optimizer, swapin_parameters, swapin_optim_state):
    """Validate the swap-in state against the live optimizer (RuntimeError, as torch);
    return its state and, per group, (live group, swap-in group, swap-in parameters)."""
    if not optimizer.state:
        raise RuntimeError(f"{_NAME} requires initialized optimizer state.")
    if not isinstance(swapin_optim_state, dict):
        raise RuntimeError(f"{_NAME} requires a DCP-style optimizer state_dict.")
    state = swapin_optim_state.get("state")
    if not isinstance(state, dict):
        raise RuntimeError(f"{_NAME} requires swapin_optim_state['state'] to be a dict mapping "
                           f"packed parameter ids to per-param state dicts, got "
                           f"{type(state).__name__}.")
    if any(isinstance(k, Tensor) for k in state):
        raise RuntimeError(f"{_NAME} requires optimizer.state_dict()-style state keyed by "
                           f"packed parameter ids.")
    if any(isinstance(k, int) and not isinstance(v, dict) for k, v in state.items()):
        raise RuntimeError(f"{_NAME} requires per-parameter optimizer state entries to be "
                           f"dictionaries.")
    groups = swapin_optim_state.get("param_groups")
    if not isinstance(groups, list):
        raise RuntimeError(f"{_NAME} requires swapin_optim_state['param_groups'] to be a list "
                           f"of param-group dicts, got {type(groups).__name__}.")
    if len(groups) != len(optimizer.param_groups):
        raise RuntimeError("swapin_optim_state has a different number of parameter groups than "
                           "the live optimizer.")
    tensors = list(swapin_parameters.values())
    start, seen, swaps = 0, set(), []
    for i, (group, swapin_group) in enumerate(zip(optimizer.param_groups, groups)):
        ids = _check_group(i, group, swapin_group)
        seen.update(ids)
        if start + len(ids) > len(tensors):
            raise RuntimeError(f"{_NAME} requires the explicit parameter state to match "
                               f"optimizer.param_groups ordering.")
        swaps.append((group, swapin_group, tensors[start:start + len(ids)]))
        start += len(ids)
    extra = [k for k in state if k not in seen]
    if extra:
        raise RuntimeError(f"{_NAME} requires swapin_optim_state['state'] to be keyed only by "
                           f"packed parameter ids from param_groups[*]['params']; got extra "
                           f"keys {extra!r}.")
    return state, swaps


def _check_group(i, group, swapin_group):
    """The packed parameter ids of swap-in group `i`, checked against live `group`."""
    if not isinstance(swapin_group, dict):
        raise RuntimeError(f"{_NAME} requires each optimizer param group to be a dictionary.")
    ids = swapin_group.get("params")
    if not isinstance(ids, list) or not all(isinstance(k, int) for k in ids):
        raise RuntimeError(f"{_NAME} requires optimizer.state_dict()-style "
                           f"param_groups[*]['params'] entries keyed by packed parameter ids.")
    if len(ids) != len(group["params"]):
        raise RuntimeError(f"swapin_optim_state param group {i} has a different number of "
                           f"params than the live optimizer param group.")
    swapin_only = [k for k in swapin_group if k not in group]
    live_only = [k for k in group if k not in swapin_group]
    if swapin_only or live_only:
        raise RuntimeError(f"{_NAME} requires optimizer.state_dict()-style param group keys to "
                           f"exactly match the live optimizer group keys for group {i}. Keys "
                           f"only in swap-in: {swapin_only}. Keys only in live: {live_only}.")
    return ids
