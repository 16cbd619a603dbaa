"""Bad inputs, found by bench/opinfo_errors_sweep.py (torch's OpInfo error_inputs): each case
is the same program run on torch and on ember, which must raise the same exception type;
where ember adopts torch's wording, the case names a regex both messages must match."""
import re

import pytest

import ember

torch = pytest.importorskip("torch")


def _expanded(m, n):
    """A length-`n` tensor whose elements share one memory location."""
    return m.zeros(1).expand(n)


# name -> (program of the module m, regex both messages match or None)
CASES = {
    # out= over memory the op reads from (PyTorch's assert_no_overlap)
    "cat_out_is_input": (lambda m: _cat_out_is_input(m), "single memory location"),
    "cat_out_slice_of_input": (lambda m: _cat_out_slice(m), "single memory location"),
    "cat_out_expanded": (lambda m: m.cat([m.ones(2), m.ones(2)], out=_expanded(m, 4)),
                         "more than one element of the written-to tensor"),
    "gather_out_is_input": (lambda m: _gather_out_is_input(m), "single memory location"),
    "index_select_out_expanded": (
        lambda m: m.index_select(m.ones(3, 6), 1, m.tensor([0, 1]),
                                 out=m.zeros(1, 2).expand(3, 2)),
        "more than one element of the written-to tensor"),
    "masked_select_out_is_input": (lambda m: _masked_select_out_is_input(m),
                                   "single memory location"),
    "take_out_is_input": (lambda m: _take_out_is_input(m), "single memory location"),
    "take_out_expanded": (lambda m: m.take(m.ones(6), m.tensor([2, 1, 0]),
                                           out=_expanded(m, 3)),
                          "more than one element of the written-to tensor"),
    "kthvalue_out_is_input": (lambda m: _kthvalue_out_is_input(m), "single memory location"),
    # Tensor methods take no out=
    "method_gather_out": (lambda m: m.ones(3).gather(0, m.tensor([0]), out=m.zeros(1)),
                          "unexpected keyword argument 'out'"),
    "method_sum_out": (lambda m: m.ones(3).sum(out=m.zeros(())), None),
    "method_index_select_out": (
        lambda m: m.ones(3).index_select(0, m.tensor([0]), out=m.zeros(1)),
        "unexpected keyword argument 'out'"),
    # arange
    "arange_inf": (lambda m: m.arange(float("inf"), 2), r"unsupported range: inf -> 2"),
    "arange_nan": (lambda m: m.arange(0, float("nan")), r"unsupported range: 0 -> nan"),
    "arange_int_out_float_step": (
        lambda m: m.arange(0, 64, 0.5, out=m.empty(0, dtype=m.int64)), "step must be nonzero"),
    "arange_wrong_sign": (lambda m: m.arange(5, 0, 1),
                          "upper bound and lower bound inconsistent with step sign"),
    # convolution arguments, checked in PyTorch's order
    "conv1d_dilation_0": (lambda m: m.nn.functional.conv1d(m.ones(1, 1, 4), m.ones(1, 1, 2),
                                                           dilation=0),
                          "dilation should be greater than zero"),
    "conv1d_negative_padding_before_channels": (
        lambda m: m.nn.functional.conv1d(m.ones(1, 1, 4), m.ones(1, 2, 2), padding=-1),
        "negative padding is not supported"),
    "conv1d_stride_0_before_channels": (
        lambda m: m.nn.functional.conv1d(m.ones(1, 1, 4), m.ones(1, 2, 2), stride=0),
        "non-positive stride is not supported"),
    "conv1d_groups_above_out_channels": (
        lambda m: m.nn.functional.conv1d(m.ones(2, 2, 4), m.ones(2, 2, 2), groups=3),
        r"Given groups=3, expected weight to be at least 3 at dimension 0"),
    "conv1d_2d_weight": (lambda m: m.nn.functional.conv1d(m.ones(1, 1, 4), m.ones(1, 2)),
                         "weight should have at least three dimensions"),
    "conv2d_3d_weight": (lambda m: m.nn.functional.conv2d(m.ones(1, 1, 4, 4), m.ones(1, 1, 2),
                                                          stride=1, padding=0, dilation=1),
                         None),
    "conv3d_same_strided": (
        lambda m: m.nn.functional.conv3d(m.ones(1, 1, 4, 4, 4), m.ones(1, 1, 2, 2, 2),
                                         stride=2, padding="same"),
        "padding='same' is not supported for strided convolutions"),
    "conv1d_bad_padding_string": (
        lambda m: m.nn.functional.conv1d(m.ones(1, 1, 4), m.ones(1, 1, 2), padding="foo"),
        "Invalid padding string: 'foo'"),
}


def _cat_out_is_input(m):
    x = m.zeros(4, 6)
    return m.cat((m.ones(4, 6), x), out=x)


def _cat_out_slice(m):
    z = m.zeros(4, 6)
    return m.cat((m.ones(4, 6), z), out=z[:2, :])


def _gather_out_is_input(m):
    x = m.arange(6.0)
    return m.gather(x, 0, m.tensor([2, 1, 0]), out=x)


def _masked_select_out_is_input(m):
    x = m.arange(6.0)
    return m.masked_select(x, x > 2, out=x)


def _take_out_is_input(m):
    x = m.arange(6.0)
    return m.take(x, m.tensor([2, 1, 0]), out=x)


def _kthvalue_out_is_input(m):
    x = m.arange(10.0)
    return m.kthvalue(x, 5, out=(x, m.zeros((), dtype=m.int64)))


def _exception(program, m):
    try:
        program(m)
    except Exception as e:  # noqa: BLE001 - the exception is what is compared
        return e
    return None


@pytest.mark.parametrize("name", sorted(CASES))
def test_same_exception_as_torch(name):
    program, regex = CASES[name]
    t_exc = _exception(program, torch)
    e_exc = _exception(program, ember)
    assert t_exc is not None, "torch no longer raises: the case is stale"
    assert type(e_exc) is type(t_exc), f"torch {t_exc!r}, ember {e_exc!r}"
    if regex is not None:
        assert re.search(regex, str(t_exc)), str(t_exc)
        assert re.search(regex, str(e_exc)), str(e_exc)


def test_methods_without_out_still_work():
    x = ember.arange(6.0)
    assert x.gather(0, ember.tensor([2, 1])).tolist() == [2.0, 1.0]
    out = ember.zeros(2)
    assert ember.gather(x, 0, ember.tensor([2, 1]), out=out) is out
    assert out.tolist() == [2.0, 1.0]
