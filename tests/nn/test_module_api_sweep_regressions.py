"""Defects found by bench/module_api_sweep.py (torch's ModuleInfo error inputs, every
module sample in float32/float64 train/eval, module API parity, common_nn's old-style
module and criterion tests); each case runs the same program on torch and on ember and
compares the outcome: values, shape and dtype, or the exception's type and message."""
import itertools

import numpy as np
import pytest

import ember
from tests.program_compare import same

torch = pytest.importorskip("torch")


def _outcome(lib, program):
    """What `program(lib)` gives, in a form comparable across the libraries: tensors as
    (shape, dtype name, values), exceptions as (type name, message with torch. -> ember.)."""
    try:
        out = program(lib)
    except Exception as e:  # noqa: BLE001 - the type and message are compared
        return ("raised", type(e).__name__, str(e).replace("torch.", "ember."))
    return _plain(out)


def _plain(x):
    if isinstance(x, (torch.Tensor, ember.Tensor)):
        a = x.detach()
        return ("T", tuple(a.shape), str(a.dtype).split(".")[1], np.asarray(a.tolist()))
    if isinstance(x, (tuple, list)):
        return [_plain(v) for v in x]
    if isinstance(x, (torch.nn.Module, ember.nn.Module)):
        return repr(x).replace("torch.", "ember.")
    return x


def _same(a, b):
    return same(a, b, rtol=1e-5, atol=1e-6)


def check(program):
    t, e = _outcome(torch, program), _outcome(ember, program)
    assert _same(t, e), f"torch {t}\nember {e}"


# ------------------------------------------------------------------ batch norm
@pytest.mark.parametrize("eps", [-1.0, 0.0, 1e-5])
@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_eps_is_validated(eps, training):
    def program(L):
        m = L.nn.BatchNorm2d(3, eps=eps).train(training)
        return m(L.ones(2, 3, 2, 2))
    check(program)


@pytest.mark.parametrize("shape", [(0, 5, 9), (0, 5), (0, 5, 2, 2)])
def test_batch_norm_trains_on_an_empty_batch(shape):
    """PyTorch only refuses one value per channel; an empty batch comes back empty and
    leaves the running statistics alone (num_batches_tracked still counts it)."""
    def program(L):
        m = getattr(L.nn, f"BatchNorm{max(len(shape) - 2, 1)}d")(5)
        x = L.ones(*shape, requires_grad=True)
        y = m(x)
        y.sum().backward()
        return y, x.grad, m.weight.grad, m.running_mean, m.running_var, m.num_batches_tracked
    check(program)


def test_batch_norm_one_value_per_channel_still_raises():
    check(lambda L: L.nn.BatchNorm1d(5)(L.ones(1, 5)))


def test_group_norm_message_names_the_sizes():
    check(lambda L: L.nn.GroupNorm(3, 10))


# ------------------------------------------------------------------ pooling
POOLS = ["MaxPool", "AvgPool", "AdaptiveMaxPool", "AdaptiveAvgPool"]


@pytest.mark.parametrize("name,nd", list(itertools.product(POOLS, (1, 2, 3))))
def test_pooling_input_rank_messages(name, nd):
    for rank in range(1, 7):
        if rank in (nd + 1, nd + 2):
            continue
        check(lambda L: getattr(L.nn, f"{name}{nd}d")(2)(L.ones(*(2,) * rank)))


# ------------------------------------------------------------------ margin losses
@pytest.mark.parametrize("x,t", [((5, 3), (3,)), ((3,), (3,)), ((5, 3), (1, 5)), ((5, 3), (5,)),
                                 ((3,), (1,)), ((3,), ())])
@pytest.mark.parametrize("fn", ["multi_margin_loss", "multilabel_margin_loss"])
@pytest.mark.parametrize("reduction", ["none", "mean"])
def test_margin_loss_target_checks_and_shapes(fn, x, t, reduction):
    def program(L):
        target = L.zeros(*t, dtype=L.long) if t else L.tensor(0)
        return getattr(L.nn.functional, fn)(L.ones(*x), target, reduction=reduction)
    check(program)


