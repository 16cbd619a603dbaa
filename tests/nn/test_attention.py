"""scaled_dot_product_attention, MultiheadAttention and the Transformer modules against
torch: values, gradients (inputs and parameters), reprs and errors; gradcheck of SDPA."""
import warnings

import numpy as np
import pytest
import torch

import ember
from tests.nn._compare import compare_module
from tests.oracle.harness import Grad, check

rng = np.random.default_rng(0)


def f32(*s):
    return rng.standard_normal(s).astype(np.float32)


def sdpa(**kw):
    return lambda L, q, k, v, *m: L.nn.functional.scaled_dot_product_attention(
        q, k, v, *m, **kw)


causal_bool = np.tril(np.ones((3, 5), dtype=bool))
some_dead = np.ones((3, 5), dtype=bool)
some_dead[1] = False

SDPA = [
    ("basic-4d", sdpa(), [Grad(f32(2, 2, 3, 4)), Grad(f32(2, 2, 5, 4)), Grad(f32(2, 2, 5, 6))]),
    ("3d", sdpa(), [Grad(f32(2, 3, 4)), Grad(f32(2, 5, 4)), Grad(f32(2, 5, 4))]),
    ("2d", sdpa(), [Grad(f32(3, 4)), Grad(f32(5, 4)), Grad(f32(5, 4))]),
    ("scale", sdpa(scale=0.3), [Grad(f32(1, 3, 4)), Grad(f32(1, 5, 4)), Grad(f32(1, 5, 4))]),
    ("causal", sdpa(is_causal=True), [Grad(f32(2, 4, 4)), Grad(f32(2, 4, 4)),
                                      Grad(f32(2, 4, 3))]),
    ("causal-rect", sdpa(is_causal=True), [Grad(f32(2, 3, 4)), Grad(f32(2, 5, 4)),
                                           Grad(f32(2, 5, 3))]),
    ("bool-mask", sdpa(), [Grad(f32(2, 3, 4)), Grad(f32(2, 5, 4)), Grad(f32(2, 5, 4)),
                           causal_bool]),
    ("bool-mask-dead-row", sdpa(), [Grad(f32(2, 3, 4)), Grad(f32(2, 5, 4)), Grad(f32(2, 5, 4)),
                                    some_dead]),
    ("float-mask", sdpa(), [Grad(f32(2, 3, 4)), Grad(f32(2, 5, 4)), Grad(f32(2, 5, 4)),
                            Grad(f32(3, 5))]),
    ("float-mask-bcast", sdpa(), [Grad(f32(2, 2, 3, 4)), Grad(f32(2, 2, 5, 4)),
                                  Grad(f32(2, 2, 5, 4)), f32(2, 1, 1, 5)]),
    ("gqa", sdpa(enable_gqa=True), [Grad(f32(1, 4, 3, 4)), Grad(f32(1, 2, 5, 4)),
                                    Grad(f32(1, 2, 5, 4))]),
    ("float64", sdpa(), [Grad(rng.standard_normal((2, 3, 4))),
                         Grad(rng.standard_normal((2, 5, 4))),
                         Grad(rng.standard_normal((2, 5, 4)))]),
    ("noncontig", lambda L, q, k, v: L.nn.functional.scaled_dot_product_attention(
        q.transpose(0, 1), k.transpose(0, 1), v.transpose(0, 1)),
     [Grad(f32(3, 2, 4)), Grad(f32(5, 2, 4)), Grad(f32(5, 2, 4))]),
    ("empty-batch", sdpa(), [f32(0, 3, 4), f32(0, 5, 4), f32(0, 5, 4)]),
    ("err-dtype", sdpa(), [f32(2, 3, 4), rng.standard_normal((2, 5, 4)), f32(2, 5, 4)]),
    ("err-causal-and-mask", sdpa(is_causal=True), [f32(2, 3, 4), f32(2, 5, 4), f32(2, 5, 4),
                                                  causal_bool]),
    ("err-head-dim", sdpa(), [f32(2, 3, 4), f32(2, 5, 3), f32(2, 5, 4)]),
    ("err-gqa", sdpa(enable_gqa=True), [f32(1, 3, 3, 4), f32(1, 2, 5, 4), f32(1, 2, 5, 4)]),
]


