"""Oracle table for the shape, joining, splitting and rearranging ops: values, dtypes,
shapes, gradients and exception types against PyTorch, and grad_fn names."""
import warnings

import ml_dtypes
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


def i64(*s):
    return rng.integers(-5, 5, s).astype(np.int64)


def bf16(*s):
    return f32(*s).astype(ml_dtypes.bfloat16)


def bools(*s):
    return rng.random(s) > 0.5


def tr(a):
    """A non-contiguous (transposed) array."""
    return np.ascontiguousarray(a).T


def G(a):
    return Grad(a)


# (name, fn(lib, *inputs), inputs)
CASES = [
    # view / reshape / flatten / unflatten
    ("view", lambda L, x: x.view(6, 4), (G(f32(2, 3, 4)),)),
    ("view_infer", lambda L, x: x.view(-1, 2), (G(f32(2, 3, 4)),)),
    ("view_tuple", lambda L, x: x.view((4, 6)), (G(f32(2, 3, 4)),)),
    ("view_0d", lambda L, x: x.view(1, 1), (G(f32()),)),
    ("view_to_0d", lambda L, x: x.view(()), (G(f32(1)),)),
    ("view_empty", lambda L, x: x.view(0, 5), (G(f32(5, 0)),)),
    ("view_dtype", lambda L, x: x.view(L.int32), (f32(2, 3),)),
    ("view_dtype_smaller", lambda L, x: x.view(L.int16), (f32(2, 3),)),
    ("view_as", lambda L, x, y: x.view_as(y), (G(f32(6)), f32(2, 3))),
    ("err_view_bad_size", lambda L, x: x.view(5, 5), (f32(2, 3),)),
    ("err_view_two_infer", lambda L, x: x.view(-1, -1), (f32(2, 3),)),
    ("err_view_noncontig", lambda L, x: x.view(6), (tr(f32(2, 3)),)),
    ("reshape_contig", lambda L, x: x.reshape(3, 8), (G(f32(2, 3, 4)),)),
    ("reshape_noncontig", lambda L, x: x.reshape(-1), (G(tr(f32(3, 4))),)),
    ("reshape_int", lambda L, x: x.reshape(2, -1), (i64(4, 3),)),
    ("reshape_as", lambda L, x, y: x.reshape_as(y), (G(tr(f32(2, 3))), f32(3, 2))),
    ("err_reshape", lambda L, x: x.reshape(7), (f32(2, 3),)),
    ("flatten", lambda L, x: x.flatten(), (G(f32(2, 3, 4)),)),
    ("flatten_mid", lambda L, x: L.flatten(x, 1, -1), (G(tr(f32(2, 3, 4))),)),
    ("flatten_0d", lambda L, x: x.flatten(), (G(f32()),)),
    ("flatten_same", lambda L, x: x.flatten(1, 1), (G(f32(2, 3)),)),
    ("err_flatten_order", lambda L, x: x.flatten(2, 0), (f32(2, 3, 4),)),
    ("unflatten", lambda L, x: x.unflatten(1, (2, -1)), (G(f32(3, 6)),)),
    ("unflatten_neg", lambda L, x: L.unflatten(x, -1, (3, 2)), (G(f32(3, 6)),)),
    ("err_unflatten", lambda L, x: x.unflatten(1, (4, 2)), (f32(3, 6),)),
    ("err_unflatten_empty", lambda L, x: x.unflatten(1, ()), (f32(3, 6),)),
    # squeeze / unsqueeze
    ("squeeze_all", lambda L, x: x.squeeze(), (G(f32(1, 3, 1, 2)),)),
    ("squeeze_dim", lambda L, x: x.squeeze(-2), (G(f32(1, 3, 1, 2)),)),
    ("squeeze_dim_noop", lambda L, x: x.squeeze(1), (G(f32(1, 3, 1, 2)),)),
    ("squeeze_tuple", lambda L, x: L.squeeze(x, (0, 1, 2)), (G(f32(1, 3, 1, 2)),)),
    ("squeeze_0d", lambda L, x: x.squeeze(0), (G(f32()),)),
    ("squeeze_empty", lambda L, x: x.squeeze(), (f32(0, 1),)),
    ("err_squeeze_dim", lambda L, x: x.squeeze(3), (f32(2, 1),)),
    ("unsqueeze", lambda L, x: x.unsqueeze(1), (G(f32(2, 3)),)),
    ("unsqueeze_neg", lambda L, x: L.unsqueeze(x, -1), (G(tr(f32(2, 3))),)),
    ("unsqueeze_0d", lambda L, x: x.unsqueeze(0), (G(f32()),)),
    ("err_unsqueeze", lambda L, x: x.unsqueeze(4), (f32(2, 3),)),
    # permutations
    ("permute", lambda L, x: x.permute(2, 0, 1), (G(f32(2, 3, 4)),)),
    ("permute_neg_list", lambda L, x: L.permute(x, [-1, 0, 1]), (G(tr(f32(2, 3, 4))),)),
    ("permute_0d", lambda L, x: x.permute(()), (G(f32()),)),
    ("err_permute_len", lambda L, x: x.permute(0, 1), (f32(2, 3, 4),)),
    ("err_permute_dup", lambda L, x: x.permute(0, 0, 1), (f32(2, 3, 4),)),
    ("err_permute_range", lambda L, x: x.permute(0, 1, 3), (f32(2, 3, 4),)),
    ("movedim", lambda L, x: L.movedim(x, 0, -1), (G(f32(2, 3, 4)),)),
    ("movedim_tuple", lambda L, x: x.movedim((0, 1), (2, 0)), (G(f32(2, 3, 4)),)),
    ("moveaxis", lambda L, x: L.moveaxis(x, -1, 0), (G(f32(2, 3, 4)),)),
    ("err_movedim_len", lambda L, x: x.movedim((0, 1), (0,)), (f32(2, 3),)),
    ("err_movedim_dup", lambda L, x: x.movedim((0, 0), (0, 1)), (f32(2, 3),)),
    ("transpose", lambda L, x: x.transpose(0, 2), (G(f32(2, 3, 4)),)),
    ("transpose_neg", lambda L, x: L.transpose(x, -1, -2), (G(f32(2, 3, 4)),)),
    ("transpose_same", lambda L, x: x.transpose(1, 1), (G(f32(2, 3)),)),
    ("transpose_0d", lambda L, x: x.transpose(0, -1), (G(f32()),)),
    ("err_transpose", lambda L, x: x.transpose(0, 2), (f32(2, 3),)),
    ("swapaxes", lambda L, x: L.swapaxes(x, 0, 1), (G(f32(2, 3)),)),
    ("swapdims", lambda L, x: x.swapdims(0, 1), (G(f32(2, 3)),)),
    ("t", lambda L, x: x.t(), (G(f32(2, 3)),)),
    ("t_1d", lambda L, x: L.t(x), (G(f32(3)),)),
    ("t_0d", lambda L, x: x.t(), (G(f32()),)),
    ("err_t_3d", lambda L, x: x.t(), (f32(2, 3, 4),)),
    ("T", lambda L, x: x.T, (G(f32(2, 3)),)),
    ("mT", lambda L, x: x.mT, (G(f32(2, 3, 4)),)),
    ("err_mT_1d", lambda L, x: x.mT, (f32(3),)),
    ("H", lambda L, x: x.H, (G(f32(2, 3)),)),
    ("err_H_3d", lambda L, x: x.H, (f32(2, 3, 4),)),
    ("mH", lambda L, x: x.mH, (G(f64(2, 3, 4)),)),
    ("adjoint", lambda L, x: L.adjoint(x), (G(f32(2, 3)),)),
    ("err_adjoint_1d", lambda L, x: x.adjoint(), (f32(3),)),
    # expand / broadcast
    ("expand", lambda L, x: x.expand(2, 3, 4), (G(f32(3, 1)),)),
    ("expand_minus1", lambda L, x: x.expand(-1, 5), (G(f32(3, 1)),)),
    ("expand_list", lambda L, x: x.expand([2, 3]), (G(f32(3)),)),
    ("expand_0d", lambda L, x: x.expand(2, 2), (G(f32()),)),
    ("expand_empty", lambda L, x: x.expand(0, 3), (G(f32(1, 3)),)),
    ("expand_int", lambda L, x: x.expand(2, 4), (i64(4),)),
    ("expand_as", lambda L, x, y: x.expand_as(y), (G(f32(1, 3)), f32(4, 3))),
    ("err_expand_mismatch", lambda L, x: x.expand(2, 4), (f32(3),)),
    ("err_expand_fewer", lambda L, x: x.expand(3), (f32(2, 3),)),
    ("err_expand_lead_neg", lambda L, x: x.expand(-1, 3), (f32(3),)),
    ("broadcast_to", lambda L, x: L.broadcast_to(x, (2, 3)), (G(f32(3)),)),
    ("broadcast_tensors", lambda L, a, b: L.broadcast_tensors(a, b),
     (G(f32(3, 1)), G(f32(4)))),
    ("broadcast_tensors_same", lambda L, a, b: L.broadcast_tensors(a, b),
     (G(f32(2, 3)), G(f32(3)))),
    ("err_broadcast_tensors", lambda L, a, b: L.broadcast_tensors(a, b), (f32(3), f32(4))),
    ("broadcast_shapes", lambda L: L.broadcast_shapes((2, 1), (3,), 1), ()),
    ("broadcast_shapes_none", lambda L: L.broadcast_shapes(), ()),
    ("err_broadcast_shapes", lambda L: L.broadcast_shapes((2, 3), (4, 3)), ()),
    ("atleast_1d", lambda L, x: L.atleast_1d(x), (G(f32()),)),
    ("atleast_2d_many", lambda L, x, y: L.atleast_2d(x, y), (G(f32(3)), G(f32()))),
    ("atleast_3d", lambda L, x, y: L.atleast_3d([x, y]), (G(f32(3)), G(f32(2, 3)))),
    # unbind / split family
    ("unbind", lambda L, x: x.unbind(1), (G(f32(2, 3)),)),
    ("unbind_neg", lambda L, x: L.unbind(x, -1), (G(tr(f32(2, 3))),)),
    ("unbind_empty", lambda L, x: x.unbind(0), (G(f32(0, 3)),)),
    ("err_unbind_0d", lambda L, x: x.unbind(), (f32(),)),
    ("err_unbind_dim", lambda L, x: x.unbind(2), (f32(2, 3),)),
    ("split_int", lambda L, x: x.split(2), (G(f32(5, 3)),)),
    ("split_int_dim", lambda L, x: L.split(x, 2, dim=-1), (G(tr(f32(5, 3))),)),
    ("split_sizes", lambda L, x: x.split([1, 0, 4]), (G(f32(5, 3)),)),
    ("split_big", lambda L, x: x.split(10), (G(f32(5, 3)),)),
    ("split_empty", lambda L, x: x.split(0), (G(f32(0, 3)),)),
    ("split_one_used", lambda L, x: x.split(2)[1], (G(f32(5, 3)),)),
    ("err_split_zero", lambda L, x: x.split(0), (f32(5, 3),)),
    ("err_split_neg", lambda L, x: x.split(-1), (f32(5, 3),)),
    ("err_split_sum", lambda L, x: x.split([1, 2]), (f32(5, 3),)),
    ("err_split_neg_size", lambda L, x: x.split([6, -1]), (f32(5, 3),)),
    ("chunk", lambda L, x: x.chunk(2), (G(f32(5, 3)),)),
    ("chunk_more", lambda L, x: L.chunk(x, 4, 0), (G(f32(5, 3)),)),
    ("chunk_dim", lambda L, x: x.chunk(3, dim=1), (G(f32(5, 3)),)),
    ("chunk_empty", lambda L, x: x.chunk(3), (G(f32(0, 3)),)),
    ("err_chunk_zero", lambda L, x: x.chunk(0), (f32(5, 3),)),
    ("tensor_split_sections", lambda L, x: x.tensor_split(3), (G(f32(7, 2)),)),
    ("tensor_split_indices", lambda L, x: L.tensor_split(x, [1, 6, 3, 9], dim=0),
     (G(f32(7, 2)),)),
    ("tensor_split_neg", lambda L, x: x.tensor_split([-2], dim=-1), (G(f32(2, 7)),)),
    ("tensor_split_tensor_sections", lambda L, x: x.tensor_split(L.tensor(2)), (G(f32(5)),)),
    ("tensor_split_tensor_indices", lambda L, x: x.tensor_split(L.tensor([1, 3])),
     (G(f32(5)),)),
    ("err_tensor_split_float", lambda L, x: x.tensor_split(L.tensor([1.0])), (f32(5),)),
    ("err_tensor_split_zero", lambda L, x: x.tensor_split(0), (f32(5),)),
    ("err_tensor_split_0d", lambda L, x: x.tensor_split(2), (f32(),)),
    ("hsplit", lambda L, x: L.hsplit(x, 2), (G(f32(3, 4)),)),
    ("hsplit_1d", lambda L, x: x.hsplit([1, 3]), (G(f32(5)),)),
    ("vsplit", lambda L, x: x.vsplit(3), (G(f32(3, 4)),)),
    ("dsplit", lambda L, x: L.dsplit(x, [1]), (G(f32(2, 3, 4)),)),
    ("err_hsplit_divisible", lambda L, x: x.hsplit(3), (f32(3, 4),)),
    ("err_vsplit_1d", lambda L, x: x.vsplit(1), (f32(3),)),
    ("err_dsplit_2d", lambda L, x: x.dsplit(1), (f32(3, 4),)),
    ("narrow", lambda L, x: x.narrow(1, 1, 2), (G(f32(3, 4)),)),
    ("narrow_neg", lambda L, x: L.narrow(x, -1, -3, 2), (G(tr(f32(4, 3))),)),
    ("narrow_empty", lambda L, x: x.narrow(0, 3, 0), (G(f32(3, 4)),)),
    ("err_narrow_len", lambda L, x: x.narrow(0, 2, 2), (f32(3, 4),)),
    ("err_narrow_start", lambda L, x: x.narrow(0, 5, 0), (f32(3, 4),)),
    ("err_narrow_0d", lambda L, x: x.narrow(0, 0, 1), (f32(),)),
    # cat / stack
    ("cat", lambda L, a, b: L.cat([a, b]), (G(f32(2, 3)), G(f32(1, 3)))),
    ("cat_neg_dim", lambda L, a, b: L.cat((a, b), -1), (G(tr(f32(3, 2))), G(f32(2, 1)))),
    ("cat_promote", lambda L, a, b: L.cat([a, b]), (G(f32(2)), i64(3))),
    ("cat_promote_f64", lambda L, a, b: L.concat([a, b]), (G(f32(2)), G(f64(3)))),
    ("cat_bool_int", lambda L, a, b: L.concatenate([a, b]), (bools(2), i64(2))),
    ("cat_legacy_empty", lambda L, a, b: L.cat([a, b], 1), (G(f32(0)), G(f32(2, 3)))),
    ("cat_all_empty", lambda L, a, b: L.cat([a, b]), (G(f32(0)), G(f32(0)))),
    ("cat_empty_2d", lambda L, a, b: L.cat([a, b]), (G(f32(0, 3)), G(f32(2, 3)))),
    ("cat_one", lambda L, a: L.cat([a]), (G(f32(2, 3)),)),
    ("err_cat_0d", lambda L, a, b: L.cat([a, b]), (f32(), f32())),
    ("err_cat_sizes", lambda L, a, b: L.cat([a, b]), (f32(2, 3), f32(2, 4))),
    ("err_cat_ndim", lambda L, a, b: L.cat([a, b]), (f32(2, 3), f32(3))),
    ("err_cat_empty_list", lambda L: L.cat([]), ()),
    ("err_cat_tensor", lambda L, a: L.cat(a), (f32(2, 3),)),
    ("err_cat_dim", lambda L, a, b: L.cat([a, b], 2), (f32(2, 3), f32(2, 3))),
    ("stack", lambda L, a, b: L.stack([a, b]), (G(f32(2, 3)), G(f32(2, 3)))),
    ("stack_last", lambda L, a, b: L.stack([a, b], -1), (G(tr(f32(3, 2))), G(f32(2, 3)))),
    ("stack_0d", lambda L, a, b: L.stack([a, b]), (G(f32()), G(f32()))),
    ("stack_promote", lambda L, a, b: L.stack([a, b], 1), (i64(2), G(f64(2)))),
    ("err_stack_shape", lambda L, a, b: L.stack([a, b]), (f32(2), f32(3))),
    ("err_stack_dim", lambda L, a, b: L.stack([a, b], 3), (f32(2), f32(2))),
    ("err_stack_empty", lambda L: L.stack([]), ()),
    ("hstack", lambda L, a, b: L.hstack([a, b]), (G(f32(2, 3)), G(f32(2, 1)))),
    ("hstack_1d", lambda L, a, b: L.hstack([a, b]), (G(f32(2)), G(f32()))),
    ("vstack", lambda L, a, b: L.vstack([a, b]), (G(f32(3)), G(f32(2, 3)))),
    ("row_stack", lambda L, a, b: L.row_stack((a, b)), (G(f32(3)), G(f32(3)))),
    ("dstack", lambda L, a, b: L.dstack([a, b]), (G(f32(3)), G(f32(1, 3)))),
    ("column_stack", lambda L, a, b, c: L.column_stack([a, b, c]),
     (G(f32(3)), G(f32(3, 2)), G(f32(3)))),
    ("err_hstack_empty", lambda L: L.hstack([]), ()),
    # out=: resized when its shape differs (with PyTorch's deprecation warning when it held
    # elements), cast where the casting rules allow
    # (tensors from NumPy arrays cannot be resized in torch: those out tensors are made here)
    ("cat_out_resized", lambda L, a, b: L.cat([a, b], out=L.empty(0)), (f32(2, 3), f32(1, 3))),
    ("cat_out_cast", lambda L, a, b, o: (L.cat([a, b], out=o), o), (f32(2, 3), f32(1, 3), f64(3, 3))),
    ("stack_out_resized", lambda L, a, b: L.stack([a, b], 1, out=L.zeros(4)), (i64(2), i64(2))),
    ("hstack_out", lambda L, a, b, o: (L.hstack([a, b], out=o), o), (f32(2), f32(3), f32(5))),
    ("err_cat_out_uncastable", lambda L, a, o: L.cat([a], out=o), (f32(2), i64(2))),
    ("err_stack_out_uncastable", lambda L, a, o: L.stack([a], out=o), (f32(2), bools(2))),
    ("triu_out_resized", lambda L, a: L.triu(a, out=L.empty(0)), (f32(3, 3),)),
    ("err_triu_out_dtype", lambda L, a, o: L.triu(a, out=o), (f32(3, 3), f64(3, 3))),
    ("err_diag_out_dtype", lambda L, a, o: L.diag(a, out=o), (f32(3), i64(3, 3))),
    # repeat / tile / repeat_interleave
    ("repeat", lambda L, x: x.repeat(2, 3), (G(f32(2, 3)),)),
    ("repeat_more_dims", lambda L, x: x.repeat(2, 1, 2), (G(tr(f32(3, 2))),)),
    ("repeat_zero", lambda L, x: x.repeat(0, 2), (G(f32(2, 3)),)),
    ("repeat_0d", lambda L, x: x.repeat(3), (G(f32()),)),
    ("repeat_int", lambda L, x: x.repeat((2, 2)), (i64(2),)),
    ("err_repeat_fewer", lambda L, x: x.repeat(2), (f32(2, 3),)),
    ("err_repeat_neg", lambda L, x: x.repeat(-1), (f32(3),)),
    ("tile", lambda L, x: L.tile(x, (2,)), (G(f32(2, 3)),)),
    ("tile_more", lambda L, x: x.tile((2, 1, 2)), (G(f32(2, 3)),)),
    ("repeat_interleave", lambda L, x: x.repeat_interleave(2), (G(f32(2, 3)),)),
    ("repeat_interleave_dim", lambda L, x: L.repeat_interleave(x, 3, dim=-1),
     (G(tr(f32(3, 2))),)),
    ("repeat_interleave_tensor", lambda L, x: x.repeat_interleave(L.tensor([1, 0, 2]), dim=0),
     (G(f32(3, 2)),)),
    ("repeat_interleave_tensor1", lambda L, x: x.repeat_interleave(L.tensor([2])),
     (G(f32(3)),)),
    ("repeat_interleave_output_size",
     lambda L, x: x.repeat_interleave(L.tensor([1, 2]), dim=1, output_size=3), (G(f32(2, 2)),)),
    ("repeat_interleave_counts", lambda L: L.repeat_interleave(L.tensor([1, 0, 3])), ()),
    ("repeat_interleave_0d", lambda L, x: x.repeat_interleave(2), (G(f32()),)),
    ("err_repeat_interleave_neg", lambda L, x: x.repeat_interleave(-1), (f32(3),)),
    ("err_repeat_interleave_size", lambda L, x: x.repeat_interleave(L.tensor([1, 2])),
     (f32(3),)),
    ("err_repeat_interleave_neg_tensor", lambda L, x: x.repeat_interleave(L.tensor([1, -1, 1])),
     (f32(3),)),
    ("err_repeat_interleave_float", lambda L, x: x.repeat_interleave(L.tensor([1.0, 1, 1])),
     (f32(3),)),
    # flip / roll / rot90
    ("flip", lambda L, x: x.flip(0), (G(f32(2, 3)),)),
    ("flip_dims", lambda L, x: L.flip(x, (0, -1)), (G(tr(f32(2, 3, 4))),)),
    ("flip_list_method", lambda L, x: x.flip([1]), (G(f32(2, 3)),)),
    ("flip_0d", lambda L, x: x.flip(()), (G(f32()),)),
    ("flip_int", lambda L, x: x.flip(0), (i64(4),)),
    ("err_flip_dup", lambda L, x: x.flip((0, 0)), (f32(2, 3),)),
    ("err_flip_range", lambda L, x: x.flip(2), (f32(2, 3),)),
    ("fliplr", lambda L, x: L.fliplr(x), (G(f32(2, 3)),)),
    ("flipud", lambda L, x: x.flipud(), (G(f32(2, 3)),)),
    ("err_fliplr_1d", lambda L, x: x.fliplr(), (f32(3),)),
    ("err_flipud_0d", lambda L, x: x.flipud(), (f32(),)),
    ("roll", lambda L, x: x.roll(1, 0), (G(f32(3, 4)),)),
    ("roll_flat", lambda L, x: L.roll(x, -5), (G(tr(f32(4, 3))),)),
    ("roll_tuple", lambda L, x: x.roll((1, -2), (-1, 0)), (G(f32(3, 4)),)),
    ("roll_empty", lambda L, x: x.roll(2, 0), (G(f32(0, 3)),)),
    ("err_roll_align", lambda L, x: x.roll((1, 2), 0), (f32(3, 4),)),
    ("err_roll_align_none", lambda L, x: x.roll((1, 2)), (f32(3, 4),)),
    ("rot90", lambda L, x: x.rot90(), (G(f32(2, 3)),)),
    ("rot90_k", lambda L, x: L.rot90(x, -3, [1, 2]), (G(f32(2, 3, 4)),)),
    ("rot90_2", lambda L, x: x.rot90(2, (-1, 0)), (G(tr(f32(2, 3))),)),
    ("err_rot90_ndims", lambda L, x: x.rot90(1, (0,)), (f32(2, 3),)),
    ("err_rot90_1d", lambda L, x: x.rot90(), (f32(3),)),
    ("err_rot90_same", lambda L, x: x.rot90(1, (1, 1)), (f32(2, 3),)),
    # triangles, diagonals
    ("tril", lambda L, x: x.tril(), (G(f32(3, 4)),)),
    ("tril_k", lambda L, x: L.tril(x, -1), (G(tr(f32(2, 4, 3))),)),
    ("triu", lambda L, x: L.triu(x, 1), (G(f32(3, 4)),)),
    ("triu_big_k", lambda L, x: x.triu(-5), (G(f32(3, 4)),)),
    ("triu_int", lambda L, x: x.triu(), (i64(3, 3),)),
    ("tril_bool", lambda L, x: x.tril(), (bools(3, 3),)),
    ("err_tril_1d", lambda L, x: x.tril(), (f32(3),)),
    ("err_triu_1d", lambda L, x: L.triu(x), (f32(3),)),
    ("diagonal", lambda L, x: x.diagonal(), (G(f32(3, 4)),)),
    ("diagonal_offset", lambda L, x: L.diagonal(x, 1), (G(f32(3, 4)),)),
    ("diagonal_neg_offset", lambda L, x: x.diagonal(-2), (G(f32(3, 4)),)),
    ("diagonal_out_of_range", lambda L, x: x.diagonal(7), (G(f32(3, 4)),)),
    ("diagonal_dims", lambda L, x: x.diagonal(1, -1, 0), (G(f32(3, 2, 4)),)),
    ("diagonal_noncontig", lambda L, x: x.diagonal(0, 2, 1), (G(tr(f32(3, 2, 4))),)),
    ("err_diagonal_same", lambda L, x: x.diagonal(0, 1, 1), (f32(3, 4),)),
    ("err_diagonal_range", lambda L, x: x.diagonal(0, 0, 2), (f32(3, 4),)),
    ("diag_vector", lambda L, x: L.diag(x), (G(f32(3)),)),
    ("diag_vector_offset", lambda L, x: x.diag(-2), (G(f32(3)),)),
    ("diag_matrix", lambda L, x: L.diag(x, 1), (G(f32(3, 4)),)),
    ("diag_int", lambda L, x: L.diag(x), (i64(3),)),
    ("err_diag_3d", lambda L, x: L.diag(x), (f32(2, 2, 2),)),
    ("err_diag_0d", lambda L, x: L.diag(x), (f32(),)),
    ("diag_embed", lambda L, x: L.diag_embed(x), (G(f32(2, 3)),)),
    ("diag_embed_offset_dims", lambda L, x: L.diag_embed(x, -1, 0, 2), (G(f32(2, 3)),)),
    ("err_diag_embed_same", lambda L, x: L.diag_embed(x, 0, 1, 1), (f32(2, 3),)),
    ("diagflat", lambda L, x: L.diagflat(x), (G(f32(2, 2)),)),
    ("diagflat_offset", lambda L, x: x.diagflat(1), (G(f32(3)),)),
    ("diagflat_0d", lambda L, x: L.diagflat(x), (G(f32()),)),
    # meshgrid
    ("meshgrid_ij", lambda L, a, b: L.meshgrid(a, b, indexing="ij"), (G(f32(3)), G(f32(2)))),
    ("meshgrid_xy", lambda L, a, b, c: L.meshgrid([a, b, c], indexing="xy"),
     (G(f32(3)), G(f32(2)), G(f32(4)))),
    ("meshgrid_0d", lambda L, a, b: L.meshgrid(a, b, indexing="xy"), (G(f32()), G(f32(2)))),
    ("meshgrid_one", lambda L, a: L.meshgrid(a, indexing="xy"), (G(f32(3)),)),
    ("err_meshgrid_2d", lambda L, a: L.meshgrid(a, indexing="ij"), (f32(2, 2),)),
    ("err_meshgrid_dtype", lambda L, a, b: L.meshgrid(a, b, indexing="ij"), (f32(2), i64(2))),
    ("err_meshgrid_indexing", lambda L, a: L.meshgrid(a, indexing="ji"), (f32(2),)),
    # element-picking views
    ("unfold", lambda L, x: x.unfold(0, 2, 1), (G(f32(5)),)),
    ("unfold_step", lambda L, x: x.unfold(-1, 2, 3), (G(f32(2, 7)),)),
    ("unfold_noncontig", lambda L, x: x.unfold(1, 3, 2), (G(tr(f32(5, 3))),)),
    ("unfold_zero_size", lambda L, x: x.unfold(0, 0, 1), (G(f32(4)),)),
    ("unfold_0d", lambda L, x: x.unfold(0, 1, 1), (G(f32()),)),
    ("err_unfold_size", lambda L, x: x.unfold(0, 6, 1), (f32(5),)),
    ("err_unfold_step", lambda L, x: x.unfold(0, 2, 0), (f32(5),)),
    ("as_strided", lambda L, x: x.as_strided((2, 2), (1, 2)), (G(f32(4)),)),
    ("as_strided_overlap", lambda L, x: L.as_strided(x, (3, 3), (1, 1), 1), (G(f32(6)),)),
    ("as_strided_of_view", lambda L, x: x[1:].as_strided((2,), (2,)), (G(f32(6)),)),
    ("as_strided_of_expand", lambda L, x: x.expand(3, 4).as_strided((3, 2), (1, 1)),
     (G(f32(4)),)),
    ("as_strided_of_transpose", lambda L, x: x.t().as_strided((2, 3), (3, 1)),
     (G(f32(3, 2)),)),
    ("err_as_strided_bounds", lambda L, x: x.as_strided((3,), (2,)), (f32(4),)),
    ("err_as_strided_neg", lambda L, x: x.as_strided((2,), (-1,)), (f32(4),)),
    # dtypes travel through untouched
    ("permute_f64", lambda L, x: x.permute(1, 0), (G(f64(2, 3)),)),
    ("reshape_bool", lambda L, x: x.reshape(3, 2), (bools(2, 3),)),
    ("flip_f16", lambda L, x: x.flip(1), (G(f32(2, 3).astype(np.float16)),)),
    ("cat_f16_f32", lambda L, a, b: L.cat([a, b]), (G(f32(2).astype(np.float16)), G(f32(1)))),
    ("cat_bf16_f32", lambda L, a, b: L.cat([a, b]), (G(bf16(2)), G(f32(1)))),
    ("diagonal_bf16", lambda L, x: x.diagonal(), (G(bf16(3, 3)),)),
    ("unfold_bf16", lambda L, x: x.unfold(0, 3, 1), (G(bf16(5)),)),
    ("repeat_interleave_bf16", lambda L, x: x.repeat_interleave(L.tensor([2, 1])), (G(bf16(2)),)),
    ("tril_bf16", lambda L, x: x.tril(), (G(bf16(3, 3)),)),
    ("stack_int32_bool", lambda L, a, b: L.stack([a, b]), (i64(2).astype(np.int32), bools(2))),
    # argument forms and corner cases
    ("view_0d_to_1d", lambda L, x: x.view(-1), (G(f32()),)),
    ("view_dtype_same_no_grad", lambda L, x: x.view(L.float32), (G(f32(2)),)),
    ("view_dtype_bigger", lambda L, x: x.view(L.float64), (f32(2, 4),)),
    ("err_view_dtype_bigger", lambda L, x: x.view(L.float64), (f32(2, 3),)),
    ("reshape_tensor_sizes", lambda L, x: x.reshape(L.tensor(3), 2), (G(f32(6)),)),
    ("expand_tensor_sizes", lambda L, x: x.expand(L.tensor(2), 3), (G(f32(3)),)),
    ("expand_empty_keep", lambda L, x: x.expand(2, -1, -1), (G(f32(0, 3)),)),
    ("squeeze_empty_tuple", lambda L, x: x.squeeze(()), (G(f32(1, 2)),)),
    ("unflatten_empty", lambda L, x: x.unflatten(0, (0, -1)), (G(f32(0)),)),
    ("err_flip_int_function", lambda L, x: L.flip(x, -1), (f32(2, 3),)),
    ("flip_varargs_method", lambda L, x: x.flip(-1, 0), (G(f32(2, 3)),)),
    ("roll_big_shift", lambda L, x: x.roll(-7, -1), (G(f32(2, 3)),)),
    ("rot90_5", lambda L, x: x.rot90(5), (G(f32(2, 3)),)),
    ("tile_empty_dims", lambda L, x: x.tile(()), (G(f32(2, 3)),)),
    ("tile_0d", lambda L, x: x.tile(2), (G(f32()),)),
    ("tensor_split_more_sections", lambda L, x: x.tensor_split(5), (G(f32(3)),)),
    ("tensor_split_no_indices", lambda L, x: x.tensor_split(()), (G(f32(3)),)),
    ("hsplit_tensor", lambda L, x: x.hsplit(L.tensor([1])), (G(f32(2, 3)),)),
    ("unfold_big_step", lambda L, x: x.unfold(1, 2, 5), (G(f32(2, 4)),)),
    ("as_strided_zero_stride", lambda L, x: x.as_strided((2, 3), (0, 1)), (G(f32(4)),)),
    ("as_strided_empty", lambda L, x: x.as_strided((0, 3), (1, 1), 10), (G(f32(4)),)),
    ("as_strided_0d", lambda L, x: x.as_strided((), (), 2), (G(f32(4)),)),
    ("as_strided_of_step_slice", lambda L, x: x[::2].as_strided((2,), (2,)), (G(f32(6)),)),
    # the storage of a .real / view_as_real view holds floats
    ("as_strided_of_real", lambda L, x: L.complex(x, x * 2).real.as_strided((2, 2), (1, 2), 1),
     (f32(4),)),
    ("as_strided_of_view_as_real",
     lambda L, x: L.view_as_real(L.complex(x, -x)).as_strided((3,), (3,)), (f32(4),)),
    ("diag_empty", lambda L, x: L.diag(x, 1), (G(f32(0)),)),
    ("diag_far_offset", lambda L, x: L.diag(x, 5), (G(f32(3, 3)),)),
    ("diag_embed_3d", lambda L, x: L.diag_embed(x, 2, 1, 0), (G(f32(2, 3, 2)),)),
    ("diagonal_batch_empty", lambda L, x: x.diagonal(0, -2, -1), (G(f32(0, 3, 3)),)),
    ("narrow_tensor_start", lambda L, x: x.narrow(0, L.tensor(1), 2), (G(f32(4)),)),
    ("repeat_interleave_flat_tensor",
     lambda L, x: x.repeat_interleave(L.tensor([1, 2, 0, 1, 1, 3])),
     (G(f32(2, 3)),)),
    ("repeat_interleave_0d_tensor", lambda L, x: x.repeat_interleave(L.tensor(2), dim=0),
     (G(f32(2, 3)),)),
    ("cat_float_long", lambda L, a: L.cat([a, a.long()], 0), (G(f32(2)),)),
    ("vstack_0d", lambda L, x: L.vstack([x]), (G(f32()),)),
    ("column_stack_0d", lambda L, x: L.column_stack([x]), (G(f32()),)),
    ("broadcast_tensors_one", lambda L, x: L.broadcast_tensors(x), (G(f32(2)),)),
]


