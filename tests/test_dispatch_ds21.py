"""__torch_dispatch__ remainders (ember/utils/_dispatch_fronts.py, _python_dispatch.py)
against PyTorch: what a mode sees for ``tensor(existing_tensor)`` (``aten.detach`` then
``aten._to_copy`` with dtype and device), for ``tensor([x[0], x[1]])`` (the values are read
without dispatch), and the keywords of ``aten._to_copy`` for ``x.to(dtype)``."""
import warnings

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
    if isinstance(value, lib.Tensor):
        return "T"
    if isinstance(value, lib.dtype):
        return str(value).split(".")[-1]
    if isinstance(value, lib.device):
        return str(value)
    if isinstance(value, (list, tuple)):
        return [_plain(v, lib) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v, lib) for k, v in value.items()}
    return value


def _seen(lib, call):
    log = []

    class Log(_mode_class(lib)):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            log.append((str(func), _plain(args, lib), _plain(kwargs or {}, lib)))
            return func(*args, **(kwargs or {}))
    x = lib.tensor([1.0, 2.5])
    xi = lib.tensor([1, 2])
    s, parts = x.sum(), list(x.unbind())   # (made before the mode: their own ops aside)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with Log():
            out = call(lib, x, xi, s, parts)
    return (log, str(out.dtype).split(".")[-1], out.tolist(), out.requires_grad,
            [str(w.message)[:40] for w in caught])


