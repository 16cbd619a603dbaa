"""Two machines on one: ranks in two Linux network namespaces, talking TCP over a veth pair,
started by ember's launcher with --nnodes 2 --hosts (issue #10).

Each "machine" also gets its own host name (a UTS namespace, `unshare --uts`). Without
that, both namespaces report the same host name, Open MPI takes the two ranks for
neighbours on one machine and the all-reduce comes back wrong (4.9e-324 in place of 100),
even with btl=self,tcp. With distinct names the launcher's defaults (pml=ob1,
btl=self,sm,tcp) give correct sums. The ssh that MPI would use to reach the other machine
is replaced by an agent script (PRTE_MCA_prte_ssh_agent) that runs the command in that
machine's namespace. Needs root, `ip netns`, `unshare` and Open MPI; skipped otherwise.
"""
import json
import os
import shutil
import signal
import subprocess
import sys

import pytest

from .launch import ROOT, WORKERS

TIMEOUT_S = 50
_TAG = f"em{os.getpid() % 100000}"                # unique names: parallel runs do not clash
NS = {"10.77.0.1": (f"{_TAG}a", "emhost-a"), "10.77.0.2": (f"{_TAG}b", "emhost-b")}

_AGENT = """#!/bin/sh
# ssh stand-in: agent [ssh options] HOST COMMAND... runs COMMAND in HOST's namespace
while [ $# -gt 0 ]; do case "$1" in -*) shift;; *) break;; esac; done
host=$1; shift
case "$host" in
{cases}
  *) echo "multinode agent: unknown host $host" >&2; exit 255;;
esac
exec ip netns exec "$ns" unshare --uts sh -c "hostname $name && $*"
"""


def _sh(*cmd):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=20)


def _skip_reason():
    if sys.platform != "linux":
        return "network namespaces need Linux"
    if os.geteuid() != 0:
        return "creating network namespaces needs root"
    for tool in ("ip", "unshare"):
        if shutil.which(tool) is None:
            return f"`{tool}` is not installed"
    try:
        from ember.distributed import run as launcher
        mpirun = launcher.find_mpirun()
    except RuntimeError as e:
        return str(e)
    if not launcher._is_open_mpi(mpirun):
        return "the namespace agent is written for Open MPI (PRRTE)"
    return None


def _teardown():
    for ns, _ in NS.values():
        _sh("ip", "netns", "del", ns)     # removes the veth pair with it


@pytest.fixture(scope="module")
def hosts(tmp_path_factory):
    """Two namespaces joined by a veth pair; yields the agent script's path. Always torn
    down, even when setting up fails halfway."""
    reason = _skip_reason()
    if reason:
        pytest.skip(reason)
    (ns_a, _), (ns_b, _) = NS["10.77.0.1"], NS["10.77.0.2"]
    veth_a, veth_b = f"{_TAG}va", f"{_TAG}vb"
    try:
        first = _sh("ip", "netns", "add", ns_a)
        if first.returncode != 0:
            pytest.skip(f"`ip netns add` failed: {first.stderr.strip()}")
        steps = [("ip", "netns", "add", ns_b),
                 ("ip", "link", "add", veth_a, "type", "veth", "peer", "name", veth_b),
                 ("ip", "link", "set", veth_a, "netns", ns_a),
                 ("ip", "link", "set", veth_b, "netns", ns_b),
                 ("ip", "-n", ns_a, "addr", "add", "10.77.0.1/24", "dev", veth_a),
                 ("ip", "-n", ns_b, "addr", "add", "10.77.0.2/24", "dev", veth_b),
                 ("ip", "-n", ns_a, "link", "set", "lo", "up"),
                 ("ip", "-n", ns_b, "link", "set", "lo", "up"),
                 ("ip", "-n", ns_a, "link", "set", veth_a, "up"),
                 ("ip", "-n", ns_b, "link", "set", veth_b, "up")]
        for step in steps:
            done = _sh(*step)
            if done.returncode != 0:
                pytest.skip(f"`{' '.join(step)}` failed: {done.stderr.strip()}")
        agent = tmp_path_factory.mktemp("multinode") / "agent.sh"
        cases = "\n".join(f"  {addr}) ns={ns}; name={name};;"
                          for addr, (ns, name) in NS.items())
        agent.write_text(_AGENT.format(cases=cases))
        agent.chmod(0o755)
        yield str(agent)
    finally:
        _teardown()


def _launch(agent, out_prefix):
    """Run the worker through ember's launcher on "machine" A; (returncode, output)."""
    ns_a, name_a = NS["10.77.0.1"]
    launcher = [sys.executable, "-m", "ember.distributed.run", "--nnodes", "2",
                "--nproc-per-node", "1", "--node-rank", "0", "--hosts", "10.77.0.1,10.77.0.2",
                "--master-addr", "10.77.0.1", "--master-port", "29610",
                os.path.join(WORKERS, "multinode_worker.py"), out_prefix]
    env = dict(os.environ, PRTE_MCA_prte_ssh_agent=agent,
               PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    cmd = ["ip", "netns", "exec", ns_a, "unshare", "--uts", "sh", "-c",
           f'hostname {name_a} && exec "$@"', "sh"] + launcher
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env=env, cwd=ROOT, start_new_session=True)
    try:
        output, _ = proc.communicate(timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)   # the launcher, mpirun and the remote daemon
        output, _ = proc.communicate()
        pytest.fail(f"two-namespace run did not finish in {TIMEOUT_S} s:\n{output[-4000:]}")
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    return proc.returncode, output


@pytest.fixture(scope="module")
def results(hosts, tmp_path_factory):
    prefix = str(tmp_path_factory.mktemp("multinode-out") / "out")
    code, output = _launch(hosts, prefix)
    assert code == 0, f"launcher exited with {code}:\n{output[-4000:]}"
    found = []
    for rank in (0, 1):
        with open(f"{prefix}.rank{rank}.json") as f:
            found.append(json.load(f))
    return found


def test_one_rank_on_each_machine(results):
    assert [r["rank"] for r in results] == [0, 1]
    assert [r["world"] for r in results] == [2, 2]
    assert [r["group_rank"] for r in results] == ["0", "1"]
    assert [r["hostname"] for r in results] == [NS["10.77.0.1"][1], NS["10.77.0.2"][1]]


def test_all_reduce_sums_across_machines(results):
    expected = [2.0 * i + 100.0 for i in range(8)]       # (i + 0) + (i + 100)
    for r in results:
        assert r["small"] == expected
        assert r["big_min"] == r["big_max"] == 3.0         # 1 + 2 in all 2**20 elements


def test_ddp_parameters_equal_on_both_machines(results):
    first, second = results[0]["params"], results[1]["params"]
    assert len(first) == len(second) == 4
    assert first == second
