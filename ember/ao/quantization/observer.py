"""Observers (torch.ao.quantization.observer): modules that watch the tensors flowing through
a model and turn what they saw into quantization parameters.

An observer's forward returns its input unchanged and records statistics (a running min and
max, per tensor or per channel, a histogram). ``calculate_qparams()`` maps a range
[min, max] to a scale s and zero point z for the integer range [qmin, qmax]:

    affine:     min- = min(min, 0), max+ = max(max, 0)
                s = max((max+ - min-) / (qmax - qmin), eps)
                z = clamp(qmin - round(min- / s), qmin, qmax)          (int32)
    symmetric:  s = max(max(-min-, max+) / ((qmax - qmin) / 2), eps)
                z = 0 for signed types, 128 for quint8 (the range's midpoint for a custom
                range), 2**15 for uint16                                 (int64)
    float qparams (per channel, embeddings):
                s = (max - min) / (qmax - qmin), or 1 where that is not above eps
                z = -min / s                                             (float)

[qmin, qmax] is the dtype's range (quint8 [0, 255], qint8 [-128, 127], ...), halved with
``reduce_range`` (quint8 [0, 127], qint8 [-64, 63]: fbgemm's kernels need the spare bit).
The arithmetic is done with ember's float32 tensor ops, in PyTorch's order, so the results are
bit-equal to PyTorch's.
"""
import functools
import math
import warnings
from abc import ABC, abstractmethod

import numpy as np

import ember
from ember import nn

from ._qparams import (_allowed_dtypes, _determine_qparams, _dtype_bits, calculate_qmin_qmax,
                       validate_qmin_qmax)
from ._qparams import check_min_max_valid  # noqa: F401  (torch's observer module has it)
from ._qscheme import (is_per_channel, is_per_tensor,
                       per_channel_affine, per_channel_affine_float_qparams,
                       per_channel_symmetric, per_tensor_affine, per_tensor_symmetric)

__all__ = ["ObserverBase", "UniformQuantizationObserverBase", "MinMaxObserver",
           "MovingAverageMinMaxObserver", "PerChannelMinMaxObserver",
           "MovingAveragePerChannelMinMaxObserver", "HistogramObserver",
           "FixedQParamsObserver", "PlaceholderObserver", "RecordingObserver", "NoopObserver",
           "ReuseInputObserver", "default_observer", "default_placeholder_observer",
           "default_debug_observer", "default_weight_observer", "weight_observer_range_neg_127_to_127",
           "default_histogram_observer", "default_per_channel_weight_observer",
           "per_channel_weight_observer_range_neg_127_to_127", "default_dynamic_quant_observer",
           "default_float_qparams_observer", "default_float_qparams_observer_4bit",
           "default_fixed_qparams_range_neg1to1_observer",
           "default_fixed_qparams_range_0to1_observer", "default_reuse_input_observer",
           "default_symmetric_fixed_qparams_observer", "default_affine_fixed_qparams_observer",
           "get_observer_state_dict", "load_observer_state_dict"]

_EPS = float(np.finfo(np.float32).eps)


class _PartialWrapper:
    """``Observer.with_args(...)``: a constructor with some keyword arguments bound
    (``callable_args`` are called anew each time an observer is made)."""

    def __init__(self, p):
        self.p = p
        self.callable_args = {}

    def __call__(self, *args, **keywords):
        # Arguments given as callables get a fresh value for every observer made.
        for name, make in self.callable_args.items():
            keywords.setdefault(name, make())
        return self.p(*args, **keywords)

    def __repr__(self):
        return self.p.__repr__() + self.callable_args.__repr__()

    def with_args(self, **kwargs):
        return _with_args(self, **kwargs)

    def with_callable_args(self, **kwargs):
        result = _PartialWrapper(p=self.p)
        result.callable_args = {**self.callable_args, **kwargs}
        return result


def _with_args(cls_or_self, **kwargs):
    """Bind keyword arguments to a constructor (torch's ``Observer.with_args``)."""
    wrapper = _PartialWrapper(functools.partial(cls_or_self, **kwargs))
    return wrapper


def _with_callable_args(cls_or_self, **kwargs):
    result = _PartialWrapper(functools.partial(cls_or_self))
    return result.with_callable_args(**kwargs)


def _set_buffer(module, name, value):
    """Write `value` into the buffer `name` in place (resizing it as torch's resize_)."""
    buf = getattr(module, name)
    with ember.no_grad():
        if tuple(buf.shape) != tuple(value.shape):
            buf.resize_(value.shape)
        buf.copy_(value)