CASES = {
    "tensor_of_tensor": lambda m, x, xi, s, parts: m.tensor(x),
    "tensor_of_tensor_dtype": lambda m, x, xi, s, parts: m.tensor(x, dtype=m.float64),
    "tensor_of_int_tensor_float": lambda m, x, xi, s, parts: m.tensor(xi, dtype=m.float32),
    "tensor_of_tensor_requires_grad": lambda m, x, xi, s, parts: m.tensor(x, requires_grad=True),
    "tensor_of_0dim_result": lambda m, x, xi, s, parts: m.tensor(s),
    "tensor_of_list_of_tensors": lambda m, x, xi, s, parts: m.tensor(parts),
    "tensor_of_list": lambda m, x, xi, s, parts: m.tensor([1.0, 2.0]),
    "as_tensor_of_tensor": lambda m, x, xi, s, parts: m.as_tensor(x),
    "to_dtype": lambda m, x, xi, s, parts: x.to(m.float64),
    "to_int": lambda m, x, xi, s, parts: x.to(m.int32),
    "double": lambda m, x, xi, s, parts: x.double(),
    "to_kw_dtype": lambda m, x, xi, s, parts: x.to(dtype=m.float16),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_mode_sees_what_torch_sees(name):
    expected, got = (_seen(lib, CASES[name]) for lib in (torch, ember))
    assert got == expected


def test_to_copy_handler_may_change_the_dtype():
    """A handler calling ``_to_copy`` with its own keywords gets that dtype (the keywords
    are read back into the op's parameters)."""
    for lib in (torch, ember):
        class Half(_mode_class(lib)):
            def __torch_dispatch__(self, func, types, args=(), kwargs=None):
                if func is lib.ops.aten._to_copy.default:
                    kwargs = dict(kwargs or {}, dtype=lib.float16)
                return func(*args, **(kwargs or {}))
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        with Half():
            y = x.to(lib.float64)
        assert y.dtype == lib.float16
        y.sum().backward()
        assert x.grad.dtype == lib.float32 and x.grad.tolist() == [1.0, 1.0]


OUT_CALLS = {
    "max_dim": lambda m, x, e: m.max(x, 1, out=(e(), e(m.int64))),
    "min_dim_keepdim": lambda m, x, e: m.min(x, 1, True, out=(e(), e(m.int64))),
    "sort": lambda m, x, e: m.sort(x, 1, out=(e(), e(m.int64))),
    "topk": lambda m, x, e: m.topk(x, 1, out=(e(), e(m.int64))),
    "aminmax": lambda m, x, e: m.aminmax(x, out=(e(), e())),
    "frexp": lambda m, x, e: m.frexp(x, out=(e(), e(m.int32))),
    "median_dim": lambda m, x, e: m.median(x, 0, out=(e(), e(m.int64))),
    "kthvalue": lambda m, x, e: m.kthvalue(x, 1, 0, out=(e(), e(m.int64))),
    "mode": lambda m, x, e: m.mode(x, 0, out=(e(), e(m.int64))),
}


def _out_call(lib, call, with_mode):
    log = []

    class Log(_mode_class(lib)):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            out = func(*args, **(kwargs or {}))
            if "empty" not in str(func):
                log.append((str(func), sorted(kwargs or {}), type(out).__name__))
            return out
    x = lib.tensor([[1.0, 5.0], [3.0, 2.0]])
    outs = []

    def empty(dtype=None):
        outs.append(lib.empty(0, dtype=dtype))
        return outs[-1]
    if with_mode:
        with Log():
            result = call(lib, x, empty)
    else:
        result = call(lib, x, empty)
    return (log, type(result).__name__, [str(t.dtype).split(".")[-1] for t in result],
            [t.tolist() for t in result], [a is b for a, b in zip(result, outs)])


@pytest.mark.parametrize("name", sorted(OUT_CALLS))
def test_out_tuple_under_mode_as_torch(name):
    """The handler sees the out overload with the outs as its keywords and gets a plain
    tuple back; the caller gets PyTorch's ``return_types.<name>_out`` of the outs."""
    expected, got = (_out_call(lib, OUT_CALLS[name], True) for lib in (torch, ember))
    assert got == expected


@pytest.mark.parametrize("name", sorted(OUT_CALLS))
def test_out_tuple_return_type_as_torch(name):
    """Without a mode too: a call given a tuple of outs returns ``<name>_out``."""
    expected, got = (_out_call(lib, OUT_CALLS[name], False) for lib in (torch, ember))
    assert got == expected


SCHEMA_CALLS = {
    "add_scalar": lambda m, F, x: x + 1,
    "add_alpha": lambda m, F, x: m.add(x, x, alpha=2),
    "sub_tensor": lambda m, F, x: x - x,
    "sum": lambda m, F, x: x.sum(),
    "sum_dim": lambda m, F, x: x.sum(0),
    "sum_keepdim": lambda m, F, x: x.sum(1, keepdim=True),
    "sum_dtype": lambda m, F, x: x.sum(0, dtype=m.float64),
    "sum_int": lambda m, F, x: x.long().sum(0),
    "mean": lambda m, F, x: x.mean(),
    "max": lambda m, F, x: x.max(),
    "max_dim": lambda m, F, x: x.max(1),
    "min_dim_keepdim": lambda m, F, x: x.min(0, keepdim=True),
    "median_dim": lambda m, F, x: x.median(1),
    "mode": lambda m, F, x: x.mode(1),
    "log_softmax": lambda m, F, x: F.log_softmax(x, 1),
    "clone": lambda m, F, x: x.clone(),
    "pow": lambda m, F, x: x ** 2,
    "gelu": lambda m, F, x: F.gelu(x),
    "gelu_tanh": lambda m, F, x: F.gelu(x, approximate="tanh"),
    "squeeze_dim": lambda m, F, x: x.unsqueeze(0).squeeze(0),
    "select": lambda m, F, x: x[0],
    "select_negative": lambda m, F, x: x[:, -1],
    "slice": lambda m, F, x: x[:, 1:],
    "slice_stop": lambda m, F, x: x[:1],
    "slice_step": lambda m, F, x: x[:, ::2],
}


def _schema_seen(lib, call):
    log = []

    class Log(_mode_class(lib)):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            log.append((str(func), _plain(args, lib), _plain(kwargs or {}, lib)))
            return func(*args, **(kwargs or {}))
    x = lib.tensor([[1.0, 5.0, -2.0], [3.0, 2.0, 0.5]])
    with Log():
        out = call(lib, lib.nn.functional, x)
    out = out if isinstance(out, tuple) else (out,)
    return log, [t.tolist() for t in out]


@pytest.mark.parametrize("name", sorted(SCHEMA_CALLS))
def test_handler_sees_schema_arguments_as_torch(name):
    """The arguments after the operands as PyTorch's schema passes them (defaults left
    out, dims as a list, keyword-only ones as keywords), and max(x, 1) as aten.max.dim."""
    expected, got = (_schema_seen(lib, SCHEMA_CALLS[name]) for lib in (torch, ember))
    assert got[0] == expected[0]
    torch.testing.assert_close(torch.tensor(got[1]), torch.tensor(expected[1]))


def test_handler_changing_arguments_is_honoured_or_refused():
    """A handler may call the op with other arguments where ember maps them back (alpha,
    softmax's dim, gelu's approximate); where it cannot, NotImplementedError names it."""
    for lib in (torch, ember):
        class Change(_mode_class(lib)):
            def __torch_dispatch__(self, func, types, args=(), kwargs=None):
                if func is lib.ops.aten.add.Tensor:
                    kwargs = {"alpha": 3}
                if func is lib.ops.aten._softmax.default:
                    args = (args[0], 0, False)
                return func(*args, **(kwargs or {}))
        x = lib.tensor([[1.0, 2.0], [3.0, 5.0]])
        with Change():
            added = lib.add(x, x)
            soft = lib.softmax(x, 1)
        assert added.tolist() == [[4.0, 8.0], [12.0, 20.0]]
        assert soft.tolist() == lib.softmax(x, 0).tolist()

    class Sum(_mode_class(ember)):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            if func is ember.ops.aten.sum.dim_IntList:
                args = (args[0], [1])
            return func(*args, **(kwargs or {}))
    with Sum(), pytest.raises(NotImplementedError, match="sum.dim_IntList"):
        ember.ones(2, 2).sum(0)


def test_return_types_pickle_as_torch():
    """return_types tuples (out= ones too) pickle and copy with their type, as PyTorch's
    (ember's raised PicklingError: ember.return_types is no module)."""
    import copy
    import pickle
    got = []
    for lib in (torch, ember):
        x = lib.tensor([[1.0, 2.0], [3.0, 0.0]])
        results = [lib.max(x, 0), lib.max(x, 0, out=(lib.empty(0), lib.empty(0, dtype=lib.int64))),
                   lib.frexp(x), lib.sort(x, 1)]
        got.append([(type(r2).__name__, [t.tolist() for t in r2])
                    for r in results for r2 in (pickle.loads(pickle.dumps(r)), copy.deepcopy(r))])
    assert got[1] == got[0]
