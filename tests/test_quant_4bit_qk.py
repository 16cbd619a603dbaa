"""quint4x2 (4-bit) quantized tensors and 4-bit quantized Embedding / EmbeddingBag against
PyTorch: quantize_per_tensor / quantize_per_channel (float qparams) integers, packed bytes
(int_repr), dequantized values and reprs; the modules' outputs bit for bit (fbgemm's 4-bit
rows keep scale and bias in float16); the eager flow with
float_qparams_weight_only_qconfig_4bit; checkpoints both ways; PyTorch's errors."""
import io
import pickle

import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning",
                                        "ignore::UserWarning")


def _text(x):
    return repr(x).replace("ember.", "torch.")


def _same_quantized(e, t):
    assert str(e.dtype) == str(t.dtype).replace("torch.", "ember.")
    assert tuple(e.shape) == tuple(t.shape)
    np.testing.assert_array_equal(e.int_repr().numpy(), t.int_repr().numpy())
    np.testing.assert_array_equal(e.dequantize().numpy(), t.dequantize().numpy())
    assert _text(e) == _text(t)


@pytest.mark.parametrize("shape", [(3, 4), (3, 5), (1,), (2, 3, 2)])
def test_quantize_per_tensor(shape):
    rng = np.random.default_rng(0)
    for trial in range(20):
        x = (rng.standard_normal(shape) * rng.uniform(0.2, 3)).astype(np.float32)
        scale = float(np.float32(rng.choice([0.1, 0.25, 0.2, 0.07])))
        x.reshape(-1)[0] = np.float32(scale * 2.5)   # a tie: rounded before the zero point
        zp = int(rng.integers(0, 16))
        _same_quantized(ember.quantize_per_tensor(ember.tensor(x), scale, zp, ember.quint4x2),
                        torch.quantize_per_tensor(torch.tensor(x), scale, zp, torch.quint4x2))


@pytest.mark.parametrize("shape,axis", [((4, 6), 0), ((3, 5), 0), ((2, 4), 1)])
def test_quantize_per_channel_float_qparams(shape, axis):
    rng = np.random.default_rng(1)
    for trial in range(10):
        x = (rng.standard_normal(shape) * 2).astype(np.float32)
        n = shape[axis]
        s = rng.uniform(0.05, 0.4, n).astype(np.float32)
        z = rng.uniform(0, 15, n).astype(np.float32)
        e = ember.quantize_per_channel(ember.tensor(x), ember.tensor(s), ember.tensor(z), axis,
                                       ember.quint4x2)
        t = torch.quantize_per_channel(torch.tensor(x), torch.tensor(s), torch.tensor(z), axis,
                                       torch.quint4x2)
        _same_quantized(e, t)
        assert e.q_per_channel_scales().dtype is ember.float32
        p = pickle.loads(pickle.dumps(e))
        assert p.dtype is ember.quint4x2
        np.testing.assert_array_equal(p.int_repr().numpy(), e.int_repr().numpy())


def _outcome(fn):
    try:
        fn()
    except Exception as e:   # noqa: BLE001 (the type and message are compared)
        return type(e).__name__, str(e).replace("torch.", "").replace("ember.", "")
    return "ok"


def test_errors_as_pytorch():
    for make in (lambda m: m.quantize_per_channel(m.ones(2, 2), m.tensor([0.1, 0.2]),
                                                  m.tensor([1, 2]), 0, m.quint4x2),
                 lambda m: m.quantize_per_tensor(m.ones(2), 0.1, -1, m.quint4x2),
                 lambda m: m.quantize_per_tensor(m.ones(2), 0.1, 16, m.quint4x2),
                 lambda m: m.ao.nn.quantized.EmbeddingBag(3, 4, dtype=m.qint8),
                 lambda m: m.ao.nn.quantized.Embedding(3, 4, dtype=m.quint2x4)):
        assert _outcome(lambda: make(torch)) == _outcome(lambda: make(ember))


def _bags(m, D, seed, include_last_offset=False):
    rng = np.random.default_rng(seed)
    w = (rng.standard_normal((9, D)) * rng.uniform(0.2, 3)).astype(np.float32)
    bag = m.nn.EmbeddingBag(9, D, mode="sum", include_last_offset=include_last_offset)
    bag.weight = m.nn.Parameter(m.tensor(w))
    bag.qconfig = m.ao.quantization.float_qparams_weight_only_qconfig_4bit
    return m.ao.nn.quantized.EmbeddingBag.from_float(bag)


@pytest.mark.parametrize("D", [2, 8, 30])
@pytest.mark.parametrize("include_last_offset", [False, True])
def test_embedding_bag_4bit(D, include_last_offset):
    t, e = (_bags(m, D, D, include_last_offset) for m in (torch, ember))
    assert _text(e) == _text(t)
    _same_quantized(e.weight(), t.weight())
    idx = np.array([0, 1, 8, 2, 2, 3, 5, 4, 1, 7])
    offsets = np.array([0, 3, 3, 6])   # an empty bag too
    if include_last_offset:   # (the last offset ends the last bag)
        offsets = np.append(offsets, idx.size)
    weights = np.linspace(-1.5, 2, idx.size).astype(np.float32)
    for args in ((idx, offsets), (idx, offsets, weights), (idx.reshape(2, 5), None)):
        if include_last_offset and args[1] is None:
            continue
        kw = {}
        if len(args) == 3:
            kw["per_sample_weights"] = args[2]
        outs = [q(m.tensor(args[0]), None if args[1] is None else m.tensor(args[1]),
                  **{k: m.tensor(v) for k, v in kw.items()})
                for q, m in ((t, torch), (e, ember))]
        assert tuple(outs[1].shape) == tuple(outs[0].shape)
        np.testing.assert_array_equal(outs[1].numpy(), outs[0].numpy())


