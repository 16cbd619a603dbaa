"""Indexing, selection and sorting ops against real PyTorch: one table of cases
(name, fn, inputs) driving one parametrized test, plus grad_fn names and named tuples."""
import numpy as np
import pytest
import torch

import ember
from .harness import Grad, check

rng = np.random.default_rng(0)


def f32(*s):
    return rng.standard_normal(s).astype(np.float32)


def f64(*s):
    return rng.standard_normal(s)


def i64(*v):
    return np.array(v, dtype=np.int64)


def distinct(*s):
    """float32 values without ties (sorting results are then unique)."""
    return rng.permutation(int(np.prod(s))).reshape(s).astype(np.float32) / 4 - 3


X = f32(2, 3, 4)
XT = np.ascontiguousarray(f32(4, 3)).T  # non-contiguous (3, 4)
MASK = X > 0
IDX = np.array([[0, 2, 1, 2], [1, 1, 0, 0]], dtype=np.int64)

CASES = [
    # ---------------------------------------------------------------- getitem basic
    ("get_int", lambda L, x: x[1], Grad(X)),
    ("get_neg_int", lambda L, x: x[-1, -2], Grad(X)),
    ("get_slice_step", lambda L, x: x[:, ::2, 1:4:2], Grad(X)),
    ("get_slice_neg", lambda L, x: x[-1:, -3:-1], Grad(X)),
    ("get_slice_oob", lambda L, x: x[5:10, 1:100], Grad(X)),
    ("get_ellipsis", lambda L, x: x[..., 1], Grad(X)),
    ("get_ellipsis_mid", lambda L, x: x[0, ..., 2], Grad(X)),
    ("get_none", lambda L, x: x[None, :, None, 1], Grad(X)),
    ("get_0dim_tensor_idx", lambda L, x: x[L.tensor(1), L.tensor(-1)], Grad(X)),
    ("get_noncontig", lambda L, x: x[1:, ::2], Grad(XT)),
    ("get_0dim_ellipsis", lambda L, x: x[...], Grad(np.float32(2.5))),
    ("get_0dim_none", lambda L, x: x[None], Grad(np.float32(2.5))),
    ("get_int_dtype", lambda L, x: x[1, 1:], np.arange(12).reshape(3, 4)),
    ("get_view_shares", lambda L, x: x[0].add_(1) and x, f32(2, 3)),
    ("get_view_0dim_writes", lambda L, x: x[1].mul_(0) and x, f32(3)),
    ("set_0dim_ellipsis", lambda L, x: _set(x * 1, Ellipsis, 2.0), Grad(np.float32(1))),
    # ---------------------------------------------------------------- getitem advanced
    ("get_list", lambda L, x: x[[0, 1, 1]], Grad(X)),
    ("get_list_neg", lambda L, x: x[:, [-1, 0]], Grad(X)),
    ("get_tensor_2d", lambda L, x, i: x[:, i], Grad(X), np.array([[0, 2], [1, 1]])),
    ("get_dup_grad", lambda L, x, i: x[i], Grad(f32(4)), i64(1, 1, 3, 1)),
    ("get_two_adv", lambda L, x: x[[0, 1], [2, 0]], Grad(X)),
    ("get_adv_broadcast", lambda L, x: x[[[0], [1]], [2, 0, 1]], Grad(X)),
    ("get_adv_separated", lambda L, x: x[[0, 1], :, [3, 0]], Grad(X)),
    ("get_int_then_adv", lambda L, x: x[0, :, [0, 1]], Grad(X)),
    ("get_adv_int_sep", lambda L, x: x[[0, 1], 1, :], Grad(X)),
    ("get_adv_none", lambda L, x: x[None, [0, 1], None, 0], Grad(X)),
    ("get_adv_none_sep", lambda L, x: x[[0, 1], None, [0, 1]], Grad(X)),
    ("get_adv_ellipsis", lambda L, x: x[..., [0, 1], None], Grad(X)),
    ("get_adv_slice_mix", lambda L, x: x[1:, [2, 0], ::2], Grad(X)),
    ("get_empty_list", lambda L, x: x[[]], Grad(X)),
    ("get_empty_list_dim1", lambda L, x: x[:, []], Grad(X)),
    ("get_empty_tensor", lambda L, x, i: x[i], Grad(X), np.zeros(0, dtype=np.int64)),
    ("get_int32_idx", lambda L, x, i: x[i], Grad(X), np.array([1, 0], dtype=np.int32)),
    ("get_mask_full", lambda L, x, m: x[m], Grad(X), MASK),
    ("get_mask_2d", lambda L, x, m: x[m], Grad(X), MASK[:, :, 0]),
    ("get_mask_dim1", lambda L, x, m: x[:, m], Grad(X), np.array([True, False, True])),
    ("get_mask_list", lambda L, x: x[[True, False]], Grad(X)),
    ("get_mask_and_int", lambda L, x, m: x[m, 1], Grad(X), np.array([False, True])),
    ("get_mask_empty", lambda L, x, m: x[m], Grad(X), np.zeros((2, 3), dtype=bool)),
    ("get_uint8_mask", lambda L, x, m: x[m], Grad(f32(3)), np.array([1, 0, 1], dtype=np.uint8)),
    ("get_bool_true", lambda L, x: x[True], Grad(X)),
    ("get_bool_false", lambda L, x: x[False], Grad(X)),
    ("get_0dim_bool_tensor", lambda L, x: x[L.tensor(True)], Grad(f32(3))),
    ("get_seq_as_tuple", lambda L, x: x[[[0, 1], [1, 2]]], Grad(X)),
    ("get_adv_noncontig", lambda L, x: x[[2, 0], 1:], Grad(XT)),
    ("get_adv_f64", lambda L, x: x[[1, 0]], Grad(f64(2, 3))),
    ("get_adv_bool_dtype", lambda L, x: x[[1, 0, 1]], np.array([True, False])),
    ("get_adv_0dim_mask", lambda L, x, m: x[m], Grad(np.float32(3)), np.array(True)),
    # ---------------------------------------------------------------- getitem errors
    ("get_err_oob_int", lambda L, x: x[2], X),
    ("get_err_oob_neg", lambda L, x: x[:, -4], X),
    ("get_err_oob_list", lambda L, x: x[[0, 5]], X),
    ("get_err_oob_tensor", lambda L, x, i: x[:, i], X, i64(0, -4)),
    ("get_err_float_idx", lambda L, x: x[1.0], X),
    ("get_err_float_tensor", lambda L, x, i: x[i], X, np.array([1.0])),
    ("get_err_mask_shape", lambda L, x, m: x[m], X, np.ones(3, dtype=bool)),
    ("get_err_mask_shape_dim1", lambda L, x, m: x[:, m], X, np.ones(2, dtype=bool)),
    ("get_err_too_many", lambda L, x: x[0, 0, 0, 0], X),
    ("get_err_0dim_int", lambda L, x: x[0], np.float32(1)),
    ("get_err_neg_step", lambda L, x: x[::-1], X),
    ("get_err_two_ellipsis", lambda L, x: x[..., ...], X),
    ("get_err_str", lambda L, x: x["a"], X),
    # ---------------------------------------------------------------- setitem
    ("set_int_scalar", lambda L, x: _set(x * 1, 1, 5.0), Grad(X)),
    ("set_slice_tensor", lambda L, x, v: _set(x * 1, (slice(None), slice(0, 2)), v), Grad(X),
     Grad(f32(2, 4))),
    ("set_broadcast_value", lambda L, x, v: _set(x * 1, (0, slice(None)), v), Grad(X),
     Grad(f32(4))),
    ("set_ellipsis", lambda L, x, v: _set(x * 1, (Ellipsis, 1), v), Grad(X), Grad(f32(1))),
    ("set_adv_list", lambda L, x, v: _set(x * 1, [0, 1], v), Grad(f32(3, 4)), Grad(f32(2, 4))),
    ("set_adv_broadcast", lambda L, x, v: _set(x * 1, ([0, 2], slice(None)), v), Grad(f32(3, 4)),
     Grad(f32(1, 4))),
    ("set_adv_dup_scalar", lambda L, x, i: _set(x * 1, i, 7.0), Grad(f32(4)), i64(1, 1, 3)),
    ("set_adv_dup_value_grad", lambda L, x, i, v: _set(x * 1, i, v), Grad(f32(4)), i64(1, 1, 3),
     Grad(np.float32(2))),
    ("set_mask_scalar", lambda L, x, m: _set(x * 1, m, 0.0), Grad(X), MASK),
    ("set_mask_tensor", lambda L, x, m, v: _set(x * 1, m, v), Grad(X), MASK, Grad(np.float32(3))),
    ("set_int_then_adv", lambda L, x, v: _set(x * 1, (0, slice(None), [0, 1]), v), Grad(X),
     Grad(f32(3, 2))),
    ("set_adv_separated", lambda L, x, v: _set(x * 1, ([0, 1], slice(None), [3, 0]), v), Grad(X),
     Grad(f32(2, 3))),
    ("set_value_cast", lambda L, x: _set(x.clone(), 0, L.tensor([1.7, 2.2, -3.9, 0.5])),
     np.arange(12).reshape(3, 4)),
    ("set_f64_value_into_f32", lambda L, x, v: _set(x * 1, 0, v), Grad(f32(2, 3)), Grad(f64(3))),
    ("set_only_value_grad", lambda L, x, v: _set(x.clone(), [1], v), f32(3, 2), Grad(f32(1, 2))),
    ("set_noncontig", lambda L, x, v: _set(x * 1, (slice(None), 1), v), Grad(XT), Grad(f32(3))),
    ("set_on_view", lambda L, x: _set_view(x * 1), Grad(f32(3, 4))),
    ("set_err_list_value", lambda L, x: _set(x.clone(), 0, [1.0, 2.0, 3.0]), f32(2, 3)),
    ("set_err_shape", lambda L, x, v: _set(x.clone(), [0, 1], v), f32(3, 4), f32(3)),
    ("set_err_basic_shape", lambda L, x, v: _set(x.clone(), 0, v), f32(3, 4), f32(3)),
    ("set_err_oob", lambda L, x: _set(x.clone(), 5, 1.0), f32(3, 4)),
    ("set_err_leaf", lambda L, x: _set(x, 0, 1.0), Grad(f32(3, 4))),
    # ---------------------------------------------------------------- index_put
    ("index_put", lambda L, x, i, v: L.index_put(x, (i,), v), Grad(f32(4, 2)), i64(0, 3),
     Grad(f32(2, 2))),
    ("index_put_acc_dup", lambda L, x, i, v: L.index_put(x, (i,), v, accumulate=True),
     Grad(f32(4)), i64(1, 1, 2, 1), Grad(f32(4))),
    ("index_put_two_idx", lambda L, x, i, j, v: x.index_put((i, j), v), Grad(f32(3, 4)), i64(0, 2),
     i64(1, 3), Grad(np.float32(1))),
    ("index_put_mask", lambda L, x, m, v: x.index_put((m,), v), Grad(f32(3)),
     np.array([True, False, True]), Grad(f32(2))),
    ("index_put_inplace", lambda L, x, i, v: x.clone().index_put_((i,), v, True), Grad(f32(3, 2)),
     i64(2, 2), Grad(f32(2))),
    ("index_put_err_dtype", lambda L, x, i, v: x.index_put((i,), v), f32(3), i64(0), f64(1)),
    ("index_put_err_oob", lambda L, x, i, v: x.index_put((i,), v), f32(3), i64(3), f32(1)),
    # ---------------------------------------------------------------- index_select & co
    ("index_select", lambda L, x, i: L.index_select(x, 1, i), Grad(X), i64(2, 0, 2)),
    ("index_select_neg_dim", lambda L, x, i: x.index_select(-1, i), Grad(X), i64(3, -1)),
    ("index_select_empty", lambda L, x, i: x.index_select(0, i), Grad(X), np.zeros(0, np.int64)),
    ("index_select_0dim_idx", lambda L, x, i: x.index_select(0, i), Grad(f32(3, 2)),
     np.array(1, dtype=np.int64)),
    ("index_select_0dim_input", lambda L, x, i: x.index_select(0, i), Grad(np.float32(2)), i64(0)),
    ("index_select_int32", lambda L, x, i: x.index_select(1, i), Grad(XT),
     np.array([1, 0], dtype=np.int32)),
    ("index_select_err_oob", lambda L, x, i: x.index_select(0, i), X, i64(5)),
    ("index_select_err_2d", lambda L, x, i: x.index_select(0, i), X, i64(0).reshape(1, 1)),
    ("index_select_err_float", lambda L, x, i: x.index_select(0, i), X, np.array([0.0])),
    ("index_select_err_dim", lambda L, x, i: x.index_select(3, i), X, i64(0)),
    ("index_add", lambda L, x, i, s: L.index_add(x, 1, i, s), Grad(X), i64(2, 0, 2),
     Grad(f32(2, 3, 4))),
    ("index_add_err_oob_3d", lambda L, x, i, s: L.index_add(x, 0, i, s), X, i64(2), f32(1, 3, 4)),
    ("index_add_alpha", lambda L, x, i, s: x.index_add(0, i, s, alpha=-2.5), Grad(f32(3, 2)),
     i64(1, 1), Grad(f32(2, 2))),
    ("index_add_int", lambda L, x, i, s: x.index_add(0, i, s, alpha=3), np.arange(4), i64(1, 1),
     i64(5, 6)),
    ("index_add_inplace", lambda L, x, i, s: x.clone().index_add_(0, i, s), Grad(f32(3)),
     i64(2, 0), Grad(f32(2))),
    ("index_add_err_dtype", lambda L, x, i, s: x.index_add(0, i, s), f32(3), i64(0), f64(1)),
    ("index_add_err_shape", lambda L, x, i, s: x.index_add(0, i, s), f32(3, 2), i64(0), f32(1, 3)),
    ("index_add_err_oob", lambda L, x, i, s: x.index_add(0, i, s), f32(3), i64(3), f32(1)),
    ("index_copy", lambda L, x, i, s: L.index_copy(x, 0, i, s), Grad(f32(4, 2)), i64(3, 0),
     Grad(f32(2, 2))),
    ("index_copy_dim1", lambda L, x, i, s: x.index_copy(-1, i, s), Grad(X), i64(1),
     Grad(f32(2, 3, 1))),
    ("index_copy_inplace", lambda L, x, i, s: x.clone().index_copy_(0, i, s), Grad(f32(3)),
     i64(1), Grad(f32(1))),
    ("index_copy_err_oob", lambda L, x, i, s: x.index_copy(0, i, s), f32(3), i64(7), f32(1)),
    ("index_fill", lambda L, x, i: L.index_fill(x, 1, i, -1.0), Grad(X), i64(0, 2)),
    ("index_fill_tensor_value", lambda L, x, i, v: x.index_fill(0, i, v), Grad(f32(3, 2)),
     i64(2, 2, 0), Grad(np.float32(4))),
    ("index_fill_inplace", lambda L, x, i: x.clone().index_fill_(0, i, 2), Grad(f32(3)), i64(1)),
    ("index_fill_int", lambda L, x, i: x.index_fill(0, i, 9), np.arange(5), i64(-1, 0)),
    ("index_fill_err_oob", lambda L, x, i: x.index_fill(0, i, 1.0), f32(3), i64(7)),
    ("index_fill_err_value_dim", lambda L, x, i, v: x.index_fill(0, i, v), f32(3), i64(1), f32(2)),
    # ---------------------------------------------------------------- masks
    ("masked_fill", lambda L, x, m: L.masked_fill(x, m, 0.5), Grad(X), MASK),
    ("masked_fill_broadcast_mask", lambda L, x, m: x.masked_fill(m, -1.0), Grad(X),
     MASK[0, 0]),
    ("masked_fill_broadcast_out", lambda L, x, m: x.masked_fill(m, 2.0), Grad(f32(4)), MASK[0]),
    ("masked_fill_tensor_value", lambda L, x, m, v: x.masked_fill(m, v), Grad(X), MASK,
     Grad(np.float32(3))),
    ("masked_fill_inplace", lambda L, x, m: (x * 1).masked_fill_(m, 0.0), Grad(X), MASK),
    ("masked_fill_int", lambda L, x, m: x.masked_fill(m, 7), np.arange(3), np.array([1, 0, 1]) > 0),
    ("masked_fill_noncontig", lambda L, x, m: x.masked_fill(m, 0.0), Grad(XT), XT > 0),
    ("masked_fill_err_uint8", lambda L, x, m: x.masked_fill(m, 1.0), f32(3),
     np.ones(3, dtype=np.uint8)),
    ("masked_fill_err_value_dim", lambda L, x, m, v: x.masked_fill(m, v), f32(3),
     np.ones(3, dtype=bool), f32(1)),
    ("masked_select", lambda L, x, m: L.masked_select(x, m), Grad(X), MASK),
    ("masked_select_broadcast", lambda L, x, m: x.masked_select(m), Grad(f32(4)), MASK[:, 0]),
    ("masked_select_0dim", lambda L, x, m: x.masked_select(m), Grad(np.float32(2)),
     np.array(True)),
    ("masked_select_err_uint8", lambda L, x, m: x.masked_select(m), f32(3),
     np.ones(3, dtype=np.uint8)),
    ("masked_select_err_shape", lambda L, x, m: x.masked_select(m), f32(3), np.ones(2, dtype=bool)),
    ("masked_scatter", lambda L, x, m, s: L.masked_scatter(x, m, s), Grad(X), MASK,
     Grad(f32(30))),
    ("masked_scatter_2d_src", lambda L, x, m, s: x.masked_scatter(m, s), Grad(f32(3, 2)),
     np.array([True, False]), Grad(f32(2, 3))),
    ("masked_scatter_inplace", lambda L, x, m, s: (x * 1).masked_scatter_(m, s), Grad(f32(4)),
     np.array([True, False, True, True]), Grad(f32(3))),
    ("masked_scatter_err_small", lambda L, x, m, s: x.masked_scatter(m, s), f32(4),
     np.ones(4, dtype=bool), f32(3)),
    # ---------------------------------------------------------------- gather / scatter
    ("gather", lambda L, x, i: L.gather(x, 1, i), Grad(f32(2, 3)), IDX[:, :3] % 3),
    ("gather_dup", lambda L, x, i: x.gather(0, i), Grad(f32(3, 2)), i64(1, 1, 1, 0).reshape(2, 2)),
    ("gather_small_index", lambda L, x, i: x.gather(-1, i), Grad(X), np.zeros((1, 2, 5), np.int64)),
    ("gather_noncontig", lambda L, x, i: x.gather(0, i), Grad(XT), IDX[:, :3]),
    ("gather_0dim", lambda L, x, i: x.gather(0, i), Grad(np.float32(2)), np.array(0)),
    ("gather_empty", lambda L, x, i: x.gather(1, i), Grad(f32(2, 3)), np.zeros((2, 0), np.int64)),
    ("gather_err_oob", lambda L, x, i: x.gather(0, i), X, np.full((1, 1, 1), 5)),
    ("gather_err_ndim", lambda L, x, i: x.gather(0, i), X, np.zeros((1, 1), np.int64)),
    ("gather_err_size", lambda L, x, i: x.gather(0, i), X, np.zeros((1, 5, 1), np.int64)),
    ("gather_int32", lambda L, x, i: x.gather(0, i), Grad(X), np.zeros((1, 1, 1), np.int32)),
    ("gather_err_int16", lambda L, x, i: x.gather(0, i), X, np.zeros((1, 1, 1), np.int16)),
    ("scatter_src", lambda L, x, i, s: L.scatter(x, 1, i, s), Grad(f32(2, 4)),
     np.array([[0, 3, 1], [2, 1, 0]]), Grad(f32(2, 3))),
    ("scatter_src_larger", lambda L, x, i, s: x.scatter(0, i, s), Grad(f32(3, 2)),
     np.array([[2, 0]]), f32(2, 3)),  # torch's own backward rejects a larger src
    ("scatter_value", lambda L, x, i: x.scatter(0, i, 1.5), Grad(f32(3, 2)), np.array([[2, 0]])),
    ("scatter_value_kw", lambda L, x, i: x.scatter(0, i, value=-1.0), Grad(f32(3, 2)),
     np.array([[2, 0]])),
    ("scatter_inplace", lambda L, x, i, s: (x * 1).scatter_(1, i, s), Grad(f32(2, 4)),
     np.array([[3], [0]]), Grad(f32(2, 1))),
    ("scatter_reduce_add_legacy", lambda L, x, i, s: x.scatter(0, i, s, reduce="add"), f32(3, 2),
     np.array([[2, 2], [2, 0]]), f32(2, 2)),
    ("scatter_reduce_mul_legacy", lambda L, x, i: x.scatter(0, i, 2.0, reduce="multiply"),
     f32(3, 2), np.array([[2, 2], [2, 0]])),
    ("scatter_err_dtype", lambda L, x, i, s: x.scatter(0, i, s), f32(3), i64(0), f64(1)),
    ("scatter_err_oob", lambda L, x, i: x.scatter(0, i, 1.0), f32(3), i64(3)),
    ("scatter_add", lambda L, x, i, s: L.scatter_add(x, 0, i, s), Grad(f32(3, 2)),
     np.array([[2, 2], [2, 0]]), Grad(f32(2, 2))),
    ("scatter_add_neg_dim", lambda L, x, i, s: x.scatter_add(-1, i, s), Grad(X),
     np.zeros((2, 3, 2), np.int64), f32(2, 3, 3)),
    ("scatter_add_inplace", lambda L, x, i, s: (x * 1).scatter_add_(0, i, s), Grad(f32(3)),
     i64(1, 1, 1), Grad(f32(3))),
    ("scatter_add_int", lambda L, x, i, s: x.scatter_add(0, i, s), np.arange(3), i64(0, 0),
     i64(5, 6)),
    ("scatter_add_err_src_small", lambda L, x, i, s: x.scatter_add(0, i, s), f32(3), i64(0, 1),
     f32(1)),
]

