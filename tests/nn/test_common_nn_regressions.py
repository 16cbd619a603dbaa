"""Defects found by bench/common_nn_sweep.py (torch's legacy nn test tables in
torch.testing._internal.common_nn, run through ember with extra checks: empty batches,
non-contiguous inputs, second-order and batched gradients, reference functions, half
precision ...). Each case runs the same program on torch and on ember and compares the
outcome: values, shape and dtype, gradients, or the exception's type and message."""
import numpy as np
import pytest

import ember
from tests.program_compare import norm, same

torch = pytest.importorskip("torch")


def _outcome(lib, program):
    """norm(program(lib)), or ("raised", type name, message with torch. -> ember.)."""
    try:
        return norm(program(lib))
    except Exception as e:  # noqa: BLE001 - the type and message are compared
        return ("raised", type(e).__name__, str(e).replace("torch.", "ember."))


def _same(a, b):
    return same(a, b, rtol=1e-6, atol=1e-7)


def check(program):
    t, e = _outcome(torch, program), _outcome(ember, program)
    assert _same(t, e), f"torch {t}\nember {e}"


# ------------------------------------------------------------- reflect/replicate pad
@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
@pytest.mark.parametrize("shape,npad", [
    ((0, 2, 2, 2), 3),       # unbatched 3-d: the channel dim is 0 (ReplicationPad3d)
    ((2, 0, 2, 2, 2), 3),    # batched: channels 0
    ((1, 2, 0, 2, 2), 3),    # a padded dim 0
    ((0, 2, 2, 2, 2), 3),    # batch 0: allowed
    ((2, 0, 3), 1),
    ((0, 2, 3), 1),
    ((2, 3, 0), 2),
    ((0, 3, 3, 3), 2),
])
def test_edge_padding_of_empty_dims(mode, shape, npad):
    """reflect/replicate need every non-batch dim non-empty (NumPy's pad leaked a
    ValueError); circular wraps only the padded dims."""
    def program(L):
        x = L.zeros(shape, dtype=L.float64, requires_grad=True)
        out = L.nn.functional.pad(x, (1, 1) * npad, mode=mode)
        (g,) = L.autograd.grad(out.sum(), x)
        return out, g
    check(program)


def test_replication_pad3d_module_empty_channels():
    check(lambda L: L.nn.ReplicationPad3d(1)(L.zeros(0, 2, 2, 2)))


# ------------------------------------------------------------------ pixel unshuffle
@pytest.mark.parametrize("shape", [(0, 1, 12, 12), (2, 0, 12, 12), (2, 1, 0, 12),
                                   (0, 3, 6, 6), (0, 1, 12, 13)])
def test_pixel_unshuffle_of_empty_input(shape):
    """PyTorch returns an empty input's copy, its shape unchanged (checks still run)."""
    check(lambda L: L.nn.PixelUnshuffle(3)(L.zeros(shape, dtype=L.float64)))


def test_pixel_unshuffle_of_empty_input_gradient():
    """The gradient has the input's shape (PyTorch's own backward raises here: it
    pixel-shuffles the unchanged-shape gradient, so it is not the oracle for this)."""
    x = ember.zeros(0, 1, 12, 12, dtype=ember.float64, requires_grad=True)
    (g,) = ember.autograd.grad(ember.nn.functional.pixel_unshuffle(x, 3).sum(), x)
    assert tuple(g.shape) == (0, 1, 12, 12)


@pytest.mark.parametrize("shape", [(0, 9, 2, 2), (2, 0, 2, 2), (2, 9, 0, 2)])
def test_pixel_shuffle_of_empty_input(shape):
    check(lambda L: L.nn.functional.pixel_shuffle(L.zeros(shape), 3))


# ------------------------------------------------------- attention with empty sizes
@pytest.mark.parametrize("need_weights", [True, False])
@pytest.mark.parametrize("q_shape,kv_shape", [((0, 3, 4), (0, 3, 4)), ((2, 3, 4), (0, 3, 4)),
                                              ((2, 0, 4), (2, 0, 4)), ((0, 0, 4), (0, 0, 4))])
