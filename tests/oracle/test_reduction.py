"""Reductions and scans vs PyTorch: one op table driving one parametrized test.

Each case is (id, fn(lib, *tensors), inputs[, check options]). Inputs cover 0-dim, empty,
non-contiguous (transposed) arrays, negative dims, keepdim, several dtypes and errors.
"""
import math

import ml_dtypes
import numpy as np
import pytest

import ember
import ember.linalg  # noqa: F401  (ember.linalg.vector_norm / matrix_norm live in reduction.py)
from .harness import Grad, check

rng = np.random.default_rng(0)


def f32(*s):
    return rng.standard_normal(s).astype(np.float32)


def f64(*s):
    return rng.standard_normal(s)


def ints(*s, dtype=np.int64, lo=-5, hi=6):
    return rng.integers(lo, hi, s).astype(dtype)


def with_zeros(arr, *positions):
    arr = arr.copy()
    for p in positions:
        arr[p] = 0
    return arr


def with_nans(arr, *positions):
    arr = arr.copy()
    for p in positions:
        arr[p] = np.nan
    return arr


X = f32(3, 4)
X64 = f64(3, 4)
X3 = f32(2, 3, 4)
XT = f32(4, 3).T                       # non-contiguous
S = np.array(1.5, dtype=np.float32)    # 0-dim
E = np.zeros((0, 3), dtype=np.float32)  # empty
E1 = np.zeros((0,), dtype=np.float32)
H = f32(3, 4).astype(np.float16)
BF = f32(3, 4).astype(ml_dtypes.bfloat16)
I32 = ints(3, 4, dtype=np.int32)
I64 = ints(3, 4)
U8 = ints(3, 4, dtype=np.uint8, lo=0, hi=3)
B = rng.random((3, 4)) > 0.5
NAN = with_nans(f32(3, 5), (0, 1), (1, 3), (1, 0))
ALLNAN = np.full((2, 3), np.nan, dtype=np.float32)
Z1 = with_zeros(f64(3, 4), (1, 2))            # one zero
Z2 = with_zeros(f64(3, 4), (1, 2), (1, 0))    # two zeros in one row
Z3 = with_zeros(f64(3, 4), (0, 0), (2, 3))    # zeros in two rows
TIES = np.array([[1., 3, 3, 2], [4, 4, 4, 1], [0, 5, 2, 5]], dtype=np.float32)
MODE = ints(4, 7, lo=0, hi=3)
POS = np.abs(f32(3, 4)) + 0.5

