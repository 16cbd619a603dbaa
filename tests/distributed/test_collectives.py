"""Every collective, dtype and reduce op, with 2 ranks (and a few with 4, oversubscribed),
against NumPy expectations. The cases live in workers/collective_cases.py; one launch
runs them all and each case is reported as its own test."""
import pytest

from .launch import launch_json
from .workers.collective_cases import CASES

FOUR_RANK_CASES = ["all_reduce-SUM-float32", "all_reduce-AVG-bfloat16", "all_gather-float32",
                   "reduce_scatter_tensor-AVG-float64", "all_to_all-uneven",
                   "isend-irecv-any-source", "new_group-and-barrier",
                   "send_object_list-recv_object_list", "batch_isend_irecv-ring", "new_subgroups"]


@pytest.fixture(scope="module")
def two_ranks(tmp_path_factory):
    return launch_json(tmp_path_factory.mktemp("c2"), "collective_cases.py", nproc=2)


@pytest.fixture(scope="module")
def four_ranks(tmp_path_factory):
    return launch_json(tmp_path_factory.mktemp("c4"), "collective_cases.py", *FOUR_RANK_CASES,
                       nproc=4)


@pytest.mark.parametrize("name", list(CASES))
def test_two_ranks(two_ranks, name):
    assert two_ranks[name] == "ok", two_ranks[name]


@pytest.mark.parametrize("name", FOUR_RANK_CASES)
def test_four_ranks(four_ranks, name):
    assert four_ranks[name] == "ok", four_ranks[name]


def test_mpi4py_is_installed():
    """mpi4py and an MPI come with the test extra: without them these tests must fail."""
    from mpi4py import MPI
    assert MPI.Get_version() >= (3, 0)