@pytest.mark.parametrize("name,fn,inputs", CASES, ids=[c[0] for c in CASES])
def test_shape_op(name, fn, inputs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        check(fn, *inputs)


def test_as_strided_storage_of_numpy_arrays():
    """A tensor from a Fortran-ordered or gapped NumPy array has that array's memory, in
    address order, as its storage; NumPy arrays with negative strides are refused."""
    def fortran(L):
        return L.from_numpy(np.asfortranarray(np.arange(6.0).reshape(2, 3))).as_strided((3,), (1,))

    def gapped(L):
        arr = np.ndarray((3, 2), np.float64, np.arange(12.0), strides=(32, 8))
        return L.from_numpy(arr).as_strided((2, 2), (1, 3), 1)
    for build in (fortran, gapped):
        assert build(ember).tolist() == build(torch).tolist()
    for lib in (torch, ember):
        with pytest.raises(ValueError, match="negative"):
            lib.from_numpy(np.arange(3.0)[::-1])
        with pytest.raises(ValueError, match="negative"):
            lib.as_tensor(np.arange(3.0)[::-1], device="cpu")


# grad_fn names as PyTorch prints them
NAME_CASES = [
    (lambda L, x: x.view(12, 2), "ViewBackward0"),
    (lambda L, x: x.transpose(0, 1).reshape(-1), "UnsafeViewBackward0"),
    (lambda L, x: x.permute(2, 1, 0), "PermuteBackward0"),
    (lambda L, x: x.transpose(0, 1), "TransposeBackward0"),
    (lambda L, x: x[0].t(), "TBackward0"),
    (lambda L, x: x[0, 0].t(), "TBackward0"),
    (lambda L, x: x.mT, "TransposeBackward0"),
    (lambda L, x: x.movedim(0, 1), "PermuteBackward0"),
    (lambda L, x: x[:, :1].expand(2, 3, 4), "ExpandBackward0"),
    (lambda L, x: x.expand(2, 3, 4), "ExpandBackward0"),
    (lambda L, x: x.squeeze(), "SqueezeBackward0"),
    (lambda L, x: x.squeeze(0), "SqueezeBackward1"),
    (lambda L, x: x.squeeze((0, 1)), "SqueezeBackward2"),
    (lambda L, x: x.unsqueeze(0), "UnsqueezeBackward0"),
    (lambda L, x: L.cat([x, x]), "CatBackward0"),
    (lambda L, x: L.stack([x, x]), "StackBackward0"),
    (lambda L, x: L.hstack([x, x]), "CatBackward0"),
    (lambda L, x: x.split(1)[0], "SplitBackward0"),
    (lambda L, x: x.chunk(2)[0], "SplitBackward0"),
    (lambda L, x: x.split([1, 1])[0], "SplitWithSizesBackward0"),
    (lambda L, x: x.tensor_split(2)[0], "SliceBackward0"),
    (lambda L, x: x.narrow(0, 0, 1), "SliceBackward0"),
    (lambda L, x: x.unbind()[0], "UnbindBackward0"),
    (lambda L, x: x.repeat(1, 2, 1), "RepeatBackward0"),
    (lambda L, x: x.tile(2), "RepeatBackward0"),
    (lambda L, x: x.repeat_interleave(2), "ViewBackward0"),
    (lambda L, x: x.repeat_interleave(L.tensor([1, 2]), dim=0), "IndexSelectBackward0"),
    (lambda L, x: x.flip(0), "FlipBackward0"),
    (lambda L, x: x.roll(1, 0), "RollBackward0"),
    (lambda L, x: x.roll(1), "RollBackward0"),
    (lambda L, x: x.rot90(1, (1, 2)), "Rot90Backward0"),
    (lambda L, x: x.tril(), "TrilBackward0"),
    (lambda L, x: x.triu(), "TriuBackward0"),
    (lambda L, x: x.diagonal(0, 1, 2), "DiagonalBackward0"),
    (lambda L, x: L.diag(x[0]), "DiagonalBackward0_copy"),
    (lambda L, x: L.diag(x[0, 0]), "DiagEmbedBackward0"),
    (lambda L, x: L.diag_embed(x), "DiagEmbedBackward0"),
    (lambda L, x: L.diagflat(x), "DiagEmbedBackward0"),
    (lambda L, x: x.as_strided((2,), (1,)), "AsStridedBackward0"),
    (lambda L, x: x.unfold(2, 2, 1), "UnfoldBackward0"),
    (lambda L, x: L.meshgrid(x[0, 0], x[0, 1], indexing="ij")[0], "ExpandBackward0"),
    (lambda L, x: x.unflatten(2, (2, 2)), "ViewBackward0"),
    (lambda L, x: x.flatten(), "ViewBackward0"),
]


@pytest.mark.parametrize("i", range(len(NAME_CASES)))
def test_grad_fn_name(i):
    fn, name = NAME_CASES[i]
    a = f32(2, 3, 4)
    t_out = fn(torch, torch.from_numpy(a.copy()).requires_grad_())
    e_out = fn(ember, ember.from_numpy(a.copy()).requires_grad_())
    assert t_out.grad_fn.name() == name
    assert e_out.grad_fn.name() == name


def test_meshgrid_warns_without_indexing():
    a = ember.arange(3.0)
    with pytest.warns(UserWarning, match="indexing argument"):
        ember.meshgrid(a, a)


def test_T_warns_on_3d():
    with pytest.warns(UserWarning, match="deprecated"):
        ember.zeros(2, 3, 4).T


# float64 numerical gradient checks (first and second order) for every differentiable op
GRADCHECK = [
    ("reshape", lambda x: x.transpose(0, 1).reshape(-1), (3, 4)),
    ("permute", lambda x: x.permute(1, 0), (3, 4)),
    ("expand", lambda x: x[:1].expand(3, 4), (3, 4)),
    ("squeeze", lambda x: x.unsqueeze(1).squeeze(), (3, 4)),
    ("unbind", lambda x: x.unbind(1), (3, 4)),
    ("split", lambda x: x.split([1, 2]), (3, 4)),
    ("chunk", lambda x: x.chunk(2, 1), (3, 4)),
    ("tensor_split", lambda x: x.tensor_split([1, 2]), (3, 4)),
    ("cat", lambda x: ember.cat([x, x * 2], 1), (3, 4)),
    ("stack", lambda x: ember.stack([x, x * 2], 2), (3, 4)),
    ("repeat", lambda x: x.repeat(2, 1, 3), (3, 4)),
    ("repeat_interleave", lambda x: x.repeat_interleave(ember.tensor([2, 0, 1]), dim=0), (3, 4)),
    ("flip", lambda x: x.flip(0, 1), (3, 4)),
    ("roll", lambda x: x.roll((1, 2), (0, 1)), (3, 4)),
    ("rot90", lambda x: x.rot90(3), (3, 4)),
    ("tril", lambda x: x.tril(1), (3, 4)),
    ("triu", lambda x: x.triu(-1), (3, 4)),
    ("diagonal", lambda x: x.diagonal(1), (3, 4)),
    ("diag", lambda x: ember.diag(x, -1), (3, 4)),
    ("diag_embed", lambda x: ember.diag_embed(x, 1), (3, 4)),
    ("unfold", lambda x: x.unfold(1, 2, 1), (3, 4)),
    ("as_strided", lambda x: x.as_strided((3, 3), (1, 2), 1), (3, 4)),
    ("narrow", lambda x: x.narrow(1, 1, 2), (3, 4)),
]


@pytest.mark.parametrize("name,fn,shape", GRADCHECK, ids=[g[0] for g in GRADCHECK])
def test_gradcheck(name, fn, shape):
    from ember.autograd import gradcheck, gradgradcheck
    x = ember.from_numpy(rng.standard_normal(shape)).requires_grad_()
    assert gradcheck(fn, (x,))
    assert gradgradcheck(fn, (x,))