# ------------------------------------------------------------------ nll / cross entropy
SHAPES_IN = [(3,), (2, 3), (2, 3, 5), (2, 3, 4, 5), (2, 3, 4, 5, 2), ()]
SHAPES_T = [(), (2,), (3,), (2, 3), (2, 5), (2, 4), (2, 3, 5), (2, 4, 5), (2, 5, 2), (3, 2)]


@pytest.mark.parametrize("fn", ["nll_loss", "cross_entropy"])
@pytest.mark.parametrize("dtype", ["long", "int32", "float32", "uint8"])
def test_class_target_checks_in_pytorch_order(fn, dtype):
    """The first fault PyTorch names over input/target ranks, shapes and dtypes, with and
    without ignore_index / label smoothing (valid combinations compute)."""
    for si, st, ii, ls in itertools.product(SHAPES_IN, SHAPES_T, (-100, 1), (0.0, 0.1)):
        if fn == "nll_loss" and ls:
            continue
        kw = {"ignore_index": ii, **({"label_smoothing": ls} if ls else {})}

        def program(L):
            t = L.zeros(*st, dtype=getattr(L, dtype)) if st else L.tensor(0, dtype=getattr(L, dtype))
            x = L.ones(*si) if si else L.tensor(1.0)
            return getattr(L.nn.functional, fn)(x, t, **kw)
        check(program)


@pytest.mark.parametrize("wdtype", ["float16", "float32", "float64"])
@pytest.mark.parametrize("shape", [(0, 0), (2, 3), (0, 3), (2, 3, 4)])
@pytest.mark.parametrize("fn", ["nll_loss", "cross_entropy"])
def test_class_weight_dtype_must_match_the_input(fn, shape, wdtype):
    def program(L):
        t = L.zeros(shape[0], *shape[2:], dtype=L.long)
        w = L.ones(shape[1], dtype=getattr(L, wdtype))
        return getattr(L.nn.functional, fn)(L.ones(*shape), t, weight=w, reduction="sum")
    check(program)


def test_nll_loss_of_an_empty_input_with_no_classes():
    for red in ("none", "sum", "mean"):
        check(lambda L: L.nn.NLLLoss(reduction=red)(L.ones(0, 0), L.zeros(0, dtype=L.long)))


# ------------------------------------------------------------------ recurrent
CELL_CASES = [((3, 10), (3, 1, 1, 20)), ((3, 10), (3, 21)), ((3, 10), (5, 20)),
              ((3, 10), (5, 21)), ((10,), (3, 20)), ((3, 10), (20,)), ((10,), (20,)),
              ((3, 10), (3, 20)), ((3, 11), (3, 20))]


@pytest.mark.parametrize("cls", ["RNNCell", "GRUCell", "LSTMCell"])
@pytest.mark.parametrize("x,h", CELL_CASES)
def test_rnn_cell_hidden_checks(cls, x, h):
    def program(L):
        hx = L.ones(*h)
        out = getattr(L.nn, cls)(10, 20)(L.ones(*x), (hx, hx) if cls == "LSTMCell" else hx)
        return [tuple(o.shape) for o in (out if isinstance(out, tuple) else (out,))]
    check(program)


@pytest.mark.parametrize("h,c", [((3, 20), (3, 21)), ((3, 20), (5, 20)), ((3, 20), (3, 1, 20))])
def test_lstm_cell_checks_the_cell_state_too(h, c):
    check(lambda L: tuple(L.nn.LSTMCell(10, 20)(L.ones(3, 10), (L.ones(*h), L.ones(*c)))[0].shape))


@pytest.mark.parametrize("cls", ["RNN", "GRU", "LSTM"])
@pytest.mark.parametrize("args,kwargs", [((10, 20), {"bias": 1}), ((10, 20), {"bias": "x"}),
                                         ((10, 20), {"batch_first": 0}), ((10.0, 20), {}),
                                         ((0, 20), {}), ((10, 20.0), {}), ((10, 0), {})])
