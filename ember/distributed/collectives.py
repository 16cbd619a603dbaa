"""The collective and point-to-point functions of ``torch.distributed``.

Each function validates its tensors, translates global ranks (``src``, ``dst``) to ranks
of the group, and hands contiguous arrays to the group's backend. Results are written
into the tensors' memory, as torch does; a non-contiguous tensor goes through a
contiguous copy that is written back. With ``async_op=True`` the function returns a
``Work`` whose ``wait()`` guarantees the tensors hold the result; otherwise None.
A rank that is not a member of ``group`` gets None and nothing happens (as torch).
"""
import warnings

from .._backend import array_namespace
from .._tensor import Tensor
from .process_group import ReduceOp, _resolve, get_rank

__all__ = ["all_reduce", "reduce", "broadcast", "all_gather", "all_gather_into_tensor",
           "gather", "scatter", "reduce_scatter", "reduce_scatter_tensor", "all_to_all",
           "all_to_all_single", "send", "recv", "isend", "irecv", "barrier",
           "broadcast_object_list", "all_gather_object", "gather_object", "scatter_object_list",
           "monitored_barrier", "send_object_list", "recv_object_list", "P2POp",
           "batch_isend_irecv"]


# ---------------------------------------------------------------------------- helpers
def _check_tensor(t, name="tensor"):
    if not isinstance(t, Tensor):
        raise TypeError(f"Invalid function argument. Expected parameter `{name}` of type "
                        f"ember.Tensor but got {type(t)} instead.")


def _check_list(tensors, name):
    if not isinstance(tensors, (list, tuple)) or not all(isinstance(t, Tensor) for t in tensors):
        raise TypeError(f"Invalid function argument. Expected parameter `{name}` of type "
                        "List[ember.Tensor].")


def _check_op(op):
    if not isinstance(op, ReduceOp.RedOpType):
        raise TypeError(f"op must be a ReduceOp (ReduceOp.SUM, ...), got {op!r}")


def _member(pg, what):
    """The backend of pg, or None (with torch's warning) on a rank outside the group."""
    if pg.backend is None:
        warnings.warn(f"Running {what} on a rank which does not belong to the given group.")
    return pg.backend


def _group_rank(pg, global_rank, role):
    if not isinstance(global_rank, int) or global_rank not in pg.ranks:
        raise RuntimeError(f"invalid {role} rank: {global_rank} (the group has global ranks "
                           f"{pg.ranks})")
    return pg.ranks.index(global_rank)


def _contiguous(t):
    """(array to hand to the backend, write-back function or None) for tensor t."""
    arr = t._data
    if arr.flags.c_contiguous and getattr(arr.flags, "writeable", True):
        return arr, None
    buf = array_namespace(arr).ascontiguousarray(arr)
    return buf, lambda: arr.__setitem__(Ellipsis, buf)


def _same(tensors, ref, what):
    """Every tensor has ref's dtype and number of elements (as the backends need)."""
    for i, t in enumerate(tensors):
        if t.dtype != ref.dtype:
            raise RuntimeError(f"{what}: invalid tensor type at index {i} (expected "
                               f"{ref.dtype}, got {t.dtype})")
        if t.numel() != ref.numel():
            raise RuntimeError(f"{what}: invalid tensor size at index {i} (expected "
                               f"{tuple(ref.shape)}, got {tuple(t.shape)})")


def _list_length(tensors, size, what):
    if len(tensors) != size:
        raise RuntimeError(f"{what}: invalid tensor list (expected length {size}, got "
                           f"{len(tensors)})")


def _finish(work, async_op):
    return work if async_op else None


def _write_back(work, write_back):
    if write_back is not None:
        work.then(write_back)
    return work


def _stack(tensors):
    """One contiguous array holding the tensors one after another (flat)."""
    arrs = [t._data.reshape(-1) for t in tensors]
    return array_namespace(arrs[0]).concatenate(arrs)