for _red in ("sum", "prod", "mean", "amax", "amin"):
    for _inc in (True, False):
        CASES.append((f"scatter_reduce_{_red}_{_inc}",
                      lambda L, x, i, s, r=_red, inc=_inc: L.scatter_reduce(x, 0, i, s, r,
                                                                          include_self=inc),
                      Grad(distinct(3, 2)), np.array([[2, 0], [2, 0], [0, 0]]),
                      Grad(distinct(3, 2))))
    CASES.append((f"scatter_reduce_{_red}_int",
                   lambda L, x, i, s, r=_red: x.scatter_reduce(0, i, s, r),
                   np.array([5, -3, 7]), i64(0, 0, 2, 2), np.array([-2, 9, 4, -7])))

CASES += [
    ("scatter_reduce_amax_ties", lambda L, x, i, s: x.scatter_reduce(0, i, s, "amax"),
     Grad(np.array([1.0, 2.0], np.float32)), i64(0, 0, 1), Grad(np.array([1.0, 1.0, 0.5],
                                                                         np.float32))),
    ("scatter_reduce_prod_zeros", lambda L, x, i, s: x.scatter_reduce(0, i, s, "prod"),
     Grad(np.array([0.0, 2.0, 3.0], np.float32)), i64(0, 1, 1, 2, 2),
     Grad(np.array([2.0, 0.0, 4.0, 0.0, 0.0], np.float32))),
    ("scatter_reduce_inplace", lambda L, x, i, s: (x * 1).scatter_reduce_(0, i, s, "mean"),
     Grad(f32(3)), i64(1, 1), Grad(f32(2))),
    ("scatter_reduce_max_alias", lambda L, x, i, s: x.scatter_reduce(0, i, s, "max"), f32(3),
     i64(0), f32(1)),
    ("scatter_reduce_err_name", lambda L, x, i, s: x.scatter_reduce(0, i, s, "median"), f32(3),
     i64(0), f32(1)),
    # ---------------------------------------------------------------- take / put
    ("take", lambda L, x, i: L.take(x, i), Grad(X), np.array([[0, 23], [-1, 5]])),
    ("take_dup", lambda L, x, i: x.take(i), Grad(XT), i64(1, 1, 4)),
    ("take_err_oob", lambda L, x, i: x.take(i), X, i64(24)),
    ("take_along_dim", lambda L, x, i: L.take_along_dim(x, i, 1), Grad(f32(2, 3)),
     np.array([[2, 0], [1, 1]])),
    ("take_along_dim_bcast", lambda L, x, i: L.take_along_dim(x, i, dim=-1), Grad(X),
     np.array([[[3, 0]]])),
    ("take_along_dim_none", lambda L, x, i: L.take_along_dim(x, i), Grad(f32(2, 3)),
     i64(5, 0, 5)),
    ("take_along_dim_argsort", lambda L, x: L.take_along_dim(x, x.argsort(1), 1),
     Grad(distinct(3, 4))),
    ("put", lambda L, x, i, s: x.put(i, s), Grad(f32(2, 3)), np.array([[5], [-6]]),
     Grad(f32(2))),
    ("put_accumulate", lambda L, x, i, s: x.put(i, s, accumulate=True), Grad(f32(2, 3)),
     i64(1, 1, 0), Grad(f32(3))),
    ("put_inplace", lambda L, x, i, s: (x * 1).put_(i, s), Grad(f32(4)), i64(3, 0), Grad(f32(2))),
    ("put_err_oob", lambda L, x, i, s: x.put(i, s), f32(4), i64(4), f32(1)),
    ("put_err_numel", lambda L, x, i, s: x.put(i, s), f32(4), i64(1, 2), f32(1)),
    # ---------------------------------------------------------------- nonzero & co
    ("nonzero", lambda L, x: L.nonzero(x), MASK),
    ("nonzero_tuple", lambda L, x: x.nonzero(as_tuple=True), X > 0.5),
    ("nonzero_float", lambda L, x: x.nonzero(), np.array([0.0, 1.5, 0.0, -2.0], np.float32)),
    ("nonzero_0dim", lambda L, x: L.nonzero(x), np.array(3)),
    ("nonzero_0dim_zero_tuple", lambda L, x: L.nonzero(x, as_tuple=True), np.array(0)),
    ("nonzero_empty", lambda L, x: L.nonzero(x), np.zeros((0, 3))),
    ("argwhere", lambda L, x: L.argwhere(x), XT > 0),
    ("where_single", lambda L, x: L.where(x), MASK[0]),
    # ---------------------------------------------------------------- sorting
    ("sort", lambda L, x: L.sort(x), Grad(distinct(3, 4))),
    ("sort_dim0_desc", lambda L, x: x.sort(0, descending=True), Grad(distinct(3, 4))),
    ("sort_stable_ties", lambda L, x: L.sort(x, stable=True), np.array([2, 1, 2, 1, 0, 2, 1])),
    ("sort_stable_desc_ties", lambda L, x: L.sort(x, stable=True, descending=True),
     np.array([2, 1, 2, 1, 0, 2, 1])),
    ("sort_nan", lambda L, x: L.sort(x), np.array([1.0, np.nan, -1.0, 3.0], np.float32)),
    ("sort_nan_desc", lambda L, x: L.sort(x, descending=True),
     np.array([1.0, np.nan, -1.0, 3.0], np.float32)),
    ("sort_0dim", lambda L, x: L.sort(x), Grad(np.float32(2))),
    ("sort_empty", lambda L, x: L.sort(x), np.zeros((2, 0), np.float32)),
    ("sort_noncontig", lambda L, x: L.sort(x, dim=0), Grad(np.ascontiguousarray(distinct(4, 3)).T)),
    ("sort_bool", lambda L, x: L.sort(x, stable=True), np.array([True, False, True])),
    ("sort_f64", lambda L, x: L.sort(x, -1, True), Grad(f64(2, 5))),
    ("sort_err_complex", lambda L, x: L.sort(x), np.ones(3, np.complex64)),
    ("sort_err_dim", lambda L, x: L.sort(x, 2), f32(3, 2)),
    ("argsort", lambda L, x: L.argsort(x, dim=0), distinct(4, 3)),
    ("argsort_desc", lambda L, x: x.argsort(descending=True), distinct(4, 3)),
    ("argsort_stable", lambda L, x: L.argsort(x, stable=True), np.array([3, 1, 3, 1, 2])),
    ("msort", lambda L, x: L.msort(x), Grad(distinct(4, 3))),
    ("topk", lambda L, x: L.topk(x, 2), Grad(distinct(3, 5))),
    ("topk_smallest_dim0", lambda L, x: x.topk(3, dim=0, largest=False), Grad(distinct(4, 2))),
    ("topk_k0", lambda L, x: L.topk(x, 0), Grad(distinct(3, 5))),
    ("topk_unsorted", lambda L, x: L.topk(x, 3, sorted=False).values.sort().values,
     Grad(distinct(6))),
    ("topk_int", lambda L, x: L.topk(x, 2), np.array([4, 9, 1, 7])),
    ("topk_0dim", lambda L, x: L.topk(x, 1), Grad(np.float32(3))),
    ("topk_err_k", lambda L, x: L.topk(x, 6), f32(5)),
    ("kthvalue", lambda L, x: L.kthvalue(x, 2), Grad(distinct(3, 5))),
    ("kthvalue_keepdim_dim0", lambda L, x: x.kthvalue(3, 0, keepdim=True), Grad(distinct(4, 2))),
    ("kthvalue_0dim", lambda L, x: L.kthvalue(x, 1), Grad(np.float32(3))),
    ("kthvalue_err_k", lambda L, x: L.kthvalue(x, 0), f32(5)),
    ("kthvalue_err_k_big", lambda L, x: L.kthvalue(x, 6), f32(5)),
    # ---------------------------------------------------------------- unique
    ("unique", lambda L, x: L.unique(x), np.array([3, 1, 1, 2, 3, 0])),
    ("unique_all", lambda L, x: L.unique(x, return_inverse=True, return_counts=True),
     np.array([[3, 1], [1, 2], [3, 0]])),
    ("unique_counts", lambda L, x: x.unique(return_counts=True), np.array([2.5, -1.0, 2.5],
                                                                          np.float32)),
    ("unique_dim", lambda L, x: L.unique(x, dim=0, return_inverse=True, return_counts=True),
     np.array([[1, 2], [0, 5], [1, 2], [0, 1]])),
    ("unique_dim1", lambda L, x: L.unique(x, dim=1), np.array([[1, 0, 1], [2, 5, 2]])),
    ("unique_empty", lambda L, x: L.unique(x, return_inverse=True), np.zeros(0, np.int64)),
    ("unique_bool", lambda L, x: L.unique(x), np.array([True, False, True])),
    ("unique_nan", lambda L, x: L.unique(x, return_counts=True),
     np.array([np.nan, 1.0, np.nan, 1.0], np.float32)),
    ("unique_grad_err", lambda L, x: L.autograd.grad(L.unique(x).sum(), x), Grad(f32(4))),
    ("unique_dim_grad_err", lambda L, x: L.autograd.grad(L.unique(x, dim=0).sum(), x),
     Grad(f32(2, 2))),
    ("unique_consecutive_grad_err",
     lambda L, x: L.autograd.grad(L.unique_consecutive(x).sum(), x), Grad(f32(4))),
    ("unique_consecutive", lambda L, x: L.unique_consecutive(x), np.array([1, 1, 2, 2, 3, 1, 1])),
    ("unique_consecutive_all", lambda L, x: L.unique_consecutive(x, return_inverse=True,
                                                                 return_counts=True),
     np.array([[1, 1], [2, 2], [1, 1]])),
    ("unique_consecutive_dim", lambda L, x: L.unique_consecutive(x, return_inverse=True,
                                                                 return_counts=True, dim=0),
     np.array([[1, 1], [1, 1], [2, 2], [1, 1]])),
    ("unique_consecutive_empty", lambda L, x: L.unique_consecutive(x, return_counts=True),
     np.zeros(0, np.float32)),
    # ---------------------------------------------------------------- searching / counting
    ("searchsorted", lambda L, s, v: L.searchsorted(s, v), np.array([1, 3, 5, 7, 9]),
     np.array([[3, 6, 9], [3, 0, 10]])),
    ("searchsorted_right", lambda L, s, v: L.searchsorted(s, v, right=True),
     np.array([1, 3, 5, 7, 9]), np.array([3, 6, 9])),
    ("searchsorted_side", lambda L, s, v: L.searchsorted(s, v, side="right"),
     np.array([1.0, 3.0, 3.0, 5.0], np.float32), np.array([3.0, 4.0], np.float32)),
    ("searchsorted_scalar", lambda L, s: L.searchsorted(s, 4), np.array([1, 3, 5])),
    ("searchsorted_nd", lambda L, s, v: L.searchsorted(s, v),
     np.array([[1, 3, 5], [2, 4, 6]]), np.array([[3, 6], [1, 5]])),
    ("searchsorted_sorter", lambda L, s, v, o: L.searchsorted(s, v, sorter=o),
     np.array([5, 1, 3]), np.array([2, 4, 6]), np.array([1, 2, 0])),
    ("searchsorted_int32", lambda L, s, v: L.searchsorted(s, v, out_int32=True),
     np.array([1, 3, 5]), np.array([4])),
    ("searchsorted_err_side", lambda L, s, v: L.searchsorted(s, v, right=True, side="left"),
     np.array([1, 3, 5]), np.array([4])),
    ("searchsorted_err_shape", lambda L, s, v: L.searchsorted(s, v),
     np.array([[1, 3, 5]]), np.array([4, 5])),
    ("bucketize", lambda L, x, b: L.bucketize(x, b), np.array([[1, 5], [3, 9]]),
     np.array([1, 3, 5, 7])),
    ("bucketize_right", lambda L, x, b: L.bucketize(x, b, right=True), np.array([1, 5, 3, 9, 0]),
     np.array([1, 3, 5, 7])),
    ("bucketize_float", lambda L, x, b: L.bucketize(x, b), f32(5), np.array([-1.0, 0.0, 1.0],
                                                                            np.float32)),
    ("bucketize_err_2d", lambda L, x, b: L.bucketize(x, b), np.array([2]),
     np.array([[1, 2, 3]])),
    ("bincount", lambda L, x: L.bincount(x), np.array([1, 1, 3, 0, 5])),
    ("bincount_minlength", lambda L, x: x.bincount(minlength=8), np.array([1, 1, 3])),
    ("bincount_weights_f32", lambda L, x, w: L.bincount(x, w), np.array([1, 1, 3]), f32(3)),
    ("bincount_weights_f64", lambda L, x, w: L.bincount(x, w), np.array([1, 1, 3]), f64(3)),
    ("bincount_weights_int", lambda L, x, w: L.bincount(x, w), np.array([1, 2]), np.array([1, 2])),
    ("bincount_empty", lambda L, x: L.bincount(x), np.zeros(0, np.int64)),
    ("bincount_err_neg", lambda L, x: L.bincount(x), np.array([1, -1])),
    ("bincount_err_float", lambda L, x: L.bincount(x), np.array([1.0], np.float32)),
    ("bincount_err_2d", lambda L, x: L.bincount(x), np.array([[1]])),
    ("histc", lambda L, x: L.histc(x, bins=5), f32(50)),
    ("histc_range", lambda L, x: x.histc(bins=4, min=-1, max=1), f32(50)),
    ("histc_edges", lambda L, x: L.histc(x, bins=4, min=0, max=4),
     np.array([0, 1, 2, 3, 4, 4, -1, 5], np.float32)),
    ("histc_const", lambda L, x: L.histc(x, bins=3), np.array([2.0, 2.0], np.float32)),
    ("histc_f64", lambda L, x: L.histc(x, bins=7), f64(30)),
    ("histc_err_int", lambda L, x: L.histc(x), np.array([1, 2])),
    ("histc_err_bins", lambda L, x: L.histc(x, bins=0), f32(3)),
    ("histc_err_range", lambda L, x: L.histc(x, min=3, max=1), f32(3)),
]


