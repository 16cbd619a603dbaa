"""The launcher exports torchrun's variables; plain mpirun works too; NCCL without CuPy
raises a clear error; ember imports without touching MPI."""
import os
import subprocess
import sys

import pytest

from ember.distributed import run as launcher
from .launch import launch, ROOT


def _rank_lines(output):
    return sorted(line.split()[1:] for line in output.splitlines() if line.startswith("rank-info"))


def test_launcher_exports_torchrun_variables():
    code, output = launch(
        "env_worker.py", launcher=[sys.executable, "-m", "ember.distributed.run",
                                   "--nproc-per-node", "2", "--master-port", "29777"])
    assert code == 0, output
    assert _rank_lines(output) == [["0", "0", "2", "127.0.0.1", "29777", "0", "2", "2"],
                                   ["1", "1", "2", "127.0.0.1", "29777", "1", "2", "2"]]


def test_plain_mpirun_gives_rank_and_size_from_mpi():
    mpirun = launcher.find_mpirun()
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
               OMPI_MCA_pml="ob1", OMPI_MCA_btl="self,sm", PYTHONPATH=ROOT,
               PRTE_MCA_rmaps_default_mapping_policy=":oversubscribe")
    for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK"):
        env.pop(name, None)
    proc = subprocess.run([mpirun, "-n", "2", sys.executable,
                           os.path.join(ROOT, "tests/distributed/workers/env_worker.py")],
                          capture_output=True, text=True, timeout=120, env=env, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = _rank_lines(proc.stdout)
    assert [line[5:] for line in lines] == [["0", "2", "2"], ["1", "2", "2"]]


def test_launcher_argument_errors():
    with pytest.raises(SystemExit):
        launcher.parse_args(["--nnodes", "2", "script.py"])          # needs --hosts
    with pytest.raises(SystemExit):
        launcher.parse_args(["--nproc-per-node", "0", "script.py"])
    args = launcher.parse_args(["--nproc_per_node", "3", "--master_port", "1234", "s.py", "-x"])
    assert (args.nproc_per_node, args.master_port, args.training_script_args) == (3, 1234, ["-x"])
    cmd = launcher.build_command(args, "/bin/mpirun", True, {})
    assert cmd[:3] == ["/bin/mpirun", "-n", "3"] and cmd[-2:] == ["s.py", "-x"]


@pytest.mark.skipif(__import__("ember").cuda.is_available(),
                    reason="CUDA present: tests/distributed/test_nccl.py runs the nccl backend")
def test_nccl_without_cupy_raises_clear_error():
    code = ("import ember.distributed as dist\n"
            "try:\n    dist.init_process_group('nccl')\n"
            "except RuntimeError as e:\n    print('RuntimeError:', e)\n"
            "print(dist.is_initialized(), dist.is_nccl_available())\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    assert "RuntimeError: ember.distributed: the 'nccl' backend needs" in proc.stdout
    assert "False False" in proc.stdout


def test_ember_imports_without_initialising_mpi():
    code = "import sys, ember, ember.distributed; print('mpi4py.MPI' in sys.modules)"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, cwd=ROOT)
    assert proc.stdout.strip() == "False", proc.stderr


def test_not_initialized_errors():
    import ember.distributed as dist
    assert not dist.is_initialized()
    with pytest.raises(ValueError, match="has not been initialized"):
        dist.get_rank()
    with pytest.raises(ValueError, match="Invalid backend"):
        dist.init_process_group("bogus")