class ObserverBase(ABC, nn.Module):
    """Base of all observers: ``forward`` records statistics of its input and returns it,
    ``calculate_qparams`` gives the quantization parameters."""

    def __init__(self, dtype, is_dynamic=False):
        super().__init__()
        self.dtype = dtype
        self.is_dynamic = is_dynamic

    @abstractmethod
    def forward(self, x):
        pass

    @abstractmethod
    def calculate_qparams(self, **kwargs):
        pass

    with_args = classmethod(_with_args)
    with_callable_args = classmethod(_with_callable_args)


class UniformQuantizationObserverBase(ObserverBase):
    """Common base of the observers that map a [min, max] range to a uniform quantization
    (see the module docstring for the formulas)."""

    _version = 3

    def __init__(self, dtype=None, qscheme=per_tensor_affine, reduce_range=False,
                 quant_min=None, quant_max=None, factory_kwargs=None, eps=_EPS,
                 is_dynamic=False, **kwargs):
        dtype = ember.quint8 if dtype is None else dtype
        factory_kwargs = factory_kwargs or {}
        super().__init__(dtype=dtype, is_dynamic=is_dynamic, **kwargs)
        self.qscheme = qscheme
        if reduce_range:
            warnings.warn("Please use quant_min and quant_max to specify the range for "
                          "observers.                     reduce_range will be deprecated in "
                          "a future release of PyTorch.", stacklevel=2)
        self.reduce_range = reduce_range
        self.register_buffer("eps", ember.tensor([eps], **factory_kwargs))
        if not (is_per_tensor(qscheme) or is_per_channel(qscheme)):
            raise AssertionError(
                "Default Observer only works for per_tensor_affine, per_tensor_symmetric, "
                "per_channel_affine, per_channel_symmetric and per_channel_float_qparams "
                "quantization scheme")
        if self.dtype not in _allowed_dtypes():
            raise AssertionError(f"Default Observer only works for {_allowed_dtypes()} data "
                                 f"type")
        self.has_customized_qrange = quant_min is not None and quant_max is not None
        if self.has_customized_qrange:
            validate_qmin_qmax(quant_min, quant_max)
        self.quant_min, self.quant_max = calculate_qmin_qmax(
            quant_min, quant_max, self.has_customized_qrange, self.dtype, self.reduce_range)

    def _calculate_qparams(self, min_val, max_val):
        """(scale, zero_point) for the ranges [min_val, max_val] (0-dim or one per channel)."""
        return _determine_qparams(min_val, max_val, self.quant_min, self.quant_max, self.dtype,
                                  self.eps, self.has_customized_qrange, self.qscheme)

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys,
                              unexpected_keys, error_msgs):
        version = local_metadata.get("version", None)
        if version is None or version == 1:
            # eps became a buffer in version 2.
            state_dict[prefix + "eps"] = ember.tensor([_EPS])
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing_keys,
                                      unexpected_keys, error_msgs)

    def reset_min_max_vals(self):
        raise NotImplementedError("Cannot reset min/max values in the given observer.")


_ObserverBase = UniformQuantizationObserverBase


class MinMaxObserver(UniformQuantizationObserverBase):
    """Records the running min and max of everything it sees:
    min = min(min, min(x)), max = max(max, max(x)); qparams from [min, max]."""

    def __init__(self, dtype=None, qscheme=per_tensor_affine, reduce_range=False,
                 quant_min=None, quant_max=None, factory_kwargs=None, eps=_EPS,
                 is_dynamic=False, **kwargs):
        if not is_per_tensor(qscheme):
            raise NotImplementedError(
                "MinMaxObserver's qscheme only support torch.per_tensor_symmetric "
                "                    and torch.per_tensor_affine.")
        super().__init__(dtype=dtype, qscheme=qscheme, reduce_range=reduce_range,
                         quant_min=quant_min, quant_max=quant_max,
                         factory_kwargs=factory_kwargs, eps=eps, is_dynamic=is_dynamic,
                         **kwargs)
        factory_kwargs = factory_kwargs or {}
        self.register_buffer("min_val", ember.tensor(math.inf, **factory_kwargs))
        self.register_buffer("max_val", ember.tensor(-math.inf, **factory_kwargs))
        if (self.qscheme == per_tensor_symmetric and self.reduce_range
                and self.dtype == ember.quint8):
            raise NotImplementedError("Cannot reduce range for symmetric "
                                      "                                       quantization "
                                      "for quint8")

    def forward(self, x_orig):
        """Fold the min and max of x into the running ones; return x unchanged."""
        if x_orig.numel() == 0:
            return x_orig
        x = x_orig.detach().to(self.min_val.dtype)
        min_cur, max_cur = ember.aminmax(x)
        _set_buffer(self, "min_val", ember.min(min_cur, self.min_val))
        _set_buffer(self, "max_val", ember.max(max_cur, self.max_val))
        return x_orig

    def calculate_qparams(self):
        return self._calculate_qparams(self.min_val, self.max_val)

    def extra_repr(self):
        return f"min_val={self.min_val}, max_val={self.max_val}"

    def reset_min_max_vals(self):
        """Forget what was observed."""
        _set_buffer(self, "min_val", ember.tensor(math.inf))
        _set_buffer(self, "max_val", ember.tensor(-math.inf))