CASES = [
    # ---- sum / nansum
    ("sum", lambda L, a: a.sum(), [Grad(X)]),
    ("sum_dim", lambda L, a: a.sum(1), [Grad(X)]),
    ("sum_negdim_keep", lambda L, a: a.sum(-1, keepdim=True), [Grad(X3)]),
    ("sum_tuple", lambda L, a: L.sum(a, (0, 2)), [Grad(X3)]),
    ("sum_list_keep", lambda L, a: L.sum(a, [-1, 0], True), [Grad(X3)]),
    ("sum_emptylist", lambda L, a: a.sum(dim=[]), [Grad(X)]),
    ("sum_noncontig", lambda L, a: a.sum(0), [Grad(XT)]),
    ("sum_0dim", lambda L, a: a.sum(), [Grad(S)]),
    ("sum_0dim_dim0", lambda L, a: a.sum(0), [Grad(S)]),
    ("sum_0dim_dim-1", lambda L, a: a.sum(-1, keepdim=True), [Grad(S)]),
    ("sum_empty", lambda L, a: a.sum(), [Grad(E)]),
    ("sum_empty_dim0", lambda L, a: a.sum(0), [Grad(E)]),
    ("sum_empty_dim1", lambda L, a: a.sum(1), [Grad(E)]),
    ("sum_f64", lambda L, a: a.sum(0), [Grad(X64)]),
    ("sum_f16", lambda L, a: a.sum(1), [Grad(H)]),
    ("sum_bf16", lambda L, a: a.sum(), [Grad(BF)]),
    ("sum_int32", lambda L, a: a.sum(), [I32]),
    ("sum_int32_dim", lambda L, a: a.sum(1), [I32]),
    ("sum_uint8", lambda L, a: a.sum(0), [U8]),
    ("sum_bool", lambda L, a: a.sum(), [B]),
    ("sum_dtype", lambda L, a: a.sum(dtype=L.float64), [Grad(X)]),
    ("sum_int_dtype_float", lambda L, a: a.sum(1, dtype=L.float32), [I32]),
    ("sum_float_dtype_int", lambda L, a: a.sum(dtype=L.int32), [X]),
    ("sum_dim_out_of_range", lambda L, a: a.sum(2), [X]),
    ("sum_dim_repeated", lambda L, a: a.sum((0, 0)), [X]),
    ("sum_dim_float", lambda L, a: a.sum(1.5), [X]),
    ("sum_dim_0dim_oor", lambda L, a: a.sum(1), [S]),
    ("nansum", lambda L, a: a.nansum(), [Grad(NAN)]),
    ("nansum_dim", lambda L, a: L.nansum(a, 1, True), [Grad(NAN)]),
    ("nansum_int", lambda L, a: a.nansum(0), [I32]),
    ("nansum_bool", lambda L, a: a.nansum(), [B]),
    ("nansum_empty", lambda L, a: a.nansum(1), [Grad(E)]),
    # ---- mean / nanmean
    ("mean", lambda L, a: a.mean(), [Grad(X)]),
    ("mean_dim", lambda L, a: a.mean(-2), [Grad(X3)]),
    ("mean_tuple_keep", lambda L, a: a.mean((0, 2), keepdim=True), [Grad(X3)]),
    ("mean_noncontig", lambda L, a: a.mean(1), [Grad(XT)]),
    ("mean_0dim", lambda L, a: a.mean(), [Grad(S)]),
    ("mean_empty", lambda L, a: a.mean(), [Grad(E)]),
    ("mean_empty_dim0", lambda L, a: a.mean(0), [Grad(E)]),
    ("mean_f16", lambda L, a: a.mean(1), [Grad(H)]),
    ("mean_bf16", lambda L, a: a.mean(), [Grad(BF)]),
    ("mean_int_error", lambda L, a: a.mean(), [I32]),
    ("mean_int_dtype", lambda L, a: a.mean(1, dtype=L.float64), [I32]),
    ("mean_dtype_int_error", lambda L, a: a.mean(dtype=L.int64), [X]),
    ("mean_dtype_f64", lambda L, a: a.mean(0, dtype=L.float64), [Grad(X)]),
    ("mean_oor", lambda L, a: a.mean(-4), [X3]),
    ("nanmean", lambda L, a: a.nanmean(), [Grad(NAN)]),
    ("nanmean_dim", lambda L, a: L.nanmean(a, 1, keepdim=True), [Grad(NAN)]),
    ("nanmean_allnan", lambda L, a: a.nanmean(0), [ALLNAN]),
    ("nanmean_int_error", lambda L, a: a.nanmean(), [I32]),
    # ---- prod
    ("prod", lambda L, a: a.prod(), [Grad(POS)]),
    ("prod_dim", lambda L, a: a.prod(1), [Grad(X64)]),
    ("prod_negdim_keep", lambda L, a: a.prod(-2, keepdim=True), [Grad(X3)]),
    ("prod_one_zero", lambda L, a: a.prod(), [Grad(Z1)]),
    ("prod_two_zeros", lambda L, a: a.prod(), [Grad(Z2)]),
    ("prod_dim_one_zero", lambda L, a: a.prod(1), [Grad(Z1)]),
    ("prod_dim_two_zeros", lambda L, a: a.prod(1), [Grad(Z2)]),
    ("prod_dim0_zeros", lambda L, a: a.prod(0), [Grad(Z3)]),
    ("prod_noncontig", lambda L, a: a.prod(0), [Grad(XT)]),
    ("prod_0dim", lambda L, a: a.prod(0), [Grad(S)]),
    ("prod_empty", lambda L, a: a.prod(), [Grad(E)]),
    ("prod_empty_dim1", lambda L, a: a.prod(1), [Grad(E)]),
    ("prod_int32", lambda L, a: a.prod(1), [I32]),
    ("prod_bool", lambda L, a: a.prod(), [B]),
    ("prod_dtype", lambda L, a: a.prod(1, True, dtype=L.float64), [Grad(X)]),
    ("prod_bf16", lambda L, a: a.prod(1), [Grad(BF)]),
    ("prod_tuple_error", lambda L, a: a.prod((0, 1)), [X]),
    ("prod_oor", lambda L, a: a.prod(-3), [X]),
    # ---- var / std / var_mean / std_mean
    ("var", lambda L, a: a.var(), [Grad(X)]),
    ("var_dim", lambda L, a: a.var(1), [Grad(X)]),
    ("var_unbiased_false", lambda L, a: a.var(0, False), [Grad(X64)]),
    ("var_positional_unbiased", lambda L, a: L.var(a, False), [Grad(X)]),
    ("var_correction2", lambda L, a: a.var((0, 2), correction=2, keepdim=True), [Grad(X3)]),
    ("var_correction_float", lambda L, a: a.var(0, correction=0.5), [Grad(X)]),
    ("var_correction_too_big", lambda L, a: a.var(0, correction=3), [Grad(X)]),
    ("var_both_error", lambda L, a: a.var(0, True, correction=1), [X]),
    ("var_int_error", lambda L, a: a.var(), [I32]),
    ("var_0dim", lambda L, a: a.var(), [Grad(S)]),
    ("var_empty", lambda L, a: a.var(), [E]),
    ("var_noncontig", lambda L, a: a.var(1), [Grad(XT)]),
    ("var_f16", lambda L, a: a.var(1), [Grad(H)]),
    ("std", lambda L, a: a.std(), [Grad(X)]),
    ("std_dim_keep", lambda L, a: a.std(-1, keepdim=True), [Grad(X3)]),
    ("std_unbiased_false", lambda L, a: a.std(1, unbiased=False), [Grad(X)]),
    ("std_correction0", lambda L, a: a.std(correction=0), [Grad(X64)]),
    ("std_bf16", lambda L, a: a.std(0), [Grad(BF)]),
    ("std_constant", lambda L, a: a.std(1), [Grad(np.ones((2, 3), np.float32))]),
    ("std_empty_dim", lambda L, a: a.std(1), [np.zeros((2, 0), np.float32)]),
    ("var_mean", lambda L, a: L.var_mean(a, 1), [Grad(X)]),
    ("var_mean_all", lambda L, a: L.var_mean(a, correction=0), [Grad(X3)]),
    ("std_mean", lambda L, a: L.std_mean(a, (0, 1), keepdim=True), [Grad(X3)]),
    ("std_mean_unbiased", lambda L, a: L.std_mean(a, 0, False), [Grad(X)]),
    # ---- max / min
    ("max", lambda L, a: a.max(), [Grad(X)]),
    ("max_ties", lambda L, a: a.max(), [Grad(TIES)]),
    ("min_ties", lambda L, a: a.min(), [Grad(TIES)]),
    ("max_dim", lambda L, a: a.max(1), [Grad(X)]),
    ("max_dim_keep", lambda L, a: L.max(a, -1, keepdim=True), [Grad(X3)]),
    ("max_dim_ties", lambda L, a: a.max(1), [Grad(TIES)]),
    ("min_dim_ties", lambda L, a: a.min(0), [Grad(TIES)]),
    ("max_dim_fields", lambda L, a: a.max(dim=0).indices, [X]),
    ("min_dim_values", lambda L, a: a.min(dim=1).values, [Grad(X)]),
    ("max_noncontig", lambda L, a: a.max(0), [Grad(XT)]),
    ("max_0dim", lambda L, a: a.max(), [Grad(S)]),
    ("max_0dim_dim", lambda L, a: a.max(0), [Grad(S)]),
    ("max_empty_error", lambda L, a: a.max(), [E]),
    ("max_empty_dim_error", lambda L, a: a.max(0), [E]),
    ("max_empty_dim_ok", lambda L, a: a.max(1), [E]),
    ("min_empty_error", lambda L, a: a.min(), [E]),
    ("max_int", lambda L, a: a.max(1), [I32]),
    ("max_bool", lambda L, a: a.max(), [B]),
    ("max_nan", lambda L, a: a.max(1), [Grad(NAN)]),
    ("min_nan_all", lambda L, a: a.min(), [NAN]),
    ("max_f16", lambda L, a: a.max(0), [Grad(H)]),
    ("max_bf16", lambda L, a: a.min(), [Grad(BF)]),
    ("max_oor", lambda L, a: a.max(2), [X]),
    ("max_dim_tuple_error", lambda L, a: a.max((0, 1)), [X]),
    ("max_binary", lambda L, a, b: L.max(a, b), [Grad(X), Grad(f32(4))]),
    ("min_binary", lambda L, a, b: a.min(b), [Grad(X), Grad(f32(3, 4))]),
    # ---- amax / amin
    ("amax", lambda L, a: a.amax(), [Grad(X)]),
    ("amax_ties", lambda L, a: a.amax(), [Grad(TIES)]),
    ("amax_dim_ties", lambda L, a: a.amax(1), [Grad(TIES)]),
    ("amin_dim_ties", lambda L, a: L.amin(a, 0, keepdim=True), [Grad(TIES)]),
    ("amax_tuple", lambda L, a: a.amax((0, -1)), [Grad(X3)]),
    ("amax_emptytuple", lambda L, a: a.amax(dim=()), [Grad(X)]),
    ("amin_noncontig", lambda L, a: a.amin(1), [Grad(XT)]),
    ("amax_0dim", lambda L, a: a.amax(0), [Grad(S)]),
    ("amax_empty_error", lambda L, a: a.amax(), [E]),
    ("amax_empty_dim_error", lambda L, a: a.amax(0), [E]),
    ("amax_empty_dim_ok", lambda L, a: a.amax(1), [E]),
    ("amax_bool", lambda L, a: a.amax(0), [B]),
    ("amin_int", lambda L, a: a.amin(1), [I64]),
    ("amax_nan", lambda L, a: a.amax(1), [NAN]),
    ("amax_bf16", lambda L, a: a.amax(1), [Grad(BF)]),
    ("amax_oor", lambda L, a: a.amax(3), [X3]),
    # ---- argmax / argmin
    ("argmax", lambda L, a: a.argmax(), [X]),
    ("argmax_dim", lambda L, a: a.argmax(1), [X]),
    ("argmin_negdim_keep", lambda L, a: L.argmin(a, -2, keepdim=True), [X3]),
    ("argmax_none_keep", lambda L, a: a.argmax(keepdim=True), [X3]),
    ("argmax_ties", lambda L, a: a.argmax(1), [TIES]),
    ("argmin_ties", lambda L, a: a.argmin(), [TIES]),
    ("argmax_noncontig", lambda L, a: a.argmax(0), [XT]),
    ("argmax_0dim", lambda L, a: a.argmax(), [S]),
    ("argmax_0dim_dim", lambda L, a: a.argmax(0), [S]),
    ("argmax_int", lambda L, a: a.argmax(0), [I32]),
    ("argmax_nan", lambda L, a: a.argmax(1), [NAN]),
    ("argmin_nan", lambda L, a: a.argmin(1), [NAN]),
    ("argmax_bool_error", lambda L, a: a.argmax(), [B]),
    ("argmax_empty_error", lambda L, a: a.argmax(), [E]),
    ("argmax_empty_dim_error", lambda L, a: a.argmax(0), [E]),
    ("argmax_empty_dim_ok", lambda L, a: a.argmax(1), [E]),
    ("argmax_tuple_error", lambda L, a: a.argmax((0,)), [X]),
    ("argmax_oor", lambda L, a: a.argmax(-3), [X]),
    # ---- all / any
    ("all", lambda L, a: a.all(), [B]),
    ("any_dim", lambda L, a: a.any(1), [B]),
    ("all_keep", lambda L, a: L.all(a, -1, True), [B]),
    ("all_tuple", lambda L, a: a.all((0, 1)), [B]),
    ("any_emptytuple", lambda L, a: a.any(dim=()), [B]),
    ("all_float", lambda L, a: a.all(0), [Z3]),
    ("any_int", lambda L, a: a.any(), [I32]),
    ("all_uint8", lambda L, a: a.all(1), [U8]),
    ("any_uint8", lambda L, a: a.any(), [U8]),
    ("all_empty", lambda L, a: a.all(), [E]),
    ("any_empty_dim", lambda L, a: a.any(0), [E]),
    ("all_0dim", lambda L, a: a.all(0), [S]),
    ("any_noncontig", lambda L, a: a.any(0), [XT > 0]),
    ("all_oor", lambda L, a: a.all(2), [B]),
    # ---- count_nonzero
    ("count_nonzero", lambda L, a: L.count_nonzero(a), [Z3]),
    ("count_nonzero_dim", lambda L, a: a.count_nonzero(1), [I32]),
    ("count_nonzero_tuple", lambda L, a: L.count_nonzero(a, (0, -1)), [X3]),
    ("count_nonzero_bool", lambda L, a: a.count_nonzero(0), [B]),
    ("count_nonzero_empty", lambda L, a: a.count_nonzero(1), [np.zeros((2, 0), np.float32)]),
    ("count_nonzero_0dim", lambda L, a: a.count_nonzero(), [np.array(0.0)]),
    ("count_nonzero_oor", lambda L, a: a.count_nonzero(5), [X]),
    # ---- logsumexp
    ("logsumexp", lambda L, a: a.logsumexp(1), [Grad(X)]),
    ("logsumexp_tuple_keep", lambda L, a: L.logsumexp(a, (0, 2), keepdim=True), [Grad(X3)]),
    ("logsumexp_large", lambda L, a: a.logsumexp(0), [Grad(X * 1000)]),
    ("logsumexp_inf", lambda L, a: a.logsumexp(1),
     [np.array([[np.inf, 1.0], [-np.inf, -np.inf], [np.nan, 1.0]], np.float32)]),
    ("logsumexp_0dim", lambda L, a: a.logsumexp(0), [Grad(S)]),
    ("logsumexp_empty", lambda L, a: a.logsumexp(0), [E]),
    ("logsumexp_int", lambda L, a: a.logsumexp(1), [I32]),
    ("logsumexp_bool", lambda L, a: a.logsumexp(0), [B]),
    ("logsumexp_noncontig", lambda L, a: a.logsumexp(-1), [Grad(XT)]),
    ("logsumexp_bf16", lambda L, a: a.logsumexp(1), [Grad(BF)]),
    ("logsumexp_oor", lambda L, a: a.logsumexp(2), [X]),
    # ---- norm / vector_norm / matrix_norm
    ("norm", lambda L, a: a.norm(), [Grad(X)]),
    ("norm_p1", lambda L, a: a.norm(1), [Grad(X)]),
    ("norm_p3_dim", lambda L, a: a.norm(3, 1), [Grad(X)]),
    ("norm_p05_dim", lambda L, a: a.norm(0.5, dim=0, keepdim=True), [Grad(X64)]),
    ("norm_pneg1", lambda L, a: a.norm(-1, 1), [Grad(X64)]),
    ("norm_inf", lambda L, a: a.norm(math.inf), [Grad(X)]),
    ("norm_inf_ties", lambda L, a: a.norm(math.inf, 1), [Grad(TIES * np.array([1, -1, 1, 1], np.float32))]),
    ("norm_neginf", lambda L, a: a.norm(-math.inf, 0), [Grad(X)]),
    ("norm_p0", lambda L, a: a.norm(0), [Grad(Z1)]),
    ("norm_fro_dims", lambda L, a: a.norm("fro", (0, 1)), [Grad(X3)]),
    ("norm_fro_dim", lambda L, a: L.norm(a, p="fro", dim=-1, keepdim=True), [Grad(X3)]),
    ("norm_fro_3dims_error", lambda L, a: L.norm(a, p="fro", dim=(0, 1, 2)), [X3]),
    ("norm_nuc_1d_error", lambda L, a: a.norm("nuc"), [f32(4)]),
    ("norm_bad_p", lambda L, a: a.norm("abc"), [X]),
    ("norm_zero_vector", lambda L, a: a.norm(), [Grad(np.zeros((2, 2), np.float32))]),
    ("norm_p3_with_zero", lambda L, a: a.norm(3), [Grad(Z1)]),
    ("norm_p05_with_zero", lambda L, a: a.norm(0.5, 1), [Grad(Z1)]),
    ("norm_dtype", lambda L, a: a.norm(dtype=L.float64), [Grad(X)]),
    ("norm_int_error", lambda L, a: a.norm(), [I32]),
    ("norm_0dim", lambda L, a: a.norm(dim=0), [Grad(S)]),
    ("norm_empty", lambda L, a: a.norm(), [E]),
    ("norm_empty_inf_error", lambda L, a: a.norm(math.inf), [E]),
    ("norm_f16", lambda L, a: a.norm(), [Grad(H)]),
    ("norm_noncontig", lambda L, a: a.norm(2, 0), [Grad(XT)]),
    ("vector_norm", lambda L, a: L.linalg.vector_norm(a), [Grad(X)]),
    ("vector_norm_ord_dim", lambda L, a: L.linalg.vector_norm(a, 4, (0, 2), True), [Grad(X3)]),
    ("vector_norm_str_error", lambda L, a: L.linalg.vector_norm(a, "fro"), [X]),
    ("vector_norm_narrow_error", lambda L, a: L.linalg.vector_norm(a, dtype=L.float16), [X]),
    ("vector_norm_neg_empty_error", lambda L, a: L.linalg.vector_norm(a, -1), [E1]),
    ("vector_norm_0_empty", lambda L, a: L.linalg.vector_norm(a, 0), [E1]),
    ("matrix_norm_fro", lambda L, a: L.linalg.matrix_norm(a), [Grad(X3)]),
    ("matrix_norm_1", lambda L, a: L.linalg.matrix_norm(a, 1), [Grad(X3)]),
    ("matrix_norm_-1", lambda L, a: L.linalg.matrix_norm(a, -1), [Grad(X)]),
    ("matrix_norm_inf_keep", lambda L, a: L.linalg.matrix_norm(a, math.inf, keepdim=True),
     [Grad(X3)]),
    ("matrix_norm_-inf_dims", lambda L, a: L.linalg.matrix_norm(a, -math.inf, (2, 0)),
     [Grad(X3)]),
    ("matrix_norm_nuc", lambda L, a: L.linalg.matrix_norm(a, "nuc"), [Grad(X3)]),
    ("matrix_norm_2_dims", lambda L, a: L.linalg.matrix_norm(a, 2, (0, 2)), [Grad(X3)]),
    ("matrix_norm_-2_keep", lambda L, a: L.linalg.matrix_norm(a, -2, keepdim=True), [Grad(X)]),
    ("norm_nuc", lambda L, a: a.norm("nuc"), [Grad(X64)]),
    ("matrix_norm_1d_error", lambda L, a: L.linalg.matrix_norm(a), [f32(3)]),
    ("matrix_norm_order_error", lambda L, a: L.linalg.matrix_norm(a, 3), [X]),
    ("matrix_norm_dims_error", lambda L, a: L.linalg.matrix_norm(a, dim=(0, 0)), [X]),
    ("matrix_norm_empty", lambda L, a: L.linalg.matrix_norm(a, 1), [np.zeros((3, 0), np.float32)]),
    # ---- median / nanmedian / mode
    ("median", lambda L, a: a.median(), [Grad(X)]),
    ("median_even_ties", lambda L, a: a.median(), [Grad(np.array([1., 2, 2, 3], np.float32))]),
    ("median_dim", lambda L, a: a.median(1), [Grad(X3)]),
    ("median_dim_keep", lambda L, a: L.median(a, -2, keepdim=True), [Grad(X3)]),
    ("median_noncontig", lambda L, a: a.median(0), [Grad(XT)]),
    ("median_nan", lambda L, a: a.median(1), [Grad(NAN)]),
    ("median_nan_all", lambda L, a: a.median(), [NAN]),
    ("median_int", lambda L, a: a.median(0), [ints(5, 3, lo=-100, hi=100)]),
    ("median_0dim", lambda L, a: a.median(0), [Grad(S)]),
    ("median_empty", lambda L, a: a.median(), [E]),
    ("median_empty_dim_error", lambda L, a: a.median(0), [E]),
    ("median_bool_error", lambda L, a: a.median(), [B]),
    ("median_oor", lambda L, a: a.median(2), [X]),
    ("nanmedian", lambda L, a: a.nanmedian(), [Grad(NAN)]),
    ("nanmedian_dim", lambda L, a: a.nanmedian(1), [Grad(NAN)]),
    # the index of an all-NaN slice is unspecified in PyTorch: compare values only
    ("nanmedian_allnan", lambda L, a: a.nanmedian(1).values, [ALLNAN]),
    ("nanmedian_nonan", lambda L, a: a.nanmedian(0, True), [Grad(X)]),
    ("mode", lambda L, a: a.mode(), [MODE]),
    ("mode_dim0_keep", lambda L, a: L.mode(a, 0, True), [MODE]),
    ("mode_float", lambda L, a: a.mode(1), [Grad(MODE.astype(np.float32))]),
    ("mode_0dim", lambda L, a: a.mode(), [Grad(S)]),
    ("mode_empty_error", lambda L, a: a.mode(), [E1]),
    ("mode_bool", lambda L, a: a.mode(0), [B]),
    # ---- aminmax
    ("aminmax", lambda L, a: L.aminmax(a), [Grad(X)]),
    ("aminmax_ties", lambda L, a: L.aminmax(a), [Grad(TIES)]),
    ("aminmax_dim", lambda L, a: L.aminmax(a, dim=1, keepdim=True), [Grad(TIES)]),
    ("aminmax_fields", lambda L, a: a.aminmax(dim=-1).max, [Grad(X3)]),
    ("aminmax_int", lambda L, a: L.aminmax(a, dim=0), [I32]),
    ("aminmax_empty_error", lambda L, a: L.aminmax(a), [E]),
    ("aminmax_empty_dim_error", lambda L, a: L.aminmax(a, dim=0), [E]),
    ("aminmax_0dim", lambda L, a: L.aminmax(a), [Grad(S)]),
    # ---- cumsum / cumprod
    ("cumsum", lambda L, a: a.cumsum(1), [Grad(X)]),
    ("cumsum_neg", lambda L, a: L.cumsum(a, -3), [Grad(X3)]),
    ("cumsum_noncontig", lambda L, a: a.cumsum(0), [Grad(XT)]),
    ("cumsum_0dim", lambda L, a: a.cumsum(0), [Grad(S)]),
    ("cumsum_empty", lambda L, a: a.cumsum(0), [Grad(E)]),
    ("cumsum_int32", lambda L, a: a.cumsum(1), [I32]),
    ("cumsum_bool", lambda L, a: a.cumsum(0), [B]),
    ("cumsum_dtype", lambda L, a: a.cumsum(1, dtype=L.float64), [Grad(X)]),
    ("cumsum_int_dtype", lambda L, a: a.cumsum(0, dtype=L.int32), [U8]),
    ("cumsum_f16", lambda L, a: a.cumsum(1), [Grad(H)]),
    ("cumsum_oor", lambda L, a: a.cumsum(2), [X]),
    ("cumsum_dim_none_error", lambda L, a: a.cumsum(None), [X]),
    ("cumprod", lambda L, a: a.cumprod(1), [Grad(X64)]),
    ("cumprod_one_zero", lambda L, a: a.cumprod(1), [Grad(Z1)]),
    ("cumprod_two_zeros", lambda L, a: a.cumprod(1), [Grad(Z2)]),
    ("cumprod_dim0_zeros", lambda L, a: a.cumprod(0), [Grad(Z3)]),
    ("cumprod_neg", lambda L, a: a.cumprod(-2), [Grad(X3)]),
    ("cumprod_0dim", lambda L, a: a.cumprod(0), [Grad(S)]),
    ("cumprod_empty", lambda L, a: a.cumprod(1), [Grad(np.zeros((2, 0), np.float32))]),
    ("cumprod_uint8", lambda L, a: a.cumprod(0), [U8]),
    ("cumprod_dtype", lambda L, a: a.cumprod(0, dtype=L.float64), [Grad(X)]),
    ("cumprod_bf16", lambda L, a: a.cumprod(1), [Grad(BF)]),
    ("cumsum_inplace", lambda L, a: (a * 1).cumsum_(1), [Grad(X)]),
    ("cumsum_inplace_int", lambda L, a: a.clone().cumsum_(0), [I32]),
    ("cumprod_inplace", lambda L, a: (a * 1).cumprod_(0), [Grad(X64)]),
    # ---- cummax / cummin
    ("cummax", lambda L, a: a.cummax(1), [Grad(X)]),
    ("cummax_ties", lambda L, a: a.cummax(1), [Grad(TIES)]),
    ("cummin_ties", lambda L, a: L.cummin(a, 0), [Grad(TIES)]),
    ("cummax_nan", lambda L, a: a.cummax(1), [Grad(NAN)]),
    ("cummin_nan", lambda L, a: a.cummin(1), [Grad(NAN)]),
    ("cummax_neg", lambda L, a: a.cummax(-1), [Grad(X3)]),
    ("cummax_0dim", lambda L, a: a.cummax(0), [Grad(S)]),
    ("cummax_empty", lambda L, a: a.cummax(0), [E]),
    ("cummax_int", lambda L, a: a.cummax(0), [I32]),
    ("cummax_bool", lambda L, a: a.cummax(1), [B]),
    ("cummin_oor", lambda L, a: a.cummin(2), [X]),
]


