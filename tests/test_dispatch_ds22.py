"""__torch_dispatch__ argument forms against PyTorch (ember/utils/_dispatch_schema_nn.py):
what a logging TorchDispatchMode sees -- the overload, its arguments and keywords in order,
and the structure of what the op returns -- for convolution, pooling, view/expand/permute,
cat/stack, layer and batch norm and the losses, forward and backward; and that a handler
calling the op with other arguments, or answering with its own result, is honoured."""
import pytest
import torch

import ember


def _mode_class(lib):
    if lib is torch:
        from torch.utils._python_dispatch import TorchDispatchMode
    else:
        from ember.utils._python_dispatch import TorchDispatchMode
    return TorchDispatchMode


def _plain(value, lib):
    """A value as the log keeps it: a Tensor by its shape and dtype, dtypes and formats by
    name, lists and tuples kept apart (PyTorch's schema shows int lists as lists)."""
    if isinstance(value, lib.Tensor):
        return ("T", tuple(value.shape), str(value.dtype).split(".")[-1])
    if isinstance(value, (lib.dtype, lib.memory_format, lib.device, lib.layout)):
        return str(value).split(".")[-1]
    if isinstance(value, list):
        return [_plain(v, lib) for v in value]
    if isinstance(value, tuple):
        return tuple(_plain(v, lib) for v in value)
    if isinstance(value, dict):
        return {k: _plain(v, lib) for k, v in value.items()}
    return value


def _seen(lib, call, grad):
    log = []

    class Log(_mode_class(lib)):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            out = func(*args, **(kwargs or {}))
            log.append((str(func), _plain(args, lib), _plain(kwargs or {}, lib),
                        _plain(out, lib)))
            return out
    lib.manual_seed(0)
    x = lib.randn(2, 3, 6, 6, requires_grad=grad)
    w = lib.randn(4, 3, 3, 3, requires_grad=grad)
    b = lib.randn(4, requires_grad=grad)
    lib.manual_seed(0)
    mods = {"conv": lib.nn.Conv2d(3, 4, 3, padding=1), "ln": lib.nn.LayerNorm(6),
            "bn": lib.nn.BatchNorm2d(3).eval(), "bn_train": lib.nn.BatchNorm2d(3),
            "pool": lib.nn.MaxPool2d(2),
            "avg": lib.nn.AvgPool2d(3, 2, 1)}
    y = lib.randn(2, 3)
    tgt = lib.tensor([1, 0])
    with Log():
        out = call(lib, lib.nn.functional, x, w, b, y, tgt, mods)
        if grad:
            (out[0] if isinstance(out, tuple) else out).sum().backward()
    values = out[0] if isinstance(out, tuple) else out
    return log, values.detach().numpy().reshape(-1).tolist()


