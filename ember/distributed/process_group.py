"""Process groups: the default (world) group, sub-groups, work handles and the watchdog.

A ProcessGroup is a set of ranks plus a backend object (``backend_mpi.MPIBackend``,
``backend_nccl.NCCLBackend``, or ``backend_tcp.TCPBackend`` for ranks started without an
MPI launcher) that runs collectives on raw arrays. The public collective
functions (``collectives.py``) validate tensors, translate global ranks to group ranks,
and hand contiguous arrays to the backend.

Faults. MPI has no timeouts of its own, so every blocking call and every pending async
request is registered with a watchdog thread; an operation still running after the
group's timeout prints which rank and which operation timed out and ends the process
(``os._exit(1)``). The MPI launcher (``mpirun``, used by ``ember.distributed.run``) then
ends the other ranks, so a job never hangs. An uncaught exception in a rank ends the
whole job the same way (see ``_install_excepthook``), instead of hanging in MPI_Finalize
while the other ranks wait in a collective. The TCP backend needs none of this: its
operations raise (``DistBackendError``) when a peer's connection closes or the timeout
passes, so the exception reaches the program and no process is ended for it.
"""
import contextlib
import datetime
import enum
import itertools
import json
import os
import sys
import threading
import time
import traceback

__all__ = ["ReduceOp", "Backend", "ProcessGroup", "Work", "GroupMember", "group",
           "init_process_group", "destroy_process_group", "is_available", "is_initialized",
           "is_mpi_available", "is_nccl_available", "is_gloo_available", "get_rank",
           "get_world_size", "get_backend", "new_group", "get_process_group_ranks",
           "get_global_rank", "get_group_rank", "default_pg_timeout", "new_subgroups",
           "new_subgroups_by_enumeration", "is_backend_available", "get_backend_config",
           "get_default_backend_for_device", "get_node_local_rank", "is_torchelastic_launched",
           "get_pg_count", "is_ucc_available", "is_xccl_available", "supports_complex",
           "DebugLevel", "get_debug_level", "set_debug_level", "set_debug_level_from_env"]

default_pg_timeout = datetime.timedelta(minutes=10)


class ReduceOp:
    """Reduction operators of the collectives (``ReduceOp.SUM`` ...), as torch's."""

    class RedOpType(enum.Enum):
        SUM = 0
        AVG = 1
        PRODUCT = 2
        MIN = 3
        MAX = 4
        BAND = 5
        BOR = 6
        BXOR = 7

    SUM = RedOpType.SUM
    AVG = RedOpType.AVG
    PRODUCT = RedOpType.PRODUCT
    MIN = RedOpType.MIN
    MAX = RedOpType.MAX
    BAND = RedOpType.BAND
    BOR = RedOpType.BOR
    BXOR = RedOpType.BXOR


# reductions in a dtype MPI and NumPy lack a fast path for go through a float32 buffer
STAGED = ("float16", "bfloat16")


def check_reduction(dtype, op, what):
    """Raise, for both backends, for a ReduceOp the dtype does not support (`what` names
    the collective)."""
    kind = dtype.kind
    if kind == "c" and op in (ReduceOp.MIN, ReduceOp.MAX):
        raise RuntimeError(f"{what} does not support {op.name} on complex tensors "
                           f"(dtype {dtype})")
    if op in (ReduceOp.BAND, ReduceOp.BOR, ReduceOp.BXOR) and kind not in "iub":
        raise RuntimeError(f"ReduceOp.{op.name} needs an integer or bool tensor, got "
                           f"dtype {dtype}")
    if op is ReduceOp.AVG and kind not in "fcV" and dtype.name not in STAGED:
        raise RuntimeError(f"ReduceOp.AVG needs a floating point or complex tensor, got "
                           f"dtype {dtype}")


