"""Defects found by running pytorch/tutorials' intermediate_source/ and advanced_source/
programs on ember (bench/script_probe.py); each case is a small program reproducing the
defect, run on both ember and torch and compared: values, dtypes and shapes, or the
exception type."""
import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")

from tests.program_compare import run as _run, same  # noqa: E402


def _exp_function(m):
    """forward_ad_usage: a custom Function keeps its output on ctx for jvp. The output has
    its history when jvp runs (PyTorch records first), so the tangent is differentiable."""
    class Fn(m.autograd.Function):
        @staticmethod
        def forward(ctx, foo):
            result = m.exp(foo)
            ctx.result = result
            return result

        @staticmethod
        def jvp(ctx, gI):
            return gI * ctx.result

    primal = m.tensor([0.5, -1.0, 2.0], dtype=m.float64, requires_grad=True)
    tangent = m.tensor([1.0, 2.0, -3.0], dtype=m.float64)
    with m.autograd.forward_ad.dual_level():
        out = Fn.apply(m.autograd.forward_ad.make_dual(primal, tangent))
        jvp = m.autograd.forward_ad.unpack_dual(out).tangent
        flags = [jvp.requires_grad, type(jvp.grad_fn).__name__]
        grad, = m.autograd.grad(jvp.sum(), primal)
    return [jvp, grad, flags]


def _predict(m, weight, bias, x):
    return m.nn.functional.linear(x, weight, bias).tanh()


def _hessians(m):
    """jacobians_hessians: the Hessian by jacfwd(jacfwd(f)) (a forward level inside
    another), against hessian (jacfwd(jacrev)) and jacrev(jacrev)."""
    weight = m.tensor([[0.5, -1.0, 0.3], [1.2, 0.1, -0.7]], dtype=m.float64)
    bias = m.tensor([0.1, -0.2], dtype=m.float64)
    x = m.tensor([0.4, -0.3, 0.9], dtype=m.float64)
    f = lambda w, b, v: _predict(m, w, b, v)  # noqa: E731
    fwdfwd = m.func.jacfwd(m.func.jacfwd(f, argnums=2), argnums=2)(weight, bias, x)
    return [fwdfwd, m.func.hessian(f, argnums=2)(weight, bias, x),
            m.func.jacrev(m.func.jacrev(f, argnums=2), argnums=2)(weight, bias, x),
            m.func.jacfwd(m.func.jacfwd(f, argnums=(0, 1)), argnums=2)(weight, bias, x)]


def _jvp_of_jvp(m):
    """A jvp whose function takes a jvp with the outer primal as its tangent:
    d/da [a * a] along x = 2 a x (both tangents count)."""
    a = m.tensor([0.3, -1.2, 2.0], dtype=m.float64)
    inner = lambda a: m.func.jvp(lambda b: (b * a).sin(), (a,), (a,))[1]  # noqa: E731
    return list(m.func.jvp(inner, (a,), (a.cos(),)))


def _jvp_in_dual_level(m):
    """func.jvp inside the caller's own dual level: PyTorch's RuntimeError."""
    a = m.tensor([0.3, -1.2])
    with m.autograd.forward_ad.dual_level():
        d = m.autograd.forward_ad.make_dual(a, m.ones_like(a))
        return m.func.jvp(lambda b: b.sum(), (d,), (a,))


def _grad_keeps_cotangent_tangent(m):
    """autograd.grad's grad_outputs keep their forward-AD tangent (create_graph off)."""
    fw = m.autograd.forward_ad
    x = m.tensor([0.5, 2.0], requires_grad=True)
    with fw.dual_level():
        v = fw.make_dual(m.tensor([1.0, -1.0]), m.tensor([3.0, 4.0]))
        g, = m.autograd.grad(x.exp(), x, v)
        return [fw.unpack_dual(g).primal, fw.unpack_dual(g).tangent]


def _gradgradcheck_draws(m):
    """custom_function_double_backward: gradgradcheck's random grad_outputs come from the
    default generator as PyTorch's (testing.make_tensor in [-1, 1)), so the seeded
    program's next random numbers agree."""
    m.manual_seed(0)
    x = m.rand(2, 3, dtype=m.float64, requires_grad=True)
    ok = m.autograd.gradgradcheck(lambda a: (a.exp() * a, a.sum()), x)
    return [ok, m.rand(4), m.rand(2, dtype=m.float64)]