def _unstack(flat, tensors):
    """Copy consecutive chunks of flat into the tensors."""
    def run():
        offset = 0
        for t in tensors:
            n = t.numel()
            t._data[...] = flat.reshape(-1)[offset:offset + n].reshape(t._data.shape)
            offset += n
    return run


# ---------------------------------------------------------------------------- reductions
def all_reduce(tensor, op=ReduceOp.SUM, group=None, async_op=False):
    """tensor <- op over all ranks of tensor, on every rank."""
    _check_tensor(tensor)
    _check_op(op)
    backend = _member(_resolve(group), "all_reduce")
    if backend is None:
        return None
    arr, write_back = _contiguous(tensor)
    work = backend.allreduce(arr, op, async_op)
    return _finish(_write_back(work, write_back), async_op)


def reduce(tensor, dst=None, op=ReduceOp.SUM, group=None, async_op=False, group_dst=None):
    """On rank dst: tensor <- op over all ranks of tensor (other ranks keep theirs)."""
    _check_tensor(tensor)
    _check_op(op)
    pg = _resolve(group)
    backend = _member(pg, "reduce")
    if backend is None:
        return None
    root = group_dst if group_dst is not None else _group_rank(pg, dst if dst is not None
                                                               else 0, "root")
    arr, write_back = _contiguous(tensor)
    work = backend.reduce(arr, op, root, async_op)
    return _finish(_write_back(work, write_back), async_op)


def reduce_scatter(output, input_list, op=ReduceOp.SUM, group=None, async_op=False):
    """output <- op over ranks of input_list[rank]."""
    _check_tensor(output, "output")
    _check_list(input_list, "input_list")
    _check_op(op)
    pg = _resolve(group)
    backend = _member(pg, "reduce_scatter")
    if backend is None:
        return None
    _list_length(input_list, pg.size(), "reduce_scatter")
    _same(input_list, output, "reduce_scatter")
    arr, write_back = _contiguous(output)
    work = backend.reduce_scatter(_stack(input_list), arr, op, async_op)
    return _finish(_write_back(work, write_back), async_op)


def reduce_scatter_tensor(output, input, op=ReduceOp.SUM, group=None, async_op=False):
    """output <- op over ranks of chunk `rank` of input (input has size * output.numel())."""
    _check_tensor(output, "output")
    _check_tensor(input, "input")
    _check_op(op)
    pg = _resolve(group)
    backend = _member(pg, "reduce_scatter_tensor")
    if backend is None:
        return None
    if input.dtype != output.dtype:
        raise RuntimeError(f"reduce_scatter_tensor: input dtype {input.dtype} and output dtype "
                           f"{output.dtype} differ")
    if input.numel() != output.numel() * pg.size():
        raise ValueError(f"reduce_scatter_tensor: input of {input.numel()} elements must be "
                         f"world_size ({pg.size()}) times the output ({output.numel()})")
    arr, write_back = _contiguous(output)
    work = backend.reduce_scatter(array_namespace(input._data).ascontiguousarray(input._data),
                                  arr, op, async_op)
    return _finish(_write_back(work, write_back), async_op)


# ---------------------------------------------------------------------------- data movement
def broadcast(tensor, src=None, group=None, async_op=False, group_src=None):
    """tensor <- rank src's tensor, on every rank."""
    _check_tensor(tensor)
    pg = _resolve(group)
    backend = _member(pg, "broadcast")
    if backend is None:
        return None
    root = group_src if group_src is not None else _group_rank(pg, src if src is not None
                                                               else 0, "root")
    arr, write_back = _contiguous(tensor)
    work = backend.broadcast(arr, root, async_op)
    return _finish(_write_back(work, write_back), async_op)


