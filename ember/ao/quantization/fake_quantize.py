"""Fake quantization modules (torch.ao.quantization.fake_quantize), the building block of
quantization-aware training.

A fake-quantizer observes its input (updating scale s and zero point z from its observer)
and returns the input quantized and dequantized in float:

    out = (clamp(round(x / s) + z, qmin, qmax) - z) * s

Its gradient is the straight-through estimator: d out / d x = 1 where x was not clamped,
0 elsewhere. Two buffers switch the two halves: ``observer_enabled`` and
``fake_quant_enabled`` (``enable_observer`` / ``disable_fake_quant`` ... and the module-level
``apply``-able helpers at the bottom of this file).
"""
import math

import numpy as np

import ember
from ember import nn

from ._qscheme import (is_float_qparams, is_per_channel, is_per_tensor, is_symmetric,
                       per_channel_affine_float_qparams, per_channel_symmetric,
                       per_tensor_affine, per_tensor_symmetric)
from .observer import (FixedQParamsObserver, HistogramObserver, MovingAverageMinMaxObserver,
                       MovingAveragePerChannelMinMaxObserver, _with_args,
                       default_fixed_qparams_range_0to1_observer,
                       default_fixed_qparams_range_neg1to1_observer)

__all__ = ["FakeQuantizeBase", "FakeQuantize", "FixedQParamsFakeQuantize",
           "FusedMovingAvgObsFakeQuantize", "disable_fake_quant", "disable_observer",
           "enable_fake_quant", "enable_observer", "default_fake_quant",
           "default_weight_fake_quant", "default_dynamic_fake_quant",
           "default_fixed_qparams_range_neg1to1_fake_quant",
           "default_fixed_qparams_range_0to1_fake_quant",
           "default_symmetric_fixed_qparams_fake_quant",
           "default_affine_fixed_qparams_fake_quant", "default_per_channel_weight_fake_quant",
           "default_embedding_fake_quant", "default_embedding_fake_quant_4bit",
           "default_histogram_fake_quant", "default_fused_act_fake_quant",
           "default_fused_wt_fake_quant", "default_fused_per_channel_wt_fake_quant",
           "fused_wt_fake_quant_range_neg_127_to_127",
           "fused_per_channel_wt_fake_quant_range_neg_127_to_127"]

_INT_RANGE = {"qint8": (-128, 127), "quint8": (0, 255), "qint32": (-2 ** 31, 2 ** 31 - 1),
              "int8": (-128, 127), "uint8": (0, 255), "int16": (-2 ** 15, 2 ** 15 - 1),
              "uint16": (0, 2 ** 16 - 1), "int32": (-2 ** 31, 2 ** 31 - 1),
              "quint4x2": (0, 15)}


def _int_range(dtype):
    return _INT_RANGE[str(dtype).split(".")[-1]]


class FakeQuantizeBase(nn.Module):
    """Base of the fake-quantizers: the two switches (uint8 buffers) and their setters."""

    def __init__(self):
        super().__init__()
        self.register_buffer("fake_quant_enabled", ember.tensor([1], dtype=ember.uint8))
        self.register_buffer("observer_enabled", ember.tensor([1], dtype=ember.uint8))

    def forward(self, x):
        raise NotImplementedError

    def calculate_qparams(self, **kwargs):
        raise NotImplementedError

    def enable_fake_quant(self, enabled=True):
        self.fake_quant_enabled[0] = 1 if enabled else 0

    def disable_fake_quant(self):
        self.enable_fake_quant(False)

    def enable_observer(self, enabled=True):
        self.observer_enabled[0] = 1 if enabled else 0

    def disable_observer(self):
        self.enable_observer(False)

    @classmethod
    def with_args(cls, **kwargs):
        return _with_args(cls, **kwargs)