class MovingAverageMinMaxObserver(MinMaxObserver):
    """Records an exponential moving average of each batch's min and max:
    min <- min + c * (min(x) - min), max likewise (c = averaging_constant); the first batch
    sets them."""

    def __init__(self, averaging_constant=0.01, dtype=None, qscheme=per_tensor_affine,
                 reduce_range=False, quant_min=None, quant_max=None, eps=_EPS,
                 is_dynamic=False, **kwargs):
        if not is_per_tensor(qscheme):
            raise NotImplementedError(
                f"MovingAverageMinMaxObserver's qscheme only support                 "
                f"torch.per_tensor_symmetric and torch.per_tensor_affine.                 "
                f"but got: {qscheme}")
        self.averaging_constant = averaging_constant
        if is_dynamic and self.averaging_constant != 1:
            raise NotImplementedError(
                "MovingAverageMinMaxObserver doesn't support dynamic quantization for "
                f"averaging constant of {self.averaging_constant}")
        super().__init__(dtype=dtype, qscheme=qscheme, reduce_range=reduce_range,
                         quant_min=quant_min, quant_max=quant_max, eps=eps,
                         is_dynamic=is_dynamic, **kwargs)

    def forward(self, x_orig):
        if x_orig.numel() == 0:
            return x_orig
        x = x_orig.detach().to(self.min_val.dtype)
        min_val, max_val = self.min_val, self.max_val
        if min_val.item() == math.inf and max_val.item() == -math.inf:
            min_val, max_val = ember.aminmax(x)
        else:
            min_cur, max_cur = ember.aminmax(x)
            min_val = min_val + self.averaging_constant * (min_cur - min_val)
            max_val = max_val + self.averaging_constant * (max_cur - max_val)
        _set_buffer(self, "min_val", min_val)
        _set_buffer(self, "max_val", max_val)
        return x_orig


def _channel_rows(x, ch_axis):
    """x with channel axis `ch_axis` first (swapped with axis 0), flattened to (C, -1)."""
    order = list(range(x.dim()))
    order[ch_axis] = 0
    order[0] = ch_axis
    return ember.flatten(x.permute(order), start_dim=1)


