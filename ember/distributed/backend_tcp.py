"""The TCP backend: collectives over plain sockets, for ranks started without MPI.

This serves ``init_process_group("gloo", ...)`` in processes started by
``ember.multiprocessing.spawn`` (or by hand, or by torchrun-like scripts) that find each
other through a store: rank 0 hosts a ``TCPStore`` at MASTER_ADDR:MASTER_PORT (or a
``tcp://`` / ``file://`` init_method, or the ``store=`` given). Each rank listens on a
free port, publishes its address in the store, and the ranks connect a full mesh: rank i
connects to every lower rank and accepts the higher ones.

Every message on a connection is a header (group id, kind, tag, byte count) followed by
the raw bytes, so every dtype travels (bfloat16 included). A daemon thread per
connection reads messages into an inbox keyed by (sender, group, kind, tag); a receive
waits on the inbox up to the process group's timeout, and fails at once when the sender's
connection closed (the peer exited or died), so a dead peer raises ``DistBackendError``
(a RuntimeError) instead of hanging. Because the inbox always drains the sockets, sends
never block on a peer that is busy elsewhere.

Algorithms are the simple ones: a reduction gathers the arrays to the root, which combines
them in rank order with NumPy (``_combine``: ReduceOp semantics as the MPI backend's: bool
SUM/MAX/BOR = or, PRODUCT/MIN/BAND = and, BXOR = xor; float16/bfloat16 reduced in float32;
AVG = SUM / group size); all_reduce is a reduce to group rank 0 and a broadcast. Data
movement sends each rank its bytes directly. Collectives called with ``async_op=True``
complete before they return (their Work is already done); ``irecv`` completes when waited.

Sub-groups (``new_group``) share the world's connections, their messages told apart by a
group id that every rank numbers alike (all ranks call new_group in the same order).
"""
import collections
import json
import pickle
import socket
import struct
import threading
import time

import numpy as np

from .process_group import STAGED as _STAGED, ReduceOp, Work, check_reduction
from .store import DistBackendError, PrefixStore, TCPStore

__all__ = ["TCPBackend", "connect"]

_HEADER = struct.Struct("!qqqQ")     # group id, kind, tag, payload bytes
_RANK = struct.Struct("!q")          # the handshake: the connecting rank
_COLLECTIVE, _P2P = 0, 1


def _bytes(arr):
    """The raw bytes of a C-contiguous host array, as a flat uint8 view."""
    if not isinstance(arr, np.ndarray):
        raise NotImplementedError(
            f"ember.distributed: the TCP ('gloo') backend carries CPU tensors only, got an "
            f"array of type {type(arr).__module__}.{type(arr).__name__}; move the tensor to "
            "the CPU, or use the 'nccl' backend for CUDA tensors")
    return arr.reshape(-1).view(np.uint8)