class FakeQuantize(FakeQuantizeBase):
    """Observe x (when enabled), take (scale, zero_point) from the observer, and fake-quantize
    x with them (when enabled); per channel along the observer's ``ch_axis`` for per-channel
    schemes. See the module docstring for the formula and the gradient."""

    def __init__(self, observer=MovingAverageMinMaxObserver, quant_min=None, quant_max=None,
                 is_dynamic=False, **observer_kwargs):
        super().__init__()
        if quant_min is not None and quant_max is not None:
            if quant_min > quant_max:
                raise AssertionError("quant_min must be less than or equal to quant_max")
            dtype = observer_kwargs.get("dtype", ember.quint8)
            if hasattr(observer, "p"):
                # An observer made with .with_args(dtype=...) quantizes to that dtype.
                dtype = getattr(getattr(observer, "p", {}), "keywords", {}).get("dtype", dtype)
            low, high = _int_range(dtype)
            if low > quant_min:
                raise AssertionError("quant_min out of bound")
            if quant_max > high:
                raise AssertionError("quant_max out of bound")
            observer_kwargs.update({"quant_min": quant_min, "quant_max": quant_max})
        observer_kwargs["is_dynamic"] = is_dynamic
        self.activation_post_process = observer(**observer_kwargs)
        self.quant_min = self.activation_post_process.quant_min
        self.quant_max = self.activation_post_process.quant_max
        self.is_dynamic = self.activation_post_process.is_dynamic
        zero_point_dtype = (ember.float if is_float_qparams(self.activation_post_process.qscheme)
                            else ember.int)
        self.register_buffer("scale", ember.tensor([1.0], dtype=ember.float))
        self.register_buffer("zero_point", ember.tensor([0], dtype=zero_point_dtype))
        self.dtype = self.activation_post_process.dtype
        self.qscheme = self.activation_post_process.qscheme
        self.ch_axis = getattr(self.activation_post_process, "ch_axis", -1)
        if not (is_per_channel(self.qscheme) or is_per_tensor(self.qscheme)):
            raise AssertionError("Only per channel and per tensor quantization are supported "
                                 "in fake quantize got qscheme: " + str(self.qscheme))
        self.is_per_channel = is_per_channel(self.qscheme)

    def calculate_qparams(self):
        return self.activation_post_process.calculate_qparams()

    def _store_qparams(self, scale, zero_point):
        with ember.no_grad():
            scale = scale.to(self.scale.device)
            zero_point = zero_point.to(self.zero_point.device)
            if self.scale.shape != scale.shape:
                self.scale.resize_(scale.shape)
                self.zero_point.resize_(zero_point.shape)
            self.scale.copy_(scale)
            self.zero_point.copy_(zero_point)

    def _fake_quantize(self, X):
        if self.is_per_channel:
            return ember.fake_quantize_per_channel_affine(
                X, self.scale, self.zero_point, self.ch_axis,
                self.activation_post_process.quant_min, self.activation_post_process.quant_max)
        return ember.fake_quantize_per_tensor_affine(
            X, self.scale, self.zero_point, self.activation_post_process.quant_min,
            self.activation_post_process.quant_max)

    def forward(self, X):
        if self.observer_enabled[0].item() == 1:
            self.activation_post_process(X.detach())
            self._store_qparams(*self.calculate_qparams())
        if self.fake_quant_enabled[0].item() == 1:
            X = self._fake_quantize(X)
        return X

    def extra_repr(self):
        return (f"fake_quant_enabled={self.fake_quant_enabled}, "
                f"observer_enabled={self.observer_enabled}, "
                f"quant_min={self.activation_post_process.quant_min}, "
                f"quant_max={self.activation_post_process.quant_max}, "
                f"dtype={self.dtype}, qscheme={self.qscheme}, ch_axis={self.ch_axis}, "
                f"scale={self.scale}, zero_point={self.zero_point}")

    def _save_to_state_dict(self, destination, prefix, keep_vars):
        super()._save_to_state_dict(destination, prefix, keep_vars)
        destination[prefix + "scale"] = self.scale
        destination[prefix + "zero_point"] = self.zero_point

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys,
                              unexpected_keys, error_msgs):
        # scale and zero_point have as many entries as channels were seen: take the saved size.
        for name in ("scale", "zero_point"):
            key = prefix + name
            if key in state_dict:
                getattr(self, name).resize_(state_dict[key].shape)
            elif strict:
                missing_keys.append(key)
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing_keys,
                                      unexpected_keys, error_msgs)


class FixedQParamsFakeQuantize(FakeQuantize):
    """Fake quantization with the fixed (scale, zero_point) of a FixedQParamsObserver."""

    def __init__(self, observer):
        super().__init__(observer=observer)
        if type(self.activation_post_process) is not FixedQParamsObserver:
            raise AssertionError(f"{self.__class__.__name__}'s observer must be a "
                                 f"{FixedQParamsObserver.__name__}")
        self._observer_ctr = observer
        self.scale = self.activation_post_process.scale
        self.zero_point = self.activation_post_process.zero_point
        if not is_per_tensor(self.qscheme):
            raise AssertionError("Only per tensor quantization is supported "
                                 "FixedQParamsFakeQuantize module, got qscheme:"
                                 + str(self.qscheme))

    def calculate_qparams(self):
        return self.scale, self.zero_point

    def extra_repr(self):
        return (f"fake_quant_enabled={self.fake_quant_enabled}, "
                f"observer_enabled={self.observer_enabled}, scale={self.scale}, "
                f"zero_point={self.zero_point}, dtype={self.dtype}, "
                f"quant_min={self.activation_post_process.quant_min}, "
                f"quant_max={self.activation_post_process.quant_max}, qscheme={self.qscheme}")