@pytest.mark.parametrize("name,fn,inputs", SDPA, ids=[c[0] for c in SDPA])
def test_sdpa(name, fn, inputs):
    check(fn, *inputs, rtol=1e-5, atol=1e-5)


def test_sdpa_gradcheck():
    from ember.autograd import gradcheck, gradgradcheck
    q, k, v = (ember.randn(2, s, 3, dtype=ember.float64, requires_grad=True) for s in (3, 4, 4))
    mask = ember.randn(3, 4, dtype=ember.float64)
    fn = ember.nn.functional.scaled_dot_product_attention
    assert gradcheck(lambda a, b, c: fn(a, b, c, mask), (q, k, v))
    assert gradgradcheck(lambda a, b, c: fn(a, b, c, is_causal=True), (q, k, v))


def test_sdpa_dropout():
    ember.manual_seed(0)
    q = k = ember.zeros(1, 200, 4)
    v = ember.ones(1, 200, 4)
    out = ember.nn.functional.scaled_dot_product_attention(q, k, v, dropout_p=0.25)
    # uniform weights 1/200, kept with prob 0.75 and scaled by 1/0.75: mean 1
    assert abs(float(out.mean()) - 1.0) < 0.05
    assert float(out.std()) > 0


def mha(**kw):
    return lambda L: L.nn.MultiheadAttention(4, 2, **kw)


def self_attn(**kw):
    return lambda m, x, **k: m(x, x, x, **{**kw, **k})


kpm = np.array([[False, False, True, False, True], [False, True, False, False, False]])
amask = np.triu(np.ones((5, 5), dtype=bool), 1)

MHA = [
    ("self", mha(), [Grad(f32(5, 2, 4))], {}, self_attn()),
    ("self-per-head", mha(), [Grad(f32(5, 2, 4))], {}, self_attn(average_attn_weights=False)),
    ("self-noweights", mha(), [Grad(f32(5, 2, 4))], {}, self_attn(need_weights=False)),
    ("batch_first", mha(batch_first=True), [Grad(f32(2, 5, 4))], {}, self_attn()),
    # the batch-first self-attention path (no weights, no masks): kept batch-first
    ("batch_first-no-weights", mha(batch_first=True), [Grad(f32(2, 5, 4))], {},
     self_attn(need_weights=False)),
    ("batch_first-no-weights-no-bias", mha(batch_first=True, bias=False),
     [Grad(f32(3, 6, 4))], {}, self_attn(need_weights=False)),
    ("cross", mha(), [Grad(f32(3, 2, 4)), Grad(f32(5, 2, 4)), Grad(f32(5, 2, 4))], {}, None),
    ("kdim-vdim", mha(kdim=3, vdim=6), [Grad(f32(3, 2, 4)), Grad(f32(5, 2, 3)),
                                        Grad(f32(5, 2, 6))], {}, None),
    ("kdim-vdim-noweights", mha(kdim=3, vdim=6),
     [Grad(f32(3, 2, 4)), Grad(f32(5, 2, 3)), Grad(f32(5, 2, 6))], {"need_weights": False},
     None),
    ("nobias", mha(bias=False), [Grad(f32(5, 2, 4))], {}, self_attn()),
    ("bias_kv", mha(add_bias_kv=True), [Grad(f32(5, 2, 4))], {}, self_attn()),
    ("zero_attn", mha(add_zero_attn=True), [Grad(f32(5, 2, 4))], {}, self_attn()),
    ("bias_kv-zero_attn-masks", mha(add_bias_kv=True, add_zero_attn=True),
     [Grad(f32(5, 2, 4))], {"key_padding_mask": kpm, "attn_mask": amask}, self_attn()),
    ("key_padding_mask", mha(), [Grad(f32(5, 2, 4))], {"key_padding_mask": kpm}, self_attn()),
    ("key_padding_mask-noweights", mha(), [Grad(f32(5, 2, 4))], {"key_padding_mask": kpm},
     self_attn(need_weights=False)),
    ("attn_mask-bool", mha(), [Grad(f32(5, 2, 4))], {"attn_mask": amask}, self_attn()),
    ("attn_mask-float", mha(), [Grad(f32(5, 2, 4))], {"attn_mask": f32(5, 5)}, self_attn()),
    ("attn_mask-3d", mha(), [Grad(f32(5, 2, 4))], {"attn_mask": f32(4, 5, 5)}, self_attn()),
    ("attn_mask-causal", mha(), [Grad(f32(5, 2, 4))],
     {"attn_mask": amask, "is_causal": True, "need_weights": False}, self_attn()),
    ("unbatched", mha(), [Grad(f32(5, 4))], {}, self_attn()),
    ("unbatched-kpm", mha(), [Grad(f32(5, 4))], {"key_padding_mask": kpm[0]}, self_attn()),
    ("eval-batch_first", mha(batch_first=True), [f32(2, 5, 4)], {}, self_attn()),
]