def test_multihead_attention_of_empty_sequences(q_shape, kv_shape, need_weights):
    """A sequence or batch of length 0 (ember reshaped with -1, ambiguous for 0 elements)."""
    torch.manual_seed(0)
    tm = torch.nn.MultiheadAttention(4, 2).double()
    state = {k: v.numpy() for k, v in tm.state_dict().items()}

    def program(L):
        m = tm if L is torch else ember.nn.MultiheadAttention(4, 2).double()
        if L is ember:
            m.load_state_dict({k: ember.tensor(v) for k, v in state.items()})
        q = L.ones(q_shape, dtype=L.float64, requires_grad=True)
        kv = L.ones(kv_shape, dtype=L.float64, requires_grad=True)
        out, weights = m(q, kv, kv, need_weights=need_weights)
        grads = L.autograd.grad(out.sum(), [q, kv] + list(m.parameters()), allow_unused=True)
        return [out, weights] + [g for g in grads if g is not None]
    check(program)


@pytest.mark.parametrize("shape", [(0, 3, 4), (2, 0, 4)])
def test_transformer_encoder_layer_of_empty_sequences(shape):
    """common_nn's TransformerEncoderLayer configs with a sequence (or batch) of 0."""
    torch.manual_seed(0)
    tm = torch.nn.TransformerEncoderLayer(4, 2, 16, 0.0).double()
    state = {k: v.numpy() for k, v in tm.state_dict().items()}

    def program(L):
        m = tm if L is torch else ember.nn.TransformerEncoderLayer(4, 2, 16, 0.0).double()
        if L is ember:
            m.load_state_dict({k: ember.tensor(v) for k, v in state.items()})
        x = L.ones(shape, dtype=L.float64, requires_grad=True)
        out = m(x)
        grads = L.autograd.grad(out.sum(), [x] + list(m.parameters()), allow_unused=True)
        return [out] + [g for g in grads if g is not None]
    check(program)


# ----------------------------------------------------------------------------- rrelu
@pytest.mark.parametrize("value", [-0.5, 0.5])
def test_rrelu_training_keeps_a_0dim_input_0dim(value):
    """common_nn's RReLU_with_up_down_scalar: the output of a 0-dim input was (1,)."""
    def program(L):
        x = L.tensor(value, dtype=L.float64, requires_grad=True)
        out = L.nn.RReLU(0.1, 0.9).train()(x)
        (g,) = L.autograd.grad(out, x)
        return tuple(out.shape), out.dtype is L.float64, tuple(g.shape), out.item() == value
    check(program)



# ------------------------------------------------- integer inputs PyTorch refuses
def _ints(L, dtype, *shape):
    return L.tensor(np.arange(int(np.prod(shape))).reshape(shape) % 3 - 1,
                    dtype=getattr(L, dtype))


@pytest.mark.parametrize("fn", ["softmax", "log_softmax"])
@pytest.mark.parametrize("shape,dim", [((3, 4), 1), ((3, 4), 0), ((3,), 0), ((), 0)])
@pytest.mark.parametrize("dtype", ["int64", "bool"])
def test_softmax_of_integers_is_not_implemented(fn, shape, dim, dtype):
    """NotImplementedError (was RuntimeError), naming the last-dim or general kernel."""
    check(lambda L: getattr(L.nn.functional, fn)(L.zeros(shape, dtype=getattr(L, dtype)), dim))


