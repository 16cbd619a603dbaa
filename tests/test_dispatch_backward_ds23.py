"""What a logging TorchDispatchMode sees during loss.backward(), against PyTorch: the
backward ops PyTorch runs as one ATen kernel (native_batch_norm_backward,
native_layer_norm_backward, nll_loss_backward, _log_softmax_backward_data,
_softmax_backward_data, mse_loss_backward, binary_cross_entropy_backward, slice_backward
for narrow) with their arguments, batch norm's empty reserve tensor, and a handler that
changes a backward op's gradient or answers it with its own result
(ember/utils/_dispatch_backward.py, _dispatch_schema_backward.py)."""
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
    """A logged value: a Tensor by shape and dtype, dtypes and the like by name."""
    if isinstance(value, lib.Tensor):
        return ("T", tuple(value.shape), str(value.dtype).split(".")[-1])
    if isinstance(value, (lib.dtype, lib.memory_format, lib.device, lib.layout)):
        return str(value).split(".")[-1]
    if isinstance(value, (list, tuple)):
        return type(value)(_plain(v, lib) for v in value)
    if isinstance(value, dict):
        return {k: _plain(v, lib) for k, v in value.items()}
    return value


def _leaves_unordered(log):
    """The closing run of leaf-gradient detaches sorted (the engines' order of reaching
    the AccumulateGrad nodes is scheduling, not the ops)."""
    i = len(log)
    while i and log[i - 1][0] == "aten.detach.default":
        i -= 1
    return log[:i] + sorted(log[i:], key=repr)


def _linear_free(m):
    return m.randn(2, 3), m.tensor([1, 2])


MODELS = {
    "conv_bn_relu": lambda m: (m.nn.Sequential(m.nn.Conv2d(2, 3, 3, padding=1),
                                               m.nn.BatchNorm2d(3), m.nn.ReLU()),
                               lambda net, x: net(x).sin().sum(), (2, 2, 5, 5)),
    "conv_bn_relu_eval": lambda m: (m.nn.Sequential(m.nn.Conv2d(2, 3, 3, padding=1),
                                                    m.nn.BatchNorm2d(3), m.nn.ReLU()).eval(),
                                    lambda net, x: net(x).sin().sum(), (2, 2, 5, 5)),
    "batch_norm_1d_no_affine": lambda m: (m.nn.BatchNorm1d(3, affine=False),
                                          lambda net, x: net(x).sin().sum(), (4, 3)),
    "batch_norm_functional": lambda m: (None, lambda net, x: m.nn.functional.batch_norm(
        x, m.zeros(3), m.ones(3), training=True, momentum=0.3).sin().sum(), (2, 3, 4)),
    "layer_norm_module": lambda m: (m.nn.LayerNorm(4), lambda net, x: net(x).sin().sum(),
                                    (2, 3, 4)),
    "layer_norm_no_affine_2d": lambda m: (None, lambda net, x: m.nn.functional.layer_norm(
        x, (3, 4), eps=1e-3).sin().sum(), (2, 3, 4)),
    "layer_norm_softmax": lambda m: (m.nn.LayerNorm(4),
                                     lambda net, x: (m.softmax(net(x), -1) *
                                                     m.arange(4.)).sum(), (2, 3, 4)),
    "softmax": lambda m: (None, lambda net, x: (m.softmax(x, 1) * m.arange(3.)).sum(), (2, 3)),
    "log_softmax": lambda m: (None, lambda net, x: (m.log_softmax(x, -1) *
                                                    m.arange(3.)).sum(), (2, 3)),
    "cross_entropy": lambda m: (None, lambda net, x: m.nn.functional.cross_entropy(
        x, m.tensor([0, 2, 1, 1])), (4, 3)),
    "cross_entropy_sum": lambda m: (None, lambda net, x: m.nn.functional.cross_entropy(
        x, m.tensor([0, 2, 1, 1]), reduction="sum"), (4, 3)),
    "cross_entropy_2d": lambda m: (None, lambda net, x: m.nn.functional.cross_entropy(
        x, m.tensor([[[0, 1], [2, 0]], [[1, 1], [2, 2]]])), (2, 3, 2, 2)),
    "nll_loss_weight_ignore": lambda m: (None, lambda net, x: m.nn.functional.nll_loss(
        x, m.tensor([0, 1, 2, 0]), m.ones(3) * 2, ignore_index=1, reduction="sum"), (4, 3)),
    "nll_loss_none": lambda m: (None, lambda net, x: m.nn.functional.nll_loss(
        x, m.tensor([0, 1, 2, 0]), reduction="none").sum(), (4, 3)),
    "mse_loss": lambda m: (None, lambda net, x: m.nn.functional.mse_loss(x, x.detach() * 2),
                           (4, 3)),
    "mse_loss_none": lambda m: (None, lambda net, x: m.nn.functional.mse_loss(
        x, x.detach() * 2, reduction="none").sum(), (4, 3)),
    "bce": lambda m: (None, lambda net, x: m.nn.functional.binary_cross_entropy(
        x.sigmoid(), x.detach().sigmoid()), (4, 3)),
    "bce_weight_sum": lambda m: (None, lambda net, x: m.nn.functional.binary_cross_entropy(
        x.sigmoid(), x.detach().sigmoid(), m.ones(3), reduction="sum"), (4, 3)),
    "narrow": lambda m: (None, lambda net, x: x.narrow(0, 1, 2).sin().sum(), (4, 3)),
    "narrow_to_end": lambda m: (None, lambda net, x: x.narrow(1, 1, 2).sin().sum(), (4, 3)),
}