def _saved_attributes(m):
    """autograd_saved_tensors_hooks: a node's saved tensors under PyTorch's names
    (grad_fn._saved_self, _saved_other, _saved_result, _saved_mat2, _saved_exponent)."""
    a = m.tensor([0.5, -1.0, 2.0], requires_grad=True)
    b = m.tensor([1.5, 2.0, -0.5], requires_grad=True)
    mul, exp, mm = a * b, a.exp(), a[None].mm(b[:, None])
    power, scaled, sin = a.pow(b), a * 2.5, a.sin()
    return [mul.grad_fn._saved_self is a, mul.grad_fn._saved_other is b,
            exp.grad_fn._saved_result.equal(exp), exp.grad_fn._saved_result is exp,
            mm.grad_fn._saved_self, mm.grad_fn._saved_mat2, sin.grad_fn._saved_self,
            power.grad_fn._saved_self, power.grad_fn._saved_exponent,
            power.grad_fn._saved_result, a.pow(2).grad_fn._saved_exponent,
            scaled.grad_fn._saved_other, scaled.grad_fn._saved_self,
            a.sigmoid().grad_fn._saved_result]


def _saved_attribute_missing(m):
    return (m.ones(2, requires_grad=True) * 3).grad_fn._saved_result


def _saved_attribute_after_backward(m):
    a = m.ones(2, requires_grad=True)
    y = a.exp()
    y.sum().backward()
    return y.grad_fn._saved_result


def _pow_scalar_saves_input_only(m):
    """x ** 2 saves x alone, as PyTorch's PowBackward0: one pack-hook call, and a later
    access reads through the unpack hook each time."""
    packed, unpacked = [], []

    def pack(t):
        packed.append(t.shape)
        return t

    def unpack(t):
        unpacked.append(t.shape)
        return t
    x = m.tensor([1.0, -2.0, 3.0], requires_grad=True)
    with m.autograd.graph.saved_tensors_hooks(pack, unpack):
        y = x.pow(2)
    first = y.grad_fn._saved_self
    y.sum().backward()
    return [len(packed), len(unpacked), first, x.grad]


def _sdpa_inputs(m, transposed=False, shape=(2, 3, 5, 4)):
    g = m.Generator().manual_seed(0)
    if transposed:   # heads split from a projection: (N, L, H, E) in memory
        n, h, L, e = shape
        return [m.randn(n, L, h, e, generator=g).transpose(1, 2) for _ in range(3)]
    return [m.randn(*shape, generator=g) for _ in range(3)]


def _sdpa_layout(m, transposed, backend=None, **kw):
    """scaled_dot_product_attention's output layout follows PyTorch's CPU kernel: its flash
    kernel keeps the query's layout (contiguous stays contiguous, so .view works on it),
    its math kernel (dropout, sdpa_kernel(MATH), 3-D inputs) is contiguous."""
    q, k, v = _sdpa_inputs(m, transposed)
    attention = m.nn.attention
    if backend is not None:
        with attention.sdpa_kernel(getattr(attention.SDPBackend, backend)):
            out = m.nn.functional.scaled_dot_product_attention(q, k, v, **kw)
    else:
        out = m.nn.functional.scaled_dot_product_attention(q, k, v, **kw)
    return [out.stride(), out.is_contiguous(), out if not kw.get("dropout_p") else None]


def _sdpa_restricted(m, backend, three_d=False, **kw):
    """sdpa_kernel with kernels PyTorch's CPU lacks for the inputs: its RuntimeError."""
    import warnings
    q, k, v = _sdpa_inputs(m, shape=(3, 5, 4) if three_d else (2, 3, 5, 4))
    attention = m.nn.attention
    backends = [getattr(attention.SDPBackend, b) for b in backend.split("+")]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with attention.sdpa_kernel(backends):
            return m.nn.functional.scaled_dot_product_attention(q, k, v, **kw)


def _causal_biases(m, variant, L=2, S=5):
    """scaled_dot_product_attention's tutorial: nn.attention.bias's causal masks as
    attn_mask (upper left is is_causal's mask, lower right aligns the last query with the
    last key)."""
    from importlib import import_module
    bias = import_module(m.__name__ + ".nn.attention.bias")
    q, k, v = (m.randn(2, 3, n, 4, generator=m.Generator().manual_seed(n))
               for n in (L, S, S))
    b = getattr(bias, "causal_" + variant)(L, S)
    out = m.nn.functional.scaled_dot_product_attention(q, k, v, b)
    causal = m.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True)
    return [out, m.allclose(out, causal), isinstance(b, m.Tensor), b._materialize(),
            int(b.variant), b.seq_len_q, b.seq_len_kv]