@pytest.mark.parametrize("program", [
    lambda L: L.nn.functional.gelu(_ints(L, "int64", 3)),
    lambda L: L.nn.functional.ctc_loss(_ints(L, "int64", 5, 2, 3), L.tensor([[1, 1], [1, 1]]),
                                       L.tensor([5, 5]), L.tensor([2, 2])),
    lambda L: L.nn.functional.mse_loss(_ints(L, "int64", 3, 4), _ints(L, "int64", 3, 4)),
    lambda L: L.nn.functional.mse_loss(_ints(L, "bool", 3), _ints(L, "bool", 3), reduction="sum"),
    lambda L: L.nn.functional.mse_loss(_ints(L, "int64", 3), _ints(L, "float64", 3)),
    lambda L: L.nn.functional.mse_loss(_ints(L, "int64", 3), _ints(L, "int64", 3),
                                       weight=L.ones(3)),
    lambda L: L.nn.functional.nll_loss(_ints(L, "int64", 3, 4), L.tensor([0, 1, 2])),
    lambda L: L.nn.functional.nll_loss(_ints(L, "int32", 3, 4), L.tensor([0, 1, 2]),
                                       weight=L.ones(4)),
    lambda L: L.nn.functional.nll_loss(_ints(L, "int64", 4), L.tensor(1)),
    lambda L: L.nn.functional.nll_loss(_ints(L, "int64", 3, 4, 2), L.zeros(3, 2, dtype=L.int64)),
    lambda L: L.nn.functional.nll_loss(L.zeros(3, 4), L.tensor([0, 1, 2]),
                                       weight=L.ones(4, dtype=L.int64)),
    lambda L: L.nn.functional.unfold(_ints(L, "int64", 1, 2, 4, 4), 2),
    lambda L: L.nn.functional.unfold(_ints(L, "uint8", 2, 4, 4), 2),
    lambda L: L.nn.functional.unfold(_ints(L, "bool", 1, 2, 4, 4), 2),
    lambda L: L.nn.functional.unfold(_ints(L, "int64", 2, 4, 4), 9),
    lambda L: L.nn.functional.fold(_ints(L, "int64", 1, 8, 4), (3, 3), 2),
    lambda L: L.nn.functional.fold(_ints(L, "bool", 1, 8, 4), (3, 3), 2),
    lambda L: L.nn.functional.fold(_ints(L, "int64", 1, 8, 4), (3, 3), 3),
], ids=["gelu", "ctc", "mse", "mse_bool", "mse_promoted", "mse_weighted", "nll", "nll_int32_w",
        "nll_1d", "nll_nd", "nll_int_weight", "unfold", "unfold_uint8", "unfold_bool",
        "unfold_shape_first", "fold", "fold_bool", "fold_shape_first"])
def test_integer_inputs_raise_as_pytorch(program):
    """PyTorch's CPU kernels have no integer version: NotImplementedError naming the kernel
    (checked after the shapes; nll_loss's before its weight dtype)."""
    check(program)


@pytest.mark.parametrize("in_dt,t_dt", [("int64", "float64"), ("float32", "float64"),
                                        ("float64", "float32"), ("int64", "int64"),
                                        ("float16", "float16")])
def test_binary_cross_entropy_dtypes(in_dt, t_dt):
    """Target and input must share a dtype ('Found dtype Double but expected Float'), then
    an integer input has no kernel; the dtype check comes before the [0, 1] range check."""
    def program(L):
        x = L.tensor([0.25, 2.0, 0.5]).to(getattr(L, in_dt))
        return L.nn.functional.binary_cross_entropy(x, L.tensor([0.0, 1.0, 1.0]).to(
            getattr(L, t_dt)))
    check(program)


def test_binary_cross_entropy_float32_with_float64_weight():
    check(lambda L: L.nn.functional.binary_cross_entropy(
        L.tensor([0.25, 0.5]), L.tensor([0.0, 1.0]), weight=L.tensor([1.0, 2.0],
                                                                      dtype=L.float64)))


# ----------------------------------------- activations and losses: dtypes and shapes
@pytest.mark.parametrize("name", ["elu", "selu", "celu", "hardsigmoid", "hardswish",
                                  "leaky_relu", "logsigmoid", "glu", "silu", "mish",
                                  "softplus"])
@pytest.mark.parametrize("dtype", ["int64", "bool", "complex64"])
def test_activations_refuse_what_pytorch_has_no_kernel_for(name, dtype):
    """NotImplementedError naming PyTorch's kernel (ember computed them in float; silu
    takes complex)."""
    check(lambda L: getattr(L.nn.functional, name)(_ints(L, dtype, 2, 4)))


