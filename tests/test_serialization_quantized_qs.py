"""Quantized modules' state_dicts in checkpoints, against PyTorch, both directions:
ember.save(format='torch') -> torch.load (weights_only=True), torch.save -> ember.load, and
ember's own format. The same weights are given to both libraries' modules; after the
round trip the loaded module must give the integers of the module that was saved.
Also the torch globals a state_dict holds besides tensors (dtypes such as the packed
Linear's torch.qint8, torch.device, torch.Size)."""
import io
import pickle
import warnings

import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def _arrays(seed=0):
    rng = np.random.default_rng(seed)
    return lambda *shape: rng.standard_normal(shape).astype(np.float32)


def _qweight(lib, w, per_channel, dtype="qint8"):
    t = lib.tensor(w)
    if per_channel:
        scales = lib.tensor(np.linspace(0.01, 0.03, w.shape[0]), dtype=lib.float64)
        zps = lib.zeros(w.shape[0], dtype=lib.int64)
        return lib.quantize_per_channel(t, scales, zps, 0, getattr(lib, dtype))
    return lib.quantize_per_tensor(t, 0.02, 0, getattr(lib, dtype))


def _module(lib, kind, per_channel=False):
    """A quantized module of `kind` with fixed non-trivial weights (the same in both
    libraries), and an input for it."""
    nnq = lib.ao.nn.quantized
    a = _arrays()
    xq = lambda *shape: lib.quantize_per_tensor(lib.tensor(a(*shape)), 0.05, 64, lib.quint8)
    if kind == "linear":
        m = nnq.Linear(4, 3)
        m.set_weight_bias(_qweight(lib, a(3, 4), per_channel), lib.tensor(a(3)))
        m.scale, m.zero_point = 0.07, 60
        return m, xq(2, 4)
    if kind in ("dlinear", "dlinear_fp16"):
        dtype = lib.float16 if kind == "dlinear_fp16" else lib.qint8
        m = nnq.dynamic.Linear(4, 3, dtype=dtype)
        w = lib.tensor(a(3, 4)) if kind == "dlinear_fp16" else _qweight(lib, a(3, 4), per_channel)
        m.set_weight_bias(w, lib.tensor(a(3)))
        return m, lib.tensor(a(2, 4))
    if kind.startswith("conv"):
        d = int(kind[-2])
        transposed = "transpose" in kind
        cls = getattr(nnq, f"ConvTranspose{d}d" if transposed else f"Conv{d}d")
        m = cls(2, 4, 3, padding=1)
        shape = (2, 4) + (3,) * d if transposed else (4, 2) + (3,) * d
        m.set_weight_bias(_qweight(lib, a(*shape), per_channel and not transposed),
                          lib.tensor(a(4)))
        m.scale, m.zero_point = 0.1, 50
        return m, xq(1, 2, *(5,) * d)
    if kind == "batchnorm":
        m = nnq.BatchNorm2d(3)
        with lib.no_grad():
            m.weight.copy_(lib.tensor(a(3)))
            m.bias.copy_(lib.tensor(a(3)))
            m.running_mean.copy_(lib.tensor(a(3)))
            m.running_var.copy_(lib.tensor(np.abs(a(3)) + 0.5))
        m.scale, m.zero_point = lib.tensor(0.08), lib.tensor(70)   # (buffers here)
        return m, xq(1, 3, 2, 2)
    if kind in ("embedding", "embedding_bag"):
        w = a(6, 4)
        scales = lib.tensor(np.abs(w).max(1) / 127 + 0.01, dtype=lib.float64)
        zps = lib.tensor(np.linspace(-0.5, 0.5, 6), dtype=lib.float32)
        qw = lib.quantize_per_channel(lib.tensor(w), scales, zps, 0, lib.quint8)
        m = nnq.Embedding(6, 4) if kind == "embedding" else nnq.EmbeddingBag(6, 4)
        m.set_weight(qw)
        return m, lib.tensor([[0, 5, 2], [1, 1, 3]])
    if kind in RNNS:
        name, fp16 = kind.split("_")[0], kind.endswith("fp16")
        cls = {"lstm": "LSTM", "gru": "GRU", "lstmcell": "LSTMCell", "grucell": "GRUCell"}[name]
        m = getattr(lib.nn, cls)(4, 3)
        with lib.no_grad():
            for p in m.parameters():
                p.copy_(lib.tensor(a(*p.shape)))
        m.qconfig = (lib.ao.quantization.float16_dynamic_qconfig if fp16 else
                     lib.ao.quantization.default_dynamic_qconfig)
        q = getattr(lib.ao.nn.quantized.dynamic, cls).from_float(m)
        return q, lib.tensor(a(2, 1, 4) if "cell" not in name else a(2, 4))
    raise KeyError(kind)