def _set(t, key, value):
    t[key] = value
    return t


def _set_view(t):
    v = t[1:]
    v[:, [0, 2]] = 0.0
    return t


@pytest.mark.parametrize("name,fn,inputs", [(c[0], c[1], c[2:]) for c in CASES],
                         ids=[c[0] for c in CASES])
def test_op(name, fn, inputs):
    check(fn, *inputs)


def test_case_names_unique():
    names = [c[0] for c in CASES]
    assert len(names) == len(set(names))


# ---------------------------------------------------------------- grad_fn names

NAMED = [
    lambda L, x: x[0], lambda L, x: x[0:1], lambda L, x: x[:, :], lambda L, x: x[0, None],
    lambda L, x: x[None, 0], lambda L, x: x[1, 0:2], lambda L, x: x[[0]], lambda L, x: x[x > 0],
    lambda L, x: x[...], lambda L, x: x[True],
    lambda L, x: L.gather(x, 0, L.zeros(1, 1, 1, dtype=L.long)),
    lambda L, x: L.index_select(x, 0, L.tensor([0])),
    lambda L, x: L.take(x, L.tensor([1])),
    lambda L, x: L.take_along_dim(x, L.tensor([[[0]]]), 1),
    lambda L, x: L.sort(x).values, lambda L, x: L.topk(x, 2).values,
    lambda L, x: L.kthvalue(x, 2).values, lambda L, x: L.msort(x),
    lambda L, x: L.masked_fill(x, x > 0, 1.0), lambda L, x: L.masked_fill(x, x > 0, L.tensor(1.)),
    lambda L, x: L.masked_select(x, x > 0), lambda L, x: L.masked_scatter(x, x > 0, x),
    lambda L, x: L.index_fill(x, 0, L.tensor([0]), 1.0),
    lambda L, x: L.index_fill(x, 0, L.tensor([0]), L.tensor(1.0)),
    lambda L, x: L.index_copy(x, 0, L.tensor([0]), x[:1]),
    lambda L, x: L.index_add(x, 0, L.tensor([0]), x[:1]),
    lambda L, x: L.index_put(x, (L.tensor([0]),), L.tensor(1.0)),
    lambda L, x: x.put(L.tensor([0]), L.tensor([1.0])),
    lambda L, x: L.scatter(x, 0, L.zeros(1, 1, 1, dtype=L.long), 2.0),
    lambda L, x: L.scatter(x, 0, L.zeros(1, 1, 1, dtype=L.long), x),
    lambda L, x: L.scatter_add(x, 0, L.zeros(1, 1, 1, dtype=L.long), x),
    lambda L, x: L.scatter_reduce(x, 0, L.zeros(1, 1, 1, dtype=L.long), x, "prod"),
    lambda L, x: _set(x * 1, 0, 1.0), lambda L, x: _set(x * 1, [0], 1.0),
    lambda L, x: _set(x * 1, (0, [0]), 1.0),
    lambda L, x: L.unique(x), lambda L, x: L.unique(x, dim=1),
    lambda L, x: L.unique_consecutive(x),
]