@pytest.mark.parametrize("in_dt,w_dt", [("int64", "float64"), ("float32", "float64"),
                                        ("float64", "float32"), ("int64", "int64"),
                                        ("float64", "float64")])
def test_prelu_does_not_promote(in_dt, w_dt):
    check(lambda L: L.nn.functional.prelu(_ints(L, in_dt, 2, 3), L.tensor([0.25, -1.0, 2.0])
                                          .to(getattr(L, w_dt))))


_PAIRS = [("int64", "int64"), ("int64", "float64"), ("float32", "float64"),
          ("float64", "float32"), ("float32", "int64")]


_LOSS_CASES = [(loss, *pair) for loss in ("smooth_l1_loss", "huber_loss", "kl_div",
                                          "soft_margin_loss", "multilabel_soft_margin_loss")
               for pair in _PAIRS] + [
    ("hinge_embedding_loss", *pair) for pair in _PAIRS]


@pytest.mark.parametrize("loss,in_dt,t_dt", _LOSS_CASES)
@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
def test_pointwise_loss_dtypes(loss, in_dt, t_dt, reduction):
    """Integer inputs (no kernel, kl_div's 'Integral inputs', a float result that cannot be
    written into an integer output) and the result dtype (huber and soft margin write into
    the input's dtype); hinge's values for targets other than +-1, its integer inputs kept
    integer."""
    def program(L):
        x = _ints(L, in_dt, 3, 4)
        x = x * 0.7 if x.is_floating_point() else x
        return getattr(L.nn.functional, loss)(x, _ints(L, t_dt, 3, 4), reduction=reduction)
    check(program)


@pytest.mark.parametrize("beta", [0.0, 0.5])
def test_smooth_l1_loss_of_integers(beta):
    """beta 0 is l1_loss, which PyTorch computes for integer inputs; otherwise its kernel
    has no integer version."""
    check(lambda L: L.nn.functional.smooth_l1_loss(_ints(L, "int64", 3, 4),
                                                   _ints(L, "int64", 3, 4), beta=beta))


@pytest.mark.parametrize("in_shape,t_shape", [((5,), (5, 5)), ((5, 5), (5,)), ((2, 3), (3,))])
def test_soft_margin_loss_output_takes_the_input_shape(in_shape, t_shape):
    check(lambda L: L.nn.functional.soft_margin_loss(L.ones(in_shape), L.ones(t_shape),
                                                     reduction="none"))


@pytest.mark.parametrize("s1,s2,t", [((1, 1, 9), (9,), ()), ((), (9,), ()), ((9,), (9,), ()),
                                     ((3, 9), (3, 9), (3,)), ((9,), (9,), (1,)),
                                     ((3, 9), (3, 9), (3, 1))])
def test_cosine_embedding_loss_shape_checks(s1, s2, t):
    check(lambda L: L.nn.functional.cosine_embedding_loss(L.ones(s1), L.ones(s2),
                                                          L.ones(t)))


@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
def test_cosine_embedding_loss_values_dtypes_and_gradients(reduction):
    """PyTorch's formula (eps added to the squared norms; 0 for targets other than +-1);
    an integer input with a float64 one promotes to float64."""
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((4, 5)), rng.standard_normal((4, 5))

    def program(L):
        x = L.tensor(a, requires_grad=True)
        out = L.nn.functional.cosine_embedding_loss(x, L.tensor(b), L.tensor([1, -1, 0, 1.0]),
                                                    margin=0.2, reduction=reduction)
        (g,) = L.autograd.grad(out.sum(), x)
        ints = L.nn.functional.cosine_embedding_loss(_ints(L, "int64", 9), L.tensor(b[0].tolist()
                                                     + b[1, :4].tolist()), L.tensor(1.0))
        return out, g, ints
    check(program)