# dynamic quantized recurrent layers: their state_dicts hold torch.ScriptObjects (packed
# parameters), which torch.load reads with weights_only=False only
RNNS = ["lstm", "lstm_fp16", "gru", "lstmcell", "grucell_fp16"]
KINDS = ["linear", "dlinear", "dlinear_fp16", "conv1d", "conv2d", "conv3d",
         "convtranspose1d", "convtranspose2d", "batchnorm", "embedding", "embedding_bag"]
PER_CHANNEL = ["linear", "dlinear", "conv2d"]
CASES = [(k, False) for k in KINDS + RNNS] + [(k, True) for k in PER_CHANNEL]


def _out_np(y):
    if isinstance(y, tuple):   # a recurrent layer's (output, state)
        y = y[0]
    if y.is_quantized:
        return y.int_repr().numpy(), y.q_scale(), y.q_zero_point()
    return (y.detach().numpy(),)


def _same_out(e_out, t_out, kind=None):
    """The same outputs: bit for bit, but for the recurrent layers of the two libraries
    (their float sigmoid/tanh can differ from torch's in the last bit)."""
    e, t = _out_np(e_out), _out_np(t_out)
    if kind in RNNS:
        np.testing.assert_allclose(e[0], t[0], rtol=1e-6, atol=1e-7)
    else:
        np.testing.assert_array_equal(e[0], t[0])
    assert e[1:] == t[1:]


def _same_state(e_sd, t_sd):
    """Both state_dicts hold the same keys, and equal tensors/dtypes/tuples under them."""
    assert list(e_sd) == list(t_sd)
    for k in t_sd:
        _same_value(e_sd[k], t_sd[k], k)


def _same_value(e, t, where):
    if isinstance(t, torch.Tensor):
        assert isinstance(e, ember.Tensor), where
        assert str(e.dtype).split(".")[1] == str(t.dtype).split(".")[1], where
        assert tuple(e.shape) == tuple(t.shape), where
        if t.is_quantized:
            assert str(e.qscheme()).split(".")[1] == str(t.qscheme()).split(".")[1], where
            np.testing.assert_array_equal(e.int_repr().numpy(), t.int_repr().numpy())
            if t.qscheme() == torch.per_tensor_affine:
                assert (e.q_scale(), e.q_zero_point()) == (t.q_scale(), t.q_zero_point())
            else:
                np.testing.assert_array_equal(e.q_per_channel_scales().numpy(),
                                              t.q_per_channel_scales().numpy())
                np.testing.assert_array_equal(e.q_per_channel_zero_points().numpy(),
                                              t.q_per_channel_zero_points().numpy())
                assert e.q_per_channel_axis() == t.q_per_channel_axis()
        else:
            np.testing.assert_array_equal(e.detach().numpy(), t.detach().numpy())
    elif isinstance(t, torch.dtype):
        assert isinstance(e, ember.dtype) and str(e) == str(t).replace("torch.", "ember."), where
    elif isinstance(t, torch.ScriptObject):   # packed parameters: their pickled states
        assert type(e).__name__ == "ScriptObject", where
        _same_value(e.__getstate__(), t.__getstate__(), where)
    elif isinstance(t, (tuple, list)):
        assert type(e) is type(t) and len(e) == len(t), where
        for i, (a, b) in enumerate(zip(e, t)):
            _same_value(a, b, f"{where}[{i}]")
    else:
        assert e == t, where


# torch's default engine ('x86') runs quantized ConvTranspose through oneDNN, whose
# integers here differ widely from the float reference (dequantize, conv_transpose,
# quantize); ember computes fbgemm's integers (torch's engine 'fbgemm' gives ember's on these
# modules, but that engine also reports the weights' scales rounded to float32, as x86's
# conv does not): the two libraries' outputs are compared for the other modules only
_OUTPUTS_DIFFER = ("convtranspose1d", "convtranspose2d")


def _same_module(em, ex, tm, tx, kind):
    """Same state; the same outputs where the two libraries' modules agree."""
    _same_state(em.state_dict(), tm.state_dict())
    if kind not in _OUTPUTS_DIFFER:
        _same_out(em(ex), tm(tx), kind)


def _reloaded(lib, kind, per_channel):
    """The module after load_state_dict of its own state_dict (no file): the reference of
    a round trip (Linear's scale, kept as a float32 tensor, comes back rounded, in both)."""
    m, x = _module(lib, kind, per_channel)
    fresh, _ = _module(lib, kind)
    fresh.load_state_dict(m.state_dict())
    return fresh, x


@pytest.mark.parametrize("kind,per_channel", CASES)
def test_modules_agree_before_saving(kind, per_channel):
    """(the premise of the tests below: the two libraries' modules are the same)"""
    em, ex = _module(ember, kind, per_channel)
    tm, tx = _module(torch, kind, per_channel)
    _same_module(em, ex, tm, tx, kind)


