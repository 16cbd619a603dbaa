"""The __torch_function__ protocol for Tensor subclasses (ember/_torch_function.py),
against torch: the same program, which defines subclasses with and without their own
__torch_function__, records what each call gives in both libraries.

Defining a Tensor subclass switches ember's dispatch on for the rest of the process, so
ember's side runs in a subprocess (the other tests keep an undispatched ember).
"""
import json
import subprocess
import sys

import pytest

torch = pytest.importorskip("torch")


def program(L):
    """Facts about subclass dispatch in library L (torch or ember), as JSON-able values."""
    out = {}
    calls = []

    class Logged(L.Tensor):
        @classmethod
        def __torch_function__(cls, func, types, args=(), kwargs=None):
            calls.append(func.__name__)
            return super().__torch_function__(func, types, args, kwargs or {})

    x = L.ones(2, 3).as_subclass(Logged)
    y = x * 2 + 1
    z = L.nn.functional.relu(y).sum(0)
    m = y.max(dim=1)
    w = L.matmul(x, L.ones(3, 1))
    n = 1 - x[0]
    out["calls"] = list(calls)
    out["types"] = [type(v).__name__ for v in (y, z, m.values, m.indices, w, n)]
    out["values"] = [y.tolist(), z.tolist(), w.tolist(), n.tolist()]
    calls.clear()
    out["repr"] = repr(L.ones(2).as_subclass(Logged))
    out["repr_calls"] = list(calls)

    class A(L.Tensor):
        pass

    class B(A):
        pass

    a, b = L.ones(1).as_subclass(A), L.ones(1).as_subclass(B)
    out["subclass_first"] = [type(L.add(a, b)).__name__, type(L.add(b, a)).__name__,
                             type(a + L.ones(1)).__name__]
    out["lists"] = [type(L.cat([a, L.ones(1)])).__name__,
                    type(L.stack([L.ones(1), a])).__name__,
                    [type(t).__name__ for t in L.ones(4).as_subclass(A).split(2)]]
    out["scalars"] = [type(a.item()).__name__, a.tolist(), bool(a), float(a)]
    out["isinstance"] = isinstance(a + 1, L.Tensor)
    p = L.nn.Parameter(L.ones(2))
    out["parameter"] = [type(p * 2).__name__, type(p.sum()).__name__]
    with L._C.DisableTorchFunctionSubclass():
        out["disabled"] = type(a + 1).__name__
    out["has_torch_function"] = [L.overrides.has_torch_function((a,)),
                                 L.overrides.has_torch_function((L.ones(1),)),
                                 L.overrides.has_torch_function((p,)),
                                 L.overrides.has_torch_function_unary(b),
                                 L.overrides.has_torch_function_variadic(L.ones(1), a)]

    def user_fn(t, k=1):
        if L.overrides.has_torch_function((t,)):
            return L.overrides.handle_torch_function(user_fn, (t,), t, k=k)
        return t + k

    calls.clear()
    r = user_fn(L.ones(1).as_subclass(Logged), k=2)
    out["handle"] = [list(calls), type(r).__name__, r.tolist()]

    class Refuse(L.Tensor):
        @classmethod
        def __torch_function__(cls, func, types, args=(), kwargs=None):
            return NotImplemented

    try:
        L.add(L.ones(1).as_subclass(Refuse), 1)
        out["refuse"] = None
    except Exception as e:   # the type is compared
        out["refuse"] = type(e).__name__

    class Meta(L.Tensor):
        """Carries a tag through ops: the common use of the protocol."""
        @classmethod
        def __torch_function__(cls, func, types, args=(), kwargs=None):
            ret = super().__torch_function__(func, types, args, kwargs or {})
            if isinstance(ret, cls):
                ret.tag = next((t.tag for t in args if isinstance(t, cls) and
                                hasattr(t, "tag")), None)
            return ret

    t = L.ones(2).as_subclass(Meta)
    t.tag = "hello"
    u = (t * 3).exp()
    out["tag"] = [type(u).__name__, getattr(u, "tag", None)]

    seen = []

    class LogMode(L.overrides.TorchFunctionMode):
        def __torch_function__(self, func, types, args=(), kwargs=None):
            # (torch's functions written in Python, relu and tolist, also list plain Tensor
            # among the types; its C++ ones do not: only the subclasses are compared)
            seen.append([func.__name__, [tp.__name__ for tp in types if tp is not L.Tensor]])
            return func(*args, **(kwargs or {}))

    sub = L.ones(2).as_subclass(Logged)
    calls.clear()
    with LogMode():
        x2 = L.ones(2, 3)
        y2 = L.nn.functional.relu(x2 * 2 + 1).sum(0)
        first = x2[0].tolist()
        s2 = sub + 1   # the mode first; its own call then reaches the subclass
    out["mode"] = [seen, list(calls), y2.tolist(), first, type(s2).__name__]
    n = len(seen)
    L.ones(1).tolist()
    out["mode_gone"] = len(seen) == n   # the mode sees nothing once exited

    seen.clear()
    with LogMode():
        L.transpose(x2, 0, 1)    # one function under several names in ember (swapaxes ...)
    out["aliases"] = [name for name, _ in seen]

    # a mode entered in another thread sees nothing of this thread's calls
    import threading
    entered, release, seen_here = threading.Event(), threading.Event(), []

    def other():
        with LogMode():
            entered.set()
            release.wait(30)
    worker = threading.Thread(target=other)
    worker.start()
    entered.wait(30)
    n = len(seen)
    L.ones(2).exp().sum()
    seen_here.append(len(seen) - n)
    release.set()
    worker.join()
    out["other_thread"] = seen_here

    g = L.ones(2).as_subclass(A).requires_grad_()
    (g * 3).sum().backward()
    out["grad"] = [type(g.grad).__name__, g.grad.tolist()]
    return out


