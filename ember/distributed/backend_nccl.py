"""The NCCL backend: collectives on CuPy (CUDA) arrays through ``cupy.cuda.nccl``.

MPI starts and connects the ranks: rank 0 creates the NCCL unique id and broadcasts it
over the MPI communicator, then every rank builds an ``NcclCommunicator`` on its GPU
(device ``LOCAL_RANK`` modulo the number of devices). Python objects (``all_gather_object``
...) travel over MPI. Operations run on CuPy's current stream; ``Work.wait()`` synchronises
that stream. NCCL reduces float16/bfloat16 natively and has AVG; data movement sends bytes.

Written against CuPy's API; this machine has no GPU, so only the error raised without
CuPy/CUDA is tested here.
"""
import os

from .process_group import ReduceOp, Work
from .backend_mpi import MPIBackend

__all__ = ["NCCLBackend", "available", "check_available"]


def _nccl():
    """cupy and cupy.cuda.nccl, or a RuntimeError saying what is missing."""
    try:
        import cupy
    except ImportError:
        raise RuntimeError("ember.distributed: the 'nccl' backend needs CuPy with NCCL and a "
                           "CUDA GPU: pip install 'ember[cuda12]' nvidia-nccl-cu12 (CuPy is not "
                           "installed); use backend='mpi' for CPU tensors") from None
    try:
        from cupy.cuda import nccl
    except ImportError as e:
        raise RuntimeError(f"ember.distributed: CuPy has no NCCL ({e}): pip install "
                           "nvidia-nccl-cu12 (or -cu13)") from None
    if not getattr(nccl, "available", True):
        raise RuntimeError("ember.distributed: CuPy cannot load the NCCL library: pip install "
                           "nvidia-nccl-cu12 (or -cu13)")
    try:
        if not cupy.cuda.is_available():
            raise RuntimeError("no CUDA device")
    except Exception as e:
        raise RuntimeError(f"ember.distributed: the 'nccl' backend needs a CUDA GPU ({e})") \
            from None
    return cupy, nccl


def check_available():
    """Raise a RuntimeError naming what is missing when NCCL cannot be used."""
    _nccl()


def available():
    try:
        _nccl()
    except RuntimeError:
        return False
    return True


