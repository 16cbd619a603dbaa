"""The 'nccl' backend on one GPU (world size 1, as the GPU machines have one GPU): every
collective on CUDA tensors, and DistributedDataParallel on CUDA equal to plain training.
Skips without a CUDA device."""
import json
import os
import subprocess
import sys

import pytest

import ember

from .launch import ROOT, WORKERS

def _real_cuda():
    if not ember.cuda.is_available():
        return False
    import cupy
    return not getattr(cupy, "__fake__", False)   # tests/fakecupy.py has no NCCL


pytestmark = pytest.mark.skipif(not _real_cuda(), reason="no CUDA device with NCCL")


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    out = tmp_path_factory.mktemp("nccl") / "nccl.json"
    env = dict(os.environ, RANK="0", WORLD_SIZE="1", LOCAL_RANK="0", MASTER_ADDR="127.0.0.1",
               MASTER_PORT="29533", PYTHONPATH=ROOT)
    proc = subprocess.run([sys.executable, os.path.join(WORKERS, "nccl_worker.py"), str(out)],
                          capture_output=True, text=True, timeout=300, env=env, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    with open(out) as f:
        return json.load(f)


def test_process_group(results):
    assert (results["backend"], results["rank"], results["world"]) == ("nccl", 0, 1)


def test_all_reduce_every_dtype_and_op(results):
    # one rank: every reduction leaves the values as they are, on the GPU
    keys = [k for k in results if k.startswith("all_reduce_") and k != "all_reduce_async"]
    assert len(keys) == 28   # 6 dtypes x 5 ops, no AVG for the 2 integer dtypes
    for k in keys:
        dev, vals = results[k]
        assert dev == "cuda", k
        assert vals == [1, 2, 3, 4, 5, 6], k


@pytest.mark.parametrize("name", ["all_reduce_async", "broadcast", "all_gather",
                                  "all_gather_into_tensor", "reduce_scatter_tensor", "reduce"])
def test_collective(results, name):
    assert results[name] == [1, 2, 3, 4, 5, 6]


def test_objects(results):
    assert results["all_gather_object"] == [{"rank": 0}]


def test_ddp_on_cuda_equals_plain_training(results):
    assert results["ddp_param_device"] == "cuda:0"
    assert results["ddp_max_abs_diff"] < 1e-6
    assert results["ddp_keys"][0].startswith("module.")