def _log(lib, name, change=None):
    """(log, loss, input gradient) of model `name` run forward and backward in a mode."""
    log = []

    class Log(_mode_class(lib)):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            args, kwargs = list(args), dict(kwargs or {})
            if change is not None:
                answer = change(lib, func, args, kwargs)
                if answer is not None:
                    log.append((str(func), "answered"))
                    return answer
            out = func(*args, **kwargs)
            log.append((str(func), _plain(args, lib), _plain(kwargs, lib), _plain(out, lib)))
            return out
    lib.manual_seed(0)
    net, loss_of, shape = MODELS[name](lib)
    x = lib.randn(*shape, requires_grad=True)
    with Log():
        loss = loss_of(net, x)
        loss.backward()
    return _leaves_unordered(log), loss.item(), x.grad.numpy().reshape(-1).tolist()


@pytest.mark.parametrize("name", sorted(MODELS))
def test_backward_ops_seen_as_torch(name):
    expected, got = _log(torch, name), _log(ember, name)
    assert got[0] == expected[0]
    assert got[1] == pytest.approx(expected[1], rel=1e-5, abs=1e-6)
    assert got[2] == pytest.approx(expected[2], rel=1e-4, abs=1e-6)


def _double_grad_of(packet):
    def change(lib, func, args, kwargs):
        if func is getattr(lib.ops.aten, packet).default:
            args[0] = args[0] * 2
        return None
    return change


def _answer_zeros(packet):
    def change(lib, func, args, kwargs):
        if func is getattr(lib.ops.aten, packet).default:
            return lib.zeros_like(args[1])
        return None
    return change


CHANGES = {
    "layer_norm_grad_doubled": ("layer_norm_module",
                                _double_grad_of("native_layer_norm_backward")),
    "batch_norm_grad_doubled": ("batch_norm_functional",
                                _double_grad_of("native_batch_norm_backward")),
    "nll_grad_doubled": ("cross_entropy", _double_grad_of("nll_loss_backward")),
    "log_softmax_grad_doubled": ("cross_entropy",
                                 _double_grad_of("_log_softmax_backward_data")),
    "mse_answered": ("mse_loss", _answer_zeros("mse_loss_backward")),
    "softmax_answered": ("softmax", _answer_zeros("_softmax_backward_data")),
}