class PerChannelMinMaxObserver(UniformQuantizationObserverBase):
    """The running min and max of each slice along ``ch_axis`` (weights: output channels);
    qparams per channel."""

    def __init__(self, ch_axis=0, dtype=None, qscheme=per_channel_affine, reduce_range=False,
                 quant_min=None, quant_max=None, factory_kwargs=None, eps=_EPS,
                 is_dynamic=False, **kwargs):
        if not is_per_channel(qscheme):
            raise NotImplementedError(
                "PerChannelMinMaxObserver's qscheme only support                     "
                "torch.per_channel_symmetric, torch.per_channel_affine and "
                "torch.per_channel_affine_float_qparams.")
        if is_dynamic:
            raise NotImplementedError("PerChannelMinMaxObserver doesn't support dynamic "
                                      "quantization")
        super().__init__(dtype=dtype, qscheme=qscheme, reduce_range=reduce_range,
                         quant_min=quant_min, quant_max=quant_max,
                         factory_kwargs=factory_kwargs, eps=eps, is_dynamic=is_dynamic,
                         **kwargs)
        factory_kwargs = factory_kwargs or {}
        self.ch_axis = ch_axis
        self.register_buffer("min_val", ember.tensor([], **factory_kwargs))
        self.register_buffer("max_val", ember.tensor([], **factory_kwargs))
        if (self.qscheme == per_channel_symmetric and self.reduce_range
                and self.dtype == ember.quint8):
            raise NotImplementedError("Cannot reduce range for symmetric quantization for "
                                      "quint8")

    def forward(self, x_orig):
        return self._forward(x_orig)

    def _forward(self, x_orig):
        if x_orig.numel() == 0:
            return x_orig
        y = _channel_rows(x_orig.detach(), self.ch_axis).to(self.min_val.dtype)
        min_val, max_val = self.min_val, self.max_val
        if min_val.numel() == 0 or max_val.numel() == 0:
            min_val, max_val = ember.aminmax(y, dim=1)
        else:
            min_cur, max_cur = ember.aminmax(y, dim=1)
            min_val = ember.min(min_cur, min_val)
            max_val = ember.max(max_cur, max_val)
        _set_buffer(self, "min_val", min_val)
        _set_buffer(self, "max_val", max_val)
        return x_orig

    def calculate_qparams(self):
        return self._calculate_qparams(self.min_val, self.max_val)

    def extra_repr(self):
        return f"min_val={self.min_val}, max_val={self.max_val}"

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys,
                              unexpected_keys, error_msgs):
        # The per-channel buffers' length is the number of channels seen: take the saved one.
        version = local_metadata.get("version", None)
        if version is not None and version < 3:
            for old, new in (("min_vals", "min_val"), ("max_vals", "max_val")):
                if prefix + old in state_dict:
                    state_dict[prefix + new] = state_dict.pop(prefix + old)
        for name in ("min_val", "max_val"):
            key = prefix + name
            if key in state_dict:
                getattr(self, name).resize_(state_dict[key].shape)
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing_keys,
                                      unexpected_keys, error_msgs)

    def reset_min_max_vals(self):
        _set_buffer(self, "min_val", ember.tensor([]))
        _set_buffer(self, "max_val", ember.tensor([]))


class MovingAveragePerChannelMinMaxObserver(PerChannelMinMaxObserver):
    """Per-channel moving averages of the min and max (c = averaging_constant)."""

    def __init__(self, averaging_constant=0.01, ch_axis=0, dtype=None,
                 qscheme=per_channel_affine, reduce_range=False, quant_min=None,
                 quant_max=None, eps=_EPS, is_dynamic=False, **kwargs):
        if not is_per_channel(qscheme):
            raise NotImplementedError(
                "MovingAveragePerChannelMinMaxObserver's qscheme only support                 "
                "    torch.per_channel_symmetric, torch.per_channel_affine and "
                "torch.per_channel_affine_float_qparams.")
        if is_dynamic:
            raise NotImplementedError("MovingAveragePerChannelMinMaxObserver doesn't support "
                                      "dynamic quantization")
        super().__init__(ch_axis=ch_axis, dtype=dtype, qscheme=qscheme,
                         reduce_range=reduce_range, quant_min=quant_min, quant_max=quant_max,
                         eps=eps, is_dynamic=is_dynamic, **kwargs)
        self.averaging_constant = averaging_constant

    def forward(self, x_orig):
        if x_orig.numel() == 0:
            return x_orig
        y = _channel_rows(x_orig.detach().to(self.min_val.dtype), self.ch_axis)
        min_val, max_val = self.min_val, self.max_val
        if min_val.numel() == 0 or max_val.numel() == 0:
            min_val, max_val = ember.aminmax(y, dim=1)
        else:
            min_cur, max_cur = ember.aminmax(y, dim=1)
            min_val = min_val + self.averaging_constant * (min_cur - min_val)
            max_val = max_val + self.averaging_constant * (max_cur - max_val)
        _set_buffer(self, "min_val", min_val)
        _set_buffer(self, "max_val", max_val)
        return x_orig