@pytest.mark.parametrize("weights_only", [True, False])
@pytest.mark.parametrize("kind,per_channel", CASES)
def test_ember_saves_torch_loads(kind, per_channel, weights_only):
    em, _ = _module(ember, kind, per_channel)
    tm, tx = _reloaded(torch, kind, per_channel)
    buf = io.BytesIO()
    ember.save(em.state_dict(), buf, format="torch")
    buf.seek(0)
    if kind in RNNS and weights_only:   # as torch refuses its own files of these
        with pytest.raises(pickle.UnpicklingError, match="ScriptObject"):
            torch.load(buf, weights_only=True)
        return
    loaded = torch.load(buf, weights_only=weights_only)
    fresh, _ = _module(torch, kind)
    fresh.load_state_dict(loaded)
    _same_state(em.state_dict(), fresh.state_dict())
    _same_out(fresh(tx), tm(tx))


@pytest.mark.parametrize("kind,per_channel", CASES)
def test_torch_saves_ember_loads(kind, per_channel):
    tm, tx = _reloaded(torch, kind, per_channel)
    em, ex = _reloaded(ember, kind, per_channel)
    buf = io.BytesIO()
    torch.save(tm.state_dict(), buf)
    for weights_only in (True, False):
        buf.seek(0)
        if kind in RNNS and weights_only:   # refused, as torch.load refuses it
            with pytest.raises(pickle.UnpicklingError, match="ScriptObject"):
                ember.load(buf, weights_only=True)
            continue
        fresh, _ = _module(ember, kind)
        fresh.load_state_dict(ember.load(buf, weights_only=weights_only))
        _same_module(fresh, ex, tm, tx, kind)
        _same_out(fresh(ex), em(ex))


@pytest.mark.parametrize("kind,per_channel", CASES)
def test_ember_format_round_trip(kind, per_channel):
    em, ex = _reloaded(ember, kind, per_channel)
    tm, tx = _reloaded(torch, kind, per_channel)
    buf = io.BytesIO()
    ember.save(em.state_dict(), buf)
    buf.seek(0)
    fresh, _ = _module(ember, kind)
    fresh.load_state_dict(ember.load(buf))
    _same_module(fresh, ex, tm, tx, kind)
    _same_out(fresh(ex), em(ex))


def _converted(lib):
    """A model through the eager post-training workflow (observers, convert)."""
    lib.manual_seed(0)
    m = lib.nn.Sequential(lib.ao.quantization.QuantStub(), lib.nn.Conv2d(2, 3, 3),
                          lib.nn.ReLU(), lib.nn.Flatten(), lib.nn.Linear(12, 2),
                          lib.ao.quantization.DeQuantStub())
    a = _arrays(1)
    with lib.no_grad():
        for p in m.parameters():
            p.copy_(lib.tensor(a(*p.shape)))
    m.eval()
    # min/max observers, per-channel weights (torch's default HistogramObserver's output
    # scales can differ from ember's in the last bit, which is not what is tested here)
    m.qconfig = lib.ao.quantization.default_per_channel_qconfig
    lib.ao.quantization.prepare(m, inplace=True)
    m(lib.tensor(a(4, 2, 4, 4)))
    return lib.ao.quantization.convert(m), lib.tensor(a(2, 2, 4, 4))


def test_converted_model_both_directions():
    """(calibrated apart, the two models' output scales can differ in the last bit, as the
    float layers' sums do: each file is compared with the model that wrote it)"""
    em, ex = _converted(ember)
    tm, tx = _converted(torch)
    buf = io.BytesIO()
    ember.save(em.state_dict(), buf, format="torch")
    buf.seek(0)
    fresh_t, _ = _converted(torch)
    fresh_t.load_state_dict(torch.load(buf, weights_only=True))
    _same_state(em.state_dict(), fresh_t.state_dict())
    np.testing.assert_array_equal(fresh_t(tx).numpy(), em(ex).numpy())
    buf = io.BytesIO()
    torch.save(tm.state_dict(), buf)
    buf.seek(0)
    fresh_e, _ = _converted(ember)
    fresh_e.load_state_dict(ember.load(buf, weights_only=True))
    _same_state(fresh_e.state_dict(), tm.state_dict())
    np.testing.assert_array_equal(fresh_e(ex).numpy(), tm(tx).numpy())


def _globals(lib):
    return {"qdt": lib.qint8, "u8": lib.quint8, "f16": lib.float16, "bf16": lib.bfloat16,
            "again": lib.qint8, "cpu": lib.device("cpu"), "cuda1": lib.device("cuda", 1),
            "cuda": lib.device("cuda"), "size": lib.Size([2, 3]), "empty": lib.Size([]),
            "nested": [lib.float32, (lib.device("cpu"), lib.Size([1]))]}