CALLS = {
    "conv2d": lambda m, F, x, w, b, y, t, mods: F.conv2d(x, w, b),
    "conv2d_stride_padding": lambda m, F, x, w, b, y, t, mods: F.conv2d(x, w, None, 2, 1),
    "conv2d_groups": lambda m, F, x, w, b, y, t, mods:
        F.conv2d(x.narrow(1, 0, 2), w.narrow(1, 0, 1), None, 1, 1, 1, 2),
    "conv_module": lambda m, F, x, w, b, y, t, mods: mods["conv"](x),
    "conv1d": lambda m, F, x, w, b, y, t, mods: F.conv1d(x[:, :, 0], w[:, :, 0], b),
    "conv_transpose2d": lambda m, F, x, w, b, y, t, mods:
        F.conv_transpose2d(x, w.transpose(0, 1), None, stride=2, output_padding=1),
    "max_pool2d": lambda m, F, x, w, b, y, t, mods: F.max_pool2d(x, 2),
    "max_pool2d_stride": lambda m, F, x, w, b, y, t, mods: F.max_pool2d(x, 2, 2),
    "max_pool2d_padding": lambda m, F, x, w, b, y, t, mods: F.max_pool2d(x, 3, 2, 1),
    "max_pool2d_ceil": lambda m, F, x, w, b, y, t, mods: F.max_pool2d(x, 4, 3, ceil_mode=True),
    "max_pool_module": lambda m, F, x, w, b, y, t, mods: mods["pool"](x),
    "avg_pool2d": lambda m, F, x, w, b, y, t, mods: F.avg_pool2d(x, 2),
    "avg_pool2d_options": lambda m, F, x, w, b, y, t, mods:
        F.avg_pool2d(x, 3, 2, 1, count_include_pad=False),
    "avg_pool2d_divisor": lambda m, F, x, w, b, y, t, mods: F.avg_pool2d(x, 2, divisor_override=3),
    "avg_pool_module": lambda m, F, x, w, b, y, t, mods: mods["avg"](x),
    "flatten": lambda m, F, x, w, b, y, t, mods: x.flatten(1),
    "view": lambda m, F, x, w, b, y, t, mods: x.view(6, 36),
    "expand": lambda m, F, x, w, b, y, t, mods: x[:, :1].expand(2, 5, 6, 6),
    "permute": lambda m, F, x, w, b, y, t, mods: x.permute(0, 2, 3, 1),
    "narrow": lambda m, F, x, w, b, y, t, mods: x.narrow(1, 1, 2),
    "cat": lambda m, F, x, w, b, y, t, mods: m.cat([x, x]),
    "cat_dim": lambda m, F, x, w, b, y, t, mods: m.cat([x, x], 1),
    "cat_negative_dim": lambda m, F, x, w, b, y, t, mods: m.cat([x, x], -1),
    "stack": lambda m, F, x, w, b, y, t, mods: m.stack([x, x], -2),
    "layer_norm": lambda m, F, x, w, b, y, t, mods: F.layer_norm(x, (6,)),
    "layer_norm_2d": lambda m, F, x, w, b, y, t, mods: F.layer_norm(x, (6, 6), eps=1e-3),
    "layer_norm_module": lambda m, F, x, w, b, y, t, mods: mods["ln"](x),
    # (PyTorch's batch norm first makes an empty reserve tensor, aten.empty.memory_format)
    "batch_norm_eval": lambda m, F, x, w, b, y, t, mods: mods["bn"](x),
    "batch_norm_train": lambda m, F, x, w, b, y, t, mods: mods["bn_train"](x),
    "batch_norm_functional": lambda m, F, x, w, b, y, t, mods:
        F.batch_norm(x, m.zeros(3), m.ones(3), training=True, momentum=0.3),
    "mse_loss": lambda m, F, x, w, b, y, t, mods: F.mse_loss(x, x.detach() * 2),
    "mse_loss_sum": lambda m, F, x, w, b, y, t, mods:
        F.mse_loss(x, x.detach() * 2, reduction="sum"),
    "binary_cross_entropy": lambda m, F, x, w, b, y, t, mods:
        F.binary_cross_entropy(x.sigmoid(), x.detach().sigmoid()),
    "binary_cross_entropy_none": lambda m, F, x, w, b, y, t, mods:
        F.binary_cross_entropy(x.sigmoid(), x.detach().sigmoid(), reduction="none"),
    "nll_loss": lambda m, F, x, w, b, y, t, mods: F.nll_loss(y, t),
    "nll_loss_none": lambda m, F, x, w, b, y, t, mods: F.nll_loss(y, t, reduction="none"),
    "nll_loss_ignore": lambda m, F, x, w, b, y, t, mods:
        F.nll_loss(y, t, ignore_index=0, reduction="sum"),
    "cross_entropy": lambda m, F, x, w, b, y, t, mods: F.cross_entropy(y, t),
    "cross_entropy_of_indexed": lambda m, F, x, w, b, y, t, mods:
        F.cross_entropy(x[:, :, 0, 0], t),
    "index_items": lambda m, F, x, w, b, y, t, mods: x[0, 1:, None, ::2],
    "index_two_ints": lambda m, F, x, w, b, y, t, mods: x[:, :, 0, -1],
    "index_none_then_int": lambda m, F, x, w, b, y, t, mods: x[:, None, 0],
    "index_ellipsis": lambda m, F, x, w, b, y, t, mods: x[1, ..., 0],
    "view_inferred": lambda m, F, x, w, b, y, t, mods: x.view(x.size(0), -1),
    "reshape_inferred": lambda m, F, x, w, b, y, t, mods: x.reshape(-1, 36),
    "sum": lambda m, F, x, w, b, y, t, mods: x.sum(),
}

# forward only: the backward formulas differ (ember's own ops run them: conv_transpose's
# input gradient, stack's unbind), or nothing requires grad in PyTorch
NO_BACKWARD = {"conv_transpose2d", "stack", "nll_loss", "nll_loss_none", "nll_loss_ignore",
               "cross_entropy"}


