"""In-place writes whose operand shares memory with the written tensor (session 23, helper
IO). PyTorch refuses an operand that partially overlaps the written tensor (both dense,
spans overlapping but not the very same elements in the same layout) with a RuntimeError,
and allows the same tensor, a view of the same elements, disjoint views of one base, and
layouts too hard to tell (strided). index_put_ (and advanced-index assignment) refuses any
overlap of its values, the same tensor included. Each case runs on both libraries and
compares the outcome: the values written, or the exception's type and message."""
import pytest

import ember

torch = pytest.importorskip("torch")


def _outcome(L, program):
    try:
        r = program(L)
    except Exception as e:  # noqa: BLE001 (the exception is what is compared)
        return type(e).__name__, str(e)
    return "ok", r.tolist()


def _row(L):
    return L.arange(40.)


def _square(L):
    return L.arange(4.).reshape(2, 2)


def _leaf(L):
    return L.arange(8., requires_grad=True)


def _i3(L):
    return L.tensor([1, 2, 3])


def _then(t, _):
    return t


CASES = {
    # binary in-place ops
    "add_partial": lambda L: _then(b := _row(L), b[:20].add_(b[10:30])),
    "add_partial_iadd": lambda L: _then(b := _row(L), b[1:].__iadd__(b[:-1])),
    "add_full_same": lambda L: _then(b := _row(L), b.add_(b)),
    "mul_full_view_as": lambda L: _then(b := _row(L), b.mul_(b.view_as(b))),
    "add_transposed_self": lambda L: _then(b := _square(L), b.add_(b.t())),
    "add_disjoint_views": lambda L: _then(b := _row(L), b[:10].add_(b[10:20])),
    "add_strided_interleaved": lambda L: _then(b := _row(L), b[::2].add_(b[1::2])),
    "add_broadcast_row_disjoint": lambda L: _then(b := L.arange(6.).reshape(3, 2),
                                                  b[1:].add_(b[0])),
    "add_row_shift_2d": lambda L: _then(b := L.arange(6.).reshape(3, 2), b[1:].add_(b[:-1])),
    "add_fewer_dims_same_span": lambda L: _then(b := L.arange(4.).reshape(1, 4),
                                                b.add_(b.view(4))),
    "add_size1_dims_same": lambda L: _then(b := L.arange(8.), b.view(8, 1).add_(b.view(8, 1))),
    "add_alpha_partial": lambda L: _then(b := _row(L), b[:20].add_(b[10:30], alpha=2)),
    "sub_number": lambda L: _then(b := _row(L), b[:20].sub_(3)),
    "mul_detach_full": lambda L: _then(b := _row(L), b.mul_(b.detach())),
    "pow_partial": lambda L: _then(b := _row(L), b[:20].pow_(b[10:30])),
    "div_partial_int": lambda L: _then(b := _row(L).long() + 1, b[:20].div_(b[10:30],
                                                                            rounding_mode="floor")),
    "addcmul_partial": lambda L: _then(b := _row(L), b[:20].addcmul_(b[10:30], b[10:30])),
    "lerp_partial": lambda L: _then(b := _row(L), b[:20].lerp_(b[10:30], 0.5)),
    "clamp_min_kwarg_partial": lambda L: _then(b := _row(L), b[:20].clamp_(min=b[10:30])),
    "neg_unary_view": lambda L: _then(b := _row(L), b[:20].neg_()),
    "leaf_view_partial_first_leaf_error": lambda L: _then(b := _leaf(L), b[1:].add_(b[:-1])),
    "no_grad_leaf_partial": lambda L: _no_grad(L, lambda: _then(b := _leaf(L),
                                                                b[1:].add_(b[:-1]))),
    # copy_
    "copy_shift": lambda L: _then(b := _row(L), b[1:].copy_(b[:-1])),
    "copy_self": lambda L: _then(b := _row(L), b.copy_(b)),
    "copy_transposed": lambda L: _then(b := _square(L), b.copy_(b.t())),
    "copy_disjoint": lambda L: _then(b := _row(L), b[:20].copy_(b[20:])),
    # assignment and index_put_
    "setitem_slice_partial": lambda L: _then(b := _row(L), b.__setitem__(slice(1, None), b[:-1])),
    "setitem_slice_full": lambda L: _then(b := _row(L), b.__setitem__(slice(None), b)),
    "setitem_slice_disjoint": lambda L: _then(b := _row(L),
                                              b.__setitem__(slice(0, 20), b[20:])),
    "setitem_index_partial": lambda L: _then(b := _row(L),
                                             b.__setitem__(L.tensor([1, 2, 3]), b[:3])),
    "setitem_index_value_inside_self": lambda L: _then(b := _row(L),
                                              b.__setitem__(L.tensor([1, 2, 3]), b[10:13])),
    "setitem_index_full_fresh": lambda L: _then(b := L.arange(8.),
                                                b.__setitem__(L.arange(8), b)),
    "index_put_partial": lambda L: _then(b := _row(L), b.index_put_((L.tensor([1, 2, 3]),),
                                                                    b[:3])),
    "index_put_accumulate_partial": lambda L: _then(
        b := _row(L), b.index_put_((L.tensor([1, 2, 3]),), b[:3], accumulate=True)),
    "index_put_full_fresh": lambda L: _then(b := L.arange(8.),
                                            b.index_put_((L.arange(8),), b)),
    "masked_fill_value_disjoint": lambda L: _then(b := _row(L),
                                                  b[1:].masked_fill_(b[1:] > 3, b[0])),
    # index_copy_ / index_add_ / scatter_ family / put_: any overlap of a source or index
    "index_copy_partial": lambda L: _then(b := L.arange(8.), b.index_copy_(0, _i3(L), b[:3])),
    "index_copy_inside": lambda L: _then(b := L.arange(8.), b.index_copy_(0, _i3(L), b[5:])),
    "index_copy_self": lambda L: _then(b := L.arange(8.), b.index_copy_(0, L.arange(8), b)),
    "index_copy_other": lambda L: _then(b := L.arange(8.),
                                        b.index_copy_(0, _i3(L), L.ones(3))),
    "index_add_inside": lambda L: _then(b := L.arange(8.), b.index_add_(0, _i3(L), b[5:])),
    "index_add_self": lambda L: _then(b := L.arange(8.), b.index_add_(0, L.arange(8), b)),
    "index_reduce_inside": lambda L: _then(b := L.arange(8.),
                                           b.index_reduce_(0, _i3(L), b[5:], "prod")),
    "scatter_inside": lambda L: _then(b := L.arange(8.), b.scatter_(0, _i3(L), b[5:])),
    "scatter_self": lambda L: _then(b := L.arange(8.), b.scatter_(0, L.arange(8), b)),
    "scatter_add_inside": lambda L: _then(b := L.arange(8.), b.scatter_add_(0, _i3(L), b[5:])),
    "scatter_reduce_inside": lambda L: _then(b := L.arange(8.),
                                             b.scatter_reduce_(0, _i3(L), b[5:], "sum")),
    "scatter_index_alias": lambda L: _then(b := L.arange(8), b.scatter_(0, b[:3], 1)),
    "put_inside": lambda L: _then(b := L.arange(8.), b.put_(_i3(L), b[5:])),
    "masked_scatter_inside": lambda L: _then(b := L.arange(8.), b.masked_scatter_(b > 5, b)),
    "index_fill_value_inside": lambda L: _then(b := L.arange(8.), b.index_fill_(0, _i3(L), b[5])),
    # an expanded written tensor
    "expand_add_": lambda L: L.zeros(4).expand(3, 4).add_(1),
    "expand_copy_": lambda L: L.zeros(4).expand(3, 4).copy_(L.ones(3, 4)),
    "expand_fill_": lambda L: L.zeros(4).expand(3, 4).fill_(2),
}


def _no_grad(L, program):
    with L.no_grad():
        return program()


@pytest.mark.parametrize("name", sorted(CASES))
def test_inplace_overlap_as_torch(name):
    program = CASES[name]
    expected = _outcome(torch, program)
    got = _outcome(ember, program)
    assert got == expected


def test_table_has_both_outcomes():
    # the table is not vacuous: PyTorch refuses some cases and allows others
    kinds = {_outcome(torch, p)[0] for p in CASES.values()}
    assert {"ok", "RuntimeError"} <= kinds
