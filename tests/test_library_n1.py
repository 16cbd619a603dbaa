"""ember.library (torch.library): Library/define/impl, custom_op and its registrations,
schemas, infer_schema, opcheck, Tag. Each case is a program run on ember and on torch;
values, dtypes, shapes, strings, or the exception type are compared."""
import itertools
import warnings
from typing import Optional, Sequence

import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")

from tests.program_compare import run as _run, same  # noqa: E402

_COUNT = itertools.count()


def _ns(m):
    """A fresh namespace per program and module (registrations outlive a test in torch)."""
    return f"n1t{next(_COUNT)}{'e' if m is ember else 't'}"


def _kinds(result):
    """opcheck's dict with exceptions reduced to their type names."""
    return {k: v if isinstance(v, str) else type(v).__name__ for k, v in result.items()}


def _raises(fn):
    try:
        fn()
    except Exception as e:  # noqa: BLE001 - the type is what gets compared
        return ("raised", type(e).__name__)
    return "no error"


# --------------------------------------------------------------------------- Library

def _library_define_impl(m):
    ns = _ns(m)
    lib = m.library.Library(ns, "DEF")
    seen = []

    def kernel(*args, **kwargs):
        seen.append((len(args), sorted(kwargs)))
        x, n = args[0], args[1] if len(args) > 1 else 2
        return x * n * kwargs.get("alpha", 1.0)
    name = lib.define("foo(Tensor x, int n=2, *, float alpha=1.0) -> Tensor")
    lib.impl("foo", kernel, "CPU")
    op = getattr(m.ops, ns).foo
    x = m.tensor([1.0, -2.0])
    outs = [op(x), op(x, 3), op(x, 2), op.default(x, 3, alpha=0.5), op(x, n=4),
            op(x, alpha=1.0)]
    texts = [str(op.default._schema), op.default.name(), str(op), str(op.default), repr(op),
             repr(op.default), op.default.namespace]
    return [name, outs, seen, op.overloads(), [t.replace(ns, "NS") for t in texts],
            op.default.tags, op.default.__name__, op.default._overloadname]


def _module_define_impl(m):
    ns = _ns(m)
    m.library.define(f"{ns}::sin", "(Tensor x) -> Tensor")

    @m.library.impl(f"{ns}::sin", "cpu")
    def f(x):
        return m.from_numpy(np.sin(x.numpy()))

    m.library.define(f"{ns}::twice", "(Tensor x) -> Tensor")
    m.library.impl(f"{ns}::twice", "default", lambda x: x * 2)
    x = m.tensor([0.5, 1.0, 2.0])
    return [getattr(m.ops, ns).sin(x), getattr(m.ops, ns).twice(x), f is None]


def _legacy_decorators(m):
    ns = _ns(m)
    lib = m.library.Library(ns, "FRAGMENT")

    @m.library.define(lib, "neg(Tensor x) -> Tensor")
    def neg(x):
        return -x
    lib.define("abs2(Tensor x) -> Tensor")

    @m.library.impl(lib, "abs2", "CPU")
    def abs2(x):
        return x.abs() * 2
    x = m.tensor([1.5, -2.0])
    return [getattr(m.ops, ns).neg(x), getattr(m.ops, ns).abs2(x), callable(neg)]


def _overloads(m):
    ns = _ns(m)
    lib = m.library.Library(ns, "DEF")
    lib.define("add(Tensor x, Tensor y) -> Tensor")
    lib.define("add.Scalar(Tensor x, float y) -> Tensor")
    lib.define("add.out(Tensor x, Tensor y, *, Tensor(a!) out) -> Tensor(a!)")
    lib.impl("add", lambda x, y: x + y, "CPU")
    lib.impl("add.Scalar", lambda x, y: x + 10 * y, "CPU")

    def add_out(x, y, *, out):
        out.copy_(x + y)
        return out
    lib.impl("add.out", add_out, "CPU")
    op = getattr(m.ops, ns).add
    x = m.tensor([1.0, 2.0])
    out = m.zeros(2)
    r = op.out(x, x, out=out)
    return [op(x, x), op(x, 2.0), op.Scalar(x, 1.5), r, out, r is out, sorted(op.overloads()),
            str(op.out._schema).replace(ns, "NS"), str(op.Scalar._schema).replace(ns, "NS")]


_SCHEMAS = [
    "a(Tensor x, int n=-3, float f=1.5, float g=2., bool b=True, str s='hi', int[2] k=[1, 2], "
    "int[] l=[], Tensor? t=None, ScalarType? d=None, Scalar c=1, SymInt m=0, "
    "float[] fl=[1.0, 2.5]) -> (Tensor a, Tensor b)",
    "b(Tensor(a!) x, Tensor(a) z) -> Tensor(a)",
    "c(Tensor[] xs, Tensor?[] ys, *, Device? device=None, Layout? layout=None, "
    "MemoryFormat? memory_format=None, Generator? generator=None) -> Tensor[]",
    "d(Tensor x) -> ()",
    "e(Tensor x) -> (Tensor, int, float, bool)",
    "f(Tensor self, Scalar alpha=1) -> Tensor",
    "h(Tensor x, float eps=1e-05, float big=1e10, float neg=-0.5, float tenth=0.1) -> Tensor",
]