@pytest.mark.parametrize("name", sorted(CALLS))
def test_forward_ops_seen_as_torch(name):
    expected, got = (_seen(lib, CALLS[name], False) for lib in (torch, ember))
    assert got[0] == expected[0]
    assert got[1] == pytest.approx(expected[1], abs=1e-4)


def _leaves_unordered(log):
    """The log with its closing run of leaf-gradient ``detach``es sorted: the order in
    which the engines reach the leaves' AccumulateGrad nodes is scheduling, not the ops."""
    i = len(log)
    while i and log[i - 1][0] == "aten.detach.default":
        i -= 1
    return log[:i] + sorted(log[i:], key=repr)


@pytest.mark.parametrize("name", sorted(set(CALLS) - NO_BACKWARD))
def test_forward_and_backward_ops_seen_as_torch(name):
    """With backward: conv's gradients as one ``convolution_backward`` with the output
    mask, the seed's ``ones_like`` keywords, cat's gradient slices."""
    expected, got = (_seen(lib, CALLS[name], True) for lib in (torch, ember))
    assert _leaves_unordered(got[0]) == _leaves_unordered(expected[0])


def _handler_changes(lib, change, call):
    """Run `call` under a mode whose handler passes `change(func, args, kwargs)` on."""
    class Change(_mode_class(lib)):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            args, kwargs = change(lib, func, list(args), dict(kwargs or {}))
            return func(*args, **kwargs)
    lib.manual_seed(0)
    x = lib.randn(1, 2, 6, 6, requires_grad=True)
    w = lib.randn(3, 2, 3, 3, requires_grad=True)
    with Change():
        out = call(lib, lib.nn.functional, x, w)
    out = out[0] if isinstance(out, tuple) else out
    out.sum().backward()
    return (tuple(out.shape), out.detach().numpy().reshape(-1).tolist(),
            x.grad.numpy().reshape(-1).tolist())


def _conv_dilation_2(lib, func, args, kwargs):
    if func is lib.ops.aten.convolution.default:   # (the output keeps its shape)
        args[4], args[5] = [2, 2], [2, 2]
    return args, kwargs


def _pool_kernel_3(lib, func, args, kwargs):
    if func is lib.ops.aten.max_pool2d_with_indices.default:
        args = args[:2] + [[3, 3], [1, 1]]
    return args, kwargs


def _avg_pool_padding_uncounted(lib, func, args, kwargs):
    if func is lib.ops.aten.avg_pool2d.default:
        args = args[:4] + [False, False]
    return args, kwargs


def _cat_reversed(lib, func, args, kwargs):
    if func is lib.ops.aten.cat.default:
        args[0] = list(reversed(args[0]))
    return args, kwargs


def _view_other_size(lib, func, args, kwargs):
    if func is lib.ops.aten.view.default:
        args[1] = [-1, 12]
    return args, kwargs


def _mse_sum(lib, func, args, kwargs):
    if func is lib.ops.aten.mse_loss.default:
        args = args[:2] + [2]
    return args, kwargs


CHANGES = {
    "conv_dilation": (_conv_dilation_2, lambda m, F, x, w: F.conv2d(x, w, padding=1)),
    "max_pool_kernel": (_pool_kernel_3, lambda m, F, x, w: F.max_pool2d(x, 2)),
    "avg_pool_count_include_pad": (_avg_pool_padding_uncounted,
                                   lambda m, F, x, w: F.avg_pool2d(x, 3, 1, 1)),
    "cat_order": (_cat_reversed, lambda m, F, x, w: m.cat([x, x * 2], 1)),
    "view_size": (_view_other_size, lambda m, F, x, w: x.view(2, 36)),
    "mse_reduction": (_mse_sum, lambda m, F, x, w: F.mse_loss(x, x.detach() + 1)),
}


@pytest.mark.parametrize("name", sorted(CHANGES))
def test_handler_calling_with_other_arguments(name):
    change, call = CHANGES[name]
    expected, got = (_handler_changes(lib, change, call) for lib in (torch, ember))
    assert got[0] == expected[0]
    assert got[1] == pytest.approx(expected[1], abs=1e-3)
    if name not in GRADIENT_OF_THE_PROGRAMS_CALL:
        assert got[2] == pytest.approx(expected[2], abs=1e-3)