@pytest.mark.parametrize("name,make,args,kwargs,call", MHA, ids=[c[0] for c in MHA])
def test_multihead_attention(name, make, args, kwargs, call):
    compare_module(make, args, kwargs, train=not name.startswith("eval"), call=call)


def test_mha_parameter_names_and_errors():
    for lib in (torch, ember):
        names = [n for n, _ in lib.nn.MultiheadAttention(4, 2).named_parameters()]
        assert names == ["in_proj_weight", "in_proj_bias", "out_proj.weight", "out_proj.bias"]
        names = [n for n, _ in lib.nn.MultiheadAttention(4, 2, kdim=3, vdim=5,
                                                         add_bias_kv=True).named_parameters()]
        assert names == ["q_proj_weight", "k_proj_weight", "v_proj_weight", "in_proj_bias",
                         "bias_k", "bias_v", "out_proj.weight", "out_proj.bias"]
        with pytest.raises(AssertionError):
            lib.nn.MultiheadAttention(5, 2)
        with pytest.raises(ValueError):
            lib.nn.MultiheadAttention(0, 2)
        m = lib.nn.MultiheadAttention(4, 2)
        x = lib.randn(5, 2, 4)
        with pytest.raises(AssertionError):
            m(x, x, lib.randn(5, 4))
        with pytest.raises(RuntimeError):
            m(x, x, x, attn_mask=lib.zeros(4, 5, dtype=lib.bool))
        with pytest.raises(AssertionError):
            m(x, x, x, key_padding_mask=lib.zeros(2, 4, dtype=lib.bool))
        with pytest.raises(RuntimeError):
            m(x, x, x, is_causal=True)
        with pytest.raises(AssertionError):
            m(lib.randn(5, 2, 3), lib.randn(5, 2, 3), lib.randn(5, 2, 3))


def enc_layer(**kw):
    return lambda L: L.nn.TransformerEncoderLayer(4, 2, 8, dropout=0.0, **kw)


def dec_layer(**kw):
    return lambda L: L.nn.TransformerDecoderLayer(4, 2, 8, dropout=0.0, **kw)


def stack_enc(L):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return L.nn.TransformerEncoder(L.nn.TransformerEncoderLayer(4, 2, 8, dropout=0.0), 2,
                                       L.nn.LayerNorm(4))


def stack_dec(L):
    return L.nn.TransformerDecoder(L.nn.TransformerDecoderLayer(4, 2, 8, dropout=0.0), 2)


