"""The per-rank entry point used by ``ember.distributed.run``: ``python -m
ember.distributed._worker [-m] target args...``.

It exports torchrun's variables (RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE,
GROUP_RANK, MASTER_ADDR, MASTER_PORT) from what the MPI launcher set, runs the script as
``__main__``, and turns an uncaught exception or a non-zero ``sys.exit`` into an
immediate exit that the launcher reports with the rank's number (a rank that raised must
not wait in MPI_Finalize while the others wait for it in a collective).
"""
import os
import runpy
import sys
import traceback

from .process_group import _abort

# rank / size / local rank as Open MPI, MPICH/Intel MPI (hydra) and PMIx export them
_RANK_VARS = ("OMPI_COMM_WORLD_RANK", "PMI_RANK", "PMIX_RANK")
_SIZE_VARS = ("OMPI_COMM_WORLD_SIZE", "PMI_SIZE")
_LOCAL_RANK_VARS = ("OMPI_COMM_WORLD_LOCAL_RANK", "MPI_LOCALRANKID")


def _first(names):
    for name in names:
        if os.environ.get(name, "") != "":
            return int(os.environ[name])
    return None


def export_rank_environment():
    """Set torchrun's per-rank variables from the MPI launcher's."""
    rank = _first(_RANK_VARS)
    size = _first(_SIZE_VARS)
    if rank is None or size is None:
        from .backend_mpi import world_comm
        comm = world_comm()
        rank, size = comm.Get_rank(), comm.Get_size()
    per_node = int(os.environ.get("EMBER_NPROC_PER_NODE", size))
    local_rank = _first(_LOCAL_RANK_VARS)
    if local_rank is None:
        local_rank = rank % per_node
    os.environ.update(RANK=str(rank), WORLD_SIZE=str(size), LOCAL_RANK=str(local_rank),
                      LOCAL_WORLD_SIZE=str(per_node), GROUP_RANK=str(rank // per_node),
                      NODE_RANK=str(rank // per_node))
    os.environ.setdefault("MASTER_ADDR", "127.0.0.1")
    os.environ.setdefault("MASTER_PORT", "29500")
    return rank


def main(argv):
    as_module = bool(argv) and argv[0] == "-m"
    if as_module:
        argv = argv[1:]
    if not argv:
        sys.exit("usage: python -m ember.distributed._worker [-m] target [args ...]")
    rank = export_rank_environment()
    target = argv[0]
    sys.argv = list(argv)
    try:
        if as_module:
            runpy.run_module(target, run_name="__main__", alter_sys=True)
        else:
            sys.path.insert(0, os.path.dirname(os.path.abspath(target)))
            runpy.run_path(target, run_name="__main__")
    except SystemExit as e:
        if e.code is None or e.code == 0:
            return
        code = e.code if isinstance(e.code, int) else 1
        if not isinstance(e.code, int):
            sys.stderr.write(f"{e.code}\n")
        _abort(f"exited with code {code}", code, rank=rank)
    except BaseException as e:
        details = traceback.format_exc()
        message = "".join(traceback.format_exception_only(type(e), e)).strip()
        _abort(f"uncaught exception: {message}", 1, rank=rank, details=details)


if __name__ == "__main__":
    main(sys.argv[1:])
