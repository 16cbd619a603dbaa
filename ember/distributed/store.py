"""Key-value stores: HashStore, TCPStore, FileStore, PrefixStore (torch.distributed's Stores).

A store maps string keys to byte values and is shared by the processes of a job; programs
use it to meet (rendezvous), to pass small values and to build barriers. Values go in as
``str`` (UTF-8) or ``bytes`` and come out as ``bytes``. ``get`` and ``wait`` block until
the keys exist, up to the store's timeout (``timedelta(0)`` means no limit), then raise
``DistStoreError`` (FileStore: ``RuntimeError``, as torch). ``add`` keeps a counter: the key
holds the ASCII decimal integer, and the new value is returned.

- ``HashStore``: one process, thread-safe (a dict and a condition variable).
- ``TCPStore``: the master store (``is_master=True``) runs a server thread that holds a
  HashStore-like table; every store, the master's too, talks to it over a socket with a
  small length-prefixed JSON protocol of our own (no pickle: anyone who can reach the port
  may send bytes). The server stops when the master store is garbage-collected.
- ``FileStore``: an append-only log of records in a file shared by the processes, read and
  written under ``fcntl.flock``. Each store object replays the records it has not yet seen
  into a dict. With ``world_size >= 0`` the file is deleted when the last store using it is
  closed (its reference count, kept in the file, drops to 0), as torch. The log is never
  compacted: it grows with every write, which suits the small rendezvous traffic stores
  carry. Blocking reads poll the file.
- ``PrefixStore``: prepends ``prefix + "/"`` to every key and delegates to another store.

The store ops are written once, in ``Store``, over a few primitives (``_set``, ``_multi_get``,
``_add`` ...) that each kind of store supplies.
"""
import base64
import contextlib
import datetime
import errno
import fcntl
import json
import operator
import os
import socket
import struct
import threading
import time
import weakref

__all__ = ["Store", "HashStore", "TCPStore", "FileStore", "PrefixStore", "DistError",
           "DistBackendError", "DistNetworkError", "DistStoreError", "QueueEmptyError"]

_DEFAULT_TIMEOUT = datetime.timedelta(seconds=300)
_INT64_MIN, _INT64_MAX = -2 ** 63, 2 ** 63 - 1


# ---------------------------------------------------------------------------- errors
class DistError(RuntimeError):
    """Base of torch.distributed's errors (a RuntimeError)."""


class DistBackendError(DistError):
    """An error of a collective backend."""


class DistNetworkError(DistError):
    """A network error: a store or a peer cannot be reached, or the connection broke."""


class DistStoreError(DistError):
    """A store error, e.g. a key did not appear before the timeout."""


class QueueEmptyError(DistStoreError):
    """``queue_pop(key, block=False)`` on an empty queue."""


# ---------------------------------------------------------------------------- argument checks
def _key(method, key):
    """A key as str. torch takes str or bytes (UTF-8)."""
    if isinstance(key, str):
        return key
    if isinstance(key, bytes):
        return key.decode("utf-8")
    raise TypeError(f"{method}(): key must be a str, got {type(key).__name__}")


def _keys(method, keys):
    """A sequence of keys as a list of str; a lone str is refused, as torch refuses it."""
    if isinstance(keys, (str, bytes)) or not hasattr(keys, "__len__") \
            or not hasattr(keys, "__iter__"):
        raise TypeError(f"{method}(): keys must be a list of str, got {type(keys).__name__}")
    return [_key(method, k) for k in keys]


def _value(method, value):
    """A value as bytes: str is encoded as UTF-8; bytes and bytearray are taken as they are."""
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    raise TypeError(f"{method}(): value must be a str or bytes, got {type(value).__name__}")


def _values(method, values):
    if isinstance(values, (str, bytes)) or not hasattr(values, "__len__") \
            or not hasattr(values, "__iter__"):
        raise TypeError(f"{method}(): values must be a list of str or bytes, got "
                        f"{type(values).__name__}")
    return [_value(method, v) for v in values]


def _int64(method, name, amount):
    """An int that fits in int64 (bools and NumPy integers are ints; floats are not)."""
    try:
        amount = operator.index(amount)
    except TypeError:
        raise TypeError(f"{method}(): {name} must be an int, got {type(amount).__name__}") \
            from None
    if not _INT64_MIN <= amount <= _INT64_MAX:
        raise TypeError(f"{method}(): {name}={amount} does not fit in a 64-bit integer")
    return amount