class Backend(str):
    """Backend names. 'gloo' (PyTorch's CPU backend) is served by ember's TCP backend, or by
    MPI when the ranks were started by an MPI launcher."""
    UNDEFINED = "undefined"
    MPI = "mpi"
    NCCL = "nccl"
    GLOO = "gloo"

    def __new__(cls, name):
        name = str(name).lower()
        if name not in (cls.MPI, cls.NCCL, cls.GLOO):
            raise ValueError(f"Invalid backend: '{name}' (ember supports 'mpi', 'nccl' and "
                             "'gloo')")
        return str.__new__(cls, name)


# ---------------------------------------------------------------------------- watchdog
class _Watchdog:
    """Ends the process when an operation runs longer than the process group's timeout."""

    def __init__(self, timeout_s, rank):
        self.timeout_s = timeout_s
        self.rank = rank
        self._ops = {}
        self._ids = itertools.count()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="ember-distributed-watchdog",
                                        daemon=True)
        self._thread.start()

    def start(self, name):
        op_id = next(self._ids)
        with self._lock:
            self._ops[op_id] = (name, time.monotonic())
        return op_id

    def finish(self, op_id):
        with self._lock:
            self._ops.pop(op_id, None)

    @contextlib.contextmanager
    def watch(self, name):
        op_id = self.start(name)
        try:
            yield
        finally:
            self.finish(op_id)

    def stop(self):
        self._stop.set()

    def _run(self):
        period = min(1.0, max(self.timeout_s / 10, 0.01))
        while not self._stop.wait(period):
            now = time.monotonic()
            with self._lock:
                late = [(name, now - t0) for name, t0 in self._ops.values()
                        if now - t0 > self.timeout_s]
            if late:
                name, age = late[0]
                _abort(f"{name} did not finish within the process group timeout "
                       f"({self.timeout_s:g} s; it has run {age:.1f} s): another rank failed, "
                       "hangs or did not call it", 1, rank=self.rank)


def _abort(message, exitcode, rank=None, details=""):
    """Report a fatal error of this rank and end the process at once.

    The report goes to stderr and, under the launcher, to a per-rank error file that
    ``ember.distributed.run`` reads to name the failing rank. ``os._exit`` skips
    MPI_Finalize, which would wait for the other ranks; the MPI launcher sees the exit
    and stops the job.
    """
    if rank is None:
        rank = os.environ.get("RANK", "?")
    sys.stderr.write(f"[rank {rank}] ember.distributed: {message}\n{details}")
    sys.stderr.flush()
    sys.stdout.flush()
    error_dir = os.environ.get("EMBER_ERROR_DIR")
    if error_dir:
        try:
            path = os.path.join(error_dir, f"rank_{rank}.json")
            with open(path, "w") as f:
                json.dump({"rank": rank, "exitcode": exitcode, "message": message,
                           "time": time.time()}, f)
        except OSError:
            pass
    os._exit(exitcode)


def _install_excepthook(rank):
    """An uncaught exception in a rank ends the job instead of hanging the others."""
    previous = sys.excepthook

    def hook(exc_type, exc, tb):
        if exc_type is KeyboardInterrupt:
            previous(exc_type, exc, tb)
        details = "".join(traceback.format_exception(exc_type, exc, tb))
        message = "".join(traceback.format_exception_only(exc_type, exc)).strip()
        _abort(f"uncaught exception: {message}", 1, rank=rank, details=details)

    sys.excepthook = hook