@pytest.mark.parametrize("name,fn,inputs", [c[:3] for c in CASES], ids=[c[0] for c in CASES])
def test_reduction(name, fn, inputs):
    check(fn, *inputs)


def test_case_names_unique():
    names = [c[0] for c in CASES]
    assert len(names) == len(set(names))


# ---- node names (the harness compares values, not grad_fn)

NAMED = [
    (lambda L, a: a.sum(), "SumBackward0"), (lambda L, a: a.sum(1), "SumBackward1"),
    (lambda L, a: a.sum(dtype=L.float64), "SumBackward0"),
    (lambda L, a: a.nansum(1), "NansumBackward0"), (lambda L, a: a.nanmean(), "DivBackward0"),
    (lambda L, a: a.mean(), "MeanBackward0"), (lambda L, a: a.mean(0), "MeanBackward1"),
    (lambda L, a: a.prod(), "ProdBackward0"), (lambda L, a: a.prod(1), "ProdBackward1"),
    (lambda L, a: a.var(), "VarBackward0"), (lambda L, a: a.std(1), "StdBackward0"),
    (lambda L, a: L.var_mean(a)[1], "VarMeanBackward0"),
    (lambda L, a: L.std_mean(a, 1)[0], "StdMeanBackward0"),
    (lambda L, a: a.max(), "MaxBackward1"), (lambda L, a: a.max(1)[0], "MaxBackward0"),
    (lambda L, a: a.min(), "MinBackward1"), (lambda L, a: a.min(0).values, "MinBackward0"),
    (lambda L, a: a.amax(1), "AmaxBackward0"), (lambda L, a: a.amin(), "AminBackward0"),
    (lambda L, a: a.norm(), "LinalgVectorNormBackward0"),
    (lambda L, a: L.linalg.vector_norm(a, 3, 1), "LinalgVectorNormBackward0"),
    (lambda L, a: L.linalg.matrix_norm(a, 1), "AmaxBackward0"),
    (lambda L, a: a.logsumexp(1), "LogsumexpBackward0"),
    (lambda L, a: a.cumsum(1), "CumsumBackward0"), (lambda L, a: a.cumprod(0), "CumprodBackward0"),
    (lambda L, a: a.cummax(1)[0], "CummaxBackward0"), (lambda L, a: a.cummin(1)[0], "CumminBackward0"),
    (lambda L, a: a.median(), "MedianBackward0"), (lambda L, a: a.median(1)[0], "MedianBackward1"),
    (lambda L, a: a.nanmedian(), "NanmedianBackward0"),
    (lambda L, a: a.nanmedian(0)[0], "NanmedianBackward1"),
    (lambda L, a: a.mode(1)[0], "ModeBackward0"),
    (lambda L, a: L.aminmax(a)[0], "AminmaxBackward0"),
]