def _timedelta(method, timeout):
    """A timeout as timedelta; torch also takes a float number of seconds (not an int)."""
    if isinstance(timeout, datetime.timedelta):
        return timeout
    if isinstance(timeout, float):
        return datetime.timedelta(seconds=timeout)
    raise TypeError(f"{method}(): timeout must be a datetime.timedelta, got "
                    f"{type(timeout).__name__}")


def _seconds(timeout):
    """Seconds of a timedelta, None for no limit (torch reads a zero timeout so)."""
    seconds = timeout.total_seconds()
    return seconds if seconds > 0 else None


def _timeout_message(keys, timeout_s):
    shown = "no limit" if timeout_s is None else f"{timeout_s * 1000:.0f}ms"
    return f"wait timeout after {shown}, keys: {', '.join(keys)}"


# ---------------------------------------------------------------------------- shared rules
def _counter_value(key, current):
    """The integer a counter key holds, read as C's strtoll does (torch's add parses so):
    leading blanks, a sign, then digits; whatever follows is ignored; empty reads 0."""
    if current is None:
        return 0
    text = current.decode("latin-1").lstrip()
    end = 1 if text[:1] in ("+", "-") else 0
    while end < len(text) and text[end].isdigit() and text[end].isascii():
        end += 1
    if not text:
        return 0
    digits = text[:end]
    if digits in ("", "+", "-"):
        raise ValueError(f"add(): key {key!r} holds {current!r}, which is not an integer")
    return int(digits)


def _counter_add(key, current, amount):
    """(new value as int, new value as stored bytes); the sum wraps as an int64 does."""
    total = (_counter_value(key, current) + amount - _INT64_MIN) % 2 ** 64 + _INT64_MIN
    return total, str(total).encode("ascii")


def _compare_set(current, expected, desired):
    """(value to store or None, value to return) of compare_set.

    The key is set to ``desired`` when it holds ``expected``, or when it is missing and
    ``expected`` is empty; the call returns the value the key then holds, or ``expected``
    when the key is missing and stays missing (torch's rule).
    """
    if current is None:
        return (desired, desired) if expected == b"" else (None, expected)
    if current == expected:
        return desired, desired
    return None, current