@pytest.mark.parametrize("k", range(len(NAMED)))
def test_grad_fn_name(k):
    a = f32(2, 3, 4)
    t = NAMED[k](torch, torch.tensor(a, requires_grad=True))
    e = NAMED[k](ember, ember.tensor(a, requires_grad=True))
    assert e.grad_fn.name() == t.grad_fn.name()


# ---------------------------------------------------------------- named tuples and double backward

def test_named_tuples():
    x = ember.tensor([[3.0, 1.0, 2.0]])
    for r, n in [(ember.sort(x), "sort"), (ember.topk(x, 2), "topk"),
                 (ember.kthvalue(x, 1), "kthvalue")]:
        values, indices = r
        assert r[0] is values and r.values is values and r.indices is indices
        assert type(r).__name__ == n and isinstance(r, tuple) and len(r) == 2
        assert indices.dtype is ember.int64


@pytest.mark.parametrize("fn", [
    lambda L, x: (x[[0, 0, 1]] ** 2).sum(),
    lambda L, x: (L.gather(x, 1, L.tensor([[0, 0], [1, 0]])) ** 2).sum(),
    lambda L, x: (L.sort(x, 1).values * L.arange(2.0)).pow(2).sum(),
    lambda L, x: (L.scatter_add(x, 0, L.tensor([[1, 1]]), x[:1] ** 2) ** 2).sum(),
    lambda L, x: (L.index_select(x, 0, L.tensor([1, 1])) ** 3).sum(),
    lambda L, x: (L.masked_select(x, x > 0) ** 3).sum(),
])
def test_double_backward(fn):
    a = f64(2, 2)
    out = []
    for L in (torch, ember):
        x = L.tensor(a, requires_grad=True)
        (g,) = L.autograd.grad(fn(L, x), x, create_graph=True)
        (gg,) = L.autograd.grad((g * g).sum(), x)
        out.append(gg.detach().cpu().numpy())
    np.testing.assert_allclose(out[1], out[0], rtol=1e-10)