# ---------------------------------------------------------------------------- the mesh
class _Mesh:
    """Connections from this rank to every other rank of the world, and their inbox."""

    def __init__(self, rank, size, socks, timeout_s):
        self.rank, self.size, self.timeout_s = rank, size, timeout_s
        self._socks = socks
        self._send_locks = {peer: threading.Lock() for peer in socks}
        self._inbox = collections.defaultdict(collections.deque)
        self._dead = {}                 # peer -> why its connection ended
        self._cond = threading.Condition()
        self._closing = False
        self._next_group = 1            # 0 is the world
        for peer, sock in socks.items():
            threading.Thread(target=self._receive_loop, args=(peer, sock), daemon=True,
                             name=f"ember-tcp-recv-{rank}-from-{peer}").start()

    def new_group_id(self):
        gid = self._next_group
        self._next_group += 1
        return gid

    def _read(self, sock, n):
        """n bytes from sock, or None at the end of the stream. A socket timeout only
        means the peer had nothing to say: keep waiting, keeping what was read."""
        buf = bytearray(n)
        view = memoryview(buf)
        got = 0
        while got < n:
            try:
                k = sock.recv_into(view[got:])
            except TimeoutError:
                if self._closing:
                    return None
                continue
            if k == 0:
                return None
            got += k
        return buf

    def _receive_loop(self, peer, sock):
        why = "it closed the connection (the process exited or failed)"
        try:
            while True:
                header = self._read(sock, _HEADER.size)
                if header is None:
                    break
                gid, kind, tag, n = _HEADER.unpack(header)
                payload = self._read(sock, n)
                if payload is None:
                    why = "its connection closed in the middle of a message"
                    break
                with self._cond:
                    self._inbox[(peer, gid, kind, tag)].append(payload)
                    self._cond.notify_all()
        except OSError as e:
            why = f"its connection failed ({e})"
        with self._cond:
            self._dead[peer] = why
            self._cond.notify_all()

    def send(self, peer, gid, kind, tag, payload, what):
        """Send payload (bytes-like) to global rank peer."""
        payload = memoryview(payload).cast("B")
        try:
            with self._send_locks[peer]:
                self._socks[peer].sendall(_HEADER.pack(gid, kind, tag, payload.nbytes))
                if payload.nbytes:
                    self._socks[peer].sendall(payload)
        except OSError as e:
            raise DistBackendError(f"[rank {self.rank}] {what}: sending to rank {peer} failed "
                                   f"({e}); did rank {peer} exit or fail?") from None

    def ready(self, peers, gid, kind, tag):
        """The first of peers with a message waiting (None when none has)."""
        with self._cond:
            for peer in peers:
                if self._inbox.get((peer, gid, kind, tag)):
                    return peer
        return None

    def take(self, peers, gid, kind, tag, what):
        """(sender, payload) of the next message from one of peers (global ranks),
        waiting up to the timeout; raises when every candidate's connection is gone."""
        deadline = time.monotonic() + self.timeout_s
        with self._cond:
            while True:
                for peer in peers:
                    queue = self._inbox.get((peer, gid, kind, tag))
                    if queue:
                        return peer, queue.popleft()
                if all(peer in self._dead for peer in peers):
                    reasons = "; ".join(f"rank {p}: {self._dead[p]}" for p in peers)
                    raise DistBackendError(f"[rank {self.rank}] {what}: the connection to the "
                                           f"peer was lost before its data arrived ({reasons})")
                left = deadline - time.monotonic()
                if left <= 0:
                    names = ", ".join(str(p) for p in peers)
                    raise DistBackendError(
                        f"[rank {self.rank}] {what}: timed out after {self.timeout_s:g} s "
                        f"waiting for data from rank {names}: that rank failed, hangs or did "
                        "not call the same operation")
                self._cond.wait(left)

    def close(self):
        self._closing = True
        for sock in self._socks.values():
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()


def _listener():
    if socket.has_dualstack_ipv6():
        return socket.create_server(("", 0), family=socket.AF_INET6, dualstack_ipv6=True)
    return socket.create_server(("", 0))


def _advertised_host(store):
    """The address peers should use to reach this machine: the local end of the store's
    connection when the store is a TCPStore (the interface that routes to the master),
    else the address the host name resolves to."""
    while isinstance(store, PrefixStore):
        store = store.underlying_store
    if isinstance(store, TCPStore):
        host = store._client._sock.getsockname()[0]
        return host[7:] if host.startswith("::ffff:") else host
    try:
        return socket.gethostbyname(socket.gethostname())
    except OSError:
        return "127.0.0.1"


def _exact(sock, n, deadline):
    data = b""
    while len(data) < n:
        sock.settimeout(max(deadline - time.monotonic(), 0.001))
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ConnectionError("the peer closed the connection during the handshake")
        data += chunk
    return data