class HistogramObserver(UniformQuantizationObserverBase):
    """A running histogram (``bins`` bins over [min, max]) of everything seen; qparams from
    the sub-range [a, b] that approximately minimises the L2 quantization error.

    When a batch widens the range, the old histogram is spread onto the new bins (each old
    bin split in 16 equal parts, each part added to the new bin holding its midpoint).
    The search starts from the whole range and repeatedly drops 1e-5 of the mass from the
    side that loses fewer bins, while the error (each source bin's mass spread uniformly,
    quantized to 2**bits levels over [a, b]) keeps falling.
    """

    def __init__(self, bins=2048, dtype=None, qscheme=per_tensor_affine, reduce_range=False,
                 quant_min=None, quant_max=None, factory_kwargs=None, eps=_EPS,
                 is_dynamic=False, **kwargs):
        if not is_per_tensor(qscheme):
            raise NotImplementedError(
                "HistogramObserver's qscheme only support torch.per_tensor_symmetric        "
                "             and torch.per_tensor_affine.")
        if is_dynamic:
            raise NotImplementedError("HistogramObserver doesn't support dynamic quantization")
        super().__init__(dtype=dtype, qscheme=qscheme, reduce_range=reduce_range,
                         quant_min=quant_min, quant_max=quant_max,
                         factory_kwargs=factory_kwargs, eps=eps, is_dynamic=is_dynamic,
                         **kwargs)
        factory_kwargs = factory_kwargs or {}
        self.bins = bins
        self.register_buffer("histogram", ember.zeros(self.bins, **factory_kwargs))
        self.register_buffer("min_val", ember.tensor(math.inf, **factory_kwargs))
        self.register_buffer("max_val", ember.tensor(-math.inf, **factory_kwargs))
        self.dst_nbins = 2 ** _dtype_bits(self.dtype)
        self.upsample_rate = 16

    @staticmethod
    def _get_norm(delta_begin, delta_end, density):
        """density * integral of x^2 over [delta_begin, delta_end] (the L2 error of values
        spread uniformly there, measured from a bin centre)."""
        norm = (delta_end * delta_end * delta_end - delta_begin * delta_begin * delta_begin) / 3
        return density * norm

    def _compute_quantization_error(self, next_start_bin, next_end_bin):
        """L2 error of quantizing the histogram to dst_nbins levels over the source bins
        [next_start_bin, next_end_bin]."""
        bin_width = (self.max_val.item() - self.min_val.item()) / self.bins
        dst_bin_width = bin_width * (next_end_bin - next_start_bin + 1) / self.dst_nbins
        if dst_bin_width == 0.0:
            return 0.0
        device = self.histogram.device
        src_bin = ember.arange(self.bins, device=device)
        src_bin_begin = (src_bin - next_start_bin) * bin_width
        src_bin_end = src_bin_begin + bin_width
        dst_bin_of_begin = ember.clamp(
            ember.div(src_bin_begin, dst_bin_width, rounding_mode="floor"), 0,
            self.dst_nbins - 1)
        dst_bin_of_begin_center = (dst_bin_of_begin + 0.5) * dst_bin_width
        dst_bin_of_end = ember.clamp(
            ember.div(src_bin_end, dst_bin_width, rounding_mode="floor"), 0,
            self.dst_nbins - 1)
        density = self.histogram / bin_width
        norm = ember.zeros(self.bins, device=device)
        # The part of each source bin in its first destination bin,
        delta_begin = src_bin_begin - dst_bin_of_begin_center
        norm += self._get_norm(delta_begin,
                               ember.ones(self.bins, device=device) * (dst_bin_width / 2),
                               density)
        # the destination bins it covers whole,
        norm += (dst_bin_of_end - dst_bin_of_begin - 1) * self._get_norm(
            ember.tensor(-dst_bin_width / 2), ember.tensor(dst_bin_width / 2), density)
        # and the part in its last destination bin.
        dst_bin_of_end_center = dst_bin_of_end * dst_bin_width + dst_bin_width / 2
        norm += self._get_norm(ember.tensor(-dst_bin_width / 2),
                               src_bin_end - dst_bin_of_end_center, density)
        return norm.sum().item()

    def _non_linear_param_search(self):
        """The [min, max] sub-range that (approximately) minimises the quantization error."""
        if self.histogram.size()[0] != self.bins:
            raise AssertionError("bins mismatch")
        bin_width = (self.max_val - self.min_val) / self.bins
        total = ember.sum(self.histogram).item()
        # The cumulative mass, read bin by bin below; compared in float32 as torch compares
        # a float32 tensor with a Python number.
        c_sum = ember.cumsum(self.histogram, dim=0).cpu().numpy()
        stepsize = 1e-5
        alpha, beta = 0.0, 1.0
        start_bin, end_bin = 0, self.bins - 1
        norm_min = math.inf
        while alpha < beta:
            next_alpha = alpha + stepsize
            next_beta = beta - stepsize
            left, right = start_bin, end_bin
            while left < end_bin and c_sum[left] < np.float32(next_alpha * total):
                left += 1
            while right > start_bin and c_sum[right] > np.float32(next_beta * total):
                right -= 1
            next_start_bin, next_end_bin = start_bin, end_bin
            if (left - start_bin) > (end_bin - right):
                next_start_bin = left
                alpha = next_alpha
            else:
                next_end_bin = right
                beta = next_beta
            if next_start_bin == start_bin and next_end_bin == end_bin:
                continue
            norm = self._compute_quantization_error(next_start_bin, next_end_bin)
            if norm > norm_min:
                break
            norm_min = norm
            start_bin, end_bin = next_start_bin, next_end_bin
        new_min = self.min_val + bin_width * start_bin
        new_max = self.min_val + bin_width * (end_bin + 1)
        return new_min, new_max

    def _upscale_histogram(self, histogram, orig_min, orig_max, update_min, update_max):
        """Spread `histogram` (over [orig_min, orig_max]) onto `bins` bins over the wider
        [update_min, update_max]: each bin split into upsample_rate parts, each part going
        to the new bin that holds its midpoint."""
        histogram = histogram.repeat_interleave(self.upsample_rate) / self.upsample_rate
        bin_size = (orig_max - orig_min) / (self.bins * self.upsample_rate)
        mid_points = ember.linspace(orig_min.item(), orig_max.item(),
                                    self.bins * self.upsample_rate + 1,
                                    device=orig_min.device)[:-1] + 0.5 * bin_size
        boundaries = ember.linspace(update_min.item(), update_max.item(), self.bins + 1,
                                    device=update_min.device)
        buckets = ember.bucketize(mid_points, boundaries, right=True) - 1
        buckets = ember.clamp(buckets, 0, self.bins - 1)
        return ember.bincount(buckets, weights=histogram, minlength=self.bins)

    def _combine_histograms(self, orig_hist, orig_min, orig_max, update_hist, update_min,
                            update_max):
        """The old histogram moved onto the new range, plus the batch's histogram."""
        if update_min.item() == orig_min.item() and update_max.item() == orig_max.item():
            return orig_hist + update_hist
        if orig_min.item() == orig_max.item():
            # Everything seen so far was one value: it lands in one of the new bins.
            bin_value = ember.sum(orig_hist)
            moved = ember.histc(orig_min, bins=self.bins, min=update_min.item(),
                                max=update_max.item()) * bin_value
            return moved + update_hist
        if update_min.item() > orig_min.item():
            raise AssertionError("update_min must be <= orig_min")
        if update_max.item() < orig_max.item():
            raise AssertionError("update_max must be >= orig_max")
        moved = self._upscale_histogram(orig_hist, orig_min, orig_max, update_min, update_max)
        return update_hist + moved

    def reset_histogram(self, x, min_val, max_val):
        """Start the histogram afresh from x over [min_val, max_val]."""
        _set_buffer(self, "min_val", min_val)
        _set_buffer(self, "max_val", max_val)
        if min_val.numel() != 1 or max_val.numel() != 1:
            raise AssertionError("histogram min/max values must be scalar.")
        _set_buffer(self, "histogram",
                    ember.histc(x, self.bins, min=min_val.item(), max=max_val.item()))

    def forward(self, x_orig):
        """Add x to the histogram, widening its range (and re-binning it) when x falls
        outside; infinite values are dropped with a warning."""
        if x_orig.numel() == 0:
            return x_orig
        x = x_orig.detach()
        x_min, x_max = ember.aminmax(x)
        if x_min.item() == -math.inf or x_max.item() == math.inf:
            warnings.warn("torch.inf detected in input tensor, ignoring input", stacklevel=2)
            x = x[x.abs() != math.inf]
            if x.numel() == 0:
                return x_orig
            x_min, x_max = ember.aminmax(x)
        current_min, current_max = self.min_val, self.max_val
        if current_min.item() == math.inf or current_max.item() == -math.inf:
            self.reset_histogram(x, x_min, x_max)
            return x_orig
        new_min = ember.min(current_min, x_min).detach()
        new_max = ember.max(current_max, x_max).detach()
        update_histogram = ember.histc(x, self.bins, min=new_min.item(), max=new_max.item())
        if new_min.item() == current_min.item() and new_max.item() == current_max.item():
            _set_buffer(self, "histogram", self.histogram + update_histogram)
        else:
            combined = self._combine_histograms(self.histogram, current_min, current_max,
                                                update_histogram, new_min, new_max)
            _set_buffer(self, "histogram", combined)
            _set_buffer(self, "min_val", new_min)
            _set_buffer(self, "max_val", new_max)
        return x_orig

    def calculate_qparams(self):
        if self.min_val.item() == math.inf and self.max_val.item() == -math.inf:
            warnings.warn("must run observer before calling calculate_qparams.             "
                          "                       Returning default scale and zero point ",
                          stacklevel=2)
            return ember.tensor([1.0], device=self.min_val.device.type), ember.tensor(
                [0], device=self.min_val.device.type)
        if self.bins != len(self.histogram):
            raise AssertionError("The number of bins in histogram should be equal to the "
                                 "number of bins supplied while making this observer")
        new_min, new_max = self._non_linear_param_search()
        return self._calculate_qparams(new_min, new_max)

    def _save_to_state_dict(self, destination, prefix, keep_vars):
        super()._save_to_state_dict(destination, prefix, keep_vars)
        destination[prefix + "min_val"] = self.min_val
        destination[prefix + "max_val"] = self.max_val

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys,
                              unexpected_keys, error_msgs):
        version = local_metadata.get("version", None)
        if version is None or version < 3:
            # Version 2 saved an unobserved range as empty tensors.
            for name, empty in (("min_val", math.inf), ("max_val", -math.inf)):
                key = prefix + name
                if key in state_dict and tuple(state_dict[key].shape) == (0,):
                    state_dict[key] = ember.tensor(empty)
        for name in ("min_val", "max_val", "histogram"):
            key = prefix + name
            if key in state_dict:
                getattr(self, name).resize_(state_dict[key].shape)
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing_keys,
                                      unexpected_keys, error_msgs)

    def extra_repr(self):
        return f"min_val={self.min_val}, max_val={self.max_val}"