# ---------------------------------------------------------------- float64 gradcheck (no torch)

def _e(a):
    return ember.tensor(np.asarray(a))


GRADCHECK = [
    ("getitem_adv_dup", lambda x: x[[0, 0, 1], 1:], (3, 4)),
    ("getitem_mask", lambda x: x[_e([[True, False, True]] * 2)], (2, 3)),
    ("getitem_basic", lambda x: x[None, -1, ::2], (3, 4)),
    ("setitem_self", lambda x: _set(x * 1, ([0, 2], slice(None)), 0.5), (3, 2)),
    ("setitem_value", lambda x: _set(ember.zeros(4, 2, dtype=ember.float64), [3, 1], x[0]),
     (2, 2)),
    ("index_put_acc", lambda x: x.index_put((_e([0, 0]),), x[1:], accumulate=True), (3,)),
    ("index_select", lambda x: x.index_select(1, _e([2, 0, 2])), (2, 3)),
    ("index_add", lambda x: x.index_add(0, _e([1, 1]), x * x, alpha=2.0), (2, 3)),
    ("index_copy", lambda x: x.index_copy(0, _e([1, 0]), x.flip(0) * 2), (2, 3)),
    ("index_fill_value", lambda x: x.index_fill(1, _e([0]), x[0, 1]), (2, 3)),
    ("masked_fill", lambda x: x.masked_fill(_e([True, False, True]), x[1]), (3,)),
    ("masked_select", lambda x: x.masked_select(_e([[True], [False]])), (2, 3)),
    ("masked_scatter", lambda x: x.masked_scatter(_e([True, False, True]), x * 3), (3,)),
    ("gather", lambda x: x.gather(1, _e([[0, 0], [2, 1]])), (2, 3)),
    ("scatter", lambda x: x.scatter(1, _e([[2], [0]]), x[:, 1:2] ** 2), (2, 3)),
    ("scatter_add", lambda x: x.scatter_add(0, _e([[1, 1, 0]]), x[:1] * x[1:]), (2, 3)),
    ("scatter_reduce_mean", lambda x: x.scatter_reduce(0, _e([0, 0, 2]), x * 2, "mean",
                                                      include_self=False), (3,)),
    ("scatter_reduce_prod", lambda x: x.scatter_reduce(0, _e([0, 0, 2]), x + 1, "prod"), (3,)),
    ("scatter_reduce_amax", lambda x: x.scatter_reduce(0, _e([0, 0, 1]), x * 2, "amax"), (3,)),
    ("take", lambda x: x.take(_e([[5, 0], [5, 1]])), (2, 3)),
    ("take_along_dim", lambda x: ember.take_along_dim(x, _e([[1], [0]]), 1), (2, 3)),
    ("put", lambda x: x.put(_e([0, 4]), x[0, :2] * 3), (2, 3)),
    ("sort", lambda x: ember.sort(x, 1, descending=True).values, (3, 4)),
    ("topk", lambda x: ember.topk(x, 2, 0).values, (4, 3)),
    ("kthvalue", lambda x: ember.kthvalue(x, 2).values, (3, 4)),
]