def transformer(**kw):
    def make(L):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return L.nn.Transformer(4, 2, 2, 1, 8, dropout=0.0, **kw)
    return make


causal5 = np.triu(np.full((5, 5), -np.inf, dtype=np.float32), 1)

TRANSFORMERS = [
    ("enc", enc_layer(), [Grad(f32(5, 2, 4))], {}),
    ("enc-norm_first", enc_layer(norm_first=True), [Grad(f32(5, 2, 4))], {}),
    ("enc-gelu", enc_layer(activation="gelu"), [Grad(f32(5, 2, 4))], {}),
    ("enc-callable", lambda L: L.nn.TransformerEncoderLayer(4, 2, 8, 0.0, L.nn.functional.silu),
     [Grad(f32(5, 2, 4))], {}),
    ("enc-module-act", lambda L: L.nn.TransformerEncoderLayer(4, 2, 8, 0.0, L.nn.Tanh()),
     [Grad(f32(5, 2, 4))], {}),
    ("enc-batch_first", enc_layer(batch_first=True), [Grad(f32(2, 5, 4))], {}),
    ("enc-nobias", enc_layer(bias=False), [Grad(f32(5, 2, 4))], {}),
    ("enc-masks", enc_layer(), [Grad(f32(5, 2, 4))],
     {"src_mask": causal5, "src_key_padding_mask": kpm}),
    ("enc-unbatched", enc_layer(), [Grad(f32(5, 4))], {}),
    ("dec", dec_layer(), [Grad(f32(3, 2, 4)), Grad(f32(5, 2, 4))], {}),
    ("dec-norm_first", dec_layer(norm_first=True), [Grad(f32(3, 2, 4)), Grad(f32(5, 2, 4))], {}),
    ("dec-masks", dec_layer(), [Grad(f32(3, 2, 4)), Grad(f32(5, 2, 4))],
     {"tgt_mask": causal5[:3, :3], "memory_key_padding_mask": kpm}),
    ("encoder-stack", stack_enc, [Grad(f32(5, 2, 4))], {"mask": causal5}),
    ("decoder-stack", stack_dec, [Grad(f32(3, 2, 4)), Grad(f32(5, 2, 4))], {}),
    ("transformer", transformer(), [Grad(f32(5, 2, 4)), Grad(f32(3, 2, 4))], {}),
    ("transformer-masks", transformer(batch_first=True, norm_first=True),
     [Grad(f32(2, 5, 4)), Grad(f32(2, 3, 4))],
     {"tgt_mask": causal5[:3, :3], "src_key_padding_mask": kpm}),
]


@pytest.mark.parametrize("name,make,args,kwargs", TRANSFORMERS,
                         ids=[c[0] for c in TRANSFORMERS])
def test_transformer_modules(name, make, args, kwargs):
    compare_module(make, args, kwargs, train=True, rtol=1e-4, atol=1e-5)


def test_transformer_eval_no_grad():
    tm, em = transformer()(torch), transformer()(ember)
    from tests.nn._compare import copy_state
    copy_state(tm, em)
    tm.eval()
    em.eval()
    src, tgt = f32(2, 5, 4), f32(2, 3, 4)
    with torch.no_grad():
        to = tm(torch.from_numpy(src).transpose(0, 1), torch.from_numpy(tgt).transpose(0, 1))
    with ember.no_grad():
        eo = em(ember.tensor(src).transpose(0, 1), ember.tensor(tgt).transpose(0, 1))
    np.testing.assert_allclose(eo.cpu().numpy(), to.cpu().numpy(), rtol=1e-4, atol=1e-5)


