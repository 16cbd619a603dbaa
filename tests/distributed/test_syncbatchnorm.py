"""nn.SyncBatchNorm: 2 ranks with half a batch each equal BatchNorm2d on the whole batch
(outputs, input gradients, parameter gradients summed over ranks, running statistics);
in one process it is BatchNorm; convert_sync_batchnorm swaps the layers."""
import numpy as np
import pytest
import torch

import ember

from .launch import launch_json


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    return launch_json(tmp_path_factory.mktemp("syncbn"), "syncbn_worker.py")


@pytest.mark.parametrize("what", ["out", "input_grad", "weight_grad", "bias_grad",
                                  "running_mean", "running_var", "eval_out"])
def test_two_ranks_equal_one_process(results, what):
    assert results[what] < 1e-4, f"max |sync - whole batch| = {results[what]}"


def test_batches_tracked(results):
    assert results["num_batches_tracked"] == 0


def test_single_process_is_batchnorm():
    x = np.random.default_rng(0).standard_normal((4, 3, 5)).astype(np.float32)
    outs = []
    for lib in (torch, ember):
        m = lib.nn.SyncBatchNorm(3)
        outs.append(lib.nn.BatchNorm1d(3)(lib.from_numpy(x)).detach().numpy())
        if lib is ember:  # torch's SyncBatchNorm refuses CPU inputs; ember's is BatchNorm there
            outs.append(m(lib.from_numpy(x)).detach().numpy())
    np.testing.assert_allclose(outs[1], outs[0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(outs[2], outs[0], rtol=1e-5, atol=1e-6)


def test_convert_and_repr_match_torch():
    def net(lib):
        return lib.nn.Sequential(lib.nn.Conv2d(1, 3, 3), lib.nn.BatchNorm2d(3, momentum=0.3),
                                 lib.nn.Sequential(lib.nn.BatchNorm1d(4, affine=False)))
    t = torch.nn.SyncBatchNorm.convert_sync_batchnorm(net(torch))
    e = ember.nn.SyncBatchNorm.convert_sync_batchnorm(net(ember))
    assert repr(e) == repr(t)
    assert list(e.state_dict()) == list(t.state_dict())
    with pytest.raises(ValueError):
        ember.nn.SyncBatchNorm(3)(ember.zeros(3))