# ---------------------------------------------------------------------------- work handles
class Work:
    """The handle of an operation started with ``async_op=True`` (torch's ``Work``).

    ``wait()`` blocks until the operation is done (and its results are in the tensors);
    ``is_completed()`` tests without blocking. Backends build it from a test function,
    a wait function and the steps to run once the data has arrived (``then``).
    """

    def __init__(self, test=None, wait=None, watchdog=None, name="", result=()):
        self._test = test
        self._wait = wait
        self._watchdog = watchdog
        self._op_id = watchdog.start(name) if (watchdog is not None and wait is not None) \
            else None
        self._finish = []
        self._done = wait is None
        self._result = list(result)
        self.source = None

    @classmethod
    def completed(cls, result=()):
        return cls(result=result)

    def then(self, fn):
        """Run fn() after the data has arrived (immediately when it already has)."""
        if self._done:
            fn()
        else:
            self._finish.append(fn)
        return self

    def _complete(self):
        self._done = True
        if self._op_id is not None:
            self._watchdog.finish(self._op_id)
        for fn in self._finish:
            fn()
        self._finish = []

    def wait(self, timeout=None):
        if not self._done:
            self._wait()
            self._complete()
        return True

    def is_completed(self):
        if not self._done and self._test():
            self._complete()
        return self._done

    def is_success(self):
        return self.is_completed()

    def exception(self):
        return None

    def result(self):
        self.wait()
        return self._result

    def _source_rank(self):
        self.wait()
        return self.source

    def __repr__(self):
        return f"<ember.distributed.Work completed={self._done}>"


# ---------------------------------------------------------------------------- groups
class ProcessGroup:
    """A set of ranks that run collectives together through one backend."""

    def __init__(self, backend_name, backend, ranks, timeout_s):
        self.backend_name = backend_name
        self.backend = backend          # None on ranks that are not members
        self.ranks = list(ranks)        # global ranks, in group-rank order
        self.timeout_s = timeout_s

    def rank(self):
        return self.backend.rank if self.backend is not None else -1

    def size(self):
        return len(self.ranks)

    def name(self):
        return self.backend_name

    def __repr__(self):
        return f"<ember.distributed.ProcessGroup backend={self.backend_name} ranks={self.ranks}>"


class GroupMember:
    WORLD = None
    NON_GROUP_MEMBER = -100


class group:  # noqa: N801  torch.distributed.group.WORLD
    WORLD = None


_state = {"world": None, "watchdog": None, "groups": [], "store": None}


def _world():
    pg = _state["world"]
    if pg is None:
        raise ValueError("Default process group has not been initialized, please make sure to "
                         "call init_process_group.")
    return pg


def _resolve(grp):
    """The ProcessGroup meant by a ``group=`` argument (None means the world)."""
    if grp is None or grp is GroupMember.WORLD:
        return _world()
    if not isinstance(grp, ProcessGroup):
        raise TypeError(f"group must be a ProcessGroup or None, got {type(grp).__name__}")
    _world()
    return grp


def _seconds(timeout):
    if timeout is None:
        return default_pg_timeout.total_seconds()
    if isinstance(timeout, datetime.timedelta):
        return timeout.total_seconds()
    if isinstance(timeout, (int, float)):
        return float(timeout)
    raise TypeError(f"timeout must be a datetime.timedelta, got {type(timeout).__name__}")


def _env_int(*names):
    for name in names:
        value = os.environ.get(name)
        if value is not None and value != "":
            return int(value)
    return None