def test_square_subsequent_mask_and_errors():
    for n in (0, 1, 4):
        a = ember.nn.Transformer.generate_square_subsequent_mask(n)
        b = torch.nn.Transformer.generate_square_subsequent_mask(n)
        np.testing.assert_array_equal(a.cpu().numpy(), b.cpu().numpy())
        assert a.dtype is ember.float32
    assert ember.nn.Transformer.generate_square_subsequent_mask(
        3, dtype=ember.float64).dtype is ember.float64
    for lib in (torch, ember):
        with pytest.raises(RuntimeError):
            lib.nn.TransformerEncoderLayer(4, 2, activation="tanh")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            m = lib.nn.Transformer(4, 2, 1, 1, 8)
        with pytest.raises(RuntimeError):
            m(lib.randn(5, 2, 4), lib.randn(3, 3, 4))
        with pytest.raises(RuntimeError):
            m(lib.randn(5, 2, 3), lib.randn(3, 2, 3))


def test_encoder_nested_tensor_warning():
    for lib in (torch, ember):
        with pytest.warns(UserWarning, match="enable_nested_tensor is True"):
            lib.nn.TransformerEncoder(lib.nn.TransformerEncoderLayer(4, 2), 2)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            lib.nn.TransformerEncoder(lib.nn.TransformerEncoderLayer(4, 2, batch_first=True), 2)


def test_transformer_init_and_deepcopy():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = ember.nn.Transformer(8, 2, 2, 2, 16)
    layers = m.encoder.layers
    assert layers[0].linear1.weight is not layers[1].linear1.weight
    for p in m.parameters():
        if p.dim() > 1:
            fan_in, fan_out = p.shape[1], p.shape[0]
            bound = (6 / (fan_in + fan_out)) ** 0.5
            assert float(p.abs().max()) <= bound + 1e-6


def _r(L, shape, transpose_last=False):
    g = torch.Generator().manual_seed(sum(shape))
    arr = torch.randn(*shape, generator=g).numpy()
    t = L.tensor(arr.copy())
    if transpose_last:
        t = t.transpose(-1, -2)
    return t.requires_grad_()


SDPA_NAMES = [
    ("4d", (2, 2, 3, 4), (2, 2, 5, 4), (2, 2, 5, 4), {}),
    ("4d-causal", (2, 2, 3, 4), (2, 2, 3, 4), (2, 2, 3, 4), {"is_causal": True}),
    ("4d-mask2d", (2, 2, 3, 4), (2, 2, 5, 4), (2, 2, 5, 4), {"mask": (3, 5)}),
    ("4d-mask4d", (2, 2, 3, 4), (2, 2, 5, 4), (2, 2, 5, 4), {"mask": (2, 1, 1, 5)}),
    ("4d-mask3d", (2, 2, 3, 4), (2, 2, 5, 4), (2, 2, 5, 4), {"mask": (2, 3, 5)}),
    ("4d-dropout", (2, 2, 3, 4), (2, 2, 5, 4), (2, 2, 5, 4), {"dropout_p": 0.5}),
    ("4d-ev", (2, 2, 3, 4), (2, 2, 5, 4), (2, 2, 5, 6), {}),
    ("4d-batch-bcast", (2, 2, 3, 4), (1, 2, 5, 4), (1, 2, 5, 4), {}),
    ("4d-head-bcast", (1, 4, 3, 4), (1, 1, 5, 4), (1, 1, 5, 4), {}),
    ("4d-gqa", (1, 4, 3, 4), (1, 2, 5, 4), (1, 2, 5, 4), {"enable_gqa": True}),
    ("4d-k-stride", (2, 2, 3, 4), (2, 2, 4, 5), (2, 2, 5, 4), {"transpose_k": True}),
    ("3d", (2, 3, 4), (2, 5, 4), (2, 5, 4), {}),
    ("2d", (3, 4), (5, 4), (5, 4), {}),
    ("5d", (2, 2, 2, 3, 4), (2, 2, 2, 5, 4), (2, 2, 2, 5, 4), {}),
]