@pytest.mark.parametrize("fn,name", NAMED, ids=[n for _, n in NAMED])
def test_node_names(fn, name):
    import torch
    t = torch.tensor(X, requires_grad=True)
    e = ember.tensor(X, requires_grad=True)
    assert fn(torch, t).grad_fn.name() == name
    assert fn(ember, e).grad_fn.name() == name


def test_return_type_repr():
    import torch
    a = np.array([[1., 5., 2.], [7., 0., 3.]], dtype=np.float32)
    for fn in (lambda L, t: t.max(1), lambda L, t: L.aminmax(t), lambda L, t: t.cummin(0),
               lambda L, t: t.median(1, keepdim=True)):
        r_t = fn(torch, torch.tensor(a))
        r_e = fn(ember, ember.tensor(a))
        assert all(x.device == ember.get_default_device() for x in r_e)
        r_e = type(r_e)(*(x.cpu() for x in r_e))  # torch's reference ran on the CPU
        assert repr(r_e) == repr(r_t).replace("torch.", "ember.")
        assert type(r_e).__name__ == type(r_t).__name__
    v, i = ember.tensor(a).max(0)
    assert i.dtype is ember.int64 and not i.requires_grad


def test_max_dim_indices_not_differentiable():
    x = ember.tensor(X, requires_grad=True)
    values, indices = x.max(1)
    assert values.requires_grad and not indices.requires_grad
    assert indices.grad_fn is None


