"""The torch-level spellings of in-place Tensor methods: ``torch.sin_(x)`` is
``x.sin_()``, ``torch.clamp_(x, 0, 1)`` is ``x.clamp_(0, 1)``. Each function takes the
method's arguments after the tensor and returns the tensor it modified.

They are generated from the method names below, one definition for all: the Tensor
method is the op; this module only adds the function spelling and PyTorch's TypeError
for a first argument that is not a Tensor.
"""
from .._tensor import Tensor

# every name X_ that torch has as a function and ember has as the Tensor method X_
_NAMES = (
    "abs_", "acos_", "acosh_", "addmv_", "arccos_", "arccosh_", "arcsin_", "arcsinh_", "arctan_",
    "arctanh_", "as_strided_", "asin_", "asinh_", "atan_", "atanh_", "ceil_", "clamp_",
    "clamp_max_", "clamp_min_", "clip_", "conj_physical_", "cos_", "cosh_", "deg2rad_", "erf_",
    "erfc_", "exp2_", "exp_", "expm1_", "fix_", "floor_", "frac_", "gcd_", "i0_", "lcm_",
    "ldexp_", "log10_", "log1p_", "log2_", "log_", "logit_", "nan_to_num_", "neg_",
    "negative_", "rad2deg_", "reciprocal_", "round_", "rsqrt_", "sigmoid_", "sin_", "sinc_",
    "sinh_", "sqrt_", "square_", "tan_", "tanh_", "trunc_", "xlogy_",
)

__all__ = list(_NAMES)


def _function_of(name):
    def fn(input, *args, **kwargs):
        if not isinstance(input, Tensor):
            raise TypeError(f"{name}(): argument 'input' (position 1) must be Tensor, not "
                            f"{type(input).__name__}")
        return getattr(input, name)(*args, **kwargs)
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"``torch.{name}(input, ...)``: in place, the same as ``input.{name}(...)``."
    return fn


for _name in _NAMES:
    globals()[_name] = _function_of(_name)