@pytest.mark.parametrize("name,qs,ks,vs,kw", SDPA_NAMES, ids=[c[0] for c in SDPA_NAMES])
def test_sdpa_node_name(name, qs, ks, vs, kw):
    kw = dict(kw)
    mask = kw.pop("mask", None)
    transpose_k = kw.pop("transpose_k", False)
    names = []
    for L in (torch, ember):
        if mask is not None:
            kw["attn_mask"] = L.tensor(np.ones(mask, np.float32))
        out = L.nn.functional.scaled_dot_product_attention(
            _r(L, qs), _r(L, ks, transpose_k), _r(L, vs), **kw)
        names.append(out.grad_fn.name())
    assert names[1] == names[0]


def _bool_mask_with_dead_row(L, S):
    m = np.tril(np.ones((L, S), dtype=bool), 1)
    m[2] = False
    return m


FUSED = [
    ("plain", {}),
    ("scale", {"scale": 0.3}),
    ("scores-beyond-60", {"mask": "float+100"}),   # the row maximum subtracted (no overflow)
    ("causal", {"is_causal": True}),
    ("float-mask-grad", {"mask": "float"}),
    ("float-mask-4d", {"mask": "float4d"}),
    ("bool-mask-dead-row", {"mask": "bool"}),
    ("float64", {"dtype": np.float64}),
    ("long-head-dim", {"E": 40}),
]


@pytest.mark.parametrize("name,kw", FUSED, ids=[c[0] for c in FUSED])
def test_sdpa_fused_node(name, kw):
    """The fused attention node (batch dims equal, no dropout) against torch: output, the
    gradients of q, k, v and of a float mask, a fully masked row; the 4-D output is laid
    out as torch's CPU kernel lays it (for a contiguous and a heads-split query)."""
    kw = dict(kw)
    dt, E = kw.pop("dtype", np.float32), kw.pop("E", 8)
    mask = kw.pop("mask", None)
    N, H, L, S = 3, 2, 6, 7
    shapes = [(N, H, L, E), (N, H, S, E), (N, H, S, 5)]
    if kw.get("is_causal"):
        shapes[1], shapes[2] = (N, H, L, E), (N, H, L, 5)
    inputs = [Grad(rng.standard_normal(s).astype(dt)) for s in shapes]
    if mask == "float":
        inputs.append(Grad(rng.standard_normal((L, S)).astype(dt)))
    elif mask == "float+100":
        inputs.append(Grad((rng.standard_normal((L, S)) + 100).astype(dt)))
    elif mask == "float4d":
        inputs.append(Grad(rng.standard_normal((N, 1, L, S)).astype(dt)))
    elif mask == "bool":
        inputs.append(_bool_mask_with_dead_row(L, S))
    check(lambda lib, q, k, v, *m: lib.nn.functional.scaled_dot_product_attention(
        q, k, v, *m, **kw), *inputs, rtol=1e-5, atol=1e-5)
    q, k, v = (ember.from_numpy(x.arr.copy()).requires_grad_() for x in inputs[:3])
    out = ember.nn.functional.scaled_dot_product_attention(q, k, v, **kw)
    assert type(out.grad_fn).__qualname__ == "Attention"   # the fused node, not the composite
    if ember.device(out.device).type == "cpu":   # the layout of torch's CPU kernel
        tq, tk, tv = (torch.from_numpy(x.arr.copy()) for x in inputs[:3])
        assert out.stride() == torch.nn.functional.scaled_dot_product_attention(
            tq, tk, tv, **kw).stride()
        assert ember.nn.functional.scaled_dot_product_attention(
            *(t.transpose(1, 2).contiguous().transpose(1, 2) for t in (q, k, v)),
            **kw).stride() == torch.nn.functional.scaled_dot_product_attention(
            *(t.transpose(1, 2).contiguous().transpose(1, 2) for t in (tq, tk, tv)),
            **kw).stride()