def init_process_group(backend=None, init_method=None, timeout=None, world_size=-1, rank=-1,
                       store=None, group_name="", pg_options=None, device_id=None):
    """Join the default process group.

    Without an MPI launcher (``ember.multiprocessing.spawn``, processes started by hand),
    the 'gloo' and 'mpi' backends connect the ranks over TCP (``backend_tcp``) when
    ``store``, a ``tcp://host:port`` or ``file://path`` init_method, or MASTER_ADDR and
    MASTER_PORT say where to meet: rank 0 then hosts a TCPStore there, and rank/world_size
    come from the arguments or RANK/WORLD_SIZE.

    Under an MPI launcher (``python -m ember.distributed.run`` or plain ``mpirun``), MPI
    itself connects the ranks, so ``init_method`` only has to be ``env://``
    (or None; ``tcp://`` and ``file://`` are accepted and not needed) and
    ``rank``/``world_size``, when given, must agree with MPI's. The ``RANK``/``WORLD_SIZE``
    environment variables are checked the same way. ``store`` (an ember Store, with
    ``rank`` and ``world_size``, as torch requires) is accepted and kept; MPI still carries
    the collectives.
    """
    if _state["world"] is not None:
        raise ValueError("trying to initialize the default process group twice!")
    name = Backend(backend if backend is not None else "mpi")
    if init_method not in (None, "env://") and not str(init_method).startswith(("tcp://",
                                                                                 "file://")):
        raise ValueError(f"init_method {init_method!r} is not supported: ember's ranks are "
                         "connected by MPI or over TCP; use 'env://', 'tcp://host:port' or "
                         "'file://path'")
    if store is not None:
        # As torch: a store excludes init_method and needs both rank and world_size. MPI
        # still connects the ranks; they are checked against MPI's below, and the store is
        # kept for the program (torch's default group holds it too).
        from .store import Store
        if init_method is not None:
            raise AssertionError("Cannot specify both init_method and store.")
        if not isinstance(store, Store):
            raise TypeError(f"init_process_group: store must be an ember.distributed.Store, "
                            f"got {type(store).__name__}")
        if not world_size > 0:
            raise AssertionError("world_size must be positive if using store")
        if not rank >= 0:
            raise AssertionError("rank must be non-negative if using store")
    timeout_s = _seconds(timeout)
    if name != Backend.NCCL and _tcp_rendezvous(name, init_method, store, rank, world_size):
        # no backend named: torch's CPU default, gloo
        _init_tcp(name if backend is not None else Backend(Backend.GLOO), init_method, store,
                  rank, world_size, timeout_s)
        return
    if name == Backend.NCCL:
        from . import backend_nccl
        backend_nccl.check_available()
    from . import backend_mpi
    comm = backend_mpi.world_comm()
    mpi_rank, mpi_size = comm.Get_rank(), comm.Get_size()
    for what, given, env_names, actual in (
            ("rank", rank, ("RANK",), mpi_rank),
            ("world_size", world_size, ("WORLD_SIZE",), mpi_size)):
        want = given if given is not None and given >= 0 else _env_int(*env_names)
        if want is not None and want != actual:
            raise RuntimeError(
                f"ember.distributed: {what}={want} but MPI started this process as rank "
                f"{mpi_rank} of {mpi_size}; start the ranks with `python -m "
                f"ember.distributed.run --nproc-per-node N script.py` or `mpirun -n N`")
    os.environ.setdefault("RANK", str(mpi_rank))
    os.environ.setdefault("WORLD_SIZE", str(mpi_size))
    watchdog = _Watchdog(timeout_s, mpi_rank)
    if name == Backend.NCCL:
        from . import backend_nccl
        impl = backend_nccl.NCCLBackend(comm, watchdog)
    else:
        impl = backend_mpi.MPIBackend(comm, watchdog)
    pg = ProcessGroup(name, impl, range(mpi_size), timeout_s)
    _state.update(world=pg, watchdog=watchdog, groups=[pg], store=store)
    GroupMember.WORLD = pg
    group.WORLD = pg
    _install_excepthook(mpi_rank)


# the variables an MPI launcher (Open MPI, MPICH/Intel MPI hydra, PMIx) gives its ranks
_MPI_LAUNCHED_VARS = ("OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK")


def _tcp_rendezvous(name, init_method, store, rank, world_size):
    """Whether the ranks meet over TCP (backend_tcp) rather than MPI: they were not
    started by an MPI launcher, and a store, a tcp:// or file:// init_method, or
    MASTER_ADDR and MASTER_PORT say where to meet. For 'mpi' (not 'gloo') rank and
    world_size must be known too (arguments or RANK/WORLD_SIZE, as torch's env://):
    without them a lone process keeps MPI's singleton world."""
    if any(os.environ.get(v) for v in _MPI_LAUNCHED_VARS):
        return False
    where = store is not None or str(init_method).startswith(("tcp://", "file://")) or (
        bool(os.environ.get("MASTER_ADDR")) and bool(os.environ.get("MASTER_PORT")))
    if not where or name == Backend.GLOO:
        return where
    query = str(init_method)
    known_rank = (rank is not None and rank >= 0) or _env_int("RANK") is not None \
        or "rank=" in query
    known_size = (world_size is not None and world_size > 0) \
        or _env_int("WORLD_SIZE") is not None or "world_size=" in query
    return known_rank and known_size