def test_double_backward_matches_torch():
    import torch
    for name, fn, arr in [
        ("prod_zero", lambda L, t: L.prod(t, 1), Z1), ("prod_all_zero", lambda L, t: L.prod(t), Z1),
        ("std", lambda L, t: L.std(t, 0), X64), ("lse", lambda L, t: L.logsumexp(t, 1), X64),
        ("norm3", lambda L, t: L.norm(t, 3, 1), X64), ("cumprod", lambda L, t: L.cumprod(t, 1), X64),
        ("cumprod_zero", lambda L, t: L.cumprod(t, 1), Z2), ("var", lambda L, t: L.var(t, 1), X64),
    ]:
        res = []
        for L in (torch, ember):
            x = L.tensor(arr, requires_grad=True)
            y = fn(L, x)
            w = L.tensor(np.linspace(0.5, 1.5, y.numel()).reshape(tuple(y.shape)))
            g, = L.autograd.grad((y * w).sum(), x, create_graph=True)
            gg, = L.autograd.grad((g * g).sum(), x)
            res.append(gg.detach().numpy() if L is torch else gg._cpu_array())
        np.testing.assert_allclose(res[1], res[0], rtol=1e-6, atol=1e-8, err_msg=name)


# ---- float64 gradcheck + gradgradcheck (finite differences, no torch)