@pytest.mark.parametrize("program", [
    lambda L: L.nn.functional.multi_margin_loss(_ints(L, "int64", 3, 4), L.tensor([0, 1, 2])),
    lambda L: L.nn.functional.multi_margin_loss(_ints(L, "int64", 3, 4), L.zeros(3)),
    lambda L: L.nn.functional.multi_margin_loss(_ints(L, "int64", 3, 4), L.tensor([0, 1])),
    lambda L: L.nn.functional.multilabel_margin_loss(_ints(L, "int64", 3, 4),
                                                     L.tensor([[0, 1, -1, 0]] * 3)),
    lambda L: L.nn.functional.multilabel_margin_loss(_ints(L, "int64", 3, 4), L.zeros(3, 4)),
    lambda L: L.nn.functional.multilabel_margin_loss(_ints(L, "int64", 3, 4),
                                                     L.tensor([[0, 1, -1, 0]] * 2)),
], ids=["mm", "mm_float_target", "mm_target_size_first", "mlm", "mlm_float_target",
        "mlm_target_size_first"])
def test_margin_losses_of_integer_inputs(program):
    check(program)


@pytest.mark.parametrize("dtype,value", [("int64", 1.7), ("int64", -1.7), ("float32", 1.7),
                                         ("bool", 2.0), ("int32", 1)])
def test_threshold_keeps_an_integer_input_integer(dtype, value):
    check(lambda L: L.nn.functional.threshold(_ints(L, dtype, 6), 0.5, value))


@pytest.mark.parametrize("in_shape,t_shape", [((10,), (5, 10)), ((5, 10), (10,)), ((3, 4), (3, 4))])
def test_multilabel_soft_margin_loss_sums_the_input_class_dim(in_shape, t_shape):
    """The class dim is the input's last (PyTorch's), also when the target broadcasts the
    loss to more dims."""
    def program(L):
        x = L.linspace(-2, 2, int(np.prod(in_shape)), dtype=L.float64).reshape(in_shape)
        t = (L.arange(int(np.prod(t_shape))) % 2).reshape(t_shape).to(L.float64)
        return L.nn.functional.multilabel_soft_margin_loss(x, t, reduction="none")
    check(program)


@pytest.mark.parametrize("name", ["silu", "mish", "hardswish", "hardsigmoid", "elu", "selu",
                                  "celu", "leaky_relu", "relu6", "hardtanh", "relu"])
def test_inplace_activations_keep_their_gradient(name):
    """inplace=True on a non-leaf (test_nn's check_inplace): the input is written over and
    the leaf behind it still gets the gradient (silu, mish and hardswish saved the input
    they then overwrote: backward raised the modified-by-an-inplace-operation error)."""
    def program(L):
        leaf = L.tensor([-3.5, -1.0, -0.25, 0.0, 0.5, 2.0, 4.0], dtype=L.float64,
                        requires_grad=True)
        x = leaf.clone()
        out = getattr(L.nn.functional, name)(x, inplace=True)
        (g,) = L.autograd.grad((out * L.arange(7, dtype=L.float64)).sum(), leaf)
        return out, x, g, out is x
    check(program)


@pytest.mark.parametrize("program", [
    lambda L: L.nn.functional.smooth_l1_loss(_complex(L, 3, 4), _complex(L, 3, 4)),
    lambda L: L.nn.functional.huber_loss(_complex(L, 3, 4), _complex(L, 3, 4)),
    lambda L: L.nn.functional.kl_div(_complex(L, 3, 4), _complex(L, 3, 4), reduction="sum"),
    lambda L: L.nn.functional.soft_margin_loss(_complex(L, 3, 4) * 0.1,
                                               _complex(L, 3, 4) * 0.1),
], ids=["smooth_l1", "huber", "kl_div", "soft_margin_computes"])
def test_complex_losses_as_pytorch(program):
    check(program)


@pytest.mark.parametrize("reduction", ["none", "sum"])
def test_soft_margin_loss_is_log1p_exp(reduction):
    """log(1 + exp(-x y)), PyTorch's formula (ember's softplus switched to the linear branch
    above 20), values and gradients."""
    def program(L):
        x = L.tensor([[-30.0, 0.5, 40.0], [1.0, 2.0, 3.0]], dtype=L.float64,
                     requires_grad=True)
        out = L.nn.functional.soft_margin_loss(x, L.tensor([1.0, -1.0, 1.0], dtype=L.float64),
                                               reduction=reduction)
        return out, L.autograd.grad(out.sum(), x)[0]
    check(program)