def _init_tcp(name, init_method, store, rank, world_size, timeout_s):
    """init_process_group for ranks connected by backend_tcp (see _tcp_rendezvous)."""
    import urllib.parse
    from . import backend_tcp
    from .store import FileStore, TCPStore
    url = urllib.parse.urlparse(str(init_method)) if init_method is not None else None
    query = dict(urllib.parse.parse_qsl(url.query)) if url is not None else {}
    if rank is None or rank < 0:
        rank = int(query["rank"]) if "rank" in query else _env_int("RANK")
    if world_size is None or world_size < 0:
        world_size = int(query["world_size"]) if "world_size" in query \
            else _env_int("WORLD_SIZE")
    if world_size is not None and world_size <= 0:
        raise ValueError(f"init_process_group: world_size must be positive, got {world_size}")
    if rank is None:
        raise ValueError("Error initializing ember.distributed using env:// rendezvous: "
                         "environment variable RANK expected, but not set (or pass rank=)")
    if world_size is None:
        raise ValueError("Error initializing ember.distributed using env:// rendezvous: "
                         "environment variable WORLD_SIZE expected, but not set (or pass "
                         "world_size=)")
    if not 0 <= rank < world_size:
        raise ValueError(f"init_process_group: rank {rank} is out of range for world_size "
                         f"{world_size} (ranks are 0 .. {world_size - 1})")
    store_timeout = datetime.timedelta(seconds=timeout_s)
    if store is None and url is not None and url.scheme == "file":
        store = FileStore(urllib.parse.unquote(url.path), world_size)
    elif store is None:
        if url is not None and url.scheme == "tcp":
            host, port = url.hostname, url.port
        else:
            host, port = os.environ.get("MASTER_ADDR"), _env_int("MASTER_PORT")
        if not host or port is None:
            raise ValueError("Error initializing ember.distributed using env:// rendezvous: "
                             "environment variables MASTER_ADDR and MASTER_PORT expected, "
                             "but not set")
        store = TCPStore(host, port, world_size, is_master=rank == 0, timeout=store_timeout)
    _state["tcp_inits"] = _state.get("tcp_inits", 0) + 1
    impl = backend_tcp.connect(store, rank, world_size, timeout_s,
                               f"ember/tcp/{_state['tcp_inits']}")
    os.environ.setdefault("RANK", str(rank))
    os.environ.setdefault("WORLD_SIZE", str(world_size))
    watchdog = _Watchdog(timeout_s, rank)   # idle: TCP operations time out by themselves
    pg = ProcessGroup(name, impl, range(world_size), timeout_s)
    _state.update(world=pg, watchdog=watchdog, groups=[pg], store=store)
    GroupMember.WORLD = pg
    group.WORLD = pg


def destroy_process_group(group=None):
    """Leave the group (the default group: every group, and the distributed state)."""
    pg = _resolve(group)
    if pg is _state["world"]:
        for g in _state["groups"]:
            if g.backend is not None:
                g.backend.close()
        _state["watchdog"].stop()
        _state.update(world=None, watchdog=None, groups=[], store=None)
        GroupMember.WORLD = None
        globals()["group"].WORLD = None
    else:
        if pg.backend is not None:
            pg.backend.close()
            pg.backend = None
        _state["groups"].remove(pg)


def is_available():
    return True


def is_initialized():
    return _state["world"] is not None


def is_mpi_available():
    from . import backend_mpi
    return backend_mpi.available()