class FixedQParamsObserver(ObserverBase):
    """Fixed quantization parameters, whatever is seen (for ops with a known output range:
    sigmoid [0, 1], tanh [-1, 1])."""

    def __init__(self, scale, zero_point, dtype=None, qscheme=per_tensor_affine,
                 quant_min=0, quant_max=255, is_dynamic=False, **kwargs):
        if is_dynamic:
            raise NotImplementedError("FixedQParamsObserver doesn't support dynamic "
                                      "quantization")
        super().__init__(dtype=ember.quint8 if dtype is None else dtype,
                         is_dynamic=is_dynamic, **kwargs)
        self.quant_min = quant_min
        self.quant_max = quant_max
        self.register_buffer("scale", ember.tensor([scale], dtype=ember.float))
        self.register_buffer("zero_point", ember.tensor([zero_point], dtype=ember.int))
        self.qscheme = qscheme

    def forward(self, X):
        return X

    def calculate_qparams(self):
        return self.scale, self.zero_point


class PlaceholderObserver(ObserverBase):
    """Records nothing: it carries the dtype (and qscheme, range) a later conversion should
    use, e.g. float16, or the activation of dynamic quantization (computed per batch)."""

    def __init__(self, dtype=None, custom_op_name="", compute_dtype=None, quant_min=None,
                 quant_max=None, qscheme=None, eps=None, is_dynamic=False):
        super().__init__(dtype=ember.float32 if dtype is None else dtype,
                         is_dynamic=is_dynamic)
        if qscheme is None:
            qscheme = per_tensor_affine
        if eps is None:
            eps = _EPS
        self.quant_min = quant_min
        self.quant_max = quant_max
        self.qscheme = qscheme
        self.eps = eps
        self.custom_op = custom_op_name
        if compute_dtype:
            is_dynamic = True
            warnings.warn("Please use `is_dynamic` instead of `compute_dtype`.                "
                          "     `compute_dtype` will be deprecated in a future release         "
                          "            of PyTorch.", stacklevel=2)

    def forward(self, x):
        return x

    def extra_repr(self):
        return f"dtype={self.dtype}, is_dynamic={self.is_dynamic}"

    def calculate_qparams(self):
        raise Exception(  # noqa: TRY002  (the type torch raises)
            "calculate_qparams should not be called for PlaceholderObserver")


