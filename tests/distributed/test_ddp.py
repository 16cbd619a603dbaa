"""DistributedDataParallel with 2 ranks, each on half of every batch, ends with the
parameters of one process trained on the whole batches (rtol 1e-5), from different
initial weights on every rank."""
import pytest

from .launch import launch_json

CASES = ["mlp", "mlp_adam_small_buckets", "cnn", "no_sync_accumulation",
         "find_unused_parameters"]


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    return launch_json(tmp_path_factory.mktemp("ddp"), "ddp_worker.py")


@pytest.mark.parametrize("name", CASES)
def test_equivalent_to_single_process(results, name):
    r = results[name]
    assert r["ranks_equal"], "the ranks ended with different parameters"
    assert r["allclose"], f"max |ddp - single| = {r['max_abs_diff']}"
    assert r["keys_ok"], "state_dict keys must be the module's with a 'module.' prefix"


def test_small_buckets_make_several_buckets(results):
    assert results["mlp_adam_small_buckets"]["buckets"] > 1
    assert results["mlp"]["buckets"] == 1


def test_unused_parameter_without_find_unused_raises(results):
    assert results["unused_without_find_raises"]["raised"]