def is_nccl_available():
    from . import backend_nccl
    return backend_nccl.available()


def is_gloo_available():
    """'gloo' works everywhere: over TCP (backend_tcp), or on MPI under an MPI launcher."""
    return True


def get_rank(group=None):
    """This process's rank in the group (-1 when it is not a member)."""
    return _resolve(group).rank()


def get_world_size(group=None):
    pg = _resolve(group)
    return pg.size() if pg.backend is not None else -1


def get_backend(group=None):
    return _resolve(group).backend_name


def new_group(ranks=None, timeout=None, backend=None, pg_options=None, use_local_synchronization=False,
              group_desc=None, device_id=None):
    """A group of the given global ranks. Every rank of the world must call it (as torch)."""
    world = _world()
    if ranks is None:
        ranks = list(world.ranks)
    ranks = [int(r) for r in ranks]
    if len(set(ranks)) != len(ranks):
        raise ValueError(f"new_group: ranks must be distinct, got {ranks}")
    for r in ranks:
        if not 0 <= r < world.size():
            raise ValueError(f"new_group: rank {r} is out of range for world size {world.size()}")
    ranks = sorted(ranks)
    name = Backend(backend) if backend is not None else world.backend_name
    timeout_s = world.timeout_s if timeout is None else _seconds(timeout)
    impl = world.backend.split(ranks, name)
    pg = ProcessGroup(name, impl, ranks, timeout_s)
    _state["groups"].append(pg)
    return pg


def get_process_group_ranks(group):
    return list(_resolve(group).ranks)


def get_global_rank(group, group_rank):
    pg = _resolve(group)
    if not 0 <= group_rank < pg.size():
        raise ValueError(f"Group rank {group_rank} is not part of group {pg.ranks}")
    return pg.ranks[group_rank]


def get_group_rank(group, global_rank):
    pg = _resolve(group)
    if global_rank not in pg.ranks:
        raise ValueError(f"Global rank {global_rank} is not part of group {pg.ranks}")
    return pg.ranks.index(global_rank)


def new_subgroups(group_size=None, group=None, timeout=None, backend=None, pg_options=None,
                  group_desc=None):
    """Split the world into groups of `group_size` consecutive ranks (default: the number of
    CUDA devices, as torch). Every rank calls it; returns (this rank's group, all groups)."""
    if group_size is None:
        from .. import cuda
        if not cuda.is_available():
            raise ValueError("Default group size only takes effect when CUDA is available."
                             "If your subgroup using a backend that does not depend on CUDA,"
                             "please specify the group size explicitly.")
        group_size = cuda.device_count()
    if group_size <= 0:
        raise ValueError(f"The arg 'group_size' ({group_size}) must be positive")
    world_size = get_world_size()
    if world_size < group_size:
        raise ValueError(f"The arg 'group_size' ({group_size}) must not exceed the world size "
                         f"({world_size})")
    if world_size % group_size != 0:
        raise ValueError(f"The world size ({world_size}) must be divisible by 'group_size="
                         f"{group_size}'")
    ranks_list = [list(range(start, start + group_size))
                  for start in range(0, world_size, group_size)]
    return new_subgroups_by_enumeration(ranks_list, timeout, backend, pg_options, group_desc)


def new_subgroups_by_enumeration(ranks_per_subgroup_list, timeout=None, backend=None,
                                 pg_options=None, group_desc=None):
    """One group per list of global ranks (disjoint lists); every rank calls it. Returns
    (the group this rank belongs to or None, all groups)."""
    if not ranks_per_subgroup_list:
        raise ValueError("The arg 'ranks_per_subgroup_list' cannot be empty")
    owner = {}
    for ranks in ranks_per_subgroup_list:
        for r in ranks:
            if r in owner:
                raise ValueError(f"Rank {r} has appeared in both subgroup {owner[r]} and "
                                 f"{list(ranks)}")
            owner[r] = list(ranks)
    me = get_rank()
    subgroups, mine = [], None
    for ranks in ranks_per_subgroup_list:
        pg = new_group(ranks, timeout=timeout, backend=backend, pg_options=pg_options)
        subgroups.append(pg)
        if me in pg.ranks:
            mine = pg
    return mine, subgroups