@pytest.mark.parametrize("name,fn,shape", GRADCHECK, ids=[g[0] for g in GRADCHECK])
def test_gradcheck(name, fn, shape):
    from ember.autograd import gradcheck, gradgradcheck
    x = ember.tensor(np.random.default_rng(1).standard_normal(shape), requires_grad=True)
    assert gradcheck(fn, (x,))
    assert gradgradcheck(fn, (x,))


# ---------------------------------------------------------------- reduced-precision dtypes

def _low(dt):
    if dt == "bfloat16":
        import ml_dtypes
        return f32(3, 4).astype(ml_dtypes.bfloat16)
    return f32(3, 4).astype(dt)


LOW = [
    ("getitem", lambda L, x: x[[0, 2], 1:]),
    ("setitem", lambda L, x: _set(x * 1, (slice(None), [0, 3]), 1.5)),
    ("index_add", lambda L, x: x.index_add(0, L.tensor([0, 0]), x[:2])),
    ("gather", lambda L, x: x.gather(1, L.tensor([[0, 0], [1, 3], [2, 2]]))),
    ("scatter_add", lambda L, x: x.scatter_add(1, L.tensor([[0, 0], [1, 3], [2, 2]]), x[:, :2])),
    ("scatter_reduce_mean", lambda L, x: x.scatter_reduce(1, L.tensor([[0, 0], [1, 3], [2, 2]]),
                                                          x[:, 1:3], "mean")),
    ("masked_fill", lambda L, x: x.masked_fill(x > 0, 2.0)),
    ("sort", lambda L, x: L.sort(x, stable=True)),
    ("topk", lambda L, x: L.topk(x.detach().float().argsort().to(x.dtype) * x, 2)),
    ("unique", lambda L, x: L.unique(x.detach())),
    ("histc", lambda L, x: L.histc(x.detach().float(), bins=4).to(x.dtype)),
]


@pytest.mark.parametrize("dt", ["float16", "bfloat16", "float64"])
@pytest.mark.parametrize("name,fn", LOW, ids=[c[0] for c in LOW])
def test_dtypes(name, fn, dt):
    check(fn, Grad(_low(dt)))
