"""Observers, fake-quantizers and qconfigs of ember.ao.quantization against PyTorch's:
the same batches through both, then qparams (bit-equal, dtypes too), outputs, gradients,
buffers and reprs compared."""
import warnings

import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")
import torch.ao.quantization as tq  # noqa: E402

import ember.ao.quantization as eq  # noqa: E402


def _lib_args(lib, kwargs):
    """kwargs with dtype/qscheme names replaced by the library's objects."""
    out = dict(kwargs)
    if "dtype" in out:
        out["dtype"] = getattr(lib, out["dtype"])
    if "qscheme" in out:
        out["qscheme"] = getattr(lib, out["qscheme"])
    return out


def _same(t, e):
    """Equal values (NaN-aware, bit for bit) and the same dtype name."""
    assert str(t.dtype).split(".")[-1] == str(e.dtype).split(".")[-1], (t.dtype, e.dtype)
    assert tuple(t.shape) == tuple(e.shape), (t.shape, e.shape)
    np.testing.assert_array_equal(t.detach().numpy(), e.detach().cpu().numpy())


def _batches(seed, shape=(4, 6, 3), n=3):
    rng = np.random.default_rng(seed)
    return [(rng.standard_normal(shape) * (i + 1) + 0.3 * i).astype(np.float32)
            for i in range(n)]


PER_TENSOR = []
for _cls in ["MinMaxObserver", "MovingAverageMinMaxObserver", "HistogramObserver"]:
    for _dt in ["quint8", "qint8"]:
        for _sch in ["per_tensor_affine", "per_tensor_symmetric"]:
            for _rr in [False, True]:
                if not (_sch == "per_tensor_symmetric" and _rr and _dt == "quint8"):
                    PER_TENSOR.append((_cls, dict(dtype=_dt, qscheme=_sch, reduce_range=_rr)))
            PER_TENSOR.append((_cls, dict(dtype=_dt, qscheme=_sch,
                                          quant_min=0 if _dt == "quint8" else -10,
                                          quant_max=100)))
PER_CHANNEL = []
for _cls in ["PerChannelMinMaxObserver", "MovingAveragePerChannelMinMaxObserver"]:
    for _dt in ["quint8", "qint8"]:
        for _sch in ["per_channel_affine", "per_channel_symmetric",
                     "per_channel_affine_float_qparams"]:
            for _ax in [0, 2]:
                if not (_sch == "per_channel_symmetric" and _dt == "quint8"):
                    PER_CHANNEL.append((_cls, dict(dtype=_dt, qscheme=_sch, ch_axis=_ax)))


@pytest.mark.parametrize("cls,kwargs", PER_TENSOR + PER_CHANNEL,
                         ids=lambda v: v if isinstance(v, str) else "-".join(map(str, v.values())))