# ---------------------------------------------------------------------------- Store
class Store:
    """Base class of the stores (torch.distributed.Store).

    The public methods check their arguments and call the primitives below, which each
    store kind implements; a Python subclass may instead override the public methods,
    as with torch.
    """

    def __init__(self):
        self._timeout = _DEFAULT_TIMEOUT

    # -- timeout
    @property
    def timeout(self):
        """The default timeout of get, wait and multi_get (a timedelta)."""
        return self._timeout

    def set_timeout(self, timeout):
        self._timeout = _timedelta("set_timeout", timeout)

    # -- ops
    def set(self, key, value):
        """Store ``value`` under ``key``, replacing what was there."""
        self._set(_key("set", key), _value("set", value))

    def get(self, key):
        """The value of ``key`` (bytes); waits for the key up to the store's timeout."""
        return self._multi_get([_key("get", key)], _seconds(self.timeout))[0]

    def add(self, key, amount):
        """Add ``amount`` to the counter at ``key`` (0 when missing); return the new value."""
        return self._add(_key("add", key), _int64("add", "amount", amount))

    def compare_set(self, key, expected_value, desired_value):
        """Set ``key`` to ``desired_value`` if it holds ``expected_value`` (or is missing and
        ``expected_value`` is empty); return the value it holds afterwards."""
        return self._compare_set(_key("compare_set", key),
                                 _value("compare_set", expected_value),
                                 _value("compare_set", desired_value))

    def wait(self, keys, timeout=None):
        """Block until every key exists, up to ``timeout`` (default: the store's)."""
        keys = _keys("wait", keys)
        timeout = self.timeout if timeout is None else _timedelta("wait", timeout)
        self._wait(keys, _seconds(timeout))

    def check(self, keys):
        """True when every key exists (no waiting)."""
        return self._check(_keys("check", keys))

    def delete_key(self, key):
        """Remove ``key``; True when it was there."""
        return self._delete_key(_key("delete_key", key))

    def num_keys(self):
        """The number of keys, the store's own bookkeeping keys included (as torch)."""
        return self._num_keys()

    def append(self, key, value):
        """Append ``value`` to the bytes at ``key`` (creating it)."""
        self._append(_key("append", key), _value("append", value))

    def multi_get(self, keys):
        """The values of all ``keys``, waiting for them up to the store's timeout."""
        keys = _keys("multi_get", keys)
        return self._multi_get(keys, _seconds(self.timeout)) if keys else []

    def multi_set(self, keys, values):
        """Set each key to its value."""
        keys = _keys("multi_set", keys)
        values = _values("multi_set", values)
        if len(keys) != len(values):
            raise DistStoreError(f"multi_set: keys and values must be of the same length, "
                                 f"got {len(keys)} keys and {len(values)} values")
        self._multi_set(keys, values)

    def list_keys(self):
        """The keys of the store (without its bookkeeping keys)."""
        return self._list_keys()

    def has_extended_api(self):
        """True when append, multi_get and multi_set are served by the store itself."""
        return False

    def barrier(self, key, world_size, timeout=None):
        """Block until ``world_size`` callers have called barrier with this ``key``.

        Each caller counts itself in ``key/num_members``; the last one sets
        ``key/last_member`` (torch's key names), which the others wait for. A key serves one
        barrier.
        """
        key = _key("barrier", key)
        world_size = _int64("barrier", "world_size", world_size)
        timeout = self.timeout if timeout is None else _timedelta("barrier", timeout)
        if self.add(f"{key}/num_members", 1) == world_size:
            self.set(f"{key}/last_member", b"1")
        self.wait([f"{key}/last_member"], timeout)

    def clone(self):
        """A store on the same data, for use from another thread."""
        raise NotImplementedError(f"{type(self).__name__}.clone is not implemented")

    def queue_push(self, key, value):
        """Append ``value`` to the queue ``key``."""
        self._queue_push(_key("queue_push", key), _value("queue_push", value))

    def queue_pop(self, key, block=True):
        """Take the oldest value of the queue ``key``; waits for one unless ``block=False``
        (then an empty queue raises QueueEmptyError)."""
        return self._queue_pop(_key("queue_pop", key), bool(block), _seconds(self.timeout))

    def queue_len(self, key):
        return self._queue_len(_key("queue_len", key))

    # -- primitives (keys are str, values bytes, timeouts seconds or None for no limit)
    def _abstract(self, *args):
        raise NotImplementedError(f"{type(self).__name__} does not implement this operation; "
                                  "ember.distributed.Store is the base class of HashStore, "
                                  "TCPStore, FileStore and PrefixStore")

    _set = _multi_get = _add = _compare_set = _wait = _check = _delete_key = _abstract
    _num_keys = _append = _multi_set = _list_keys = _abstract
    _queue_push = _queue_pop = _queue_len = _abstract


# ---------------------------------------------------------------------------- the table
class _Table:
    """Keys to bytes in memory, thread-safe, with blocking reads: HashStore's data and
    TCPStore's server state. Method names and arguments are Store's primitives."""

    def __init__(self, hidden=()):
        self._data = {}
        self._queues = {}
        self._hidden = set(hidden)
        self._cond = threading.Condition()
        self._closed = False

    def _close(self):
        """Wake every blocked reader; they raise."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def _wait_until(self, ready, timeout_s):
        """Wait (holding the condition) until ready(); False on timeout."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        while not ready():
            if self._closed:
                raise DistStoreError("the store was closed while a caller was waiting")
            if deadline is None:
                self._cond.wait()
            else:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
        return True

    def _present(self, key):
        return key in self._data or bool(self._queues.get(key))

    def _set(self, key, value):
        with self._cond:
            self._data[key] = value
            self._cond.notify_all()

    def _multi_get(self, keys, timeout_s):
        with self._cond:
            if not self._wait_until(lambda: all(k in self._data for k in keys), timeout_s):
                raise DistStoreError(_timeout_message(keys, timeout_s))
            return [self._data[k] for k in keys]

    def _wait(self, keys, timeout_s):
        with self._cond:
            if not self._wait_until(lambda: all(self._present(k) for k in keys), timeout_s):
                raise DistStoreError(_timeout_message(keys, timeout_s))

    def _wait_counter(self, key, target, timeout_s):
        """Wait until the counter at key reaches target; return its value then."""
        with self._cond:
            self._wait_until(lambda: _counter_value(key, self._data.get(key)) >= target,
                             timeout_s)
            return _counter_value(key, self._data.get(key))

    def _add(self, key, amount):
        with self._cond:
            total, stored = _counter_add(key, self._data.get(key), amount)
            self._data[key] = stored
            self._cond.notify_all()
            return total

    def _compare_set(self, key, expected, desired):
        with self._cond:
            new, result = _compare_set(self._data.get(key), expected, desired)
            if new is not None:
                self._data[key] = new
                self._cond.notify_all()
            return result

    def _check(self, keys):
        with self._cond:
            return all(self._present(k) for k in keys)

    def _delete_key(self, key):
        with self._cond:
            return self._data.pop(key, None) is not None

    def _num_keys(self):
        with self._cond:
            return len(self._data)

    def _append(self, key, value):
        with self._cond:
            self._data[key] = self._data.get(key, b"") + value
            self._cond.notify_all()

    def _multi_set(self, keys, values):
        with self._cond:
            self._data.update(zip(keys, values))
            self._cond.notify_all()

    def _list_keys(self):
        with self._cond:
            return [k for k in self._data if k not in self._hidden]

    def _queue_push(self, key, value):
        with self._cond:
            self._queues.setdefault(key, []).append(value)
            self._cond.notify_all()

    def _queue_pop(self, key, block, timeout_s):
        with self._cond:
            if not block and not self._queues.get(key):
                raise QueueEmptyError(f"queue_pop: the queue {key!r} is empty")
            if not self._wait_until(lambda: bool(self._queues.get(key)), timeout_s):
                raise DistStoreError(_timeout_message([key], timeout_s))
            return self._queues[key].pop(0)

    def _queue_len(self, key):
        with self._cond:
            return len(self._queues.get(key, ()))