@pytest.mark.parametrize("i", range(len(_SCHEMAS)))
def test_schema_strings_and_arguments(i):
    """str(schema) and the Argument fields (name, type, default, kwarg_only, alias)."""
    def program(m):
        ns = _ns(m)
        lib = m.library.Library(ns, "DEF")
        lib.define(_SCHEMAS[i])
        name = _SCHEMAS[i].split("(")[0]
        schema = getattr(getattr(m.ops, ns), name).default._schema
        args = [(a.name, str(a.type), a.default_value, a.kwarg_only,
                 a.alias_info is not None and a.alias_info.is_write) for a in schema.arguments]
        return [str(schema).split("::", 1)[1], args, [(r.name, str(r.type)) for r in schema.returns],
                schema.is_mutable, schema.overload_name]
    assert _run(program, ember) == _run(program, torch)


_BAD_CALLS = {
    "missing": lambda op, x: op(x),
    "wrong_int": lambda op, x: op(x, 2.5),
    "wrong_tensor": lambda op, x: op(3, 2),
    "unknown_kw": lambda op, x: op(x, 3, beta=1),
    "too_many": lambda op, x: op(x, 3, 1.0),
    "int_list_given_float": lambda op, x: op(x, [1.5]),
}


@pytest.mark.parametrize("case", sorted(_BAD_CALLS))
def test_call_checked_against_schema(case):
    """Calls that do not fit the schema raise PyTorch's RuntimeError."""
    def program(m):
        ns = _ns(m)
        lib = m.library.Library(ns, "DEF")
        lib.define("foo(Tensor x, int n, *, float alpha=1.0) -> Tensor")
        lib.impl("foo", lambda x, n, alpha=1.0: x * 2, "CPU")
        return _BAD_CALLS[case](getattr(m.ops, ns).foo.default, m.ones(2))
    e, t = _run(program, ember), _run(program, torch)
    assert e == t and e == ("raised", "RuntimeError")


def _error_programs():
    def redefine(m):
        lib = m.library.Library(_ns(m), "FRAGMENT")
        lib.define("foo(Tensor x) -> Tensor")
        lib.define("foo(Tensor x) -> Tensor")

    def two_defs(m):
        ns = _ns(m)
        keep = m.library.Library(ns, "DEF")
        m.library.Library(ns, "DEF")
        return keep

    def bad_kind(m):
        m.library.Library(_ns(m), "XYZ")

    def reserved(m):
        m.library.Library("prim", "DEF")

    def syntax_comma(m):
        m.library.Library(_ns(m), "FRAGMENT").define("bar(Tensor x,, int) -> Tensor")

    def syntax_paren(m):
        m.library.Library(_ns(m), "FRAGMENT").define("baz(Tensor x -> Tensor")

    def unknown_type(m):
        m.library.Library(_ns(m), "FRAGMENT").define("qux(Tensr x) -> Tensor")

    def no_kernel(m):
        ns = _ns(m)
        m.library.define(f"{ns}::nk", "(Tensor x) -> Tensor")
        getattr(m.ops, ns).nk(m.ones(2))

    def meta_no_fake(m):
        ns = _ns(m)
        m.library.define(f"{ns}::nf", "(Tensor x) -> Tensor")
        m.library.impl(f"{ns}::nf", "cpu", lambda x: x * 2)
        getattr(m.ops, ns).nf(m.ones(2, device="meta"))

    def bad_key(m):
        lib = m.library.Library(_ns(m), "FRAGMENT")
        lib.define("k(Tensor x) -> Tensor")
        lib.impl("k", lambda x: x, "Bogus")

    def void_returns_value(m):
        lib = m.library.Library(_ns(m), "FRAGMENT")
        lib.define("v(Tensor(a!) x) -> ()")
        lib.impl("v", lambda x: x.add_(1), "CPU")
        getattr(m.ops, lib.ns).v(m.zeros(2))

    def nameless_schema(m):
        m.library.define(f"{_ns(m)}::d2", "Tensor x -> Tensor")

    def no_namespace(m):
        m.library.define("justname", "(Tensor x) -> Tensor")

    def missing_attr(m):
        ns = _ns(m)
        m.library.define(f"{ns}::here", "(Tensor x) -> Tensor")
        return getattr(m.ops, ns).nothere

    def missing_overload(m):
        ns = _ns(m)
        m.library.define(f"{ns}::here", "(Tensor x) -> Tensor")
        return getattr(m.ops, ns).here.nope

    def not_callable(m):
        lib = m.library.Library(_ns(m), "FRAGMENT")
        lib.define("nc(Tensor x) -> Tensor")
        lib.impl("nc", 3, "CPU")

    def no_override(m):
        lib = m.library.Library(_ns(m), "FRAGMENT")
        lib.define("no(Tensor x) -> Tensor")
        lib.impl("no", lambda x: x, "CPU")
        lib.impl("no", lambda x: x, "CPU", allow_override=False)

    return dict(locals())


