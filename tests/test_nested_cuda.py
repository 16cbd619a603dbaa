"""ember.nested on CUDA: the same program runs on the CPU and on 'cuda' (nested tensors
built there or moved there with `.to('cuda')`), and must give the CPU's values, gradients
and shapes, with every result on the device. (The CPU run is compared with torch in
tests/test_nested.py.) Skips without a GPU; EMBER_FAKE_CUDA=1 runs it on tests/fakecupy.py."""
import re

import numpy as np
import pytest

import ember

pytestmark = [pytest.mark.skipif(not ember.cuda.is_available(), reason="no CUDA device"),
              pytest.mark.filterwarnings("ignore:The PyTorch API of nested tensors")]


@pytest.fixture(autouse=True)
def _dispatch_on():
    """ember.nested turns the __torch_function__ dispatch on when imported; the suite's
    conftest turns it off after each test: on again for each test here."""
    ember.nested._check_activated()


def _shape(t):
    return re.sub(r"j\d+", "j", str(list(t.shape)))


def _host(t):
    return t.detach().cpu().numpy()


def _same(cpu, cuda, tol):
    """A CUDA result equals the CPU one: same kind, dtype, nested shape, offsets, values;
    and it lies on the GPU."""
    if isinstance(cpu, (list, tuple)):
        assert isinstance(cuda, (list, tuple)) and len(cpu) == len(cuda)
        for a, b in zip(cpu, cuda):
            _same(a, b, tol)
        return
    if not isinstance(cpu, ember.Tensor):
        assert cpu == cuda
        return
    assert isinstance(cuda, ember.Tensor)
    assert cuda.device.type == "cuda", cuda.device
    assert cpu.is_nested == cuda.is_nested and cpu.dtype == cuda.dtype
    if cpu.is_nested:
        assert cpu.layout == cuda.layout
        if cpu.layout == ember.jagged:
            assert _shape(cpu) == _shape(cuda)
            np.testing.assert_array_equal(_host(cpu.offsets()), _host(cuda.offsets()))
        for a, b in zip(cpu.unbind(), cuda.unbind()):
            np.testing.assert_allclose(_host(b), _host(a), rtol=tol, atol=tol)
    else:
        assert tuple(cpu.shape) == tuple(cuda.shape)
        np.testing.assert_allclose(_host(cuda), _host(cpu), rtol=tol, atol=tol)


def _run(prog, tol=1e-5):
    ember.manual_seed(0)
    cpu = prog("cpu")
    ember.manual_seed(0)
    cuda = prog("cuda")
    _same(cpu, cuda, tol)


def _data(lengths=(2, 4, 3), d=6, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal((n, d)).astype(np.float32) for n in lengths]


def _nt(dev, lengths=(2, 4, 3), d=6, requires_grad=False, seed=0):
    """A jagged nested tensor built directly on `dev`."""
    return ember.nested.nested_tensor([ember.tensor(a) for a in _data(lengths, d, seed)],
                                      layout=ember.jagged, device=dev,
                                      requires_grad=requires_grad)


def test_built_on_device_and_moved():
    def prog(dev):
        a = _nt(dev)
        b = ember.nested.nested_tensor([ember.tensor(x) for x in _data()],
                                       layout=ember.jagged).to(dev)
        c = ember.nested.as_nested_tensor([ember.tensor(x).to(dev) for x in _data()],
                                          layout=ember.jagged)
        d = ember.nested.nested_tensor_from_jagged(ember.tensor(np.concatenate(_data())).to(dev),
                                                   ember.tensor([0, 2, 6, 9]).to(dev))
        s = ember.nested.nested_tensor([ember.tensor(x) for x in _data()], device=dev)
        assert a.is_cuda == (dev == "cuda") and b.values().device.type == dev
        assert d.offsets().device.type == dev
        return [a, b, c, d, s, a.values(), a.offsets(), a.to_padded_tensor(0.0)]
    _run(prog)


def test_cuda_nested_back_to_cpu():
    nt = _nt("cuda")
    back = nt.cpu()
    assert back.device.type == "cpu" and back.is_nested
    want = _nt("cpu")
    np.testing.assert_array_equal(_host(back.values()), _host(want.values()))
    np.testing.assert_array_equal(_host(back.offsets()), _host(want.offsets()))


def test_pointwise_linear_reductions_and_grads():
    def prog(dev):
        F = ember.nn.functional
        nt = _nt(dev, requires_grad=True)
        w = ember.tensor(np.linspace(-1, 1, 30, dtype=np.float32).reshape(5, 6)).to(dev)
        y = F.gelu(nt) * nt.sigmoid() + 2 - nt / 3 + ember.ones(6, device=dev)
        y = ember.where(y > 0, y, ember.zeros_like(y)) + nt ** 2
        z = F.linear(y, w.requires_grad_())
        s = z.softmax(-1)
        ln = F.layer_norm(z, (5,))
        r = z.sum(dim=1)          # over the ragged dim: dense
        m = z.mean(dim=-1)
        (s.to_padded_tensor(0.0).sum() + ln.values().pow(2).sum() + r.sum()
         + m.values().sum()).backward()
        return [y, z, s, ln, r, m, nt.grad, w.grad]
    _run(prog, tol=1e-4)