_TABLE_OPS = ("_set", "_multi_get", "_add", "_compare_set", "_wait", "_check", "_delete_key",
              "_num_keys", "_append", "_multi_set", "_list_keys", "_queue_push", "_queue_pop",
              "_queue_len")


# ---------------------------------------------------------------------------- HashStore
class HashStore(_Table, Store):
    """A store inside one process (torch.distributed.HashStore); thread-safe. The table's
    methods are its primitives."""

    def __init__(self):
        Store.__init__(self)
        _Table.__init__(self)

    def has_extended_api(self):
        return True

    def clone(self):
        return self   # the same object serves every thread, as torch's


# ---------------------------------------------------------------------------- TCPStore wire
# A message is an 8-byte big-endian length, then that many bytes of JSON. bytes travel as
# {"b": base64}; a request is [op, args...], a reply ["ok", result] or ["error", type, text].
_HEADER = struct.Struct("!Q")
_MAX_MESSAGE = 1 << 32


def _encode(obj):
    if isinstance(obj, bytes):
        return {"b": base64.b64encode(obj).decode("ascii")}
    if isinstance(obj, (list, tuple)):
        return [_encode(x) for x in obj]
    return obj


def _decode(obj):
    if isinstance(obj, dict):
        return base64.b64decode(obj["b"])
    if isinstance(obj, list):
        return [_decode(x) for x in obj]
    return obj


def _send_message(sock, obj):
    data = json.dumps(_encode(obj)).encode("utf-8")
    sock.sendall(_HEADER.pack(len(data)) + data)