@pytest.mark.parametrize("x_dt,t_dt", [("float32", "float64"), ("float64", "float32"),
                                       ("float32", "float32"), ("float32", "int64"),
                                       ("int64", "float32"), ("bool", "bool")])
@pytest.mark.parametrize("reduction", ["none", "mean"])
def test_binary_cross_entropy_with_logits_dtypes(x_dt, t_dt, reduction):
    """The loss takes the target's dtype (computed in the promoted one), an integer target
    cannot hold it, an integer input has no log_sigmoid kernel; gradients in each input's
    dtype."""
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal(5), rng.random(5)

    def program(L):
        x = L.tensor(a).to(getattr(L, x_dt))
        t = L.tensor(b).to(getattr(L, t_dt))
        leaves = [v.requires_grad_() for v in (x, t) if v.is_floating_point()]
        out = L.nn.functional.binary_cross_entropy_with_logits(
            x, t, reduction=reduction, pos_weight=L.tensor(b + 1).to(t.dtype))
        return [out] + list(L.autograd.grad(out.sum(), leaves))
    check(program)


# ------------------------------------------------------ normalization of integers
@pytest.mark.parametrize("program", [
    lambda L: L.nn.functional.layer_norm(_ints(L, "int64", 3, 4), (5,)),
    lambda L: L.nn.functional.layer_norm(_ints(L, "int64", 3, 4), (4,)),
    lambda L: L.nn.functional.layer_norm(_ints(L, "bool", 3, 4), (4,)),
    lambda L: L.nn.functional.group_norm(_ints(L, "int64", 3, 4), 3),
    lambda L: L.nn.functional.group_norm(_ints(L, "int64", 3, 4), 2),
    lambda L: L.nn.functional.batch_norm(_ints(L, "int64", 3, 4), L.zeros(4), L.ones(4)),
    lambda L: L.nn.functional.instance_norm(_ints(L, "int64", 3, 4, 5)),
    lambda L: L.nn.functional.rms_norm(_ints(L, "int64", 3, 4), (4,)),
    lambda L: L.nn.functional.rms_norm(_ints(L, "int64", 3, 4), (5,)),
    lambda L: L.nn.LayerNorm([4, 4], elementwise_affine=False)(_ints(L, "int64", 2, 4, 4)),
], ids=["ln_shape_first", "ln", "ln_bool", "gn_shape_first", "gn", "bn", "in", "rms",
        "rms_shape_first", "LayerNorm_module"])
def test_normalization_of_integers_is_not_implemented(program):
    """NotImplementedError naming PyTorch's kernel, after the shape checks (ember
    normalized integer inputs and returned them as integers)."""
    check(program)


@pytest.mark.parametrize("dtype", ["int64", "int32", "bool", "float64"])
@pytest.mark.parametrize("default", ["float32", "float64"])
def test_cross_map_lrn2d_of_integers(dtype, default):
    """PyTorch's legacy CrossMapLRN2d cannot write its float scale into an integer input's
    dtype (ember computed it in the integer dtype)."""
    def program(L):
        old = L.get_default_dtype()
        L.set_default_dtype(getattr(L, default))
        try:
            return L.nn.CrossMapLRN2d(5, 5e-3, 1e-3, 2)(_ints(L, dtype, 2, 3, 4, 4))
        finally:
            L.set_default_dtype(old)
    check(program)


# ------------------------------------------------- complex and bool inputs PyTorch refuses
def _complex(L, *shape):
    return L.tensor((np.arange(int(np.prod(shape))).reshape(shape) % 5 - 2) * (1 + 0.5j),
                    dtype=L.complex64)