def test_sdpa_values_and_grads():
    def prog(dev):
        F = ember.nn.functional

        def heads(t):
            return t.unflatten(-1, [2, 4]).transpose(1, 2)
        q = _nt(dev, (2, 3, 1), 8, requires_grad=True, seed=1)
        k = _nt(dev, (4, 1, 2), 8, requires_grad=True, seed=2)
        v = ember.nested.nested_tensor_from_jagged(
            ember.tensor(np.random.default_rng(3).standard_normal((7, 8)).astype(np.float32))
            .to(dev), k.offsets()).requires_grad_()
        out = F.scaled_dot_product_attention(heads(q), heads(k), heads(v))
        out = out.transpose(1, 2).flatten(-2)
        causal = F.scaled_dot_product_attention(heads(q), heads(q), heads(q), is_causal=True)
        (out.to_padded_tensor(0.0).pow(2).sum() + causal.values().sum()).backward()
        return [out, causal, q.grad, k.grad, v.grad]
    _run(prog, tol=1e-4)


def test_to_padded_narrow_masked_select_and_views():
    def prog(dev):
        nt = _nt(dev, requires_grad=True)
        p = ember.nested.to_padded_tensor(nt, -1.0, output_size=(3, 5, 7))
        (p * p).sum().backward()
        x = ember.tensor(np.arange(20, dtype=np.float32).reshape(4, 5)).to(dev)
        nar = ember.nested.narrow(x, 1, ember.tensor([0, 1, 2, 0]).to(dev),
                                  ember.tensor([2, 3, 1, 4]).to(dev), layout=ember.jagged)
        ms = ember.nested.masked_select(x, x.remainder(3) == 0)
        parts = _nt(dev).chunk(2, dim=-1)
        u = _nt(dev).unsqueeze(-1).squeeze(-1)
        return [p, nt.grad, nar, ms, list(parts), u, _nt(dev)[1], list(_nt(dev).unbind())]
    _run(prog)


def test_embedding_and_dropout_stream():
    def prog(dev):
        F = ember.nn.functional
        ids = ember.nested.nested_tensor([ember.tensor([1, 3]), ember.tensor([0, 2, 4])],
                                         layout=ember.jagged, device=dev)
        w = ember.tensor(np.random.default_rng(4).standard_normal((5, 3)).astype(np.float32))
        e = F.embedding(ids, w.to(dev))
        return [e]
    _run(prog)


def test_nested_on_cuda_with_cpu_weight_raises_device_mix():
    nt = _nt("cuda")
    with pytest.raises(RuntimeError, match="cuda|cpu|device"):
        ember.nn.functional.linear(nt, ember.ones(3, 6))


def test_multihead_attention_fast_path_and_cuda_method():
    def prog(dev):
        ember.manual_seed(0)
        mha = ember.nn.MultiheadAttention(6, 2, batch_first=True).eval().to(dev)
        ns = ember.nested.nested_tensor([ember.tensor(a) for a in _data((2, 3))])
        ns = ns.cuda() if dev == "cuda" else ns
        assert ns.device.type == dev and ns.is_cuda == (dev == "cuda")
        with ember.no_grad():
            out, w = mha(ns, ns, ns)
        return [list(out.unbind()), w]
    _run(prog, tol=1e-5)


def test_unary_binary_table_on_cuda():
    """The CPU suite's op table (tests/test_nested.py) through CUDA nested tensors: the
    same values, or the same refusal (ops torch has no nested kernel for)."""
    pytest.importorskip("torch")
    from tests.test_nested import _BINARY_NAMES, _F_NAMES, _UNARY_NAMES
    F = ember.nn.functional

    def call(f, *args, **kw):
        try:
            return f(*args, **kw)
        except NotImplementedError as e:
            return f"NotImplementedError: {e}"

    def prog(dev):
        nt = _nt(dev)
        other = ember.nested.nested_tensor_from_jagged(_nt(dev, seed=5).values().abs() + 0.5,
                                                       nt.offsets())
        out = []
        for name in _UNARY_NAMES:
            x = nt.abs() + 0.1 if name in ("log", "log2", "log10", "sqrt", "rsqrt", "lgamma",
                                         "digamma", "logit") else nt
            if name in ("asin", "acos", "atanh", "erfinv", "logit"):
                x = nt.tanh() * 0.9 if name != "logit" else nt.sigmoid()
            out.append(call(getattr(ember, name), x))
        for name in _F_NAMES:
            if name == "dropout":
                out.append(F.dropout(nt, 0.5, training=False))
            else:
                out.append(call(getattr(F, name), nt))
        for name in _BINARY_NAMES:
            a, b = (nt.abs(), other) if name in ("pow", "fmod", "remainder", "xlogy",
                                                  "floor_divide") else (nt, other)
            if name == "bitwise_and":
                a, b = (nt > 0), (other > 1)
            out.append(call(getattr(ember, name), a, b))
        return out
    _run(prog, tol=1e-5)