# PyTorch's autograd node, recorded above the dispatch, keeps the program's arguments: its
# gradient is that of the call the program made (MseLossBackward0 with reduction mean ...),
# where ember's node computes the gradient of the op the handler ran -- not matched
GRADIENT_OF_THE_PROGRAMS_CALL = {"mse_reduction", "conv_dilation", "avg_pool_count_include_pad"}


def test_handler_answering_layer_norm_with_its_own_tuple():
    """native_layer_norm returns (out, mean, rstd): a handler's own tuple is taken (its
    first item is the output) and autograd records it."""
    for lib in (torch, ember):
        class Double(_mode_class(lib)):
            def __torch_dispatch__(self, func, types, args=(), kwargs=None):
                out = func(*args, **(kwargs or {}))
                if func is lib.ops.aten.native_layer_norm.default:
                    assert isinstance(out, tuple) and len(out) == 3
                    assert out[1].shape == (2, 1) and out[2].shape == (2, 1)
                    return (out[0] * 2,) + tuple(out[1:])
                return out
        x = lib.tensor([[1.0, 2.0, 4.0], [0.0, 1.0, 0.0]], requires_grad=True)
        with Double():
            y = lib.nn.functional.layer_norm(x, (3,))
        if lib is torch:
            expected = y.detach().numpy().round(4).tolist()
            assert y.requires_grad
        else:
            assert y.detach().numpy().round(4).tolist() == expected
            assert y.requires_grad and y.grad_fn is not None


def test_nll_loss_forward_total_weight_as_torch():
    seen = {}
    for lib in (torch, ember):
        class Total(_mode_class(lib)):
            def __torch_dispatch__(self, func, types, args=(), kwargs=None):
                out = func(*args, **(kwargs or {}))
                if "nll_loss" in str(func):
                    seen.setdefault(lib.__name__, []).append(
                        [round(float(o), 4) for o in out])
                return out
        x = lib.tensor([[0.1, 0.5, 0.4], [0.3, 0.3, 0.4], [0.2, 0.2, 0.6]])
        t = lib.tensor([1, -100, 2])
        wt = lib.tensor([1.0, 2.0, 3.0])
        with Total():
            for reduction in ("mean", "sum"):
                lib.nn.functional.nll_loss(x, t, reduction=reduction)
                lib.nn.functional.nll_loss(x, t, weight=wt, reduction=reduction)
    assert seen["ember"] == seen["torch"]


def test_flop_counter_counts_conv_backward_as_torch():
    """The convolution_backward a mode sees is counted by PyTorch's formula."""
    counts = []
    for lib in (torch, ember):
        from importlib import import_module
        counter = import_module(f"{lib.__name__}.utils.flop_counter").FlopCounterMode(
            display=False)
        lib.manual_seed(0)
        conv = lib.nn.Conv2d(3, 4, 3)
        x = lib.randn(2, 3, 8, 8, requires_grad=True)
        with counter:
            conv(x).sum().backward()
        counts.append(counter.get_total_flops())
    assert counts[1] == counts[0]


# --------------------------------------------------------------------------------------
# __torch_function__: PyTorch's Python-level nn.functional functions hand the call over
# with their leading parameters positional and the others as keywords, defaults filled in


def _function_seen(lib, call):
    if lib is torch:
        from torch.overrides import TorchFunctionMode
    else:
        from ember.overrides import TorchFunctionMode
    log = []

    class Log(TorchFunctionMode):
        def __torch_function__(self, func, types, args=(), kwargs=None):
            log.append((getattr(func, "__name__", str(func)), _plain(args, lib),
                        _plain(kwargs or {}, lib)))
            return func(*args, **(kwargs or {}))
    lib.manual_seed(0)
    x = lib.randn(2, 3, 6, 6)
    t = lib.tensor([1, 0])
    with Log():
        out = call(lib, lib.nn.functional, x, t)
    return log, out.reshape(-1).tolist()


FUNCTION_CALLS = {
    "max_pool2d": lambda m, F, x, t: F.max_pool2d(x, 2),
    "max_pool2d_keywords": lambda m, F, x, t: F.max_pool2d(x, 3, padding=1, ceil_mode=True),
    "layer_norm": lambda m, F, x, t: F.layer_norm(x, (6,), eps=1e-3),
    "mse_loss": lambda m, F, x, t: F.mse_loss(x, x * 2, reduction="sum"),
    "cross_entropy": lambda m, F, x, t: F.cross_entropy(x[:, :, 0, 0], t),
    "relu": lambda m, F, x, t: F.relu(x),
    "dropout_eval": lambda m, F, x, t: F.dropout(x, 0.5, False),
    "softmax": lambda m, F, x, t: F.softmax(x, 1),
    "gelu": lambda m, F, x, t: F.gelu(x, approximate="tanh"),
    "conv2d_as_written": lambda m, F, x, t: F.conv2d(x, x[:1, :, :3, :3], padding=1),
    "avg_pool2d_as_written": lambda m, F, x, t: F.avg_pool2d(x, 2),
}