class NCCLBackend:
    """Collectives of one NCCL communicator on contiguous CuPy arrays."""

    def __init__(self, mpi_comm, watchdog):
        self.cupy, self.nccl = _nccl()
        self.objects = MPIBackend(mpi_comm, watchdog)   # bootstrap and Python objects
        self.rank = self.objects.rank
        self.size = self.objects.size
        self.watchdog = watchdog
        local_rank = int(os.environ.get("LOCAL_RANK", self.rank))
        self.device = local_rank % self.cupy.cuda.runtime.getDeviceCount()
        self.cupy.cuda.Device(self.device).use()
        uid = self.nccl.get_unique_id() if self.rank == 0 else None
        uid = self.objects.broadcast_object(uid, 0)
        self.comm = self.nccl.NcclCommunicator(self.size, uid, self.rank)
        n = self.nccl
        self._ops = {ReduceOp.SUM: n.NCCL_SUM, ReduceOp.PRODUCT: n.NCCL_PROD,
                     ReduceOp.MIN: n.NCCL_MIN, ReduceOp.MAX: n.NCCL_MAX}
        if hasattr(n, "NCCL_AVG"):
            self._ops[ReduceOp.AVG] = n.NCCL_AVG
        self._types = {"float16": n.NCCL_FLOAT16, "float32": n.NCCL_FLOAT32,
                       "float64": n.NCCL_FLOAT64, "int8": n.NCCL_INT8, "uint8": n.NCCL_UINT8,
                       "int32": n.NCCL_INT32, "uint32": n.NCCL_UINT32, "int64": n.NCCL_INT64,
                       "uint64": n.NCCL_UINT64, "bool": n.NCCL_UINT8}
        if hasattr(n, "NCCL_BFLOAT16"):
            self._types["bfloat16"] = n.NCCL_BFLOAT16

    def split(self, ranks, backend_name):
        comm = self.objects.comm.Split(0 if self.rank in ranks else self.objects.MPI.UNDEFINED,
                                       ranks.index(self.rank) if self.rank in ranks else 0)
        if self.rank not in ranks:
            return None
        if backend_name == "nccl":
            return NCCLBackend(comm, self.watchdog)
        return MPIBackend(comm, self.watchdog)

    def close(self):
        self.comm.destroy()
        self.objects.close()

    # ------------------------------------------------------------------ plumbing
    def _stream(self):
        return self.cupy.cuda.get_current_stream()

    def _run(self, name, async_op, launch):
        """Queue the NCCL calls on the current stream; wait = synchronise the stream."""
        stream = self._stream()
        launch(stream.ptr)
        event = stream.record()
        work = Work(test=event.query if hasattr(event, "query") else lambda: event.done,
                    wait=event.synchronize, watchdog=self.watchdog, name=name)
        if not async_op:
            work.wait()
        return work

    def _type(self, arr):
        try:
            return self._types[arr.dtype.name]
        except KeyError:
            raise RuntimeError(f"the nccl backend does not support dtype {arr.dtype}") from None

    def _op(self, arr, op):
        if op is ReduceOp.AVG and op not in self._ops:
            return self.nccl.NCCL_SUM, True
        if op not in self._ops:
            raise RuntimeError(f"the nccl backend does not support ReduceOp.{op.name}")
        if arr.dtype.kind == "b":
            return (self.nccl.NCCL_MAX if op in (ReduceOp.SUM, ReduceOp.MAX)
                    else self.nccl.NCCL_MIN), False
        return self._ops[op], False

    def _divide_after(self, work, arr, divide):
        if divide:
            work.then(lambda: arr.__itruediv__(self.size))
        return work

    # ------------------------------------------------------------------ collectives
    def allreduce(self, arr, op, async_op=False):
        nop, divide = self._op(arr, op)
        work = self._run("all_reduce", async_op, lambda s: self.comm.allReduce(
            arr.data.ptr, arr.data.ptr, arr.size, self._type(arr), nop, s))
        return self._divide_after(work, arr, divide)

    def reduce(self, arr, op, root, async_op=False):
        nop, divide = self._op(arr, op)
        work = self._run("reduce", async_op, lambda s: self.comm.reduce(
            arr.data.ptr, arr.data.ptr, arr.size, self._type(arr), nop, root, s))
        return self._divide_after(work, arr, divide and self.rank == root)

    def broadcast(self, arr, root, async_op=False):
        return self._run("broadcast", async_op, lambda s: self.comm.bcast(
            arr.data.ptr, arr.nbytes, self.nccl.NCCL_UINT8, root, s))

    def allgather(self, send, recv, async_op=False):
        return self._run("all_gather", async_op, lambda s: self.comm.allGather(
            send.data.ptr, recv.data.ptr, send.nbytes, self.nccl.NCCL_UINT8, s))

    def reduce_scatter(self, send, recv, op, async_op=False):
        nop, divide = self._op(recv, op)
        work = self._run("reduce_scatter", async_op, lambda s: self.comm.reduceScatter(
            send.data.ptr, recv.data.ptr, recv.size, self._type(recv), nop, s))
        return self._divide_after(work, recv, divide)

    def _grouped(self, name, async_op, calls):
        def launch(s):
            self.nccl.groupStart()
            try:
                for call in calls:
                    call(s)
            finally:
                self.nccl.groupEnd()
        return self._run(name, async_op, launch)

    def gather(self, send, recv, root, async_op=False):
        n = send.nbytes
        calls = [lambda s: self.comm.send(send.data.ptr, n, self.nccl.NCCL_UINT8, root, s)]
        if self.rank == root:
            calls += [lambda s, i=i: self.comm.recv(recv.data.ptr + i * n, n,
                                                    self.nccl.NCCL_UINT8, i, s)
                      for i in range(self.size)]
        return self._grouped("gather", async_op, calls)

    def scatter(self, send, recv, root, async_op=False):
        n = recv.nbytes
        calls = [lambda s: self.comm.recv(recv.data.ptr, n, self.nccl.NCCL_UINT8, root, s)]
        if self.rank == root:
            calls += [lambda s, i=i: self.comm.send(send.data.ptr + i * n, n,
                                                    self.nccl.NCCL_UINT8, i, s)
                      for i in range(self.size)]
        return self._grouped("scatter", async_op, calls)

    def alltoall(self, send, send_counts, recv, recv_counts, async_op=False):
        item = send.dtype.itemsize
        calls = []
        s_off = r_off = 0
        for peer in range(self.size):
            sn, rn = send_counts[peer] * item, recv_counts[peer] * item
            calls.append(lambda s, p=peer, o=s_off, n=sn: self.comm.send(
                send.data.ptr + o, n, self.nccl.NCCL_UINT8, p, s))
            calls.append(lambda s, p=peer, o=r_off, n=rn: self.comm.recv(
                recv.data.ptr + o, n, self.nccl.NCCL_UINT8, p, s))
            s_off += sn
            r_off += rn
        return self._grouped("all_to_all", async_op, calls)

    def send(self, arr, dst, tag, async_op=False):
        return self._run("send", async_op, lambda s: self.comm.send(
            arr.data.ptr, arr.nbytes, self.nccl.NCCL_UINT8, dst, s))

    def recv(self, arr, src, tag, async_op=False):
        if src is None:
            raise RuntimeError("the nccl backend needs an explicit src rank for recv")
        work = self._run("recv", async_op, lambda s: self.comm.recv(
            arr.data.ptr, arr.nbytes, self.nccl.NCCL_UINT8, src, s))
        work.source = src
        return work

    def barrier(self, async_op=False):
        token = self.cupy.zeros(1, dtype=self.cupy.float32)
        return self.allreduce(token, ReduceOp.SUM, async_op)

    # ------------------------------------------------------------------ Python objects (MPI)
    def broadcast_object(self, obj, root):
        return self.objects.broadcast_object(obj, root)

    def allgather_object(self, obj):
        return self.objects.allgather_object(obj)

    def gather_object(self, obj, root):
        return self.objects.gather_object(obj, root)

    def scatter_object(self, objs, root):
        return self.objects.scatter_object(objs, root)