def connect(store, rank, size, timeout_s, prefix):
    """The world backend of this rank: meet the others in store and connect a full mesh."""
    deadline = time.monotonic() + timeout_s
    socks = {}
    if size > 1:
        listener = _listener()
        try:
            port = listener.getsockname()[1]
            store.set(f"{prefix}/addr/{rank}", json.dumps([_advertised_host(store), port]))
            for peer in range(rank):
                host, peer_port = json.loads(store.get(f"{prefix}/addr/{peer}"))
                sock = socket.create_connection((host, peer_port),
                                                timeout=max(deadline - time.monotonic(), 0.001))
                sock.sendall(_RANK.pack(rank))
                socks[peer] = sock
            while len(socks) < size - 1:
                listener.settimeout(max(deadline - time.monotonic(), 0.001))
                conn, _ = listener.accept()
                peer = _RANK.unpack(_exact(conn, _RANK.size, deadline))[0]
                if not rank < peer < size or peer in socks:
                    conn.close()
                    raise DistBackendError(f"[rank {rank}] init_process_group: a process "
                                           f"claiming rank {peer} connected; are two jobs "
                                           "using the same store or MASTER_PORT?")
                socks[peer] = conn
        except (OSError, TimeoutError) as e:
            for sock in socks.values():
                sock.close()
            raise DistBackendError(
                f"[rank {rank}] init_process_group: could not connect to the other ranks "
                f"within {timeout_s:g} s ({e}); {size} ranks must call init_process_group "
                f"with world_size={size}") from None
        finally:
            listener.close()
    for sock in socks.values():
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.settimeout(timeout_s)
    mesh = _Mesh(rank, size, socks, timeout_s)
    backend = TCPBackend(mesh, 0, list(range(size)))
    backend.barrier()   # everyone is connected before anyone uses (or drops) the store
    return backend


# ---------------------------------------------------------------------------- reductions
_UFUNCS = {ReduceOp.SUM: np.add, ReduceOp.AVG: np.add, ReduceOp.PRODUCT: np.multiply,
           ReduceOp.MIN: np.minimum, ReduceOp.MAX: np.maximum, ReduceOp.BAND: np.bitwise_and,
           ReduceOp.BOR: np.bitwise_or, ReduceOp.BXOR: np.bitwise_xor}


def _combine(parts, op, group_size):
    """op over the arrays of parts (in rank order), in their dtype.

    bool: SUM/MAX/BOR are a logical or, PRODUCT/MIN/BAND a logical and, BXOR a xor.
    float16/bfloat16 are combined in float32 and rounded once. AVG = SUM / group_size.
    """
    dtype = parts[0].dtype
    if dtype.kind == "b":
        if op is ReduceOp.BXOR:
            ufunc = np.logical_xor
        elif op in (ReduceOp.SUM, ReduceOp.MAX, ReduceOp.BOR):
            ufunc = np.logical_or
        else:
            ufunc = np.logical_and
    else:
        ufunc = _UFUNCS[op]
    staged = dtype.name in _STAGED
    acc = parts[0].astype(np.float32) if staged else parts[0].copy()
    for part in parts[1:]:
        ufunc(acc, part.astype(np.float32) if staged else part, out=acc)
    if op is ReduceOp.AVG:
        np.divide(acc, group_size, out=acc)
    return acc.astype(dtype, copy=False)