_EMBER_SIDE = ("import json, sys; sys.path.insert(0, {root!r}); import ember; "
               "from tests.test_torch_function import program; print(json.dumps(program(ember)))")


@pytest.fixture(scope="module")
def ember_facts():
    import os
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    res = subprocess.run([sys.executable, "-c", _EMBER_SIDE.format(root=root)],
                         capture_output=True, text=True, timeout=300, cwd=root)
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout)


@pytest.fixture(scope="module")
def torch_facts():
    return json.loads(json.dumps(program(torch)))


KEYS = ["calls", "types", "values", "repr", "repr_calls", "subclass_first", "lists", "scalars",
        "isinstance", "parameter", "disabled", "has_torch_function", "handle", "refuse", "tag",
        "grad", "mode", "mode_gone", "aliases", "other_thread"]


@pytest.mark.parametrize("key", KEYS)
def test_subclass_dispatch_matches_torch(key, ember_facts, torch_facts):
    assert ember_facts[key] == torch_facts[key]


def test_no_subclass_no_dispatch():
    """Until a subclass takes part, ember's functions are not wrapped (no cost)."""
    res = subprocess.run([sys.executable, "-c",
                          "import ember, ember._torch_function as tf, ember.nn.functional as F;"
                          "import ember.nn as nn; nn.Linear(2, 2);"
                          "print(tf.ACTIVE[0], hasattr(ember.add, '_ember_undispatched'),"
                          "hasattr(ember.Tensor.__add__, '_ember_undispatched'))"],
                         capture_output=True, text=True, timeout=120)
    assert res.stdout.split() == ["False", "False", "False"], res.stderr


def test_public_functions_pickle_by_reference_with_dispatch_on():
    """With dispatch on, each public function is its wrapper everywhere ember holds it, and
    pickle finds that wrapper again by (module, qualname), as without dispatch (functions
    their module holds under another name, e.g. ember.linalg.slogdet, raised
    PicklingError)."""
    code = ("import pickle, ember, ember._torch_function as tf\n"
            "tf.activate()\n"
            "bad = []\n"
            "for sp in (ember, ember.nn.functional, ember.linalg, ember.fft, ember.special):\n"
            "    for n, f in list(vars(sp).items()):\n"
            "        if n[0] != '_' and type(f).__name__ == 'function':\n"
            "            try:\n"
            "                ok = pickle.loads(pickle.dumps(f)) is f\n"
            "            except Exception:\n"
            "                ok = False\n"
            "            if not ok:\n"
            "                bad.append(sp.__name__ + '.' + n)\n"
            "print(tf.ACTIVE[0], len(bad), bad)\n")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert res.stdout.split(None, 2)[:2] == ["True", "0"], res.stdout + res.stderr


def test_reactivation_puts_the_same_wrappers_back():
    """deactivate() then activate() (test isolation does this) gives back the very wrapper
    objects of the first activation, so tables keyed by function identity stay valid."""
    code = ("import ember, ember._torch_function as tf\n"
            "names = lambda: (ember.add, ember.Tensor.add, ember.Tensor.__add__, "
            "ember.Tensor.shape, ember.nn.functional.relu, ember.linalg.slogdet)\n"
            "tf.activate(); a = names(); tf.deactivate(); plain = ember.add\n"
            "tf.activate(); b = names()\n"
            "print(plain is not a[0], all(x is y for x, y in zip(a, b)))\n")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert res.stdout.split() == ["True", "True"], res.stdout + res.stderr