def _causal_bias_repr(m):
    from importlib import import_module
    bias = import_module(m.__name__ + ".nn.attention.bias")
    return [repr(bias.causal_upper_left(2, 3)).replace(m.__name__, "torch"),
            repr(bias.causal_lower_right(3, 2)).replace(m.__name__, "torch")]


def _setitem(m, shape, key, vshape, grad=False):
    """seq2seq_translation: decoder_attentions[di] = attention of shape (1, L) fills a row
    of L: the value's leading size-1 dims are dropped, as PyTorch does (then PyTorch's
    expand errors name the shapes)."""
    x = m.zeros(shape)
    v = m.arange(float(np.prod(vshape))).reshape(vshape).requires_grad_(grad)
    x[key] = v * 2
    if grad:
        x.square().sum().backward()
        return [x, v.grad]
    return x


_OP_COUNT = [0]


def _custom_op(m):
    """python_custom_ops: a NumPy function as a custom operator (library.custom_op) with a
    fake kernel and a registered backward: values, gradients, its node name and
    ops.<ns>.<name>; a mutating op bumps its output's version."""
    _OP_COUNT[0] += 1
    ns = f"tilib{_OP_COUNT[0]}"

    @m.library.custom_op(f"{ns}::window", mutates_args=())
    def window(x: m.Tensor, box: list[int]) -> m.Tensor:
        a, b = box
        return m.from_numpy(x.numpy()[a:b] * 2.0)

    @window.register_fake
    def _(x, box):
        return x.new_empty(box[1] - box[0], *x.shape[1:])

    def backward(ctx, grad):
        g = grad.new_zeros(ctx.shape)
        g[ctx.box[0]:ctx.box[1]] = grad * 2.0
        return g, None

    def setup_context(ctx, inputs, output):
        ctx.box, ctx.shape = inputs[1], inputs[0].shape

    window.register_autograd(backward, setup_context=setup_context)
    x = m.arange(12.0).reshape(4, 3).requires_grad_()
    y = window(x, [1, 3])
    (y * y).sum().backward()
    via_ops = getattr(m.ops, ns).window(x.detach(), [0, 2])

    @m.library.custom_op(f"{ns}::numpy_sin", mutates_args={"output"}, device_types="cpu")
    def numpy_sin(input: m.Tensor, output: m.Tensor) -> None:
        import numpy
        numpy.sin(input.numpy(), out=output.numpy())

    out = m.empty(3)
    before = out._version
    result = numpy_sin(m.tensor([0.5, 1.0, 2.0]), out)
    return [y, x.grad, type(y.grad_fn).__name__.replace(ns, "NS"), via_ops, out,
            out._version - before,
            result, type(window).__name__]