class RecordingObserver(ObserverBase):
    """Keeps every tensor it sees (for debugging)."""

    __annotations__ = {"tensor_val": list}

    def __init__(self, dtype=None):
        super().__init__(dtype=ember.quint8 if dtype is None else dtype, is_dynamic=False)
        self.tensor_val = []

    def forward(self, x):
        self.tensor_val.append(x.clone())
        return x

    def calculate_qparams(self):
        raise Exception(  # noqa: TRY002  (the type torch raises)
            "calculate_qparams should not be called for RecordingObserver")

    def get_tensor_value(self):
        return self.tensor_val


class NoopObserver(ObserverBase):
    """Observes nothing; only carries a dtype (float16 for weights of fp16 dynamic
    quantization)."""

    def __init__(self, dtype=None, custom_op_name=""):
        super().__init__(dtype=ember.float16 if dtype is None else dtype, is_dynamic=False)
        self.dtype = ember.float16 if dtype is None else dtype
        self.custom_op = custom_op_name

    def forward(self, x):
        return x

    def calculate_qparams(self):
        raise Exception(  # noqa: TRY002  (the type torch raises)
            "calculate_qparams should not be called for NoopObserver")


class ReuseInputObserver(ObserverBase):
    """The output shares the input's observer (reshape, view): observes nothing itself."""

    def __init__(self):
        super().__init__(ember.quint8, is_dynamic=False)

    def forward(self, x):
        return x

    def calculate_qparams(self):
        raise Exception(  # noqa: TRY002  (the type torch raises)
            "calculate_qparams should not be called for ReuseInputObserver")