def is_backend_available(backend):
    """Whether init_process_group(backend) can work here ('gloo' always: over TCP)."""
    name = str(backend).lower()
    if name == "gloo":
        return True
    if name == "mpi":
        return is_mpi_available()
    if name == "nccl":
        return is_nccl_available()
    return False


def is_ucc_available():
    return False


def is_xccl_available():
    return False


def get_backend_config(group=None):
    """'<device>:<backend>' for the group's backend, as torch prints it."""
    name = get_backend(group)
    return f"cuda:{name}" if name == "nccl" else f"cpu:{name}"


_DEVICE_TYPES = ("cpu", "cuda", "ipu", "xpu", "mkldnn", "opengl", "opencl", "ideep", "hip",
                 "ve", "fpga", "maia", "xla", "lazy", "vulkan", "mps", "meta", "hpu", "mtia",
                 "privateuseone")


def get_default_backend_for_device(device):
    """The backend torch picks for a device type: 'gloo' for cpu, 'nccl' for cuda."""
    kind = device.type if hasattr(device, "type") else str(device).split(":")[0]
    if kind not in _DEVICE_TYPES:
        raise RuntimeError(f"Expected one of {', '.join(_DEVICE_TYPES)} device type at start of "
                           f"device string: {device}")
    defaults = {"cpu": "gloo", "cuda": "nccl"}
    if kind not in defaults:
        raise ValueError(f"Default backend not registered for device : {kind}")
    return defaults[kind]


def get_node_local_rank(fallback_rank=None):
    """This process's rank on its machine: $LOCAL_RANK (set by ember.distributed.run),
    else `fallback_rank`."""
    if "LOCAL_RANK" in os.environ:
        return int(os.environ["LOCAL_RANK"])
    if fallback_rank is not None:
        return int(fallback_rank)
    raise RuntimeError(
        "LOCAL_RANK is not in the environment. Consider passing fallback_rank to allow "
        "`get_node_local_rank` to work, assuming you are not running in a multi-device context "
        "and want the code to run locally instead.")


def is_torchelastic_launched():
    """Whether torchrun's elastic agent started this process (TORCHELASTIC_RUN_ID is set);
    ember's launcher is MPI-based and does not set it."""
    return os.getenv("TORCHELASTIC_RUN_ID") is not None


def get_pg_count():
    """How many process groups exist (the world included)."""
    return (1 if _state["world"] is not None else 0) + sum(
        1 for pg in _state["groups"] if pg is not _state["world"])


def supports_complex(reduceOp):
    """Whether reduce op `reduceOp` is defined on complex tensors (not MAX, MIN, PRODUCT,
    BAND, BOR, BXOR)."""
    return reduceOp not in (ReduceOp.MAX, ReduceOp.MIN, ReduceOp.PRODUCT, ReduceOp.BAND,
                            ReduceOp.BOR, ReduceOp.BXOR)


class DebugLevel(enum.Enum):
    OFF = 0
    INFO = 1
    DETAIL = 2


_debug_level = [DebugLevel.OFF]


def get_debug_level():
    return _debug_level[0]


def set_debug_level(level):
    _debug_level[0] = DebugLevel(level) if not isinstance(level, DebugLevel) else level


def set_debug_level_from_env():
    """The level named by $TORCH_DISTRIBUTED_DEBUG (OFF, INFO or DETAIL)."""
    value = os.environ.get("TORCH_DISTRIBUTED_DEBUG", "OFF").upper()
    if value not in DebugLevel.__members__:
        raise ValueError(f"Invalid debug level: {value}")
    _debug_level[0] = DebugLevel[value]