@pytest.mark.parametrize("program", [
    lambda L: L.softmax(_complex(L, 3, 4), 1),
    lambda L: L.nn.functional.log_softmax(_complex(L, 3, 4), 0),
    lambda L: L.nn.functional.mse_loss(_complex(L, 3, 4), _complex(L, 3, 4)),
    lambda L: L.nn.functional.nll_loss(_complex(L, 3, 4), L.tensor([0, 1, 2])),
    lambda L: L.nn.functional.layer_norm(_complex(L, 3, 4), (4,)),
    lambda L: L.nn.functional.group_norm(_complex(L, 3, 4), 2),
    lambda L: L.nn.functional.batch_norm(_complex(L, 3, 4), None, None, training=True),
    lambda L: L.nn.functional.instance_norm(_complex(L, 3, 4, 5)),
    lambda L: L.nn.functional.rms_norm(_complex(L, 3, 4), (4,)),
], ids=["softmax", "log_softmax", "mse", "nll", "layer_norm", "group_norm", "batch_norm",
        "instance_norm", "rms_norm_computes"])
def test_complex_inputs_raise_as_pytorch(program):
    check(program)


@pytest.mark.parametrize("mode,shape,npad", [("reflect", (2, 3), 1), ("replicate", (2, 3, 3), 2),
                                             ("reflect", (2, 3, 3, 3), 3),
                                             ("circular", (2, 3), 1),
                                             ("reflect", (2, 0, 3), 1)])
@pytest.mark.parametrize("amount", [0, 1, 5])
def test_edge_padding_of_bool_is_not_implemented(mode, shape, npad, amount):
    """PyTorch's reflection/replication kernels have no bool version (checked after the
    sizes, also for zero padding); circular padding copies bools."""
    check(lambda L: L.nn.functional.pad(L.zeros(shape, dtype=L.bool), (amount,) * 2 * npad,
                                        mode=mode))


@pytest.mark.parametrize("shape,pad", [((2, 3, 3), (5, 5, 1, 1)), ((2, 3, 3), (1, 1, 5, 5)),
                                       ((2, 3, 3, 3), (1, 1, 5, 5, 1, 1)),
                                       ((2, 3, 3, 3), (5, 5, 5, 5, 5, 5)),
                                       ((2, 3, 3, 3), (1, 1, 1, 1, 5, 5))])
def test_reflection_pad_too_wide_names_the_last_dim_first(shape, pad):
    """PyTorch checks the last dim first and numbers the argument of the pair at fault."""
    check(lambda L: L.nn.functional.pad(L.zeros(shape), pad, mode="reflect"))


@pytest.mark.parametrize("target", [
    lambda L: L.zeros(2, 4), lambda L: L.zeros(3, 4), lambda L: L.zeros(3, 4, dtype=L.int32),
    lambda L: L.zeros(3, 4, dtype=L.uint8), lambda L: L.full((3, 4), 7.0),
    lambda L: L.tensor([[3, 0, -1, 1]] * 3)], ids=["size", "float", "int32", "uint8",
                                                   "range_first", "int64"])
def test_multilabel_margin_loss_target_dtype(target):
    """The target must be int64 (ember truncated a float target), checked after its size
    and, as PyTorch, after the values' range."""
    check(lambda L: L.nn.functional.multilabel_margin_loss(L.zeros(3, 4), target(L)))


# ------------------------------------------------------------------------- pickling
def _public_functions():
    import types
    spaces = (ember, ember.nn.functional, ember.linalg, ember.fft, ember.special, ember.Tensor)
    return [(space, name) for space in spaces for name, fn in vars(space).items()
            if name[0] != "_" and type(fn) is types.FunctionType]


def test_every_public_function_pickles_by_reference():
    """pickle finds each public function and Tensor method again by its (module, qualname),
    as PyTorch's (factory-made ones like ember.abs or Tensor.float named a closure's local
    and raised PicklingError)."""
    import pickle
    bad = []
    for space, name in _public_functions():
        fn = vars(space)[name]
        try:
            if pickle.loads(pickle.dumps(fn)) is not fn:
                bad.append(f"{space.__name__}.{name}")
        except (pickle.PicklingError, AttributeError, TypeError):
            bad.append(f"{space.__name__}.{name}")
    assert not bad, bad