def all_gather(tensor_list, tensor, group=None, async_op=False):
    """tensor_list[i] <- rank i's tensor, on every rank."""
    _check_list(tensor_list, "tensor_list")
    _check_tensor(tensor)
    pg = _resolve(group)
    backend = _member(pg, "all_gather")
    if backend is None:
        return None
    _list_length(tensor_list, pg.size(), "all_gather")
    _same(tensor_list, tensor, "all_gather")
    send = array_namespace(tensor._data).ascontiguousarray(tensor._data)
    recv = array_namespace(send).empty((pg.size(),) + send.shape, send.dtype)
    work = backend.allgather(send, recv, async_op)
    return _finish(work.then(_unstack(recv, tensor_list)), async_op)


def all_gather_into_tensor(output_tensor, input_tensor, group=None, async_op=False):
    """output_tensor <- the ranks' input_tensors concatenated (or stacked) in rank order."""
    _check_tensor(output_tensor, "output_tensor")
    _check_tensor(input_tensor, "input_tensor")
    pg = _resolve(group)
    backend = _member(pg, "all_gather_into_tensor")
    if backend is None:
        return None
    if output_tensor.dtype != input_tensor.dtype:
        raise RuntimeError(f"all_gather_into_tensor: output dtype {output_tensor.dtype} and "
                           f"input dtype {input_tensor.dtype} differ")
    if output_tensor.numel() != input_tensor.numel() * pg.size():
        raise ValueError(f"all_gather_into_tensor: output of shape {tuple(output_tensor.shape)} "
                         f"must hold world_size ({pg.size()}) inputs of shape "
                         f"{tuple(input_tensor.shape)}")
    send = array_namespace(input_tensor._data).ascontiguousarray(input_tensor._data)
    arr, write_back = _contiguous(output_tensor)
    work = backend.allgather(send, arr, async_op)
    return _finish(_write_back(work, write_back), async_op)


def gather(tensor, gather_list=None, dst=None, group=None, async_op=False, group_dst=None):
    """On rank dst: gather_list[i] <- rank i's tensor."""
    _check_tensor(tensor)
    pg = _resolve(group)
    backend = _member(pg, "gather")
    if backend is None:
        return None
    root = group_dst if group_dst is not None else _group_rank(pg, dst if dst is not None
                                                               else 0, "root")
    send = array_namespace(tensor._data).ascontiguousarray(tensor._data)
    recv = None
    if backend.rank == root:
        if gather_list is None:
            raise ValueError("Argument ``gather_list`` must be specified on destination rank.")
        _check_list(gather_list, "gather_list")
        _list_length(gather_list, pg.size(), "gather")
        _same(gather_list, tensor, "gather")
        recv = array_namespace(send).empty((pg.size(),) + send.shape, send.dtype)
    elif gather_list:
        raise ValueError("Argument ``gather_list`` must NOT be specified on non-destination "
                         "ranks.")
    work = backend.gather(send, recv, root, async_op)
    if recv is not None:
        work.then(_unstack(recv, gather_list))
    return _finish(work, async_op)


def scatter(tensor, scatter_list=None, src=None, group=None, async_op=False, group_src=None):
    """tensor <- rank src's scatter_list[rank]."""
    _check_tensor(tensor)
    pg = _resolve(group)
    backend = _member(pg, "scatter")
    if backend is None:
        return None
    root = group_src if group_src is not None else _group_rank(pg, src if src is not None
                                                               else 0, "root")
    send = None
    if backend.rank == root:
        if scatter_list is None:
            raise ValueError("Argument ``scatter_list`` must be specified on source rank.")
        _check_list(scatter_list, "scatter_list")
        _list_length(scatter_list, pg.size(), "scatter")
        _same(scatter_list, tensor, "scatter")
        send = _stack(scatter_list)
    elif scatter_list:
        raise ValueError("Argument ``scatter_list`` must NOT be specified on non-source ranks.")
    arr, write_back = _contiguous(tensor)
    work = backend.scatter(send, arr, root, async_op)
    return _finish(_write_back(work, write_back), async_op)