_ERRORS = _error_programs()


@pytest.mark.parametrize("case", sorted(_ERRORS))
def test_errors_as_torch(case):
    e, t = _run(_ERRORS[case], ember), _run(_ERRORS[case], torch)
    assert e == t and e[0] == "raised", (e, t)


def test_schema_syntax_message_points_at_token():
    for m in (ember, torch):
        with pytest.raises(RuntimeError, match=r"expected \) but found 'arrow' here"):
            m.library.Library(_ns(m), "FRAGMENT").define("baz(Tensor x -> Tensor")
        with pytest.raises(RuntimeError, match="unknown type specifier"):
            m.library.Library(_ns(m), "FRAGMENT").define("qux(Tensr x) -> Tensor")


def _library_destroyed(m):
    ns = _ns(m)
    lib = m.library.Library(ns, "DEF")
    lib.define("gone(Tensor x) -> Tensor")
    lib.impl("gone", lambda x: x + 1, "CPU")
    before = getattr(m.ops, ns).gone(m.ones(1))
    lib._destroy()
    again = m.library.Library(ns, "DEF")   # the namespace is free again
    again.define("gone(Tensor x) -> Tensor")
    again.impl("gone", lambda x: x + 5, "CPU")
    return [before, getattr(m.ops, ns).gone(m.ones(1)), again.m is not None, lib.m is None]