G = f64(3, 4)                    # distinct values, away from ties and zeros
GZ = with_zeros(f64(3, 4), (1, 2), (2, 0), (2, 3))
GRADCHECK = [
    ("sum", lambda t: t.sum((0, 1))), ("sum_dim", lambda t: ember.sum(t, -1, keepdim=True)),
    ("nansum", lambda t: t.nansum(0)), ("mean", lambda t: t.mean(1)),
    ("nanmean", lambda t: t.nanmean(0)), ("prod", lambda t: t.prod(1)),
    ("prod_all", lambda t: t.prod()), ("var", lambda t: t.var(1)),
    ("std", lambda t: t.std(0, keepdim=True)), ("std_c0", lambda t: t.std(correction=0)),
    ("var_mean", lambda t: ember.var_mean(t, 1)), ("std_mean", lambda t: ember.std_mean(t, 0)),
    ("max", lambda t: t.max()), ("max_dim", lambda t: t.max(1).values),
    ("min_dim", lambda t: t.min(0, keepdim=True).values), ("amax", lambda t: t.amax((0, 1))),
    ("amin", lambda t: t.amin(1)), ("aminmax", lambda t: ember.aminmax(t, dim=1)),
    ("logsumexp", lambda t: t.logsumexp(1)), ("norm", lambda t: t.norm()),
    ("norm_p1", lambda t: t.norm(1, 1)), ("norm_p3", lambda t: t.norm(3, 0)),
    ("norm_p05", lambda t: t.norm(0.5)), ("norm_inf", lambda t: t.norm(math.inf, 1)),
    ("matrix_norm_1", lambda t: ember.linalg.matrix_norm(t, 1)),
    ("matrix_norm_nuc", lambda t: ember.linalg.matrix_norm(t, "nuc")),
    ("median", lambda t: t.median()), ("median_dim", lambda t: t.median(1).values),
    ("nanmedian_dim", lambda t: t.nanmedian(0).values), ("cumsum", lambda t: t.cumsum(1)),
    ("cumprod", lambda t: t.cumprod(1)), ("cummax", lambda t: t.cummax(0).values),
    ("cummin", lambda t: t.cummin(1).values),
]
GRADCHECK_ZEROS = [
    ("prod_zeros", lambda t: t.prod(1)), ("prod_all_zeros", lambda t: t.prod()),
    ("prod_dim0_zeros", lambda t: t.prod(0)), ("cumprod_zeros", lambda t: t.cumprod(1)),
    ("cumprod_dim0_zeros", lambda t: t.cumprod(0)),
]


@pytest.mark.parametrize("name,fn,arr", [c + (G,) for c in GRADCHECK]
                         + [c + (GZ,) for c in GRADCHECK_ZEROS],
                         ids=[c[0] for c in GRADCHECK + GRADCHECK_ZEROS])
def test_gradcheck(name, fn, arr):
    from ember.autograd import gradcheck, gradgradcheck
    x = ember.tensor(arr, requires_grad=True)
    assert gradcheck(fn, (x,))
    assert gradgradcheck(fn, (x,))
