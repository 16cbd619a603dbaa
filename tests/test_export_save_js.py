"""ember.export.save / load of programs with other input/output containers (namedtuples,
OrderedDict, defaultdict, deque, ember.return_types' tuples), calls of operators defined
with ember.library.custom_op, and arguments of other kinds (ember.Size, NumPy scalars,
qschemes): each saved program loads and gives the exported program's outputs."""
import collections
import io
import json
import zipfile
from typing import NamedTuple

import numpy as np
import pytest

import ember
from ember.export import _serialize

nn = ember.nn


class Pair(NamedTuple):
    first: ember.Tensor
    second: ember.Tensor


def round_trip(model, args):
    ep = ember.export.export(model, args)
    buf = io.BytesIO()
    ember.export.save(ep, buf)
    buf.seek(0)
    return ep, ember.export.load(buf)


def leaves(out):
    return [np.asarray(t.numpy()) for t in ember.utils._pytree.tree_leaves(out)]


def same(a, b):
    assert type(a).__name__ == type(b).__name__
    for x, y in zip(leaves(a), leaves(b), strict=True):
        np.testing.assert_array_equal(x, y)


class NamedOut(nn.Module):
    def forward(self, x):
        return Pair(x + 1, x * 2)


class NamedIn(nn.Module):
    def forward(self, p):
        return p.first * p.second


class Mixed(nn.Module):
    def forward(self, x):
        return (collections.OrderedDict(b=x + 1, a=x.relu()),
                collections.defaultdict(list, {"k": x * 3}),
                collections.deque([x, x - 1], maxlen=4))


class MaxOut(nn.Module):
    def forward(self, x):
        return x.max(1)


def test_namedtuple_output_keeps_its_class():
    x = ember.randn(2, 3)
    ep, back = round_trip(NamedOut(), (x,))
    out = back.module()(x)
    assert type(out) is Pair   # the class is importable here: the same class
    same(out, ep.module()(x))
    assert out.second.shape == (2, 3)


def test_namedtuple_input():
    p = Pair(ember.randn(3), ember.randn(3))
    ep, back = round_trip(NamedIn(), (p,))
    same(back.module()(p), ep.module()(p))


def test_namedtuple_of_a_module_not_imported_is_rebuilt():
    cls = _serialize._namedtuple_class("no_such_module_js", "Point", ["x", "y"])
    assert cls.__name__ == "Point" and cls._fields == ("x", "y")
    assert _serialize._namedtuple_class(__name__, "Pair", ["first", "second"]) is Pair
    # the same name with other fields is not taken for it
    assert _serialize._namedtuple_class(__name__, "Pair", ["a", "b"]) is not Pair
    with pytest.raises(ValueError, match="malformed namedtuple"):
        _serialize._namedtuple_class("m", "bad name", ["x"])


def test_ordered_dict_defaultdict_deque_outputs():
    x = ember.randn(2)
    ep, back = round_trip(Mixed(), (x,))
    out = back.module()(x)
    want = ep.module()(x)
    assert list(out[0]) == ["b", "a"] and type(out[0]) is collections.OrderedDict
    assert out[1].default_factory is list and out[2].maxlen == 4
    same(out, want)


def test_defaultdict_with_another_factory_is_not_stored():
    class Lambda(nn.Module):
        def forward(self, x):
            return collections.defaultdict(lambda: 0, {"k": x})
    ep = ember.export.export(Lambda(), (ember.randn(2),))
    with pytest.raises(NotImplementedError, match="default_factory"):
        ember.export.save(ep, io.BytesIO())


def test_return_types_output():
    x = ember.randn(2, 3)
    ep, back = round_trip(MaxOut(), (x,))
    out = back.module()(x)
    assert type(out) is type(x.max(1))
    same(out, ep.module()(x))


@ember.library.custom_op("jssave::scale", mutates_args=())
def _scale(x: ember.Tensor, k: float) -> ember.Tensor:
    return x * k


@_scale.register_fake
def _(x, k):
    return ember.empty_like(x)


class UsesCustomOp(nn.Module):
    def forward(self, x):
        return ember.ops.jssave.scale(x, 2.5) + 1


def test_custom_op_round_trip():
    x = ember.randn(4)
    ep, back = round_trip(UsesCustomOp(), (x,))
    same(back.module()(x), ep.module()(x))
    np.testing.assert_allclose(back.module()(x).numpy(), x.numpy() * 2.5 + 1, rtol=1e-6)


def test_custom_op_not_defined_at_load_raises():
    ep = ember.export.export(UsesCustomOp(), (ember.randn(4),))
    buf = io.BytesIO()
    ember.export.save(ep, buf)
    buf.seek(0)
    out = io.BytesIO()
    with zipfile.ZipFile(buf) as zin, zipfile.ZipFile(out, "w") as zout:
        for name in zin.namelist():
            data = zin.read(name)
            if name.endswith("program.json"):
                program = json.loads(data)
                for node in program["nodes"]:
                    if "custom_op" in node:
                        node["custom_op"] = "jssave::undefined_op"
                data = json.dumps(program).encode()
            zout.writestr(name, data)
    out.seek(0)
    with pytest.raises(RuntimeError, match="jssave::undefined_op, which is not defined"):
        ember.export.load(out)


@pytest.mark.parametrize("value", [ember.Size([2, 3]), np.float32(1.5), np.int64(7),
                                   ember.per_channel_affine, (ember.Size([1]), [2.0])])
def test_argument_kinds_round_trip(value):
    encoded = json.loads(json.dumps(_serialize._enc(value)))
    back = _serialize._dec(encoded, {})
    assert back == (value.item() if isinstance(value, np.generic) else value)
    assert type(back) is (type(value.item()) if isinstance(value, np.generic) else type(value))


def test_other_argument_kinds_are_refused():
    with pytest.raises(NotImplementedError, match="cannot store the argument"):
        _serialize._enc(object())