@pytest.mark.parametrize("name", sorted(FUNCTION_CALLS))
def test_function_mode_sees_functional_calls_as_torch(name):
    expected, got = (_function_seen(lib, FUNCTION_CALLS[name]) for lib in (torch, ember))
    assert got[0] == expected[0]
    assert got[1] == pytest.approx(expected[1], abs=1e-4)


def test_subclass_torch_function_sees_functional_keywords():
    seen = {}
    for lib in (torch, ember):
        class Logged(lib.Tensor):
            @classmethod
            def __torch_function__(cls, func, types, args=(), kwargs=None):
                if getattr(func, "__name__", "") == "mse_loss":
                    seen[lib.__name__] = sorted(kwargs or {})
                return super().__torch_function__(func, types, args, kwargs)
        x = lib.ones(3).as_subclass(Logged)
        lib.nn.functional.mse_loss(x, lib.zeros(3))
    assert seen["ember"] == seen["torch"]


@pytest.mark.parametrize("padding_mode", ["zeros", "reflect"])
def test_function_mode_sees_conv_module_as_one_functional_call(padding_mode):
    """nn.Conv2d calls F.conv2d (after F.pad for another padding mode), as PyTorch's."""
    logs = []
    for lib in (torch, ember):
        if lib is torch:
            from torch.overrides import TorchFunctionMode
        else:
            from ember.overrides import TorchFunctionMode
        log = []

        class Log(TorchFunctionMode):
            def __torch_function__(self, func, types, args=(), kwargs=None):
                log.append((getattr(func, "__name__", str(func)), _plain(args, lib),
                            _plain(kwargs or {}, lib)))
                return func(*args, **(kwargs or {}))
        lib.manual_seed(0)
        conv = lib.nn.Conv2d(3, 2, 3, padding=1, padding_mode=padding_mode)
        x = lib.randn(1, 3, 5, 5)
        with Log():
            out = conv(x)
        logs.append((log, out.reshape(-1).tolist()))
    assert logs[1][0] == logs[0][0]
    assert logs[1][1] == pytest.approx(logs[0][1], abs=1e-5)


def test_legacy_constructor_and_asarray_of_a_tensor_as_torch():
    """``Tensor(t)`` is an alias in t's graph (``aten.alias``, AliasBackward0);
    ``asarray(t)`` of a tensor needing no change is t itself (no op)."""
    results = []
    for lib in (torch, ember):
        log = []

        class Log(_mode_class(lib)):
            def __torch_dispatch__(self, func, types, args=(), kwargs=None):
                log.append(str(func))
                return func(*args, **(kwargs or {}))
        y = lib.randn(3, requires_grad=True)
        x = lib.randn(3)
        with Log():
            t = lib.Tensor(y)
            same = lib.asarray(x) is x
        results.append((log, same, t.requires_grad, type(t.grad_fn).__name__,
                        t._base is y, t.data_ptr() == y.data_ptr()))
    assert results[1] == results[0]


@pytest.mark.parametrize("name", ["cummax", "cummin"])
def test_cummax_out_as_torch(name):
    """cummax/cummin take out=(values, indices), dispatched as ``aten.cummax.out``."""
    results = []
    for lib in (torch, ember):
        log = []

        class Log(_mode_class(lib)):
            def __torch_dispatch__(self, func, types, args=(), kwargs=None):
                if "empty" not in str(func):
                    log.append((str(func), sorted(kwargs or {})))
                return func(*args, **(kwargs or {}))
        x = lib.tensor([[1.0, 3.0, 2.0], [0.0, -1.0, 5.0]])
        with Log():
            v, i = lib.empty(0), lib.empty(0, dtype=lib.int64)
            r = getattr(lib, name)(x, -1, out=(v, i))
        results.append((log, type(r).__name__, r[0] is v, r[1] is i, v.tolist(), i.tolist()))
    assert results[1] == results[0]