def test_rnn_constructor_type_checks(cls, args, kwargs):
    check(lambda L: getattr(L.nn, cls)(*args, **kwargs))


@pytest.mark.parametrize("cls", ["RNN", "GRU", "LSTM"])
def test_rnn_input_dtype_must_match_the_weights(cls):
    check(lambda L: getattr(L.nn, cls)(10, 20)(L.ones(3, 2, 10, dtype=L.float64)))


# ------------------------------------------------------------------ module API parity
def test_relu6_is_a_hardtanh_with_its_bounds():
    def program(L):
        m, mi = L.nn.ReLU6(), L.nn.ReLU6(inplace=True)
        return [repr(m), repr(mi), m.min_val, m.max_val, isinstance(m, L.nn.Hardtanh),
                m(L.tensor([-1.0, 3.0, 7.0]))]
    check(program)


@pytest.mark.parametrize("delta", [1.0 + 0.0j, "1", None, 2, 0.5])
def test_huber_loss_delta_type(delta):
    check(lambda L: L.nn.HuberLoss(delta=delta))


@pytest.mark.parametrize("margin", [0, -1.0, 0.5])
def test_triplet_margin_loss_margin_must_be_positive(margin):
    check(lambda L: L.nn.TripletMarginLoss(margin=margin))


@pytest.mark.parametrize("make", [
    lambda L: L.nn.Conv2d(3, 4, (2, 3), stride=2, padding="valid", padding_mode="zeros"),
    lambda L: L.nn.ConvTranspose1d(2, 3, 3, output_padding=1, stride=2),
    lambda L: L.nn.Linear(5, 3, bias=False),
    lambda L: L.nn.BatchNorm1d(4, affine=False),
    lambda L: L.nn.LSTM(3, 4, num_layers=2, bidirectional=True, proj_size=2),
    lambda L: L.nn.TransformerEncoderLayer(8, 2, 16),
    lambda L: L.nn.Embedding(5, 3, padding_idx=1),
    lambda L: L.nn.ReLU6(),
])
def test_module_api_parity(make):
    """What users read off a module: repr, state_dict keys in order, parameters and buffers
    (names, shapes, dtypes), the plain attributes (kernel_size as a tuple, padding_mode ...),
    and train()/eval() reaching every submodule."""
    names = sorted(k for k, v in vars(make(torch)).items() if not k.startswith("_")
                   and isinstance(v, (int, float, str, bool, tuple, type(None))))

    def program(L):
        m = make(L)
        attrs = {k: getattr(m, k) for k in names}
        flags = []
        for mode in (False, True):
            m.train(mode)
            flags.append([s.training for s in m.modules()])
        return [repr(m), list(m.state_dict()), attrs, flags,
                [(n, tuple(p.shape), str(p.dtype)[6:]) for n, p in m.named_parameters()],
                [(n, tuple(b.shape), str(b.dtype)[6:]) for n, b in m.named_buffers()]]
    check(program)


# ------------------------------------------------------------------ memory format
def _layout(L, t):
    return [tuple(t.stride()), t.is_contiguous(), t.is_contiguous(memory_format=L.channels_last)
            if t.dim() == 4 else t.is_contiguous(memory_format=L.channels_last_3d)
            if t.dim() == 5 else None]


@pytest.mark.parametrize("shape,fmt", [((2, 3, 4, 5), "channels_last"),
                                       ((2, 3, 2, 4, 5), "channels_last_3d"),
                                       ((2, 3, 4, 5), "contiguous_format"),
                                       ((2, 3, 4), "channels_last")])
def test_tensor_to_memory_format(shape, fmt):
    def program(L):
        x = L.arange(float(np.prod(shape))).reshape(shape).requires_grad_()
        y = x.to(memory_format=getattr(L, fmt))
        z = x.to(L.float64, memory_format=getattr(L, fmt))
        (y * 2).sum().backward()
        return [_layout(L, y), _layout(L, z), y, z, x.grad, y.grad_fn.name(),
                y.to(memory_format=getattr(L, fmt)) is y]
    check(program)


