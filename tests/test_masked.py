"""ember.masked (torch.masked's functions) against torch: values, dtypes and shapes of
every masked reduction and normalization, with slices the mask keeps whole, in part and
not at all, broadcast masks, no mask, dtype= and keepdim, and the gradients that reach
the elements the mask keeps."""
import math
import warnings

import pytest

import ember

torch = pytest.importorskip("torch")

from tests.program_compare import run as _run, same  # noqa: E402

X = [[1.0, -2.0, 3.0], [4.0, 5.0, -6.0], [0.5, 2.0, 1.0]]
MASK = [[True, False, True], [False, False, False], [True, True, False]]


def _xm(m, dtype="float32"):
    return m.tensor(X, dtype=getattr(m, dtype)), m.tensor(MASK)


REDUCTIONS = ["sum", "prod", "amax", "amin", "mean", "logsumexp", "var", "std"]
ALONG_DIM = ["argmax", "argmin", "median", "softmax", "log_softmax", "softmin", "cumsum",
             "cumprod"]


def _program(name, how):
    def program(m):
        x, mask = _xm(m)
        f = getattr(m.masked, name)
        if how == "dim1":
            return f(x, 1, mask=mask)
        if how == "dim0":
            return f(x, 0, mask=mask)
        if how == "all":
            return f(x, mask=mask)
        if how == "tuple_keepdim":
            return f(x, (0, 1), keepdim=True, mask=mask)
        if how == "broadcast_mask":
            return f(x, 1, mask=mask[0])
        if how == "no_mask":
            return f(x, 1)
        if how == "float64":
            return f(x, 1, dtype=m.float64, mask=mask)
        raise AssertionError(how)
    return program


CASES = {}
for _name in REDUCTIONS:
    for _how in ("dim1", "dim0", "all", "tuple_keepdim", "broadcast_mask", "no_mask", "float64"):
        CASES[f"{_name}-{_how}"] = _program(_name, _how)
for _name in ALONG_DIM:
    for _how in ("dim1", "dim0", "broadcast_mask", "float64"):
        CASES[f"{_name}-{_how}"] = _program(_name, _how)
for _ord in (2.0, 1.0, 3.0, math.inf, -math.inf, 0.0):
    CASES[f"norm-{_ord}"] = lambda m, o=_ord: m.masked.norm(*_xm(m)[:1], o, 1,
                                                            mask=_xm(m)[1])
for _ord in (2.0, 1.0, math.inf):
    CASES[f"normalize-{_ord}"] = lambda m, o=_ord: m.masked.normalize(*_xm(m)[:1], o, 1,
                                                                      mask=_xm(m)[1])
CASES.update({
    "var_biased": lambda m: m.masked.var(_xm(m)[0], 1, unbiased=False, mask=_xm(m)[1]),
    "var_correction2": lambda m: m.masked.var(_xm(m)[0], 1, correction=2, mask=_xm(m)[1]),
    "std_keepdim": lambda m: m.masked.std(_xm(m)[0], 0, keepdim=True, mask=_xm(m)[1]),
    "amax_int": lambda m: m.masked.amax(_xm(m, "int32")[0], 1, mask=_xm(m)[1]),
    "amin_int64": lambda m: m.masked.amin(_xm(m, "int64")[0], 1, mask=_xm(m)[1]),
    "sum_int": lambda m: m.masked.sum(_xm(m, "int32")[0], 1, mask=_xm(m)[1]),
    "argmax_int": lambda m: m.masked.argmax(_xm(m, "int32")[0], 1, mask=_xm(m)[1]),
    "logaddexp": lambda m: m.masked.logaddexp(_xm(m)[0], _xm(m)[0] * 2, input_mask=_xm(m)[1],
                                              other_mask=~_xm(m)[1]),
    "is_masked_tensor": lambda m: m.masked.is_masked_tensor(_xm(m)[0]),
})


def _grad_program(name):
    def program(m):
        x, mask = _xm(m)
        x.requires_grad_()
        y = getattr(m.masked, name)(x, 1, mask=mask)
        if name == "softmax":
            y = y[:, 0]
        (g,) = m.autograd.grad(y.nan_to_num().sum(), x)
        return g
    return program


for _name in ("sum", "mean", "amax", "logsumexp", "prod", "softmax"):
    CASES[f"grad-{_name}"] = _grad_program(_name)


@pytest.mark.parametrize("name", list(CASES))
def test_masked_matches_torch(name):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # torch.masked warns that it is a prototype
        t = _run(CASES[name], torch)
        e = _run(CASES[name], ember)
    assert same(t, e, rtol=1e-5, atol=1e-6, strict_types=True), (t, e)


def test_masked_tensor_class_is_not_built():
    x, mask = _xm(ember)
    with pytest.raises(NotImplementedError, match="MaskedTensor"):
        ember.masked.masked_tensor(x, mask)
    with pytest.raises(NotImplementedError, match="MaskedTensor"):
        ember.masked.as_masked_tensor(x, mask)


NON_BOOL_MASKS = {
    "float_mask": lambda m: m.masked.sum(_xm(m)[0], 1, mask=m.tensor([[1.0, 0, 2], [0, 0, 0],
                                                                       [0.5, 1, 0]])),
    "int_mask": lambda m: m.masked.mean(_xm(m)[0], 1, mask=m.tensor([[1, 0, 2], [0, 0, 0],
                                                                      [0, 1, 0]])),
    "list_mask": lambda m: m.masked.sum(_xm(m)[0], 1, mask=MASK),
    "dim_out_of_range": lambda m: m.masked.sum(_xm(m)[0], 5, mask=_xm(m)[1]),
    "mask_shape_mismatch": lambda m: m.masked.mean(_xm(m)[0], 1, mask=_xm(m)[1][:2]),
}


@pytest.mark.parametrize("name", list(NON_BOOL_MASKS))
def test_non_bool_masks(name):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t = _run(NON_BOOL_MASKS[name], torch)
        e = _run(NON_BOOL_MASKS[name], ember)
    assert same(t, e, strict_types=True), (t, e)