def _is_activation_post_process(module):
    # Imported here: fake_quantize imports this module.
    from .fake_quantize import FakeQuantizeBase
    return isinstance(module, (ObserverBase, FakeQuantizeBase))


def get_observer_state_dict(mod):
    """The observers' (and fake-quantizers') entries of mod's state_dict."""
    od = {}
    for k, v in mod.state_dict().items():
        if "observer" in k or "activation_post_process" in k:
            od[k] = v
    return od


def load_observer_state_dict(mod, obs_dict):
    """Load `obs_dict` (get_observer_state_dict's output) into the observers of `mod`."""
    missing_keys = []
    unexpected_keys = []
    for name, module in mod.named_modules():
        prefix = name + "."
        if _is_activation_post_process(module):
            if isinstance(module, PerChannelMinMaxObserver):
                for buf in ("min_val", "max_val"):
                    if prefix + buf in obs_dict:
                        getattr(module, buf).resize_(obs_dict[prefix + buf].shape)
            module._load_from_state_dict(obs_dict, prefix, {}, False, missing_keys,
                                         unexpected_keys, [])
    for k in missing_keys:
        if "observer" in k or "activation_post_process" in k:
            raise Exception(  # noqa: TRY002  (the type torch raises)
                f"Missing keys for observer {k} in state_dict")
    for k in unexpected_keys:
        if "observer" in k or "activation_post_process" in k:
            raise Exception(  # noqa: TRY002  (the type torch raises)
                f"Unexpected keys for observer {k} in state_dict")


default_observer = MinMaxObserver.with_args(quant_min=0, quant_max=127)
default_placeholder_observer = PlaceholderObserver
default_debug_observer = RecordingObserver
default_weight_observer = MinMaxObserver.with_args(dtype=ember.qint8,
                                                   qscheme=per_tensor_symmetric)
weight_observer_range_neg_127_to_127 = MinMaxObserver.with_args(
    dtype=ember.qint8, qscheme=per_tensor_symmetric, quant_min=-127, quant_max=127, eps=2 ** -12)
default_histogram_observer = HistogramObserver.with_args(quant_min=0, quant_max=127)
default_per_channel_weight_observer = PerChannelMinMaxObserver.with_args(
    dtype=ember.qint8, qscheme=per_channel_symmetric)
per_channel_weight_observer_range_neg_127_to_127 = PerChannelMinMaxObserver.with_args(
    dtype=ember.qint8, qscheme=per_channel_symmetric, quant_min=-127, quant_max=127,
    eps=2 ** -12)
default_dynamic_quant_observer = PlaceholderObserver.with_args(
    dtype=ember.quint8, quant_min=0, quant_max=255, is_dynamic=True)
default_float_qparams_observer = PerChannelMinMaxObserver.with_args(
    dtype=ember.quint8, qscheme=per_channel_affine_float_qparams, ch_axis=0)
default_float_qparams_observer_4bit = PerChannelMinMaxObserver.with_args(
    dtype=ember.quint4x2, qscheme=per_channel_affine_float_qparams, ch_axis=0)
default_fixed_qparams_range_neg1to1_observer = FixedQParamsObserver.with_args(
    scale=2.0 / 256.0, zero_point=128, dtype=ember.quint8, quant_min=0, quant_max=255)
default_fixed_qparams_range_0to1_observer = FixedQParamsObserver.with_args(
    scale=1.0 / 256.0, zero_point=0, dtype=ember.quint8, quant_min=0, quant_max=255)
default_symmetric_fixed_qparams_observer = default_fixed_qparams_range_neg1to1_observer
default_affine_fixed_qparams_observer = default_fixed_qparams_range_0to1_observer
default_reuse_input_observer = ReuseInputObserver