@pytest.mark.parametrize("activation", ["gelu", "relu"])
def test_transformer_layer_with_function_activation_pickles(activation):
    """common_nn's TransformerEncoderLayer_gelu_activation: torch.save(module) pickles the
    module with its activation function; the copy computes the same."""
    import pickle
    torch.manual_seed(0)
    tm = torch.nn.TransformerEncoderLayer(4, 2, 8, 0.0, getattr(torch.nn.functional,
                                                                activation)).double()
    state = {k: v.numpy() for k, v in tm.state_dict().items()}
    x = np.random.default_rng(0).standard_normal((3, 2, 4))

    def program(L):
        if L is torch:
            m = tm
        else:
            m = ember.nn.TransformerEncoderLayer(4, 2, 8, 0.0, getattr(
                ember.nn.functional, activation)).double()
            m.load_state_dict({k: ember.tensor(v) for k, v in state.items()})
        m2 = pickle.loads(pickle.dumps(m))
        return m2(L.tensor(x)), m2.activation is getattr(L.nn.functional, activation)
    check(program)


@pytest.mark.parametrize("shape", [(0,), (5,)])
@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_of_1d_input(shape, training):
    """F.batch_norm reads the channels as size(1): an empty 1-D input comes back empty
    (OpInfo's samples), a non-empty one raises PyTorch's IndexError (was ValueError)."""
    def program(L):
        stats = (None, None) if training else (L.zeros(0), L.ones(0))
        return L.nn.functional.batch_norm(L.ones(shape), *stats, training=training)
    check(program)


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("lengths", [[5, 4], [5, 4, 3, 2]])
def test_pack_padded_sequence_checks_the_number_of_lengths(batch_first, lengths):
    def program(L):
        return L.nn.utils.rnn.pack_padded_sequence(L.ones(5, 3, 2), lengths,
                                                   batch_first=batch_first).data
    check(program)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_l1_loss_of_integers(reduction):
    """l1_loss of integer tensors: |input - target| keeps the dtype; its mean has no integer
    result in PyTorch (RuntimeError), where ember took an integer mean."""
    def program(L):
        return L.nn.functional.l1_loss(L.tensor([1, 2, 3]), L.tensor([0, 2, 5]),
                                       reduction=reduction)
    check(program)


HALF_CPU_REFUSED = {
    "multi_margin_loss": lambda L, dt: L.nn.functional.multi_margin_loss(
        L.ones(3, 4).to(dt), L.tensor([0, 1, 3])),
    "multilabel_margin_loss": lambda L, dt: L.nn.functional.multilabel_margin_loss(
        L.ones(3, 4).to(dt), L.tensor([[0, 1, -1, 0]] * 3)),
    "avg_pool3d": lambda L, dt: L.nn.functional.avg_pool3d(L.ones(1, 1, 4, 4, 4).to(dt), 2),
    "ctc_loss": lambda L, dt: L.nn.functional.ctc_loss(
        L.ones(5, 2, 4).log_softmax(2).to(dt), L.tensor([[1, 2], [1, 1]]), L.tensor([5, 5]),
        L.tensor([2, 2])),
}


@pytest.mark.parametrize("name", sorted(HALF_CPU_REFUSED))
@pytest.mark.parametrize("dt", ["float16", "bfloat16"])
def test_half_precision_kernels_pytorch_cpu_refuses(name, dt):
    """These CPU kernels have float and double versions only: half-precision inputs raise
    PyTorch's NotImplementedError (under autocast they are cast to float32 first). On CUDA
    (PyTorch's CUDA kernels take half precision) ember computes them."""
    if ember.get_default_device().type == "cuda":
        assert HALF_CPU_REFUSED[name](ember, getattr(ember, dt)).dtype == getattr(ember, dt)
        return
    outcomes = []
    for L in (torch, ember):
        try:
            HALF_CPU_REFUSED[name](L, getattr(L, dt))
            outcomes.append(None)
        except NotImplementedError as e:
            outcomes.append(str(e))
        with L.autocast("cpu", dtype=L.bfloat16):
            assert HALF_CPU_REFUSED[name](L, getattr(L, dt)).dtype == L.float32
    assert outcomes[0] is not None and outcomes[1] == outcomes[0]