CASES = {
    "custom_op_autograd_and_ops": _custom_op,
    "setitem_value_leading_ones_row": lambda m: _setitem(m, (3, 4), 1, (1, 4)),
    "setitem_value_leading_ones_many": lambda m: _setitem(m, (3, 4), (slice(None),), (1, 1, 3, 4)),
    "setitem_value_leading_ones_scalar": lambda m: _setitem(m, (2, 3), (Ellipsis,), (1, 1)),
    "setitem_value_leading_ones_advanced": lambda m: _setitem(m, (3, 4), [0, 2], (1, 2, 4)),
    "setitem_value_leading_ones_mask":
        lambda m: _setitem(m, (3, 4), m.tensor([True, False, True]), (1, 1, 2, 4)),
    "setitem_value_leading_ones_grad": lambda m: _setitem(m, (3, 4), 0, (1, 4), True),
    "setitem_value_too_many_dims": lambda m: _setitem(m, (3, 4), 0, (2, 4)),
    "setitem_value_mismatch": lambda m: _setitem(m, (3, 4, 5), 0, (4, 2)),
    "setitem_advanced_mismatch_after_strip": lambda m: _setitem(m, (3, 4), [0, 2], (1, 3, 4)),
    "causal_bias_upper_left": lambda m: _causal_biases(m, "upper_left"),
    "causal_bias_lower_right": lambda m: _causal_biases(m, "lower_right"),
    "causal_bias_lower_right_square": lambda m: _causal_biases(m, "lower_right", 4, 4),
    "causal_bias_repr": _causal_bias_repr,
    "sdpa_layout_contiguous_query": lambda m: _sdpa_layout(m, False),
    "sdpa_layout_transposed_query": lambda m: _sdpa_layout(m, True),
    "sdpa_layout_math_kernel": lambda m: _sdpa_layout(m, True, "MATH"),
    "sdpa_layout_dropout": lambda m: _sdpa_layout(m, True, dropout_p=0.2),
    "sdpa_layout_causal": lambda m: _sdpa_layout(m, True, "FLASH_ATTENTION", is_causal=True),
    "sdpa_view_after_contiguous": lambda m: _sdpa_layout(m, False)[2].view(2, -1),
    "sdpa_efficient_only_raises": lambda m: _sdpa_restricted(m, "EFFICIENT_ATTENTION"),
    "sdpa_cudnn_only_raises": lambda m: _sdpa_restricted(m, "CUDNN_ATTENTION"),
    "sdpa_flash_only_3d_raises": lambda m: _sdpa_restricted(m, "FLASH_ATTENTION", True),
    "sdpa_flash_only_dropout_raises":
        lambda m: _sdpa_restricted(m, "FLASH_ATTENTION", dropout_p=0.1),
    "sdpa_flash_or_efficient_runs": lambda m: _sdpa_restricted(m, "FLASH_ATTENTION+EFFICIENT_ATTENTION"),
    "sdpa_backend_str": lambda m: [str(m.nn.attention.SDPBackend.MATH),
                                   f"{m.nn.attention.SDPBackend.FLASH_ATTENTION}",
                                   repr(m.nn.attention.SDPBackend.EFFICIENT_ATTENTION)],
    "saved_tensor_attributes": _saved_attributes,
    "saved_attribute_missing_raises": _saved_attribute_missing,
    "saved_attribute_after_backward_raises": _saved_attribute_after_backward,
    "pow_scalar_saves_input_only": _pow_scalar_saves_input_only,
    "gradgradcheck_draws_from_default_generator": _gradgradcheck_draws,
    "function_jvp_sees_recorded_output": _exp_function,
    "hessian_jacfwd_jacfwd": _hessians,
    "jvp_of_jvp_both_tangents": _jvp_of_jvp,
    "func_jvp_inside_dual_level_raises": _jvp_in_dual_level,
    "grad_keeps_cotangent_tangent": _grad_keeps_cotangent_tangent,
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_same_as_torch(name):
    got, want = _run(CASES[name], ember), _run(CASES[name], torch)
    assert same(got, want, rtol=1e-5, atol=1e-6, strict_types=True), (got, want)


@pytest.mark.parametrize("name", ["setitem_value_too_many_dims", "setitem_value_mismatch",
                                  "setitem_advanced_mismatch_after_strip"])
def test_setitem_error_messages(name):
    messages = []
    for lib in (ember, torch):
        with pytest.raises(RuntimeError) as info:
            CASES[name](lib)
        messages.append(str(info.value))
    assert messages[0] == messages[1]


def test_nested_tensors_built():
    """scaled_dot_product_attention's tutorial builds torch.nested tensors (ember.nested was
    an AttributeError, then NotImplementedError): now built, padded as torch pads them
    (the nested ops' own tests: tests/test_nested.py)."""
    got = ember.nested.nested_tensor([ember.ones(2, 3), ember.ones(4, 3)], layout=ember.jagged)
    want = torch.nested.nested_tensor([torch.ones(2, 3), torch.ones(4, 3)], layout=torch.jagged)
    assert got.is_nested and got.dim() == want.dim() == 3
    np.testing.assert_array_equal(got.to_padded_tensor(0.0).numpy(),
                                  want.to_padded_tensor(0.0).numpy())


def _torch_vit(image_size, patch, layers, heads, hidden, mlp_dim, num_classes):
    """torchvision's VisionTransformer written in plain torch.nn (torchvision is not
    installed beside the oracle): its attribute names and its initialisation order."""
    import math
    from collections import OrderedDict
    tnn = torch.nn

    class Block(tnn.Module):
        def __init__(self):
            super().__init__()
            self.ln_1 = tnn.LayerNorm(hidden, eps=1e-6)
            self.self_attention = tnn.MultiheadAttention(hidden, heads, batch_first=True)
            self.dropout = tnn.Dropout(0.0)
            self.ln_2 = tnn.LayerNorm(hidden, eps=1e-6)
            self.mlp = tnn.Sequential(tnn.Linear(hidden, mlp_dim), tnn.GELU(), tnn.Dropout(0.0),
                                      tnn.Linear(mlp_dim, hidden), tnn.Dropout(0.0))
            for m in self.mlp:
                if isinstance(m, tnn.Linear):
                    tnn.init.xavier_uniform_(m.weight)
                    tnn.init.normal_(m.bias, std=1e-6)

        def forward(self, x):
            y = self.ln_1(x)
            y, _ = self.self_attention(y, y, y, need_weights=False)
            x = x + y
            return x + self.mlp(self.ln_2(x))

    class Encoder(tnn.Module):
        def __init__(self, seq):
            super().__init__()
            self.pos_embedding = tnn.Parameter(torch.empty(1, seq, hidden).normal_(std=0.02))
            self.dropout = tnn.Dropout(0.0)
            self.layers = tnn.Sequential(OrderedDict(
                (f"encoder_layer_{i}", Block()) for i in range(layers)))
            self.ln = tnn.LayerNorm(hidden, eps=1e-6)

        def forward(self, x):
            return self.ln(self.layers(x + self.pos_embedding))

    class ViT(tnn.Module):
        def __init__(self):
            super().__init__()
            self.conv_proj = tnn.Conv2d(3, hidden, patch, stride=patch)
            self.class_token = tnn.Parameter(torch.zeros(1, 1, hidden))
            self.encoder = Encoder((image_size // patch) ** 2 + 1)
            self.heads = tnn.Sequential(OrderedDict(head=tnn.Linear(hidden, num_classes)))
            tnn.init.trunc_normal_(self.conv_proj.weight, std=math.sqrt(1 / (3 * patch * patch)))
            tnn.init.zeros_(self.conv_proj.bias)
            tnn.init.zeros_(self.heads.head.weight)
            tnn.init.zeros_(self.heads.head.bias)

        def forward(self, x):
            x = self.conv_proj(x).flatten(2).permute(0, 2, 1)
            x = torch.cat([self.class_token.expand(x.shape[0], -1, -1), x], dim=1)
            return self.heads(self.encoder(x)[:, 0])
    return ViT()


def test_vision_transformer_as_torchvisions():
    """optimizer_step_in_backward trains torchvision's ViT: ember.vision's has its state_dict
    keys, its seeded initial values, its logits and gradients."""
    from ember.vision.models import VisionTransformer
    config = dict(image_size=16, patch=8, layers=2, heads=2, hidden=8, mlp_dim=16,
                  num_classes=3)
    torch.manual_seed(0)
    tm = _torch_vit(**config)
    ember.manual_seed(0)
    em = VisionTransformer(16, 8, 2, 2, 8, 16, num_classes=3)
    tsd, esd = tm.state_dict(), em.state_dict()
    assert list(tsd) == list(esd)
    for key in tsd:
        np.testing.assert_allclose(esd[key].numpy(), tsd[key].numpy(), rtol=1e-6, atol=1e-7,
                                   err_msg=key)
    head = np.linspace(-1, 1, 24, dtype=np.float32).reshape(3, 8)   # zero at init
    with torch.no_grad():
        tm.heads.head.weight.copy_(torch.tensor(head))
    with ember.no_grad():
        em.heads.head.weight.copy_(ember.tensor(head))
    x = np.random.default_rng(0).standard_normal((2, 3, 16, 16)).astype(np.float32)
    tout, eout = tm(torch.tensor(x)), em(ember.tensor(x))
    np.testing.assert_allclose(eout.detach().numpy(), tout.detach().numpy(), rtol=1e-4,
                               atol=1e-5)
    tout.square().sum().backward()
    eout.square().sum().backward()
    for (name, tp), ep in zip(tm.named_parameters(), em.parameters()):
        np.testing.assert_allclose(ep.grad.numpy(), tp.grad.numpy(), rtol=1e-3, atol=1e-5,
                                   err_msg=name)
    # checkpoints from before torchvision's MLPBlock became an MLP name its linears linear_i
    legacy = {k.replace(".mlp.0.", ".mlp.linear_1.").replace(".mlp.3.", ".mlp.linear_2."): v
              for k, v in esd.items()}
    assert not em.load_state_dict(legacy).missing_keys


def test_vit_b_16_parameter_count_is_torchvisions():
    from ember.vision import models
    model = models.vit_b_16()
    assert sum(p.numel() for p in model.parameters()) == \
        models.ViT_B_16_Weights.DEFAULT.meta["num_params"]
    assert model.seq_length == 197
