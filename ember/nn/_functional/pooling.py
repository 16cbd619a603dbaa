"""nn.functional's pooling functions, 1d/2d/3d, each the n-d op of ember/_ops/pooling.py
with its n fixed (max, avg, adaptive, fractional, lp pooling and max_unpool)."""
from ..._ops import pooling as _P


def _pool_fns(nd):
    def max_pool(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
                 return_indices=False):
        return _P.max_pool(nd, input, kernel_size, stride, padding, dilation, ceil_mode,
                           return_indices)

    def max_pool_with_indices(input, kernel_size, stride=None, padding=0, dilation=1,
                              ceil_mode=False, return_indices=True):
        return _P.max_pool(nd, input, kernel_size, stride, padding, dilation, ceil_mode, True)

    def avg_pool(input, kernel_size, stride=None, padding=0, ceil_mode=False,
                 count_include_pad=True, divisor_override=None):
        return _P.avg_pool(nd, input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                           divisor_override)

    def adaptive_avg(input, output_size):
        return _P.adaptive_pool(nd, input, output_size, "avg")

    def adaptive_max(input, output_size, return_indices=False):
        return _P.adaptive_pool(nd, input, output_size, "max", return_indices)

    def max_unpool(input, indices, kernel_size, stride=None, padding=0, output_size=None):
        return _P.max_unpool(nd, input, indices, kernel_size, stride, padding, output_size)

    def lp_pool(input, norm_type, kernel_size, stride=None, ceil_mode=False):
        return _P.lp_pool(nd, input, norm_type, kernel_size, stride, ceil_mode)
    return (max_pool, max_pool_with_indices, avg_pool, adaptive_avg, adaptive_max, max_unpool,
            lp_pool)


(max_pool1d, max_pool1d_with_indices, avg_pool1d, adaptive_avg_pool1d, adaptive_max_pool1d,
 max_unpool1d, lp_pool1d) = _pool_fns(1)
(max_pool2d, max_pool2d_with_indices, avg_pool2d, adaptive_avg_pool2d, adaptive_max_pool2d,
 max_unpool2d, lp_pool2d) = _pool_fns(2)
(max_pool3d, max_pool3d_with_indices, avg_pool3d, adaptive_avg_pool3d, adaptive_max_pool3d,
 max_unpool3d, lp_pool3d) = _pool_fns(3)


def _with_indices_fns(nd):
    def adaptive_max_with_indices(input, output_size, return_indices=False):
        """Adaptive max pooling that returns (values, indices) whatever return_indices says."""
        return _P.adaptive_pool(nd, input, output_size, "max", True)

    def fractional_max_pool_with_indices(input, kernel_size, output_size=None,
                                         output_ratio=None, return_indices=False,
                                         _random_samples=None):
        """Fractional max pooling that returns (values, indices)."""
        return _P.fractional_max_pool(nd, input, kernel_size, output_size, output_ratio, True,
                                      _random_samples)

    def fractional_max_pool(input, kernel_size, output_size=None, output_ratio=None,
                            return_indices=False, _random_samples=None):
        """Max over k-sized windows at pseudo-random, increasing starts that cover the input
        (Graham, "Fractional Max-Pooling", 2014); output_size, or output_ratio r giving
        int(n r) per spatial dim. `_random_samples` (N, C, nd) in [0, 1) fix the windows."""
        return _P.fractional_max_pool(nd, input, kernel_size, output_size, output_ratio,
                                      return_indices, _random_samples)
    return adaptive_max_with_indices, fractional_max_pool_with_indices, fractional_max_pool


adaptive_max_pool1d_with_indices = _with_indices_fns(1)[0]
(adaptive_max_pool2d_with_indices, fractional_max_pool2d_with_indices,
 fractional_max_pool2d) = _with_indices_fns(2)
(adaptive_max_pool3d_with_indices, fractional_max_pool3d_with_indices,
 fractional_max_pool3d) = _with_indices_fns(3)