@pytest.mark.parametrize("name", sorted(CHANGES))
def test_handler_changing_a_backward_op(name):
    """A handler's change of the gradient it passes on (or its own answer) is the
    gradient the program gets, as in PyTorch."""
    model, change = CHANGES[name]
    expected, got = _log(torch, model, change), _log(ember, model, change)
    assert got[0] == expected[0]
    assert got[2] == pytest.approx(expected[2], rel=1e-4, abs=1e-6)


def test_create_graph_runs_the_formulas_ops():
    """With create_graph, the backward's own graph is recorded: ember's formula ops are
    dispatched (not the one-op form), and the second derivative is torch's."""
    def run(lib):
        seen = []

        class Log(_mode_class(lib)):
            def __torch_dispatch__(self, func, types, args=(), kwargs=None):
                seen.append(str(func))
                return func(*args, **(kwargs or {}))
        lib.manual_seed(0)
        x = lib.randn(2, 3, requires_grad=True)
        with Log():
            y = lib.nn.functional.layer_norm(x, (3,))
            g, = lib.autograd.grad((y * y.detach()).sum(), x, create_graph=True)
        g.sum().backward()
        return seen, x.grad.numpy().reshape(-1).tolist()
    (t_seen, t_grad), (e_seen, e_grad) = run(torch), run(ember)
    assert "aten.native_layer_norm_backward.default" not in e_seen
    assert e_grad == pytest.approx(t_grad, rel=1e-4, abs=1e-5)


def test_batch_norm_reserve_only_once_with_nested_modes():
    """Two modes: each sees one ``empty`` before native_batch_norm, as PyTorch's."""
    def run(lib):
        logs = ([], [])

        def mode(log):
            class Log(_mode_class(lib)):
                def __torch_dispatch__(self, func, types, args=(), kwargs=None):
                    log.append(str(func))
                    return func(*args, **(kwargs or {}))
            return Log()
        lib.manual_seed(0)
        bn = lib.nn.BatchNorm1d(3)
        x = lib.randn(4, 3)
        with mode(logs[0]), mode(logs[1]):
            bn(x)
        return logs
    assert run(ember) == run(torch)


GROUP_NORM = {
    "group_norm_module": lambda m: (m.nn.GroupNorm(2, 4), lambda net, x: net(x).sin().sum(),
                                    (2, 4, 3)),
    "group_norm_no_affine_4d": lambda m: (None, lambda net, x: m.nn.functional.group_norm(
        x, 3, eps=1e-3).sin().sum(), (2, 6, 2, 2)),
    "group_norm_contiguous_grad": lambda m: (m.nn.GroupNorm(1, 2), lambda net, x:
                                             (net(x) * net(x).detach()).sum(), (3, 2, 2)),
}
MODELS.update(GROUP_NORM)


@pytest.mark.parametrize("name", sorted(GROUP_NORM))
def test_group_norm_seen_as_torch(name):
    """native_group_norm(x, w, b, N, C, HxW, group, eps) -> (out, mean, rstd), the saved
    statistics' detaches, and native_group_norm_backward after them."""
    expected, got = _log(torch, name), _log(ember, name)
    assert got[0] == expected[0]
    assert got[2] == pytest.approx(expected[2], rel=1e-4, abs=1e-6)