def all_to_all(output_tensor_list, input_tensor_list, group=None, async_op=False):
    """output_tensor_list[i] <- rank i's input_tensor_list[rank] (sizes may differ)."""
    _check_list(output_tensor_list, "output_tensor_list")
    _check_list(input_tensor_list, "input_tensor_list")
    pg = _resolve(group)
    backend = _member(pg, "all_to_all")
    if backend is None:
        return None
    _list_length(output_tensor_list, pg.size(), "all_to_all")
    _list_length(input_tensor_list, pg.size(), "all_to_all")
    dtypes = {t.dtype for t in list(output_tensor_list) + list(input_tensor_list)}
    if len(dtypes) != 1:
        raise RuntimeError(f"all_to_all: all tensors must have one dtype, got {sorted(map(str, dtypes))}")
    send = _stack(input_tensor_list)
    recv = array_namespace(send).empty(sum(t.numel() for t in output_tensor_list), send.dtype)
    work = backend.alltoall(send, [t.numel() for t in input_tensor_list], recv,
                            [t.numel() for t in output_tensor_list], async_op)
    return _finish(work.then(_unstack(recv, output_tensor_list)), async_op)


def all_to_all_single(output, input, output_split_sizes=None, input_split_sizes=None,
                      group=None, async_op=False):
    """all_to_all on the first dimension of one tensor (equal splits unless sizes are given)."""
    _check_tensor(output, "output")
    _check_tensor(input, "input")
    pg = _resolve(group)
    backend = _member(pg, "all_to_all_single")
    if backend is None:
        return None
    if output.dtype != input.dtype:
        raise RuntimeError(f"all_to_all_single: output dtype {output.dtype} and input dtype "
                           f"{input.dtype} differ")
    n = pg.size()

    def counts(t, splits, name):
        rows = t.shape[0] if t.dim() > 0 else 1
        row = t.numel() // rows if rows else 0
        if splits is None:
            if rows % n:
                raise RuntimeError(f"all_to_all_single: {name} dim 0 ({rows}) is not divisible "
                                   f"by world_size {n}")
            splits = [rows // n] * n
        splits = list(splits)
        if len(splits) != n or sum(splits) != rows:
            raise RuntimeError(f"all_to_all_single: {name}_split_sizes {splits} must have "
                               f"{n} entries summing to {rows}")
        return [s * row for s in splits]
    send = array_namespace(input._data).ascontiguousarray(input._data)
    arr, write_back = _contiguous(output)
    work = backend.alltoall(send, counts(input, input_split_sizes, "input"), arr,
                            counts(output, output_split_sizes, "output"), async_op)
    return _finish(_write_back(work, write_back), async_op)


# ---------------------------------------------------------------------------- point to point
def isend(tensor, dst=None, group=None, tag=0, group_dst=None):
    """Start sending tensor to global rank dst; returns a Work."""
    _check_tensor(tensor)
    pg = _resolve(group)
    backend = _member(pg, "isend")
    if backend is None:
        return None
    peer = group_dst if group_dst is not None else _group_rank(pg, dst, "destination")
    send_buf = array_namespace(tensor._data).ascontiguousarray(tensor._data)
    return backend.send(send_buf, peer, tag, async_op=True)


def irecv(tensor, src=None, group=None, tag=0, group_src=None):
    """Start receiving into tensor from global rank src (any rank when None); returns a Work."""
    _check_tensor(tensor)
    pg = _resolve(group)
    backend = _member(pg, "irecv")
    if backend is None:
        return None
    peer = group_src if group_src is not None else (
        None if src is None else _group_rank(pg, src, "source"))
    arr, write_back = _contiguous(tensor)
    work = backend.recv(arr, peer, tag, async_op=True)
    return _write_back(work, write_back)


def send(tensor, dst=None, group=None, tag=0, group_dst=None):
    """Send tensor to global rank dst."""
    work = isend(tensor, dst, group, tag, group_dst)
    if work is not None:
        work.wait()


def recv(tensor, src=None, group=None, tag=0, group_src=None):
    """Receive into tensor from global rank src (any when None); returns the sender's rank."""
    _check_tensor(tensor)
    pg = _resolve(group)
    backend = _member(pg, "recv")
    if backend is None:
        return -1
    peer = group_src if group_src is not None else (
        None if src is None else _group_rank(pg, src, "source"))
    arr, write_back = _contiguous(tensor)
    work = _write_back(backend.recv(arr, peer, tag, async_op=False), write_back)
    return pg.ranks[work.source]


class P2POp:
    """One point-to-point operation for batch_isend_irecv: `op` is isend or irecv."""

    def __init__(self, op, tensor, peer=None, group=None, tag=0, group_peer=None):
        if op not in (isend, irecv):
            raise ValueError("Invalid ``op``. Expected ``op`` to be of type "
                             "``torch.distributed.isend`` or ``torch.distributed.irecv``.")
        _check_tensor(tensor)
        if (peer is None) == (group_peer is None):
            raise ValueError("Exactly one of peer and group_peer must be given")
        self.op, self.tensor, self.peer, self.group, self.tag = op, tensor, peer, group, tag
        self.group_peer = group_peer

    def __repr__(self):
        return (f"P2POp(op={self.op.__name__}, tensor=[{tuple(self.tensor.shape)}, "
                f"{self.tensor.dtype}], peer={self.peer}, group={self.group}, tag={self.tag})")


def batch_isend_irecv(p2p_op_list):
    """Start every operation of the list; returns their Works (wait on each)."""
    if not isinstance(p2p_op_list, list) or not p2p_op_list:
        raise ValueError("Invalid ``p2p_op_list``. Each op is expected to to be of type "
                         "``torch.distributed.P2POp``.")
    if not all(isinstance(p2p, P2POp) for p2p in p2p_op_list):
        raise ValueError("Invalid ``p2p_op_list``. Each op is expected to to be of type "
                         "``torch.distributed.P2POp``.")
    groups = {id(_resolve(p2p.group)) for p2p in p2p_op_list}
    if len(groups) != 1:
        raise ValueError("All ops need to use the same group.")
    works = []
    for p2p in p2p_op_list:
        if p2p.op is isend:
            work = isend(p2p.tensor, p2p.peer, p2p.group, p2p.tag, p2p.group_peer)
        else:
            work = irecv(p2p.tensor, p2p.peer, p2p.group, p2p.tag, p2p.group_peer)
        if work is not None:
            works.append(work)
    return works


def barrier(group=None, async_op=False, device_ids=None):
    """Wait until every rank of the group has reached the barrier."""
    backend = _member(_resolve(group), "barrier")
    if backend is None:
        return None
    return _finish(backend.barrier(async_op), async_op)


def monitored_barrier(group=None, timeout=None, wait_all_ranks=False):
    """A barrier (ember's watchdog already names a rank that does not arrive)."""
    barrier(group)


# ---------------------------------------------------------------------------- Python objects
def broadcast_object_list(object_list, src=None, group=None, device=None, group_src=None):
    """object_list[:] <- rank src's object_list (picklable objects), in place."""
    pg = _resolve(group)
    backend = _member(pg, "broadcast_object_list")
    if backend is None:
        return
    root = group_src if group_src is not None else _group_rank(pg, src if src is not None
                                                               else 0, "root")
    received = backend.broadcast_object(list(object_list) if backend.rank == root else None,
                                        root)
    if len(received) != len(object_list):
        raise RuntimeError(f"broadcast_object_list: rank {pg.ranks[root]} sent "
                           f"{len(received)} objects, this rank's list has {len(object_list)}")
    object_list[:] = received


def all_gather_object(object_list, obj, group=None):
    """object_list[i] <- rank i's obj."""
    pg = _resolve(group)
    backend = _member(pg, "all_gather_object")
    if backend is None:
        return
    _list_length(object_list, pg.size(), "all_gather_object")
    object_list[:] = backend.allgather_object(obj)


def gather_object(obj, object_gather_list=None, dst=None, group=None, group_dst=None):
    """On rank dst: object_gather_list[i] <- rank i's obj."""
    pg = _resolve(group)
    backend = _member(pg, "gather_object")
    if backend is None:
        return
    root = group_dst if group_dst is not None else _group_rank(pg, dst if dst is not None
                                                               else 0, "root")
    if backend.rank == root:
        if object_gather_list is None:
            raise ValueError("Argument ``object_gather_list`` must be specified on destination "
                             "rank.")
        _list_length(object_gather_list, pg.size(), "gather_object")
    gathered = backend.gather_object(obj, root)
    if backend.rank == root:
        object_gather_list[:] = gathered


def scatter_object_list(scatter_object_output_list, scatter_object_input_list=None, src=None,
                        group=None, group_src=None):
    """scatter_object_output_list[0] <- rank src's scatter_object_input_list[rank]."""
    pg = _resolve(group)
    backend = _member(pg, "scatter_object_list")
    if backend is None:
        return
    if not isinstance(scatter_object_output_list, list) or not scatter_object_output_list:
        raise ValueError("Expected argument scatter_object_output_list to be a list of size at "
                         "least 1.")
    root = group_src if group_src is not None else _group_rank(pg, src if src is not None
                                                               else 0, "root")
    objs = None
    if backend.rank == root:
        objs = list(scatter_object_input_list)
        _list_length(objs, pg.size(), "scatter_object_list")
    scatter_object_output_list[0] = backend.scatter_object(objs, root)


def _object_sizes_and_bytes(object_list, xp_device):
    import pickle
    from .. import tensor as _tensor, uint8, int64
    import numpy as np
    blobs = [pickle.dumps(obj) for obj in object_list]
    sizes = _tensor([len(b) for b in blobs], dtype=int64, device=xp_device)
    data = _tensor(np.frombuffer(b"".join(blobs), dtype=np.uint8).copy(), dtype=uint8,
                   device=xp_device)
    return sizes, data


def _object_device(pg, device):
    if device is not None:
        return device
    return "cuda" if pg.backend_name == "nccl" else "cpu"


def send_object_list(object_list, dst=None, group=None, device=None, group_dst=None,
                     use_batch=False):
    """Send the picklable objects of object_list to rank dst (which calls
    recv_object_list with a list of the same length). Unpickling runs code: exchange
    objects only with ranks you trust, as with PyTorch."""
    pg = _resolve(group)
    if _member(pg, "send_object_list") is None:
        return
    peer = dst if group_dst is None else pg.ranks[group_dst]
    if peer == get_rank():
        raise ValueError("Invalid destination rank: destination rank should not be the same "
                         "as the rank of the current process.")
    sizes, data = _object_sizes_and_bytes(object_list, _object_device(pg, device))
    send(sizes, peer, group)
    send(data, peer, group)


def recv_object_list(object_list, src=None, group=None, device=None, group_src=None,
                     use_batch=False):
    """Fill object_list in place with the objects rank src (any rank when None) sent with
    send_object_list; returns the sender's rank."""
    from .. import empty, int64, uint8
    import pickle
    pg = _resolve(group)
    if _member(pg, "recv_object_list") is None:
        return -1
    peer = src if group_src is None else pg.ranks[group_src]
    where = _object_device(pg, device)
    sizes = empty(len(object_list), dtype=int64, device=where)
    sender = recv(sizes, peer, group)
    counts = [int(n) for n in sizes.tolist()]
    data = empty(sum(counts), dtype=uint8, device=where)
    recv(data, sender, group)
    raw = data.cpu().numpy().tobytes()
    offset = 0
    for i, n in enumerate(counts):
        object_list[i] = pickle.loads(raw[offset:offset + n])
        offset += n
    return sender