def _recv_exact(sock, n):
    chunks, got = [], 0
    while got < n:
        chunk = sock.recv(min(n - got, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def _recv_message(sock):
    """The next message, or None when the peer closed the connection."""
    header = _recv_exact(sock, _HEADER.size)
    if header is None:
        return None
    (length,) = _HEADER.unpack(header)
    if length > _MAX_MESSAGE:
        raise OSError(f"TCPStore message of {length} bytes is too long")
    data = _recv_exact(sock, length)
    if data is None:
        return None
    return _decode(json.loads(data.decode("utf-8")))


_WIRE_ERRORS = {cls.__name__: cls for cls in (DistStoreError, QueueEmptyError, ValueError,
                                              TypeError, RuntimeError)}
_INIT_KEY = "ember/tcpstore/joined"   # counts the stores that connected (wait_for_workers)


class _TCPServer:
    """The master's server: one daemon thread accepts, one daemon thread per connection
    runs that client's requests on the shared table (a blocked get blocks only its own
    client)."""

    def __init__(self, port):
        try:
            if socket.has_dualstack_ipv6():
                self._listener = socket.create_server(("", port), family=socket.AF_INET6,
                                                      dualstack_ipv6=True)
            else:
                self._listener = socket.create_server(("", port))
        except OSError as e:
            # PyTorch's error for a port another server holds (two rank 0s, a stale run)
            name = errno.errorcode.get(e.errno, "UNKNOWN")
            raise DistNetworkError(
                f"The server socket has failed to listen on any local network address. "
                f"port: {port}, useIpv6: false, code: {-(e.errno or 0)}, name: {name}, "
                f"message: {os.strerror(e.errno).lower() if e.errno else e}") from None
        self.port = self._listener.getsockname()[1]
        self.table = _Table(hidden=(_INIT_KEY,))
        self._conns = set()
        self._lock = threading.Lock()
        self._stopped = False
        threading.Thread(target=self._accept_loop, daemon=True,
                         name=f"ember-tcpstore-server-{self.port}").start()

    def _accept_loop(self):
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return   # the listener was shut down
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self._lock:
                if self._stopped:
                    conn.close()
                    return
                self._conns.add(conn)
            threading.Thread(target=self._serve, args=(conn,), daemon=True,
                             name=f"ember-tcpstore-conn-{self.port}").start()

    def _serve(self, conn):
        try:
            while True:
                request = _recv_message(conn)
                if request is None:
                    return
                _send_message(conn, self._run(request))
        except (OSError, ValueError):
            pass   # the client went away or sent garbage: drop the connection
        finally:
            with self._lock:
                self._conns.discard(conn)
            conn.close()

    def _run(self, request):
        op, args = request[0], request[1:]
        if op not in _TABLE_OPS:
            return ["error", "RuntimeError", f"TCPStore: unknown request {op!r}"]
        try:
            return ["ok", getattr(self.table, op)(*args)]
        except Exception as e:  # noqa: BLE001  the error travels to the client
            name = type(e).__name__ if type(e).__name__ in _WIRE_ERRORS else "RuntimeError"
            return ["error", name, str(e)]

    def stop(self):
        with self._lock:
            self._stopped = True
            conns = list(self._conns)
        self.table._close()
        for s in [self._listener] + conns:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()


# multi_tenant masters of one process share the server of a port: port -> [server, users]
_tenants = {}
_tenants_lock = threading.Lock()


def _acquire_server(port, multi_tenant):
    with _tenants_lock:
        if multi_tenant and port in _tenants:
            _tenants[port][1] += 1
            return _tenants[port][0]
        server = _TCPServer(port)
        if multi_tenant:
            _tenants[server.port] = [server, 1]
        return server


def _release_server(server):
    with _tenants_lock:
        entry = _tenants.get(server.port)
        if entry is not None and entry[0] is server:
            entry[1] -= 1
            if entry[1] > 0:
                return
            del _tenants[server.port]
    server.stop()


class _TCPClient:
    """A connection to the server; one request at a time (a lock orders threads)."""

    def __init__(self, host, port, timeout_s):
        self.host, self.port = host, port
        self._lock = threading.Lock()
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        delay = 0.01
        while True:
            try:
                attempt = 5.0 if deadline is None else max(deadline - time.monotonic(), 0.01)
                self._sock = socket.create_connection((host, port), timeout=attempt)
                break
            except OSError as e:
                if deadline is not None and time.monotonic() >= deadline:
                    raise DistNetworkError(
                        f"The client socket has timed out after {timeout_s * 1000:.0f}ms while "
                        f"trying to connect to ({host}, {port}): {e}") from None
                time.sleep(delay if deadline is None
                           else max(min(delay, deadline - time.monotonic()), 0))
                delay = min(delay * 2, 0.5)
        self._sock.settimeout(None)
        self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def call(self, op, *args):
        with self._lock:
            try:
                _send_message(self._sock, [op, *args])
                reply = _recv_message(self._sock)
            except (OSError, ValueError) as e:
                reply, why = None, str(e)
            else:
                why = "the connection was closed"
            if reply is None:
                raise DistNetworkError(
                    f"TCPStore: lost the connection to the server at {self.host}:{self.port} "
                    f"({why}); did the master store's process exit?")
        if reply[0] == "ok":
            return reply[1]
        raise _WIRE_ERRORS.get(reply[1], RuntimeError)(reply[2])

    def close(self):
        with contextlib.suppress(OSError):
            self._sock.close()


def _close_tcp_store(client, server):
    client.close()
    if server is not None:
        _release_server(server)


def _tcp_finalizer(store, client, server):
    """Close the connection (and release the server) when the store is collected. Not at
    exit: the OS closes the sockets then, and a daemon thread still blocked in a get would
    otherwise wake to a closed socket and print its error while the process exits."""
    finalizer = weakref.finalize(store, _close_tcp_store, client, server)
    finalizer.atexit = False
    return finalizer


# ---------------------------------------------------------------------------- TCPStore
class TCPStore(Store):
    """A store served over TCP by the master process (torch.distributed.TCPStore).

    ``TCPStore(host_name, port, world_size=None, is_master=False, timeout=timedelta(300),
    wait_for_workers=True, multi_tenant=False, master_listen_fd=None, use_libuv=True)``.
    The master listens on ``port`` on every interface (``port=0``: a free port, read it
    from ``.port``); every store connects to ``host_name:port``, retrying until ``timeout``.
    With ``world_size`` and ``wait_for_workers`` the master's constructor waits until
    ``world_size`` stores (its own included) have connected. ``multi_tenant=True`` masters
    of one process share one server per port. ``use_libuv`` is accepted and has no effect.
    """

    def __init__(self, host_name, port, world_size=None, is_master=False,
                 timeout=_DEFAULT_TIMEOUT, wait_for_workers=True, multi_tenant=False,
                 master_listen_fd=None, use_libuv=True):
        super().__init__()
        if not isinstance(host_name, str):
            raise TypeError(f"TCPStore(): host_name must be a str, got {type(host_name).__name__}")
        if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
            raise TypeError(f"TCPStore(): port must be an int in [0, 65535], got {port!r}")
        if world_size is not None:
            world_size = _int64("TCPStore", "world_size", world_size)
            if world_size == 0:
                raise ValueError("TCPStore world size cannot be 0")
            if world_size < 0:
                world_size = None
        if not isinstance(timeout, datetime.timedelta):
            raise TypeError(f"TCPStore(): timeout must be a datetime.timedelta, got "
                            f"{type(timeout).__name__}")
        if master_listen_fd is not None:
            raise NotImplementedError("TCPStore: master_listen_fd is not supported by ember; "
                                      "pass the port to listen on")
        self._timeout = timeout
        self.host = host_name
        self.libuvBackend = bool(use_libuv)
        self._world_size = world_size
        self._server = _acquire_server(port, multi_tenant) if is_master else None
        self.port = self._server.port if is_master else port
        timeout_s = _seconds(timeout)
        try:
            self._client = _TCPClient(host_name, self.port, timeout_s)
        except BaseException:
            if self._server is not None:
                _release_server(self._server)
            raise
        self._finalizer = _tcp_finalizer(self, self._client, self._server)
        self._client.call("_add", _INIT_KEY, 1)
        if is_master and wait_for_workers and world_size is not None:
            joined = self._server.table._wait_counter(_INIT_KEY, world_size, timeout_s)
            if joined < world_size:
                self._finalizer()
                raise DistStoreError(f"Timed out after {timeout_s:g} seconds waiting for "
                                     f"clients. {joined}/{world_size} clients joined.")

    def has_extended_api(self):
        return True

    def clone(self):
        """A new connection to the same server (not a master)."""
        store = TCPStore.__new__(TCPStore)
        Store.__init__(store)
        store._timeout = self._timeout
        store.host, store.port, store.libuvBackend = self.host, self.port, self.libuvBackend
        store._world_size, store._server = self._world_size, None
        store._client = _TCPClient(self.host, self.port, _seconds(self._timeout))
        store._finalizer = _tcp_finalizer(store, store._client, None)
        return store

    def __repr__(self):
        role = f"server=TCPServer(port={self.port})" if self._server is not None else "server=None"
        return f"TCPStore(host={self.host!r}, port={self.port}, {role})"


def _remote(op):
    """A TCPStore primitive: the server runs the table method of the same name."""
    def primitive(self, *args):
        return self._client.call(op, *args)
    primitive.__name__ = op
    return primitive


for _op in _TABLE_OPS:
    setattr(TCPStore, _op, _remote(_op))


# ---------------------------------------------------------------------------- FileStore
_RECORD = struct.Struct("!cIQ")   # kind (b"S" set, b"D" delete), key length, value length
_REFCOUNT_KEY = "ember/filestore/refcount"


class _FileLog:
    """The records of a FileStore file and the dict they replay to.

    Writers append whole records under an exclusive flock, readers read under a shared one,
    so no one sees half a record. ``data`` holds every record up to ``offset``.
    """

    def __init__(self, path):
        self.path = path
        try:
            self.fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
        except OSError as e:
            raise RuntimeError(f"FileStore: cannot open {path!r}: {e.strerror}") from None
        self.offset = 0
        self.data = {}
        self._mutex = threading.Lock()   # flock is per open file, not per thread

    @contextlib.contextmanager
    def locked(self, exclusive):
        """Hold the file lock with ``data`` brought up to date."""
        with self._mutex:
            fcntl.flock(self.fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
            try:
                self._catch_up()
                yield self
            finally:
                fcntl.flock(self.fd, fcntl.LOCK_UN)

    def _catch_up(self):
        size = os.fstat(self.fd).st_size
        if size < self.offset:   # the file was truncated under us: read it afresh
            self.offset, self.data = 0, {}
        if size == self.offset:
            return
        chunk = os.pread(self.fd, size - self.offset, self.offset)
        pos = 0
        while pos + _RECORD.size <= len(chunk):
            kind, key_len, value_len = _RECORD.unpack_from(chunk, pos)
            end = pos + _RECORD.size + key_len + value_len
            if end > len(chunk) or kind not in (b"S", b"D"):
                raise RuntimeError(f"FileStore: {self.path!r} is not a FileStore file or is "
                                   "damaged")
            key = chunk[pos + _RECORD.size:pos + _RECORD.size + key_len].decode("utf-8")
            if kind == b"S":
                self.data[key] = chunk[end - value_len:end]
            else:
                self.data.pop(key, None)
            pos = end
        self.offset += pos

    def write(self, records):
        """Append (kind, key, value) records; call while holding the exclusive lock."""
        blob = b"".join(_RECORD.pack(kind, len(k.encode("utf-8")), len(v)) + k.encode("utf-8")
                        + v for kind, k, v in records)
        written = 0
        while written < len(blob):   # a regular file takes it whole but for a full disk
            written += os.write(self.fd, blob[written:])
        self._catch_up()

    def close(self):
        with contextlib.suppress(OSError):
            os.close(self.fd)


def _release_file_store(log, world_size):
    """Count this store out; the last one out deletes the file (when world_size >= 0)."""
    try:
        with log.locked(exclusive=True):
            users, stored = _counter_add(_REFCOUNT_KEY, log.data.get(_REFCOUNT_KEY), -1)
            log.write([(b"S", _REFCOUNT_KEY, stored)])
            if world_size >= 0 and users <= 0:
                with contextlib.suppress(OSError):
                    os.unlink(log.path)
    except (OSError, RuntimeError):
        pass   # the file went away already
    log.close()


class FileStore(Store):
    """A store in a file shared by processes on one machine or a shared filesystem
    (torch.distributed.FileStore). ``FileStore(file_name, world_size=-1)``: with
    ``world_size >= 0`` the file is deleted when the last store using it is closed
    (garbage-collected). Blocking reads poll the file (10 ms, growing to 100 ms)."""

    def __init__(self, file_name, world_size=-1):
        super().__init__()
        if not isinstance(file_name, (str, bytes)):
            raise TypeError(f"FileStore(): file_name must be a str, got "
                            f"{type(file_name).__name__}")
        self.path = os.fsdecode(file_name)
        self._world_size = _int64("FileStore", "world_size", world_size)
        self._log = _FileLog(self.path)
        self._finalizer = weakref.finalize(self, _release_file_store, self._log,
                                           self._world_size)
        self._add(_REFCOUNT_KEY, 1)

    def clone(self):
        return FileStore(self.path, self._world_size)

    def _poll(self, ready, timeout_s):
        """Poll the file until ready(data) is true; False on timeout."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        delay = 0.01
        while True:
            with self._log.locked(exclusive=False) as log:
                if ready(log.data):
                    return True
            if deadline is not None and time.monotonic() >= deadline:
                return False
            pause = delay if deadline is None else min(delay, deadline - time.monotonic())
            time.sleep(max(pause, 0))
            delay = min(delay * 1.5, 0.1)

    def _set(self, key, value):
        with self._log.locked(exclusive=True) as log:
            log.write([(b"S", key, value)])

    def _multi_get(self, keys, timeout_s):
        found = []

        def ready(data):
            if all(k in data for k in keys):
                found[:] = [data[k] for k in keys]
                return True
            return False

        if not self._poll(ready, timeout_s):
            raise RuntimeError(_timeout_message(keys, timeout_s))
        return found

    def _wait(self, keys, timeout_s):
        if not self._poll(lambda data: all(k in data for k in keys), timeout_s):
            raise RuntimeError(_timeout_message(keys, timeout_s))

    def _add(self, key, amount):
        with self._log.locked(exclusive=True) as log:
            total, stored = _counter_add(key, log.data.get(key), amount)
            log.write([(b"S", key, stored)])
            return total

    def _compare_set(self, key, expected, desired):
        with self._log.locked(exclusive=True) as log:
            new, result = _compare_set(log.data.get(key), expected, desired)
            if new is not None:
                log.write([(b"S", key, new)])
            return result

    def _check(self, keys):
        with self._log.locked(exclusive=False) as log:
            return all(k in log.data for k in keys)

    def _delete_key(self, key):
        with self._log.locked(exclusive=True) as log:
            if key in log.data:
                log.write([(b"D", key, b"")])
        return True   # torch's FileStore answers True whether or not the key was there

    def _num_keys(self):
        with self._log.locked(exclusive=False) as log:
            return len(log.data)

    def _append(self, key, value):
        with self._log.locked(exclusive=True) as log:
            log.write([(b"S", key, log.data.get(key, b"") + value)])

    def _multi_set(self, keys, values):
        with self._log.locked(exclusive=True) as log:
            log.write([(b"S", k, v) for k, v in zip(keys, values)])

    def _list_keys(self):
        with self._log.locked(exclusive=False) as log:
            return [k for k in log.data if k != _REFCOUNT_KEY]

    def _queue_unsupported(self, *args):
        raise NotImplementedError("FileStore: queue support is not implemented (as in torch)")

    _queue_push = _queue_pop = _queue_len = _queue_unsupported

    def __repr__(self):
        return f"FileStore({self.path!r}, world_size={self._world_size})"


# ---------------------------------------------------------------------------- PrefixStore
class PrefixStore(Store):
    """Puts ``prefix + "/"`` before every key and delegates to ``store``
    (torch.distributed.PrefixStore). Its timeout is the underlying store's."""

    def __init__(self, prefix, store):
        super().__init__()
        if not isinstance(prefix, str):
            raise TypeError(f"PrefixStore(): prefix must be a str, got {type(prefix).__name__}")
        if not isinstance(store, Store):
            raise TypeError(f"PrefixStore(): store must be an ember.distributed.Store, got "
                            f"{type(store).__name__}")
        self._prefix = prefix
        self._store = store

    @property
    def underlying_store(self):
        return self._store

    @property
    def _underlying_non_prefix_store(self):
        store = self._store
        while isinstance(store, PrefixStore):
            store = store.underlying_store
        return store

    @property
    def timeout(self):
        return self._store.timeout

    def set_timeout(self, timeout):
        self._store.set_timeout(timeout)

    def has_extended_api(self):
        return self._store.has_extended_api()

    def clone(self):
        return PrefixStore(self._prefix, self._store.clone())

    def _k(self, key):
        return f"{self._prefix}/{key}"

    # The primitives call the underlying store's public methods, so any Store subclass,
    # one that overrides only the public methods too, can sit underneath.
    def _set(self, key, value):
        self._store.set(self._k(key), value)

    def _multi_get(self, keys, timeout_s):
        return self._store.multi_get([self._k(k) for k in keys])

    def _wait(self, keys, timeout_s):
        limit = datetime.timedelta(0) if timeout_s is None else \
            datetime.timedelta(seconds=timeout_s)
        self._store.wait([self._k(k) for k in keys], limit)

    def _add(self, key, amount):
        return self._store.add(self._k(key), amount)

    def _compare_set(self, key, expected, desired):
        return self._store.compare_set(self._k(key), expected, desired)

    def _check(self, keys):
        return self._store.check([self._k(k) for k in keys])

    def _delete_key(self, key):
        return self._store.delete_key(self._k(key))

    def _num_keys(self):
        return self._store.num_keys()

    def _append(self, key, value):
        self._store.append(self._k(key), value)

    def _multi_set(self, keys, values):
        self._store.multi_set([self._k(k) for k in keys], values)

    def _list_keys(self):
        head = self._k("")
        return [k[len(head):] for k in self._store.list_keys() if k.startswith(head)]

    def _queue_push(self, key, value):
        self._store.queue_push(self._k(key), value)

    def _queue_pop(self, key, block, timeout_s):
        return self._store.queue_pop(self._k(key), block)

    def _queue_len(self, key):
        return self._store.queue_len(self._k(key))

    def __repr__(self):
        return f"PrefixStore({self._prefix!r}, {self._store!r})"