# ---------------------------------------------------------------------------- the backend
class TCPBackend:
    """The collectives of one group (global ranks ``ranks``) over the world's mesh."""

    def __init__(self, mesh, gid, ranks):
        self.mesh = mesh
        self.gid = gid
        self.ranks = list(ranks)
        self.rank = self.ranks.index(mesh.rank)
        self.size = len(self.ranks)
        self.timeout_s = mesh.timeout_s

    def split(self, ranks, backend_name):
        """The backend of a sub-group (None on ranks outside it). Every rank of the world
        calls it, in the same order, so the group ids agree."""
        if backend_name == "nccl":
            raise NotImplementedError("ember.distributed: an 'nccl' sub-group of a group "
                                      "connected over TCP is not supported; use 'gloo'")
        gid = self.mesh.new_group_id()
        if self.mesh.rank not in ranks:
            return None
        return TCPBackend(self.mesh, gid, ranks)

    def close(self):
        if self.gid == 0:
            self.mesh.close()

    # ------------------------------------------------------------------ messages
    def _send(self, g, payload, what, kind=_COLLECTIVE, tag=0):
        self.mesh.send(self.ranks[g], self.gid, kind, tag, payload, what)

    def _recv(self, g, what, kind=_COLLECTIVE, tag=0):
        return self.mesh.take([self.ranks[g]], self.gid, kind, tag, what)[1]

    def _recv_into(self, g, out, what):
        """Receive group rank g's bytes into the uint8 array out (sizes must agree)."""
        payload = self._recv(g, what)
        if len(payload) != out.nbytes:
            raise DistBackendError(
                f"[rank {self.mesh.rank}] {what}: rank {self.ranks[g]} sent {len(payload)} "
                f"bytes where {out.nbytes} were expected: the ranks' tensors differ in size "
                "or dtype")
        out[...] = np.frombuffer(payload, np.uint8)

    def _recv_array(self, g, like, what):
        out = np.empty_like(like)
        self._recv_into(g, _bytes(out), what)
        return out

    def _reduce_to_root(self, arr, op, root, what):
        """The reduction over the group on the root (None on the other ranks)."""
        check_reduction(arr.dtype, op, what)
        _bytes(arr)    # a CUDA array raises here, on every rank, before any message
        if self.rank != root:
            self._send(root, _bytes(arr), what)
            return None
        parts = [arr if g == root else self._recv_array(g, arr, what) for g in range(self.size)]
        return _combine(parts, op, self.size)

    def _bcast_bytes(self, data, root, what):
        """data (a uint8 array) on every rank <- the root's."""
        if self.rank == root:
            for g in range(self.size):
                if g != root:
                    self._send(g, data, what)
        else:
            self._recv_into(root, data, what)

    # ------------------------------------------------------------------ collectives
    def allreduce(self, arr, op, async_op=False):
        result = self._reduce_to_root(arr, op, 0, "all_reduce")
        if result is not None:
            arr[...] = result
        self._bcast_bytes(_bytes(arr), 0, "all_reduce")
        return Work.completed()

    def reduce(self, arr, op, root, async_op=False):
        result = self._reduce_to_root(arr, op, root, "reduce")
        if result is not None:
            arr[...] = result
        return Work.completed()

    def broadcast(self, arr, root, async_op=False):
        self._bcast_bytes(_bytes(arr), root, "broadcast")
        return Work.completed()

    def allgather(self, send, recv, async_op=False):
        """recv (size * send.size elements) receives every rank's send, in rank order."""
        data = _bytes(send)
        for g in range(self.size):
            if g != self.rank:
                self._send(g, data, "all_gather")
        chunks = _bytes(recv).reshape(self.size, -1)
        for g in range(self.size):
            if g == self.rank:
                chunks[g] = data
            else:
                self._recv_into(g, chunks[g], "all_gather")
        return Work.completed()

    def gather(self, send, recv, root, async_op=False):
        data = _bytes(send)
        if self.rank != root:
            self._send(root, data, "gather")
            return Work.completed()
        chunks = _bytes(recv).reshape(self.size, -1)
        for g in range(self.size):
            if g == root:
                chunks[g] = data
            else:
                self._recv_into(g, chunks[g], "gather")
        return Work.completed()

    def scatter(self, send, recv, root, async_op=False):
        out = _bytes(recv)
        if self.rank != root:
            self._recv_into(root, out, "scatter")
            return Work.completed()
        chunks = _bytes(send).reshape(self.size, -1)
        for g in range(self.size):
            if g == root:
                out[...] = chunks[g]
            else:
                self._send(g, chunks[g], "scatter")
        return Work.completed()

    def reduce_scatter(self, send, recv, op, async_op=False):
        """recv = the op-reduction over ranks of chunk `rank` of send (size * recv.size)."""
        check_reduction(send.dtype, op, "reduce_scatter")
        _bytes(send)
        chunks = send.reshape(self.size, -1)
        for g in range(self.size):
            if g != self.rank:
                self._send(g, _bytes(np.ascontiguousarray(chunks[g])), "reduce_scatter")
        mine = chunks[self.rank]
        parts = [mine if g == self.rank else self._recv_array(g, mine, "reduce_scatter")
                 for g in range(self.size)]
        recv.reshape(-1)[...] = _combine(parts, op, self.size)
        return Work.completed()

    def alltoall(self, send, send_counts, recv, recv_counts, async_op=False):
        """Chunk i of send (send_counts[i] elements) goes to rank i; recv likewise."""
        s_off = np.cumsum([0] + list(send_counts))
        r_off = np.cumsum([0] + list(recv_counts))
        flat_send, flat_recv = send.reshape(-1), recv.reshape(-1)
        for g in range(self.size):
            if g != self.rank:
                self._send(g, _bytes(flat_send[s_off[g]:s_off[g + 1]]), "all_to_all")
        for g in range(self.size):
            out = flat_recv[r_off[g]:r_off[g + 1]]
            if g == self.rank:
                if out.size != s_off[g + 1] - s_off[g]:
                    raise RuntimeError(f"all_to_all: this rank sends itself "
                                       f"{s_off[g + 1] - s_off[g]} elements but expects "
                                       f"{out.size}")
                out[...] = flat_send[s_off[g]:s_off[g + 1]]
            else:
                self._recv_into(g, _bytes(out), "all_to_all")
        return Work.completed()

    def send(self, arr, dst, tag, async_op=False):
        self._send(dst, _bytes(arr), "send", _P2P, tag)
        return Work.completed()

    def recv(self, arr, src, tag, async_op=False):
        """Receive into arr; src None means any rank. The Work's ``source`` is the
        sender's group rank. Asynchronous receives complete when waited on (or tested)."""
        peers = [self.ranks[g] for g in range(self.size) if g != self.rank] if src is None \
            else [self.ranks[src]]
        out = _bytes(arr)

        def wait():
            peer, payload = self.mesh.take(peers, self.gid, _P2P, tag, "recv")
            if len(payload) != out.nbytes:
                raise DistBackendError(f"[rank {self.mesh.rank}] recv: rank {peer} sent "
                                       f"{len(payload)} bytes where {out.nbytes} were expected")
            out[...] = np.frombuffer(payload, np.uint8)
            work.source = self.ranks.index(peer)

        def test():
            if self.mesh.ready(peers, self.gid, _P2P, tag) is None:
                return False
            wait()
            return True

        work = Work(test=test, wait=wait, name="recv")
        if not async_op:
            work.wait()
        return work

    def barrier(self, async_op=False):
        empty = np.empty(0, np.uint8)
        if self.rank == 0:
            for g in range(1, self.size):
                self._recv_into(g, empty, "barrier")
        else:
            self._send(0, empty, "barrier")
        self._bcast_bytes(empty, 0, "barrier")
        return Work.completed()

    # ------------------------------------------------------------------ Python objects
    def _send_object(self, g, obj, what):
        self._send(g, pickle.dumps(obj), what)

    def _recv_object(self, g, what):
        return pickle.loads(self._recv(g, what))

    def broadcast_object(self, obj, root):
        if self.rank == root:
            for g in range(self.size):
                if g != root:
                    self._send_object(g, obj, "broadcast_object_list")
            return obj
        return self._recv_object(root, "broadcast_object_list")

    def allgather_object(self, obj):
        for g in range(self.size):
            if g != self.rank:
                self._send_object(g, obj, "all_gather_object")
        return [obj if g == self.rank else self._recv_object(g, "all_gather_object")
                for g in range(self.size)]

    def gather_object(self, obj, root):
        if self.rank != root:
            self._send_object(root, obj, "gather_object")
            return None
        return [obj if g == root else self._recv_object(g, "gather_object")
                for g in range(self.size)]

    def scatter_object(self, objs, root):
        if self.rank != root:
            return self._recv_object(root, "scatter_object_list")
        for g in range(self.size):
            if g != root:
                self._send_object(g, objs[g], "scatter_object_list")
        return objs[root]