@pytest.mark.parametrize("D", [4, 16])
def test_embedding_4bit(D):
    # (the bags stay alive: PyTorch's 4-bit weight() views memory its module owns)
    bags = [_bags(m, D, seed=3) for m in (torch, ember)]
    mods = []
    for m, bag in zip((torch, ember), bags):
        q = m.ao.nn.quantized.Embedding(9, D, dtype=m.quint4x2)
        q.set_weight(bag.weight())
        mods.append(q)
    assert _text(mods[1]) == _text(mods[0])
    idx = np.array([[0, 8, 3], [3, 3, 1]])
    np.testing.assert_array_equal(mods[1](ember.tensor(idx)).numpy(),
                                  mods[0](torch.tensor(idx)).numpy())
    assert list(mods[1].state_dict()) == list(mods[0].state_dict())


def test_embedding_from_float_4bit_keeps_quint8_module_as_pytorch():
    """PyTorch's Embedding.from_float makes a quint8 module whatever the observer's dtype;
    holding a 4-bit table, its forward fails (RuntimeError) in both."""
    mods = []
    for m in (torch, ember):
        emb = m.nn.Embedding(6, 8)
        emb.qconfig = m.ao.quantization.float_qparams_weight_only_qconfig_4bit
        mods.append(m.ao.nn.quantized.Embedding.from_float(emb))
    assert _text(mods[1]) == _text(mods[0])
    assert mods[1].weight().dtype is ember.quint4x2
    with pytest.raises(RuntimeError):
        mods[0](torch.tensor([1, 2]))
    with pytest.raises(RuntimeError):
        mods[1](ember.tensor([1, 2]))


def _model(m):
    class Net(m.nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = m.nn.EmbeddingBag(10, 12, mode="sum")

        def forward(self, i, o):
            return self.emb(i, o)
    return Net()


def test_eager_flow_and_checkpoints():
    torch.manual_seed(0)
    t, e = _model(torch), _model(ember)
    e.load_state_dict({k: ember.tensor(v.detach().numpy()) for k, v in t.state_dict().items()})
    for m, mod in ((torch, t), (ember, e)):
        mod.emb.qconfig = m.ao.quantization.float_qparams_weight_only_qconfig_4bit
        m.ao.quantization.prepare(mod, inplace=True)
        m.ao.quantization.convert(mod, inplace=True)
    assert _text(e) == _text(t)
    assert list(e.state_dict()) == list(t.state_dict())
    i, o = np.array([1, 2, 4, 5, 4, 3, 2, 9]), np.array([0, 4])
    ref = t(torch.tensor(i), torch.tensor(o)).numpy()
    np.testing.assert_array_equal(e(ember.tensor(i), ember.tensor(o)).numpy(), ref)
    fresh = _model(ember)
    fresh.emb = ember.ao.nn.quantized.EmbeddingBag(10, 12, dtype=ember.quint4x2)
    for weights_only in (True, False):   # PyTorch's checkpoint, read by ember
        buf = io.BytesIO()
        torch.save(t.state_dict(), buf)
        buf.seek(0)
        state = ember.load(buf, weights_only=weights_only)
        assert state["emb._packed_params.dtype"] is ember.quint4x2
        fresh.load_state_dict(state)
        np.testing.assert_array_equal(fresh(ember.tensor(i), ember.tensor(o)).numpy(), ref)
        _same_quantized(fresh.emb.weight(), t.emb.weight())
    buf = io.BytesIO()   # ember's own format
    ember.save(e.state_dict(), buf)
    buf.seek(0)
    fresh.load_state_dict(ember.load(buf))
    np.testing.assert_array_equal(fresh(ember.tensor(i), ember.tensor(o)).numpy(), ref)
    buf = io.BytesIO()   # PyTorch's format (a QUInt4x2Storage), read by torch
    ember.save(e.state_dict(), buf, format="torch")
    buf.seek(0)
    back = _model(torch)
    back.emb = torch.ao.nn.quantized.EmbeddingBag(10, 12, dtype=torch.quint4x2)
    back.load_state_dict(torch.load(buf, weights_only=True))
    np.testing.assert_array_equal(back(torch.tensor(i), torch.tensor(o)).numpy(), ref)


def test_plain_quint4x2_tensor_from_torch_file():
    q = torch.quantize_per_tensor(torch.randn(3, 5), 0.1, 3, torch.quint4x2)
    buf = io.BytesIO()
    torch.save({"q": q}, buf)
    buf.seek(0)
    _same_quantized(ember.load(buf)["q"], q)