def test_sdpa_fused_gradgradcheck():
    """Double backward through the fused node: its backward recomputes the weights with
    differentiable ops when a graph of the gradient is built."""
    from ember.autograd import gradgradcheck
    q, k, v = (ember.randn(2, 2, s, 3, dtype=ember.float64, requires_grad=True)
               for s in (3, 4, 4))
    mask = ember.randn(3, 4, dtype=ember.float64, requires_grad=True)
    dead = ember.tensor(_bool_mask_with_dead_row(3, 4))
    fn = ember.nn.functional.scaled_dot_product_attention
    assert gradgradcheck(lambda a, b, c, m: fn(a, b, c, m), (q, k, v, mask))
    assert gradgradcheck(lambda a, b, c: fn(a, b, c, dead), (q, k, v))


@pytest.mark.parametrize("need_weights", [True, False])
def test_mha_output_node_names(need_weights):
    """The batch-first self-attention fast path ends in the node torch's path ends in."""
    names = []
    for lib in (torch, ember):
        lib.manual_seed(0)
        m = lib.nn.MultiheadAttention(8, 2, batch_first=True)
        x = lib.randn(2, 3, 8)
        o, w = m(x, x, x, need_weights=need_weights)
        names.append((o.grad_fn.name(), None if w is None else w.grad_fn.name()))
    assert names[1] == names[0]


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("mask", [None, "float4d", "bool"])
def test_sdpa_fused_node_split(monkeypatch, threads, mask):
    """Scores large enough for the fused node's two-thread split over dim 0 (an odd batch,
    a per-batch float mask sliced with it, a dead row), with one and two threads: output
    and gradients against torch."""
    from ember._ops import attention
    monkeypatch.setattr(attention, "_cpu_threads", lambda: threads)
    N, H, L, S, E = 5, 4, 64, 70, 16
    assert N * H * L * S >= attention._SPLIT_MIN
    inputs = [Grad(rng.standard_normal(s).astype(np.float32))
              for s in ((N, H, L, E), (N, H, S, E), (N, H, S, 24))]
    if mask == "float4d":
        inputs.append(Grad(rng.standard_normal((N, 1, L, S)).astype(np.float32)))
    elif mask == "bool":
        inputs.append(_bool_mask_with_dead_row(L, S))
    check(lambda lib, q, k, v, *m: lib.nn.functional.scaled_dot_product_attention(
        q, k, v, *m), *inputs, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("threads", [1, 2])
def test_mha_packed_attention_node(monkeypatch, threads):
    """Batch-first self-attention without dropout or masks runs one PackedAttention node on
    the in-projection's output: against torch (output, input and parameter gradients), with
    scores large enough for the two-thread split, on one and two threads."""
    from ember._ops import attention
    monkeypatch.setattr(attention, "_cpu_threads", lambda: threads)
    calls = []
    forward = attention.PackedAttention.forward
    monkeypatch.setattr(attention.PackedAttention, "forward",
                        staticmethod(lambda *a: calls.append(1) or forward(*a)))
    compare_module(lambda L: L.nn.MultiheadAttention(32, 4, batch_first=True),
                   [Grad(f32(5, 64, 32))], {}, call=self_attn(need_weights=False))
    assert calls


def test_mha_packed_attention_gradgradcheck():
    """Double backward through PackedAttention: its backward is composed of differentiable
    ops when a graph of the gradient is built."""
    from ember.autograd import gradgradcheck
    ember.manual_seed(0)
    m = ember.nn.MultiheadAttention(4, 2, batch_first=True).double()
    x = ember.randn(2, 3, 4, dtype=ember.float64, requires_grad=True)
    f = lambda x: m(x, x, x, need_weights=False)[0]
    assert gradgradcheck(f, (x,))
    g = ember.randn(2, 3, 4, dtype=ember.float64)
    composed, = ember.autograd.grad(f(x), x, g, create_graph=True)
    fused, = ember.autograd.grad(f(x), x, g)
    np.testing.assert_allclose(composed.detach().cpu().numpy(), fused.cpu().numpy(),
                               rtol=1e-10, atol=1e-12)