@pytest.mark.parametrize("cls,fmt", [("Conv2d", "channels_last"), ("Conv3d", "channels_last_3d"),
                                     ("Conv3d", "channels_last"), ("Linear", "channels_last")])
def test_module_to_memory_format_converts_4d_and_5d_parameters(cls, fmt):
    def program(L):
        m = getattr(L.nn, cls)(3, 4, 2) if cls != "Linear" else L.nn.Linear(3, 4)
        m = m.to(memory_format=getattr(L, fmt))
        return [[_layout(L, p), type(p).__name__, p.is_leaf] for p in m.parameters()]
    check(program)


# ------------------------------------------------------------------ complex convolutions
CONVS = [("conv1d", (2, 2, 6), (3, 2, 2), {}),
         ("conv_transpose1d", (2, 2, 4), (2, 3, 2), {"stride": 2, "output_padding": 1}),
         ("conv2d", (1, 2, 5, 5), (4, 1, 2, 3), {"groups": 2, "padding": 1}),
         ("conv_transpose2d", (1, 2, 3, 3), (2, 2, 2, 2), {}),
         ("conv3d", (1, 2, 3, 3, 3), (2, 2, 2, 2, 2), {})]


@pytest.mark.parametrize("fn,xs,ws,kw", CONVS)
def test_complex_convolution_gradients_conjugate_the_other_operand(fn, xs, ws, kw):
    """Found by the ConvTranspose complex samples: the input and weight gradients were
    conjugated (PyTorch: grad_x uses conj(w), grad_w uses conj(x)); second order too
    (which also read a saved operand that was not saved)."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal(xs) + 1j * rng.standard_normal(xs)
    w = rng.standard_normal(ws) + 1j * rng.standard_normal(ws)
    g_seed = np.random.default_rng(1)

    def program(L):
        X, W = L.tensor(x, requires_grad=True), L.tensor(w, requires_grad=True)
        y = getattr(L.nn.functional, fn)(X, W, **kw)
        g = L.tensor(g_seed.standard_normal(tuple(y.shape)) * (1 + 0.5j))
        gx, gw = L.autograd.grad((y * g).sum().real, (X, W), create_graph=True)
        hx, hw = L.autograd.grad((gx * gx.conj()).sum().real + (gw * gw.conj()).sum().real,
                                 (X, W))
        return [y, gx, gw, hx, hw]
    t = _outcome(torch, program)
    g_seed = np.random.default_rng(1)
    e = _outcome(ember, program)
    assert _same(t, e), f"torch {t}\nember {e}"


def test_real_convolution_second_order_through_the_weight_gradient_only():
    """d/dx of a function of the weight gradient alone (the saved output gradient
    needs no gradient, so the saved operand is absent)."""
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((2, 2, 6)), rng.standard_normal((3, 2, 2))

    def program(L):
        X, W = L.tensor(x, requires_grad=True), L.tensor(w, requires_grad=True)
        gx, gw = L.autograd.grad(L.nn.functional.conv1d(X, W).sum(), (X, W), create_graph=True)
        return [L.autograd.grad((gw * gw).sum(), (X,), retain_graph=True)[0],
                L.autograd.grad((gx * gx).sum(), (W,))[0]]
    check(program)


@pytest.mark.parametrize("var_shape", [(4, 3), (4,), (4, 1), (1, 3), (1, 1), (2, 3), (4, 3, 1),
                                       (3,), ()])
def test_gaussian_nll_loss_var_shapes(var_shape):
    """ModuleInfo's GaussianNLLLoss sample with var (1, 3) for input (4, 3) (refused after
    a rewrite of the size check): PyTorch takes any var whose sizes differing from input's
    add up to 1."""
    def program(L):
        x = L.arange(12.0).reshape(4, 3) / 7
        var = L.ones(*var_shape) if var_shape else L.tensor(1.0)
        return L.nn.functional.gaussian_nll_loss(x, x.flip(0), var * 0.5, reduction="none")
    check(program)