def _dispatch_keys_and_grad(m):
    """A CPU kernel with no autograd kernel records its own ops (PyTorch's fallback); a
    CompositeImplicitAutograd kernel is differentiated through; an Autograd kernel (an
    autograd.Function) gives the backward; a Meta kernel runs for meta tensors."""
    ns = _ns(m)
    lib = m.library.Library(ns, "FRAGMENT")
    lib.define("cpu_only(Tensor x) -> Tensor")
    lib.impl("cpu_only", lambda x: x * x, "CPU")
    lib.define("implicit(Tensor x) -> Tensor")
    lib.impl("implicit", lambda x: x.sin() * 3, "CompositeImplicitAutograd")
    lib.define("custom_grad(Tensor x) -> Tensor")
    lib.impl("custom_grad", lambda x: x * 2, "CPU")
    lib.impl("custom_grad", lambda x: m.empty_like(x), "Meta")

    class Fn(m.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g * 100

    lib.impl("custom_grad", Fn.apply, "Autograd")
    ops = getattr(m.ops, ns)
    x = m.tensor([0.5, -1.0], requires_grad=True)
    res = []
    for op in (ops.cpu_only, ops.implicit, ops.custom_grad):
        y = op(x)
        (g,) = m.autograd.grad(y.sum(), x)
        res += [y, g]
    meta = ops.custom_grad(m.empty(3, 2, device="meta"))
    return res + [tuple(meta.shape), str(meta.device)]


# --------------------------------------------------------------------------- infer_schema

def _infer_cases(m):
    T = m.Tensor

    def f(x: T, n: int, y: Optional[T], z: Sequence[int], w: list[T], *, alpha: float = 1.0,
          flag: bool = True, s: str = "a", d: m.dtype = m.float32,
          dd: Optional[m.device] = None) -> tuple[T, T]:
        pass

    def g(x: T, a: float = 0.5, b: int = -3, c: Optional[int] = None) -> None:
        pass

    def h(x: T) -> list[T]:
        pass

    def bad_default(x: T, l: list[int] = (1, 2)) -> None:
        pass

    def no_ann(x) -> T:
        pass

    def no_ret(x: T):
        pass

    def bad_type(x: T, y: dict) -> T:
        pass

    infer = m.library.infer_schema
    return [infer(f, mutates_args=()), infer(f, mutates_args={"x", "w"}),
            infer(f, op_name="foo", mutates_args=()), infer(g, mutates_args="unknown"),
            infer(h, mutates_args=()),
            _raises(lambda: infer(bad_default, mutates_args=())),
            _raises(lambda: infer(no_ann, mutates_args=())),
            _raises(lambda: infer(no_ret, mutates_args=())),
            _raises(lambda: infer(bad_type, mutates_args=())),
            _raises(lambda: infer(h, mutates_args="x")),
            _raises(lambda: infer(h, mutates_args=("zz",)))]


# --------------------------------------------------------------------------- custom_op

def _custom_op_autograd(m):
    ns = _ns(m)

    @m.library.custom_op(f"{ns}::numpy_mul", mutates_args=())
    def numpy_mul(x: m.Tensor, y: float) -> m.Tensor:
        return m.from_numpy(x.numpy(force=True) * y).to(x.device)

    @numpy_mul.register_fake
    def _(x, y):
        return m.empty_like(x)

    def setup_context(ctx, inputs, output):
        ctx.y = inputs[1]

    def backward(ctx, grad):
        return grad * ctx.y, None

    numpy_mul.register_autograd(backward, setup_context=setup_context)
    x = m.tensor([1.0, -2.0, 3.0], requires_grad=True)
    y = numpy_mul(x, 3.14)
    (g,) = m.autograd.grad(y.sum(), x)
    via = getattr(m.ops, ns).numpy_mul.default(x.detach(), 2.0)
    return [y, g, type(y.grad_fn).__name__.replace(ns, "NS"), via, repr(numpy_mul).replace(ns, "NS"),
            str(getattr(m.ops, ns).numpy_mul.default._schema).replace(ns, "NS")]


def _custom_op_kwonly_setup(m):
    """With keyword-only arguments setup_context takes (ctx, inputs, keyword_only_inputs,
    output)."""
    ns = _ns(m)

    @m.library.custom_op(f"{ns}::scale", mutates_args=())
    def scale(x: m.Tensor, *, k: float = 2.0) -> m.Tensor:
        return x * k

    def setup_context(ctx, inputs, keyword_only_inputs, output):
        ctx.k = keyword_only_inputs["k"]

    scale.register_autograd(lambda ctx, g: g * ctx.k, setup_context=setup_context)
    x = m.tensor([1.0, 2.0], requires_grad=True)
    y = scale(x, k=5.0)
    y.sum().backward()
    return [y, x.grad]


def _custom_op_list_input_grad(m):
    """A Tensor[] argument: the formula returns a list of gradients, one per tensor."""
    ns = _ns(m)

    @m.library.custom_op(f"{ns}::wsum", mutates_args=())
    def wsum(tensors: list[m.Tensor], weights: list[float]) -> m.Tensor:
        return sum(t * w for t, w in zip(tensors, weights))

    @wsum.register_fake
    def _(tensors, weights):
        return m.empty_like(tensors[0])

    def setup_context(ctx, inputs, output):
        ctx.weights = inputs[1]

    wsum.register_autograd(lambda ctx, g: ([g * w for w in ctx.weights], None),
                           setup_context=setup_context)
    a = m.tensor([1.0, 2.0], requires_grad=True)
    b = m.tensor([3.0, -1.0], requires_grad=True)
    y = wsum([a, b], [2.0, 3.0])
    (y * y).sum().backward()
    return [y, a.grad, b.grad, _kinds(m.library.opcheck(wsum, ([a, b], [2.0, 3.0]),
                                                        raise_exception=False))]


def _custom_op_no_formula(m):
    ns = _ns(m)

    @m.library.custom_op(f"{ns}::sin", mutates_args=())
    def mysin(x: m.Tensor) -> m.Tensor:
        return x.sin()
    x = m.ones(2, requires_grad=True)
    y = mysin(x)
    return [y.requires_grad, _raises(lambda: y.sum().backward())]


def _custom_op_mutation(m):
    ns = _ns(m)

    @m.library.custom_op(f"{ns}::numpy_sin", mutates_args={"output"}, device_types="cpu")
    def numpy_sin(input: m.Tensor, output: m.Tensor) -> None:
        np.sin(input.numpy(), out=output.numpy())

    @m.library.custom_op(f"{ns}::add_one", mutates_args=["x"])
    def add_one(x: m.Tensor) -> None:
        x.add_(1)

    out = m.empty(3)
    v0 = out._version
    r = numpy_sin(m.tensor([0.5, 1.0, 2.0]), out)
    z = m.zeros(2)
    v1 = z._version
    add_one(z)
    return [r, out, out._version - v0, z, z._version - v1,
            str(getattr(m.ops, ns).numpy_sin.default._schema).replace(ns, "NS"),
            _raises(lambda: add_one.register_autograd(lambda ctx, g: g))]


def _custom_op_outputs(m):
    ns = _ns(m)

    @m.library.custom_op(f"{ns}::multi", mutates_args=())
    def multi(x: m.Tensor, n: int) -> tuple[m.Tensor, m.Tensor]:
        return x * n, x + n

    @m.library.custom_op(f"{ns}::alias", mutates_args=())
    def alias(x: m.Tensor) -> m.Tensor:
        return x

    @m.library.custom_op(f"{ns}::view", mutates_args=())
    def view(x: m.Tensor) -> m.Tensor:
        return x[1:]

    @m.library.custom_op(f"{ns}::many", mutates_args=())
    def many(xs: Sequence[m.Tensor]) -> list[m.Tensor]:
        return [x * 2 for x in xs]

    x = m.ones(3)
    return [multi(x, 3), getattr(m.ops, ns).multi(x, 2), _raises(lambda: alias(x)),
            _raises(lambda: view(x)), many([x, x + 1])]


def _custom_op_inplace_and_out(m):
    """Tag.inplace / Tag.out ops return the tensor they write (the schema says so)."""
    ns = _ns(m)

    @m.library.custom_op(f"{ns}::sin_", mutates_args={"x"}, device_types="cpu",
                         tags=m.Tag.inplace)
    def sin_(x: m.Tensor) -> m.Tensor:
        np.sin(x.numpy(), out=x.numpy())
        return x

    @m.library.custom_op(f"{ns}::sin_out", mutates_args={"out"}, device_types="cpu",
                         tags=m.Tag.out)
    def sin_out(x: m.Tensor, *, out: m.Tensor) -> m.Tensor:
        np.sin(x.numpy(), out=out.numpy())
        return out

    def bad(x: m.Tensor) -> m.Tensor:
        return x
    x = m.tensor([0.5, 1.0])
    r = sin_(x)
    out = m.empty(2)
    r2 = sin_out(m.tensor([0.5, 1.0]), out=out)
    ops = getattr(m.ops, ns)
    return [r is x, x, r2 is out, out,
            str(ops.sin_.default._schema).replace(ns, "NS"),
            str(ops.sin_out.default._schema).replace(ns, "NS"),
            [str(t) for t in ops.sin_.default.tags],
            _raises(lambda: m.library.custom_op(f"{ns}::bad", mutates_args=(),
                                                tags=m.Tag.inplace)(bad))]


def _custom_op_kernels(m):
    """device_types and register_kernel; making the op again replaces it."""
    ns = _ns(m)

    @m.library.custom_op(f"{ns}::k", mutates_args=(), device_types="cuda")
    def k(x: m.Tensor) -> m.Tensor:
        return x + 1
    first = _raises(lambda: k(m.ones(1)))

    @k.register_kernel("cpu")
    def _(x):
        return x + 100
    second = k(m.ones(1))
    m.library.register_kernel(f"{ns}::k", "cpu", lambda x: x + 7)
    third = k(m.ones(1))

    @m.library.custom_op(f"{ns}::k", mutates_args=())
    def k2(x: m.Tensor) -> m.Tensor:
        return x - 1
    return [first, second, third, k2(m.ones(1)), getattr(m.ops, ns).k(m.ones(1))]


def _fake_and_meta(m):
    ns = _ns(m)

    @m.library.custom_op(f"{ns}::crop", mutates_args=())
    def crop(pic: m.Tensor, box: Sequence[int]) -> m.Tensor:
        a, b = box
        return pic[..., a:b].clone()

    @crop.register_fake
    def _(pic, box):
        return pic.new_empty(*pic.shape[:-1], box[1] - box[0])

    meta = crop(m.empty(2, 3, 8, device="meta"), [1, 5])
    real = crop(m.arange(8.0).reshape(1, 8), [2, 4])
    return [tuple(meta.shape), str(meta.device), meta.dtype == m.float32, real,
            _kinds(m.library.opcheck(crop, (m.randn(2, 8), [1, 5])))]


def _data_dependent(m):
    """get_ctx().new_dynamic_size() in a fake kernel; get_ctx() elsewhere is None."""
    ns = _ns(m)

    @m.library.custom_op(f"{ns}::nonzero", mutates_args=())
    def nonzero(x: m.Tensor) -> m.Tensor:
        return m.from_numpy(np.stack(np.nonzero(x.numpy()), axis=1))

    @nonzero.register_fake
    def _(x):
        ctx = m.library.get_ctx()
        nnz = ctx.new_dynamic_size()
        return x.new_empty([nnz, x.dim()], dtype=m.int64)

    x = m.tensor([[0.0, 1.0], [2.0, 0.0]])
    return [nonzero(x), m.library.get_ctx() is None,
            _kinds(m.library.opcheck(nonzero, (x,)))]


# --------------------------------------------------------------------------- opcheck

def _opcheck_cases(m):
    ns = _ns(m)
    res = []

    @m.library.custom_op(f"{ns}::sin", mutates_args=())
    def mysin(x: m.Tensor) -> m.Tensor:
        return x.sin()
    res.append(_raises(lambda: m.library.opcheck(mysin, (m.ones(2),))))
    res.append(_kinds(m.library.opcheck(mysin, (m.ones(2, requires_grad=True),),
                                        raise_exception=False)))

    @mysin.register_fake
    def _(x):
        return m.empty_like(x)
    res.append(m.library.opcheck(mysin, (m.ones(2),)))
    res.append(_kinds(m.library.opcheck(mysin, (m.ones(2, requires_grad=True),),
                                        raise_exception=False)))
    mysin.register_autograd(lambda ctx, g: g * ctx.x.cos(),
                            setup_context=lambda ctx, inputs, output: setattr(ctx, "x",
                                                                              inputs[0]))
    res.append(m.library.opcheck(mysin, (m.ones(2, requires_grad=True),)))
    res.append(m.library.opcheck(mysin, (m.ones(2),), test_utils="test_schema"))
    res.append(_raises(lambda: m.library.opcheck(mysin, (m.ones(2),),
                                                 test_utils=("test_schema", "bogus"))))
    res.append(_raises(lambda: m.library.opcheck(mysin, (m.ones(2),), atol=1e-3)))

    @m.library.custom_op(f"{ns}::bad", mutates_args=())
    def bad(x: m.Tensor) -> m.Tensor:
        x.add_(1)
        return x.clone()

    @bad.register_fake
    def _(x):
        return m.empty_like(x)
    res.append(_raises(lambda: m.library.opcheck(bad, (m.ones(2),))))
    res.append(_kinds(m.library.opcheck(bad, (m.ones(2),), raise_exception=False)))

    @m.library.custom_op(f"{ns}::wrongfake", mutates_args=())
    def wf(x: m.Tensor) -> m.Tensor:
        return x.clone()

    @wf.register_fake
    def _(x):
        return x.new_empty(3)
    r = m.library.opcheck(wf, (m.ones(2),), raise_exception=False)
    res.append(_kinds(r))
    res.append(str(r["test_faketensor"]).split(": ", 1)[1].replace("torch.", "T."))

    @m.library.custom_op(f"{ns}::wrongdtype", mutates_args=())
    def wd(x: m.Tensor) -> m.Tensor:
        return x.clone()

    @wd.register_fake
    def _(x):
        return x.new_empty(x.shape, dtype=m.float64)
    res.append(_kinds(m.library.opcheck(wd, (m.ones(2),), raise_exception=False)))
    return res


def _opcheck_library_ops(m):
    """opcheck on Library-defined ops: a CPU kernel with no autograd kernel fails
    test_autograd_registration; register_autograd (by name) fixes it; register_fake by
    name gives the fake kernel."""
    ns = _ns(m)
    m.library.define(f"{ns}::mul3", "(Tensor x) -> Tensor")
    m.library.impl(f"{ns}::mul3", "cpu", lambda x: x * 3)
    op = getattr(m.ops, ns).mul3
    x = m.ones(2, requires_grad=True)
    first = _kinds(m.library.opcheck(op, (x,), raise_exception=False))
    m.library.register_fake(f"{ns}::mul3", lambda x: m.empty_like(x))
    m.library.register_autograd(f"{ns}::mul3", lambda ctx, g: g * 3)
    second = m.library.opcheck(op.default, (x,), test_utils=(
        "test_schema", "test_autograd_registration", "test_faketensor"))
    y = op(x)
    (g,) = m.autograd.grad(y.sum(), x)
    return [first, second, y, g, type(y.grad_fn).__name__.replace(ns, "NS")]


# --------------------------------------------------------------------------- rules

def _torch_dispatch_rule(m):
    TorchDispatchMode = m.utils._python_dispatch.TorchDispatchMode
    ns = _ns(m)
    seen = []

    class Logging(TorchDispatchMode):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            seen.append(str(func).replace(ns, "NS"))
            return func(*args, **(kwargs or {}))

    class Doubling(TorchDispatchMode):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            return func(*args, **(kwargs or {}))

    @m.library.custom_op(f"{ns}::add1", mutates_args=())
    def add1(x: m.Tensor) -> m.Tensor:
        return x + 1

    @m.library.register_torch_dispatch(f"{ns}::add1", Doubling)
    def _(mode, func, types, args, kwargs):
        return func(*args, **kwargs) * 2

    x = m.tensor([1.0, 2.0])
    with Logging():
        a = add1(x)
    with Doubling():
        b = add1(x)
    return [a, b, [s for s in seen if s.startswith("NS")]]


def _autocast_rule(m):
    ns = _ns(m)
    dtypes = []

    @m.library.custom_op(f"{ns}::ident", mutates_args=())
    def ident(x: m.Tensor) -> m.Tensor:
        dtypes.append(str(x.dtype).split(".")[1])
        return x.clone()
    m.library.register_autocast(f"{ns}::ident", "cpu", m.bfloat16)
    x = m.ones(2)
    with m.autocast("cpu", dtype=m.bfloat16):
        y = ident(x)
    z = ident(x)
    return [y, z, dtypes, _raises(lambda: m.library.register_autocast(ident, "nodev", m.float16))]


def _vmap_custom_op(m):
    ns = _ns(m)

    @m.library.custom_op(f"{ns}::sq", mutates_args=())
    def sq(x: m.Tensor) -> m.Tensor:
        return m.from_numpy(x.numpy() ** 2)

    @sq.register_vmap
    def _(info, in_dims, x):
        return sq(x), in_dims[0]
    return m.vmap(sq)(m.arange(6.0).reshape(3, 2))


def _fx_trace(m):
    """symbolic_trace records a custom op as one call_function node (the
    __torch_function__ protocol hands it the Proxy) and the traced module runs it."""
    ns = _ns(m)

    @m.library.custom_op(f"{ns}::twice", mutates_args=())
    def twice(x: m.Tensor) -> m.Tensor:
        return x * 2

    class Model(m.nn.Module):
        def forward(self, x):
            return getattr(m.ops, ns).twice(x) + 1

    gm = m.fx.symbolic_trace(Model())
    calls = [n for n in gm.graph.nodes if n.op == "call_function"]
    return [gm(m.tensor([1.0, 2.0])), len(calls), calls[0].target is getattr(m.ops, ns).twice]


def _tutorial_crop_paste(m):
    """pytorch/tutorials' python_custom_ops: crop (PIL) with a backward that calls another
    custom op (paste), opcheck on its examples; numpy_sin writing its output, opcheck."""
    from PIL import Image
    ns = _ns(m)

    def to_pil(t):
        return Image.fromarray((t.detach().numpy() * 255).round().astype(np.uint8)
                               .transpose(1, 2, 0))

    def from_pil(img, like):
        # (H, W, C) permuted, as torchvision's pil_to_tensor: the strides the fake gives
        return (m.from_numpy(np.array(img)).permute(2, 0, 1) / 255.).to(like.dtype)

    @m.library.custom_op(f"{ns}::crop", mutates_args=())
    def crop(pic: m.Tensor, box: Sequence[int]) -> m.Tensor:
        return from_pil(to_pil(pic).crop(box), pic)

    @crop.register_fake
    def _(pic, box):
        x0, y0, x1, y1 = box
        return pic.new_empty(y1 - y0, x1 - x0, pic.shape[0]).permute(2, 0, 1)

    @m.library.custom_op(f"{ns}::paste", mutates_args=())
    def paste(im1: m.Tensor, im2: m.Tensor, coord: Sequence[int]) -> m.Tensor:
        pil = to_pil(im1)
        pil.paste(to_pil(im2), tuple(coord))
        return from_pil(pil, im1)

    @paste.register_fake
    def _(im1, im2, coord):
        return m.empty_like(im1)

    def backward(ctx, grad_output):
        return paste(grad_output.new_zeros(ctx.pic_shape), grad_output, ctx.coords), None

    def setup_context(ctx, inputs, output):
        ctx.coords = inputs[1][:2]
        ctx.pic_shape = inputs[0].shape

    crop.register_autograd(backward, setup_context=setup_context)
    img = (m.arange(3 * 16 * 16.0).reshape(3, 16, 16) % 7 / 7).requires_grad_()
    result = crop(img, (2, 3, 10, 12))
    result.sum().backward()
    checks = [_kinds(m.library.opcheck(crop, ex)) for ex in (
        [m.ones(3, 12, 12) / 3, [0, 0, 5, 5]],
        [(m.ones(3, 9, 9) / 2).requires_grad_(), [1, 0, 6, 5]],
        [m.ones(3, 10, 10, dtype=m.float64) / 4, [3, 4, 8, 9]])]

    @m.library.custom_op(f"{ns}::numpy_sin", mutates_args={"output"}, device_types="cpu")
    def numpy_sin(input: m.Tensor, output: m.Tensor) -> None:
        np.sin(input.numpy(), out=output.numpy())

    @numpy_sin.register_fake
    def _(input, output):
        pass
    checks += [_kinds(m.library.opcheck(numpy_sin, ex)) for ex in (
        [m.linspace(0, 1, 3), m.empty(3)], [m.ones(0, 3), m.empty(0, 3)],
        [m.ones(1, 2, 3, dtype=m.float64), m.empty(1, 2, 3, dtype=m.float64)])]
    return [result, img.grad, checks]


def _tags(m):
    ns = _ns(m)
    lib = m.library.Library(ns, "FRAGMENT")
    lib.define("t(Tensor x) -> Tensor", tags=(m.Tag.pt2_compliant_tag, m.Tag.pointwise))
    lib.define("u(Tensor x) -> Tensor", tags=m.Tag.core)
    ops = getattr(m.ops, ns)
    return [repr(m.Tag.pt2_compliant_tag), str(m.Tag.core), int(m.Tag.view_copy),
            [str(t) for t in ops.t.default.tags], [str(t) for t in ops.u.default.tags],
            m.Tag.core == m.Tag.core, m.Tag.core in ops.u.default.tags]


def _fake_before_composite(m):
    """Meta tensors run the fake kernel before a CompositeExplicitAutograd ("default")
    kernel that reads data."""
    ns = _ns(m)
    m.library.define(f"{ns}::npdouble", "(Tensor x) -> Tensor")
    m.library.impl(f"{ns}::npdouble", "default", lambda x: m.from_numpy(x.numpy() * 2))
    m.library.register_fake(f"{ns}::npdouble", lambda x: m.empty_like(x))
    op = getattr(m.ops, ns).npdouble
    meta = op(m.empty(2, 5, device="meta"))
    return [op(m.ones(2)), tuple(meta.shape), str(meta.device)]


def _impl_abstract(m):
    ns = _ns(m)
    m.library.define(f"{ns}::ia", "(Tensor x) -> Tensor")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        m.library.impl_abstract(f"{ns}::ia", lambda x: m.empty_like(x))
    y = getattr(m.ops, ns).ia(m.empty(4, device="meta"))
    return [tuple(y.shape), [c.category.__name__ for c in caught if "impl_abstract" in
                             str(c.message)]]


def _fallthrough(m):
    return [_raises(m.library.fallthrough_kernel), callable(m.library.fallthrough_kernel)]


CASES = {
    "library_define_impl": _library_define_impl,
    "module_define_impl": _module_define_impl,
    "legacy_decorators": _legacy_decorators,
    "overloads": _overloads,
    "library_destroyed": _library_destroyed,
    "dispatch_keys_and_grad": _dispatch_keys_and_grad,
    "infer_schema": _infer_cases,
    "custom_op_autograd": _custom_op_autograd,
    "custom_op_kwonly_setup": _custom_op_kwonly_setup,
    "custom_op_no_formula": _custom_op_no_formula,
    "custom_op_list_input_grad": _custom_op_list_input_grad,
    "custom_op_mutation": _custom_op_mutation,
    "custom_op_outputs": _custom_op_outputs,
    "custom_op_kernels": _custom_op_kernels,
    "custom_op_inplace_and_out": _custom_op_inplace_and_out,
    "fake_and_meta": _fake_and_meta,
    "data_dependent": _data_dependent,
    "opcheck": _opcheck_cases,
    "opcheck_library_ops": _opcheck_library_ops,
    "torch_dispatch_rule": _torch_dispatch_rule,
    "autocast_rule": _autocast_rule,
    "vmap_custom_op": _vmap_custom_op,
    "tags": _tags,
    "fx_trace": _fx_trace,
    "tutorial_crop_paste": _tutorial_crop_paste,
    "impl_abstract": _impl_abstract,
    "fake_before_composite": _fake_before_composite,
    "fallthrough": _fallthrough,
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_library_program(case):
    e = _run(CASES[case], ember)
    t = _run(CASES[case], torch)
    assert same(e, t), (e, t)


def test_custom_op_with_ember_as_torch_tutorial():
    """The "Python custom operators" tutorial's crop, written against ember: values,
    gradients and opcheck with inputs that require grad."""
    @ember.library.custom_op("n1tutorial::crop", mutates_args=())
    def crop(pic: ember.Tensor, box: Sequence[int]) -> ember.Tensor:
        a, b, c, d = box
        return pic[..., b:d, a:c].clone()

    @crop.register_fake
    def _(pic, box):
        channels = pic.shape[0]
        x0, y0, x1, y1 = box
        return pic.new_empty(channels, y1 - y0, x1 - x0)

    def backward(ctx, grad_output):
        result = grad_output.new_zeros(ctx.pic_shape)
        x0, y0, x1, y1 = ctx.box
        result[:, y0:y1, x0:x1] = grad_output
        return result, None

    def setup_context(ctx, inputs, output):
        img, box = inputs
        ctx.box = box
        ctx.pic_shape = img.shape

    crop.register_autograd(backward, setup_context=setup_context)
    img = ember.randn(3, 8, 8, requires_grad=True)
    result = crop(img, (1, 1, 5, 4))
    result.sum().backward()
    expected = np.zeros((3, 8, 8), dtype=np.float32)
    expected[:, 1:4, 1:5] = 1
    np.testing.assert_array_equal(img.grad.numpy(), expected)
    assert ember.library.opcheck(crop, (img, (1, 1, 5, 4))) == {
        "test_schema": "SUCCESS", "test_autograd_registration": "SUCCESS",
        "test_faketensor": "SUCCESS", "test_aot_dispatch_dynamic": "SUCCESS"}


def test_triton_refused():
    """ember has no Triton: triton_op and wrap_triton raise NotImplementedError."""
    with pytest.raises(NotImplementedError, match="Triton"):
        ember.library.triton_op("n1triton::k", mutates_args=())
    with pytest.raises(NotImplementedError, match="Triton"):
        ember.library.wrap_triton(lambda: None)
    assert hasattr(torch.library, "triton_op") and hasattr(torch.library, "wrap_triton")