_SMALL_SCALE = float(np.float32(6.1e-5))


def choose_qparams(min_val, max_val, qmin, qmax, preserve_sparsity):
    """(scale, zero_point) of the fused fake-quantizer's kernel (fbgemm's
    ChooseQuantizationParams) for one range [min_val, max_val] of float32 numbers:

        widen the range to hold 0; when symmetric (preserve_sparsity) and the range straddles
        0, make it symmetric around 0 on the signed grid -((qmax-qmin)/2 + 1) .. (qmax-qmin)/2;
        s = (max - min) / (qmax - qmin) in double, 0.1 if that is 0 in float32 or its float32
        reciprocal overflows, and at least 6.1e-5 (the range grown to match);
        z = the zero point from whichever end loses less, nudged to an integer in
        [qmin, qmax] (the middle of [qmin, qmax] when symmetric).
    Arithmetic mirrors the C++: float32 values, double intermediates, scale stored as float32.
    """
    f32 = np.float32
    min_val = min(f32(min_val), f32(0.0))
    max_val = max(f32(max_val), f32(0.0))
    if min_val < 0 and max_val > 0 and preserve_sparsity:
        symmetric_qmin = -((qmax - qmin) // 2 + 1)
        symmetric_qmax = (qmax - qmin) // 2
        max_scale = max(abs(float(min_val / f32(symmetric_qmin))),
                        abs(float(max_val / f32(symmetric_qmax))))
        min_val = f32(max_scale * symmetric_qmin)
        max_val = f32(max_scale * symmetric_qmax)
    scale = (float(max_val) - float(min_val)) / (qmax - qmin)
    with np.errstate(divide="ignore", over="ignore"):
        if f32(scale) == 0.0 or math.isinf(f32(1.0) / f32(scale)):
            scale = 0.1
    if scale < _SMALL_SCALE:
        org_scale = scale
        scale = _SMALL_SCALE
        if min_val == 0.0:
            max_val = f32(_SMALL_SCALE * (qmax - qmin))
        elif max_val == 0.0:
            min_val = f32(-_SMALL_SCALE * (qmax - qmin))
        else:
            amplifier = f32(_SMALL_SCALE / org_scale)
            min_val = min_val * amplifier
            max_val = max_val * amplifier
    scale_f = float(f32(scale))
    zero_point_from_min = qmin - float(min_val) / scale_f
    zero_point_from_max = qmax - float(max_val) / scale_f
    zero_point_from_min_error = abs(qmin) - abs(float(min_val) / scale_f)
    zero_point_from_max_error = abs(qmax) - abs(float(max_val) / scale_f)
    initial_zero_point = (zero_point_from_min if zero_point_from_min_error
                          < zero_point_from_max_error else zero_point_from_max)
    if min_val < 0 and max_val > 0 and preserve_sparsity:
        initial_zero_point = (qmin + qmax) / 2
    if initial_zero_point < qmin:
        nudged = qmin
    elif initial_zero_point > qmax:
        nudged = qmax
    else:
        nudged = int(np.rint(initial_zero_point))
    return scale_f, nudged


class FusedMovingAvgObsFakeQuantize(FakeQuantize):
    """Moving-average min/max observation and fake quantization in one step (torch's fused
    kernel ``fused_moving_avg_obs_fake_quant``): when observing, the running min and max move
    by averaging_constant toward the batch's; when fake-quantizing, (scale, zero_point) are
    chosen from the running range by :func:`choose_qparams` and x is fake-quantized."""

    def __init__(self, observer=MovingAverageMinMaxObserver, quant_min=0, quant_max=255,
                 **observer_kwargs):
        super().__init__(observer, quant_min, quant_max, **observer_kwargs)
        if not isinstance(self.activation_post_process,
                          (MovingAverageMinMaxObserver, MovingAveragePerChannelMinMaxObserver)):
            raise AssertionError("Fused observer+fake_quant module only works with "
                                 "MovingAverageMinMaxObserver")
        self.register_buffer("fake_quant_enabled", ember.tensor([1], dtype=ember.long))
        self.register_buffer("observer_enabled", ember.tensor([1], dtype=ember.long))
        self.is_symmetric_quant = is_symmetric(self.activation_post_process.qscheme)

    def calculate_qparams(self):
        return self.activation_post_process.calculate_qparams()

    def extra_repr(self):
        return (f"fake_quant_enabled={self.fake_quant_enabled}, "
                f"observer_enabled={self.observer_enabled}, scale={self.scale}, "
                f"zero_point={self.zero_point}, dtype={self.dtype}, "
                f"quant_min={self.activation_post_process.quant_min}, "
                f"quant_max={self.activation_post_process.quant_max}, "
                f"qscheme={self.qscheme}, "
                f"reduce_range={self.activation_post_process.reduce_range}")

    def forward(self, X):
        obs = self.activation_post_process
        return fused_moving_avg_obs_fake_quant(
            X, self.observer_enabled, self.fake_quant_enabled, obs.min_val, obs.max_val,
            self.scale, self.zero_point, obs.averaging_constant, obs.quant_min, obs.quant_max,
            self.ch_axis, self.is_per_channel, self.is_symmetric_quant)


def fused_moving_avg_obs_fake_quant(x, observer_on, fake_quant_on, running_min, running_max,
                                    scale, zero_point, averaging_const, quant_min, quant_max,
                                    ch_axis, per_row_fake_quant=False, symmetric_quant=False):
    """torch.fused_moving_avg_obs_fake_quant: update running_min/max in place (moving
    average, the first batch sets them), choose scale/zero_point from them into the given
    buffers, fake-quantize x (straight-through gradient). With fake_quant_on 0 x comes back
    unchanged (a copy) and scale/zero_point are left alone."""
    with ember.no_grad():
        if observer_on.item() == 1:
            _update_running_range(x.detach(), running_min, running_max, averaging_const,
                                  per_row_fake_quant, ch_axis)
        fake_quantize = fake_quant_on.item() == 1
        if fake_quantize:
            _choose_into(running_min, running_max, scale, zero_point, quant_min, quant_max,
                         symmetric_quant)
    if not fake_quantize:
        return x.clone()
    if per_row_fake_quant:
        return ember.fake_quantize_per_channel_affine(x, scale, zero_point.to(ember.int32),
                                                      ch_axis, quant_min, quant_max)
    return ember.fake_quantize_per_tensor_affine(x, scale, zero_point, quant_min, quant_max)


def _choose_into(running_min, running_max, scale, zero_point, quant_min, quant_max,
                 symmetric_quant):
    """choose_qparams for each (running_min, running_max), written into scale and
    zero_point (resized to the number of channels)."""
    with ember.no_grad():
        mins = np.atleast_1d(running_min.cpu().numpy())
        maxs = np.atleast_1d(running_max.cpu().numpy())
        chosen = [choose_qparams(lo, hi, quant_min, quant_max, symmetric_quant)
                  for lo, hi in zip(mins, maxs)]
        new_scale = ember.tensor([s for s, _ in chosen], dtype=scale.dtype,
                                 device=scale.device)
        new_zero_point = ember.tensor([z for _, z in chosen], dtype=zero_point.dtype,
                                      device=zero_point.device)
        if scale.shape != new_scale.shape:
            scale.resize_(new_scale.shape)
            zero_point.resize_(new_zero_point.shape)
        scale.copy_(new_scale)
        zero_point.copy_(new_zero_point)


def _update_running_range(x, running_min, running_max, averaging_const, per_row, ch_axis):
    """running <- running + c * (batch - running), or the batch's min/max where running is
    still infinite (nothing seen); per row along ch_axis when per_row. float32 arithmetic."""
    if per_row:
        order = list(range(x.dim()))
        order[ch_axis], order[0] = 0, ch_axis
        rows = ember.flatten(x.permute(order), start_dim=1)
        batch_min, batch_max = ember.aminmax(rows.to(ember.float32), dim=1)
        if running_min.numel() == 0:
            running_min.resize_(batch_min.shape).fill_(math.inf)
            running_max.resize_(batch_max.shape).fill_(-math.inf)
    else:
        batch_min, batch_max = ember.aminmax(x.to(ember.float32))
    c = ember.tensor(np.float32(averaging_const))
    for running, batch in ((running_min, batch_min), (running_max, batch_max)):
        moved = running + c * (batch - running)
        running.copy_(ember.where(ember.isinf(running), batch, moved).reshape(running.shape))


def _is_fake_quant_script_module(mod):
    return False


def disable_fake_quant(mod):
    """``model.apply(disable_fake_quant)``: turn fake quantization off in fake-quantizers."""
    if isinstance(mod, FakeQuantizeBase):
        mod.disable_fake_quant()


def enable_fake_quant(mod):
    """``model.apply(enable_fake_quant)``."""
    if isinstance(mod, FakeQuantizeBase):
        mod.enable_fake_quant()


def disable_observer(mod):
    """``model.apply(disable_observer)``: freeze the quantization parameters."""
    if isinstance(mod, FakeQuantizeBase):
        mod.disable_observer()


def enable_observer(mod):
    """``model.apply(enable_observer)``."""
    if isinstance(mod, FakeQuantizeBase):
        mod.enable_observer()


default_fake_quant = FakeQuantize.with_args(
    observer=MovingAverageMinMaxObserver, quant_min=0, quant_max=255, dtype=ember.quint8,
    qscheme=per_tensor_affine, reduce_range=True)
default_weight_fake_quant = FakeQuantize.with_args(
    observer=MovingAverageMinMaxObserver, quant_min=-128, quant_max=127, dtype=ember.qint8,
    qscheme=per_tensor_symmetric, reduce_range=False)
default_dynamic_fake_quant = FakeQuantize.with_args(
    observer=MovingAverageMinMaxObserver, quant_min=0, quant_max=255, is_dynamic=True,
    dtype=ember.quint8, averaging_constant=1)
default_fixed_qparams_range_neg1to1_fake_quant = FixedQParamsFakeQuantize.with_args(
    observer=default_fixed_qparams_range_neg1to1_observer)
default_fixed_qparams_range_0to1_fake_quant = FixedQParamsFakeQuantize.with_args(
    observer=default_fixed_qparams_range_0to1_observer)
default_symmetric_fixed_qparams_fake_quant = default_fixed_qparams_range_neg1to1_fake_quant
default_affine_fixed_qparams_fake_quant = default_fixed_qparams_range_0to1_fake_quant
default_per_channel_weight_fake_quant = FakeQuantize.with_args(
    observer=MovingAveragePerChannelMinMaxObserver, quant_min=-128, quant_max=127,
    dtype=ember.qint8, qscheme=per_channel_symmetric, reduce_range=False, ch_axis=0)
default_embedding_fake_quant = FakeQuantize.with_args(
    observer=MovingAveragePerChannelMinMaxObserver, qscheme=per_channel_affine_float_qparams,
    dtype=ember.quint8, quant_min=0, quant_max=255, ch_axis=0, averaging_constant=1)
default_embedding_fake_quant_4bit = FakeQuantize.with_args(
    observer=MovingAveragePerChannelMinMaxObserver, qscheme=per_channel_affine_float_qparams,
    ch_axis=0, dtype=ember.quint4x2, averaging_constant=1)
default_histogram_fake_quant = FakeQuantize.with_args(
    observer=HistogramObserver, quant_min=0, quant_max=255, dtype=ember.quint8,
    qscheme=per_tensor_affine, reduce_range=True)
default_fused_act_fake_quant = FusedMovingAvgObsFakeQuantize.with_args(
    observer=MovingAverageMinMaxObserver, quant_min=0, quant_max=255, dtype=ember.quint8)
default_fused_wt_fake_quant = FusedMovingAvgObsFakeQuantize.with_args(
    observer=MovingAverageMinMaxObserver, quant_min=-128, quant_max=127, dtype=ember.qint8,
    qscheme=per_tensor_symmetric)
default_fused_per_channel_wt_fake_quant = FusedMovingAvgObsFakeQuantize.with_args(
    observer=MovingAveragePerChannelMinMaxObserver, quant_min=-128, quant_max=127,
    dtype=ember.qint8, qscheme=per_channel_symmetric)
fused_wt_fake_quant_range_neg_127_to_127 = FusedMovingAvgObsFakeQuantize.with_args(
    observer=MovingAverageMinMaxObserver, quant_min=-127, quant_max=127, dtype=ember.qint8,
    qscheme=per_tensor_symmetric, eps=2 ** -12)
fused_per_channel_wt_fake_quant_range_neg_127_to_127 = FusedMovingAvgObsFakeQuantize.with_args(
    observer=MovingAveragePerChannelMinMaxObserver, quant_min=-127, quant_max=127,
    dtype=ember.qint8, qscheme=per_channel_symmetric, eps=2 ** -12)
