"""__torch_function__ on types that are not Tensors (PyTorch's "Extending torch with a
Tensor-like type": ScalarTensor), on Tensor operators whose handlers decline, and on Tensor
properties; the same program runs on torch and on ember and the facts are compared.

The class statements in `program` switch ember's dispatch on (ember/_torch_function.py's
_build_class); tests/conftest.py switches it off after each test.
"""
import functools

import pytest

import ember

torch = pytest.importorskip("torch")


def _outcome(fn):
    try:
        r = fn()
    except Exception as e:  # noqa: BLE001 - the exception type is compared
        return type(e).__name__
    return r.tolist() if hasattr(r, "tolist") else r


def scalar_tensor_program(L):
    """The docs' ScalarTensor: an object (not a Tensor) with __torch_function__ and a table
    of the functions it implements."""
    out = {}
    handled = {}

    class ScalarTensor:
        def __init__(self, n, value):
            self._n, self._value = n, value

        def __repr__(self):
            return f"ScalarTensor(N={self._n}, value={self._value})"

        def tensor(self):
            return self._value * L.eye(self._n)

        @classmethod
        def __torch_function__(cls, func, types, args=(), kwargs=None):
            if func not in handled or \
                    not all(issubclass(t, (L.Tensor, ScalarTensor)) for t in types):
                return NotImplemented
            return handled[func](*args, **(kwargs or {}))

    def implements(torch_function):
        def decorator(func):
            functools.update_wrapper(func, torch_function)
            handled[torch_function] = func
            return func
        return decorator

    @implements(L.mean)
    def mean(input):
        return float(input._value) / input._n

    @implements(L.add)
    def add(input, other):
        if isinstance(input, ScalarTensor) and isinstance(other, ScalarTensor):
            return ScalarTensor(input._n, input._value + other._value)
        if isinstance(input, ScalarTensor):
            return input.tensor() + other
        return input + other.tensor()

    d = ScalarTensor(5, 2)
    out["mean"] = L.mean(d)
    out["mean_kw"] = L.mean(input=d)
    out["add"] = repr(L.add(d, d))
    out["add_tensor_first"] = L.add(L.ones(5, 5), d).tolist()
    out["add_scalar_first"] = L.add(d, L.ones(5, 5)).tolist()
    out["method_of_tensor"] = _outcome(lambda: L.ones(5, 5).add(d))
    for name, fn in [("sum", lambda: L.sum(d)), ("sin", lambda: L.sin(d)),
                     ("cat", lambda: L.cat([d, d])), ("stack", lambda: L.stack([L.ones(1), d])),
                     ("relu", lambda: L.nn.functional.relu(d)),
                     ("softmax", lambda: L.nn.functional.softmax(d, 0)),
                     ("linalg_norm", lambda: L.linalg.norm(d)),
                     ("operator", lambda: L.ones(5) + d), ("roperator", lambda: d * L.ones(5))]:
        out[name] = _outcome(fn)
    return out


def logger_program(L):
    """A type whose handler answers everything: which calls reach it, with which types."""
    calls = []

    class Logger:
        @classmethod
        def __torch_function__(cls, func, types, args=(), kwargs=None):
            calls.append([func.__name__, [t.__name__ for t in types], len(args)])
            return "handled"

    lg = Logger()
    results = [L.sum(lg), L.add(L.ones(1), lg), L.add(L.ones(1), other=lg),
               L.nn.functional.relu(lg), L.cat([L.ones(1), lg]),
               L.where(L.ones(1) > 0, lg, 1), L.ones(1) + lg, L.ones(1) * lg, lg * L.ones(1),
               L.ones(1).mul(lg), L.sum(L.ones(2)).item()]
    return {"results": results, "calls": calls,
            "has_torch_function": [L.overrides.has_torch_function((lg,)),
                                   L.overrides.has_torch_function((L.ones(1), 2)),
                                   L.overrides.is_tensor_like(lg)]}


def reflected_program(L):
    """A handler that declines: the Tensor operator answers NotImplemented, so Python tries
    the other operand's reflected operator; a function call raises TypeError."""
    class Declines:
        @classmethod
        def __torch_function__(cls, func, types, args=(), kwargs=None):
            return NotImplemented

        def __radd__(self, other):
            return "radd"

        def __rmatmul__(self, other):
            return "rmatmul"

    dcl = Declines()
    return {"radd": _outcome(lambda: L.ones(1) + dcl), "rmatmul": _outcome(lambda: L.ones(1) @ dcl),
            "mul": _outcome(lambda: L.ones(1) * dcl), "fn": _outcome(lambda: L.mul(L.ones(1), dcl)),
            "sub": _outcome(lambda: L.ones(1) - dcl)}


def property_program(L):
    """Tensor properties dispatch on a subclass as Tensor.<name>.__get__ / __set__."""
    calls = []

    class Logged(L.Tensor):
        @classmethod
        def __torch_function__(cls, func, types, args=(), kwargs=None):
            calls.append(func.__name__)
            return super().__torch_function__(func, types, args, kwargs or {})

    x = L.ones(2, 3).as_subclass(Logged)
    out = {}
    for name, fn in [("shape", lambda: tuple(x.shape)), ("dtype", lambda: str(x.dtype)[6:]),
                     ("T", lambda: type(x.T).__name__), ("data", lambda: type(x.data).__name__),
                     ("ndim", lambda: x.ndim), ("requires_grad", lambda: x.requires_grad),
                     ("is_leaf", lambda: x.is_leaf)]:
        calls.clear()
        out[name] = [fn(), list(calls)]
    calls.clear()
    x.requires_grad = True
    out["set"] = [x.requires_grad, list(calls)]
    (x * 2).sum().backward()
    calls.clear()
    out["grad"] = [type(x.grad).__name__, list(calls)]
    return out


def mode_property_program(L):
    """A TorchFunctionMode sees property reads and writes of plain tensors too."""
    seen = []

    class Mode(L.overrides.TorchFunctionMode):
        def __torch_function__(self, func, types, args=(), kwargs=None):
            seen.append(func.__name__)
            return func(*args, **(kwargs or {}))

    x = L.ones(2, 3)
    with Mode():
        facts = [tuple(x.shape), x.ndim, type(x.T).__name__, (x + 1).tolist()]
        x.requires_grad = False
    return {"facts": facts, "seen": seen}


@pytest.mark.parametrize("program", [scalar_tensor_program, logger_program, reflected_program,
                                     property_program, mode_property_program])
def test_same_as_torch(program):
    expected = program(torch)
    got = program(ember)
    assert got.keys() == expected.keys()
    for key in expected:
        assert got[key] == expected[key], key


def test_plain_classes_do_not_switch_dispatch_on():
    """A class without __torch_function__ leaves ember undispatched (no wrapper is paid)."""
    from ember import _torch_function as tf
    tf.deactivate()

    class Plain:
        pass

    assert not tf.ACTIVE[0]
    assert not hasattr(ember.sum, "_ember_undispatched")

    class TensorLike:
        @classmethod
        def __torch_function__(cls, func, types, args=(), kwargs=None):
            return 1

    assert tf.ACTIVE[0] and ember.sum(TensorLike()) == 1