def test_observer_qparams_bit_equal(cls, kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t = getattr(tq, cls)(**_lib_args(torch, kwargs))
        e = getattr(eq, cls)(**_lib_args(ember, kwargs))
    assert (t.quant_min, t.quant_max) == (e.quant_min, e.quant_max)
    for a in _batches(len(cls) + len(kwargs)):
        out = e(ember.tensor(a))
        t(torch.tensor(a))
        np.testing.assert_array_equal(out.numpy(), a)   # observers pass their input on
    ts, tz = t.calculate_qparams()
    es, ez = e.calculate_qparams()
    _same(ts, es)
    _same(tz, ez)
    for name, buf in t.named_buffers():
        _same(buf, dict(e.named_buffers())[name])


def test_observer_repr_and_state_dict():
    t, e = tq.MinMaxObserver(), eq.MinMaxObserver()
    assert repr(e) == repr(t)
    a = _batches(0)[0]
    t(torch.tensor(a))
    e(ember.tensor(a))
    assert repr(e).replace("ember.", "torch.") == repr(t)
    assert list(e.state_dict()) == list(t.state_dict()) == ["eps", "min_val", "max_val"]
    pc_t, pc_e = tq.PerChannelMinMaxObserver(), eq.PerChannelMinMaxObserver()
    pc_t(torch.tensor(a))
    fresh = eq.PerChannelMinMaxObserver()
    fresh.load_state_dict({k: ember.tensor(v.numpy()) for k, v in pc_t.state_dict().items()})
    pc_e(ember.tensor(a))
    _same(pc_t.calculate_qparams()[0], fresh.calculate_qparams()[0])


def test_histogram_observer_widening_and_inf():
    """Later batches widen the range (the old histogram is re-binned); inf is dropped."""
    t, e = tq.HistogramObserver(bins=64), eq.HistogramObserver(bins=64)
    rng = np.random.default_rng(3)
    for scale in (1.0, 0.5, 3.0, 2.0, 7.0):
        a = (rng.standard_normal(50) * scale).astype(np.float32)
        t(torch.tensor(a))
        e(ember.tensor(a))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t(torch.tensor([1.0, float("inf")]))
        e(ember.tensor([1.0, float("inf")]))
    _same(t.histogram, e.histogram)
    for x, y in zip(t.calculate_qparams(), e.calculate_qparams()):
        _same(x, y)


def test_unobserved_and_bad_arguments():
    with pytest.warns(UserWarning, match="must run observer"):
        s, z = eq.MinMaxObserver().calculate_qparams()
    assert s.tolist() == [1.0] and z.tolist() == [0]
    for lib in (tq, eq):
        qs = ember if lib is eq else torch
        with pytest.raises(NotImplementedError):
            lib.MinMaxObserver(qscheme=qs.per_channel_affine)
        with pytest.raises(NotImplementedError):
            lib.MinMaxObserver(qscheme=qs.per_tensor_symmetric, reduce_range=True)
        with pytest.raises(NotImplementedError):
            lib.PerChannelMinMaxObserver(qscheme=qs.per_tensor_affine)
        with pytest.raises(AssertionError):
            lib.MinMaxObserver(quant_min=3, quant_max=100)
        with pytest.raises(AssertionError):
            lib.MinMaxObserver(dtype=(torch if lib is tq else ember).float32)
        with pytest.raises(Exception, match="should not be called"):
            lib.PlaceholderObserver().calculate_qparams()
        with pytest.raises(ValueError, match="observer instance"):
            lib.QConfig(activation=lib.MinMaxObserver(), weight=lib.MinMaxObserver)


FAKE_QUANTS = ["default_fake_quant", "default_weight_fake_quant",
               "default_per_channel_weight_fake_quant", "default_histogram_fake_quant",
               "default_fused_act_fake_quant", "default_fused_wt_fake_quant",
               "default_fused_per_channel_wt_fake_quant",
               "fused_per_channel_wt_fake_quant_range_neg_127_to_127",
               "default_fixed_qparams_range_neg1to1_fake_quant"]


@pytest.mark.parametrize("name", FAKE_QUANTS)
def test_fake_quantize_steps(name):
    """Outputs, straight-through gradients and scale/zero_point after each step, with the
    observer and the fake quantization switched off and on in between."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t, e = getattr(tq, name)(), getattr(eq, name)()
    for i, a in enumerate(_batches(7, shape=(5, 4, 3), n=4)):
        if i == 1:
            t.apply(tq.disable_fake_quant)
            e.apply(eq.disable_fake_quant)
        if i == 2:
            t.apply(tq.disable_observer)
            e.apply(eq.disable_observer)
            t.apply(tq.enable_fake_quant)
            e.apply(eq.enable_fake_quant)
        if i == 3:
            t.enable_observer()
            e.enable_observer()
        tx = torch.tensor(a, requires_grad=True)
        ex = ember.tensor(a, requires_grad=True)
        t_out, e_out = t(tx), e(ex)
        weights = np.arange(a.size, dtype=np.float32).reshape(a.shape)
        (t_out * torch.tensor(weights)).sum().backward()
        (e_out * ember.tensor(weights)).sum().backward()
        _same(t_out, e_out)
        _same(tx.grad, ex.grad)
        _same(t.scale, e.scale)
        _same(t.zero_point, e.zero_point)
    assert repr(e).replace("ember.", "torch.") == repr(t)
    assert list(e.state_dict()) == list(t.state_dict())


def test_fused_kernel_corner_ranges():
    """The fused fake-quantizer's own choice of qparams (fbgemm's): an all-zero batch, a tiny
    range (scale raised to 6.1e-5), all-positive and all-negative ranges."""
    for a in ([0.0, 0.0], [1e-7, 2e-7], [0.5, 3.0], [-4.0, -0.25], [-1e-6, 2e-6]):
        for make in ("default_fused_act_fake_quant", "default_fused_wt_fake_quant"):
            t, e = getattr(tq, make)(), getattr(eq, make)()
            x = np.array(a, dtype=np.float32)
            _same(t(torch.tensor(x)), e(ember.tensor(x)))
            _same(t.scale, e.scale)
            _same(t.zero_point, e.zero_point)


def test_qconfigs_print_as_torch():
    def text(q):
        return repr(q).replace("ember.ao.", "torch.ao.").replace("ember.", "torch.")
    for backend in ("x86", "fbgemm", "qnnpack", "onednn"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            assert text(eq.get_default_qconfig(backend)) == repr(tq.get_default_qconfig(backend))
        assert text(eq.get_default_qat_qconfig(backend)) == repr(
            tq.get_default_qat_qconfig(backend))
        assert text(eq.get_default_qat_qconfig(backend, 0)) == repr(
            tq.get_default_qat_qconfig(backend, 0))
    for name in ("default_qconfig", "default_dynamic_qconfig", "default_qat_qconfig",
                 "float_qparams_weight_only_qconfig", "default_per_channel_qconfig",
                 "float16_dynamic_qconfig"):
        assert text(getattr(eq, name)) == repr(getattr(tq, name)), name
    with pytest.raises(AssertionError, match="not supported"):
        eq.get_default_qconfig("tpu")
    assert eq.qconfig_equals(eq.get_default_qconfig(), eq.get_default_qconfig("x86"))
    assert not eq.qconfig_equals(eq.get_default_qconfig(), eq.default_qconfig)


def test_with_args_and_callable_args():
    make = eq.MinMaxObserver.with_args(dtype=ember.qint8).with_args(quant_min=-4, quant_max=4)
    obs = make()
    assert (obs.dtype, obs.quant_min, obs.quant_max) == (ember.qint8, -4, 4)
    calls = []
    make = eq.MinMaxObserver.with_callable_args(eps=lambda: calls.append(1) or 0.5)
    assert make().eps.tolist() == [0.5] and make().eps.tolist() == [0.5] and len(calls) == 2


def test_fused_moving_avg_obs_fake_quant_function():
    """torch.fused_moving_avg_obs_fake_quant called directly: buffers updated in place,
    per tensor and per channel, symmetric or not, observer / fake quant switched."""
    rng = np.random.default_rng(11)
    inputs = [(rng.standard_normal((3, 5)) * (step + 1)).astype(np.float32) for step in range(4)]
    switches = ((1, 1), (1, 0), (0, 1), (1, 1))
    for per_row, symmetric, qmin, qmax in ((False, False, 0, 255), (False, True, -128, 127),
                                           (True, True, -128, 127), (True, False, 0, 255)):
        results = []
        for lib in (torch, ember):
            if per_row:
                running = [lib.tensor([]), lib.tensor([])]
            else:
                running = [lib.tensor(float("inf")), lib.tensor(float("-inf"))]
            buffers = running + [lib.ones(1), lib.zeros(1, dtype=lib.int32)]
            steps = []
            for a, (obs, fq) in zip(inputs, switches):
                x = lib.tensor(a, requires_grad=True)
                y = lib.fused_moving_avg_obs_fake_quant(
                    x, lib.tensor([obs]), lib.tensor([fq]), *buffers, 0.1, qmin, qmax, 0,
                    per_row, symmetric)
                y.sum().backward()
                steps.append([y.detach().numpy().copy(), x.grad.numpy().copy()]
                             + [b.detach().clone().numpy() for b in buffers])
            results.append(steps)
        for t_step, e_step in zip(*results):
            for t_arr, e_arr in zip(t_step, e_step):
                np.testing.assert_array_equal(e_arr, t_arr)


def test_quantization_utils():
    import torch.ao.quantization.utils as tu

    import ember.ao.quantization.utils as eu
    predicates = ["activation_is_dynamically_quantized", "activation_is_statically_quantized",
                  "activation_is_int8_quantized", "activation_is_int32_quantized",
                  "weight_is_quantized", "weight_is_statically_quantized",
                  "op_is_int8_dynamically_quantized"]
    for qconfig in ("default_qconfig", "default_dynamic_qconfig", "float16_dynamic_qconfig",
                    "float_qparams_weight_only_qconfig", "default_qat_qconfig"):
        for name in predicates:
            assert getattr(eu, name)(getattr(eq, qconfig)) == \
                getattr(tu, name)(getattr(tq, qconfig)), (name, qconfig)
    for qscheme in ("per_channel_symmetric", "per_channel_affine",
                    "per_channel_affine_float_qparams"):
        args = ([-1.0, 0.5, 0.0], [2.0, 3.0, 0.0])
        t = tu.determine_qparams(*map(torch.tensor, args), 0, 255, torch.quint8,
                                 torch.tensor([1e-7]), False, getattr(torch, qscheme))
        e = eu.determine_qparams(*map(ember.tensor, args), 0, 255, ember.quint8,
                                 ember.tensor([1e-7]), False, getattr(ember, qscheme))
        for a, b in zip(t, e):
            _same(a, b)
    obs_t, obs_e = tq.PerChannelMinMaxObserver(), eq.PerChannelMinMaxObserver()
    a = _batches(5)[0]
    obs_t(torch.tensor(a))
    obs_e(ember.tensor(a))
    t_dict, e_dict = tu.get_qparam_dict(obs_t), eu.get_qparam_dict(obs_e)
    assert sorted(t_dict) == sorted(e_dict)
    for key, value in t_dict.items():
        if hasattr(value, "numpy"):
            _same(value, e_dict[key])
        else:
            assert str(e_dict[key]).replace("ember.", "torch.") == str(value), key