def _same_globals(e, t):
    assert str(e).replace("ember.", "torch.").replace("ember.Size", "torch.Size") == str(t)
    assert isinstance(e["size"], ember.Size) and isinstance(e["cpu"], ember.device)
    assert e["qdt"] is ember.qint8 and e["again"] is ember.qint8


def test_torch_globals_written_as_torch_writes_them():
    """dtypes, devices and sizes: format='torch' writes them (they were refused), real
    torch.load(weights_only=True) reads them, and the pickle names them as torch.save does."""
    buf = io.BytesIO()
    ember.save(_globals(ember), buf, format="torch")
    buf.seek(0)
    assert torch.load(buf, weights_only=True) == _globals(torch)
    buf.seek(0)
    _same_globals(ember.load(buf), _globals(torch))


def test_torch_device_read_from_torch_files():
    """torch.device is on torch's weights-only allow-list; ember's reader admits it too,
    with its arguments checked (a string and an optional index)."""
    buf = io.BytesIO()
    torch.save(_globals(torch), buf)
    buf.seek(0)
    _same_globals(ember.load(buf, weights_only=True), _globals(torch))


def test_forged_device_arguments_refused():
    import pickle
    from ember._torch_rebuild import _rebuild_device
    for args in [(), (1,), ("cpu", "0"), ("cpu", True), ("cpu", 0, 1), ("nonsense",)]:
        with pytest.raises(pickle.UnpicklingError):
            _rebuild_device(*args)
    assert _rebuild_device("cuda", None) == ember.device("cuda")


@pytest.mark.parametrize("per_channel", [False, True])
def test_linear_prepack_keeps_float32_scales(per_channel):
    """fbgemm's linear_prepack keeps the weight's scales as float32: the unpacked weight
    (and so the state_dict) reports float(float32(scale)), its integers unchanged."""
    a = _arrays(3)
    w = a(3, 4)
    for cls in ("Linear", "dynamic.Linear"):
        mods = []
        for lib in (ember, torch):
            m = eval(f"lib.ao.nn.quantized.{cls}")(4, 3)
            m.set_weight_bias(_qweight(lib, w, per_channel), None)
            mods.append(m)
        _same_value(mods[0].weight(), mods[1].weight(), cls)


def test_dynamic_linear_integers_and_fma_as_fbgemm():
    """The dynamic Linear's output is fbgemm's fused multiply-add of the integer sums, the
    scale product and the bias, rounded once: equal to torch's bit for bit."""
    a = _arrays(4)
    for trial in range(20):
        w, b, x = a(8, 16), a(8), a(5, 16) * (trial + 1)
        outs = []
        for lib in (ember, torch):
            m = lib.ao.nn.quantized.dynamic.Linear(16, 8)
            m.set_weight_bias(_qweight(lib, w, trial % 2 == 1), lib.tensor(b))
            outs.append(m(lib.tensor(x)).numpy())
        np.testing.assert_array_equal(outs[0], outs[1])


@pytest.mark.parametrize("kind,per_channel", CASES)
def test_whole_modules_torch_saved(kind, per_channel):
    """torch.save(module): packed parameters pickled as torch.ScriptObjects (Linear's,
    the embeddings', the recurrent layers'), convolutions as their __getstate__ tuple;
    ember.load(weights_only=False) rebuilds ember's module, which gives torch's outputs.
    ember's own whole-module pickle round-trips too."""
    tm, tx = _module(torch, kind, per_channel)
    em, ex = _module(ember, kind, per_channel)
    buf = io.BytesIO()
    torch.save(tm, buf)
    buf.seek(0)
    loaded = ember.load(buf, weights_only=False)
    assert type(loaded) is type(em)
    _same_module(loaded, ex, tm, tx, kind)
    _same_out(loaded(ex), em(ex))
    buf = io.BytesIO()
    ember.save(em, buf)
    buf.seek(0)
    again = ember.load(buf, weights_only=False)
    _same_out(again(ex), em(ex))


def test_unknown_script_objects_refused():
    """Only the packed-parameter classes ember knows are read, even with weights_only=False;
    torch.ScriptObject stays off the weights-only allow-list, as in torch."""
    from ember._script_object import ScriptObject
    with pytest.raises(pickle.UnpicklingError, match="SomethingElse"):
        ScriptObject().__setstate__(((1, 2), "__torch__.torch.classes.x.SomethingElse"))
    sd = _module(ember, "lstm")[0].state_dict()
    buf = io.BytesIO()
    ember.save(sd, buf, format="torch")
    data = buf.getvalue().replace(b"rnn.CellParamsBase", b"rnn.CellParamsBAD_")
    with pytest.raises(pickle.UnpicklingError, match="CellParamsBAD_"):
        ember.load(io.BytesIO(data), weights_only=False)