POOLS_1D = {
    "max_pool1d": lambda m: (None, lambda net, x: m.nn.functional.max_pool1d(x, 2).sin().sum(),
                             (2, 3, 8)),
    "max_pool1d_indices_options": lambda m: (None, lambda net, x: m.nn.functional.max_pool1d(
        x, 3, 2, 1, return_indices=True)[0].sin().sum(), (2, 3, 9)),
    "max_pool1d_module": lambda m: (m.nn.MaxPool1d(2), lambda net, x: net(x).sin().sum(),
                                    (2, 3, 8)),
    "avg_pool1d": lambda m: (None, lambda net, x: m.nn.functional.avg_pool1d(x, 2).sin().sum(),
                             (2, 3, 8)),
    "avg_pool1d_options": lambda m: (None, lambda net, x: m.nn.functional.avg_pool1d(
        x, 3, 2, 1, ceil_mode=True, count_include_pad=False).sin().sum(), (2, 3, 9)),
    "unsqueeze_squeeze_negative": lambda m: (None, lambda net, x: x.unsqueeze(-2).sin()
                                             .squeeze(-2).sum(), (2, 3)),
}
MODELS.update(POOLS_1D)


@pytest.mark.parametrize("name", sorted(POOLS_1D))
def test_1d_pools_seen_as_torch(name):
    """A 1-d pool as PyTorch runs it: unsqueeze(x, -2), the 2-d pool, squeeze.dim(-2);
    backward unsqueeze(grad, 2), the 2-d pool's backward op, squeeze.dim(-2)."""
    expected, got = _log(torch, name), _log(ember, name)
    assert got[0] == expected[0]
    assert got[2] == pytest.approx(expected[2], rel=1e-4, abs=1e-6)


def test_t_shows_no_dims():
    """x.t() is ``aten.t.default(x)``; a handler calling it on another tensor gets its
    transpose."""
    def run(lib):
        seen = []

        class Log(_mode_class(lib)):
            def __torch_dispatch__(self, func, types, args=(), kwargs=None):
                if func is lib.ops.aten.t.default:
                    seen.append(_plain(args, lib))
                    return func(args[0] * 2)
                return func(*args, **(kwargs or {}))
        x = lib.arange(6.).reshape(2, 3)
        with Log():
            y = x.t()
        return seen, y.tolist()
    assert run(ember) == run(torch)


OPTIMIZERS = {
    "SGD": dict(lr=0.1), "SGD momentum": dict(lr=0.1, momentum=0.9, weight_decay=0.01),
    "Adam": dict(lr=0.01), "AdamW": dict(lr=0.01, amsgrad=True),
    "RMSprop": dict(lr=0.01), "RMSprop centered momentum": dict(lr=0.01, centered=True,
                                                                momentum=0.5),
    "Adagrad": dict(lr=0.1, weight_decay=0.1), "Adadelta": dict(lr=0.5),
}


def _step_ops(lib, case):
    """The ops a mode sees in an optimizer's second step (the first makes its state), and
    the parameter after it."""
    seen = []

    class Log(_mode_class(lib)):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            if func.namespace == "aten":   # (PyTorch's record_function ops: profiler.*)
                seen.append((str(func), _plain(args, lib), _plain(kwargs or {}, lib)))
            return func(*args, **(kwargs or {}))
    lib.manual_seed(0)
    p = lib.nn.Parameter(lib.randn(2, 3))
    opt = getattr(lib.optim, case.split()[0])([p], **OPTIMIZERS[case])
    for i in range(2):
        p.grad = lib.full((2, 3), 0.5 * (i + 1))
        if i:
            with Log():
                opt.step()
        else:
            opt.step()
    return seen, p.detach().numpy().reshape(-1).tolist()


@pytest.mark.parametrize("case", sorted(OPTIMIZERS))
def test_optimizer_step_ops_seen_as_torch(case):
    """An optimizer step run while a mode is entered takes its op-by-op single-tensor form
    (as a profiled step): the mode sees PyTorch's ops, and the values are PyTorch's."""
    expected, got = _step_ops(torch, case), _step_ops(ember, case)
    assert got[0] == expected[0]
    assert got[1] == pytest.approx(expected[1], rel=1e-5, abs=1e-6)


LINEARS = {
    "linear_cross_entropy": lambda m: (m.nn.Linear(3, 4), lambda net, x:
                                       m.nn.functional.cross_entropy(net(x), m.tensor([1, 3])),
                                       (2, 3)),
    "mlp_no_bias_last": lambda m: (m.nn.Sequential(m.nn.Linear(3, 5), m.nn.ReLU(),
                                                   m.nn.Linear(5, 4), m.nn.Tanh(),
                                                   m.nn.Linear(4, 2, bias=False)),
                                   lambda net, x: m.nn.functional.cross_entropy(
                                       net(x), m.tensor([1, 0, 1])), (3, 3)),
    "linear_layer_norm_softmax": lambda m: (m.nn.Sequential(m.nn.Linear(4, 4),
                                                            m.nn.LayerNorm(4)),
                                            lambda net, x: (m.softmax(net(x), -1) *
                                                            m.arange(4.)).sum(), (3, 4)),
}
MODELS.update(LINEARS)


def _tail_unordered(log):
    """The closing run of leaf detaches and TBackward0's ``t`` ops as a multiset: the
    engines reach the leaves' AccumulateGrad nodes in their own order."""
    i = len(log)
    while i and log[i - 1][0] in ("aten.detach.default", "aten.t.default"):
        i -= 1
    return log[:i] + sorted(log[i:], key=repr)


@pytest.mark.parametrize("name", sorted(LINEARS))
def test_linear_seen_as_torch(name):
    """F.linear of a matrix: ``t(W)`` then ``addmm(b, x, W^T)`` (``mm`` without bias);
    backward as AddmmBackward0/MmBackward0 (t, mm, t; sum.dim_IntList and view for the
    bias) and TBackward0's ``t``, with the values of PyTorch."""
    expected, got = _log(torch, name), _log(ember, name)
    assert _tail_unordered(got[0]) == _tail_unordered(expected[0])
    assert got[1] == pytest.approx(expected[1], rel=1e-5, abs=1e-6)
    assert got[2] == pytest.approx(expected[2], rel=1e-4, abs=1e-6)


def test_handler_passing_its_own_transposed_weight():
    """A handler giving addmm another W^T (here 2 * W^T) gets that product, as in
    PyTorch; the weight's gradient follows the program's graph."""
    def change(lib, func, args, kwargs):
        if func is lib.ops.aten.addmm.default:
            args[2] = args[2] * 2
        return None
    expected = _log(torch, "linear_cross_entropy", change)
    got = _log(ember, "linear_cross_entropy", change)
    assert got[1] == pytest.approx(expected[1], rel=1e-5)
    assert got[2] == pytest.approx(expected[2], rel=1e-4, abs=1e-6)


@pytest.mark.parametrize("call", ["addmm", "addmm_beta_alpha", "baddbmm_alpha",
                                  "addcmul_value"])
def test_keyword_only_scalars_as_torch(call):
    """beta/alpha of addmm and baddbmm, value of addcmul: keyword-only in PyTorch's schema,
    shown as keywords when not 1; a handler changing one is honoured."""
    calls = {
        "addmm": lambda m, x: m.addmm(x, x, x),
        "addmm_beta_alpha": lambda m, x: m.addmm(x, x, x, beta=0.5, alpha=2),
        "baddbmm_alpha": lambda m, x: m.baddbmm(x[None], x[None], x[None], alpha=3),
        "addcmul_value": lambda m, x: m.addcmul(x, x, x, value=-2),
    }

    def run(lib):
        seen = []

        class Log(_mode_class(lib)):
            def __torch_dispatch__(self, func, types, args=(), kwargs=None):
                kwargs = dict(kwargs or {})
                seen.append((str(func), _plain(args, lib), _plain(kwargs, lib)))
                if "alpha" in kwargs:
                    kwargs["alpha"] = 1
                return func(*args, **kwargs)
        x = lib.arange(4.).reshape(2, 2)
        with Log():
            out = calls[call](lib, x)
        return seen, out.tolist()
    assert run(ember) == run(torch)
